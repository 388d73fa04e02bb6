"""Managing consumers: registration with a profile and a delivery mode, pause/resume, status.

Delivery modes: `feed` (the consumer pulls), `webhook` (the hub pushes, Standard Webhooks),
`export` (files on demand or on a schedule), `internal` (the hub's own publicity portal).
"""

from __future__ import annotations

import base64
import datetime as dt
import re
import secrets
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal, cast

from sqlalchemy import Connection, Engine
from sqlalchemy.exc import IntegrityError

from enforcehub.errors import EnforcehubError
from enforcehub.share.profile import Profile, builtin_profiles, load_profile_file, parse_profile
from enforcehub.standard.model import Standard
from enforcehub.store import consumers as consumer_store
from enforcehub.store import feeds
from enforcehub.store.db import read_transaction, write_transaction

Mode = Literal["feed", "webhook", "export", "internal", "relay"]
MODES: tuple[str, ...] = ("feed", "webhook", "export", "internal", "relay")
# What an operator registers; `internal` (the hub's own tables) and `relay` (federation) are the hub's.
OPERATOR_MODES: tuple[str, ...] = ("feed", "webhook", "export")
NAME = re.compile(r"^[a-z][a-z0-9-]{1,62}$")


class ConsumerError(EnforcehubError):
    code = "consumer-invalid"


class ConsumerNotFound(EnforcehubError):
    code = "consumer-not-found"


def new_webhook_secret() -> str:
    """A Standard Webhooks secret: `whsec_` + base64 of 24 random bytes."""
    return "whsec_" + base64.b64encode(secrets.token_bytes(24)).decode()


@dataclass(frozen=True)
class ConsumerSpec:
    name: str
    profile: str
    title: str = ""
    datasets: tuple[str, ...] = ()
    region: str | None = None
    mode: Mode = "feed"
    webhook_url: str | None = None
    batch_size: int = 100
    profile_file: Path | None = None


def resolve_profile(row: dict[str, Any], standard: Standard) -> Profile:
    """The profile of a stored consumer: a built-in one by name, or its stored custom YAML."""
    if row.get("profile_source"):
        return parse_profile(row["profile_source"], origin=f"consumer {row['name']}", standard=standard)
    profile = builtin_profiles().get(row["profile"])
    if profile is None:
        raise ConsumerError(
            f"消费方 {row['name']} 的画像 {row['profile']} 不存在",
            message_en=f"unknown profile {row['profile']}",
        )
    return profile


def add_consumer(
    conn: Connection, spec: ConsumerSpec, *, standard: Standard, now: dt.datetime
) -> dict[str, Any]:
    """Register a consumer with a built-in profile, or a custom one from `spec.profile_file`; returns
    it (with its webhook secret, shown once, for webhook mode)."""
    if spec.profile_file is not None:
        profile, source = load_profile_file(spec.profile_file, standard)
        return _insert(conn, spec, profile, source, now=now)
    found = builtin_profiles().get(spec.profile)
    if found is None:
        known = ", ".join(sorted(builtin_profiles()))
        raise ConsumerError(
            f"未知画像「{spec.profile}」（内置：{known}；自定义画像用 --profile-file）",
            message_en=f"unknown profile {spec.profile!r} (built-in: {known}; custom: --profile-file)",
        )
    return _insert(conn, spec, found, None, now=now)


def add_custom_consumer(
    conn: Connection, spec: ConsumerSpec, profile_yaml: str, *, standard: Standard, now: dt.datetime
) -> dict[str, Any]:
    """Register a consumer with a custom profile given as YAML text."""
    profile = parse_profile(profile_yaml, origin=f"consumer {spec.name}", standard=standard)
    if profile.name in builtin_profiles():
        raise ConsumerError(
            f"画像名 {profile.name} 与内置画像重名",
            message_en=f"profile name {profile.name} is a built-in one",
        )
    return _insert(conn, spec, profile, profile_yaml, now=now)


