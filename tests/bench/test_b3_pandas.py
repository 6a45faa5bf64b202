"""B3's pandas peer counts exactly what the DuckDB checks count, check by check.

Each world is extracted, loaded and reconciled once (module-scoped fixture); the peer then
reads the same database into pandas and must give every check that ran the same
(entities checked, breaks, out of window, blocked by quarantine) as the runner's
``result.checks``.

``broken_books`` plants every fault on a card of its own: more cards than a tiny world's 10.
It runs on a world of tiny's shape with 30 cards (all 15 checks of the books break there, in
about a second) rather than the demo world (300 cards, several seconds per dialect).

Records that cannot be trusted: a world served with the sandbox's ``bad_item`` fault has
quarantined transactions (one without an id), and quarantined records of every other kind
are added to it, so that ``quarantined_record`` and every check's ``blocked_by_quarantine``
are compared non-zero (the peer's records themselves, ``raw:`` ids included, are compared
with ``recon.quarantined_records``). A busy account served on the service's clock (3 s
behind ours), its ledger copied under one currency per entry around the snapshot's stamp,
compares account_balance's tie within the stamp's second.

Extraction covers the whole world there, so one more test extracts a tiny world from a late
start: out-of-window entries, cards with insufficient history (first run), cards rolled
forward from their first snapshot (second run), and snapshots taken days after the history
ends (another database) are compared too.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any, NamedTuple

import duckdb
import pandas as pd
import pytest
from support.builders import FETCHED, make_quarantined
from support.items import END as WORLD_END
from support.pipeline import reconcile_world, run_pipeline, world_days

from bench.b3_pandas import CHECK_FUNCTIONS, load_frames, quarantined_records, run_checks
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


Counts = dict[str, tuple[int, int, int, int]]


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
        row["check"]: (
            row["entities_checked"],
            row["breaks"],
            row["out_of_window"],
            row["blocked_by_quarantine"],
        )
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
        books = {c: v for c, v in got.items() if c != "quarantined_record"}
        assert all(breaks > 0 for _, breaks, _, _ in books.values()), got


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


RECORD_COLUMNS = ["stream", "entity_type", "entity_id", "card_id", "currency", "ref", "replaced"]


def assert_same_records(con: duckdb.DuckDBPyConnection) -> pd.DataFrame:
    """The peer reads the same quarantined records as ``recon.quarantined_records``."""
    expected = con.execute(
        f"select {', '.join(RECORD_COLUMNS)} from recon.quarantined_records"
    ).fetchall()
    frame = quarantined_records(load_frames(con))[RECORD_COLUMNS]
    got = [
        tuple(None if pd.isna(v) else v for v in row)
        for row in frame.itertuples(index=False, name=None)
    ]
    assert sorted(got, key=repr) == sorted(expected, key=repr)
    return frame


def one(con: duckdb.DuckDBPyConnection, sql: str) -> tuple[Any, ...]:
    row = con.execute(sql).fetchone()
    assert row is not None, sql
    return tuple(row)


def test_pandas_counts_equal_the_duckdb_counts_with_records_quarantined() -> None:
    """bad_item at 0.2 (0.05 quarantines one transaction of a tiny world; 0.2 four, one
    without an id), then a record of every other kind, two replaced, one quarantined twice;
    then a ledger entry naming no currency, and AuthQuery records given amounts.

    The world ends at a fixed instant: one that ends now is a different world at each hour
    of the day, and whether a quarantined transaction lands on a ShareBalance card (and so
    blocks ``card_credit_usage``) depended on when the suite ran."""
    world = World.create(seed=3, size="tiny", end=WORLD_END)
    con, report, _ = run_pipeline(world, "v1.4", faults="bad_item=0.2,seed=3")
    assert not report.failed, report.failed
    got = assert_same_counts(con, reconcile(con, "r1", datetime.now(UTC)))
    records = assert_same_records(con)
    # transactions the service sent unreadable: one break each (one has no id), and the
    # card balances and ledger entries that include them are blocked
    assert got["quarantined_record"][1] == len(records) >= 3
    assert records["entity_id"].str.startswith("raw:").any()
    for check in ("card_balance", "card_credit_usage", "ledger_missing_txn"):
        assert got[check][3] > 0, (check, got[check])

    # a record of every other kind, so that every check has a comparison blocked
    now = datetime.now(UTC)
    order, currency = one(
        con,
        "select l.order_no, a.currency from core.card_account_logs l "
        "join core.account_logs a using (order_no) join recon.cards c on c.card_id = l.card_id "
        "where l.status = 'Completed' and c.card_model = 'Standard' "
        "order by l.completed_at desc, l.order_no limit 1",  # after the ledger's first day
    )
    other = one(
        con, f"select currency from core.account_snapshots where currency <> '{currency}' limit 1"
    )[0]
    txn, sb_card = one(
        con,
        "select transaction_id, card_id from recon.transaction_effects "
        "where card_model = 'ShareBalance' and status = 'settled' and moves_money "
        "order by all limit 1",
    )
    limited = one(
        con,
        "select card_id from recon.cards where card_model = 'ShareBalance' "
        "and used_credit_amount is not null order by all limit 1",
    )[0]
    funded = one(
        con,
        "select o.order_no from core.orders o join core.account_logs a using (order_no) "
        f"where o.order_no <> '{order}' order by all limit 1",
    )[0]
    entries = con.execute(
        "select account_log_id, fetched_at from core.account_logs order by all limit 2"
    ).fetchall()
    standard = one(  # a card no quarantined transaction names
        con,
        "select card_id from recon.cards where card_model = 'Standard' and card_id not in "
        "(select card_id from recon.untrusted where card_id is not null) order by all limit 1",
    )[0]
    entry_raw = {"id": "q-entry", "orderNo": order, "transAmount": {"currency": currency}}
    make_quarantined(con, "account_logs", entry_raw, item_key="q-entry", fetched_at=now)
    # no key (a raw: id): it blocks its currency's balance by the currency it names
    make_quarantined(con, "accounts", {"currency": other, "balance": "x"}, fetched_at=now)
    txn_raw = {"id": txn, "cardInfo": {"cardId": sb_card}, "authAmount": {"amount": 1.005}}
    make_quarantined(con, "transactions", txn_raw, item_key=txn, fetched_at=now)
    make_quarantined(con, "cards", {"cardId": limited}, item_key=limited, fetched_at=now)
    make_quarantined(con, "orders", {"orderNo": funded}, item_key=funded, fetched_at=now)
    # quarantined twice: what it names is read from its latest copy
    for card, seconds_ago in (("q-card", 1), (standard, 0)):
        card_log = {"cardOrderNo": "q-order", "cardInfo": {"cardId": card}}
        at = now - timedelta(seconds=seconds_ago)
        make_quarantined(con, "card_account_logs", card_log, item_key="q-log", fetched_at=at)
    # quarantined before (or when) its valid copy was fetched: replaced, no break
    for (entry, fetched), older in zip(entries, (True, False), strict=True):
        at = FETCHED if older else fetched
        make_quarantined(con, "account_logs", {"id": entry}, item_key=entry, fetched_at=at)
    got = assert_same_counts(con, reconcile(con, "r2", datetime.now(UTC)))
    records = assert_same_records(con)
    assert records["replaced"].sum() == 2
    assert got["quarantined_record"][:2] == (len(records), len(records) - 2)
    assert all(c[3] > 0 for check, c in got.items() if check != "quarantined_record"), str(got)

    # a ledger entry with neither key nor currency: every balance and chain is blocked
    make_quarantined(con, "account_logs", {"transAmount": "x"}, fetched_at=datetime.now(UTC))
    # and AuthQuery moves no money, whatever its amount or status: the verifications
    # (authorised, 0.00) given an amount, and settled on ShareBalance cards, change no card
    # and need no settlement entry
    con.execute(
        "update core.transactions t set auth_amount = 1.00, "
        "status = if(c.card_model = 'ShareBalance', 'settled', t.status), "
        "settled_amount = if(c.card_model = 'ShareBalance', 1.00, t.settled_amount), "
        "settled_at = if(c.card_model = 'ShareBalance', t.auth_at, t.settled_at) "
        "from recon.cards c where c.card_id = t.card_id and t.transaction_type = 'AuthQuery'"
    )
    models = con.execute(
        "select distinct c.card_model from core.transactions t join recon.cards c using (card_id) "
        "where t.transaction_type = 'AuthQuery' and t.auth_amount > 0"
    ).fetchall()
    assert sorted(models) == [("ShareBalance",), ("Standard",)]
    before = got
    got = assert_same_counts(con, reconcile(con, "r3", datetime.now(UTC)))
    assert_same_records(con)
    entities, breaks, _, blocked = got["account_ledger_chain"]
    assert blocked == entities > 0 and breaks == 0
    for check in ("card_balance", "card_credit_usage", "txn_missing_ledger", "stale_authorization"):
        assert got[check] == before[check], check
    con.close()


def test_pandas_counts_equal_the_duckdb_counts_on_the_service_clock() -> None:
    """A busy account (an entry every half second) on a service clock 3 s behind ours ties
    within the second of its snapshot's stamp. Then its busy ledger is copied under one
    currency per entry around the stamp, each with a snapshot showing the balances after that
    entry: those within the stamp's second (and the last before it) tie, the others break, in
    both. Last, the account snapshots lose their stamp (our clock) and the card snapshots'
    stamps are moved back 10 days: the card checks compare at the service's time."""
    world = World.create(seed=2, size="tiny", end=datetime.now(UTC) - timedelta(seconds=30))
    world.add_busy_entries(time.time_ns() // 1_000_000 - 5_000, 60)
    options = {"live_clock": True, "clock_skew_seconds": -3.0}
    con, report, _ = run_pipeline(world, "v2.0", app_options=options)  # v2.0: frozen given
    assert not report.failed, report.failed
    got = assert_same_counts(con, reconcile(con, "r1", datetime.now(UTC)))
    assert got["account_balance"][1] == 0  # the clean world reconciles on the service's clock

    busy = world.primary_currency
    stamp = one(con, f"select service_at from core.account_snapshots where currency = '{busy}'")[0]
    assert stamp is not None
    entries = con.execute(
        "select trans_at, available_balance, blocked_balance from core.account_logs "
        "where currency = ? and trans_at >= ? order by trans_at, account_log_id",
        [busy, stamp - timedelta(seconds=10)],
    ).fetchall()
    second = timedelta(seconds=1)

    def after(at: datetime) -> int:  # the last entry at or before ``at``
        return max(i for i, e in enumerate(entries) if e[0] <= at)

    inside = [i for i, e in enumerate(entries) if stamp - second < e[0] <= stamp + second]
    assert len(inside) >= 3, entries  # several entries within the stamp's second
    just_before, last = after(stamp - second), after(stamp)
    other = next(i for i in inside if entries[i][1] != entries[last][1])
    Pick = tuple[int, int, datetime | None, str]  # entry, frozen cents off, stamp, expected
    picks: list[Pick] = [
        *((i, 0, stamp, "ties") for i in (just_before, *inside)),
        (inside[-1], 0, entries[inside[-1]][0] - second, "ties"),  # a second after the stamp
        (last, 1, stamp, "breaks"),  # frozen a cent off the ledger's blocked
        (other, 0, None, "breaks"),  # no stamp: only the last entry by our clock ties
    ]
    # balances from outside the stamp's resolution break - unless one happens to equal a
    # balance inside it (small fees and top-ups can return to an earlier balance): take the
    # nearest outside entry on each side whose balance none inside has
    allowed = {entries[i][1] for i in (just_before, *inside)}
    before = [j for j in range(just_before - 1, -1, -1) if entries[j][1] not in allowed]
    beyond = [j for j in range(inside[-1] + 1, len(entries)) if entries[j][1] not in allowed]
    picks += [(j[0], 0, stamp, "outside") for j in (before, beyond) if j]
    for k, (i, cents, at, _) in enumerate(picks):  # one currency each, its ledger a copy
        suffix = f"~{k}"
        con.execute(
            "insert into core.account_logs select * replace (account_log_id || ? as "
            "account_log_id, currency || ? as currency, order_no || ? as order_no) "
            "from core.account_logs where currency = ? and trans_at >= ?",
            [suffix, suffix, suffix, busy, entries[0][0]],
        )
        con.execute(
            "insert into core.account_snapshots select * replace (currency || ? as currency, "
            "? as available_balance, ? as frozen_balance, ? as service_at, "
            "coalesce(?, fetched_at) as fetched_at) "
            "from core.account_snapshots where currency = ?",
            [suffix, entries[i][1], entries[i][2] + Decimal(cents) / 100, at,
             None if at else stamp, busy],
        )  # fmt: skip
    got = assert_same_counts(con, reconcile(con, "r2", datetime.now(UTC)))
    broken = {
        int(r[0].split("~")[1])
        for r in con.execute(
            "select entity_id from recon.breaks where \"check\" = 'account_balance' "
            "and status = 'open' and entity_id like '%~%'"
        ).fetchall()
    }
    expected = {k: pick[3] for k, pick in enumerate(picks)}
    assert {k for k, e in expected.items() if e == "ties"}.isdisjoint(broken), (picks, broken)
    assert {k for k, e in expected.items() if e == "breaks"} <= broken, (picks, broken)
    outside = {k for k, e in expected.items() if e == "outside"}
    assert outside and outside <= broken, (picks, broken)
    # tied within the stamp's second where the balances after the last entry do not
    untied = [k for k, (i, _, at, e) in enumerate(picks) if e == "ties" and at and i != after(at)]
    assert untied, picks

    con.execute("update core.account_snapshots set service_at = null")
    con.execute("update core.card_snapshots set service_at = service_at - interval 10 days")
    got = assert_same_counts(con, reconcile(con, "r3", datetime.now(UTC)))
    assert got["card_balance"][1] > 0
    con.close()
