"""The federation thread of a city hub: relay up as fast as the province takes it, read the province's
registries now and then. Started by `serve` (and `enforcehub worker`) when an upstream is configured.

Failures back off (1 s doubling to `relay_max_backoff_s`, 60 s by default) and are kept on the link;
the thread never stops the hub and never holds a write lock while it waits on the network.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable

from enforcehub.errors import EnforcehubError
from enforcehub.federation import downlink, uplink
from enforcehub.pipeline import HubContext
from enforcehub.settings import Settings

log = logging.getLogger("enforcehub.federation")
SEEN_EVERY_S = 10.0


class FederationWorker:
    def __init__(self, ctx: HubContext, settings: Settings) -> None:
        self.ctx = ctx
        self.settings = settings
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="enforcehub-federation", daemon=True)

    def start(self) -> FederationWorker:
        uplink.ensure_relay(self.ctx, self.settings)
        downlink.ensure_downlink(self.ctx, self.settings)
        self._thread.start()
        return self

    def stop(self, timeout: float = 30.0) -> None:
        self._stop.set()
        self._thread.join(timeout)

    def _backoff(self, failures: int) -> float:
        return float(min(2 ** min(failures - 1, 16), self.settings.relay_max_backoff_s))

    def _run(self) -> None:
        client = uplink.upstream_client(self.settings)
        up_failures = down_failures = 0
        next_up = next_down = next_seen = 0.0
        try:
            while not self._stop.is_set():
                now = time.monotonic()
                if now >= next_down:
                    try:
                        while downlink.step(self.ctx, self.settings, client) and not self._stop.is_set():
                            pass
                        down_failures = 0
                        next_down = time.monotonic() + self.settings.registries_every_s
                    except Exception as exc:  # kept on the link; retried with backoff
                        down_failures += 1
                        _record(downlink.failed, self.ctx, exc)
                        next_down = time.monotonic() + self._backoff(down_failures)
                if now >= next_up:
                    try:
                        moved = uplink.step(self.ctx, self.settings, client)
                        up_failures = 0
                        if moved:
                            next_up = 0.0
                            continue
                        if now >= next_seen:
                            uplink.caught_up(self.ctx)
                            next_seen = now + SEEN_EVERY_S
                        next_up = time.monotonic() + self.settings.relay_idle_s
                    except Exception as exc:
                        up_failures += 1
                        _record(uplink.failed, self.ctx, exc)
                        next_up = time.monotonic() + self._backoff(up_failures)
                self._stop.wait(max(min(next_up, next_down) - time.monotonic(), 0.05))
        finally:
            client.close()


def _record(keep: Callable[[HubContext, str], None], ctx: HubContext, exc: Exception) -> None:
    message = exc.message_en if isinstance(exc, EnforcehubError) else f"{type(exc).__name__}: {exc}"
    log.warning("federation: %s", message)
    try:
        keep(ctx, message)
    except Exception:  # the database itself may be what failed; the next attempt records again
        log.exception("federation: could not record the failure")
