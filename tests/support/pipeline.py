"""Run the one run (``flows.steps.run``) against an in-process sandbox, for tests.

Tests, benchmarks and the reliability sweep run what users run: ``flows.steps.run`` with
plain steps instead of Prefect tasks, on an in-memory DuckDB, the sandbox served through
``httpx.ASGITransport`` (or over a real socket where a test needs one).
"""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import duckdb
import httpx

from extract.auth import ClientCredentials
from extract.session import ExtractSettings
from flows.result import ExtractionReport, PipelineResult
from flows.settings import RunSettings
from flows.steps import RunContext, run
from sandbox import scenarios
from sandbox.app import create_app
from sandbox.faults import parse_faults
from sandbox.world import World
from transform.reconcile import ReconResult

SANDBOX_CREDENTIALS = ClientCredentials("sandbox", "sandbox-secret")
RUN_ID = "run-1"  # the run of ``reconciled_db``
BACKFILL_DAYS = 95


def run_settings(
    run_id: str,
    *,
    db_path: Path = Path(":memory:"),
    out_dir: Path | None = None,
    batch_items: int | None = None,
    duckdb_memory_limit: str | None = "256MB",
    **extract: Any,
) -> RunSettings:
    """The run's settings against the sandbox: ``extract`` over ExtractSettings' defaults."""
    base: dict[str, Any] = {
        "base_url": "http://127.0.0.1/openapi",
        "credentials": SANDBOX_CREDENTIALS,
        "backoff_base": 0.0,
    }
    more: dict[str, Any] = {} if batch_items is None else {"batch_items": batch_items}
    return RunSettings(
        run_id,
        ExtractSettings(**(base | extract)),
        db_path,
        out_dir,
        duckdb_memory_limit=duckdb_memory_limit,
        **more,
    )


def run_once(
    settings: RunSettings,
    con: duckdb.DuckDBPyConnection | None = None,
    *,
    transport: httpx.AsyncBaseTransport | None = None,
    today: date | None = None,
    reconcile: bool = True,
    as_of: datetime | None = None,
) -> PipelineResult:
    """``flows.steps.run`` with plain steps (``con``: an open database, e.g. in memory)."""
    ctx = RunContext(
        settings, transport=transport, today=today, as_of=as_of, con=con, reconcile=reconcile
    )
    return run(ctx)


def world_days(world: World) -> tuple[date, date]:
    first = datetime.fromtimestamp(world.start_ms / 1000, UTC).date()
    last = datetime.fromtimestamp(world.as_of / 1000, UTC).date()
    return first, last


def run_pipeline(
    world: World,
    dialect: str,
    con: duckdb.DuckDBPyConnection | None = None,
    **options: Any,
) -> tuple[duckdb.DuckDBPyConnection, ExtractionReport, Any]:
    """Extract and load ``world`` (served in ``dialect``) into ``con``; returns the app too.

    The one run, stopped after the snapshots (``run_world`` takes the same options)."""
    con, done, app = run_world(world, dialect, con, **options)
    return con, done.extraction, app


def run_world(
    world: World,
    dialect: str,
    con: duckdb.DuckDBPyConnection | None = None,
    *,
    run_id: str = "r1",
    faults: str | None = None,
    manifest: dict[str, Any] | None = None,
    app_options: dict[str, Any] | None = None,
    configured_dialect: bool = False,
    reconcile: bool = False,
    as_of: datetime | None = None,
    **settings: Any,
) -> tuple[duckdb.DuckDBPyConnection, PipelineResult, Any]:
    """The one run over ``world`` served in ``dialect``, into ``con`` (default: in memory).

    It stops after the snapshots unless ``reconcile``. ``app_options`` go to the sandbox's
    ``create_app`` (``shapes="live"``, ``live_clock``, ``clock_skew_seconds``); ``settings``
    to ``run_settings`` (ExtractSettings' fields, ``batch_items``...)."""
    con = con or duckdb.connect()
    app = create_app(
        world,
        dialect=dialect,
        faults=parse_faults(faults) if faults else None,
        manifest=manifest,
        **(app_options or {}),
    )
    first, last = world_days(world)
    extract: dict[str, Any] = {"start": first, "end": last}
    if configured_dialect:  # as --dialect: no detection
        extract["dialect"] = dialect
    done = run_once(
        run_settings(run_id, **(extract | settings)),
        con,
        transport=httpx.ASGITransport(app=app),
        today=last,
        reconcile=reconcile,
        as_of=as_of,
    )
    return con, done, app


def reconcile_world(
    scenario: str,
    dialect: str,
    size: str = "tiny",
    seed: int = 3,
    *,
    ended_days_ago: int | None = None,
    shapes: str = "spec",
) -> tuple[duckdb.DuckDBPyConnection, scenarios.Scenario, ReconResult, str]:
    """Plant ``scenario``, run extraction + load + reconciliation; return db, scenario, result.

    ``ended_days_ago``: reconcile the period from the world's first day to that many days
    before today (a closed period, as a user reconciling last month does), with the faults
    planted inside it; the snapshots are still taken now. ``shapes="live"`` (v1.4): the
    sandbox answers as the live service's own examples show it (``sandbox.live``).
    """
    options = {"shapes": shapes} if shapes != "spec" else None
    world = World.create(seed=seed, size=size)
    first, today = world_days(world)
    if ended_days_ago is None:
        sc = scenarios.build(scenario, world)
        con, done, _ = run_world(world, dialect, app_options=options, reconcile=True)
    else:
        period = (first, today - timedelta(days=ended_days_ago))
        sc = scenarios.build(scenario, world, period=period)
        con, done, _ = run_world(world, dialect, end=period[1], app_options=options, reconcile=True)
    assert not done.extraction.failed, done.extraction.failed
    assert done.recon is not None
    return con, sc, done.recon, done.verdict


def reconciled_db(
    scenario: str = "broken_books",
    dialect: str = "v2.0",
    size: str = "demo",
    *,
    run_id: str = RUN_ID,
) -> duckdb.DuckDBPyConnection:
    """An in-memory DuckDB after one full run (extract, load, reconcile, summary).

    The world ends now (``World.create`` default); the run backfills the last
    ``BACKFILL_DAYS`` days up to today and is reconciled as of the world's end.
    """
    world = World.create(seed=3, size=size)
    scenarios.build(scenario, world)
    now = datetime.fromtimestamp(world.as_of / 1000, tz=UTC)
    today = now.date()
    con = duckdb.connect()
    settings = run_settings(
        run_id, start=today - timedelta(days=BACKFILL_DAYS), end=today, backoff_base=0.5
    )
    transport = httpx.ASGITransport(app=create_app(world, dialect=dialect))
    run_once(settings, con, transport=transport, as_of=now)
    return con
