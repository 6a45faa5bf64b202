"""The sandbox's HTTP layer: a cardepass-compatible API over a generated ``World``.

``create_app(world, dialect=...)`` serves both dialects of API.md under ``/openapi``
(one dialect per app), with OAuth client-credentials tokens (``sandbox.auth``), the
service's limits (page size <= 100, date windows <= 3 months: ``sandbox.params``),
keyset cursors for transactions, page numbers / offsets for the logs
(``sandbox.paging``), the four write calls, optional faults (``sandbox.faults``,
applied by ``sandbox.dispatch``) and admin endpoints under ``/_sandbox`` for tests and
demos (``sandbox.admin``). The handlers are ``sandbox.endpoints``, one module per family.

``shapes="live"`` (v1.4) rewrites every reply the way the live service's own examples
look (``sandbox.live``). Every reply carries the service's clock (the world's
``as_of``) as its ``Date`` header; ``live_clock`` makes that clock follow wall time,
optionally skewed (``sandbox.middleware``).

Everything the app keeps lives on ``app.state.sandbox`` (a ``sandbox.state.Sandbox``).
"""

from __future__ import annotations

import math
from typing import Any

from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.middleware import Middleware
from starlette.routing import Route

from sandbox import admin, live, render
from sandbox.auth import token_endpoint
from sandbox.dispatch import api
from sandbox.endpoints.logs import account_logs, card_account_logs
from sandbox.endpoints.orders import order_query, write
from sandbox.endpoints.reference import accounts, card, ping, products
from sandbox.endpoints.transactions import transactions
from sandbox.faults import FaultInjector, FaultSpec
from sandbox.middleware import RequestLog, ServiceClock
from sandbox.model import SHARE_BALANCE, STANDARD
from sandbox.params import add_months
from sandbox.render import V14, V20
from sandbox.replies import ApiError, http_error
from sandbox.state import BASE, Sandbox
from sandbox.world import World


def create_app(
    world: World,
    *,
    dialect: str = V20,
    client_id: str = "sandbox",
    client_secret: str = "sandbox-secret",  # noqa: S107 - the sandbox's documented default
    token_ttl: float = 3600,
    faults: FaultSpec | None = None,
    manifest: dict[str, Any] | None = None,
    shapes: str = live.DOCUMENTED,
    clock_skew_seconds: float = 0.0,
    live_clock: bool = False,
) -> Starlette:
    """A Starlette app serving ``world`` in ``dialect`` under ``/openapi``.

    ``shapes="live"`` (v1.4 only) rewrites every reply the way the live service's own
    examples look (``sandbox.live``); ``"documented"`` (the default; ``"spec"`` is the
    same) serves the documented shapes. ``live_clock=True`` makes the world's clock follow
    wall time: on every request ``as_of`` = now (UTC) + ``clock_skew_seconds``, never
    going backwards (so with a world that ends in the future it waits for wall time).
    Every reply carries the clock as its ``Date`` header.
    """
    if dialect not in render.DIALECTS:
        raise ValueError(f"unknown dialect {dialect!r}; use one of {', '.join(render.DIALECTS)}")
    shapes = live.shapes_named(shapes)
    if shapes == live.LIVE and dialect != V14:
        raise ValueError(
            f"shapes='live' is the live service's v1.4 replies; it needs dialect='{V14}', "
            f"not {dialect!r}"
        )
    if token_ttl <= 0:
        raise ValueError("token_ttl must be positive seconds")
    if not math.isfinite(clock_skew_seconds):
        raise ValueError("clock_skew_seconds must be a finite number of seconds")
    if clock_skew_seconds and not live_clock:
        raise ValueError(
            "clock_skew_seconds needs live_clock=True: a fixed clock has no skew against wall time"
        )
    sandbox = Sandbox(
        world=world,
        dialect=dialect,
        client_id=client_id,
        client_secret=client_secret,
        token_ttl=float(token_ttl),
        manifest=manifest,
        faults=None if faults is None else FaultInjector(faults),
        shapes=shapes,
        live_clock=live_clock,
        clock_skew_ms=round(clock_skew_seconds * 1000),
    )
    sandbox.tick()
    v1 = f"{BASE}/v1"
    post = ["POST"]
    routes = [
        Route(f"{BASE}/connect/token", token_endpoint, methods=post),
        Route(f"{v1}/ping", api(ping, live.PING, faults=False)),
        Route(f"{v1}/products", api(products, live.PRODUCTS)),
        Route(f"{v1}/cards/{{cardId}}", api(card, live.CARD)),
        Route(f"{v1}/accounts", api(accounts, live.ACCOUNTS)),
        Route(f"{v1}/accounts/cardAccountLogs", api(card_account_logs, live.CARD_LOGS)),
        Route(f"{v1}/accounts/accountLogs", api(account_logs, live.ACCOUNT_LOGS)),
        Route(f"{v1}/transactions", api(transactions, live.TRANSACTIONS)),
        Route(f"{v1}/orders/standard", api(order_query(STANDARD), live.ORDER)),
        Route(f"{v1}/orders/sharebalance", api(order_query(SHARE_BALANCE), live.ORDER)),
        Route(
            f"{v1}/orders/sharebalance/apply",
            api(write(World.apply_share_balance), live.ORDER),
            methods=post,
        ),
        Route(
            f"{v1}/orders/sharebalance/creditLimit",
            api(write(World.credit_limit), live.ORDER),
            methods=post,
        ),
        Route(
            f"{v1}/orders/standard/apply",
            api(write(World.apply_standard), live.APPLY),
            methods=post,
        ),
        Route(
            f"{v1}/orders/standard/topup",
            api(write(World.top_up_standard), live.ORDER),
            methods=post,
        ),
        Route("/_sandbox/requests", admin.requests, methods=["GET", "DELETE"]),
        Route("/_sandbox/revoke-tokens", admin.revoke, methods=post),
        Route("/_sandbox/clock", admin.clock, methods=post),
        Route("/_sandbox/manifest", admin.manifest),
        Route("/_sandbox/info", admin.info),
    ]
    app = Starlette(
        routes=routes,
        middleware=[
            Middleware(ServiceClock, sandbox=sandbox),
            Middleware(RequestLog, sandbox=sandbox),
        ],
        exception_handlers={HTTPException: http_error},
    )
    app.state.sandbox = sandbox
    return app


__all__ = ["BASE", "ApiError", "Sandbox", "add_months", "create_app"]
