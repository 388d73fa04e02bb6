"""`enforcehub demo`: a whole hub in one command.

Generates the synthetic province (2% of rows carry one error) with the planted supervision cases
(synth/plant.py: for every alert rule a few records it must flag, kept free of injected errors, as are
the agencies, officers and parties they refer to), starts a hub on the embedded default (SQLite in
`<out>/hub-data`), creates an admin key, reports every dataset through the HTTP API as the province's
data office would (reference data first), evaluates the alert rules once everything is in, and prints
the receipts, the open alerts per rule and where to look. Not with a `platform` key: a platform may
report only for agencies registered in its region, and the demo's registry and action files carry
injected errors on purpose, so a platform would be refused whole files where the demo means to show
rows sent back with their problems.
"""

from __future__ import annotations

import json
import shutil
import socket
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.table import Table

from enforcehub.cli_hub import SUBMIT_ORDER

DEMO_ERROR_RATE = 0.02


def _free_port(preferred: int) -> int:
    with socket.socket() as probe:
        try:
            probe.bind(("127.0.0.1", preferred))  # port 0 asks the system for any free one
        except OSError:
            probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


class _Hub:
    """A hub served by uvicorn in a background thread of this process."""

    def __init__(self, data_dir: Path, port: int) -> None:
        import uvicorn

        from enforcehub.settings import Settings
        from enforcehub.web.app import create_app

        # the demo's own webhook receiver listens on loopback: allowed explicitly, as an operator would
        self.settings = Settings(
            data_dir=data_dir, port=port, hub_id="gd-demo", webhook_allow_networks=["127.0.0.0/8"]
        )
        config = uvicorn.Config(create_app(self.settings), host="127.0.0.1", port=port, log_level="warning")
        self.server = uvicorn.Server(config)
        self.thread = threading.Thread(target=self.server.run, name="enforcehub-demo-hub", daemon=True)
        self.url = f"http://127.0.0.1:{port}"

    def start(self) -> None:
        self.thread.start()
        deadline = time.monotonic() + 60
        while not self.server.started:
            if not self.thread.is_alive() or time.monotonic() > deadline:
                raise RuntimeError("the demo hub did not start")
            time.sleep(0.05)

    def stop(self) -> None:
        self.server.should_exit = True
        self.thread.join(timeout=15)


class _Receiver:
    """The demo's downstream system: a webhook endpoint on loopback that verifies every request with the
    Standard Webhooks library and appends the events to a JSON Lines file."""

    def __init__(self, out: Path) -> None:
        self.out = out
        self.secret: str | None = None
        self.events = 0
        self.rejected = 0
        self.lock = threading.Lock()
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                from standardwebhooks import Webhook, WebhookVerificationError

                body = self.rfile.read(int(self.headers.get("content-length", 0)))
                try:
                    assert receiver.secret is not None
                    payload = Webhook(receiver.secret).verify(body, dict(self.headers.items()))
                except (AssertionError, WebhookVerificationError):
                    with receiver.lock:
                        receiver.rejected += 1
                    self.send_response(401)
                    self.end_headers()
                    return
                with receiver.lock, receiver.out.open("a", encoding="utf-8") as handle:
                    for event in payload["events"]:
                        handle.write(json.dumps(event, ensure_ascii=False) + "\n")
                    receiver.events += len(payload["events"])
                self.send_response(204)
                self.end_headers()

            def log_message(self, *_args: Any) -> None:
                return

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/webhooks/enforcehub"
        self.thread = threading.Thread(target=self.server.serve_forever, name="demo-receiver", daemon=True)

    def start(self) -> None:
        self.out.unlink(missing_ok=True)
        self.thread.start()

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()


# The built-in consumers the demo registers: one per delivery mode a downstream system would use.
DEMO_CONSUMERS = (
    ("credit", "feed"),
    ("internet-plus-supervision", "webhook"),
    ("double-random", "feed"),
    ("supervision-platform", "export"),
)


def _register_consumers(client: Any, receiver: _Receiver) -> dict[str, str]:
    """Register the demo consumers over the admin API; returns the feed consumers' keys."""
    keys: dict[str, str] = {}
    for profile, mode in DEMO_CONSUMERS:
        body: dict[str, Any] = {"name": profile, "profile": profile, "mode": mode}
        if mode == "webhook":
            body.update(webhook_url=receiver.url, batch_size=500)
        answer = client.post("/api/v1/admin/consumers", json=body)
        answer.raise_for_status()
        if mode == "webhook":
            receiver.secret = answer.json()["webhook_secret"]
        if mode == "feed":
            made = client.post(
                "/api/v1/admin/keys",
                json={"role": "consumer", "consumer": profile, "name": f"演示-{profile}"},
            )
            made.raise_for_status()
            keys[profile] = made.json()["key"]
    return keys


def _wait_for_sharing(client: Any, timeout: float = 120.0) -> list[dict[str, Any]]:
    """Poll the consumers until every one has caught up (or the time is up); their views."""
    deadline = time.monotonic() + timeout
    while True:
        consumers = client.get("/api/v1/admin/consumers").json()["consumers"]
        behind = [c for c in consumers if c["mode"] in ("webhook", "internal") and c["status"]["lag"] > 0]
        if not behind or time.monotonic() > deadline:
            return list(consumers)
        time.sleep(0.5)


