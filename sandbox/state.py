"""What one sandbox app keeps between requests, and one request as a handler sees it.

Everything the app keeps lives on ``app.state.sandbox`` (a ``Sandbox``): the world,
the dialect, the shapes, the clock settings, the issued tokens, the request log and
the fault decisions. Handlers run on the event loop without awaiting in between, so
the world is never read and written at the same time.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Any

from starlette.datastructures import QueryParams
from starlette.requests import Request

from sandbox import live
from sandbox.faults import FaultInjector
from sandbox.model import Order
from sandbox.world import World

BASE = "/openapi"  # the API's base path, as the real service's
FAULT_KEY = "sandbox.fault"  # scope key: the fault this request fired (for the log)
CLOCK_KEY = "sandbox.as_of"  # scope key: the clock the reply was composed at (Date header)


@dataclass
class Sandbox:
    """Everything one app keeps between requests (``app.state.sandbox``)."""

    world: World
    dialect: str
    client_id: str
    client_secret: str
    token_ttl: float
    manifest: dict[str, Any] | None = None
    faults: FaultInjector | None = None
    shapes: str = live.DOCUMENTED
    live_clock: bool = False  # the world's clock follows wall time (plus the skew)
    clock_skew_ms: int = 0  # the service's clock minus ours (negative: it runs behind)
    tokens: dict[str, float] = field(default_factory=dict)  # token -> expiry (sandbox.auth)
    requests: list[dict[str, Any]] = field(default_factory=list)

    def tick(self) -> int:
        """Under ``live_clock``, move the world's clock to now + skew (never backwards)."""
        world = self.world
        if self.live_clock:
            now = time.time_ns() // 1_000_000 + self.clock_skew_ms
            if now > world.as_of:
                world.set_clock(now)
        return world.as_of


@dataclass
class Call:
    """One API request as a handler sees it."""

    sandbox: Sandbox
    request: Request
    params: QueryParams
    body: bytes = b""
    fault: str | None = None  # the fault drawn for this call (handlers apply repeat_*)
    fired: str | None = None  # set by a handler that applied ``fault``
    order: Order | None = None  # set by a handler that answers one order (live shapes)

    @property
    def world(self) -> World:
        return self.sandbox.world

    @property
    def dialect(self) -> str:
        return self.sandbox.dialect

    def get(self, name: str) -> str | None:
        """A query parameter, None when absent or blank.

        In live shapes the name matches in any case (``PageIndex`` = ``pageIndex``), as
        the older deployments took PascalCase names; an exact match wins.
        """
        value = self.params.get(name)
        if value is None and self.sandbox.shapes == live.LIVE:
            lower = name.lower()
            value = next((v for k, v in self.params.multi_items() if k.lower() == lower), None)
        if value is None or not value.strip():
            return None
        return value.strip()
