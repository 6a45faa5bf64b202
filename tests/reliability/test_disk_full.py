"""A full disk under `--db`: one line, exit 1, and nothing lost.

The DuckDB file lives on a 24 MB tmpfs. Once the run is extracting, a ballast file fills
the device to its last byte (another program filling the disk), so the run's next write
fails. After the ballast is removed the same command resumes, and its tables equal those
of one clean run. Mounting needs root (CI runs as root); elsewhere the test skips, saying so.
Marked ``reliability`` (two runs, ~16 s): ``pytest -m reliability tests/reliability``.
"""

from __future__ import annotations

import errno
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest
from reltools import (
    SECRET,
    CleanRun,
    LiveSandbox,
    cardrecon_run,
    cli_env,
    core_content,
    open_breaks,
    read_db,
    record,
    rows_lost,
    slowed_app,
    start_run,
    wait_for_request,
)
from support.prefect import PrefectServer

from sandbox.server import serve_in_thread

STREAM_PATHS = ("/v1/transactions", "/v1/accounts/cardAccountLogs", "/v1/accounts/accountLogs")


@pytest.fixture
def small_disk(tmp_path: Path) -> Iterator[Path]:
    """A 24 MB tmpfs of its own, or a skip that says why there is none."""
    where = tmp_path / "small-disk"
    where.mkdir()
    mounted = subprocess.run(
        ["mount", "-t", "tmpfs", "-o", "size=24m", "tmpfs", str(where)],
        capture_output=True,
        text=True,
        check=False,
    )
    if mounted.returncode != 0:
        reason = (mounted.stderr or mounted.stdout).strip().splitlines()
        pytest.skip(
            "cannot mount a 24 MB tmpfs to fill (needs root): "
            f"{reason[0] if reason else mounted.returncode}"
        )
    try:
        yield where
    finally:
        subprocess.run(["umount", "-l", str(where)], check=False)


def _fill(device: Path) -> Path:
    """Write a ballast file until the device has no byte left."""
    ballast = device / "ballast"
    chunk = b"\0" * (1 << 16)
    with ballast.open("wb", buffering=0) as fh:
        try:
            while True:
                fh.write(chunk)
        except OSError as exc:
            assert exc.errno == errno.ENOSPC, exc
        try:  # the last partial page
            while True:
                fh.write(b"\0" * 512)
        except OSError:
            pass
    return ballast


@pytest.mark.reliability  # about 16 s (two runs); tests/cli checks the message itself
def test_a_full_disk_is_one_line_exit_1_and_the_next_run_equals_a_clean_one(
    tmp_path: Path,
    small_disk: Path,
    prefect_server: PrefectServer,
    live_sandbox: LiveSandbox,
    clean_run: CleanRun,
) -> None:
    db, out = small_disk / "full.duckdb", tmp_path / "reports"
    env = cli_env(prefect_server.url, tmp_path / "ph", SECRET)
    app = slowed_app(live_sandbox, 0.2, seed=5)
    with serve_in_thread(app) as base_url:
        proc = start_run(base_url, db, out, live_sandbox.days, env)
        try:
            wait_for_request(app, STREAM_PATHS[1:], proc, "reached its second stream")
            ballast = _fill(small_disk)  # the first stream is committed; now the disk is full
            stdout, stderr = proc.communicate(timeout=240)
        finally:
            if proc.poll() is None:
                proc.kill()
                proc.wait()
    lines = [line for line in (stdout + stderr).splitlines() if line.strip()]
    record("disk_full", case="--db on a full 24 MB tmpfs", exit=proc.returncode, lines=lines)
    assert proc.returncode == 1, stdout + stderr
    assert lines == [
        f"error: no space left on the device holding {db}; nothing was lost: "
        "free space and run again"
    ]
    ballast.unlink()  # free space, and run again
    rerun = cardrecon_run(live_sandbox.base_url, db, out, live_sandbox.days, env)
    assert rerun.returncode == 0, rerun.stdout + rerun.stderr
    with read_db(db) as con, read_db(clean_run.db) as ref:
        assert core_content(con) == core_content(ref)
        assert open_breaks(con) == open_breaks(ref)
        assert rows_lost(con) == 0
