"""The 执法监督 dashboard in a real browser: Debian's Chromium driven by Playwright, against a real hub.

Logs in, visits every page of the navigation, and checks: no JavaScript console errors, every chart
drawn by ECharts with data, tables present, an XLSX export that downloads and opens, a city
supervisor who cannot see another city, logout. Screenshots go to test-artifacts/screenshots/.
"""

from __future__ import annotations

import io
import json
import os
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from python_calamine import CalamineWorkbook

from tests.servers import HubProcess, run_cli
from tests.test_hub_api import admin_key, bearer, upload

CHROMIUM = Path("/usr/bin/chromium")
SHOTS = Path(__file__).resolve().parents[1] / "test-artifacts" / "screenshots"
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
DATASETS = (
    "law",
    "matter",
    "agency",
    "officer",
    "counterparty",
    "penalty",
    "license",
    "coercion",
    "inspection",
)


def _chromium() -> Path:
    if not CHROMIUM.exists():
        reason = "Debian's chromium is not installed (scripts/test.sh installs it with apt)"
        if os.environ.get("CI", "").strip().lower() not in ("", "0", "false", "no"):
            pytest.fail(f"CI must run the browser tests: {reason}", pytrace=False)
        pytest.skip(reason)
    return CHROMIUM


def _key(hub: HubProcess, *args: str) -> str:
    made = run_cli("keys", "create", *args, "--format", "json", "--data", str(hub.data_dir))
    assert made.returncode == 0, made.stderr
    key: str = json.loads(made.stdout.strip().splitlines()[-1])["key"]
    return key


@pytest.fixture(scope="module")
def dashboard_hub(tmp_path_factory: pytest.TempPathFactory, province: Path) -> Iterator[dict[str, Any]]:
    hub = HubProcess(tmp_path_factory.mktemp("dashboard-hub"), {})
    hub.start()
    try:
        admin = admin_key(hub)
        with hub.client() as client:
            for name in DATASETS:
                assert upload(client, admin, province / f"{name}.csv", name).status_code == 201
            province_key = _key(hub, "--role", "supervisor", "--name", "省司法局监督员")
            city_key = _key(hub, "--role", "supervisor", "--region", "440100", "--name", "广州市司法局监督员")
            deadline = time.monotonic() + 120
            while True:  # the upkeep thread fills the supervision facts from the change log
                overview = client.get("/api/v1/supervision/overview", headers=bearer(province_key)).json()
                if overview["cards"][0]["value"] or time.monotonic() > deadline:
                    break
                time.sleep(0.5)
        yield {"hub": hub, "province": province_key, "city": city_key, "admin": admin}
    finally:
        hub.close()


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    from playwright.sync_api import sync_playwright

    path = _chromium()
    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(executable_path=str(path), args=CHROMIUM_ARGS)
        try:
            yield launched
        finally:
            launched.close()


def _login(browser: Any, url: str, key: str) -> tuple[Any, Any, list[str]]:
    context = browser.new_context(accept_downloads=True, locale="zh-CN")
    page = context.new_page()
    errors: list[str] = []
    page.on("console", lambda message: errors.append(message.text) if message.type == "error" else None)
    page.on("pageerror", lambda error: errors.append(str(error)))
    page.goto(f"{url}/dashboard/overview")
    assert "/dashboard/login" in page.url  # not logged in yet
    page.fill("#key", key)
    page.click("#login")
    page.wait_for_url("**/dashboard/overview")
    return context, page, errors