def _insert(
    conn: Connection, spec: ConsumerSpec, profile: Profile, source: str | None, *, now: dt.datetime
) -> dict[str, Any]:
    if not NAME.match(spec.name):
        raise ConsumerError(
            f"消费方名称「{spec.name}」无效：小写字母开头，仅含小写字母、数字和连字符（2–63位）",
            message_en=f"invalid consumer name {spec.name!r}: lower-case letters, digits and '-', 2–63 chars",
        )
    if consumer_store.get_consumer(conn, spec.name) is not None:
        raise ConsumerError(f"消费方 {spec.name} 已存在", message_en=f"consumer {spec.name} exists already")
    unknown = [d for d in spec.datasets if d not in profile.datasets]
    if unknown:
        raise ConsumerError(
            f"画像 {profile.name} 不含数据集：{', '.join(unknown)}",
            message_en=f"profile {profile.name} does not share: {', '.join(unknown)}",
        )
    if spec.region is not None and not re.fullmatch(r"44\d{4}", spec.region):
        raise ConsumerError(
            f"区划代码「{spec.region}」无效", message_en=f"invalid region code {spec.region!r}"
        )
    if spec.mode not in MODES:
        raise ConsumerError(f"未知投递方式「{spec.mode}」", message_en=f"unknown delivery mode {spec.mode!r}")
    secret: str | None = None
    if spec.mode == "webhook":
        if not spec.webhook_url or not re.match(r"^https?://", spec.webhook_url):
            raise ConsumerError(
                "webhook 方式须提供 http(s) 地址（--url）",
                message_en="webhook mode needs an http(s) URL (--url)",
            )
        from enforcehub.share.egress import check_target

        check_target(spec.webhook_url, unresolved_ok=True)  # no private/loopback/link-local targets
        secret = new_webhook_secret()
    if not 1 <= spec.batch_size <= 1000:
        raise ConsumerError("批量大小须在 1–1000 之间", message_en="batch size must be 1–1000")
    consumer_store.insert_consumer(
        conn,
        values={
            "name": spec.name,
            "title": spec.title or profile.title,
            "profile": profile.name,
            "profile_source": source,
            "datasets": list(spec.datasets) or None,
            "region": spec.region,
            "mode": spec.mode,
            "webhook_url": spec.webhook_url,
            "webhook_secrets": [secret] if secret else [],
            "batch_size": spec.batch_size,
        },
        now=now,
    )
    created = get(conn, spec.name)
    return {**created, "webhook_secret": secret}


class InternalConsumerError(EnforcehubError):
    code = "internal-consumer-invalid"


def ensure_internal_consumer(
    engine: Engine, *, name: str, profile: str, title: str, standard: Standard, mode: str = "internal"
) -> dict[str, Any]:
    """The hub's own consumer `name` (`mode` internal or relay, the built-in `profile`, the whole hub),
    registered when missing — a write only then, and a concurrent registration by another process is fine. A
    consumer of that name set up otherwise is refused: the table it keeps (the publicity index, the
    supervision facts) must see exactly what that profile lets through, everywhere."""
    with read_transaction(engine) as conn:
        row = consumer_store.get_consumer(conn, name)
    if row is None:
        spec = ConsumerSpec(name=name, profile=profile, title=title, mode=cast(Mode, mode))
        try:
            with write_transaction(engine) as conn:
                add_consumer(conn, spec, standard=standard, now=dt.datetime.now(dt.UTC))
        except (IntegrityError, ConsumerError):  # registered by another process at the same moment
            pass
        with read_transaction(engine) as conn:
            row = get(conn, name)
    if row["mode"] != mode or row["profile"] != profile or row.get("profile_source") or row["region"]:
        raise InternalConsumerError(
            f"消费方 {name} 须为{mode}方式、使用内置画像 {profile}、不限区划，"
            f"当前为 {row['mode']}/{row['profile']}/{row['region'] or '全部'}",
            message_en=(
                f"consumer {name} must be {mode} with the built-in profile {profile} and see the whole "
                f"hub, not {row['mode']}/{row['profile']}/{row['region'] or 'all'}"
            ),
        )
    return row


