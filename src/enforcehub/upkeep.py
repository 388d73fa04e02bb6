"""Background upkeep of everything derived from the change log, in one thread.

Each tick runs the jobs that are due, each bounded so one tick stays short:
- project feed events ahead of reading for every `feed` and `webhook` consumer (share.feed.materialize);
- keep the publicity portal's index (share.portal_index);
- keep the supervision facts and rollups (supervise.facts), when that package is installed;
- write scheduled file exports (share.exports) once a minute.

A job that fails is logged and retried on the next tick; it never stops the others. The same jobs run
inside `serve` (unless ENFORCEHUB_WORKER=false) and in `enforcehub worker`. Every job is idempotent
and guarded against a concurrent run of itself (cursor checks under row locks), so several
processes may run upkeep against one PostgreSQL database.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field

from enforcehub.pipeline import HubContext
from enforcehub.settings import Settings
from enforcehub.store import consumers as consumer_store
from enforcehub.store.db import read_transaction

log = logging.getLogger("enforcehub.upkeep")
TICK_S = 0.25
MATERIALIZE_BATCH = 20_000
EXPORT_EVERY_S = 60.0
ALERTS_EVERY_S = 10.0


@dataclass
class Job:
    name: str
    run: Callable[[], int]  # returns the units of work done (0 = nothing to do)
    every_s: float = 0.0
    next_at: float = 0.0
    failures: int = field(default=0)


def materialize_all(context: HubContext, *, budget: int = MATERIALIZE_BATCH) -> int:
    """Project the next events of every feed and webhook consumer; the changes covered."""
    from enforcehub.share.feed import materialize

    with read_transaction(context.engine) as conn:
        names = [
            r["name"]
            for r in consumer_store.list_consumers(conn)
            if r["mode"] in ("feed", "webhook") and r["state"] != "disabled"
        ]
    return sum(
        materialize(context.engine, name, standard=context.standard, hub_id=context.hub_id, limit=budget)
        for name in names
    )


def jobs_for(context: HubContext, settings: Settings) -> list[Job]:
    from enforcehub.share.exports import run_scheduled_exports
    from enforcehub.share.portal_index import refresh_publicity

    found = [
        Job("materialize", lambda: materialize_all(context)),
        Job("publicity", lambda: refresh_publicity(context.engine, context.standard, context.hub_id)),
        Job(
            "exports",
            lambda: run_scheduled_exports(
                context.engine, data_dir=settings.data_dir, standard=context.standard, hub_id=context.hub_id
            ),
            every_s=EXPORT_EVERY_S,
        ),
    ]
    try:
        from enforcehub.supervise.facts import refresh_facts
    except ImportError:  # pragma: no cover - the supervision package is part of the distribution
        return found
    found.append(
        Job("supervision", lambda: refresh_facts(context.engine, context.standard, max_pages=5).changes)
    )
    found.append(Job("alerts", _AlertsWhenFactsMove(context), every_s=ALERTS_EVERY_S))
    return found


class _AlertsWhenFactsMove:
    """Evaluate the supervision rules when the facts moved since the last evaluation (at most every
    ALERTS_EVERY_S): rules look across records (一企多查, 同案不同罚), so they run over the facts
    as a whole rather than per change. Returns 0 so it never keeps the upkeep loop spinning."""

    def __init__(self, context: HubContext) -> None:
        self.context = context
        self.evaluated_at_seq = -1

    def __call__(self) -> int:
        from enforcehub.supervise.alerts import evaluate_alerts
        from enforcehub.supervise.facts import CONSUMER

        with read_transaction(self.context.engine) as conn:
            row = consumer_store.get_consumer(conn, CONSUMER)
        position = int(row["acked_seq"]) if row is not None else 0
        if position == self.evaluated_at_seq or position == 0:
            return 0
        evaluate_alerts(self.context.engine, standard=self.context.standard, refresh=False)
        self.evaluated_at_seq = position
        return 0


class Upkeep:
    """Runs the upkeep jobs in a daemon thread until stopped."""

    def __init__(self, context: HubContext, settings: Settings, *, tick_s: float = TICK_S) -> None:
        self.jobs = jobs_for(context, settings)
        self.tick_s = tick_s
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def run_once(self) -> int:
        """Run every due job once; the total work done."""
        done = 0
        now = time.monotonic()
        for job in self.jobs:
            if self._stop.is_set() or now < job.next_at:
                continue
            try:
                done += job.run()
                job.failures = 0
            except Exception:
                job.failures += 1
                log.exception("upkeep job %s failed (%d in a row)", job.name, job.failures)
            job.next_at = now + max(
                job.every_s, min(30.0, self.tick_s * 2**job.failures) if job.failures else 0
            )
        return done

    def run(self) -> None:
        while not self._stop.is_set():
            if self.run_once() == 0:
                self._stop.wait(self.tick_s)

    def start(self) -> Upkeep:
        self._thread = threading.Thread(target=self.run, name="enforcehub-upkeep", daemon=True)
        self._thread.start()
        return self

    def stop(self, timeout: float = 10.0) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout)

    def catch_up(self, max_rounds: int = 10_000) -> int:
        """Run until no job has anything left (tests, `worker --once`, the demo)."""
        total = 0
        for _ in range(max_rounds):
            for job in self.jobs:
                job.next_at = 0.0
            done = self.run_once()
            total += done
            if done == 0:
                break
        return total
