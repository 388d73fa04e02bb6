"""`enforcehub demo --federation`: the province's two levels (省、市两级主题库) on one machine.

Generates the synthetic province and splits it by hub (synth/cities.py): Guangzhou's (440100) and
Shenzhen's (440300) agencies report to their city hubs, the provincial departments — with the laws,
the matter list and the cities that have no hub of their own — to the province hub. Starts the three
hubs as separate `enforcehub serve` processes on the embedded default (SQLite), each city with the
province as its upstream and a `hub` key the province issued for it; reports every hub's own data
through its API, all at once; and shows the province filling up as the cities relay, until every
city's changes are in the province. Then prints the dashboards and the keys to look with.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.table import Table

from enforcehub.demo import _free_port

CITIES = (("440100", "gz-city", "广州市", "Guangzhou"), ("440300", "sz-city", "深圳市", "Shenzhen"))
PROVINCE_ID = "gd-province"
ERROR_RATE = 0.02
CATCH_UP_S = 600.0


@dataclass
class _Process:
    """One `enforcehub serve` process of the demo."""

    name: str
    data_dir: Path
    port: int
    args: list[str] = field(default_factory=list)
    proc: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> None:
        import httpx

        self.data_dir.mkdir(parents=True, exist_ok=True)
        env = {k: v for k, v in os.environ.items() if not k.startswith("ENFORCEHUB_")}
        env.update(ENFORCEHUB_RELAY_IDLE_S="0.2", ENFORCEHUB_REGISTRIES_EVERY_S="2", PYTHONUTF8="1")
        command = [sys.executable, "-m", "enforcehub.cli", "serve", "--data", str(self.data_dir)]
        command += ["--port", str(self.port), *self.args]
        log = (self.data_dir / "hub.log").open("ab")
        self.proc = subprocess.Popen(command, stdout=log, stderr=subprocess.STDOUT, env=env)
        deadline = time.monotonic() + 90
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"hub {self.name} exited; see {self.data_dir / 'hub.log'}")
            try:
                if httpx.get(f"{self.url}/readyz", timeout=2).status_code == 200:
                    return
            except httpx.HTTPError:
                pass
            time.sleep(0.2)
        raise RuntimeError(f"hub {self.name} did not become ready; see {self.data_dir / 'hub.log'}")

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                self.proc.kill()


def _keys(data_dir: Path, hub_id: str, level: str, region: str, **extra: str) -> dict[str, str]:
    """Keys created in a hub's database before it starts: an admin, supervisors, and hub keys."""
    from enforcehub.settings import Settings
    from enforcehub.store import keys as key_store
    from enforcehub.store.db import make_engine, migrate, write_transaction

    settings = Settings(data_dir=data_dir, hub_id=hub_id, level=level, region=region)
    data_dir.mkdir(parents=True, exist_ok=True)
    engine = make_engine(settings)
    migrate(settings, engine)
    keys: dict[str, str] = {}
    with write_transaction(engine) as conn:
        _row, keys["admin"] = key_store.insert_key(conn, role="admin", name=f"演示-{hub_id}-管理员")
        _row, keys["supervisor"] = key_store.insert_key(
            conn, role="supervisor", region=None if region == "440000" else region, name=f"{hub_id} 监督员"
        )
        for city_hub, city_region in extra.items():
            _row, keys[city_hub] = key_store.insert_key(conn, role="hub", region=city_region, name=city_hub)
    engine.dispose()
    return keys


def run_federation_demo(
    out: Path,
    *,
    scale: str | int = "small",
    seed: int = 2025,
    lang: str = "zh",
    console: Console | None = None,
    serve: bool = False,
    port: int = 8000,
) -> dict[str, Any]:
    """Run the two-level demo; with `serve`, keep the three hubs running until interrupted. Returns
    the final federation status of the province."""
    from enforcehub.synth import generate
    from enforcehub.synth.cities import PROVINCE, split_by_city

    console = console or Console()
    en = lang == "en"

    def say(zh: str, english: str) -> None:
        console.print(english if en else zh, markup=False, soft_wrap=True)

    say(
        "正在生成合成的广东省执法数据并按枢纽拆分…",
        "Generating the synthetic province and splitting it by hub…",
    )
    source = out / "province-data"
    generate(source, seed=seed, scale=scale, error_rate=ERROR_RATE, formats=("csv",))
    split = out / "by-hub"
    shutil.rmtree(split, ignore_errors=True)
    counts = split_by_city(source, split, [code for code, *_ in CITIES])
    hubs_dir = out / "hubs"
    shutil.rmtree(hubs_dir, ignore_errors=True)
    province = _Process("province", hubs_dir / PROVINCE_ID, _free_port(port), ["--hub-id", PROVINCE_ID])
    province_keys = _keys(
        province.data_dir, PROVINCE_ID, "province", "440000", **{hub: code for code, hub, *_ in CITIES}
    )
    cities: list[tuple[_Process, dict[str, str], str, str]] = []
    for code, hub_id, name_zh, name_en in CITIES:
        city = _Process(hub_id, hubs_dir / hub_id, _free_port(0))
        city.args = ["--level", "city", "--region", code, "--hub-id", hub_id]
        keys = _keys(city.data_dir, hub_id, "city", code)
        cities.append((city, keys, name_zh, name_en))
    processes = [province] + [c[0] for c in cities]
    try:
        province.start()
        for city, *_rest in cities:
            city.args += ["--upstream", province.url, "--upstream-key", province_keys[city.name]]
            city.start()
        say(
            f"省级枢纽 {province.url}；" + "；".join(f"{zh} {c.url}" for c, _k, zh, _e in cities),
            f"Province hub {province.url}; " + "; ".join(f"{e} {c.url}" for c, _k, _z, e in cities),
        )
        reports = _report_all(split, PROVINCE, province, province_keys, cities)
        _print_reports(console, counts, reports, en)
        final = _watch(console, province, province_keys, cities, en)
        _print_where_to_look(console, province, province_keys, cities, en)
        if serve:
            say("按 Ctrl-C 停止三个平台。", "Press Ctrl-C to stop the three hubs.")
            while all(p.proc is not None and p.proc.poll() is None for p in processes):
                time.sleep(0.5)
        return final
    except KeyboardInterrupt:
        return {}
    finally:
        for process in reversed(processes):
            process.stop()


