"""One extraction run: connect, pick the dialect, plan windows from state, extract, snapshot.

This is plain async code that tests call directly; the Prefect flow wraps its steps
as tasks. Each finished slice is committed in one DuckDB transaction together with
the stream's new watermark (and whatever ``on_batch`` loads from it), so the
watermark never runs ahead of the data it covers.
"""

from __future__ import annotations

import asyncio
import json
import logging
import threading
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field, replace
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from typing import Any

import duckdb
import httpx

from extract.auth import ClientCredentials, OAuth2ClientCredentials
from extract.client import ApiResponse, CardepassClient, make_client, validate_base_url
from extract.engine import SliceResult, StreamOutcome, extract_streams
from extract.errors import AuthError, CardepassError, Forbidden, NoApiError, Unauthorized
from extract.limiter import AdaptiveLimiter
from extract.records import OrderRef, RawPage
from extract.snapshots import SnapshotProgress, SnapshotResult, take_snapshots
from extract.streams import DIALECTS, STREAM_NAMES, DialectName, StreamName, detect_dialect
from transform.state import Store  # moved out of extract by the redesign (in progress)

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
    batch_items: int = 5_000  # slices are committed (loaded, watermark moved) in batches
    # DuckDB's memory limit while streams are extracted: its cache of table blocks would
    # otherwise grow with the database (up to 80% of RAM by default); B1 measured the
    # peak RSS of a 60-day extraction at 950 MiB without it, 690 MiB with 150 MB.
    duckdb_memory_limit: str | None = "256MB"


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


def exact_json(content: str | bytes) -> Any:
    """Parse a reply with every JSON number that has a fraction read as ``Decimal``.

    Amounts never pass through a float: ``12.345`` stays ``Decimal('12.345')`` (and is
    quarantined later for its third decimal), big amounts keep every digit.
    """
    return json.loads(content, parse_float=Decimal)


OnBatch = Callable[[duckdb.DuckDBPyConnection, list[SliceResult], str, DialectName], None]
OnSnapshots = Callable[[duckdb.DuckDBPyConnection, list[RawPage], str, DialectName], None]


class _Committer:
    """Buffers finished slices per stream and commits them in batches.

    One commit lands the batch's pages, loads its rows (``on_batch``) and moves the
    stream's watermark, in one DuckDB transaction.
    """

    def __init__(
        self,
        store: Store,
        run_id: str,
        dialect: DialectName,
        on_batch: OnBatch | None,
        batch_items: int,
    ) -> None:
        self.store = store
        self.run_id = run_id
        self.dialect = dialect
        self.on_batch = on_batch
        self.batch_items = batch_items
        self.buffers: dict[StreamName, list[SliceResult]] = {}
        self.inflight: set[asyncio.Future[None]] = set()
        self.lock = threading.Lock()  # one commit at a time on the connection

    def add(self, result: SliceResult) -> Awaitable[None] | None:
        """The engine's sink: buffer a slice, commit when the batch is big enough.

        The commit runs in a worker thread so that the event loop goes on fetching
        meanwhile (the engine awaits it before handing over the next slice, so commits
        never overlap and the connection is used by one thread at a time).
        """
        batch = self.buffers.setdefault(result.slice.stream, [])
        batch.append(result)
        if sum(len(r.items) for r in batch) < self.batch_items:
            return None
        future = asyncio.get_running_loop().run_in_executor(None, self.flush, result.slice.stream)
        self.inflight.add(future)
        future.add_done_callback(self.inflight.discard)
        # shielded: a stream stopped mid-commit cancels its waiter, never the commit
        return asyncio.shield(future)

    async def drain(self) -> None:
        """Wait for commits still running (their waiters may have been cancelled)."""
        if self.inflight:
            done, _ = await asyncio.wait(set(self.inflight))
            for future in done:
                if not future.cancelled() and future.exception() is not None:
                    log.error("a commit failed after its stream stopped: %s", future.exception())

    def flush(self, stream: StreamName) -> None:
        with self.lock:
            self._flush(stream)

    def _flush(self, stream: StreamName) -> None:
        batch = self.buffers.pop(stream, [])
        if not batch:
            return
        marks = [r.watermark for r in batch if r.watermark is not None]
        pages = [p for r in batch for p in r.pages]
        try:
            with self.store.transaction() as con:
                self.store.land_pages(self.run_id, pages)
                if self.on_batch is not None:
                    self.on_batch(con, batch, self.run_id, self.dialect)
                if marks:
                    self.store.set_watermark(stream, max(marks), self.run_id, datetime.now(UTC))
        except Exception:
            # keep the replies for the audit trail; the watermark stays where it was
            with self.store.transaction():
                self.store.land_pages(self.run_id, pages)
            raise

    def flush_all(self) -> dict[StreamName, str]:
        """Commit what is left; returns the error of each stream whose batch was refused."""
        errors: dict[StreamName, str] = {}
        for stream in list(self.buffers):
            try:
                self.flush(stream)
            except Exception as exc:  # e.g. a schema failure: that stream stops, loudly
                errors[stream] = str(exc)
                log.error("stream %s stopped: %s", stream, exc)
        return errors


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


