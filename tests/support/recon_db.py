"""A reconciled DuckDB database built by the real pipeline against the sandbox.

The sandbox world (with a scenario's faults planted) is served through
``httpx.ASGITransport``; extraction, loading, reconciliation and the run summary are the
project's own functions. Tests that need realistic ``recon.*`` tables (reports, CLI
output) build one with :func:`reconciled_db`, once per module: a ``demo`` world takes
several seconds.
"""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta

import duckdb
import httpx

from extract.auth import ClientCredentials
from extract.run import ExtractSettings, run_extraction
from sandbox import scenarios
from sandbox.app import create_app
from sandbox.world import World
from transform.load import init_schema, load_slices, load_snapshots
from transform.reconcile import reconcile, write_summary
from transform.state import Store

RUN_ID = "run-1"
BACKFILL_DAYS = 95


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
    app = create_app(world, dialect=dialect)
    now = datetime.fromtimestamp(world.as_of / 1000, tz=UTC)
    today = now.date()
    con = duckdb.connect()
    store = Store(con)
    init_schema(con)
    settings = ExtractSettings(
        base_url="http://127.0.0.1/openapi",
        credentials=ClientCredentials("sandbox", "sandbox-secret"),
        start=today - timedelta(days=BACKFILL_DAYS),
        end=today,
    )
    report = asyncio.run(
        run_extraction(
            settings,
            store,
            run_id,
            transport=httpx.ASGITransport(app=app),
            on_batch=load_slices,
            on_snapshots=load_snapshots,
        )
    )
    reconcile(con, run_id, now)
    write_summary(con, run_id, report.failed, dialect=dialect)
    return con
