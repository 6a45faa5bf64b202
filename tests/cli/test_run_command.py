"""`cardrecon run`: bad input is one clear line (exit 2, or 1 for a held file) before Prefect."""

from __future__ import annotations

import re
import socket
import subprocess
import sys
from datetime import UTC, datetime, timedelta
from importlib.metadata import version
from pathlib import Path
from typing import Any

import pytest
from support.holder import held_by_another_process
from typer.testing import CliRunner

from flows.cli import app
from sandbox.server import serve_in_thread

runner = CliRunner()
GOOD = [
    "--base-url",
    "https://test.cardepass.com/openapi",
    "--client-id",
    "id",
    "--client-secret",
    "s3cret-value",
]


@pytest.mark.parametrize(
    ("args", "needle"),
    [
        (["--from", "2026-13-01"], "not a date"),
        (["--to", "yesterday"], "not a date"),
        (["--from", "2026-11-10", "--to", "2026-11-01"], "before --from"),
        (
            [
                "--base-url",
                "http://example.com/openapi",
                "--client-id",
                "a",
                "--client-secret",
                "b",
            ],
            "https://",
        ),
        (
            ["--base-url", "https://test.cardepass.com/openapi", "--client-id", "a"],
            "CARDEPASS_CLIENT_SECRET",
        ),
        ([*GOOD, "--dialect", "v3"], "--dialect"),
        ([*GOOD, "--out", "/proc/cardrecon-out"], "/proc"),
    ],
)
def test_bad_input_is_one_line_and_exit_2(
    args: list[str], needle: str, monkeypatch: pytest.MonkeyPatch, tmp_path: object
) -> None:
    for var in ("CARDEPASS_BASE_URL", "CARDEPASS_CLIENT_ID", "CARDEPASS_CLIENT_SECRET"):
        monkeypatch.delenv(var, raising=False)
    monkeypatch.chdir(tmp_path)  # type: ignore[arg-type]  # no .env from the checkout
    result = runner.invoke(app, ["run", *args])
    assert result.exit_code == 2, result.output
    assert needle in result.output
    assert "Traceback" not in result.output
    assert "s3cret-value" not in result.output
    assert len(result.output.strip().splitlines()) == 1


