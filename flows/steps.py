"""The one run: detect, extract every stream, snapshot, reconcile, report.

``run(ctx, step=...)`` is what the Prefect flow, the command line, the tests, the
benchmarks and the reliability sweep all execute. ``step(name, fn, *args)`` runs one
step: the flow passes one that wraps ``fn`` in a Prefect task, everyone else the plain
call (``plain``). Either way the steps are the same functions, in the same order, on
one DuckDB connection and one ``Session`` (one token, one limiter, one event loop).

Each finished slice goes from extraction to ``transform.load.commit_batch`` in batches:
the pages land, their rows load and the stream's watermark moves in one transaction, so
a watermark never runs ahead of its data.

Interruption: once ``flows.stopping.STOP`` is set, the extraction is cancelled (a commit
in progress finishes first), the steps after it do not start, and ``Interrupted`` is
raised with the connection closed, so the next run resumes from the watermarks.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import sys
import threading
from collections.abc import Awaitable, Callable, Mapping
from contextvars import ContextVar
from dataclasses import dataclass
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any, TypeVar

import duckdb
import httpx

from extract.client import ApiResponse
from extract.engine import SliceResult, StreamOutcome
from extract.records import OrderRef
from extract.session import Session, plan_windows, references, shared_auth
from extract.snapshots import SnapshotProgress, SnapshotResult
from extract.streams import DialectName, StreamName
from flows.crashpoints import crashpoint
from flows.pages import page_loads
from flows.result import ExtractionReport, PipelineResult
from flows.settings import RunSettings, database_error
from flows.stopping import Interrupted, check_stop, stoppable
from reports.data import summary_rows
from reports.export import write_reports
from transform.load import commit_batch, init_schema, unsnapshotted
from transform.reconcile import ReconResult, reconcile, write_summary
from transform.state import Store

__all__ = ["PROGRESS", "RunContext", "RunSettings", "Step", "open_database", "plain", "run"]

log = logging.getLogger(__name__)
T = TypeVar("T")
Progress = SnapshotProgress  # progress(name, done, items, total=None): streams and snapshots
Step = Callable[..., Any]  # step(name, fn, *args, label=None) -> fn(*args)

# The command line's progress bars, for the run started in this context (never a global).
PROGRESS: ContextVar[Progress | None] = ContextVar("cardrecon_progress", default=None)


def current_progress() -> Progress | None:
    """The command line's progress callback for this context's run (a served run: none)."""
    return PROGRESS.get()


def plain(name: str, fn: Callable[..., T], /, *args: Any, label: str | None = None) -> T:
    """The step of tests, benchmarks and the reliability sweep: the call itself."""
    return fn(*args)


class PipelineError(Exception):
    """A run that cannot start or finish; the message is one line saying what to do."""


@dataclass
class RunContext:
    """One run's inputs and what its steps share (built by the caller, not a flow parameter)."""

    settings: RunSettings
    transport: httpx.AsyncBaseTransport | None = None  # tests: the sandbox in process
    progress: Progress | None = None
    today: date | None = None  # the day windows end by default (tests pin it)
    as_of: datetime | None = None  # the reconciliation's time (default: now)
    con: duckdb.DuckDBPyConnection | None = None  # an open database (tests: in memory)
    reconcile: bool = True  # False: extract and load only (tests of the extraction)
    land_only: bool = False  # keep the pages in raw.pages, load nothing (B2's input)
    publish: Callable[[dict[str, Any], duckdb.DuckDBPyConnection], None] | None = None
    # set by ``run``
    session: Session | None = None
    loop: asyncio.Runner | None = None

    @property
    def run_id(self) -> str:
        return self.settings.run_id

    def db(self) -> duckdb.DuckDBPyConnection:
        assert self.con is not None, "the run's database is open only inside run()"
        return self.con

    def call(self, work: Awaitable[T]) -> T:
        """Run ``work`` on the run's event loop (where its client lives)."""
        assert self.loop is not None
        return self.loop.run(_as_coroutine(work))

    def call_stoppable(self, work: Awaitable[T]) -> T:
        assert self.loop is not None
        return stoppable(_as_coroutine(work), self.loop)


async def _as_coroutine(work: Awaitable[T]) -> T:
    return await work


