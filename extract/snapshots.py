"""Snapshots taken at run time: cards, the account, and the orders logs refer to.

There is no endpoint that lists cards or orders: cards come from the ``cardId``s seen
in the streams, orders from the ``orderNo``/``cardOrderNo`` of funding logs. A
Completed (or Failed) order never changes, so it is fetched once and never again.

A fixed pool of workers (as many as the run's concurrency) takes the requests from one
queue, each through the run's limiter: however many cards and orders there are, only
that many wait on the limiter at once. A card's orders join the queue as soon as the
card's snapshot says its model (so each needs one request, to the right endpoint), and
go ahead of the cards still waiting; orders of a card not snapshotted this run try
both endpoints.

The v1.4 card endpoint returns the full card number and CVV, and the v1.4 reference's
order replies carry them too (``cardInfos[].cardNumber``/``cvv``, ``cardInfo.cardNo``).
They are removed here, from card and order replies alike, before the reply is kept
anywhere (:func:`scrub_card_payload`): ``raw.pages`` holds the reply without them, and
nothing downstream ever sees them.
"""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from decimal import Decimal
from itertools import count
from typing import Any, Protocol
from urllib.parse import quote

import orjson

from extract.client import ApiResponse, CardepassClient
from extract.errors import CardepassError, NotFound
from extract.limiter import AdaptiveLimiter
from extract.records import OrderRef, RawPage
from extract.streams import (
    ACCOUNTS,
    ACCOUNTS_PATH,
    CARD_PATH,
    CARDS,
    ORDER_PATHS,
    ORDERS,
    ApiDialect,
    CardModel,
)

__all__ = [
    "OrderRef",
    "SnapshotProgress",
    "SnapshotResult",
    "scrub_card_payload",
    "take_snapshots",
]

log = logging.getLogger(__name__)
SENSITIVE_CARD_FIELDS = frozenset(
    {"cardNumber", "cardNo", "cvv", "cvv2", "cvc", "pan", "expirationMMYY", "expiryDate"}
)


class SnapshotProgress(Protocol):
    """A progress callback: ``progress(name, done, items)`` adds to ``name``'s counts.

    The streams call it per page (``done`` pages, ``items`` items); the snapshots per
    card or order finished (``name`` ``"cards"`` or ``"orders"``, ``done`` 1, ``items``
    1 if a snapshot was kept, else 0), after announcing each count up front with
    ``progress(name, 0, 0, total=n)``.
    """

    def __call__(self, name: str, done: int, items: int, /, *, total: int | None = None) -> None:
        """Add ``done`` and ``items`` to ``name``; ``total`` says how many there will be."""


@dataclass(slots=True)
class SnapshotResult:
    pages: list[RawPage] = field(default_factory=list)
    cards: dict[str, dict[str, Any]] = field(default_factory=dict)
    card_models: dict[str, str] = field(default_factory=dict)
    accounts: Any = None
    orders: dict[str, dict[str, Any]] = field(default_factory=dict)
    requests: int = 0
    missing: list[str] = field(default_factory=list)  # what the service said does not exist
    errors: list[str] = field(default_factory=list)  # what failed (the run is incomplete)


def _decimal_fragment(value: Any) -> Any:
    if isinstance(value, Decimal):
        return orjson.Fragment(str(value))
    raise TypeError(f"cannot serialise {type(value).__name__}")


def scrub_card_payload(content: bytes) -> tuple[str, Any]:
    """The card reply without card number and CVV, as JSON text and as parsed data.

    Numbers are read as ``Decimal`` and written back from their text, so no amount
    ever passes through a float.
    """
    body = json.loads(content, parse_float=Decimal)

    def scrub(node: Any) -> Any:
        if isinstance(node, dict):
            return {k: scrub(v) for k, v in node.items() if k not in SENSITIVE_CARD_FIELDS}
        if isinstance(node, list):
            return [scrub(v) for v in node]
        return node

    clean = scrub(body)
    return orjson.dumps(clean, default=_decimal_fragment).decode(), clean


def _page(stream: str, resp: ApiResponse, payload: str | None = None) -> RawPage:
    return RawPage(
        stream=stream,
        slice_from=None,
        slice_to=None,
        page_no=1,
        request_path=resp.path,
        request_params=orjson.dumps(resp.params).decode(),
        response_id=resp.response_id,
        fetched_at=resp.fetched_at,
        service_at=resp.service_at,
        item_count=1,
        # every snapshot reply is kept without card numbers and CVVs, whatever it is
        payload=payload if payload is not None else scrub_card_payload(resp.content)[0],
    )