def _keys(settings: Any) -> dict[str, str]:
    """The demo's keys: an admin, the province's supervisor (省司法局) and Guangzhou's (市司法局)."""
    from enforcehub.store import keys as key_store
    from enforcehub.store.db import make_engine, migrate, write_transaction

    engine = make_engine(settings)
    migrate(settings, engine)
    with write_transaction(engine) as conn:
        _row, admin = key_store.insert_key(conn, role="admin", name="演示-管理员")
        _row, province = key_store.insert_key(conn, role="supervisor", name="广东省司法厅监督员")
        _row, city = key_store.insert_key(conn, role="supervisor", region="440100", name="广州市司法局监督员")
    engine.dispose()
    return {"admin": admin, "supervisor": province, "city-supervisor": city}


def run_demo(
    out: Path,
    *,
    scale: str | int = "small",
    seed: int = 2025,
    lang: str = "zh",
    console: Console | None = None,
    serve: bool = False,
    port: int = 8000,
) -> dict[str, dict[str, Any]]:
    """Run the demo; with `serve`, keep the hub running until interrupted. Returns the receipts."""
    import httpx

    from enforcehub.client import HubClient
    from enforcehub.synth import generate

    console = console or Console()
    en = lang == "en"
    console.print("Generating the synthetic Guangdong province…" if en else "正在生成合成的广东省执法数据…")
    generate(out, seed=seed, scale=scale, error_rate=DEMO_ERROR_RATE, formats=("csv",), plant_alerts=True)
    data_dir = out / "hub-data"
    shutil.rmtree(data_dir, ignore_errors=True)
    hub = _Hub(data_dir, _free_port(port))
    keys = _keys(hub.settings)
    admin = keys["admin"]
    receiver = _Receiver(out / "webhook-received.jsonl")
    receiver.start()
    hub.start()
    receipts: dict[str, dict[str, Any]] = {}
    try:
        admin_client = httpx.Client(
            base_url=hub.url, headers={"Authorization": f"Bearer {admin}"}, timeout=60
        )
        feed_keys = _register_consumers(admin_client, receiver)
        console.print(
            f"Hub running at {hub.url}; reporting every dataset through the API…"
            if en
            else f"报送平台已启动：{hub.url}，正在按机关报送方式通过接口报送全部数据集…"
        )
        client = HubClient(hub.url, admin)
        for name in SUBMIT_ORDER:
            path = out / f"{name}.csv"
            if path.is_file():
                receipts[name] = client.submit_file(path, name)
        _print_receipts(console, receipts, en)
        consumers = _wait_for_sharing(admin_client)  # the supervision facts too (an internal consumer)
        evaluate_demo_alerts(hub.settings)
        _print_sharing(console, consumers, receiver, en)
        _print_where_to_look(console, hub.url, admin, receipts, en, feed_keys)
        _print_dashboard(console, hub.url, keys, admin_client, en)
        if serve:
            console.print("Press Ctrl-C to stop the hub." if en else "按 Ctrl-C 停止平台。")
            while hub.thread.is_alive():
                time.sleep(0.5)
    except KeyboardInterrupt:
        pass
    except httpx.HTTPError as exc:
        console.print(f"demo hub unreachable: {exc}")
    finally:
        hub.stop()
        receiver.stop()
    return receipts


def evaluate_demo_alerts(settings: Any) -> dict[str, int]:
    """Evaluate the supervision rules now (today, Asia/Shanghai) on everything reported — the hub's
    upkeep evaluates as facts arrive, possibly halfway through the reporting; returns the open alerts
    per rule."""
    from enforcehub.store import supervision as store
    from enforcehub.store.db import make_engine, read_transaction
    from enforcehub.supervise.alerts import evaluate_alerts

    engine = make_engine(settings)
    try:
        evaluate_alerts(engine)
        with read_transaction(engine) as conn:
            counts = store.alert_counts(conn)
    finally:
        engine.dispose()
    found: dict[str, int] = {}
    for row in counts:
        if row["status"] == "open":
            found[row["rule"]] = found.get(row["rule"], 0) + int(row["alerts"])
    return found


