"""The snapshot step: progress for every card and order, concurrent, one request per order.

Issue 12 (item 11): at `--size large` the order snapshots took 10 min 38 s with the
progress bars frozen. Every card and order was one coroutine waiting on the run's
limiter at once (thousands of them), so each finished request woke every waiter: the
step grew with the square of its size. These tests pin the shape that fixed it.
"""

from __future__ import annotations

import asyncio
from collections.abc import Collection
from datetime import UTC, datetime
from typing import Any

import duckdb
import httpx
import pytest

from extract.auth import ClientCredentials
from extract.records import OrderRef
from extract.session import ExtractSettings, Session
from extract.snapshots import SnapshotResult
from sandbox.app import create_app
from sandbox.world import World
from transform.state import Store

END = datetime(2026, 11, 1, 12, 0, tzinfo=UTC)


class InFlight(httpx.AsyncBaseTransport):
    """The sandbox app over ASGI with a little network latency, counting what is in flight."""

    def __init__(self, app: Any, latency: float = 0.002) -> None:
        self.inner = httpx.ASGITransport(app=app)
        self.latency = latency
        self.now = 0
        self.most = 0  # requests in flight at once, at most
        self.most_tasks = 0  # asyncio tasks alive at once, at most

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        self.now += 1
        self.most = max(self.most, self.now)
        self.most_tasks = max(self.most_tasks, len(asyncio.all_tasks()))
        try:
            await asyncio.sleep(self.latency)
            return await self.inner.handle_async_request(request)
        finally:
            self.now -= 1


def refs(world: World, *, without_card: Collection[str] = ()) -> dict[str, OrderRef]:
    """Every order of the world, as the logs refer to it (with its card, unless told not)."""
    return {
        o.order_no: OrderRef(
            o.order_no,
            o.order_type,
            None if o.order_no in without_card else str(world.cards.id[o.card]),
        )
        for o in world.orders.values()
    }


def snapshot(
    world: World,
    card_ids: set[str],
    orders: dict[str, OrderRef],
    *,
    dialect: str = "v2.0",
    concurrency: int = 4,
    store: Store | None = None,
    progress: Any = None,
) -> tuple[SnapshotResult, InFlight, list[dict[str, Any]]]:
    """Session.snapshots against the sandbox; the result, the transport, the sandbox's log."""
    app = create_app(world, dialect=dialect)
    transport = InFlight(app)
    settings = ExtractSettings(
        "http://127.0.0.1/openapi",
        ClientCredentials("sandbox", "sandbox-secret"),
        dialect=dialect,  # type: ignore[arg-type]
        concurrency=concurrency,
        backoff_base=0.0,
    )

    store = store or Store(duckdb.connect())

    async def go() -> SnapshotResult:
        async with Session(settings, transport) as session:
            return await session.snapshots(
                dialect,  # type: ignore[arg-type]
                card_ids,
                orders,
                final_orders=store.final_orders(),
                progress=progress,
            )

    snaps = asyncio.run(go())
    with store.transaction():  # as the run lands them (final orders are never asked again)
        store.land_pages("r1", snaps.pages)
    return snaps, transport, list(app.state.sandbox.requests)


def test_snapshot_step_reports_its_totals_then_progress_for_every_card_and_order() -> None:
    world = World.create(seed=3, size="tiny", end=END)
    cards = {str(c) for c in world.cards.id} | {"no-such-card"}
    orders = refs(world)
    final = next(o.order_no for o in world.orders.values() if world.order_status(o) == "Completed")
    store = Store(duckdb.connect())
    first, _, _ = snapshot(world, cards, {final: orders[final]}, store=store)
    assert first.orders[final]["status"] == "Completed", "a final order, never asked for again"
    calls: list[tuple[str, int, int, int | None]] = []

    def progress(name: str, done: int, items: int, total: int | None = None) -> None:
        calls.append((name, done, items, total))

    snaps, _, _ = snapshot(world, cards, orders, store=store, progress=progress)
    open_orders = len(orders) - 1
    totals = {"cards": len(cards), "orders": open_orders}
    for name, total in totals.items():
        mine = [c for c in calls if c[0] == name]
        assert mine[0] == (name, 0, 0, total), "the total is told before any progress"
        assert all(c[3] is None for c in mine[1:]), "the total is told once"
        assert sum(c[1] for c in mine) == total, f"every {name[:-1]} reports done once"
        assert all(c[1] == 1 for c in mine[1:])
    assert sum(c[2] for c in calls if c[0] == "cards") == len(snaps.cards) == len(cards) - 1
    assert sum(c[2] for c in calls if c[0] == "orders") == len(snaps.orders) == open_orders
    assert len(snaps.missing) == 1 and snaps.missing[0].startswith("card no-such-card")
    assert {name for name, *_ in calls} == {"cards", "orders"}


