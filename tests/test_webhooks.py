"""Webhook delivery over real HTTP: hub processes (and `enforcehub worker` processes) push to a real
receiver on loopback that verifies every request with the `standardwebhooks` library."""

from __future__ import annotations

import contextlib
import ipaddress
import json
import signal
import statistics
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import httpx
import pytest
from standardwebhooks import Webhook
from standardwebhooks.webhooks import WebhookVerificationError

from enforcehub.share import egress
from enforcehub.share.feed import encode_cursor
from tests.servers import HubProcess, child_env, free_port, run_cli
from tests.test_hub_api import admin_key, bearer, first_rows

Hub = Callable[..., HubProcess]
ALLOW_LOOPBACK = {"ENFORCEHUB_WEBHOOK_ALLOW_NETWORKS": '["127.0.0.0/8"]'}

PROFILE = """
name: test-hook
title: 测试推送
title_en: test push
personal_data: none
datasets:
  penalty:
    filter: all
    fields:
      - {name: decision_number, from: decision_number}
      - {name: agency_uscc, from: agency_uscc}
      - {name: fine_amount, from: fine_amount, convert: number}
      - {name: status, from: status}
"""


# --- the receiver --------------------------------------------------------------------------------------


@dataclass
class Received:
    id: str
    timestamp: str
    signature: str
    body: str
    status: int
    at: float
    verified_by: list[int]
    payload: dict[str, Any] = field(default_factory=dict)


class Receiver:
    """A webhook endpoint on 127.0.0.1. Every request is verified with standardwebhooks against the
    secrets it knows (a request no secret verifies is answered 400 and counted in `unverified`); the
    answer follows `script` (one per request, first) or else `mode`."""

    def __init__(self) -> None:
        self.port = free_port()
        self.secrets: list[str] = []
        self.requests: list[Received] = []
        self.unverified: list[str] = []
        self.mode = "ok"  # ok, 500, 503, 410
        self.script: list[tuple[int, dict[str, str], float]] = []  # (status, headers, delay)
        self.delay = 0.0
        self.inflight: dict[str, int] = {}
        self.max_inflight: dict[str, int] = {}
        self.lock = threading.Lock()
        self._server: ThreadingHTTPServer | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/hook"

    def start(self) -> Receiver:
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *_args: Any) -> None:
                pass

            def do_POST(self) -> None:
                receiver._handle(self)

        self._server = ThreadingHTTPServer(("127.0.0.1", self.port), Handler)
        self._server.daemon_threads = True
        threading.Thread(target=self._server.serve_forever, daemon=True).start()
        return self

    def stop(self) -> None:
        """Down: the port refuses connections."""
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None

    def _handle(self, request: BaseHTTPRequestHandler) -> None:
        arrived = time.monotonic()
        body = request.rfile.read(int(request.headers.get("content-length", 0))).decode("utf-8")
        headers = {k.lower(): v for k, v in request.headers.items()}
        verified = []
        payload: dict[str, Any] = {}
        for index, secret in enumerate(list(self.secrets)):
            with contextlib.suppress(WebhookVerificationError):
                payload = Webhook(secret).verify(body, headers)
                verified.append(index)
        consumer = str(payload.get("consumer", "?"))
        with self.lock:
            self.inflight[consumer] = self.inflight.get(consumer, 0) + 1
            self.max_inflight[consumer] = max(self.max_inflight.get(consumer, 0), self.inflight[consumer])
            if self.script:
                status, extra, delay = self.script.pop(0)
            else:
                status = {"ok": 200, "500": 500, "503": 503, "410": 410}[self.mode]
                extra, delay = {}, self.delay
        if not verified:
            status, extra = 400, {}
            self.unverified.append(headers.get("webhook-id", "?"))
        try:
            if delay:
                time.sleep(delay)
            with self.lock:
                self.requests.append(
                    Received(
                        headers.get("webhook-id", ""),
                        headers.get("webhook-timestamp", ""),
                        headers.get("webhook-signature", ""),
                        body,
                        status,
                        arrived,
                        verified,
                        payload,
                    )
                )
            request.send_response(status)
            for name, value in extra.items():
                request.send_header(name, value)
            request.send_header("content-length", "0")
            request.end_headers()
        finally:
            with self.lock:
                self.inflight[consumer] -= 1

    def timeline(self) -> list[Received]:
        """Every request in arrival order (a slow answer is recorded when it is sent)."""
        with self.lock:
            return sorted(self.requests, key=lambda r: r.at)

    def delivered(self, consumer: str | None = None) -> list[Received]:
        """Requests answered 2xx, in arrival order."""
        return [
            r
            for r in self.timeline()
            if r.status == 200 and (consumer is None or r.payload.get("consumer") == consumer)
        ]

    def seqs(self, consumer: str | None = None) -> set[int]:
        return {e["seq"] for r in self.delivered(consumer) for e in r.payload["events"]}


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    made = Receiver().start()
    try:
        yield made
    finally:
        made.stop()


