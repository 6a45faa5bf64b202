"""The six report files of a real run: a sandbox world with every fault, and a clean one."""

from __future__ import annotations

import csv
import re
import shutil
import struct
import subprocess
import zipfile
from decimal import Decimal
from pathlib import Path

import duckdb
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from support.pipeline import RUN_ID, reconciled_db

from reports import REPORT_FILES, write_reports

BREAK_COLUMNS = [
    "break_id", "check", "severity", "entity_type", "entity_id", "card_id", "currency",
    "expected", "actual", "difference", "as_of", "detail", "first_seen_at", "last_seen_at",
    "status", "root_id", "age_days", "days_open", "age_bucket",
]  # fmt: skip
MONEY = ["expected", "actual", "difference"]
CHROMIUM = Path("/usr/bin/chromium")


class Run:
    def __init__(self, con: duckdb.DuckDBPyConnection, out: Path) -> None:
        self.con = con
        self.out = out
        self.files = write_reports(con, RUN_ID, out)

    def scalar(self, sql: str, params: list[object] | None = None) -> object:
        row = self.con.execute(sql, params or []).fetchone()
        assert row is not None
        return row[0]

    def csv_rows(self, name: str) -> list[dict[str, str]]:
        with (self.out / name).open(newline="", encoding="utf-8") as f:
            return list(csv.DictReader(f))

    @property
    def html(self) -> str:
        return (self.out / "report.html").read_text(encoding="utf-8")


@pytest.fixture(scope="module")
def broken(tmp_path_factory: pytest.TempPathFactory) -> Run:
    return Run(reconciled_db("broken_books", "v2.0", "demo"), tmp_path_factory.mktemp("broken"))


@pytest.fixture(scope="module")
def clean(tmp_path_factory: pytest.TempPathFactory) -> Run:
    return Run(reconciled_db("clean", "v2.0", "tiny"), tmp_path_factory.mktemp("clean"))


@pytest.fixture(params=["broken", "clean"])
def run(request: pytest.FixtureRequest) -> Run:
    result: Run = request.getfixturevalue(request.param)
    return result


def test_every_report_file_is_written_directly_into_the_folder(run: Run) -> None:
    assert set(run.files) == set(REPORT_FILES)
    for name, path in run.files.items():
        assert path == run.out / name
        assert path.stat().st_size > 0
    assert sorted(p.name for p in run.out.iterdir()) == sorted(REPORT_FILES)  # no temp files


def test_breaks_files_have_exactly_the_contract_columns(run: Run) -> None:
    with (run.out / "breaks.csv").open(encoding="utf-8") as f:
        assert next(csv.reader(f)) == BREAK_COLUMNS
    assert pq.read_schema(run.out / "breaks.parquet").names == BREAK_COLUMNS


def test_parquet_money_columns_are_decimal_18_2(run: Run) -> None:
    breaks = pq.read_schema(run.out / "breaks.parquet")
    for column in MONEY:
        assert breaks.field(column).type == pa.decimal128(18, 2)
    summary = pq.read_schema(run.out / "summary.parquet")
    for column in ("abs_difference", "amount_on_hold"):
        assert summary.field(column).type == pa.decimal128(18, 2)
    assert breaks.field("first_seen_at").type == pa.timestamp("us", tz="UTC")


def test_csv_money_is_plain_decimal_text_equal_to_duckdb(broken: Run) -> None:
    rows = broken.csv_rows("breaks.csv")
    stored = dict(broken.con.execute("select break_id, difference from recon.breaks").fetchall())
    for row in rows:
        for column in MONEY:
            assert row[column] == "" or re.fullmatch(r"-?\d+\.\d\d", row[column]), row[column]
        want = stored[row["break_id"]]
        assert (Decimal(row["difference"]) if row["difference"] else None) == want


def test_open_break_counts_match_recon_breaks(run: Run) -> None:
    want = run.scalar("select count(*) from recon.breaks where status = 'open'")
    assert sum(r["status"] == "open" for r in run.csv_rows("breaks.csv")) == want
    statuses = pq.read_table(run.out / "breaks.parquet").column("status").to_pylist()
    assert statuses.count("open") == want
    assert len(statuses) == run.scalar("select count(*) from recon.breaks")


def test_breaks_are_sorted_open_first_then_errors_then_check_with_linked_breaks_under_their_root(
    broken: Run,
) -> None:
    rows = broken.csv_rows("breaks.csv")
    rank = {"error": 0, "warning": 1, "info": 2}
    by_id = {r["break_id"]: r for r in rows}
    keys = [
        (r["status"] != "open", rank[by_id[r["root_id"]]["severity"]], by_id[r["root_id"]]["check"])
        for r in rows
    ]
    assert keys == sorted(keys)
    linked = [r for r in rows if r["root_id"] != r["break_id"]]
    assert linked  # broken_books drops a funding entry: its chain break is linked to it
    for r in linked:  # right after its root (or another break of the same root)
        before = rows[rows.index(r) - 1]
        assert r["root_id"] in (before["break_id"], before["root_id"])
    assert {r["days_open"] for r in rows} == {"0"}  # one run: every break is new


