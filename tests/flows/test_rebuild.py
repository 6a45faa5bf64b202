"""``cardrecon rebuild``: core, recon and the reports re-derived from raw.pages alone.

A rebuild of a database equals the database (every core table, row for row), and a
rebuild after a money-model edit changes exactly the breaks that edit implies.
"""

from __future__ import annotations

import shutil
from decimal import Decimal
from pathlib import Path
from typing import Any

import duckdb
import pytest
from support.items import END  # a fixed instant: a world ending now changes by the hour
from support.pipeline import run_world
from typer.testing import CliRunner

from flows.cli import app
from flows.rebuild import rebuild
from sandbox import scenarios
from sandbox.world import World
from transform.reconcile import MODEL_DIR, ReconSettings

# when a row was quarantined is the moment it was (the rebuild's own), not a fact of the data
VOLATILE = {"quarantined_at"}


def core_tables(con: duckdb.DuckDBPyConnection) -> dict[str, list[tuple[Any, ...]]]:
    """Every core table's rows, sorted, without the columns that say when we wrote them."""
    out: dict[str, list[tuple[Any, ...]]] = {}
    tables = con.execute(
        "select table_name from duckdb_tables() where schema_name = 'core' order by 1"
    ).fetchall()
    for (table,) in tables:
        cols = [
            c
            for (c,) in con.execute(
                "select column_name from duckdb_columns() where schema_name = 'core' "
                "and table_name = ? order by column_index",
                [table],
            ).fetchall()
            if c not in VOLATILE
        ]
        rows = con.execute(f"select {', '.join(cols)} from core.{table}").fetchall()
        out[table] = sorted(rows, key=repr)
    return out


def breaks(con: duckdb.DuckDBPyConnection) -> set[tuple[Any, ...]]:
    return set(
        con.execute(
            'select "check", entity_type, entity_id, currency, severity, status, expected, '
            "actual, difference from recon.breaks"
        ).fetchall()
    )


@pytest.fixture(scope="module")
def two_runs() -> duckdb.DuckDBPyConnection:
    """A database after a backfill and an incremental run (the second re-reads its lookback),
    with planted breaks, items the loader quarantines and keys that arrive twice, differing."""
    world = World.create(seed=3, size="tiny", end=END)
    scenarios.build("missing_account_entry", world)
    faults = "bad_item=0.03,conflict=0.03,seed=5"
    con, done, _ = run_world(world, "v1.4", run_id="r1", faults=faults, reconcile=True)
    assert not done.extraction.failed
    _, again, _ = run_world(world, "v1.4", con, run_id="r2", faults=faults, reconcile=True)
    assert not again.extraction.failed
    return con


def test_a_rebuild_of_a_database_equals_the_database(two_runs: duckdb.DuckDBPyConnection) -> None:
    con = two_runs
    con.execute("create schema mine; create table mine.notes as select 1 as n")  # a user's
    before, open_before = core_tables(con), breaks(con)
    assert before["transactions"] and before["quarantine"], "the world has rows and quarantines"
    runs_before = con.execute("select * exclude (started_at, updated_at) from meta.runs").fetchall()
    result = rebuild(con)
    assert result.runs == ["r1", "r2"]
    assert result.failures == {}
    after = core_tables(con)
    for table in before:
        assert after[table] == before[table], table
    assert breaks(con) == open_before
    assert con.execute("select n from mine.notes").fetchall() == [(1,)], "not ours: kept"
    runs_after = con.execute("select * exclude (started_at, updated_at) from meta.runs").fetchall()
    assert sorted(runs_after) == sorted(runs_before), "fetched = loaded + quarantined, again"


def test_a_rebuild_after_a_money_model_edit_changes_exactly_the_breaks_it_implies(
    tmp_path: Path,
) -> None:
    world = World.create(seed=5, size="tiny", end=END)
    scenarios.build("clean", world)
    con, done, _ = run_world(world, "v2.0", reconcile=True)
    assert done.verdict in ("reconciled", "reconciled_with_warnings")
    before = breaks(con)
    # the edit: a withdrawal *adds* its principal + fee to the card instead of taking it
    model = tmp_path / "model"
    shutil.copytree(MODEL_DIR, model)
    effects = model / "card_log_effects.csv"
    text = effects.read_text(encoding="utf-8")
    effects.write_text(text.replace("CardWithdraw,Expenditure,-1,", "CardWithdraw,Expenditure,1,"))
    assert effects.read_text(encoding="utf-8") != text
    rebuild(con, ReconSettings(model_dir=model))
    # implied: every Standard card with a completed withdrawal is off by twice its withdrawals
    implied = {
        (card, -2 * total)
        for card, total in con.execute(
            """
            select l.card_id, sum(l.total_amount)
            from core.card_account_logs l
            where l.log_type = 'CardWithdraw' and l.status = 'Completed'
              and l.card_id in (
                  select card_id from core.card_snapshots where card_model = 'Standard')
            group by 1
            """
        ).fetchall()
    }
    assert implied, "the world has withdrawals on Standard cards"
    after = breaks(con)
    new = {(b[2], b[8]) for b in after - before if b[0] == "card_balance" and b[5] == "open"}
    assert new == implied
    assert {b for b in after - before if b[0] != "card_balance"} == set()
    assert set(before - after) <= {b for b in before if b[0] == "card_balance"}
    assert all(isinstance(d, Decimal) for _, d in new)


def test_the_command_rebuilds_a_file_and_writes_its_reports(tmp_path: Path) -> None:
    db = tmp_path / "run.duckdb"
    world = World.create(seed=4, size="tiny", end=END)
    scenarios.build("clean", world)
    con, _, _ = run_world(world, "v2.0", duckdb.connect(str(db)), reconcile=True)
    con.close()
    out = tmp_path / "reports"
    result = CliRunner().invoke(app, ["rebuild", "--db", str(db), "--out", str(out)])
    assert result.exit_code == 0, result.output
    assert "rebuilt 1 run(s)" in result.output
    assert (out / "report.html").is_file() and (out / "breaks.csv").is_file()


def test_a_database_without_raw_pages_is_one_line_and_exit_1(tmp_path: Path) -> None:
    db = tmp_path / "empty.duckdb"
    duckdb.connect(str(db)).close()
    result = CliRunner().invoke(app, ["rebuild", "--db", str(db)])
    assert result.exit_code == 1
    assert "no raw pages: nothing to rebuild from" in result.output
