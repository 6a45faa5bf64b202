"""The console summary: what a run covers first, open breaks (errors and warnings) apart
from notes (infos), whole lines when the output is not a terminal, and `--quiet`'s line.

The result printed is a real one: a tiny v1.4 world with a planted break, extracted,
loaded and reconciled in memory (no Prefect), then ``PipelineResult.as_dict()``.
"""

from __future__ import annotations

import io
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from rich.console import Console
from support.pipeline import run_pipeline

from extract.streams import StreamName
from flows.console import whole_lines
from flows.pipeline import PipelineResult
from flows.runner import print_summary, quiet_line
from flows.summary import summary_markdown, summary_rows
from sandbox import scenarios
from sandbox.world import World
from transform.reconcile import reconcile, write_summary

LABEL = "acme-eu"


@pytest.fixture(scope="module")
def result() -> dict[str, Any]:
    world = World.create(seed=3, size="tiny")
    scenarios.build("missing_account_entry", world)
    con, report, _ = run_pipeline(world, "v1.4")
    recon = reconcile(con, "r1", datetime.now(UTC))
    verdict = write_summary(con, "r1", report.failed, label=LABEL, dialect="v1.4")
    first = report.windows["transactions"][0]
    # transactions as a later run reads them: from a watermark a week after the first day
    marks: dict[StreamName, date | None] = {
        "transactions": first + timedelta(days=7),
        "card_account_logs": None,
        "account_logs": None,
    }
    out = Path("data/reports") / LABEL / "r1"
    done = PipelineResult(
        "r1", verdict, report, recon, {}, Path("x.duckdb"), out, summary_rows(con, "r1"),
        LABEL, marks, 7,
    )  # fmt: skip
    return done.as_dict()


def _printed(result: dict[str, Any]) -> str:
    console = Console(file=io.StringIO())  # not a terminal: a pipe, a file, cron
    whole_lines(console)
    print_summary(console, result)
    text = console.file.getvalue()  # type: ignore[attr-defined]
    assert isinstance(text, str)
    return text


def test_the_first_lines_say_label_dialect_period_snapshot_and_each_streams_origin(
    result: dict[str, Any],
) -> None:
    lines = _printed(result).splitlines()
    run_row = next(r for r in result["summary"] if r["section"] == "run")
    assert lines[0] == f"r1: breaks (1 open error, 0 warnings; {result['requests']} requests)"
    assert result["period"] == {"from": run_row["period_from"], "to": run_row["period_to"]}
    snap = datetime.fromisoformat(result["snapshot_at"]).strftime("%Y-%m-%d %H:%M:%S UTC")
    assert lines[1] == (
        f"covers: label {LABEL}, dialect v1.4, period {run_row['period_from']} to "
        f"{run_row['period_to']}, snapshots at {snap}"
    )
    start = result["streams"]["transactions"]["from"]
    mark = result["streams"]["transactions"]["watermark"]
    assert lines[2] == (
        f"  transactions: incremental from {start} (watermark {mark} minus the 7-day lookback)"
    )
    assert lines[3] == f"  card_account_logs: backfill from {start}"
    assert lines[4] == f"  account_logs: backfill from {start}"


def test_infos_are_notes_not_open_breaks(result: dict[str, Any]) -> None:
    checks = [r for r in result["summary"] if r["section"] == "check"]
    infos = sum(r["infos"] or 0 for r in checks if r["name"] == "auth_settle_variance")
    assert infos > 0, "the world has settled amounts that differ from their authorisation"
    text = _printed(result)
    table = text[text.index("open breaks") : text.index("notes")]
    assert "missing_account_entry" in table
    assert "auth_settle_variance" not in table and "info" not in table
    notes = [line for line in text.splitlines() if line.startswith("notes (info, not breaks): ")]
    assert len(notes) == 1 and f"auth_settle_variance {infos:,}" in notes[0], text


def test_output_that_is_not_a_terminal_is_never_cut_at_80_columns(
    result: dict[str, Any],
) -> None:
    text = _printed(result)
    assert "…" not in text
    assert max(len(line) for line in text.splitlines()) > 80  # it would have been cut


def test_quiet_is_one_line_with_verdict_counts_and_reports(result: dict[str, Any]) -> None:
    line = quiet_line(result)
    assert "\n" not in line
    assert (
        line
        == f"r1: breaks, 1 open error, 0 warnings; reports in {Path('data/reports') / LABEL / 'r1'}"
    )
    more = quiet_line(result | {"open_errors": 3, "open_warnings": 1})
    assert ", 3 open errors, 1 warning; " in more
    failed = quiet_line(result | {"verdict": "incomplete", "failed": ["cards: boom\nagain"]})
    assert "\n" not in failed and failed.endswith("; failed: cards: boom again")


