"""The one extraction loop: streams by date slice, concurrently, then snapshots.

``extract_streams`` cuts each stream's window into day slices (never over three
months), walks every slice's pages under the run's one :class:`AdaptiveLimiter`, and
hands each finished slice to a *sink* — the caller's code that lands the pages (and,
later, the canonical rows) and moves the watermark in one DuckDB transaction. The
watermark only ever covers the contiguous run of finished slices from the window's
start, so a failed or unfinished slice is re-read next time, never skipped.

A slice whose walk contradicts itself (a repeating cursor, a page beyond
``totalPages``, an id seen twice) is walked again from its first page, up to
``max_rewalks`` times, then fails loudly. Dialect differences live in
:mod:`extract.streams`; this module has none.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from datetime import date, timedelta
from typing import Any

import orjson

from extract.client import ApiResponse, CardepassClient
from extract.errors import CardepassError, PaginationError
from extract.limiter import AdaptiveLimiter
from extract.pagination import MAX_PAGE_SIZE, Params, walk
from extract.records import OrderRef, RawPage
from extract.streams import ORDER_LINKS, ApiDialect, Endpoint, StreamName

__all__ = [
    "MAX_SLICE_DAYS",
    "Slice",
    "SliceResult",
    "StreamOutcome",
    "collect_orders",
    "extract_streams",
    "plan_slices",
]

log = logging.getLogger(__name__)
MAX_SLICE_DAYS = 90  # the service refuses windows over three months


@dataclass(frozen=True, slots=True)
class Slice:
    stream: StreamName
    first: date
    last: date  # inclusive


@dataclass(slots=True)
class SliceResult:
    slice: Slice
    pages: list[RawPage]
    page_items: list[list[dict[str, Any]]]  # the items of each page, parallel to ``pages``
    rewalks: int
    requests: int  # HTTP requests this slice took, retries and re-walks included
    watermark: date | None = None  # set by the loop: how far the stream is now complete

    @property
    def items(self) -> list[Any]:
        return [item for page in self.page_items for item in page]


@dataclass(slots=True)
class StreamOutcome:
    stream: StreamName
    slices: int = 0
    slices_done: int = 0
    pages: int = 0
    items: int = 0
    requests: int = 0
    rewalks: int = 0
    watermark: date | None = None
    error: str | None = None
    card_ids: set[str] = field(default_factory=set)
    order_refs: dict[str, OrderRef] = field(default_factory=dict)


Sink = Callable[[SliceResult], Awaitable[None] | None]
Progress = Callable[[StreamName, int, int], None]  # stream, pages, items (deltas)


def plan_slices(stream: StreamName, first: date, last: date, days: int = 1) -> list[Slice]:
    """Cut ``first..last`` (inclusive) into slices of ``days`` days (1..90)."""
    if not 1 <= days <= MAX_SLICE_DAYS:
        raise ValueError(f"slice length must be 1..{MAX_SLICE_DAYS} days, not {days}")
    if last < first:
        raise ValueError(f"the window ends ({last}) before it starts ({first})")
    out = []
    cur = first
    while cur <= last:
        end = min(last, cur + timedelta(days=days - 1))
        out.append(Slice(stream, cur, end))
        cur = end + timedelta(days=1)
    return out


class _Walker:
    """Fetches one slice's pages through the client and the limiter."""

    def __init__(
        self,
        client: CardepassClient,
        limiter: AdaptiveLimiter,
        page_size: int,
        max_rewalks: int,
        progress: Progress | None,
    ) -> None:
        self.client = client
        self.limiter = limiter
        self.page_size = page_size
        self.max_rewalks = max_rewalks
        self.progress = progress

    async def get(self, path: str, params: Mapping[str, Any] | None = None) -> ApiResponse:
        async with self.limiter:
            return await self.client.get_json(path, params)

    async def slice(self, endpoint: Endpoint, sl: Slice) -> SliceResult:
        requests = [0]
        for attempt in range(self.max_rewalks + 1):
            try:
                return await self._walk_once(endpoint, sl, attempt, requests)
            except PaginationError as exc:
                if attempt == self.max_rewalks:
                    raise
                log.warning(
                    "%s %s..%s: %s; walking the slice again", sl.stream, sl.first, sl.last, exc
                )
        raise AssertionError("unreachable")  # pragma: no cover

    async def _walk_once(
        self, endpoint: Endpoint, sl: Slice, attempt: int, requests: list[int]
    ) -> SliceResult:
        replies: list[ApiResponse] = []

        async def fetch(params: Params) -> tuple[Mapping[str, Any], list[dict[str, Any]]]:
            resp = await self.get(endpoint.path, params)
            requests[0] += resp.attempts
            replies.append(resp)
            body = resp.body if isinstance(resp.body, dict) else {}
            return body, endpoint.items(resp.body)

        pages: list[RawPage] = []
        page_items: list[list[dict[str, Any]]] = []
        params = endpoint.window_params(sl.first, sl.last)
        async for wp in walk(
            fetch, params, endpoint.paginator(self.page_size), item_key=endpoint.item_id
        ):
            resp = replies[-1]
            pages.append(
                RawPage(
                    stream=sl.stream,
                    slice_from=sl.first,
                    slice_to=sl.last,
                    page_no=wp.number,
                    request_path=endpoint.path,
                    request_params=orjson.dumps(resp.params).decode(),
                    response_id=resp.response_id,
                    fetched_at=resp.fetched_at,
                    service_at=resp.service_at,
                    item_count=len(wp.items),
                    payload=resp.content.decode("utf-8"),
                )
            )
            page_items.append(list(wp.items))
            if self.progress is not None:
                self.progress(sl.stream, 1, len(wp.items))
        return SliceResult(sl, pages, page_items, rewalks=attempt, requests=requests[0])


