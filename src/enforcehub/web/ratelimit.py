"""A token bucket per client address, in process: the public portal's rate limit.

Each client may make `per_minute` requests in a burst and then one every 60/per_minute seconds. The
address is the connection's peer as uvicorn reports it (behind a reverse proxy, configure uvicorn's
forwarded-allow-ips so the proxy's X-Forwarded-For is used). Several hub processes each count alone.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable

MAX_CLIENTS = 50_000  # beyond this many tracked addresses, the idle (full) buckets are forgotten


class RateLimiter:
    def __init__(
        self, per_minute: int, *, clock: Callable[[], float] = time.monotonic, max_clients: int = MAX_CLIENTS
    ) -> None:
        self.capacity = float(per_minute)
        self.rate = per_minute / 60.0  # tokens per second
        self._clock = clock
        self._max_clients = max_clients
        self._buckets: dict[str, tuple[float, float]] = {}  # client → (tokens, when counted)
        self._lock = threading.Lock()

    def take(self, client: str) -> float:
        """Take a token for `client`: 0.0 when the request may go ahead, else the seconds to wait.
        A limit of 0 or less turns the limiter off."""
        if self.capacity <= 0:
            return 0.0
        now = self._clock()
        with self._lock:
            tokens, then = self._buckets.get(client, (self.capacity, now))
            tokens = min(self.capacity, tokens + (now - then) * self.rate)
            if tokens >= 1.0:
                self._buckets[client] = (tokens - 1.0, now)
                if len(self._buckets) > self._max_clients:
                    self._forget_idle(now)
                return 0.0
            self._buckets[client] = (tokens, now)
            return (1.0 - tokens) / self.rate

    def _forget_idle(self, now: float) -> None:
        """Drop buckets that have refilled completely (forgetting them changes nothing); if too many
        clients are still active, keep only the most recent half."""
        active = {
            client: (tokens, then)
            for client, (tokens, then) in self._buckets.items()
            if tokens + (now - then) * self.rate < self.capacity
        }
        if len(active) > self._max_clients:
            recent = sorted(active.items(), key=lambda item: item[1][1])[-(self._max_clients // 2) :]
            active = dict(recent)
        self._buckets = active