# --- helpers -------------------------------------------------------------------------------------------


def wait_until(condition: Callable[[], Any], timeout: float, what: str) -> Any:
    deadline = time.monotonic() + timeout
    while True:
        value = condition()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout}s waiting for {what}")
        time.sleep(0.05)


def register(client: httpx.Client, key: str, name: str, url: str, batch_size: int = 50) -> httpx.Response:
    return client.post(
        "/api/v1/admin/consumers",
        json={
            "name": name,
            "profile": "",
            "profile_yaml": PROFILE,
            "mode": "webhook",
            "webhook_url": url,
            "batch_size": batch_size,
        },
        headers=bearer(key),
    )


def add_hook(client: httpx.Client, key: str, name: str, receiver: Receiver, batch_size: int = 50) -> str:
    made = register(client, key, name, receiver.url, batch_size)
    assert made.status_code == 201, made.text
    secret: str = made.json()["webhook_secret"]
    assert secret.startswith("whsec_")
    receiver.secrets.append(secret)
    return secret


def submit(client: httpx.Client, key: str, rows: list[dict[str, Any]]) -> None:
    answer = client.post(
        "/api/v1/submissions", params={"dataset": "penalty"}, headers=bearer(key), json={"records": rows}
    )
    assert answer.status_code == 201, answer.text
    assert answer.json()["counts"]["accepted"] == len(rows)


def feed_seqs(client: httpx.Client, key: str, name: str) -> list[int]:
    """The consumer's whole feed read over the API (what the webhook must have delivered)."""
    seqs: list[int] = []
    cursor = encode_cursor(0)
    while True:
        page = client.get(
            f"/api/v1/feeds/{name}", params={"after": cursor, "limit": 10_000}, headers=bearer(key)
        )
        assert page.status_code == 200, page.text
        body = page.json()
        seqs += [e["seq"] for e in body["events"]]
        cursor = body["next"]
        if not body["more"]:
            return seqs


def consumer(client: httpx.Client, key: str, name: str) -> dict[str, Any]:
    shown = client.get(f"/api/v1/admin/consumers/{name}", headers=bearer(key))
    assert shown.status_code == 200, shown.text
    found: dict[str, Any] = shown.json()
    return found


def assert_in_order_without_gaps(receiver: Receiver, name: str, expected: list[int]) -> None:
    """Every event arrived, messages in order with strictly increasing seqs, duplicates only under the
    same webhook-id with the same body."""
    assert not receiver.unverified
    bodies: dict[str, str] = {}
    for request in receiver.timeline():
        if request.payload.get("consumer") == name:
            assert bodies.setdefault(request.id, request.body) == request.body, "one id, two bodies"
    first: dict[str, Received] = {}
    for request in receiver.delivered(name):
        first.setdefault(request.id, request)
    seqs = [e["seq"] for r in first.values() for e in r.payload["events"]]
    assert seqs == sorted(set(seqs)), "events out of order or delivered under two webhook-ids"
    assert seqs == expected, "the webhook and the feed disagree"
    for request in first.values():
        assert request.payload["type"] == "enforcehub.events" and request.payload["next"].startswith("c1.")


@pytest.fixture(scope="module")
def penalties(province: Path) -> list[dict[str, Any]]:
    return first_rows(province / "penalty.csv", 600)


# --- tests ---------------------------------------------------------------------------------------------