async def extract_streams(
    client: CardepassClient,
    dialect: ApiDialect,
    windows: Mapping[StreamName, tuple[date, date]],
    sink: Sink,
    *,
    limiter: AdaptiveLimiter | None = None,
    slice_days: int = 1,
    page_size: int = MAX_PAGE_SIZE,
    max_rewalks: int = 2,
    progress: Progress | None = None,
    max_open_slices: int | None = None,
) -> dict[StreamName, StreamOutcome]:
    """Extract every stream's window slice by slice; return what happened per stream.

    Slices of all streams run concurrently under ``limiter``, at most
    ``max_open_slices`` (default: the limiter's maximum) open at a time; the sink is called for
    one finished slice at a time (never concurrently), with ``result.watermark`` set
    to the end of the stream's contiguous finished prefix (or None while the first
    slice is unfinished). A stream whose slice fails stops with ``error`` set; the
    other streams go on.
    """
    limiter = limiter or AdaptiveLimiter()
    walker = _Walker(client, limiter, page_size, max_rewalks, progress)
    sink_lock = asyncio.Lock()
    # At most this many slices are open (being walked, or walked and waiting for the
    # sink) at once, over all streams: memory stays flat however long the window is, and
    # fetching pauses while the sink is behind. (Without it every slice of the window
    # started at once and held its pages until its last one: B1's RSS grew with history.)
    open_slices = asyncio.Semaphore(
        max(limiter.maximum, 1) if max_open_slices is None else max_open_slices
    )
    outcomes: dict[StreamName, StreamOutcome] = {}

    async def run_stream(stream: StreamName, first: date, last: date) -> None:
        endpoint = dialect.endpoints[stream]
        outcome = outcomes[stream] = StreamOutcome(stream)
        slices = plan_slices(stream, first, last, slice_days)
        outcome.slices = len(slices)
        done = [False] * len(slices)
        prefix = 0  # slices[:prefix] are all done

        async def one(i: int, sl: Slice) -> None:
            async with open_slices:
                await walk_and_sink(i, sl)

        async def walk_and_sink(i: int, sl: Slice) -> None:
            nonlocal prefix
            result = await walker.slice(endpoint, sl)
            async with sink_lock:
                done[i] = True
                while prefix < len(slices) and done[prefix]:
                    prefix += 1
                result.watermark = slices[prefix - 1].last if prefix else None
                outcome.requests += result.requests
                outcome.pages += len(result.pages)
                outcome.items += len(result.items)
                outcome.rewalks += result.rewalks
                outcome.slices_done += 1
                for item in result.items:
                    card = endpoint.card_id(item)
                    if card:
                        outcome.card_ids.add(card)
                    collect_orders(stream, item, card, outcome.order_refs)
                maybe = sink(result)
                if maybe is not None:
                    await maybe
                if result.watermark is not None:
                    outcome.watermark = result.watermark

        tasks = [asyncio.create_task(one(i, sl)) for i, sl in enumerate(slices)]
        try:
            await asyncio.gather(*tasks)
        except Exception as exc:  # the API failed, or the sink refused the data
            for t in tasks:
                t.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)
            outcome.error = str(exc)
            if isinstance(exc, CardepassError | ValueError):
                log.error("stream %s stopped: %s", stream, exc)
            else:
                log.exception("stream %s stopped", stream)

    await asyncio.gather(*(run_stream(s, a, b) for s, (a, b) in windows.items()))
    return outcomes


def collect_orders(
    stream: StreamName, item: Any, card: str | None, refs: dict[str, OrderRef]
) -> None:
    """Add the order an item of ``stream`` names (:data:`~extract.streams.ORDER_LINKS`),
    with the type to ask it by, to ``refs`` by its number; a later item naming it wins."""
    link = ORDER_LINKS.get(stream)
    ref = None if link is None else link.ref(item, card)
    if ref is not None:
        refs[ref.order_no] = ref
