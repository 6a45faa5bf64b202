"""The account's checks: ``account_balance`` (the snapshot against the ledger, also on the
service's clock) and ``account_ledger_chain`` (each entry chains on the one before)."""

from __future__ import annotations

from datetime import timedelta

import duckdb
from support.builders import (
    SNAPSHOT_AT,
    T0,
    cover,
    make_account_log,
    make_account_snapshot,
)
from support.checks import at, breaks, brk, counts, detail, run


# -- account_balance ----------------------------------------------------------------------------
def given_100_in_and_30_held(db: duckdb.DuckDBPyConnection, currency: str = "USD") -> None:
    """A ledger ending at 70 available, 30 blocked."""
    make_account_log(
        db, trans_type="AccountTopUp", trans_amount="100.00", currency=currency, trans_at=at(3)
    )
    make_account_log(
        db,
        trans_type="AuthHold",
        trans_amount="-30.00",
        currency=currency,
        order_no=f"T-{currency}",
        card_id="C2",
        trans_at=at(4),
    )


def test_account_balance_breaks_exactly_where_the_snapshot_differs_from_the_last_entry(
    db: duckdb.DuckDBPyConnection,
) -> None:
    # USD ties: an entry after the snapshot is not in it, an older snapshot is superseded
    given_100_in_and_30_held(db, "USD")
    make_account_log(
        db,
        trans_type="AccountTopUp",
        trans_amount="500.00",
        trans_at=SNAPSHOT_AT + timedelta(minutes=5),
    )
    make_account_snapshot(db, available_balance="1.00", fetched_at=SNAPSHOT_AT - timedelta(1))
    make_account_snapshot(db, available_balance="70.00", frozen_balance="30.00")
    # EUR ties: of two entries at one time, the later id is the last
    for log_id, kind, amount in (("E1", "AccountTopUp", "100.00"), ("E2", "AccountFee", "-1.00")):
        make_account_log(
            db,
            account_log_id=log_id,
            trans_type=kind,
            trans_amount=amount,
            currency="EUR",
            trans_at=T0,
        )
    make_account_snapshot(db, currency="EUR", available_balance="99.00")
    # GBP ties: v1.4 reports no frozen balance, so blocked is not compared
    given_100_in_and_30_held(db, "GBP")
    make_account_snapshot(
        db, currency="GBP", available_balance="70.00", frozen_balance=None, dialect="v1.4"
    )
    # JPY breaks: available 69.50 where the ledger says 70.00
    given_100_in_and_30_held(db, "JPY")
    make_account_snapshot(db, currency="JPY", available_balance="69.50", frozen_balance="30.00")
    # CHF breaks: nothing frozen where the ledger blocks 30.00 (the break shows those amounts)
    given_100_in_and_30_held(db, "CHF")
    make_account_snapshot(db, currency="CHF", available_balance="70.00", frozen_balance="0.00")

    run(db)

    assert breaks(db, "account_balance") == [
        brk("account_balance", c, e, a, d, entity_type="account", currency=c)
        for c, e, a, d in (("CHF", "30.00", "0.00", "-30.00"), ("JPY", "70.00", "69.50", "-0.50"))
    ]
    assert counts(db, "account_balance") == (5, 2, 0)


def test_account_balance_is_out_of_window_when_the_ledger_stops_a_day_before_the_snapshot(
    db: duckdb.DuckDBPyConnection,
) -> None:
    cover(db, "account_logs", watermark=at(8).date())  # covered until Jan 9 00:00
    given_100_in_and_30_held(db)
    make_account_snapshot(db, available_balance="1.00")  # taken Jan 10 23:00

    run(db)

    assert breaks(db, "account_balance") == []
    assert counts(db, "account_balance") == (1, 0, 1)


def test_account_balance_compares_a_currency_without_ledger_entry_with_an_empty_ledger(
    db: duckdb.DuckDBPyConnection,
) -> None:
    """Regression: the snapshot was inner-joined to its last entry, so a currency with no
    entry at or before its snapshot was silently not checked at all."""
    # EUR: no entry, nothing in the account: ties with an empty ledger
    make_account_snapshot(db, currency="EUR", available_balance="0.00", frozen_balance="0.00")
    # GBP: no entry, 50.00 in the account: made outside the extracted ledger
    make_account_snapshot(db, currency="GBP", available_balance="50.00")
    # JPY: its only entry comes after the snapshot: its balance is made outside the ledger too
    make_account_log(
        db,
        trans_type="AccountTopUp",
        trans_amount="100.00",
        currency="JPY",
        trans_at=SNAPSHOT_AT + timedelta(minutes=5),
    )
    make_account_snapshot(db, currency="JPY", available_balance="20.00")

    run(db)

    assert breaks(db, "account_balance") == []
    assert counts(db, "account_balance") == (3, 0, 2)


