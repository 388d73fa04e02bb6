"""The egress guard: a webhook may only point at a public address (SSRF protection).

The URL's host is resolved (every address it has) and refused when any address is private, loopback,
link-local, multicast, reserved, unspecified or otherwise not globally routable — unless it lies in one
of the networks the operator allows (`webhook_allow_networks`, e.g. `["10.20.0.0/16"]` for a consumer
inside the government network, `["127.0.0.0/8"]` for a receiver on the same machine). Link-local
(169.254.0.0/16, fe80::/10 — cloud metadata services live there) and unspecified addresses are refused
even when allowed: no receiver legitimately lives there.

The guard runs when a consumer is registered and again before every request (DNS can change).
Redirects are never followed (the delivery client has `follow_redirects=False`), so a public URL can
not bounce a request inward. What remains is the short window between this check and the connection;
an attacker who controls the DNS answer's TTL could still rebind within it.
"""

from __future__ import annotations

import ipaddress
import socket
from collections.abc import Sequence
from urllib.parse import urlsplit

from enforcehub.errors import EnforcehubError

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
IPNetwork = ipaddress.IPv4Network | ipaddress.IPv6Network

_configured: tuple[str, ...] | None = None


class EgressRefused(EnforcehubError):
    code = "webhook-target-refused"


def configure(networks: Sequence[str]) -> None:
    """The allow-list of this process (the hub's settings); set when the app or the worker starts."""
    global _configured
    _parse_networks(networks)  # fail early on a typo
    _configured = tuple(networks)


def allowed_networks() -> tuple[str, ...]:
    """The configured allow-list, or the one in the environment / config file when none was set."""
    if _configured is not None:
        return _configured
    from enforcehub.settings import Settings

    try:
        return tuple(Settings().webhook_allow_networks)
    except ValueError:  # settings that do not validate allow nothing extra
        return ()


def _parse_networks(networks: Sequence[str]) -> list[IPNetwork]:
    parsed: list[IPNetwork] = []
    for network in networks:
        try:
            parsed.append(ipaddress.ip_network(network.strip(), strict=False))
        except ValueError as exc:
            raise EgressRefused(
                f"webhook_allow_networks 中的网段「{network}」无效",
                code="settings-invalid",
                message_en=f"webhook_allow_networks: {network!r} is not a network",
            ) from exc
    return parsed


def _why_not_public(address: IPAddress) -> str | None:
    """Why an address is not a public one (None when it is)."""
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        return _why_not_public(address.ipv4_mapped)
    for reason, flag in (
        ("unspecified", address.is_unspecified),
        ("link-local", address.is_link_local),
        ("loopback", address.is_loopback),
        ("multicast", address.is_multicast),
        ("private", address.is_private),
        ("reserved", address.is_reserved),
    ):
        if flag:
            return reason
    return None if address.is_global else "not-global"


_REASONS_ZH = {
    "unspecified": "未指定地址",
    "link-local": "链路本地地址",
    "loopback": "回环地址",
    "multicast": "组播地址",
    "private": "内网地址",
    "reserved": "保留地址",
    "not-global": "非公网地址",
}
ALWAYS_REFUSED = ("unspecified", "link-local")


def resolve(host: str, port: int) -> list[IPAddress]:
    """Every address `host` resolves to (a literal address is itself)."""
    try:
        return [ipaddress.ip_address(host.strip("[]"))]
    except ValueError:
        pass
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except (socket.gaierror, UnicodeError) as exc:
        raise EgressRefused(
            f"无法解析 webhook 地址的主机名「{host}」：{exc}",
            code="webhook-host-unresolved",
            message_en=f"cannot resolve the webhook host {host!r}: {exc}",
        ) from exc
    found: list[IPAddress] = []
    for info in infos:
        address = ipaddress.ip_address(str(info[4][0]).split("%", 1)[0])
        if address not in found:
            found.append(address)
    return found


def check_target(
    url: str, allow_networks: Sequence[str] | None = None, *, unresolved_ok: bool = False
) -> list[IPAddress]:
    """Refuse a webhook URL whose host is (or resolves to) a non-public address outside the allowed
    networks; returns the addresses it resolved to. A host that does not resolve is refused too,
    unless `unresolved_ok` (registration: the name may not exist yet; every send checks again)."""
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise EgressRefused(
            f"webhook 地址「{url[:200]}」须为 http(s)://主机/…",
            message_en=f"the webhook URL {url[:200]!r} must be http(s)://host/…",
        )
    try:
        port = parts.port or (443 if parts.scheme == "https" else 80)
    except ValueError as exc:
        raise EgressRefused(
            f"webhook 地址「{url[:200]}」的端口无效", message_en=f"bad port in the webhook URL {url[:200]!r}"
        ) from exc
    networks = _parse_networks(allowed_networks() if allow_networks is None else allow_networks)
    try:
        addresses = resolve(parts.hostname, port)
    except EgressRefused:
        if unresolved_ok:
            return []
        raise
    for address in addresses:
        reason = _why_not_public(address)
        if reason is None:
            continue
        allowed = reason not in ALWAYS_REFUSED and any(
            address.version == n.version and address in n for n in networks
        )
        if not allowed:
            shown = parts.hostname if str(address) == parts.hostname else f"{parts.hostname}（{address}）"
            shown_en = parts.hostname if str(address) == parts.hostname else f"{parts.hostname} ({address})"
            hint = (
                ""
                if reason in ALWAYS_REFUSED
                else "；如确需投递到内网，请将其网段加入 webhook_allow_networks"
            )
            hint_en = (
                "" if reason in ALWAYS_REFUSED else "; to allow it, add its network to webhook_allow_networks"
            )
            raise EgressRefused(
                f"拒绝投递到 {shown}：{_REASONS_ZH[reason]}{hint}",
                message_en=f"refusing to deliver to {shown_en}: a {reason} address{hint_en}",
            )
    return addresses