class Session:
    """One client and one concurrency limit: what the steps of a run share."""

    def __init__(
        self,
        settings: ExtractSettings,
        transport: httpx.AsyncBaseTransport | None = None,
        auth: OAuth2ClientCredentials | None = None,
    ) -> None:
        self.settings = settings
        self.limiter = AdaptiveLimiter(settings.concurrency)
        http = make_client(
            settings.base_url,
            settings.credentials,
            timeout=settings.timeout,
            max_connections=max(settings.concurrency, 1) * 2,
            # v1.4 asks for scope=openapi; an auto-detected run asks for none (both accept it)
            scope=DIALECTS[settings.dialect].token_scope if settings.dialect else None,
            transport=transport,
            auth=auth,
        )
        self.client = CardepassClient(
            http,
            json_loads=exact_json,
            retry_attempts=settings.retry_attempts,
            backoff_base=settings.backoff_base,
            on_rate_limited=lambda _exc: self.limiter.slow_down(),
        )

    async def __aenter__(self) -> Session:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.client.aclose()

    async def detect(self) -> tuple[DialectName, ApiResponse | None]:
        """The dialect: as configured, else told by ``GET /v1/accounts``; and that reply.

        The reply is the run's account snapshot, taken before any stream, also when the
        dialect is configured: entries posted while the streams are walked then come after
        it (and are extracted), instead of lying between the walked ledger and a snapshot
        taken at the end, where they would look like a break. With a configured dialect a
        failing call is left to the snapshot step, which tries again and reports it.
        """
        if self.settings.dialect is not None:
            try:
                async with self.limiter:
                    early = await self.client.get_json("/v1/accounts")
            except (AuthError, Unauthorized, Forbidden, NoApiError):
                raise
            except CardepassError as exc:
                log.warning("accounts snapshot before the streams failed (%s); retried later", exc)
                return self.settings.dialect, None
            return self.settings.dialect, early
        async with self.limiter:
            accounts = await self.client.get_json("/v1/accounts")
        name = detect_dialect(accounts.body)
        log.info("the service speaks dialect %s", name)
        return name, accounts

    async def streams(
        self,
        store: Store,
        run_id: str,
        dialect: DialectName,
        streams: tuple[StreamName, ...],
        *,
        on_batch: OnBatch | None = None,
        progress: Callable[[StreamName, int, int], None] | None = None,
        today: date | None = None,
    ) -> tuple[
        dict[StreamName, tuple[date, date]], dict[StreamName, StreamOutcome], dict[StreamName, str]
    ]:
        """Extract ``streams`` from their planned windows, committing batch by batch."""
        settings = replace(self.settings, streams=streams)
        windows, skipped = plan_windows(store, settings, today or today_utc())
        committer = _Committer(store, run_id, dialect, on_batch, settings.batch_items)
        with store.memory_limit(settings.duckdb_memory_limit):
            outcomes = await self._extract(committer, dialect, windows, settings, progress)
        for stream, error in committer.flush_all().items():
            outcomes[stream].error = error
        return windows, outcomes, skipped

    async def _extract(
        self,
        committer: _Committer,
        dialect: DialectName,
        windows: dict[StreamName, tuple[date, date]],
        settings: ExtractSettings,
        progress: Callable[[StreamName, int, int], None] | None,
    ) -> dict[StreamName, StreamOutcome]:
        outcomes = await extract_streams(
            self.client,
            DIALECTS[dialect],
            windows,
            committer.add,
            limiter=self.limiter,
            slice_days=settings.slice_days,
            page_size=settings.page_size,
            progress=progress,
        )
        await committer.drain()
        return outcomes

    async def snapshots(
        self,
        store: Store,
        run_id: str,
        dialect: DialectName,
        card_ids: set[str],
        orders: dict[str, OrderRef],
        *,
        accounts: ApiResponse | None = None,
        on_snapshots: OnSnapshots | None = None,
        progress: SnapshotProgress | None = None,
    ) -> SnapshotResult:
        """Snapshot cards, the account and open orders; land and load them."""
        snaps = await take_snapshots(
            self.client,
            DIALECTS[dialect],
            card_ids,
            orders,
            limiter=self.limiter,
            final_orders=store.final_orders(),
            accounts=accounts,
            progress=progress,
        )
        if accounts is not None:
            snaps.requests += accounts.attempts
        try:
            with store.transaction() as con:
                store.land_pages(run_id, snaps.pages)
                if on_snapshots is not None:
                    on_snapshots(con, snaps.pages, run_id, dialect)
        except Exception as exc:  # a snapshot reply the loader refuses: keep it, say so
            snaps.errors.append(f"loading snapshots: {exc}")
            with store.transaction():
                store.land_pages(run_id, snaps.pages)
        return snaps


