"""Helpers of the reliability suite: table fingerprints, invariants, results, subprocess runs.

Results: every test appends what it tried and what happened as one JSON line to the
file named by ``CARDREC_RELIABILITY_RESULTS`` (when set); ``scripts/reliability_report.py``
turns those lines into ``docs/RELIABILITY.md``.
"""

from __future__ import annotations

import contextlib
import os
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import duckdb
import httpx
import orjson
from support.pipeline import run_once, run_settings

from flows.result import ExtractionReport
from sandbox.app import create_app
from sandbox.faults import parse_faults
from sandbox.world import World

RESULTS_ENV = "CARDREC_RELIABILITY_RESULTS"
LINEAGE = {"run_id", "fetched_at", "response_id", "quarantined_at"}
SNAPSHOT_TABLES = {"card_snapshots", "account_snapshots"}
ROOT = Path(__file__).resolve().parents[2]
# when each stream's rows happened (for "the watermark is never ahead of the data")
DATA_DAY = {
    "transactions": ("core.transactions", "transaction_id", "auth_at"),
    "card_account_logs": ("core.card_account_logs", "account_log_id", "trans_at"),
    "account_logs": ("core.account_logs", "account_log_id", "trans_at"),
}


# distinctive, so a scan for it cannot hit anything by chance
SECRET = "rel-S3cret-7f2a9c41e8b6d05f"
DIALECT = "v1.4"  # the card endpoint returns card numbers and CVVs


@dataclass
class LiveSandbox:
    world: World
    app: Any
    base_url: str
    secret: str
    days: tuple[date, date]


@dataclass
class CleanRun:
    proc: subprocess.CompletedProcess[str]
    db: Path
    out: Path
    home: Path


def record(section: str, **fields: Any) -> None:
    """Append one result line for the report (no-op unless the report script asked)."""
    path = os.environ.get(RESULTS_ENV)
    if not path:
        return
    line = {"section": section, "at": datetime.now(UTC).isoformat(), **fields}
    with Path(path).open("ab") as fh:
        fh.write(orjson.dumps(line, default=str) + b"\n")


def world_days(world: World) -> tuple[date, date]:
    first = datetime.fromtimestamp(world.start_ms / 1000, UTC).date()
    last = datetime.fromtimestamp(world.as_of / 1000, UTC).date()
    return first, last


def core_content(con: duckdb.DuckDBPyConnection) -> dict[str, list[tuple[Any, ...]]]:
    """Every core table but the snapshots, without lineage columns, sorted: comparable."""
    out: dict[str, list[tuple[Any, ...]]] = {}
    tables = con.execute(
        "select table_name from duckdb_tables() where schema_name = 'core' order by 1"
    ).fetchall()
    for (table,) in tables:
        if table in SNAPSHOT_TABLES:
            continue
        cols = [
            c
            for (c,) in con.execute(
                "select column_name from duckdb_columns() "
                "where schema_name = 'core' and table_name = ? order by column_index",
                [table],
            ).fetchall()
            if c not in LINEAGE
        ]
        select = ", ".join(f'cast("{c}" as varchar)' for c in cols)
        rows = con.execute(f"select {select} from core.{table}").fetchall()
        out[table] = sorted(rows, key=lambda r: tuple("" if v is None else v for v in r))
    return out


def open_breaks(con: duckdb.DuckDBPyConnection) -> set[tuple[Any, ...]]:
    rows = con.execute(
        "select \"check\", entity_type, entity_id, currency from recon.breaks where status = 'open'"
    ).fetchall()
    return set(rows)


def rows_lost(con: duckdb.DuckDBPyConnection) -> int:
    """Sum of fetched - loaded - quarantined over meta.runs (the invariant says 0)."""
    row = con.execute(
        "select coalesce(sum(fetched - loaded - quarantined), 0) from meta.runs"
    ).fetchone()
    return int(row[0]) if row else 0


def unbalanced_runs(con: duckdb.DuckDBPyConnection) -> list[tuple[Any, ...]]:
    return con.execute(
        "select run_id, stream, fetched, loaded, quarantined from meta.runs "
        "where fetched <> loaded + quarantined"
    ).fetchall()


def watermarks(con: duckdb.DuckDBPyConnection) -> dict[str, date]:
    """Each stream's watermark (none yet: a run killed before its first commit)."""
    exists = con.execute(
        "select count(*) from duckdb_tables() where schema_name = 'meta' and table_name = 'state'"
    ).fetchone()
    if not exists or not exists[0]:
        return {}
    return dict(con.execute("select stream, watermark from meta.state").fetchall())


