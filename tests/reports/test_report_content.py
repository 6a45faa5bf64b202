"""What the reports say, given a handful of hand-made breaks in an in-memory recon schema."""

from __future__ import annotations

import csv
import re
import zipfile
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

import duckdb
import pytest

from reports import ReportError, load_report, write_reports
from reports.data import at_stake
from reports.html import render_html
from reports.xlsx import sheet_name

SQL = Path(__file__).parents[2] / "transform" / "sql"
RUN = "run-9"
AT = datetime(2026, 11, 1, 12, 0, tzinfo=UTC)


def brk(n: int, **over: Any) -> dict[str, Any]:
    row: dict[str, Any] = {
        "break_id": f"b{n:05d}", "check": "fee_mismatch", "severity": "error",
        "entity_type": "order", "entity_id": f"C1000-{n:05d}", "card_id": f"card{n}",
        "currency": "USD", "expected": Decimal("10.00"), "actual": Decimal("10.25"),
        "difference": Decimal("0.25"), "as_of": AT, "detail": f"row-{n}",
        "first_seen_at": AT, "last_seen_at": AT, "status": "open", "run_id": RUN,
        "root_id": None,
    }  # fmt: skip
    return row | over


def recon_db(
    breaks: list[dict[str, Any]], verdict: str = "breaks", note: str | None = None
) -> duckdb.DuckDBPyConnection:
    """The recon tables, reconciled at AT, with ``breaks``: the ages and amounts at stake the
    reports read are recon.aged_breaks's (reconcile creates it over the core tables)."""
    con = duckdb.connect()
    con.execute((SQL / "recon.sql").read_text(encoding="utf-8"))
    con.execute("insert into recon.params (run_id, as_of) values (?, ?)", [RUN, AT])
    con.execute((SQL / "marts" / "aged_breaks.sql").read_text(encoding="utf-8"))
    if breaks:
        columns = list(breaks[0])
        quoted = ", ".join(f'"{c}"' for c in columns)  # "check" is a keyword
        con.executemany(
            f"insert into recon.breaks ({quoted}) values ({', '.join('?' for _ in columns)})",
            [list(b.values()) for b in breaks],
        )
    con.execute(
        "insert into recon.run_summary (run_id, section, name, verdict, note, generated_at) "
        "values (?, 'run', ?, ?, ?, ?)",
        [RUN, RUN, verdict, note, AT],
    )
    con.execute(
        "insert into recon.run_summary (run_id, section, name, fetched, loaded, quarantined, "
        "out_of_window, generated_at) values (?, 'stream', 'transactions', 10, 9, 1, 0, ?)",
        [RUN, AT],
    )
    checks = {"card_balance": "error"} | {b["check"]: b["severity"] for b in breaks}
    for check, severity in checks.items():
        con.execute(
            "insert into recon.check_runs values (?, ?, ?, 100, 0, 0, null, ?, 0)",
            [RUN, check, severity, AT],
        )
        con.execute(
            "insert into recon.run_summary (run_id, section, name, currency, entities_checked, "
            "errors, warnings, infos, abs_difference, generated_at) "
            "values (?, 'check', ?, 'USD', 100, 0, 0, 0, 0, ?)",
            [RUN, check, AT],
        )
    return con


@pytest.mark.parametrize(
    ("moved_before", "age_days", "bucket"),
    [
        (timedelta(0), 0, "0-1 d"),
        (timedelta(days=1, hours=23), 1, "0-1 d"),
        (timedelta(days=2), 2, "2-7 d"),
        (timedelta(days=7, hours=23), 7, "2-7 d"),
        (timedelta(days=8), 8, "8-30 d"),
        (timedelta(days=30, hours=23), 30, "8-30 d"),
        (timedelta(days=31), 31, "> 30 d"),
        (timedelta(days=400), 400, "> 30 d"),
    ],
)
def test_a_break_ages_from_its_money_movement_and_is_open_from_first_seen(
    moved_before: timedelta, age_days: int, bucket: str
) -> None:
    """Issue 12: a 52-day-old missing entry showed 0-1 d, because age counted from first seen."""
    con = recon_db([brk(1, as_of=AT - moved_before, first_seen_at=AT - timedelta(hours=3))])
    row = load_report(con, RUN).breaks.row(0, named=True)
    assert (row["age_days"], row["age_bucket"], row["days_open"]) == (age_days, bucket, 0)


def test_days_open_count_from_first_seen_and_the_bucket_follows_the_age() -> None:
    con = recon_db([brk(1, as_of=AT - timedelta(days=52), first_seen_at=AT - timedelta(days=9))])
    row = load_report(con, RUN).breaks.row(0, named=True)
    assert (row["age_days"], row["days_open"], row["age_bucket"]) == (52, 9, "> 30 d")


def test_the_age_buckets_are_defined_once_in_sql_and_named_alike_in_python() -> None:
    from reports.data import AGE_BUCKETS

    con = recon_db([])
    labels = con.execute(
        "select recon.age_bucket(d) from range(0, 400) t(d) group by 1 order by min(d)"
    ).fetchall()
    assert tuple(r[0] for r in labels) == AGE_BUCKETS