def test_every_report_file_says_the_label_period_snapshot_and_dialect(run: Run) -> None:
    scope = run.con.execute(
        "select label, dialect, period_from, period_to, snapshot_at from recon.run_summary "
        "where section = 'run'"
    ).fetchall()[0]
    label, dialect, first, last, snapshot = scope
    assert (label, dialect) == ("default", "v2.0")
    assert first is not None and last is not None and snapshot is not None
    for row in run.csv_rows("summary.csv"):
        assert (row["label"], row["dialect"]) == (label, dialect)
        assert (row["period_from"], row["period_to"]) == (str(first), str(last))
        assert row["snapshot_at"].startswith(snapshot.strftime("%Y-%m-%dT%H:%M:%S"))
    table = pq.read_table(run.out / "summary.parquet")
    assert set(table.column("label").to_pylist()) == {label}
    assert set(table.column("period_to").to_pylist()) == {last}
    with zipfile.ZipFile(run.out / "report.xlsx") as z:
        strings = z.read("xl/sharedStrings.xml").decode()
        summary_sheet = z.read("xl/worksheets/sheet1.xml").decode()
    for header in ("label", "dialect", "period_from", "period_to", "snapshot_at"):
        assert f">{header}<" in strings
    assert f">{label}<" in strings and f">{dialect}<" in strings
    assert '<c r="A2"' in summary_sheet  # rows under the header
    header = run.html[run.html.index("<header") : run.html.index("</header>")]
    assert f"{first} to {last} (UTC)" in header
    assert label in header and dialect in header


def test_amount_at_stake_counts_each_root_once_on_broken_books(broken: Run) -> None:
    """One dropped funding entry is a missing_account_entry and an account_ledger_chain
    break: one movement, whose amount is at stake once."""
    from reports.data import at_stake

    rows = (
        broken.con.sql(
            "select break_id, root_id, status, severity, currency, expected, actual, difference, "
            "at_stake from recon.aged_breaks"
        )
        .pl()
        .to_dicts()
    )
    linked = [r for r in rows if r["root_id"] != r["break_id"] and r["status"] == "open"]
    assert {r["root_id"] for r in linked} <= {r["break_id"] for r in rows}
    assert any(r["severity"] == "error" for r in linked)
    want = dict(
        broken.con.execute(
            "select currency, sum(abs(coalesce(difference, expected, actual))) "
            "from recon.breaks where status = 'open' and severity = 'error' "
            "and root_id = break_id group by currency order by currency"
        ).fetchall()
    )
    assert at_stake(rows) == want
    naive = dict(
        broken.con.execute(
            "select currency, sum(abs(coalesce(difference, expected, actual))) "
            "from recon.breaks where status = 'open' and severity = 'error' "
            "group by currency order by currency"
        ).fetchall()
    )
    assert sum(want.values()) < sum(naive.values())
    tile = broken.html[broken.html.index("<h3>Amount at stake</h3>") :][:800]
    for amount in want.values():
        assert f"{amount:,.2f}" in tile


def test_summary_files_hold_the_runs_summary_rows(run: Run) -> None:
    want = run.scalar("select count(*) from recon.run_summary where run_id = ?", [RUN_ID])
    assert len(run.csv_rows("summary.csv")) == want
    table = pq.read_table(run.out / "summary.parquet")
    assert table.num_rows == want
    assert table.column("section").to_pylist()[0] == "run"


def _sheet_names(path: Path) -> list[str]:
    with zipfile.ZipFile(path) as z:
        workbook = z.read("xl/workbook.xml").decode()
    return re.findall(r'<sheet name="([^"]+)"', workbook)


def test_xlsx_has_summary_open_breaks_and_a_sheet_per_check_with_breaks(broken: Run) -> None:
    sql = (
        "select distinct \"check\" from recon.breaks where status = 'open' "
        "and severity in ('error', 'warning')"
    )
    checks = [r[0] for r in broken.con.execute(sql).fetchall()]
    names = _sheet_names(broken.out / "report.xlsx")
    assert names[:3] == ["summary", "open breaks", "notes"]
    assert sorted(names[3:]) == sorted(checks)
    assert all(len(n) <= 31 for n in names)
    with zipfile.ZipFile(broken.out / "report.xlsx") as z:
        assert "#,##0.00" in z.read("xl/styles.xml").decode()


def test_xlsx_of_a_clean_run_has_only_the_three_main_sheets(clean: Run) -> None:
    assert _sheet_names(clean.out / "report.xlsx") == ["summary", "open breaks", "notes"]


def test_html_shows_the_verdict_and_every_check_with_breaks(broken: Run) -> None:
    html = broken.html
    assert "Breaks found" in html
    for (check,) in broken.con.execute(
        "select distinct \"check\" from recon.breaks where status = 'open'"
    ).fetchall():
        assert check in html


def test_html_of_a_clean_run_says_all_checks_reconciled(clean: Run) -> None:
    assert clean.scalar("select verdict from recon.run_summary where section = 'run'") == (
        "reconciled"
    )
    assert "All checks reconciled" in clean.html
    assert '<table class="breaks"' not in clean.html


def test_html_is_one_self_contained_file(run: Run) -> None:
    html = run.html.lower()
    for banned in ("<script src", "<script", "<link", "http://", "https://", "url(", "@import"):
        assert banned not in html, banned
    assert re.search(r"\ssrc=", html) is None
    assert not list(run.out.glob("*.css")) and not list(run.out.glob("*.js"))


def test_html_renders_in_headless_chromium(broken: Run) -> None:
    chromium = shutil.which("chromium") or (str(CHROMIUM) if CHROMIUM.exists() else None)
    if chromium is None:
        pytest.skip("no Chromium at /usr/bin/chromium (apt-get install chromium) to render with")
    png = broken.out.parent / "report.png"
    subprocess.run(
        [
            chromium,
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-background-networking",
            "--no-first-run",
            f"--screenshot={png}",
            "--window-size=1400,2000",
            (broken.out / "report.html").resolve().as_uri(),
        ],
        check=True,
        capture_output=True,
        timeout=60,
    )
    data = png.read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    width, height = struct.unpack(">II", data[16:24])
    assert (width, height) == (1400, 2000)
    assert len(data) > 50_000  # a blank page compresses to a few kilobytes
