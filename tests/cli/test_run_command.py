"""`cardrecon run`: bad input is one clear line and exit 2, before anything starts."""

from __future__ import annotations

import pytest
from typer.testing import CliRunner

from flows.cli import app

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