def get(conn: Connection, name: str) -> dict[str, Any]:
    row = consumer_store.get_consumer(conn, name)
    if row is None:
        raise ConsumerNotFound(f"消费方 {name} 不存在", message_en=f"no consumer named {name}")
    return row


def set_state(
    conn: Connection, name: str, state: str, *, now: dt.datetime, reason: str | None = None
) -> dict[str, Any]:
    current = get(conn, name)
    values: dict[str, Any] = {"state": state, "state_reason": reason}
    if state == "active" and current["state"] != "active":
        # only a real resume clears the backoff: an active consumer's next_attempt_at may be a
        # delivery lease held by a worker right now
        values.update(failures=0, next_attempt_at=None)
    consumer_store.update_consumer(conn, name, now=now, **values)
    return get(conn, name)


def rotate_secret(conn: Connection, name: str, *, now: dt.datetime) -> str:
    """A new webhook secret; the previous one keeps signing too until the next rotation."""
    row = get(conn, name)
    if row["mode"] != "webhook":
        raise ConsumerError(
            f"消费方 {name} 不是 webhook 方式", message_en=f"consumer {name} is not a webhook"
        )
    secret = new_webhook_secret()
    consumer_store.update_consumer(conn, name, now=now, webhook_secrets=[secret, *row["webhook_secrets"][:1]])
    return secret


def datasets_of(row: dict[str, Any], profile: Profile) -> list[str]:
    names = list(profile.datasets)
    return [n for n in names if n in row["datasets"]] if row["datasets"] else names


def region_prefix(region: str | None) -> str | None:
    """`440100` → `4401`, `440000` → None (the whole province), `440103` → `440103`."""
    if not region or region == "440000":
        return None
    return region[:4] if region.endswith("00") else region


def status(conn: Connection, row: dict[str, Any], standard: Standard) -> dict[str, Any]:
    """Where a consumer stands: its cursors, lag in changes, last success, failures, dead letters."""
    from enforcehub.store import webhooks as webhook_store

    profile = resolve_profile(row, standard)
    position = row["delivered_seq"] if row["mode"] == "webhook" else row["acked_seq"]
    lag = feeds.count_changes(
        conn,
        after=int(position),
        datasets=datasets_of(row, profile),
        region_prefix=region_prefix(row["region"]),
    )
    return {
        "name": row["name"],
        "mode": row["mode"],
        "state": row["state"],
        "position": int(position),
        "last_seq": feeds.last_seq(conn),
        "lag": lag,
        "failures": row["failures"],
        "last_success_at": _iso(row["last_success_at"]),
        "last_failure_at": _iso(row["last_failure_at"]),
        "last_error": row["last_error"],
        "dead_letters": webhook_store.count_dead(conn, row["name"]) if row["mode"] == "webhook" else 0,
    }


def view(row: dict[str, Any]) -> dict[str, Any]:
    """A consumer as shown by the API and the CLI (secrets never shown again)."""
    return {
        "name": row["name"],
        "title": row["title"],
        "profile": row["profile"],
        "custom_profile": bool(row.get("profile_source")),
        "datasets": row["datasets"],
        "region": row["region"],
        "mode": row["mode"],
        "webhook_url": row["webhook_url"],
        "batch_size": row["batch_size"],
        "state": row["state"],
        "state_reason": row["state_reason"],
        "acked_seq": row["acked_seq"],
        "delivered_seq": row["delivered_seq"],
        "created_at": _iso(row["created_at"]),
    }


def _iso(value: Any) -> str | None:
    return value.isoformat() if isinstance(value, dt.datetime) else value
