"""B3's pandas peer counts exactly what the DuckDB checks count, check by check.

Each world is extracted, loaded and reconciled once (module-scoped fixture); the peer then
reads the same database into pandas and must give every check that ran the same
(entities checked, breaks, out of window) as the runner's ``result.checks``.

``broken_books`` plants every fault on a card of its own: more cards than a tiny world's 10.
It runs on a world of tiny's shape with 30 cards (all 15 checks break there, in about a
second) rather than the demo world (300 cards, several seconds per dialect).

Extraction covers the whole world there, so one more test extracts a tiny world from a late
start: out-of-window entries, cards with insufficient history (first run), cards rolled
forward from their first snapshot (second run), and snapshots taken days after the history
ends (another database) are compared too.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import NamedTuple

import duckdb
import pandas as pd
import pytest
from support.pipeline import reconcile_world, run_pipeline, world_days

from bench.b3_pandas import CHECK_FUNCTIONS, load_frames, run_checks
from sandbox.generate import SIZES, Size
from sandbox.world import World
from transform.reconcile import CHECKS, ReconResult, reconcile

TINY_30 = Size(cards=30, txns=720, days=21)  # tiny (10 cards, 240 txns, 21 days) x 3

WORLDS = [  # scenario, dialect, size
    ("clean", "v1.4", "tiny"),
    ("clean", "v2.0", "tiny"),
    ("broken_books", "v1.4", "tiny-30"),
    ("broken_books", "v2.0", "tiny-30"),
]


Counts = dict[str, tuple[int, int, int]]


class Reconciled(NamedTuple):
    scenario: str
    con: duckdb.DuckDBPyConnection
    result: ReconResult


@pytest.fixture(scope="module")
def tiny_30() -> Iterator[None]:
    with pytest.MonkeyPatch.context() as mp:
        mp.setitem(SIZES, "tiny-30", TINY_30)
        yield


@pytest.fixture(scope="module", params=WORLDS, ids=lambda w: f"{w[0]}-{w[1]}")
def world(request: pytest.FixtureRequest, tiny_30: None) -> Iterator[Reconciled]:
    scenario, dialect, size = request.param
    con, _, result, _ = reconcile_world(scenario, dialect, size=size, seed=3)
    yield Reconciled(scenario, con, result)
    con.close()


def test_the_peer_has_one_function_per_check_in_order() -> None:
    assert list(CHECK_FUNCTIONS) == [c.name for c in CHECKS]


def assert_same_counts(con: duckdb.DuckDBPyConnection, result: ReconResult) -> Counts:
    """The peer's counts equal the runner's for every check that ran; returns them."""
    skipped = set(result.skipped)
    expected = {
        row["check"]: (row["entities_checked"], row["breaks"], row["out_of_window"])
        for row in result.checks.iter_rows(named=True)
        if row["check"] not in skipped
    }
    got = run_checks(load_frames(con), skip=skipped)
    assert set(got) == set(expected)
    for check, counts in expected.items():
        assert got[check] == counts, check
    return got


def test_pandas_counts_equal_the_duckdb_counts(world: Reconciled) -> None:
    got = assert_same_counts(world.con, world.result)
    if world.scenario == "broken_books":  # the comparison is not one of zeros
        assert all(breaks > 0 for _, breaks, _ in got.values()), got


def test_pandas_counts_equal_the_duckdb_counts_over_a_partial_history() -> None:
    world = World.create(seed=3, size="tiny")
    first, last = world_days(world)
    start = first + timedelta(days=3)  # the cards' ApplyCard logs are mostly before it

    # extracted to today: cards with no opening in the history and one snapshot (info), and
    # ShareBalance entries of transactions held before the history (out of the window)
    con, report, _ = run_pipeline(world, "v1.4", start=start, end=last)
    assert not report.failed, report.failed
    got = assert_same_counts(con, reconcile(con, "r1", datetime.now(UTC)))
    insufficient = con.execute(
        "select count(*) from recon.breaks where \"check\" = 'card_balance' "
        "and severity = 'info' and detail like 'insufficient_history%'"
    ).fetchall()
    assert insufficient[0][0] > 0
    assert got["ledger_missing_txn"][1] == 0 and got["ledger_missing_txn"][2] > 0
    # a second run: the cards are rolled forward from their first snapshot
    run_pipeline(world, "v1.4", con, run_id="r2", start=start, end=last)
    assert_same_counts(con, reconcile(con, "r2", datetime.now(UTC)))
    rolled = con.execute("select count(*) from recon.cards where snapshots > 1").fetchall()
    assert rolled[0][0] > 0
    con.close()

    # extracted to 5 days before the snapshots: the card checks are out of the window
    con, report, _ = run_pipeline(world, "v1.4", start=start, end=last - timedelta(days=5))
    assert not report.failed, report.failed
    got = assert_same_counts(con, reconcile(con, "r1", datetime.now(UTC)))
    assert got["card_balance"][2] > 0 and got["card_credit_usage"][2] > 0
    con.close()


def test_money_is_read_as_integer_cents_and_times_as_utc(world: Reconciled) -> None:
    for name, frame in load_frames(world.con).items():
        for column, dtype in frame.dtypes.items():
            assert not pd.api.types.is_float_dtype(dtype), (name, column)
            if isinstance(dtype, pd.DatetimeTZDtype):
                assert str(dtype.tz) == "UTC", (name, column)


@pytest.mark.parametrize("dialect", ["v2.0", "v1.4"])
def test_pandas_counts_equal_the_duckdb_counts_over_a_closed_period(dialect: str) -> None:
    """A period that ended 10 days ago: settlements and snapshots after it are out of window."""
    world = World.create(seed=3, size="tiny")
    first, last = world_days(world)
    con, report, _ = run_pipeline(world, dialect, start=first, end=last - timedelta(days=10))
    assert not report.failed, report.failed
    result = reconcile(con, "r1", datetime.now(UTC))
    got = assert_same_counts(con, result)
    assert got["card_balance"][2] > 0
    if dialect == "v2.0":  # no settle time: a missing entry may lie after the period
        assert got["txn_missing_ledger"][2] > 0
    con.close()