def test_everything_arrives_in_order_through_an_outage(
    hub_factory: Hub, backend: dict[str, str], receiver: Receiver, penalties: list[dict[str, Any]]
) -> None:
    hub = hub_factory(env={**backend, **ALLOW_LOOPBACK})
    key = admin_key(hub)
    with hub.client() as client:
        add_hook(client, key, "hook", receiver, batch_size=40)
        # latency: from a submission's answer (its commit) to the event's arrival
        latencies = []
        for row in penalties[:5]:
            before = len(receiver.seqs("hook"))
            started = time.monotonic()
            submit(client, key, [row])
            committed = time.monotonic()
            wait_until(lambda b=before: len(receiver.seqs("hook")) > b, 10, "one event")
            latencies.append(receiver.delivered("hook")[-1].at - committed)
            assert committed - started < 5
        assert statistics.median(latencies) < 1.0, latencies
        submit(client, key, penalties[5:200])
        wait_until(lambda: len(receiver.seqs("hook")) == 200, 30, "the first 200 events")

        receiver.stop()  # the receiver is down: connections refused
        submit(client, key, penalties[200:300])
        time.sleep(1.5)
        receiver.mode = "503"
        receiver.start()  # back, but answering 503
        wait_until(lambda: any(r.status == 503 for r in receiver.requests), 20, "a retry answered 503")
        submit(client, key, penalties[300:400])
        receiver.mode = "ok"
        expected = feed_seqs(client, key, "hook")
        assert len(expected) == 400
        wait_until(lambda: receiver.seqs("hook") == set(expected), 60, "every event after the outage")
        assert_in_order_without_gaps(receiver, "hook", expected)

        status = wait_until(
            lambda: (s := consumer(client, key, "hook")["status"])["lag"] == 0 and s, 10, "lag 0"
        )
        assert status["position"] == status["last_seq"] and status["failures"] == 0
        assert status["dead_letters"] == 0 and status["last_success_at"]
        attempts = client.get("/api/v1/admin/consumers/hook/attempts", headers=bearer(key)).json()["attempts"]
        errors = [a for a in attempts if a["status"] != 200]
        assert any(a["status"] is None and "Connect" in a["error"] for a in errors)
        assert any(a["status"] == 503 for a in errors)
        metrics = client.get("/metrics").text
        assert 'enforcehub_consumer_lag{consumer="hook",mode="webhook"} 0.0' in metrics
        assert 'enforcehub_consumer_dead_letters{consumer="hook",mode="webhook"} 0.0' in metrics
        assert 'enforcehub_consumer_seconds_since_success{consumer="hook",mode="webhook"}' in metrics


def test_retry_after_timeouts_gone_and_secret_rotation(
    hub_factory: Hub, receiver: Receiver, penalties: list[dict[str, Any]]
) -> None:
    hub = hub_factory(env={**ALLOW_LOOPBACK, "ENFORCEHUB_WEBHOOK_TIMEOUT_S": "1"})
    key = admin_key(hub)
    with hub.client() as client:
        old_secret = add_hook(client, key, "hook", receiver)
        # 429 Retry-After: 2, then an answer slower than the hub's timeout, then fine
        receiver.script = [(429, {"Retry-After": "2"}, 0.0), (200, {}, 1.6)]
        submit(client, key, penalties[:3])
        wait_until(lambda: len(receiver.requests) >= 3, 20, "three requests")
        first, second, third = receiver.timeline()[:3]
        assert (first.status, second.status, third.status) == (429, 200, 200)
        assert second.at - first.at >= 2.0, "Retry-After not honoured"
        assert first.id == second.id == third.id and first.body == second.body == third.body
        assert first.id.startswith("msg_") and len(receiver.seqs("hook")) == 3
        # the hub recorded it: 429, then no answer in time, then 200 (newest first)
        tried = client.get("/api/v1/admin/consumers/hook/attempts", headers=bearer(key)).json()["attempts"]
        assert [a["status"] for a in tried] == [200, None, 429]
        assert "Timeout" in tried[1]["error"] and all(a["message_id"] == first.id for a in tried)

        # 410 Gone: the consumer is disabled and nothing more is sent
        receiver.mode = "410"
        submit(client, key, penalties[3:5])
        wait_until(lambda: consumer(client, key, "hook")["state"] == "disabled", 10, "disabled")
        assert "410" in consumer(client, key, "hook")["state_reason"]
        sent = len(receiver.requests)
        submit(client, key, penalties[5:7])
        time.sleep(1.0)
        assert len(receiver.requests) == sent

        # resumed: everything arrives; then a rotated secret signs with both secrets
        receiver.mode = "ok"
        assert client.post("/api/v1/admin/consumers/hook/resume", headers=bearer(key)).status_code == 200
        wait_until(lambda: len(receiver.seqs("hook")) == 7, 10, "events after resume")
        rotated = client.post("/api/v1/admin/consumers/hook/rotate-secret", headers=bearer(key))
        new_secret = rotated.json()["webhook_secret"]
        receiver.secrets.append(new_secret)
        submit(client, key, penalties[7:9])
        wait_until(lambda: len(receiver.seqs("hook")) == 9, 10, "events after rotation")
        last = receiver.delivered("hook")[-1]
        assert len(last.signature.split(" ")) == 2 and all(
            s.startswith("v1,") for s in last.signature.split()
        )
        headers = {
            "webhook-id": last.id,
            "webhook-timestamp": last.timestamp,
            "webhook-signature": last.signature,
        }
        for secret in (old_secret, new_secret):
            assert Webhook(secret).verify(last.body, headers)["consumer"] == "hook"
            alone = [
                s
                for s in last.signature.split()
                if _verifies(secret, last.body, {**headers, "webhook-signature": s})
            ]
            assert len(alone) == 1  # each secret has its own signature in the header
        assert_in_order_without_gaps(receiver, "hook", feed_seqs(client, key, "hook"))