def _print_dashboard(console: Console, url: str, keys: dict[str, str], client: Any, en: bool) -> None:
    """The open alerts per rule, as the dashboard's alerts page shows them, and where supervisors look."""
    answer = client.get("/api/v1/supervision/alerts")
    if answer.status_code == 200:
        page = answer.json()
        rules: dict[str, Any] = next(
            (t for t in page.get("tables", []) if t.get("id") == "rules"), {"rows": []}
        )
        open_rules = [r for r in rules["rows"] if r.get("open")]
        total = sum(int(r["open"]) for r in open_rules)
        console.print(
            f"Supervision alerts open: {total:,} ({len(open_rules)} rules)"
            if en
            else f"执法监督预警（待处理）：{total:,} 条，涉及 {len(open_rules)} 条规则",
            markup=False,
        )
        for row in open_rules:
            console.print(f"    {row['title']} ({row['rule']}): {int(row['open']):,}", markup=False)
    lines = [
        ("the supervision dashboard", "执法监督看板", f"{url}/dashboard"),
        ("its alerts", "预警", f"{url}/dashboard/alerts"),
        ("log in as the province's supervisor with", "省级监督员登录密钥", keys["supervisor"]),
        (
            "or as Guangzhou's (sees only 广州市)",
            "广州市监督员登录密钥（仅见广州市）",
            keys["city-supervisor"],
        ),
    ]
    for label_en, label_zh, value in lines:
        console.print(f"  {label_en if en else label_zh}: {value}", markup=False, soft_wrap=True)


def _print_sharing(console: Console, consumers: list[dict[str, Any]], receiver: _Receiver, en: bool) -> None:
    heads = (
        ("consumer", "profile", "delivery", "position", "behind")
        if en
        else ("共享对象", "数据画像", "交付方式", "已交付至", "未交付变更")
    )
    table = Table(*heads, title="Report once, use many" if en else "一次报送，多头应用")
    for c in consumers:
        table.add_row(
            c["name"], c["profile"], c["mode"], str(c["status"]["position"]), f"{c['status']['lag']:,}"
        )
    console.print(table)
    console.print(
        f"The demo's webhook receiver verified and kept {receiver.events:,} events ({receiver.out})."
        if en
        else f"演示用 webhook 接收端已验签并收到 {receiver.events:,} 个事件（{receiver.out}）。"
    )
    console.print(
        "Feed consumers pull at their pace; the export consumer receives each finished day as a file."
        if en
        else "拉取方式的共享对象按自己的节奏读取；文件方式的共享对象每日收到前一日的数据文件。"
    )


def _print_receipts(console: Console, receipts: dict[str, dict[str, Any]], en: bool) -> None:
    heads = (
        ("dataset", "submission", "status", "received", "accepted", "rejected", "created", "errors")
        if en
        else ("数据集", "报送编号", "状态", "收到", "入库", "退回", "新增", "错误")
    )
    table = Table(*heads)
    for name, receipt in receipts.items():
        c = receipt.get("counts", {})
        table.add_row(
            name,
            receipt.get("id", ""),
            receipt.get("status", ""),
            *[f"{c.get(k, 0):,}" for k in ("received", "accepted", "rejected", "created", "errors")],
        )
    console.print(table)
    total = sum(r.get("counts", {}).get("received", 0) for r in receipts.values())
    rejected = sum(r.get("counts", {}).get("rejected", 0) for r in receipts.values())
    console.print(
        f"{total:,} records reported, {rejected:,} sent back with their problems."
        if en
        else f"共报送 {total:,} 条记录，其中 {rejected:,} 条因数据问题退回（附问题说明）。"
    )


def _print_where_to_look(
    console: Console,
    url: str,
    admin: str,
    receipts: dict[str, dict[str, Any]],
    en: bool,
    feed_keys: dict[str, str],
) -> None:
    import datetime as dt
    from zoneinfo import ZoneInfo

    import httpx

    today = dt.datetime.now(ZoneInfo("Asia/Shanghai")).date()
    penalty = receipts.get("penalty", {})
    entity = None
    with httpx.Client(base_url=url, headers={"Authorization": f"Bearer {admin}"}, timeout=30) as client:
        page = client.get("/api/v1/records/penalty", params={"limit": 50}).json().get("records", [])
        for record in page:
            code = record["data"].get("counterparty_uscc") or record["data"].get("id_number")
            if code:
                entity = code
                break
    lines = [
        ("API docs", "接口文档", f"{url}/docs"),
        ("admin key", "管理员密钥", admin),
        ("a receipt", "一份回执", f"{url}/api/v1/submissions/{penalty.get('id', '')}"),
        (
            "its rows to fix (XLSX)",
            "待修改的行（XLSX）",
            f"{url}/api/v1/submissions/{penalty.get('id', '')}/errors.xlsx",
        ),
        ("an entity profile (一户一档)", "一户一档", f"{url}/api/v1/entities/{entity or ''}"),
        ("the publicity portal (行政执法公示)", "行政执法公示", f"{url}/gongshi"),
        ("the credit feed (双公示)", "双公示数据推送（拉取）", f"{url}/api/v1/feeds/credit"),
        ("the credit feed's key", "双公示推送密钥", feed_keys.get("credit", "")),
        (
            "today's supervision-platform export (XLSX)",
            "今日监督平台数据导出（XLSX）",
            f"{url}/api/v1/feeds/supervision-platform/export?date_from={today}&date_to={today}&format=xlsx",
        ),
    ]
    for label_en, label_zh, value in lines:
        console.print(f"  {label_en if en else label_zh}: {value}", markup=False, soft_wrap=True)
    console.print(
        f'  curl -H "Authorization: Bearer {admin}" {url}/api/v1/records/penalty?limit=1',
        markup=False,
        soft_wrap=True,
    )