def shared_auth(settings: ExtractSettings) -> OAuth2ClientCredentials:
    """One OAuth2 auth for all the sessions of a run: one token, not one per session."""
    return OAuth2ClientCredentials(
        settings.credentials,
        validate_base_url(settings.base_url),
        scope=DIALECTS[settings.dialect].token_scope if settings.dialect else None,
    )


def references(outcomes: dict[StreamName, StreamOutcome]) -> tuple[set[str], dict[str, OrderRef]]:
    """The card ids and order references the extracted items mention."""
    card_ids: set[str] = set()
    orders: dict[str, OrderRef] = {}
    for outcome in outcomes.values():
        card_ids |= outcome.card_ids
        orders.update(outcome.order_refs)
    return card_ids, orders


async def run_extraction(
    settings: ExtractSettings,
    store: Store,
    run_id: str,
    *,
    on_batch: OnBatch | None = None,
    on_snapshots: OnSnapshots | None = None,
    progress: SnapshotProgress | None = None,
    transport: httpx.AsyncBaseTransport | None = None,
    today: date | None = None,
) -> ExtractionReport:
    """Every stream, then the snapshots, into ``store``; never raises for one bad stream."""
    async with Session(settings, transport) as session:
        dialect, accounts = await session.detect()
        if settings.full_refresh:
            with store.transaction():
                store.reset_watermarks()
        windows, outcomes, skipped = await session.streams(
            store,
            run_id,
            dialect,
            settings.streams,
            on_batch=on_batch,
            progress=progress,
            today=today,
        )
        card_ids, orders = references(outcomes)
        snaps = await session.snapshots(
            store,
            run_id,
            dialect,
            card_ids,
            orders,
            accounts=accounts,
            on_snapshots=on_snapshots,
            progress=progress,
        )
    requests = sum(o.requests for o in outcomes.values()) + snaps.requests
    return ExtractionReport(
        run_id, dialect, windows, outcomes, snaps, requests, session.limiter.throttled, skipped
    )
