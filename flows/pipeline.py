"""The ``cardepass-reconciliation`` Prefect flow: extract, snapshot, reconcile, report.

The flow only orchestrates; every task is a thin wrapper around plain functions of
``extract``, ``transform`` and ``reports`` that tests call without Prefect. Tasks are
per stream (extract + validate + load, committed batch by batch with the watermark),
then the snapshots, the reconciliation and the reports. Transient HTTP failures are
retried inside the HTTP layer; no task retries, because a re-run of any step is
already idempotent and Prefect-level retries would only hide a real failure.

One writer per DuckDB file: the flow opens the file first and refuses, with one clear
line, when another run holds it.

Interruption: the CLI sets ``STOP`` on SIGINT/SIGTERM. The extraction is cancelled at
once (a commit in progress finishes first: each batch lands whole with its watermark),
the steps after it are not started, and the run raises ``Interrupted`` with its DuckDB
connection closed, so the next run resumes from the watermarks (``resume_date``).

(No ``from __future__ import annotations`` here: Prefect builds the flow's parameter
model from the real annotations when a served deployment starts a run.)
"""

import asyncio
import contextlib
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import duckdb
import httpx
from prefect import flow, get_run_logger, task
from prefect.cache_policies import NONE

from extract.auth import OAuth2ClientCredentials
from extract.client import ApiResponse
from extract.engine import StreamOutcome
from extract.run import (
    ExtractionReport,
    ExtractSettings,
    Session,
    references,
    shared_auth,
)
from extract.snapshots import SnapshotProgress, SnapshotResult
from extract.streams import STREAM_NAMES, DialectName, StreamName
from flows.crashpoints import crashpoint
from flows.settings import ConfigError, Settings, database_error, extract_settings, load
from flows.stopping import Interrupted, check_stop, stoppable
from flows.summary import FLOW_NAME, publish, summary_rows
from reports.export import write_reports
from transform.load import init_schema, load_slices, load_snapshots, unsnapshotted
from transform.reconcile import (
    DEFAULT_LABEL,
    ReconResult,
    ReconSettings,
    reconcile,
    write_summary,
)
from transform.state import Store

Progress = SnapshotProgress  # progress(name, done, items, total=None): streams and snapshots


class PipelineError(Exception):
    """A run that cannot start or finish; the message is one line saying what to do."""


@dataclass
class RunContext:
    """What the tasks of one run share (not a flow parameter: built by the flow)."""

    run_id: str
    extract: ExtractSettings
    db_path: Path
    out_dir: Path
    recon: ReconSettings
    con: duckdb.DuckDBPyConnection
    transport: httpx.AsyncBaseTransport | None = None
    progress: Progress | None = None
    today: date | None = None
    auth: OAuth2ClientCredentials | None = None  # one token for every task of the run
    label: str = DEFAULT_LABEL


@dataclass
class PipelineResult:
    run_id: str
    verdict: str
    extraction: ExtractionReport
    recon: ReconResult
    reports: dict[str, Path]
    db_path: Path
    out_dir: Path
    summary: list[dict[str, Any]] = field(default_factory=list)
    label: str = DEFAULT_LABEL
    watermarks: dict[StreamName, date | None] = field(default_factory=dict)  # before the run
    lookback_days: int = 7

    def as_dict(self) -> dict[str, Any]:
        """What the flow returns: plain values only (Prefect stores it).

        Besides the outcome it says what the run covered: ``label``, ``dialect``, the
        ``period`` reconciled and the ``snapshot_at`` time (from the summary's run row), and
        per stream its window, its watermark before the run and whether the window was a
        ``backfill`` (no watermark) or ``incremental`` (watermark minus the lookback).
        """
        run_row = next((r for r in self.summary if r.get("section") == "run"), {})
        snapshot_at = run_row.get("snapshot_at")
        return {
            "run_id": self.run_id,
            "verdict": self.verdict,
            "label": self.label,
            "dialect": self.extraction.dialect,
            "period": {
                "from": _iso(run_row.get("period_from")),
                "to": _iso(run_row.get("period_to")),
            },
            "snapshot_at": (
                snapshot_at.astimezone(UTC).isoformat()
                if isinstance(snapshot_at, datetime)
                else None
            ),
            "lookback_days": self.lookback_days,
            "streams": {
                stream: {
                    "from": start.isoformat(),
                    "to": end.isoformat(),
                    "watermark": _iso(self.watermarks.get(stream)),
                    "mode": "backfill" if self.watermarks.get(stream) is None else "incremental",
                }
                for stream, (start, end) in self.extraction.windows.items()
            },
            "skipped": dict(self.extraction.skipped),
            "requests": self.extraction.requests,
            "failed": self.extraction.failed,
            "db": str(self.db_path),
            "out": str(self.out_dir),
            "reports": {k: str(v) for k, v in self.reports.items()},
            "open_errors": self.recon.errors,
            "open_warnings": self.recon.warnings,
            "summary": [
                {k: (v if v is None or isinstance(v, int | str) else str(v)) for k, v in r.items()}
                for r in self.summary
            ],
        }


