"""One extraction run: connect, pick the dialect, plan windows from state, extract, snapshot.

This is plain async code that tests call directly; the Prefect flow wraps its steps
as tasks. Each finished slice is committed in one DuckDB transaction together with
the stream's new watermark (and whatever ``on_slice`` loads from it), so the
watermark never runs ahead of the data it covers.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta

import duckdb
import httpx

from extract.auth import ClientCredentials
from extract.client import ApiResponse, CardepassClient, make_client
from extract.engine import SliceResult, StreamOutcome, extract_streams
from extract.limiter import AdaptiveLimiter
from extract.snapshots import OrderRef, SnapshotResult, take_snapshots
from extract.state import Store
from extract.streams import DIALECTS, STREAM_NAMES, DialectName, StreamName, detect_dialect

__all__ = ["ExtractSettings", "ExtractionReport", "plan_windows", "run_extraction"]

log = logging.getLogger(__name__)

DEFAULT_BACKFILL_DAYS = 90


@dataclass(frozen=True)
class ExtractSettings:
    base_url: str
    credentials: ClientCredentials
    dialect: DialectName | None = None  # None: detect from the first reply
    start: date | None = None  # --from: the backfill start of a first run
    end: date | None = None  # --to (inclusive); default today (UTC)
    full_refresh: bool = False
    lookback_days: int = 7
    slice_days: int = 1
    concurrency: int = 8
    page_size: int = 100
    timeout: float = 30.0
    streams: tuple[StreamName, ...] = STREAM_NAMES
    retry_attempts: int = 6
    backoff_base: float = 0.5


@dataclass
class ExtractionReport:
    run_id: str
    dialect: DialectName
    windows: dict[StreamName, tuple[date, date]]
    streams: dict[StreamName, StreamOutcome]
    snapshots: SnapshotResult
    requests: int
    throttled: int
    skipped: dict[StreamName, str] = field(default_factory=dict)

    @property
    def failed(self) -> list[str]:
        errors = [f"{s}: {o.error}" for s, o in self.streams.items() if o.error]
        return errors + [f"snapshot {e}" for e in self.snapshots.errors]


OnSlice = Callable[[duckdb.DuckDBPyConnection, SliceResult, str], None]


def today_utc() -> date:
    return datetime.now(UTC).date()


def plan_windows(
    store: Store, settings: ExtractSettings, today: date
) -> tuple[dict[StreamName, tuple[date, date]], dict[StreamName, str]]:
    """Each stream's window: from its watermark minus the lookback, else the backfill start."""
    end = settings.end or today
    default_start = settings.start or (end - timedelta(days=DEFAULT_BACKFILL_DAYS - 1))
    windows: dict[StreamName, tuple[date, date]] = {}
    skipped: dict[StreamName, str] = {}
    for stream in settings.streams:
        mark = None if settings.full_refresh else store.watermark(stream)
        start = default_start if mark is None else mark - timedelta(days=settings.lookback_days)
        if start > end:
            skipped[stream] = f"nothing to fetch: resumes at {start}, after --to {end}"
            continue
        windows[stream] = (start, end)
    return windows, skipped


async def run_extraction(
    settings: ExtractSettings,
    store: Store,
    run_id: str,
    *,
    on_slice: OnSlice | None = None,
    progress: Callable[[StreamName, int, int], None] | None = None,
    transport: httpx.AsyncBaseTransport | None = None,
    today: date | None = None,
) -> ExtractionReport:
    """Extract every stream and snapshot into ``store``; never raises for one bad stream."""
    limiter = AdaptiveLimiter(settings.concurrency)
    http = make_client(
        settings.base_url,
        settings.credentials,
        timeout=settings.timeout,
        max_connections=max(settings.concurrency, 1) * 2,
        # v1.4 asks for scope=openapi; an auto-detected run asks for none (both accept that)
        scope=DIALECTS[settings.dialect].token_scope if settings.dialect else None,
        transport=transport,
    )
    client = CardepassClient(
        http,
        retry_attempts=settings.retry_attempts,
        backoff_base=settings.backoff_base,
        on_rate_limited=lambda _exc: limiter.slow_down(),
    )
    async with client:
        accounts: ApiResponse | None = None
        dialect_name = settings.dialect
        if dialect_name is None:
            async with limiter:
                accounts = await client.get_json("/v1/accounts")
            dialect_name = detect_dialect(accounts.body)
            log.info("the service speaks dialect %s", dialect_name)
        dialect = DIALECTS[dialect_name]
        if settings.full_refresh:
            with store.transaction():
                store.reset_watermarks()
        windows, skipped = plan_windows(store, settings, today or today_utc())

        def sink(result: SliceResult) -> None:
            with store.transaction() as con:
                store.land_pages(run_id, result.pages)
                if on_slice is not None:
                    on_slice(con, result, run_id)
                if result.watermark is not None:
                    store.set_watermark(
                        result.slice.stream, result.watermark, run_id, datetime.now(UTC)
                    )

        outcomes = await extract_streams(
            client,
            dialect,
            windows,
            sink,
            limiter=limiter,
            slice_days=settings.slice_days,
            page_size=settings.page_size,
            progress=progress,
        )
        card_ids: set[str] = set()
        orders: dict[str, OrderRef] = {}
        for outcome in outcomes.values():
            card_ids |= outcome.card_ids
            orders.update(outcome.order_refs)
        snaps = await take_snapshots(
            client,
            dialect,
            card_ids,
            orders,
            limiter=limiter,
            completed_orders=store.completed_orders(),
            accounts=accounts,
        )
        if accounts is not None:
            snaps.requests += accounts.attempts
        with store.transaction():
            store.land_pages(run_id, snaps.pages)
    requests = sum(o.requests for o in outcomes.values()) + snaps.requests
    return ExtractionReport(
        run_id, dialect_name, windows, outcomes, snaps, requests, limiter.throttled, skipped
    )
