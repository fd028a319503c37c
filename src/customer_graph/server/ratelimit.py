"""Per-client request rate limits.

A :class:`ClientRateLimiter` has one method, ``admit(client_id)``: may this client make a request now, and if
not, when may it try again. :class:`TokenBucket` keeps the buckets in this process; a shared implementation
(Redis, for several replicas) answers the same question behind the same method.
"""

from __future__ import annotations

import math
import time
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass
from typing import Protocol


@dataclass(frozen=True, slots=True)
class Admission:
    allowed: bool
    retry_after: float = 0.0  # seconds until one request would be admitted, when not allowed

    @property
    def retry_after_header(self) -> str:
        return str(max(1, math.ceil(self.retry_after)))


class ClientRateLimiter(Protocol):
    """Admits or refuses one request of a client; a refusal says how long to wait. Never waits itself: a
    client over its rate is told so at once (HTTP 429), not queued."""

    async def admit(self, client_id: str) -> Admission: ...


class TokenBucket:
    """One bucket per client: ``per_minute`` requests a minute on average, up to ``burst`` at once. Buckets of
    clients not seen for a while are dropped beyond ``max_clients`` (least recently used first); a dropped
    bucket comes back full, which only ever errs towards admitting."""

    def __init__(
        self,
        per_minute: int,
        burst: int | None = None,
        *,
        max_clients: int = 10_000,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        if per_minute < 1:
            raise ValueError("per_minute must be at least 1")
        self.rate = per_minute / 60.0
        self.burst = float(burst if burst is not None else max(1, per_minute // 10))
        self.max_clients = max_clients
        self.clock = clock
        self._buckets: OrderedDict[str, tuple[float, float]] = OrderedDict()  # client -> (tokens, at)

    async def admit(self, client_id: str) -> Admission:
        # No await in here: on the event loop, one admission runs to its end before the next begins.
        now = self.clock()
        tokens, at = self._buckets.pop(client_id, (self.burst, now))
        tokens = min(self.burst, tokens + (now - at) * self.rate)
        if tokens >= 1.0:
            admission = Admission(True)
            tokens -= 1.0
        else:
            admission = Admission(False, (1.0 - tokens) / self.rate)
        self._buckets[client_id] = (tokens, now)
        while len(self._buckets) > self.max_clients:
            self._buckets.popitem(last=False)
        return admission