def _iso(value: date | None) -> str | None:
    return None if value is None else value.isoformat()


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


# -- tasks: thin wrappers -------------------------------------------------------------------
@task(name="detect-dialect", cache_policy=NONE)
def detect_task(ctx: RunContext) -> tuple[DialectName, ApiResponse | None]:
    """The dialect, and the ``/v1/accounts`` reply that told it (the account snapshot)."""

    async def go() -> tuple[DialectName, ApiResponse | None]:
        async with Session(ctx.extract, ctx.transport, ctx.auth) as session:
            return await session.detect()

    return stoppable(go())


def _load_batch(
    con: duckdb.DuckDBPyConnection, results: list[Any], run_id: str, dialect: DialectName
) -> None:
    """``load_slices``, with a crash point inside the open load transaction (tests)."""
    load_slices(con, results, run_id, dialect)
    crashpoint("load")


@task(name="extract-stream", cache_policy=NONE, task_run_name="extract-{stream}")
def extract_stream_task(
    ctx: RunContext, dialect: DialectName, stream: StreamName
) -> tuple[tuple[date, date] | None, StreamOutcome | None, str | None]:
    """Extract, validate and load one stream's window, batch by batch."""
    logger = get_run_logger()

    async def go() -> Any:
        async with Session(ctx.extract, ctx.transport, ctx.auth) as session:
            return await session.streams(
                Store(ctx.con),
                ctx.run_id,
                dialect,
                (stream,),
                on_batch=_load_batch,
                progress=ctx.progress,
                today=ctx.today,
            )

    windows, outcomes, skipped = stoppable(go())
    outcome = outcomes.get(stream)
    if outcome is not None:
        logger.info(
            "%s %s..%s: %d pages, %d items, %d requests%s",
            stream,
            *windows[stream],
            outcome.pages,
            outcome.items,
            outcome.requests,
            f"; FAILED: {outcome.error}" if outcome.error else "",
        )
    else:
        logger.info("%s: %s", stream, skipped.get(stream))
    return windows.get(stream), outcome, skipped.get(stream)


@task(name="snapshots", cache_policy=NONE)
def snapshots_task(
    ctx: RunContext,
    dialect: DialectName,
    outcomes: dict[StreamName, StreamOutcome],
    accounts: ApiResponse | None = None,
) -> SnapshotResult:
    card_ids, orders = references(outcomes)
    left_cards, left_orders = unsnapshotted(ctx.con)  # e.g. after a run that died mid-way
    card_ids |= left_cards
    orders = {**left_orders, **orders}

    async def go() -> SnapshotResult:
        async with Session(ctx.extract, ctx.transport, ctx.auth) as session:
            return await session.snapshots(
                Store(ctx.con),
                ctx.run_id,
                dialect,
                card_ids,
                orders,
                accounts=accounts,
                on_snapshots=load_snapshots,
                progress=ctx.progress,
            )

    snaps = asyncio.run(go())
    get_run_logger().info(
        "snapshots: %d cards, %d orders, %d requests",
        len(snaps.cards),
        len(snaps.orders),
        snaps.requests,
    )
    return snaps


@task(name="reconcile", cache_policy=NONE)
def reconcile_task(
    ctx: RunContext, failures: list[str], dialect: DialectName
) -> tuple[ReconResult, str]:
    result = reconcile(ctx.con, ctx.run_id, datetime.now(UTC), ctx.recon)
    verdict = write_summary(ctx.con, ctx.run_id, failures, label=ctx.label, dialect=dialect)
    get_run_logger().info(
        "verdict %s: %d open errors, %d warnings (%d new, %d resolved)",
        verdict,
        result.errors,
        result.warnings,
        result.new_breaks,
        result.resolved_breaks,
    )
    return result, verdict


@task(name="report", cache_policy=NONE)
def report_task(ctx: RunContext) -> dict[str, Path]:
    files = write_reports(ctx.con, ctx.run_id, ctx.out_dir)
    get_run_logger().info("reports in %s", ctx.out_dir)
    return files


# -- the flow ---------------------------------------------------------------------------------
PROGRESS: Progress | None = None  # set by the CLI for its progress bars (process-local)


