"""A break has one age, one bucket and one amount at stake, wherever it is shown.

Issue 14: the age bucket was computed twice, by ``recon.open_breaks`` at the
reconciliation's ``as_of`` and by the reports at their own time (and, before that, in
calendar days in one place and elapsed days in the other), so one break could be ``2-7 d``
in the database and ``8-30 d`` in ``report.html``. The one definition is ``recon.aged_breaks``:
whole elapsed UTC days to the reconciliation's ``as_of``, the time the data describes.
"""

from __future__ import annotations

import csv
import re
import zipfile
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path

import duckdb
import pyarrow.parquet as pq
import pytest
from support.builders import cover_all, make_card_log, prepare

from reports import load_report, write_reports
from transform.reconcile import reconcile, write_summary

MOVED = datetime(2026, 1, 1, 23, 0, tzinfo=UTC)  # the card log completes: the money moves
RECONCILED = datetime(2026, 1, 9, 1, 0, tzinfo=UTC)  # 7 d 2 h later, 8 calendar days later
REPORTED = RECONCILED + timedelta(days=2)  # the report is written two days after that
RUN = "r1"
AGE, BUCKET = 7, "2-7 d"
STAKE = Decimal("101.00")  # the top-up's principal and fee, which never reached the account


@pytest.fixture
def reported(tmp_path: Path) -> tuple[duckdb.DuckDBPyConnection, Path]:
    """A funding entry missing from the ledger, reconciled at RECONCILED; its reports
    written at REPORTED (the summary they read stamped then)."""
    assert timedelta(days=7, hours=2) == RECONCILED - MOVED
    assert (RECONCILED.date() - MOVED.date()).days == 8
    con = duckdb.connect()
    prepare(con)
    cover_all(con)
    make_card_log(con, trans_at=MOVED - timedelta(minutes=1))  # completes a minute later
    reconcile(con, RUN, RECONCILED)
    write_summary(con, RUN)
    con.execute("update recon.run_summary set generated_at = ? where run_id = ?", [REPORTED, RUN])
    write_reports(con, RUN, tmp_path)
    return con, tmp_path


def test_a_break_of_7_days_2_hours_over_8_calendar_days_is_in_one_bucket_everywhere(
    reported: tuple[duckdb.DuckDBPyConnection, Path],
) -> None:
    con, out = reported
    want = {("missing_account_entry", AGE, 0, BUCKET)}
    stored = con.execute('select "check", age_days, days_open, age_bucket from recon.open_breaks')
    assert set(stored.fetchall()) == want
    with (out / "breaks.csv").open(encoding="utf-8") as f:
        exported = [
            (r["check"], r["age_days"], r["days_open"], r["age_bucket"]) for r in csv.DictReader(f)
        ]
    assert {(c, int(age), int(days), bucket) for c, age, days, bucket in exported} == want
    table = pq.read_table(out / "breaks.parquet").select(
        ["check", "age_days", "days_open", "age_bucket"]
    )
    assert {tuple(r.values()) for r in table.to_pylist()} == want
    assert _xlsx_column(out / "report.xlsx", "open breaks", "age_bucket") == [BUCKET]
    assert _xlsx_column(out / "report.xlsx", "open breaks", "age_days") == [str(AGE)]
    html = (out / "report.html").read_text(encoding="utf-8")
    assert re.findall(r'<td class="age">([^<]*)</td>', html) == [BUCKET]
    by_age = load_report(con, RUN).open_by_age()
    assert {b: sum(n.values()) for b, n in by_age.items() if n} == {BUCKET: 1}


def test_the_amount_at_stake_is_one_rule_in_the_view_the_summary_and_the_reports(
    reported: tuple[duckdb.DuckDBPyConnection, Path],
) -> None:
    con, out = reported
    assert con.execute("select at_stake from recon.open_breaks").fetchall() == [(STAKE,)]
    summary = con.execute(
        "select abs_difference from recon.run_summary "
        "where section = 'check' and name = 'missing_account_entry'"
    ).fetchall()
    assert summary == [(STAKE,)]
    report = load_report(con, RUN)
    assert [(c, n, amount) for c, _, _, n, amount in report.open_by_check_currency()] == [
        ("missing_account_entry", 1, STAKE)
    ]
    html = (out / "report.html").read_text(encoding="utf-8")
    tile = html[html.index("<h3>Amount at stake</h3>") :][:600]
    assert f"{STAKE:,.2f}" in tile


def _xlsx_column(path: Path, sheet: str, header: str) -> list[str]:
    """The values under ``header`` in ``sheet`` of an xlsxwriter workbook, as text."""
    with zipfile.ZipFile(path) as z:
        names = re.findall(r'<sheet name="([^"]+)"', z.read("xl/workbook.xml").decode())
        strings = re.findall(r"<si><t[^>]*>(.*?)</t></si>", z.read("xl/sharedStrings.xml").decode())
        xml = z.read(f"xl/worksheets/sheet{names.index(sheet) + 1}.xml").decode()
    cells: dict[tuple[str, int], str] = {}
    for column, row, kind, value in re.findall(
        r'<c r="([A-Z]+)(\d+)"(?: s="\d+")?(?: t="(\w+)")?[^>]*><v>([^<]*)</v></c>', xml
    ):
        cells[(column, int(row))] = strings[int(value)] if kind == "s" else value
    column = next(c for (c, r), v in cells.items() if r == 1 and v == header)
    return [
        v for (c, r), v in sorted(cells.items(), key=lambda kv: kv[0][1]) if c == column and r > 1
    ]