def test_the_markdown_artifact_says_what_the_run_covers(result: dict[str, Any]) -> None:
    markdown = summary_markdown(result)
    assert f"label {LABEL}, dialect v1.4, period {result['period']['from']} to" in markdown
    assert "snapshots at " in markdown and "snapshots at none" not in markdown
    assert "| transactions | incremental from " in markdown
    assert "| account_logs | backfill from " in markdown


def test_a_closed_period_never_says_its_snapshots_tie() -> None:
    """A period that ended before the snapshots: the balance checks could not compare them,
    so they are listed as out of window, not among the checks that tie out."""
    world = World.create(seed=3, size="tiny")
    scenarios.build("clean", world)
    last = datetime.fromtimestamp(world.as_of / 1000, UTC).date() - timedelta(days=5)
    con, report, _ = run_pipeline(world, "v2.0", end=last)
    recon = reconcile(con, "r1", datetime.now(UTC))
    verdict = write_summary(con, "r1", report.failed, label=LABEL, dialect="v2.0")
    marks: dict[StreamName, date | None] = dict.fromkeys(report.windows)
    done = PipelineResult(
        "r1", verdict, report, recon, {}, Path("x.duckdb"), Path("r"), summary_rows(con, "r1"),
        LABEL, marks, 7,
    )  # fmt: skip
    lines = _printed(done.as_dict()).splitlines()
    tie_out = next(line for line in lines if line.startswith("tie out: "))
    outside = next(line for line in lines if line.startswith("out of window (not compared"))
    assert "card_balance" not in tie_out and "account_balance" not in tie_out
    assert "card_balance " in outside and "account_balance " in outside


def test_the_console_says_untrusted_records_and_never_that_a_blocked_check_ties() -> None:
    from flows.runner import _print_checks

    def row(name: str, errors: int = 0, blocked: int = 0, checked: int = 10) -> dict[str, Any]:
        return {
            "name": name, "currency": None, "errors": errors, "warnings": 0, "infos": 0,
            "abs_difference": 0, "out_of_window": 0, "note": None,
            "blocked_by_quarantine": blocked, "entities_checked": checked,
        }  # fmt: skip

    buf = io.StringIO()
    console = Console(file=buf, width=200, color_system=None)
    _print_checks(
        console,
        [
            row("quarantined_record", errors=3),
            row("ledger_missing_txn", blocked=6),
            row("fee_mismatch"),
        ],
    )
    text = buf.getvalue()
    flat = " ".join(text.split())
    assert "untrusted records: 3 quarantined and not replaced" in flat
    assert (
        "blocked by quarantine (not compared: they include one of them): ledger_missing_txn 6"
        in flat
    )
    tie_line = next(line for line in text.splitlines() if line.startswith("tie out:"))
    assert "fee_mismatch" in tie_line and "ledger_missing_txn" not in tie_line


def test_the_markdown_artifact_says_how_many_records_are_untrusted(result: dict[str, Any]) -> None:
    rows = [dict(r) for r in result["summary"]]
    assert "untrusted record" not in summary_markdown(result)  # none in this run
    rows.append({**next(r for r in rows if r["section"] == "check"), "name": "quarantined_record",
                 "errors": 2, "blocked_by_quarantine": 0})  # fmt: skip
    markdown = summary_markdown(result | {"summary": rows})
    assert "**2 untrusted record(s)**: quarantined and not replaced" in markdown
    assert "| blocked by quarantine |" in markdown


def test_a_check_with_nothing_to_compare_is_not_said_to_tie() -> None:
    from flows.runner import _print_checks

    base = {"currency": None, "errors": 0, "warnings": 0, "infos": 0, "abs_difference": 0,
            "out_of_window": 0, "note": None, "blocked_by_quarantine": 0}  # fmt: skip
    buf = io.StringIO()
    _print_checks(
        Console(file=buf, width=200, color_system=None),
        [
            base | {"name": "quarantined_record", "entities_checked": 0},
            base | {"name": "fee_mismatch", "entities_checked": 5},
        ],
    )
    lines = buf.getvalue().splitlines()
    assert "tie out: fee_mismatch" in lines
    assert "nothing to compare: quarantined_record" in lines