def _verifies(secret: str, body: str, headers: dict[str, str]) -> bool:
    try:
        Webhook(secret).verify(body, headers)
    except WebhookVerificationError:
        return False
    return True


def test_egress_guard_at_registration_and_before_every_send(
    hub_factory: Hub, receiver: Receiver, penalties: list[dict[str, Any]], tmp_path: Path
) -> None:
    # in-process: the rules themselves
    assert egress.check_target("https://8.8.8.8/hook", []) == [ipaddress.ip_address("8.8.8.8")]
    for url in (
        "http://127.0.0.1/",
        "http://[::1]/",
        "http://[::ffff:127.0.0.1]/",
        "http://10.1.2.3/",
        "http://192.168.0.1/",
        "http://100.64.0.1/",
        "http://224.0.0.1/",
        "http://0.0.0.0/",
        "ftp://8.8.8.8/",
    ):
        with pytest.raises(egress.EgressRefused):
            egress.check_target(url, [])
    egress.check_target("http://10.1.2.3/", ["10.0.0.0/8"])
    for url in ("http://169.254.169.254/latest/meta-data", "http://[fe80::1]/", "http://0.0.0.0/"):
        with pytest.raises(egress.EgressRefused):
            egress.check_target(url, ["0.0.0.0/0", "::/0"])

    # the hub allows loopback (its own worker is off: the `worker` runs below, with other settings)
    hub = hub_factory(env={**ALLOW_LOOPBACK, "ENFORCEHUB_WORKER": "false"})
    key = admin_key(hub)
    profile = tmp_path / "hook.yaml"
    profile.write_text(PROFILE, encoding="utf-8")
    data = str(hub.data_dir)
    # without the allow-list, registering a loopback target is refused
    refused = run_cli(
        "consumers", "add", "other", "--profile-file", profile, "--mode", "webhook", "--url", receiver.url,
        "--data", data,
    )  # fmt: skip
    assert refused.returncode == 2 and "webhook-target-refused" in refused.stderr, refused.stderr
    assert "回环地址" in refused.stderr
    with hub.client() as client:
        # link-local is refused even when allowed; the error is the API's one shape, in both languages
        metadata = register(client, key, "meta", "http://169.254.169.254/latest/meta-data")
        assert metadata.status_code == 422
        error = metadata.json()["error"]
        assert error["code"] == "webhook-target-refused"
        assert "链路本地地址" in error["message"] and "link-local" in error["message_en"]
        assert register(client, key, "six", "http://[::1]:9/").status_code == 422  # not in 127.0.0.0/8
        add_hook(client, key, "hook", receiver)
        submit(client, key, penalties[:2])
        delivered = run_cli("worker", "--once", "--data", data, env=ALLOW_LOOPBACK)
        assert delivered.returncode == 0, delivered.stderr
        assert len(receiver.seqs("hook")) == 2
        # a worker without the allow-list checks again before sending: refused, a failed attempt
        submit(client, key, penalties[2:4])
        before = run_cli("worker", "--once", "--data", data)
        assert before.returncode == 0, before.stderr
        assert len(receiver.requests) == 1
        attempts = client.get("/api/v1/admin/consumers/hook/attempts", headers=bearer(key)).json()["attempts"]
        refusal = attempts[0]
        assert refusal["status"] is None and "webhook-target-refused" in refusal["error"]
        assert "回环地址" in refusal["error"] and "loopback" in refusal["error"]
        status = consumer(client, key, "hook")["status"]
        assert status["failures"] >= 1 and "webhook-target-refused" in status["last_error"]