def _report_all(
    split: Path,
    province_dir: str,
    province: _Process,
    province_keys: dict[str, str],
    cities: list[tuple[_Process, dict[str, str], str, str]],
) -> dict[str, dict[str, dict[str, Any]]]:
    """Every hub's own agencies report at the same time, each to its own hub (registries first)."""
    from enforcehub.cli_hub import SUBMIT_ORDER
    from enforcehub.client import HubClient

    jobs = [(PROVINCE_ID, province.url, province_keys["admin"], split / province_dir)]
    jobs += [
        (c.name, c.url, keys["admin"], split / code)
        for (c, keys, _z, _e), (code, *_r) in zip(cities, CITIES, strict=True)
    ]
    reports: dict[str, dict[str, dict[str, Any]]] = {}

    def report(hub_id: str, url: str, key: str, folder: Path) -> None:
        client = HubClient(url, key)
        receipts = {}
        for name in SUBMIT_ORDER:
            path = folder / f"{name}.csv"
            if path.is_file():
                receipts[name] = client.submit_file(path, name)
        reports[hub_id] = receipts

    threads = [threading.Thread(target=report, args=job) for job in jobs]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return reports


def _status(url: str, key: str) -> dict[str, Any]:
    import httpx

    answer = httpx.get(
        f"{url}/api/v1/federation/status", headers={"Authorization": f"Bearer {key}"}, timeout=30
    )
    answer.raise_for_status()
    body: dict[str, Any] = answer.json()
    return body


def _watch(
    console: Console,
    province: _Process,
    province_keys: dict[str, str],
    cities: list[tuple[_Process, dict[str, str], str, str]],
    en: bool,
) -> dict[str, Any]:
    """Print the province filling up until every city's uplink has nothing left to relay and every
    city has read the province's registries since everything was reported."""
    import datetime as dt

    reported = dt.datetime.now(dt.UTC)
    deadline = time.monotonic() + CATCH_UP_S
    last = ""
    while True:
        behind = 0
        registries_read = True
        for city, keys, _zh, _en in cities:
            links = {x["name"]: x for x in _status(city.url, keys["admin"])["links"]}
            uplink, downlink = links.get("uplink"), links.get("downlink")
            behind += int(uplink["lag_changes"] or 0) if uplink else 1
            read = downlink["last_success_at"] if downlink else None
            registries_read &= bool(read) and dt.datetime.fromisoformat(str(read)) > reported
        status = _status(province.url, province_keys["admin"])
        inbound = {x["peer"]: x for x in status["links"] if x["direction"] == "inbound"}
        line = "  ".join(
            f"{(e if en else z)} {int(inbound.get(c.name, {}).get('versions', 0)):,}"
            for c, _k, z, e in cities
        )
        if line != last:
            console.print(
                (f"province holds relayed versions: {line}; waiting: {behind:,}")
                if en
                else f"省级主题库已收到中继版本：{line}；待中继：{behind:,}",
                markup=False,
            )
            last = line
        if (behind == 0 and registries_read) or time.monotonic() > deadline:
            return status
        time.sleep(1.0)


def _print_reports(
    console: Console,
    counts: dict[str, dict[str, int]],
    reports: dict[str, dict[str, dict[str, Any]]],
    en: bool,
) -> None:
    heads = ("hub", "records reported", "accepted", "sent back") if en else ("枢纽", "报送", "入库", "退回")
    table = Table(
        *heads, title="Each agency reports once, to its own hub" if en else "每个机关只向本级枢纽报送一次"
    )
    for hub_id, receipts in reports.items():
        got = [r.get("counts", {}) for r in receipts.values()]
        table.add_row(
            hub_id,
            f"{sum(c.get('received', 0) for c in got):,}",
            f"{sum(c.get('accepted', 0) for c in got):,}",
            f"{sum(c.get('rejected', 0) for c in got):,}",
        )
    console.print(table)


def _print_where_to_look(
    console: Console,
    province: _Process,
    province_keys: dict[str, str],
    cities: list[tuple[_Process, dict[str, str], str, str]],
    en: bool,
) -> None:
    lines = [
        ("the province's federation page", "省级两级链路看板", f"{province.url}/dashboard/federation"),
        (
            "the province's overview (every city)",
            "省级总览（全省各市）",
            f"{province.url}/dashboard/overview",
        ),
        ("log in as the province's supervisor with", "省级监督员登录密钥", province_keys["supervisor"]),
        ("the province's admin key", "省级管理员密钥", province_keys["admin"]),
    ]
    for city, keys, zh, english in cities:
        lines.append((f"{english}'s hub dashboard", f"{zh}枢纽看板", f"{city.url}/dashboard/federation"))
        lines.append((f"{english}'s supervisor key", f"{zh}监督员登录密钥", keys["supervisor"]))
    for label_en, label_zh, value in lines:
        console.print(f"  {label_en if en else label_zh}: {value}", markup=False, soft_wrap=True)
    console.print(
        "  enforcehub federation status --data <hub data dir>  (ENFORCEHUB_HUB_ID=<hub id>)",
        markup=False,
        soft_wrap=True,
    )
