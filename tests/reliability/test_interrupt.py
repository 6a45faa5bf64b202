"""Ctrl-C and SIGTERM: a running `cardrecon run` stops within 5 s, says where the next run
resumes, exits 130 / 143, leaves no Prefect server behind, and the next run completes.

The runs under test talk to a slowed copy of the live sandbox, so the signal lands in the
middle of the extraction. The Ctrl-C case is a terminal's: SIGINT to the whole process
group, so Prefect's ephemeral API server (a child in that group) stops too - the case that
froze for a minute retrying it. SIGTERM goes to the process alone, as a service manager's
stop does, with the suite's Prefect server.
"""

from __future__ import annotations

import os
import re
import shutil
import signal
import subprocess
import time
from datetime import date, timedelta
from pathlib import Path

import pytest
from reltools import (
    SECRET,
    CleanRun,
    LiveSandbox,
    cardrecon_run,
    cli_env,
    core_content,
    ids_through,
    open_breaks,
    read_db,
    record,
    slowed_app,
    start_run,
    wait_for_request,
    watermarks,
)
from support.prefect import PrefectServer

from sandbox.server import serve_in_thread

STOPPED_WITHIN = 5.0
RESUME = re.compile(r"interrupted; the next run resumes from (\d{4}-\d{2}-\d{2})")
QUIET = re.compile(r"(\S+): (\w+), \d+ open errors?, \d+ warnings?; reports in \S+")
STREAM_PATHS = ("/v1/transactions", "/v1/accounts/cardAccountLogs", "/v1/accounts/accountLogs")


def _interrupt(
    live: LiveSandbox, db: Path, out: Path, env: dict[str, str], signum: int, group: bool
) -> tuple[subprocess.CompletedProcess[str], float]:
    """Start a run against a slow sandbox, signal it mid-extraction; (outcome, seconds)."""
    app = slowed_app(live, 0.4, seed=3)
    with serve_in_thread(app) as base_url:
        # its own process group, as a shell gives a command
        proc = start_run(base_url, db, out, live.days, env, start_new_session=True)
        try:
            wait_for_request(app, STREAM_PATHS, proc, "started extracting")
            time.sleep(1.0)  # well inside the extraction
            assert proc.poll() is None, "the run finished before it could be interrupted"
            sent = time.monotonic()
            (os.killpg if group else os.kill)(proc.pid, signum)
            stdout, stderr = proc.communicate(timeout=60)
            took = time.monotonic() - sent
        finally:
            if proc.poll() is None:
                os.killpg(proc.pid, signal.SIGKILL)
                proc.wait()
    group_left = _group_alive(proc.pid)
    if group_left:
        os.killpg(proc.pid, signal.SIGKILL)
    assert not group_left, "a process of the run (Prefect's server?) outlived it"
    return subprocess.CompletedProcess(proc.args, proc.returncode, stdout, stderr), took


def _group_alive(pgid: int, patience: float = 3.0) -> bool:
    """Whether any process of the group is still there after ``patience`` seconds."""
    deadline = time.monotonic() + patience
    while True:
        try:
            os.killpg(pgid, 0)
        except ProcessLookupError:
            return False
        if time.monotonic() > deadline:
            return True
        time.sleep(0.1)


def _resume_day(stderr: str) -> date:
    lines = [line for line in stderr.splitlines() if line.strip()]
    assert len(lines) == 1, f"stderr is not one line: {lines}"
    found = RESUME.fullmatch(lines[0])
    assert found, lines[0]
    return date.fromisoformat(found.group(1))


def _watermarks_behind_their_data(db: Path, ref: Path) -> None:
    with read_db(db) as con, read_db(ref) as clean:
        for stream, mark in watermarks(con).items():
            missing = ids_through(clean, stream, mark) - ids_through(con, stream, mark)
            assert not missing, f"{stream} watermark {mark} ahead of its data"


def _next_run_starts_from(
    live: LiveSandbox, db: Path, out: Path, env: dict[str, str], clean: CleanRun
) -> date:
    """Run again to the end (`--quiet`: exactly one line); the day its windows start."""
    rerun = cardrecon_run(live.base_url, db, out, live.days, env)
    assert rerun.returncode == 0, rerun.stdout + rerun.stderr
    lines = (rerun.stdout + rerun.stderr).strip().splitlines()
    assert len(lines) == 1, lines  # --quiet is one line: verdict, counts, reports
    quiet = QUIET.fullmatch(lines[0])
    assert quiet, lines[0]
    run_id, verdict = quiet.groups()
    with read_db(db) as con, read_db(clean.db) as ref:
        assert (
            verdict
            == con.execute(
                "select verdict from recon.run_summary where run_id = ? and section = 'run'",
                [run_id],
            ).fetchall()[0][0]
        )
        assert core_content(con) == core_content(ref)
        assert open_breaks(con) == open_breaks(ref)
        first = con.execute(
            "select min(slice_from) from raw.pages where run_id = ? and slice_from is not null",
            [run_id],
        ).fetchall()[0][0]
    assert isinstance(first, date)
    return first


@pytest.mark.reliability  # ~37 s: its own ephemeral Prefect server; SIGTERM is the default's
def test_ctrl_c_stops_the_run_in_5s_and_the_next_run_resumes_where_it_said(
    tmp_path: Path,
    prefect_server: PrefectServer,
    live_sandbox: LiveSandbox,
    clean_run: CleanRun,
) -> None:
    db, out = tmp_path / "run.duckdb", tmp_path / "reports"
    ephemeral = cli_env(prefect_server.url, tmp_path / "ph", SECRET)
    ephemeral.pop("PREFECT_API_URL")  # Prefect starts its own server, in the run's group
    stopped, took = _interrupt(live_sandbox, db, out, ephemeral, signal.SIGINT, group=True)
    record("interrupt", case="SIGINT to the group", exit=stopped.returncode, seconds=took)
    assert stopped.returncode == 130, stopped.stdout + stopped.stderr
    assert took <= STOPPED_WITHIN, f"took {took:.1f} s"
    said = _resume_day(stopped.stderr)
    assert said == live_sandbox.days[0]  # a first run's backfill: nothing whole committed
    assert stopped.stdout == ""
    _watermarks_behind_their_data(db, clean_run.db)
    assert not list(out.glob("*.tmp")) and not list(out.glob(".*.tmp"))
    env = cli_env(prefect_server.url, tmp_path / "ph", SECRET)
    assert _next_run_starts_from(live_sandbox, db, out, env, clean_run) == said


def test_sigterm_exits_143_and_an_incremental_run_resumes_from_watermark_minus_lookback(
    tmp_path: Path,
    prefect_server: PrefectServer,
    live_sandbox: LiveSandbox,
    clean_run: CleanRun,
) -> None:
    db, out = tmp_path / "run.duckdb", tmp_path / "reports"
    shutil.copy(clean_run.db, db)  # a later run: every stream has its watermark
    with read_db(db) as con:
        marks = watermarks(con)
    env = cli_env(prefect_server.url, tmp_path / "ph", SECRET)
    stopped, took = _interrupt(live_sandbox, db, out, env, signal.SIGTERM, group=False)
    record("interrupt", case="SIGTERM to the process", exit=stopped.returncode, seconds=took)
    assert stopped.returncode == 143, stopped.stdout + stopped.stderr
    assert took <= STOPPED_WITHIN, f"took {took:.1f} s"
    # the rule, for a later run (the Ctrl-C test runs the next run to the end)
    assert _resume_day(stopped.stderr) == min(marks.values()) - timedelta(days=7)
    _watermarks_behind_their_data(db, clean_run.db)
