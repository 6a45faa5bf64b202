"""One bounded concurrency limit for a whole run, which slows down on 429.

Every request of every stream and snapshot goes through one :class:`AdaptiveLimiter`.
It admits at most ``limit`` requests at once; a 429 halves the limit (never below
one), and each run of ``grow_after`` successes raises it by one again, up to the
configured maximum (additive increase, multiplicative decrease).
"""

from __future__ import annotations

import asyncio
from types import TracebackType

__all__ = ["AdaptiveLimiter"]


class AdaptiveLimiter:
    def __init__(self, maximum: int = 8, *, grow_after: int = 20) -> None:
        if maximum < 1:
            raise ValueError("the concurrency limit must be at least 1")
        self.maximum = maximum
        self.limit = maximum
        self.grow_after = grow_after
        self.in_flight = 0
        self.throttled = 0  # how many times a 429 made us slow down
        self._successes = 0
        self._cond: asyncio.Condition | None = None

    def _condition(self) -> asyncio.Condition:
        if self._cond is None:
            self._cond = asyncio.Condition()
        return self._cond

    async def __aenter__(self) -> AdaptiveLimiter:
        cond = self._condition()
        async with cond:
            await cond.wait_for(lambda: self.in_flight < self.limit)
            self.in_flight += 1
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        cond = self._condition()
        async with cond:
            self.in_flight -= 1
            if exc is None:
                self._successes += 1
                if self._successes >= self.grow_after and self.limit < self.maximum:
                    self.limit += 1
                    self._successes = 0
            cond.notify_all()

    def slow_down(self) -> None:
        """Called on every 429: halve the limit (the waiting requests stay queued)."""
        self.limit = max(1, self.limit // 2)
        self._successes = 0
        self.throttled += 1