def test_snapshot_requests_run_concurrently_within_the_run_limit() -> None:
    world = World.create(seed=3, size="tiny", end=END)
    cards = {str(c) for c in world.cards.id}
    concurrency = 3
    snaps, transport, log = snapshot(world, cards, refs(world), concurrency=concurrency)
    assert not snaps.errors and len(snaps.orders) == len(world.orders)
    assert 1 < transport.most <= concurrency, transport.most
    # a fixed pool of workers, not one waiter on the limiter per card and order (the
    # quadratic slowdown of issue 12): the test's task, the workers and their join
    jobs = len(cards) + len(world.orders)
    assert transport.most_tasks <= concurrency + 2 < jobs, transport.most_tasks
    # orders of a card go as soon as its snapshot is in, not after every card
    kinds = [e["path"].split("/")[2] for e in log if e["path"].startswith("/v1/")]
    assert kinds.index("orders") < len(kinds) - 1 - kinds[::-1].index("cards")


@pytest.mark.parametrize("dialect", ["v2.0", "v1.4"])
def test_an_order_of_a_card_with_a_known_model_takes_one_request(dialect: str) -> None:
    world = World.create(seed=3, size="tiny", end=END)
    cards = {str(c) for c in world.cards.id}
    orders = refs(world)
    snaps, _, log = snapshot(world, cards, orders, dialect=dialect)
    assert len(snaps.orders) == len(orders) and not snaps.missing and not snaps.errors
    asked = [e for e in log if e["path"].startswith("/v1/orders/")]
    assert len(asked) == len(orders), "one request per order"
    assert all(e["status"] == 200 for e in asked), "each to its card model's endpoint"
    card_done = {
        e["path"].rsplit("/", 1)[1]: i for i, e in enumerate(log) if "/cards/" in e["path"]
    }
    for i, e in enumerate(log):
        if e["path"].startswith("/v1/orders/"):
            card = orders[e["params"]["OrderNo"]].card_id
            assert card is not None and card_done[card] < i, "asked for after its card"


def test_an_order_without_a_known_card_tries_both_endpoints() -> None:
    world = World.create(seed=3, size="tiny", end=END)
    share = next(o.order_no for o in world.orders.values() if o.model == "ShareBalance")
    orders = refs(world, without_card={share})
    snaps, _, log = snapshot(world, set(), {share: orders[share]})
    assert share in snaps.orders
    asked = [(e["path"], e["status"]) for e in log if e["path"].startswith("/v1/orders/")]
    assert asked == [("/v1/orders/standard", 404), ("/v1/orders/sharebalance", 200)]


def test_card_numbers_in_order_replies_never_reach_raw_pages() -> None:
    """The v1.4 reference's order replies carry full card numbers and CVVs (the ShareBalance
    apply reply's ``cardInfos[]``, ``cardInfo.cardNo`` of the standard orders)."""
    order = {
        "orderNo": "O-1",
        "orderType": "ApplyCard",
        "status": "Completed",
        "cardInfos": [{"cardId": "c1", "cardNumber": "5042321234565678", "cvv": "123",
                       "expirationMMYY": "12/26"}],
        "cardInfo": {"cardId": "c1", "cardNo": "1234567890123456"},
        "transFee": 1.5,
    }  # fmt: skip
    body = {"data": order, "hasError": False, "errorMessage": "操作成功", "responseId": "r"}

    def handler(request: httpx.Request) -> httpx.Response:
        if request.url.path.endswith("/connect/token"):
            return httpx.Response(200, json={"access_token": "t", "expires_in": 3600})
        return httpx.Response(200, json=body)

    settings = ExtractSettings(
        "http://127.0.0.1/openapi",
        ClientCredentials("sandbox", "sandbox-secret"),
        dialect="v1.4",
        backoff_base=0.0,
    )

    async def go() -> SnapshotResult:
        async with Session(settings, httpx.MockTransport(handler)) as session:
            return await session.snapshots(
                "v1.4", set(), {"O-1": OrderRef("O-1", "ApplyCard", "c1")}, final_orders=set()
            )

    snaps = asyncio.run(go())
    assert len(snaps.orders) == 1
    kept = " ".join(p.payload for p in snaps.pages) + repr(snaps.orders)
    for secret in ("5042321234565678", "1234567890123456", '"123"', "12/26"):
        assert secret not in kept
    assert '"transFee":1.5' in kept  # the rest of the reply is kept exactly
