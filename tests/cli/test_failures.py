"""How a run that raised is said: one line on stderr and the documented exit code.

The full disk is the case here; tests/reliability/test_disk_full.py fills a real one.
"""

from __future__ import annotations

import errno
from pathlib import Path

import duckdb
import pytest
import typer

from flows import failures
from flows.settings import RunSettings as RunPlan
from flows.settings import resolve as plan_run

INVALIDATED = (
    "FATAL Error: Failed: database has been invalidated because of a previous fatal error. "
    "The database must be restarted prior to being used again.\n"
    'Original error: "Failed to create checkpoint because of error: Could not write file '
    '"/mnt/small/x.duckdb": No space left on device"'
)


@pytest.fixture
def plan(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> RunPlan:
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("CARDEPASS_CLIENT_ID", "sandbox")
    monkeypatch.setenv("CARDEPASS_CLIENT_SECRET", "sandbox-secret")
    return plan_run(base_url="http://127.0.0.1:9/openapi", db=str(tmp_path / "x.duckdb"))


def _said(exc: BaseException, plan: RunPlan, capsys: pytest.CaptureFixture[str]) -> str:
    with pytest.raises(typer.Exit) as caught:
        failures.run_failed(exc, plan)
    assert caught.value.exit_code == 1
    out, err = capsys.readouterr()
    assert out == ""
    lines = err.strip().splitlines()
    assert len(lines) == 1, lines
    return lines[0]


def test_a_database_invalidated_by_a_full_disk_is_one_line(
    plan: RunPlan, capsys: pytest.CaptureFixture[str]
) -> None:
    # what the run raised on a 24 MB filesystem: the second error, the first as its context
    try:
        try:
            raise duckdb.FatalException(INVALIDATED.split("\n")[1])
        except duckdb.FatalException:
            raise duckdb.FatalException(INVALIDATED) from None
    except duckdb.FatalException as exc:
        line = _said(exc, plan, capsys)
    assert line == (
        f"error: no space left on the device holding {plan.db_path}; nothing was lost: "
        "free space and run again"
    )


def test_a_full_disk_under_the_reports_names_their_folder(
    plan: RunPlan, capsys: pytest.CaptureFixture[str]
) -> None:
    assert plan.out_dir is not None
    tmp = plan.out_dir / ".report.html.tmp"
    exc = OSError(errno.ENOSPC, "No space left on device", str(tmp))
    line = _said(exc, plan, capsys)
    assert f"no space left on the device holding {plan.out_dir}; nothing was lost" in line


def test_any_other_failure_is_one_line_naming_the_error(
    plan: RunPlan, capsys: pytest.CaptureFixture[str]
) -> None:
    line = _said(RuntimeError("boom\nsecond line"), plan, capsys)
    assert line.startswith("error: the run failed: RuntimeError: boom (rerun with --verbose")