@flow(name=FLOW_NAME, log_prints=False)
def reconciliation_flow(
    date_from: date | None = None,
    date_to: date | None = None,
    full_refresh: bool = False,
    dialect: str | None = None,
    streams: list[str] | None = None,
    db: str | None = None,
    out: str | None = None,
    base_url: str | None = None,
    run_id: str | None = None,
    label: str | None = None,
) -> dict[str, Any]:
    """Extract every stream, snapshot, reconcile, report; publish the summary as artifacts.

    Parameters are the run's window, streams, full refresh, dialect, paths and account
    label; the credentials come from the environment or ``.env`` (never a flow parameter).
    """
    plan = plan_run(
        date_from=date_from,
        date_to=date_to,
        full_refresh=full_refresh,
        dialect=dialect,
        streams=streams,
        db=db,
        out=out,
        base_url=base_url,
        run_id=run_id,
        label=label,
    )
    result = run_steps(
        plan.run_id,
        plan.extract,
        plan.db_path,
        plan.out_dir,
        ReconSettings(),
        progress=PROGRESS,
        label=plan.label,
    )
    return result.as_dict()


@dataclass(frozen=True)
class RunPlan:
    """A run's settings resolved (flags over environment over ``.env``), before it starts."""

    run_id: str
    extract: ExtractSettings
    db_path: Path
    out_dir: Path
    label: str
    settings: Settings


def plan_run(
    *,
    date_from: date | None = None,
    date_to: date | None = None,
    full_refresh: bool = False,
    dialect: str | None = None,
    streams: list[str] | None = None,
    db: str | None = None,
    out: str | None = None,
    base_url: str | None = None,
    run_id: str | None = None,
    label: str | None = None,
) -> RunPlan:
    """The flow's parameters resolved into settings, or a ConfigError saying what is wrong.

    The reports go to ``--out``, else ``data/reports/<label>/<run id>/`` under the working
    directory.
    """
    settings = load(
        cardepass_base_url=base_url,
        cardrec_dialect=dialect,
        cardrec_db=db,
        cardrec_out=out,
        cardrec_label=label,
    )
    unknown = [x for x in streams or () if x not in STREAM_NAMES]
    if unknown:
        raise ConfigError(f"unknown stream(s) {', '.join(unknown)}; use {', '.join(STREAM_NAMES)}")
    chosen = tuple(s for s in STREAM_NAMES if not streams or s in streams)
    extract = extract_settings(
        settings, start=date_from, end=date_to, full_refresh=full_refresh, streams=chosen
    )
    run_id = run_id or datetime.now(UTC).strftime("run-%Y%m%dT%H%M%SZ")
    return RunPlan(
        run_id,
        extract,
        settings.cardrec_db,
        settings.report_dir(run_id),
        settings.cardrec_label,
        settings,
    )


def run_steps(
    run_id: str,
    extract: ExtractSettings,
    db_path: Path,
    out_dir: Path,
    recon: ReconSettings,
    *,
    progress: Progress | None = None,
    transport: httpx.AsyncBaseTransport | None = None,
    today: date | None = None,
    label: str = DEFAULT_LABEL,
) -> PipelineResult:
    """The flow's body: the tasks in order, on one DuckDB connection.

    Between steps (and inside the extraction) it stops with ``Interrupted`` once ``STOP``
    is set; the connection is closed on the way out, whatever happens.
    """
    check_stop()
    con = open_database(db_path)
    try:
        init_schema(con)
        ctx = RunContext(
            run_id, extract, db_path, out_dir, recon, con, transport, progress, today,
            shared_auth(extract), label,
        )  # fmt: skip
        store = Store(con)
        if extract.full_refresh:
            with store.transaction():
                store.reset_watermarks()
        watermarks = {s: store.watermark(s) for s in extract.streams}  # what the windows start from
        dialect, accounts = detect_task(ctx)
        crashpoint("dialect")
        windows: dict[StreamName, tuple[date, date]] = {}
        outcomes: dict[StreamName, StreamOutcome] = {}
        skipped: dict[StreamName, str] = {}
        for stream in extract.streams:
            window, outcome, skip = extract_stream_task(ctx, dialect, stream)
            if window is not None:
                windows[stream] = window
            if outcome is not None:
                outcomes[stream] = outcome
            if skip is not None:
                skipped[stream] = skip
            crashpoint("stream")
        check_stop()
        snaps = snapshots_task(ctx, dialect, outcomes, accounts)
        requests = sum(o.requests for o in outcomes.values()) + snaps.requests
        report = ExtractionReport(run_id, dialect, windows, outcomes, snaps, requests, 0, skipped)
        check_stop()
        result, verdict = reconcile_task(ctx, report.failed, dialect)
        crashpoint("reconciled")
        check_stop()
        files = report_task(ctx)
        summary = summary_rows(con, run_id)
        done = PipelineResult(
            run_id, verdict, report, result, files, db_path, out_dir, summary, label,
            watermarks, extract.lookback_days,
        )  # fmt: skip
        publish(done.as_dict(), con)
    except Interrupted:
        with contextlib.suppress(duckdb.Error):  # the next run replays the WAL; close now
            con.execute("pragma disable_checkpoint_on_shutdown")
        raise
    finally:
        con.close()
    return done