def test_breaks_sort_open_first_then_severity_check_and_amount_at_stake() -> None:
    con = recon_db([
        brk(1, status="resolved"),
        brk(2, severity="info", check="auth_settle_variance"),
        brk(3, difference=Decimal("3.00")),
        brk(4, difference=Decimal("-5.00")),
        brk(5, check="missing_account_entry", expected=Decimal("-7.00"), actual=None,
            difference=None),
        brk(6, severity="warning", check="stale_authorization"),
        brk(7, check="missing_account_entry", expected=Decimal("-900.00"), actual=None,
            difference=None),
    ])  # fmt: skip
    ids = load_report(con, RUN).breaks.get_column("break_id").to_list()
    assert ids == ["b00004", "b00003", "b00007", "b00005", "b00006", "b00002", "b00001"]


def test_money_stays_decimal_text_in_csv_and_exact_in_excel(tmp_path: Path) -> None:
    con = recon_db([
        brk(1, expected=Decimal("1234567890.12"), actual=Decimal("0.10"),
            difference=Decimal("-1234567890.02")),
    ])  # fmt: skip
    write_reports(con, RUN, tmp_path)
    with (tmp_path / "breaks.csv").open(encoding="utf-8") as f:
        row = next(csv.DictReader(f))
    assert (row["expected"], row["actual"], row["difference"]) == (
        "1234567890.12",
        "0.10",
        "-1234567890.02",
    )
    assert row["first_seen_at"] == "2026-11-01T12:00:00Z"
    with zipfile.ZipFile(tmp_path / "report.xlsx") as z:
        open_breaks = z.read("xl/worksheets/sheet2.xml").decode()
    assert "<v>1234567890.12</v>" in open_breaks
    assert "<v>0.1</v>" in open_breaks


def test_amount_at_stake_sums_open_errors_per_currency_using_the_side_that_exists() -> None:
    rows = [
        brk(1, difference=Decimal("-2.50")),
        brk(2, expected=Decimal("-100.00"), actual=None, difference=None),  # missing entry
        brk(3, currency="EUR", difference=Decimal("1.00")),
        brk(4, severity="warning", difference=Decimal("50.00")),
        brk(5, status="resolved", difference=Decimal("70.00")),
    ]
    report = load_report(recon_db(rows), RUN)
    assert at_stake(report.breaks.to_dicts()) == {"EUR": Decimal("1.00"), "USD": Decimal("102.50")}
    html = render_html(report)
    assert "102.50" in html
    assert "1.00" in html


def test_amount_at_stake_counts_one_money_movement_once() -> None:
    """Issue 12: a dropped entry showed as missing_account_entry and account_ledger_chain and
    its 241.39 was at stake twice."""
    rows = [
        brk(1, check="missing_account_entry", expected=Decimal("-241.39"), actual=None,
            difference=None),
        brk(2, check="account_ledger_chain", entity_type="account_log", expected=Decimal("9.00"),
            actual=Decimal("-232.39"), difference=Decimal("-241.39"), root_id="b00001"),
        brk(3, difference=Decimal("1.00")),
    ]  # fmt: skip
    report = load_report(recon_db(rows), RUN)
    assert at_stake(report.breaks.to_dicts()) == {"USD": Decimal("242.39")}
    html = render_html(report)
    assert "242.39" in html and "483.78" not in html
    ids = report.breaks.get_column("break_id").to_list()
    assert ids.index("b00002") == ids.index("b00001") + 1  # under its root
    assert html.index('<tr class="child">') > html.index("C1000-00001")


def test_infos_are_notes_not_open_breaks() -> None:
    """Issue 12: a clean v1.4 demo showed "1,153 open breaks" on a red tile: infos."""
    rows = [brk(1), brk(2, severity="warning", check="stale_authorization")] + [
        brk(n, severity="info", check="auth_settle_variance") for n in range(3, 8)
    ]
    report = load_report(recon_db(rows), RUN)
    assert report.open_breaks.height == 2
    assert report.open_notes.height == 5
    html = render_html(report)
    tile = html[html.index("<h3>Open breaks</h3>") :][:600]
    assert '<div class="big">2</div>' in tile
    assert "5 notes (info)" in tile
    assert "<h2>Notes" in html and "auth_settle_variance" in html
    table = html[html.index('<table class="breaks"') :]
    table = table[: table.index("</table>")]
    assert "auth_settle_variance" not in table  # counted as notes, not listed as breaks


def test_the_header_says_the_label_the_period_the_snapshot_and_the_dialect() -> None:
    con = recon_db([brk(1)])
    con.execute(
        "update recon.run_summary set label = 'acme-eu', dialect = 'v1.4', "
        "period_from = date '2026-10-01', period_to = date '2026-10-31', "
        "snapshot_at = timestamptz '2026-11-02 06:00:00+00'"
    )
    html = render_html(load_report(con, RUN))
    header = html[html.index("<header") : html.index("</header>")]
    for text in ("acme-eu", "2026-10-01 to 2026-10-31 (UTC)", "2026-11-02 06:00 UTC", "v1.4"):
        assert text in header, text


