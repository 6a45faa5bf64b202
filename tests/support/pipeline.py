"""Run the real pipeline pieces against an in-process sandbox (for tests)."""

from __future__ import annotations

import asyncio
from datetime import UTC, date, datetime, timedelta
from typing import Any

import duckdb
import httpx

from extract.auth import ClientCredentials
from extract.run import ExtractionReport, ExtractSettings, run_extraction
from sandbox import scenarios
from sandbox.app import create_app
from sandbox.faults import parse_faults
from sandbox.world import World
from transform.load import init_schema, load_slices, load_snapshots
from transform.reconcile import ReconResult, reconcile, write_summary
from transform.state import Store


def world_days(world: World) -> tuple[date, date]:
    first = datetime.fromtimestamp(world.start_ms / 1000, UTC).date()
    last = datetime.fromtimestamp(world.as_of / 1000, UTC).date()
    return first, last


def run_pipeline(
    world: World,
    dialect: str,
    con: duckdb.DuckDBPyConnection | None = None,
    *,
    run_id: str = "r1",
    faults: str | None = None,
    manifest: dict[str, Any] | None = None,
    app_options: dict[str, Any] | None = None,
    configured_dialect: bool = False,
    **settings: Any,
) -> tuple[duckdb.DuckDBPyConnection, ExtractionReport, Any]:
    """Extract and load ``world`` (served in ``dialect``) into ``con``; returns the app too.

    ``app_options`` go to the sandbox's ``create_app`` (``shapes="live"``, ``live_clock``,
    ``clock_skew_seconds``)."""
    con = con or duckdb.connect()
    store = Store(con)
    init_schema(con)
    app = create_app(
        world,
        dialect=dialect,
        faults=parse_faults(faults) if faults else None,
        manifest=manifest,
        **(app_options or {}),
    )
    first, last = world_days(world)
    base: dict[str, Any] = {
        "base_url": "http://127.0.0.1/openapi",
        "credentials": ClientCredentials("sandbox", "sandbox-secret"),
        "start": first,
        "end": last,
        "backoff_base": 0.0,
    }
    if configured_dialect:  # as --dialect: no detection
        base["dialect"] = dialect
    report = asyncio.run(
        run_extraction(
            ExtractSettings(**(base | settings)),
            store,
            run_id,
            on_batch=load_slices,
            on_snapshots=load_snapshots,
            transport=httpx.ASGITransport(app=app),
            today=last + timedelta(days=0),
        )
    )
    return con, report, app


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
        con, report, _ = run_pipeline(world, dialect, app_options=options)
    else:
        period = (first, today - timedelta(days=ended_days_ago))
        sc = scenarios.build(scenario, world, period=period)
        con, report, _ = run_pipeline(world, dialect, end=period[1], app_options=options)
    assert not report.failed, report.failed
    result = reconcile(con, "r1", datetime.now(UTC))
    verdict = write_summary(con, "r1", report.failed, dialect=dialect)
    return con, sc, result, verdict