def test_dead_letter_after_the_retry_budget_and_replay(
    hub_factory: Hub, receiver: Receiver, penalties: list[dict[str, Any]]
) -> None:
    hub = hub_factory(env={**ALLOW_LOOPBACK, "ENFORCEHUB_WEBHOOK_RETRY_HOURS": "0.0005"})  # 1.8 s
    key = admin_key(hub)
    with hub.client() as client:
        add_hook(client, key, "hook", receiver)
        receiver.mode = "500"
        submit(client, key, penalties[:3])
        dead = wait_until(
            lambda: client.get("/api/v1/admin/consumers/hook/dead-letters", headers=bearer(key)).json()[
                "dead_letters"
            ],
            15,
            "a dead letter",
        )
        assert len(dead) == 1 and dead[0]["state"] == "dead" and dead[0]["last_status"] == 500
        assert dead[0]["attempts"] >= 2 and dead[0]["events"] == 3
        failed = [r for r in receiver.requests if r.status == 500]
        assert {r.id for r in failed} == {dead[0]["id"]}
        status = consumer(client, key, "hook")["status"]
        assert status["dead_letters"] == 1 and status["lag"] == 0  # moved on past it
        assert (
            'enforcehub_consumer_dead_letters{consumer="hook",mode="webhook"} 1.0'
            in client.get("/metrics").text
        )
        listed = run_cli("deliveries", "dead", "hook", "--format", "json", "--data", str(hub.data_dir))
        assert listed.returncode == 0 and json.loads(listed.stdout)[0]["id"] == dead[0]["id"]

        # the receiver works again: new events go out; the dead letter only when replayed
        receiver.mode = "ok"
        submit(client, key, penalties[3:5])
        wait_until(lambda: len(receiver.seqs("hook")) == 2, 10, "new events")
        replayed = client.post(
            f"/api/v1/admin/consumers/hook/dead-letters/{dead[0]['id']}/replay", headers=bearer(key)
        )
        assert replayed.status_code == 200, replayed.text
        assert replayed.json()["message"]["state"] == "pending"
        wait_until(lambda: len(receiver.seqs("hook")) == 5, 10, "the replayed dead letter")
        again = receiver.delivered("hook")[-1]
        assert again.id == dead[0]["id"] and again.body == failed[0].body
        assert set(feed_seqs(client, key, "hook")) == receiver.seqs("hook")
        twice = client.post(
            f"/api/v1/admin/consumers/hook/dead-letters/{dead[0]['id']}/replay", headers=bearer(key)
        )
        assert twice.status_code == 409 and twice.json()["error"]["code"] == "not-dead-letter"
        missing = run_cli("deliveries", "replay", "hook", "msg_nope", "--data", str(hub.data_dir))
        assert missing.returncode == 2 and "message-not-found" in missing.stderr
        assert consumer(client, key, "hook")["status"]["dead_letters"] == 0


def test_two_worker_processes_on_postgresql_never_overlap(
    hub_factory: Hub, pg_database: str, receiver: Receiver, penalties: list[dict[str, Any]], tmp_path: Path
) -> None:
    env = {"ENFORCEHUB_DATABASE_URL": pg_database, "ENFORCEHUB_WORKER": "false", **ALLOW_LOOPBACK}
    hub = hub_factory(env=env)
    key = admin_key(hub)
    names = ["hook-a", "hook-b", "hook-c"]
    receiver.delay = 0.03  # widen the window in which an overlap would show
    with hub.client() as client:
        for name in names:
            add_hook(client, key, name, receiver, batch_size=20)
        workers = [
            subprocess.Popen(
                [sys.executable, "-m", "enforcehub.cli", "worker", "--data", str(tmp_path / "w")],
                env=child_env(env),
                stdout=subprocess.DEVNULL,
                stderr=(tmp_path / f"worker{i}.log").open("wb"),
                start_new_session=True,
            )
            for i in range(2)
        ]
        try:
            for start in range(0, 300, 100):
                submit(client, key, penalties[start : start + 100])
            for name in names:
                wait_until(lambda n=name: len(receiver.seqs(n)) == 300, 60, f"every event for {name}")
        finally:
            for worker in workers:
                worker.send_signal(signal.SIGTERM)
            for worker in workers:
                assert worker.wait(30) == 0, (tmp_path / "worker0.log").read_text()
        assert receiver.max_inflight == {name: 1 for name in names}
        for name in names:
            assert_in_order_without_gaps(receiver, name, feed_seqs(client, key, name))

        # `worker --once` delivers what is due and exits
        submit(client, key, penalties[300:400])
        once = run_cli("worker", "--once", "--data", str(tmp_path / "w"), env=env)
        assert once.returncode == 0, once.stderr
        for name in names:
            assert len(receiver.seqs(name)) == 400
            assert_in_order_without_gaps(receiver, name, feed_seqs(client, key, name))
