"""The Prefect flow end to end: under Prefect's test harness, and as `cardrecon demo`."""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import duckdb
import orjson
import pytest
from support.expect import expected_requests
from support.holder import held_by_another_process
from support.prefect import PrefectServer

from extract.streams import DIALECTS, STREAM_NAMES
from sandbox.app import create_app
from sandbox.server import serve_in_thread
from sandbox.world import World

DAY_MS = 86_400_000


@pytest.fixture(scope="module")
def harness(prefect_server: PrefectServer) -> Iterator[None]:
    """The flow runs in this process against the session's Prefect server."""
    from prefect.settings import PREFECT_API_URL, temporary_settings

    with temporary_settings(updates={PREFECT_API_URL: prefect_server.url}):
        yield


def _run_flow(**params: Any) -> dict[str, Any]:
    from flows.pipeline import reconciliation_flow

    result: dict[str, Any] = reconciliation_flow(**params)
    return result


def test_flow_runs_twice_and_the_second_run_fetches_only_what_state_calls_for(
    harness: None, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("CARDEPASS_CLIENT_ID", "sandbox")
    monkeypatch.setenv("CARDEPASS_CLIENT_SECRET", "sandbox-secret")
    world = World.create(seed=11, size="tiny")
    world.set_clock(world.end_ms - 5 * DAY_MS)
    first_day = datetime.fromtimestamp(world.start_ms / 1000, UTC).date()
    first_clock = datetime.fromtimestamp(world.as_of / 1000, UTC).date()
    app = create_app(world, dialect="v1.4")
    db = tmp_path / "flow.duckdb"
    with serve_in_thread(app) as base_url:
        one = _run_flow(
            base_url=base_url,
            date_from=first_day,
            date_to=first_clock,
            db=str(db),
            out=str(tmp_path / "r1"),
            run_id="r1",
        )
        # the world's clock runs five days behind ours, so its open holds look old: warnings
        assert one["verdict"] in ("reconciled", "reconciled_with_warnings"), one
        assert one["open_errors"] == 0
        con = duckdb.connect(str(db))
        done_before = {
            r[0]
            for r in con.execute(
                "select order_no from core.orders where status in ('Completed', 'Failed')"
            ).fetchall()
        }
        con.close()
        world.set_clock(world.end_ms)
        app.state.sandbox.requests.clear()
        today = datetime.now(UTC).date()
        two = _run_flow(
            base_url=base_url, db=str(db), out=str(tmp_path / "r2"), run_id="r2", label="acme"
        )
    assert two["verdict"] == "reconciled", two  # the clock caught up: nothing is stale now
    assert one["streams"]["transactions"] == {
        "from": first_day.isoformat(),
        "to": first_clock.isoformat(),
        "watermark": None,
        "mode": "backfill",
    }
    assert two["streams"]["transactions"] == {
        "from": (first_clock - timedelta(days=7)).isoformat(),
        "to": today.isoformat(),
        "watermark": first_clock.isoformat(),
        "mode": "incremental",
    }
    assert (two["label"], two["dialect"], two["lookback_days"]) == ("acme", "v1.4", 7)
    con = duckdb.connect(str(db))
    items: dict[str, list[dict[str, Any]]] = {s: [] for s in STREAM_NAMES}
    for stream, payload in con.execute(
        "select stream, payload from raw.pages where run_id = 'r2'"
    ).fetchall():
        if stream in items:
            items[stream] += DIALECTS["v1.4"].endpoints[stream].items(orjson.loads(payload))
    start = first_clock - timedelta(days=7)
    # detect's /v1/accounts reply is the run's account snapshot: no second call for it
    want = expected_requests(world, "v1.4", start, today, done_before, items)
    served = [r for r in app.state.sandbox.requests if r["path"].startswith("/v1/")]
    assert len(served) == want
    tokens = [r for r in app.state.sandbox.requests if r["path"].endswith("/connect/token")]
    assert len(tokens) == 1  # one token shared by all the run's tasks, not one per task
    files = {Path(p).name for p in two["reports"].values()}
    assert {
        "breaks.csv",
        "breaks.parquet",
        "summary.csv",
        "summary.parquet",
        "report.xlsx",
        "report.html",
    } <= files
    runs = con.execute("select distinct run_id from recon.run_summary order by 1").fetchall()
    assert runs == [("r1",), ("r2",)]

    from prefect.client.orchestration import get_client

    async def artifacts() -> list[tuple[str, str]]:
        async with get_client() as client:
            return [(a.key or "", str(a.data)) for a in await client.read_artifacts()]

    published = asyncio.run(artifacts())
    assert {"reconciliation-summary", "top-open-breaks"} <= {key for key, _ in published}
    summaries = [data for key, data in published if key == "reconciliation-summary"]
    markdown = next(m for m in summaries if m.startswith("# cardepass-reconciliation: r2\n"))
    period = two["period"]
    assert period["from"] and period["to"] and two["snapshot_at"]
    assert f"label acme, dialect v1.4, period {period['from']} to {period['to']}, " in markdown
    assert "snapshots at 20" in markdown
    assert f"| transactions | incremental from {first_clock - timedelta(days=7)} " in markdown


def test_a_second_run_on_a_locked_database_refuses_with_one_line(tmp_path: Path) -> None:
    from flows.pipeline import PipelineError, open_database

    db = tmp_path / "locked.duckdb"
    with (
        held_by_another_process(db, seconds=30),
        pytest.raises(PipelineError, match="in use by another cardrecon run"),
    ):
        open_database(db)
    open_database(db).close()  # free again: the file was not damaged


def test_cardrecon_demo_end_to_end_as_a_user_runs_it(
    tmp_path: Path, prefect_server: PrefectServer
) -> None:
    """`cardrecon demo --scenario broken_books --fail-on-breaks --label acme`, output piped
    (against the session's Prefect server: tests/reliability/test_interrupt.py runs one with
    its own ephemeral server)."""
    env = {
        **os.environ,
        "PREFECT_HOME": str(tmp_path / "prefect"),
        "PREFECT_API_URL": prefect_server.url,
        "PREFECT_SERVER_ANALYTICS_ENABLED": "false",
    }
    args = ["demo", "--scenario", "broken_books", "--fail-on-breaks", "--label", "acme"]
    proc = subprocess.run(
        [sys.executable, "-m", "flows.cli", *args],
        capture_output=True,
        text=True,
        timeout=600,
        env=env,
        check=False,
        cwd=tmp_path,  # the default DuckDB file and report folder are relative to it
    )
    assert proc.returncode == 3, proc.stdout + proc.stderr  # breaks, and --fail-on-breaks
    lines = proc.stdout.splitlines()
    run_id = next(line.split(":")[0] for line in lines if line.startswith("demo-"))
    out = tmp_path / "data" / "reports" / "acme" / run_id
    assert f"reports: data/reports/acme/{run_id}" in lines
    assert (tmp_path / "data" / "demo.duckdb").is_file()
    covers = next(line for line in lines if line.startswith("covers: "))
    assert covers.startswith("covers: label acme, dialect v2.0, period ")
    first_day = covers.split(" period ")[1].split(" ")[0]
    assert f"  transactions: backfill from {first_day}" in lines  # a new DuckDB file each demo
    assert "missing_account_entry" in proc.stdout and "card_balance" in proc.stdout
    assert "…" not in proc.stdout  # a pipe is not cut at 80 columns
    for name in (
        "breaks.csv",
        "breaks.parquet",
        "summary.csv",
        "summary.parquet",
        "report.xlsx",
        "report.html",
        "manifest.json",
    ):
        assert (out / name).is_file(), name
    manifest = orjson.loads((out / "manifest.json").read_bytes())
    breaks_csv = (out / "breaks.csv").read_text()
    for planted in manifest["breaks"]:
        assert planted["entity_id"] in breaks_csv
    assert "Traceback" not in proc.stderr


def test_bad_credentials_are_one_line_and_exit_2_with_no_traceback(tmp_path: Path) -> None:
    world = World.create(seed=3, size="tiny")
    env = {
        **os.environ,
        "PREFECT_HOME": str(tmp_path / "prefect"),
        "PREFECT_SERVER_ANALYTICS_ENABLED": "false",
    }
    with serve_in_thread(create_app(world)) as base_url:
        proc = subprocess.run(
            [
                sys.executable,
                "-m",
                "flows.cli",
                "run",
                "--base-url",
                base_url,
                "--client-id",
                "sandbox",
                "--client-secret",
                "not-the-secret",
                "--db",
                str(tmp_path / "x.duckdb"),
                "--quiet",
            ],
            capture_output=True,
            text=True,
            timeout=300,
            env=env,
            check=False,
        )
    assert proc.returncode == 2, proc.stdout + proc.stderr
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1 and "refused the credentials" in lines[0], proc.stderr
    assert "Traceback" not in proc.stdout + proc.stderr
    assert "not-the-secret" not in proc.stdout + proc.stderr


def test_the_flow_pickles_as_a_served_deployment_starts_it() -> None:
    """A served deployment's runner pickles the flow (cloudpickle) to start it in a
    subprocess; anything the flow refers to must pickle (a ContextVar does not)."""
    import cloudpickle

    from flows.pipeline import reconciliation_flow
    from flows.summary import FLOW_NAME

    assert cloudpickle.loads(cloudpickle.dumps(reconciliation_flow)).name == FLOW_NAME