# -- account_ledger_chain -----------------------------------------------------------------------
def test_account_ledger_chain_breaks_at_each_entry_that_does_not_chain(
    db: duckdb.DuckDBPyConnection,
) -> None:
    # USD chains through a hold, a settlement and the release; ids are out of time order
    # (the chain follows trans_at, then id: W4 before X3 at one time)
    for log_id, kind, amount, when in (
        ("Z1", "AccountTopUp", "100.00", at(3)),
        ("Y2", "AuthHold", "-30.00", at(4)),
        ("W4", "Consume", "-30.00", at(5)),
        ("X3", "AuthRelease", "30.00", at(5)),
    ):
        make_account_log(
            db,
            account_log_id=log_id,
            trans_type=kind,
            trans_amount=amount,
            order_no="T1",
            card_id="C2",
            trans_at=when,
        )
    # EUR: an entry of -10 is missing: E2 says 60 where 100 - 30 = 70; E3 chains on from 60
    make_account_log(
        db, account_log_id="E1", trans_type="AccountTopUp", trans_amount="100.00", currency="EUR"
    )
    make_account_log(
        db,
        account_log_id="E2",
        trans_type="AccountWithdraw",
        trans_amount="-30.00",
        available_balance="60.00",
        currency="EUR",
    )
    make_account_log(
        db, account_log_id="E3", trans_type="AccountFee", trans_amount="-1.00", currency="EUR"
    )
    # GBP: a hold that did not move the blocked balance
    make_account_log(
        db, account_log_id="G1", trans_type="AccountTopUp", trans_amount="100.00", currency="GBP"
    )
    make_account_log(
        db,
        account_log_id="G2",
        trans_type="AuthHold",
        trans_amount="-30.00",
        order_no="T2",
        card_id="C2",
        blocked_balance="0.00",
        currency="GBP",
    )

    run(db)

    # a blocked-only break shows the blocked amounts
    assert breaks(db, "account_ledger_chain") == [
        brk("account_ledger_chain", i, e, a, d, entity_type="account_log", currency=c)
        for i, c, e, a, d in (
            ("E2", "EUR", "70.00", "60.00", "-10.00"),
            ("G2", "GBP", "30.00", "0.00", "-30.00"),
        )
    ]
    assert counts(db, "account_ledger_chain") == (6, 2, 0)  # every entry but the first


def test_a_blocked_break_reports_blocked_when_available_differs_within_tolerance(
    db: duckdb.DuckDBPyConnection,
) -> None:
    given_100_in_and_30_held(db)  # 70.00 available, 30.00 blocked
    make_account_snapshot(db, available_balance="70.01", frozen_balance="0.00")
    make_account_log(
        db, account_log_id="G1", trans_type="AccountTopUp", trans_amount="100.00", currency="GBP"
    )
    make_account_log(
        db,
        account_log_id="G2",
        trans_type="AuthHold",
        trans_amount="-30.00",
        order_no="T2",
        card_id="C2",
        available_balance="70.01",
        blocked_balance="0.00",
        currency="GBP",
    )

    run(db, tolerance="0.01")

    assert breaks(db, "account_balance") + breaks(db, "account_ledger_chain") == [
        brk("account_balance", "USD", "30.00", "0.00", "-30.00", entity_type="account"),
        brk(
            "account_ledger_chain",
            "G2",
            "30.00",
            "0.00",
            "-30.00",
            entity_type="account_log",
            currency="GBP",
        ),
    ]


# -- account_balance on the service's clock -------------------------------------------------------
def given_a_busy_second(db: duckdb.DuckDBPyConnection, currency: str) -> None:
    """100.00 in, then an entry every quarter second around 23:00:00: after each, available
    is 100 + 1, + 2, ... (one cent more each time) from 22:59:59.25 to 23:00:01.00."""
    make_account_log(
        db, trans_type="AccountTopUp", trans_amount="100.00", currency=currency, trans_at=T0
    )
    start = SNAPSHOT_AT - timedelta(seconds=1)
    for i in range(1, 9):
        make_account_log(
            db,
            trans_type="AccountTopUp",
            trans_amount="0.01",
            currency=currency,
            trans_at=start + timedelta(milliseconds=250 * i),
        )


def test_account_balance_on_the_service_clock_ties_with_any_balance_within_its_second(
    db: duckdb.DuckDBPyConnection,
) -> None:
    stamped = SNAPSHOT_AT  # the reply's Date header: 23:00:00, to the second
    # USD: the service answered at 23:00:00.6 (after the entry of 23:00:00.50): ties
    given_a_busy_second(db, "USD")
    make_account_snapshot(db, available_balance="100.06", service_at=stamped,
                          fetched_at=stamped + timedelta(seconds=3))  # fmt: skip
    # EUR: the same, the service's clock 3 s ahead of ours: ties
    given_a_busy_second(db, "EUR")
    make_account_snapshot(db, currency="EUR", available_balance="100.06", service_at=stamped,
                          fetched_at=stamped - timedelta(seconds=3))  # fmt: skip
    # GBP: before every entry within the resolution (22:59:59.0 .. 23:00:01.0): ties
    given_a_busy_second(db, "GBP")
    make_account_snapshot(db, currency="GBP", available_balance="100.00", service_at=stamped)
    # JPY: a balance no entry around the stamp explains: breaks
    given_a_busy_second(db, "JPY")
    make_account_snapshot(db, currency="JPY", available_balance="100.50", service_at=stamped)
    # CHF: no service clock (no Date header): our clock, 3 s late, sees every entry: breaks
    given_a_busy_second(db, "CHF")
    make_account_snapshot(db, currency="CHF", available_balance="100.06",
                          fetched_at=stamped + timedelta(seconds=3))  # fmt: skip

    run(db)

    assert breaks(db, "account_balance") == [
        brk("account_balance", "CHF", "100.08", "100.06", "-0.02", entity_type="account",
            currency="CHF"),
        # compared with the balance at the stamp; the detail gives the range its second allows
        brk("account_balance", "JPY", "100.04", "100.50", "0.46", entity_type="account",
            currency="JPY"),
    ]  # fmt: skip
    assert detail(db, "account_balance", "JPY").endswith(
        "at the service's 23:00:00 UTC (to the second: within +-1 s the ledger's available "
        "ranged 100.00..100.08)"
    )
