"""`enforcehub demo --federation`: three real hub processes; the province ends up with every version
each city accepted, and the demo says where to look."""

from __future__ import annotations

import io
import sqlite3
from pathlib import Path

from rich.console import Console


def _versions(db: Path, origin_hub: str) -> set[tuple[str, str, int, str]]:
    query = (
        "SELECT r.dataset, r.business_key, COALESCE(v.origin_version, v.version_no), v.content_hash"
        " FROM versions v JOIN records r ON r.id = v.record_id WHERE v.origin_hub = ?"
    )
    with sqlite3.connect(db) as conn:
        return {(d, k, int(n), h) for d, k, n, h in conn.execute(query, (origin_hub,))}


def test_federation_demo_fills_the_province_with_every_city_version(tmp_path: Path) -> None:
    from enforcehub.demo_federation import CITIES, PROVINCE_ID, run_federation_demo

    buffer = io.StringIO()
    console = Console(file=buffer, width=200)
    status = run_federation_demo(tmp_path, scale=150, seed=11, console=console, serve=False, port=0)
    printed = buffer.getvalue()

    inbound = {link["peer"]: link for link in status["links"] if link["direction"] == "inbound"}
    assert set(inbound) == {hub for _code, hub, *_ in CITIES}
    province_db = tmp_path / "hubs" / PROVINCE_ID / "enforcehub.sqlite3"
    for code, hub, *_ in CITIES:
        city = _versions(tmp_path / "hubs" / hub / "enforcehub.sqlite3", hub)
        relayed = _versions(province_db, hub)
        assert city, hub
        assert relayed == city, hub  # every version, same number, same content
        assert inbound[hub]["versions"] == len(city)
        assert inbound[hub]["health"] == "ok" and inbound[hub]["rejected"] == 0
        with sqlite3.connect(province_db) as conn:  # only records of the city's region came from it
            regions = {r for (r,) in conn.execute(
                "SELECT DISTINCT r.region FROM records r JOIN versions v ON v.record_id = r.id"
                " WHERE v.origin_hub = ? AND r.region IS NOT NULL", (hub,))}  # fmt: skip
        assert regions and all(region.startswith(code[:4]) for region in regions), (hub, regions)
    # the cities got the province's registries back, and never relayed them up again
    for _code, hub, *_ in CITIES:
        with sqlite3.connect(tmp_path / "hubs" / hub / "enforcehub.sqlite3") as conn:
            down = conn.execute(
                "SELECT count(*) FROM versions WHERE origin_hub = ? AND channel = 'relay'", (PROVINCE_ID,)
            ).fetchone()[0]
        assert down > 0
    assert "/dashboard/federation" in printed and "省级监督员登录密钥" in printed