def _no_credentials(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    for var in ("CARDEPASS_BASE_URL", "CARDEPASS_CLIENT_ID", "CARDEPASS_CLIENT_SECRET"):
        monkeypatch.delenv(var, raising=False)
    monkeypatch.delenv("CARDREC_LABEL", raising=False)
    monkeypatch.chdir(tmp_path)  # no .env from the checkout


def _one_line(result: Any) -> str:
    lines = result.output.strip().splitlines()
    assert len(lines) == 1, result.output
    assert "Traceback" not in result.output
    return str(lines[0])


def test_a_from_date_in_the_future_is_exit_2_not_reconciled(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    _no_credentials(monkeypatch, tmp_path)
    tomorrow = (datetime.now(UTC).date() + timedelta(days=1)).isoformat()
    result = runner.invoke(app, ["run", *GOOD, "--from", tomorrow])
    assert result.exit_code == 2
    assert f"--from {tomorrow} is in the future" in _one_line(result)


@pytest.mark.parametrize("label", ["a/b", "..", "acme eu", "../up", "x:y"])
def test_a_label_that_is_not_a_folder_name_is_exit_2(
    label: str, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    _no_credentials(monkeypatch, tmp_path)
    result = runner.invoke(app, ["run", *GOOD, "--label", label])
    assert result.exit_code == 2
    line = _one_line(result)
    assert "CARDREC_LABEL" in line and "cannot be a folder name" in line


def test_a_bad_cardrec_label_in_the_environment_is_exit_2_for_demo_too(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    _no_credentials(monkeypatch, tmp_path)
    monkeypatch.setenv("CARDREC_LABEL", "eu/acme")
    result = runner.invoke(app, ["demo", "--size", "tiny", "--db", str(tmp_path / "d.duckdb")])
    assert result.exit_code == 2
    assert "'eu/acme' cannot be a folder name" in _one_line(result)


def test_db_naming_a_directory_is_exit_2_before_the_service_or_prefect(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    _no_credentials(monkeypatch, tmp_path)
    # GOOD points at a host this test never reaches: the check comes before the service's
    result = runner.invoke(app, ["run", *GOOD, "--db", str(tmp_path)])
    assert result.exit_code == 2
    assert f"--db {tmp_path} is a directory" in _one_line(result)


def test_a_locked_database_is_found_before_prefect_with_duckdbs_full_link(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    _no_credentials(monkeypatch, tmp_path)
    db = tmp_path / "held.duckdb"
    with held_by_another_process(db, seconds=30) as holder_pid:
        result = runner.invoke(app, ["run", *GOOD, "--db", str(db)])
    assert result.exit_code == 1
    line = _one_line(result)
    assert f"{db} is in use by another cardrecon run (PID {holder_pid};" in line
    link = re.search(r"see (\S+?)\)", line)
    assert link and link.group(1).startswith("https://duckdb.org/"), line


async def _no_api_here(scope: dict[str, Any], receive: Any, send: Any) -> None:
    """A web server that is not the cardepass API: 404 for every path."""
    assert scope["type"] == "http"
    await send({"type": "http.response.start", "status": 404, "headers": []})
    await send({"type": "http.response.body", "body": b"Not Found"})


def test_a_404_token_endpoint_says_no_api_at_the_url_not_bad_credentials(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    _no_credentials(monkeypatch, tmp_path)
    with serve_in_thread(_no_api_here) as base_url:
        result = runner.invoke(
            app,
            [
                "run",
                "--base-url",
                base_url,
                "--client-id",
                "id",
                "--client-secret",
                "s3cret-value",
                "--db",
                str(tmp_path / "x.duckdb"),
            ],
        )
    assert result.exit_code == 2
    line = _one_line(result)
    assert f"no cardepass API at {base_url} (HTTP 404): check CARDEPASS_BASE_URL" in line
    assert "credentials" not in line and "s3cret-value" not in line


def test_version_prints_the_package_version() -> None:
    result = runner.invoke(app, ["--version"])
    assert result.exit_code == 0
    assert result.output.strip() == f"cardrecon {version('cardrecon')}"


def test_shell_completion_installs_and_completes_the_commands(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setenv("HOME", str(tmp_path))
    monkeypatch.setenv("_TYPER_COMPLETE_TEST_DISABLE_SHELL_DETECTION", "1")
    installed = runner.invoke(app, ["--install-completion", "bash"], prog_name="cardrecon")
    assert installed.exit_code == 0, installed.output
    script = tmp_path / ".bash_completions" / "cardrecon.sh"
    assert "_CARDRECON_COMPLETE=complete_bash" in script.read_text()
    assert str(script) in (tmp_path / ".bashrc").read_text()
    # what the installed script asks the program when Tab is pressed after `cardrecon ru`
    completed = runner.invoke(
        app,
        [],
        prog_name="cardrecon",
        env={
            "_CARDRECON_COMPLETE": "complete_bash",
            "COMP_WORDS": "cardrecon ru",
            "COMP_CWORD": "1",
        },
    )
    assert completed.output.split() == ["run"], completed.output


def test_an_unreachable_service_is_one_line_on_stderr_retries_included(tmp_path: Path) -> None:
    with socket.socket() as probe:  # a loopback port where nothing listens
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    url = f"http://127.0.0.1:{port}/openapi"
    proc = subprocess.run(
        [sys.executable, "-m", "flows.cli", "run", "--base-url", url, *GOOD[2:]],
        capture_output=True,
        text=True,
        timeout=60,
        cwd=tmp_path,
        check=False,
    )
    assert proc.returncode == 1
    assert proc.stdout == ""
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: the service cannot be used: "), lines