def open_database(path: Path) -> duckdb.DuckDBPyConnection:
    """The run's DuckDB file, or a one-line error if another run holds it."""
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        return duckdb.connect(str(path))
    except duckdb.IOException as exc:
        raise PipelineError(database_error(path, exc)) from None
    except OSError as exc:
        raise PipelineError(
            f"cannot create {path.parent} ({exc.strerror}); choose another --db"
        ) from None


def _logger() -> Any:
    """Prefect's run logger inside a task or flow run (its UI shows it), else ours."""
    if "prefect" in sys.modules:
        from prefect.context import FlowRunContext, TaskRunContext

        if TaskRunContext.get() or FlowRunContext.get():
            from prefect import get_run_logger

            return get_run_logger()
    return log


# -- the run ------------------------------------------------------------------------------------
def run(ctx: RunContext, step: Step = plain) -> PipelineResult:
    """The steps in order, on one connection and one session; see the module docstring."""
    settings, extract = ctx.settings, ctx.settings.extract
    check_stop()
    owned = ctx.con is None
    con = ctx.con = ctx.con or open_database(settings.db_path)
    ctx.loop = asyncio.Runner()
    ctx.session = Session(extract, ctx.transport, shared_auth(extract))
    try:
        init_schema(con)
        store = Store(con, create=False)
        if extract.full_refresh:
            with store.transaction():
                store.reset_watermarks()
        watermarks = {s: store.watermark(s) for s in extract.streams}  # what the windows start from
        dialect, accounts = step("detect-dialect", detect_step, ctx)
        crashpoint("dialect")
        windows, skipped = plan_windows(watermarks, extract, ctx.today or datetime.now(UTC).date())
        outcomes: dict[StreamName, StreamOutcome] = {}
        for stream in extract.streams:
            window = windows.get(stream)
            outcome = step(
                "extract-stream", extract_step, ctx, dialect, stream, window, skipped.get(stream),
                label=f"extract-{stream}",
            )  # fmt: skip
            if outcome is not None:
                outcomes[stream] = outcome
            crashpoint("stream")
        check_stop()
        snaps = step("snapshots", snapshots_step, ctx, dialect, outcomes, accounts)
        requests = sum(o.requests for o in outcomes.values()) + snaps.requests
        report = ExtractionReport(
            ctx.run_id, dialect, windows, outcomes, snaps, requests, ctx.session.throttled, skipped
        )
        if not ctx.reconcile:
            return PipelineResult(
                ctx.run_id, "", report, None, {}, settings.db_path, settings.out_dir,
                watermarks=watermarks, lookback_days=extract.lookback_days,
            )  # fmt: skip
        check_stop()
        result, verdict = step("reconcile", reconcile_step, ctx, report.failed, dialect)
        crashpoint("reconciled")
        check_stop()
        files = step("report", report_step, ctx) if settings.out_dir is not None else {}
        done = PipelineResult(
            ctx.run_id, verdict, report, result, files, settings.db_path, settings.out_dir,
            summary_rows(con, ctx.run_id), settings.label, watermarks, extract.lookback_days,
        )  # fmt: skip
        if ctx.publish is not None:
            ctx.publish(done.as_dict(), con)
    except Interrupted:
        with contextlib.suppress(duckdb.Error):  # the next run replays the WAL; close now
            con.execute("pragma disable_checkpoint_on_shutdown")
        raise
    finally:
        with contextlib.suppress(Exception):
            ctx.loop.run(ctx.session.aclose())
        ctx.loop.close()
        if owned:
            con.close()
            ctx.con = None
    return done


# -- the steps --------------------------------------------------------------------------------
def detect_step(ctx: RunContext) -> tuple[DialectName, ApiResponse | None]:
    """The dialect, and the ``/v1/accounts`` reply that told it (the account snapshot)."""
    assert ctx.session is not None
    return ctx.call_stoppable(ctx.session.detect())