def test_every_page_of_the_navigation_renders_with_charts_and_no_errors(
    dashboard_hub: dict[str, Any], browser: Any
) -> None:
    hub: HubProcess = dashboard_hub["hub"]
    context, page, errors = _login(browser, hub.url, dashboard_hub["province"])
    SHOTS.mkdir(parents=True, exist_ok=True)
    links = page.eval_on_selector_all("nav.nav a", "links => links.map(a => a.getAttribute('href'))")
    assert "/dashboard/overview" in links and len(links) >= 1
    for href in links:
        page.goto(f"{hub.url}{href}")
        page.wait_for_load_state("networkidle")
        assert page.locator("h1").count() == 1, href
        charts = page.locator("[data-chart]")
        for index in range(charts.count()):
            box = charts.nth(index)
            drawn = box.evaluate(
                """el => {
                    const chart = echarts.getInstanceByDom(el);
                    if (!chart) { return -1; }
                    const series = chart.getOption().series || [];
                    return series.reduce((n, s) => n + ((s.data || []).length), 0);
                }"""
            )
            assert drawn != -1, f"{href}: chart {index} not drawn"
            assert box.locator("canvas").count() >= 1, f"{href}: no canvas"
            assert box.bounding_box()["height"] > 100, f"{href}: chart {index} has no height"
        page.screenshot(path=str(SHOTS / f"{href.rsplit('/', 1)[-1]}.png"), full_page=True)
        assert not errors, f"{href}: console errors {errors}"
    # the overview's charts carry the hub's data
    page.goto(f"{hub.url}/dashboard/overview")
    page.wait_for_load_state("networkidle")
    points = page.locator("#chart-records-by-month").evaluate(
        "el => echarts.getInstanceByDom(el).getOption().series"
        ".reduce((n, s) => n + s.data.reduce((a, b) => a + b, 0), 0)"
    )
    total = page.locator(".card .value").first.inner_text().replace(",", "")
    assert points == int(total) > 0
    # English switch
    page.click("a.lang")
    page.wait_for_load_state("networkidle")
    assert page.locator("h1").inner_text() == "Overview"
    context.close()


def test_xlsx_export_downloads_and_opens(dashboard_hub: dict[str, Any], browser: Any) -> None:
    hub: HubProcess = dashboard_hub["hub"]
    context, page, errors = _login(browser, hub.url, dashboard_hub["province"])
    with page.expect_download() as download:
        page.click("#table-cities >> xpath=preceding-sibling::h2[1]//a[contains(@class,'export')]")
    saved = download.value.path()
    rows = (
        CalamineWorkbook.from_filelike(io.BytesIO(Path(saved).read_bytes())).get_sheet_by_index(0).to_python()
    )
    html_rows = page.locator("#table-cities tbody tr").count()
    assert rows[0][0] == "地市" and len(rows) - 1 == html_rows > 0
    assert not errors
    context.close()


def test_a_city_supervisor_sees_only_their_city(dashboard_hub: dict[str, Any], browser: Any) -> None:
    hub: HubProcess = dashboard_hub["hub"]
    with httpx.Client(base_url=hub.url, timeout=60) as client:
        everything = client.get(
            "/api/v1/supervision/overview", headers=bearer(dashboard_hub["province"])
        ).json()
        mine = client.get("/api/v1/supervision/overview", headers=bearer(dashboard_hub["city"])).json()
    all_cities = {r["city"] for r in everything["tables"][0]["rows"]}
    my_cities = {r["city"] for r in mine["tables"][0]["rows"]}
    assert len(all_cities) > 1 and my_cities == {"440100"}
    assert mine["cards"][0]["value"] < everything["cards"][0]["value"]
    context, page, _errors = _login(browser, hub.url, dashboard_hub["city"])
    shown = page.locator("#table-cities tbody tr td:first-child").all_inner_texts()
    assert shown == ["广州市"]
    # logging out ends the session: pages send you back to the login
    page.click("#logout")
    page.wait_for_url("**/dashboard/login")
    page.goto(f"{hub.url}/dashboard/overview")
    assert "/dashboard/login" in page.url
    context.close()


def test_login_refuses_wrong_and_non_supervisor_keys(dashboard_hub: dict[str, Any]) -> None:
    hub: HubProcess = dashboard_hub["hub"]
    agency = _key(hub, "--role", "agency", "--agency", "11440100MA5AAAAAA0")
    with httpx.Client(base_url=hub.url, timeout=60) as client:
        for key in ("nonsense", agency):
            answer = client.post("/dashboard/login", data={"key": key})
            assert answer.status_code == 401 and "密钥无效" in answer.text
        assert client.get("/api/v1/supervision/overview", headers=bearer(agency)).status_code == 403
        assert client.get("/api/v1/supervision/overview").status_code == 401
        ok = client.post("/dashboard/login", data={"key": dashboard_hub["province"]})
        assert ok.status_code == 303
        # a forged or stale CSRF token is refused
        stale = client.post("/dashboard/logout", data={"csrf": "forged"})
        assert stale.status_code == 403
        assert client.get("/api/v1/supervision/nosuchpage").status_code == 404