class _Fetcher:
    """The snapshot requests, each through the run's limiter; what they return goes to ``out``."""

    def __init__(
        self, client: CardepassClient, limiter: AdaptiveLimiter, out: SnapshotResult
    ) -> None:
        self.client = client
        self.limiter = limiter
        self.out = out

    async def get(self, path: str, params: Mapping[str, str] | None = None) -> ApiResponse:
        async with self.limiter:
            resp = await self.client.get_json(path, params)
        self.out.requests += resp.attempts
        return resp

    async def card(self, card_id: str) -> bool:
        """Snapshot one card (its model then decides its orders' endpoint); True if kept."""
        out = self.out
        try:
            resp = await self.get(CARD_PATH.format(card_id=quote(card_id, safe="")))
        except NotFound as exc:
            out.missing.append(f"card {card_id}: {exc}")
            return False
        except CardepassError as exc:
            out.errors.append(f"card {card_id}: {exc}")
            return False
        payload, clean = scrub_card_payload(resp.content)
        out.pages.append(_page(CARDS, resp, payload))
        data = clean.get("data") if isinstance(clean, dict) else None
        if isinstance(data, dict):
            out.cards[card_id] = data
            out.card_models[card_id] = str(data.get("cardModel"))
        return True

    async def order(self, ref: OrderRef) -> bool:
        """Snapshot one order: one request if its card's model is known, else up to two."""
        out = self.out
        known = out.card_models.get(ref.card_id or "")
        models: tuple[CardModel, ...] = tuple(ORDER_PATHS)  # Standard first
        if known in models:
            models = (known,)
        for model in models:
            try:
                resp = await self.get(
                    ORDER_PATHS[model], {"OrderType": ref.order_type, "OrderNo": ref.order_no}
                )
            except NotFound:
                continue
            except CardepassError as exc:
                out.errors.append(f"order {ref.order_no}: {exc}")
                return False
            payload, clean = scrub_card_payload(resp.content)
            out.pages.append(_page(ORDERS, resp, payload))
            data = clean.get("data") if isinstance(clean, dict) else None
            if isinstance(data, dict):
                out.orders[ref.order_no] = data
            return True
        kinds = " or ".join(m.lower() for m in models)
        out.missing.append(f"order {ref.order_no}: not found as {kinds} order")
        return False


Job = tuple[int, int, str | OrderRef]  # (priority: orders 0, cards 1; sequence; what)


async def _work(
    jobs: asyncio.PriorityQueue[Job], workers: int, do: Callable[[Job], Awaitable[None]]
) -> None:
    """Run ``workers`` workers over ``jobs`` until every job (and each one added) is done."""

    async def worker() -> None:
        while True:
            job = await jobs.get()
            try:
                await do(job)
            finally:
                jobs.task_done()

    running = [asyncio.create_task(worker()) for _ in range(max(workers, 1))]
    finished = asyncio.ensure_future(jobs.join())
    try:
        # a worker only ever stops by raising: then that error is the step's
        stopped, _ = await asyncio.wait([finished, *running], return_when=asyncio.FIRST_COMPLETED)
        for task in stopped:
            task.result()
    finally:
        for task in (finished, *running):
            task.cancel()
        await asyncio.gather(finished, *running, return_exceptions=True)


async def take_snapshots(
    client: CardepassClient,
    dialect: ApiDialect,
    card_ids: set[str],
    orders: Mapping[str, OrderRef],
    *,
    limiter: AdaptiveLimiter,
    final_orders: set[str],
    accounts: ApiResponse | None = None,
    progress: SnapshotProgress | None = None,
) -> SnapshotResult:
    """Fetch every card, the account (unless already fetched) and the open orders.

    ``dialect`` is the run's, as for :func:`~extract.engine.extract_streams`; both dialects
    answer at the same snapshot endpoints (:mod:`extract.streams`).
    """
    out = SnapshotResult()
    fetch = _Fetcher(client, limiter, out)
    cards = sorted(card_ids)
    todo = [ref for no, ref in sorted(orders.items()) if no not in final_orders]
    report = progress or _no_progress
    report("cards", 0, 0, total=len(cards))
    report("orders", 0, 0, total=len(todo))
    if accounts is None:
        try:
            accounts = await fetch.get(ACCOUNTS_PATH)
        except CardepassError as exc:
            out.errors.append(f"accounts: {exc}")
    if accounts is not None:
        out.pages.append(_page(ACCOUNTS, accounts))
        out.accounts = accounts.data

    jobs: asyncio.PriorityQueue[Job] = asyncio.PriorityQueue()
    seq = count()
    wanted = set(cards)
    orders_of: dict[str, list[OrderRef]] = {}
    for ref in todo:
        if ref.card_id in wanted:  # asked for once its card's snapshot says the model
            orders_of.setdefault(ref.card_id, []).append(ref)
        else:
            jobs.put_nowait((0, next(seq), ref))
    for card_id in cards:
        jobs.put_nowait((1, next(seq), card_id))

    async def do(job: Job) -> None:
        what = job[2]
        if isinstance(what, OrderRef):
            report("orders", 1, int(await fetch.order(what)))
            return
        report("cards", 1, int(await fetch.card(what)))
        for ref in orders_of.pop(what, ()):
            jobs.put_nowait((0, next(seq), ref))

    await _work(jobs, limiter.maximum, do)
    if out.missing:
        log.warning("%d snapshot(s) not found, e.g. %s", len(out.missing), out.missing[0])
    return out


def _no_progress(name: str, done: int, items: int, /, *, total: int | None = None) -> None:
    """The progress callback of a run that shows none."""