def ids_through(con: duckdb.DuckDBPyConnection, stream: str, day: date) -> set[str]:
    """The stream's ids whose UTC day is on or before ``day``."""
    table, key, at = DATA_DAY[stream]
    con.execute("set TimeZone = 'UTC'")
    rows = con.execute(
        f"select {key} from {table} where cast({at} as date) <= ?",
        [day],
    ).fetchall()
    return {r[0] for r in rows}


def max_data_day(con: duckdb.DuckDBPyConnection, stream: str) -> date | None:
    table, _, at = DATA_DAY[stream]
    con.execute("set TimeZone = 'UTC'")
    row = con.execute(f"select max(cast({at} as date)) from {table}").fetchone()
    return row[0] if row else None


def extract_and_load(
    world: World,
    *,
    dialect: str = "v2.0",
    faults: str | None = None,
    real_http: bool = False,
    run_id: str = "r1",
    **settings: Any,
) -> tuple[duckdb.DuckDBPyConnection, ExtractionReport, Any]:
    """The one run (``flows.steps.run``) up to the snapshots, optionally over real HTTP
    (timeouts need it)."""
    con = duckdb.connect()
    app = create_app(world, dialect=dialect, faults=parse_faults(faults) if faults else None)
    first, last = world_days(world)

    def go(transport: httpx.AsyncBaseTransport | None, url: str | None) -> ExtractionReport:
        over: dict[str, Any] = {"start": first, "end": last} | settings
        if url:
            over["base_url"] = url
        done = run_once(
            run_settings(run_id, **over), con, transport=transport, today=last, reconcile=False
        )
        return done.extraction

    if real_http:
        from sandbox.server import serve_in_thread

        with serve_in_thread(app) as url:
            report = go(None, url)
    else:
        report = go(httpx.ASGITransport(app=app), None)
    return con, report, app


# -- `cardrecon run` as a subprocess ------------------------------------------------------------
def cli_env(prefect_api: str, prefect_home: Path, secret: str, **extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("CARDREC_", "CARDEPASS_"))}
    env.update(
        {
            "PREFECT_API_URL": prefect_api,
            "PREFECT_HOME": str(prefect_home),
            "PREFECT_SERVER_ANALYTICS_ENABLED": "false",
            "CARDEPASS_CLIENT_ID": "sandbox",
            "CARDEPASS_CLIENT_SECRET": secret,
            "PYTHONPATH": str(ROOT),
        }
    )
    env.update(extra)
    return env


def run_args(
    base_url: str, db: Path, out: Path, first: date, last: date, verbose: bool = False
) -> list[str]:
    return [
        sys.executable,
        "-m",
        "flows.cli",
        "run",
        "--base-url",
        base_url,
        "--db",
        str(db),
        "--out",
        str(out),
        "--from",
        first.isoformat(),
        "--to",
        last.isoformat(),
        "--verbose" if verbose else "--quiet",
    ]


def cardrecon_run(
    base_url: str,
    db: Path,
    out: Path,
    days: tuple[date, date],
    env: dict[str, str],
    timeout: float = 300,
    verbose: bool = False,
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        run_args(base_url, db, out, *days, verbose=verbose),
        capture_output=True,
        text=True,
        env=env,
        cwd=ROOT,
        timeout=timeout,
        check=False,
    )


@contextlib.contextmanager
def read_db(path: Path) -> Iterator[duckdb.DuckDBPyConnection]:
    con = duckdb.connect(str(path), read_only=True)
    try:
        yield con
    finally:
        con.close()


def slowed_app(live: LiveSandbox, seconds: float, seed: int) -> Any:
    """The live sandbox's world served with every data reply ``seconds`` late, so a run
    under test can be caught in the middle of its extraction."""
    faults = parse_faults(f"slow=1.0,slow_seconds={seconds},seed={seed}")
    return create_app(live.world, dialect=DIALECT, client_secret=SECRET, faults=faults)


def wait_for_request(
    app: Any, paths: tuple[str, ...], proc: subprocess.Popen[str], what: str
) -> None:
    """Wait (at most 240 s) until the run ``proc`` has asked ``app`` for one of ``paths``."""
    requests: list[dict[str, Any]] = app.state.sandbox.requests
    deadline = time.monotonic() + 240
    while not any(r["path"].endswith(paths) for r in list(requests)):
        assert proc.poll() is None, proc.communicate()
        assert time.monotonic() < deadline, f"the run never {what}"
        time.sleep(0.05)


def start_run(
    base_url: str, db: Path, out: Path, days: tuple[date, date], env: dict[str, str], **popen: Any
) -> subprocess.Popen[str]:
    """`cardrecon run` as a subprocess with its output piped, to be stopped or waited for."""
    return subprocess.Popen(
        run_args(base_url, db, out, *days),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=env,
        cwd=ROOT,
        **popen,
    )
