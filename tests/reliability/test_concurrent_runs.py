"""One writer per DuckDB file: a second run refuses with one clear line and harms nothing."""

from __future__ import annotations

import shutil
import subprocess
import time
from pathlib import Path

import pytest
from reltools import (
    DIALECT,
    ROOT,
    SECRET,
    CleanRun,
    LiveSandbox,
    cardrecon_run,
    cli_env,
    core_content,
    open_breaks,
    read_db,
    record,
    run_args,
)
from support.holder import held_by_another_process
from support.prefect import PrefectServer

from sandbox.app import create_app
from sandbox.faults import parse_faults
from sandbox.server import serve_in_thread

MESSAGE = "in use by another cardrecon run"


def _error_lines(stderr: str) -> list[str]:
    return [line for line in stderr.splitlines() if line.strip()]


def _refusal(stderr: str) -> list[str]:
    """The CLI's own error lines (``error: ...``)."""
    return [line for line in _error_lines(stderr) if line.startswith("error:")]


def _only_one_line(lines: list[str]) -> None:
    """DESIGN.md: one clear line on stderr (Prefect's own error log stays quiet)."""
    assert len(lines) == 1, f"stderr has {len(lines)} lines, not 1: {lines}"


def test_a_second_cardrecon_run_refuses_a_held_file_and_the_file_stays_intact(
    tmp_path: Path,
    prefect_server: PrefectServer,
    live_sandbox: LiveSandbox,
    clean_run: CleanRun,
) -> None:
    db = tmp_path / "held.duckdb"
    # a finished run's file, then held open by another writer
    shutil.copy(clean_run.db, db)
    with held_by_another_process(db, seconds=60):
        second = cardrecon_run(
            live_sandbox.base_url,
            db,
            tmp_path / "r",
            live_sandbox.days,
            cli_env(prefect_server.url, tmp_path / "ph", SECRET),
        )
    lines, refusal = _error_lines(second.stderr), _refusal(second.stderr)
    with read_db(db) as con, read_db(clean_run.db) as ref:
        intact = core_content(con) == core_content(ref) and open_breaks(con) == open_breaks(ref)
    record(
        "concurrency",
        case="file held by another writer; a second `cardrecon run`",
        exit=second.returncode,
        message=refusal,
        stderr_lines=len(lines),
        file_intact=intact,
    )
    assert second.returncode == 1, second.stdout + second.stderr
    assert len(refusal) == 1 and MESSAGE in refusal[0], lines
    assert intact
    _only_one_line(lines)


@pytest.mark.reliability
def test_two_real_runs_at_once_one_refuses_the_other_completes(
    tmp_path: Path,
    prefect_server: PrefectServer,
    live_sandbox: LiveSandbox,
    clean_run: CleanRun,
) -> None:
    # the same world, served slowly so the first run holds the file for a while
    app = create_app(
        live_sandbox.world,
        dialect=DIALECT,
        client_secret=SECRET,
        faults=parse_faults("slow=1.0,slow_seconds=0.6,seed=1"),
    )
    db = tmp_path / "shared.duckdb"
    with serve_in_thread(app) as base_url:
        env = cli_env(prefect_server.url, tmp_path / "ph", SECRET)
        first = subprocess.Popen(
            run_args(base_url, db, tmp_path / "r1", *live_sandbox.days),
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            env=env,
            cwd=ROOT,
        )
        deadline = time.monotonic() + 120
        while not db.exists() and time.monotonic() < deadline and first.poll() is None:
            time.sleep(0.1)
        assert db.exists(), "the first run opened its database"
        second = cardrecon_run(base_url, db, tmp_path / "r2", live_sandbox.days, env)
        assert first.poll() is None, "the first run was still running when the second refused"
        out, err = first.communicate(timeout=300)
    lines, refusal = _error_lines(second.stderr), _refusal(second.stderr)
    with read_db(db) as con, read_db(clean_run.db) as ref:
        intact = core_content(con) == core_content(ref) and open_breaks(con) == open_breaks(ref)
    record(
        "concurrency",
        case="two `cardrecon run` at once on one file",
        exit=second.returncode,
        first_exit=first.returncode,
        message=refusal,
        stderr_lines=len(lines),
        file_intact=intact,
    )
    assert first.returncode == 0, out + err
    assert second.returncode == 1 and len(refusal) == 1 and MESSAGE in refusal[0], lines
    assert intact
    _only_one_line(lines)