def test_html_lists_at_most_1000_open_breaks_and_points_to_the_csv() -> None:
    con = recon_db([brk(n) for n in range(1005)])
    html = render_html(load_report(con, RUN))
    assert "Showing the first 1,000 of 1,005 open breaks" in html
    assert "the other 5 are in breaks.csv" in html
    assert len(re.findall(r">row-\d+<", html)) == 1000


def test_html_escapes_every_text_it_shows() -> None:
    con = recon_db([
        brk(1, detail='<script>alert("x")</script> & more', entity_id='C1"<b>'),
    ])  # fmt: skip
    html = render_html(load_report(con, RUN))
    assert "<script" not in html
    assert "&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt; &amp; more" in html
    assert "C1&quot;&lt;b&gt;" in html


@pytest.mark.parametrize(
    ("verdict", "note", "shown"),
    [
        ("incomplete", "stream transactions failed: timed out", "stream transactions failed"),
        ("reconciled_with_warnings", None, "Reconciled with warnings"),
        ("breaks", None, "Breaks found"),
    ],
)
def test_html_badge_names_the_verdict(verdict: str, note: str | None, shown: str) -> None:
    html = render_html(load_report(recon_db([brk(1)], verdict, note), RUN))
    assert shown in html


def test_an_incomplete_run_without_breaks_does_not_claim_all_reconciled() -> None:
    html = render_html(load_report(recon_db([], "incomplete", "orders failed"), RUN))
    assert "All checks reconciled" not in html
    assert "the run is incomplete" in html


def test_a_run_without_a_summary_is_a_clear_error(tmp_path: Path) -> None:
    with pytest.raises(ReportError, match="run 'nope' has no summary"):
        write_reports(recon_db([]), "nope", tmp_path)


def test_a_folder_that_cannot_be_created_is_a_clear_error(tmp_path: Path) -> None:
    blocker = tmp_path / "a-file"
    blocker.write_text("x")
    with pytest.raises(ReportError, match="cannot create the report folder"):
        write_reports(recon_db([brk(1)]), RUN, blocker / "reports")


@pytest.mark.parametrize(
    ("wanted", "used", "name"),
    [
        ("fee_mismatch", set(), "fee_mismatch"),
        ("x" * 40, set(), "x" * 31),
        ("a/b:c*d?[e]", set(), "a_b_c_d__e_"),
        ("Summary", {"summary"}, "Summary (2)"),
        ("y" * 40, {"y" * 31}, "y" * 27 + " (2)"),
    ],
)
def test_sheet_names_are_valid_unique_and_short(wanted: str, used: set[str], name: str) -> None:
    assert sheet_name(wanted, used) == name


def test_checks_with_comparisons_out_of_window_are_not_said_to_tie() -> None:
    """A closed period: the snapshots came after it, so card_balance could not compare them."""
    con = recon_db([], verdict="reconciled")
    con.execute("update recon.check_runs set out_of_window = 5 where \"check\" = 'card_balance'")
    html = render_html(load_report(con, RUN))
    assert "ties where compared" in html
    assert "every check that ran ties" not in html
    assert "except 5 comparisons whose other side lies outside the extracted history" in html


def test_untrusted_records_and_what_they_blocked_are_said_and_nothing_blocked_ties() -> None:
    """Three transactions quarantined: the report says so first, names the checks they
    blocked, and never says those checks tie."""
    from support.pipeline import run_pipeline

    from sandbox.world import World
    from transform.reconcile import reconcile, write_summary

    world = World.create(seed=4, size="tiny")
    con, report, _ = run_pipeline(world, "v1.4", faults="bad_item=0.3,seed=5")
    reconcile(con, "r1", datetime.now(UTC))
    assert write_summary(con, "r1", report.failed, dialect="v1.4") == "breaks"
    loaded = load_report(con, "r1")
    assert loaded.untrusted > 0
    assert loaded.blocked, "the bad transactions block some comparisons"
    html = render_html(loaded)
    assert "Untrusted records" in html
    assert f"{loaded.untrusted} record" in html
    for check, n in loaded.blocked:
        assert f"{check} {n:,}" in html
    rows = re.findall(r'<td class="check">([a-z_]+)</td>.*?<td>(.*?)</td>', html)
    said = dict(rows)
    for check, _ in loaded.blocked:
        assert "ties</span>" not in said[check] or "where compared" in said[check], check


def test_a_check_that_compared_nothing_is_not_said_to_tie() -> None:
    con = recon_db([], verdict="reconciled")
    con.execute("update recon.check_runs set entities_checked = 0 where \"check\" = 'card_balance'")
    html = render_html(load_report(con, RUN))
    row = re.search(r'<td class="check">card_balance</td>.*?</tr>', html, flags=re.S)
    assert row is not None and "nothing to compare" in row.group(0)
    assert "pill ok" not in row.group(0)
