"""Crash and resume: `cardrecon run` killed with SIGKILL at seeded points, then run again.

Each crash must leave a database whose watermarks never run ahead of the data, and the
rerun must end with exactly the core tables and open breaks of one uninterrupted run.
Crash points are ``flows.crashpoints`` hooks: ``dialect`` (after detection), ``load:N``
(inside the N-th load transaction: rows written, watermark not), ``stream:N`` (after
the N-th stream committed) and ``reconciled`` (breaks written, no reports yet).
"""

from __future__ import annotations

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
    rows_lost,
    unbalanced_runs,
    watermarks,
)
from support.prefect import PrefectServer

DEFAULT_POINT = "load:2"  # mid-load of the second stream, the first one committed
# Found by this suite: killed after the last stream committed but before the snapshots,
# the rerun resumes every stream from its watermark minus the lookback and snapshots only
# the cards and orders referenced in that window, so older orders are never fetched.
ALL_POINTS = [
    "dialect",
    "load:1",
    "load:2",
    "load:3",
    "stream:1",
    "stream:2",
    "stream:3",
    "reconciled",
]


def crash_and_resume(
    point: str,
    tmp_path: Path,
    prefect_server: PrefectServer,
    live_sandbox: LiveSandbox,
    clean_run: CleanRun,
) -> None:
    db, out = tmp_path / "crash.duckdb", tmp_path / "reports"
    home = tmp_path / "prefect-home"
    crashed = cardrecon_run(
        live_sandbox.base_url,
        db,
        out,
        live_sandbox.days,
        cli_env(prefect_server.url, home, SECRET, CARDREC_CRASH_AT=point),
    )
    assert crashed.returncode == -9, f"not killed at {point}: {crashed.stderr}"
    last = live_sandbox.days[1]
    with read_db(clean_run.db) as ref:
        with read_db(db) as con:
            marks = watermarks(con)
            for stream, mark in marks.items():
                assert mark <= last
                missing = ids_through(ref, stream, mark) - ids_through(con, stream, mark)
                assert not missing, f"{point}: {stream} watermark {mark} ahead of its data"
        rerun = cardrecon_run(
            live_sandbox.base_url,
            db,
            out,
            live_sandbox.days,
            cli_env(prefect_server.url, home, SECRET),
        )
        assert rerun.returncode == 0, rerun.stdout + rerun.stderr
        want, want_breaks = core_content(ref), open_breaks(ref)
    with read_db(db) as con:
        got, got_breaks = core_content(con), open_breaks(con)
        lost = rows_lost(con)
        unbalanced = unbalanced_runs(con)
        final_marks = watermarks(con)
    diff = {t: (len(want[t]), len(got.get(t, []))) for t in want if want[t] != got.get(t)}
    identical = not diff and got_breaks == want_breaks
    record(
        "crash",
        point=point,
        killed_by_sigkill=crashed.returncode == -9,
        watermarks_at_crash={k: str(v) for k, v in marks.items()},
        rerun_exit=rerun.returncode,
        identical=identical,
        tables_differing=sorted(diff),
        rows={t: len(v) for t, v in got.items()},
        open_breaks=len(got_breaks),
        rows_lost=lost,
    )
    assert not diff, f"{point}: core tables differ (rows want, got): {diff}"
    assert got_breaks == want_breaks, point
    assert not unbalanced and lost == 0
    assert all(m <= last for m in final_marks.values())


def test_a_run_killed_mid_load_resumes_to_the_uninterrupted_result(
    tmp_path: Path,
    prefect_server: PrefectServer,
    live_sandbox: LiveSandbox,
    clean_run: CleanRun,
) -> None:
    crash_and_resume(DEFAULT_POINT, tmp_path, prefect_server, live_sandbox, clean_run)


@pytest.mark.reliability
@pytest.mark.parametrize(
    "point",
    [p for p in ALL_POINTS if p != DEFAULT_POINT],
)
def test_every_crash_point_resumes_to_the_uninterrupted_result(
    point: str,
    tmp_path: Path,
    prefect_server: PrefectServer,
    live_sandbox: LiveSandbox,
    clean_run: CleanRun,
) -> None:
    crash_and_resume(point, tmp_path, prefect_server, live_sandbox, clean_run)