def extract_step(
    ctx: RunContext,
    dialect: DialectName,
    stream: StreamName,
    window: tuple[date, date] | None,
    skip: str | None,
) -> StreamOutcome | None:
    """Extract, validate and load one stream's window, batch by batch."""
    logger = _logger()
    if window is None:
        logger.info("%s: %s", stream, skip)
        return None
    assert ctx.session is not None
    committer = Committer(
        ctx.db(), ctx.run_id, dialect, ctx.settings.batch_items, load=not ctx.land_only
    )
    with Store(ctx.db(), create=False).memory_limit(ctx.settings.duckdb_memory_limit):
        outcomes = ctx.call_stoppable(
            extract_windows(ctx.session, committer, dialect, {stream: window}, ctx.progress)
        )
        for failed, error in committer.flush_all().items():
            outcomes[failed].error = error
    outcome = outcomes[stream]
    logger.info(
        "%s %s..%s: %d pages, %d items, %d requests%s",
        stream, *window, outcome.pages, outcome.items, outcome.requests,
        f"; FAILED: {outcome.error}" if outcome.error else "",
    )  # fmt: skip
    return outcome


async def extract_windows(
    session: Session,
    committer: Committer,
    dialect: DialectName,
    windows: Mapping[StreamName, tuple[date, date]],
    progress: Progress | None,
) -> dict[StreamName, StreamOutcome]:
    """Walk ``windows`` into ``committer``; commits still running are waited for."""
    try:
        return await session.streams(dialect, windows, committer.add, progress=progress)
    finally:
        await committer.drain()


def snapshots_step(
    ctx: RunContext,
    dialect: DialectName,
    outcomes: dict[StreamName, StreamOutcome],
    accounts: ApiResponse | None = None,
) -> SnapshotResult:
    """Snapshot every card and open order the logs refer to (and the account); load them."""
    assert ctx.session is not None
    con = ctx.db()
    card_ids, orders = references(outcomes)
    left_cards, left_orders = unsnapshotted(con)  # e.g. after a run that died mid-way
    card_ids |= left_cards
    orders = {**{no: OrderRef(no, kind, card) for no, kind, card in left_orders}, **orders}
    final = Store(con, create=False).final_orders()
    snaps = ctx.call(
        ctx.session.snapshots(
            dialect, card_ids, orders, final_orders=final, accounts=accounts, progress=ctx.progress
        )
    )
    try:
        loads = page_loads(snaps.pages, None, dialect, ctx.run_id)
        commit_batch(con, ctx.run_id, loads, load=not ctx.land_only)
    except Exception as exc:  # a snapshot reply the loader refuses: kept, and said
        snaps.errors.append(f"loading snapshots: {exc}")
    _logger().info(
        "snapshots: %d cards, %d orders, %d requests",
        len(snaps.cards), len(snaps.orders), snaps.requests,
    )  # fmt: skip
    return snaps


def reconcile_step(
    ctx: RunContext, failures: list[str], dialect: DialectName
) -> tuple[ReconResult, str]:
    con = ctx.db()
    result = reconcile(con, ctx.run_id, ctx.as_of or datetime.now(UTC), ctx.settings.recon)
    verdict = write_summary(con, ctx.run_id, failures, label=ctx.settings.label, dialect=dialect)
    _logger().info(
        "verdict %s: %d open errors, %d warnings (%d new, %d resolved)",
        verdict, result.errors, result.warnings, result.new_breaks, result.resolved_breaks,
    )  # fmt: skip
    return result, verdict


def report_step(ctx: RunContext) -> dict[str, Path]:
    assert ctx.settings.out_dir is not None
    files = write_reports(ctx.db(), ctx.run_id, ctx.settings.out_dir)
    _logger().info("reports in %s", ctx.settings.out_dir)
    return files


# -- committing batches -----------------------------------------------------------------------
class Committer:
    """Buffers finished slices per stream and commits them in batches (``commit_batch``).

    One commit lands the batch's pages, loads its rows and moves the stream's watermark,
    in one DuckDB transaction.
    """

    def __init__(
        self,
        con: duckdb.DuckDBPyConnection,
        run_id: str,
        dialect: DialectName,
        batch_items: int,
        *,
        load: bool = True,
    ) -> None:
        self.con = con
        self.load = load
        self.run_id = run_id
        self.dialect = dialect
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
            batch = self.buffers.pop(stream, [])
            if not batch:
                return
            marks = [r.watermark for r in batch if r.watermark is not None]
            pages = [p for r in batch for p in r.pages]
            items = [i for r in batch for i in r.page_items]
            commit_batch(
                self.con,
                self.run_id,
                page_loads(pages, items, self.dialect, self.run_id),
                watermarks={stream: max(marks)} if marks else None,
                before_commit=lambda: crashpoint("load"),
                load=self.load,
            )

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
