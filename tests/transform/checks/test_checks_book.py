"""The whole book: a consistent one ties in every check, every check's amounts are
decimals, a cent breaks (not with a cent of tolerance), the lifecycle of a break across
runs, and one root per money movement."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import duckdb
from support.builders import (
    AS_OF,
    SNAPSHOT_AT,
    STREAMS,
    WATERMARK,
    cover,
    make_account_log,
    make_account_snapshot,
    make_card_log,
    make_card_snapshot,
    make_order,
    make_transaction,
)
from support.checks import SB, D, at, breaks, brk, counts, run, settle_in_ledger

from transform.reconcile import CHECKS


# -- a consistent book reconciles ---------------------------------------------------------------
def given_a_consistent_book(db: duckdb.DuckDBPyConnection) -> None:
    """Account topped up; Standard card C1 opened, topped up, spent on, withdrawn from;
    ShareBalance card C2 opened and spent on. Every side agrees with every other."""
    make_account_log(db, trans_type="AccountTopUp", trans_amount="1000.00", trans_at=at(2, 9))
    # C1: opening 100 + 5 fee
    make_order(
        db,
        order_no="O1",
        order_type="ApplyCard",
        principal_amount="100.00",
        fee_amount="5.00",
        created_at=at(2, 10),
    )
    make_card_log(
        db,
        order_no="O1",
        log_type="ApplyCard",
        trans_amount="100.00",
        total_fee="5.00",
        trans_at=at(2, 10),
    )
    make_account_log(
        db, trans_type="ApplyCard", trans_amount="-105.00", order_no="O1", trans_at=at(2, 10, 1)
    )
    # C2: ShareBalance opening fee 3
    make_order(
        db,
        order_no="O4",
        order_type="ApplyCard",
        card_model=SB,
        card_id="C2",
        principal_amount="0.00",
        fee_amount="3.00",
        created_at=at(2, 11),
    )
    make_account_log(
        db,
        trans_type="ApplyCard",
        trans_amount="-3.00",
        order_no="O4",
        card_id="C2",
        trans_at=at(2, 11),
    )
    # C1: top-up 50 + 1 fee
    make_order(db, order_no="O2", principal_amount="50.00", fee_amount="1.00")
    make_card_log(db, order_no="O2", trans_amount="50.00", total_fee="1.00", trans_at=at(4, 10))
    make_account_log(
        db, trans_type="CardTopUp", trans_amount="-51.00", order_no="O2", trans_at=at(4, 10, 1)
    )
    # C1 spending: settled 30, refund 5, open hold 10
    make_transaction(db, transaction_id="T1", auth_amount="30.00", auth_at=at(5))
    make_transaction(
        db,
        transaction_id="T3",
        transaction_type="ConsumeRefund",
        funds_direction="Income",
        auth_amount="5.00",
        auth_at=at(6),
    )
    make_transaction(db, transaction_id="T2", status="authorized", auth_at=at(9))
    # C1: withdraw 20, 2 fee
    make_order(
        db, order_no="O3", order_type="CardWithdraw", principal_amount="20.00", fee_amount="2.00"
    )
    make_card_log(
        db,
        order_no="O3",
        log_type="CardWithdraw",
        trans_amount="20.00",
        total_fee="2.00",
        trans_at=at(7, 10),
    )
    make_account_log(
        db, trans_type="CardWithdraw", trans_amount="20.00", order_no="O3", trans_at=at(7, 10, 1)
    )
    # C2 spending: 40 settled through hold/release/consume, 15 on hold
    make_transaction(db, transaction_id="T4", card_id="C2", auth_amount="40.00", auth_at=at(8, 10))
    for kind, amount, t in (
        ("AuthHold", "-40.00", at(8, 10)),
        ("AuthRelease", "40.00", at(8, 11)),
        ("Consume", "-40.00", at(8, 11, 1)),
    ):
        make_account_log(
            db, trans_type=kind, trans_amount=amount, order_no="T4", card_id="C2", trans_at=t
        )
    make_transaction(
        db,
        transaction_id="T5",
        card_id="C2",
        status="authorized",
        auth_amount="15.00",
        auth_at=at(9, 10),
    )
    make_account_log(
        db,
        trans_type="AuthHold",
        trans_amount="-15.00",
        order_no="T5",
        card_id="C2",
        trans_at=at(9, 10),
    )
    # balances: account 1000 - 105 - 3 - 51 + 20 - 40 + 40 - 40 - 15; C1 100 + 50 - 30 + 5
    # - 10 - 22; C2 uses 40 + 15
    make_account_snapshot(db, available_balance="806.00", frozen_balance="15.00")
    make_card_snapshot(db, card_id="C1", balance="93.00")
    make_card_snapshot(db, card_id="C2", card_model=SB, balance=None, used_credit_amount="55.00")


def test_a_consistent_book_has_no_break_and_every_check_compares_something(
    db: duckdb.DuckDBPyConnection,
) -> None:
    given_a_consistent_book(db)

    result = run(db)

    assert db.execute("select * from recon.breaks").fetchall() == []
    assert result.skipped == {}
    assert (result.open_breaks, result.errors, result.warnings) == (0, 0, 0)
    for check in CHECKS:
        c = counts(db, check.name)
        if check.name == "quarantined_record":  # it compares quarantined records: none here
            assert c == (0, 0, 0)
            continue
        assert c.entities_checked and c.breaks == 0 and c.out_of_window == 0, (check.name, c)


def test_every_check_returns_its_amounts_as_decimals(db: duckdb.DuckDBPyConnection) -> None:
    given_a_consistent_book(db)
    run(db)

    for check in CHECKS:
        types = {r[0]: r[1] for r in db.execute(f"describe select * from ({check.sql})").fetchall()}
        for column in ("expected", "actual", "difference"):
            assert types[column].startswith("DECIMAL"), (check.name, column, types[column])
        assert types["is_break"] == "BOOLEAN", check.name


# -- tolerance: a cent breaks by default, not with a cent of tolerance --------------------------
def given_every_money_check_off_by_a_cent(db: duckdb.DuckDBPyConnection) -> dict[str, list[str]]:
    """One entity per check, each with its own currency, card and order; returns the entity
    ids each check should report."""
    # account_balance: EUR ledger 100.00, snapshot 100.01
    make_account_log(db, trans_type="AccountTopUp", trans_amount="100.00", currency="EUR")
    make_account_snapshot(db, currency="EUR", available_balance="100.01")
    # account_ledger_chain: GBP 100.00 - 1.00 posted as 99.01
    make_account_log(db, trans_type="AccountTopUp", trans_amount="100.00", currency="GBP")
    chain = make_account_log(
        db, trans_type="AccountFee", trans_amount="-1.00", currency="GBP", available_balance="99.01"
    )
    # card_balance: opened with 100.00, snapshot 99.99
    make_card_log(db, card_id="CB", order_no="OB", log_type="ApplyCard", currency="AUD")
    make_card_snapshot(db, card_id="CB", currency="AUD", balance="99.99")
    # card_credit_usage: 40.00 spent, 40.01 used
    make_transaction(db, card_id="CC", currency="SGD", auth_amount="40.00")
    make_card_snapshot(db, card_id="CC", currency="SGD", card_model=SB, used_credit_amount="40.01")
    # funding_mismatch: a 100.00 + 1.00 top-up paid with 101.01
    make_card_log(db, card_id="CF", order_no="OF", currency="CHF")
    make_account_log(db, card_id="CF", order_no="OF", currency="CHF", trans_amount="-101.01")
    # txn_amount_mismatch: settled 40.00, entry 39.99
    make_card_snapshot(db, card_id="C2", currency="CAD", card_model=SB, used_credit_amount="40.00")
    make_transaction(db, transaction_id="TT", card_id="C2", currency="CAD", auth_amount="40.00")
    settle_in_ledger(db, "TT", "39.99", ("Consume",), currency="CAD")
    # fee_mismatch: order fee 1.01, card log 1.00; and a card log of 1.00 with items of 0.99
    make_order(db, order_no="OX", card_id="CX", currency="NZD", fee_amount="1.01")
    make_card_log(db, card_id="CX", order_no="OX", currency="NZD", total_fee="1.00")
    make_card_log(
        db, card_id="CY", order_no="OY", currency="NZD", fee_items=["0.99"], total_fee="1.00"
    )
    # order_amount_mismatch: a 100.00 + 1.00 top-up order, an entry of 101.01
    make_order(db, order_no="OZ", card_id="CZ", currency="JPY")
    make_account_log(db, card_id="CZ", order_no="OZ", currency="JPY", trans_amount="-101.01")
    return {
        "account_balance": ["EUR"],
        "account_ledger_chain": [chain["account_log_id"]],
        "card_balance": ["CB"],
        "card_credit_usage": ["CC"],
        "funding_mismatch": ["OF"],
        "txn_amount_mismatch": ["TT"],
        "fee_mismatch": ["OX", "OY"],
        "order_amount_mismatch": ["OZ"],
    }


def test_a_cent_breaks_with_the_default_tolerance_and_not_with_a_cent_of_tolerance(
    db: duckdb.DuckDBPyConnection,
) -> None:
    expected = given_every_money_check_off_by_a_cent(db)

    run(db)
    found = {c: breaks(db, c) for c in expected}
    assert {c: [b.entity_id for b in bs] for c, bs in found.items()} == expected
    assert {abs(b.difference or 0) for bs in found.values() for b in bs} == {D("0.01")}

    result = run(db, run_id="run-2", as_of=AS_OF + timedelta(hours=1), tolerance="0.01")
    assert {c: breaks(db, c) for c in expected} == {c: [] for c in expected}
    assert result.resolved_breaks == sum(map(len, expected.values()))


# -- the break lifecycle ------------------------------------------------------------------------
def lifecycle(db: duckdb.DuckDBPyConnection) -> dict[str, tuple[Any, ...]]:
    """Per check (one break each): break_id, status, first_seen_at, last_seen_at, run_id."""
    rows = db.execute(
        'select "check", break_id, status, first_seen_at, last_seen_at, run_id '
        "from recon.breaks order by 1"
    ).fetchall()
    return {r[0]: r[1:] for r in rows}


def test_a_second_run_keeps_found_breaks_resolves_fixed_ones_and_leaves_skipped_checks_alone(
    db: duckdb.DuckDBPyConnection,
) -> None:
    later = AS_OF + timedelta(days=2)
    make_account_log(db, trans_type="AccountTopUp", trans_amount="100.00", trans_at=at(3))
    make_order(db)
    make_card_log(db, total_fee="1.00", fee_items=["0.50"])  # fixed before the second run
    make_account_log(db, trans_type="CardTopUp", trans_amount="-101.00")
    make_account_snapshot(db, available_balance="-1.50")  # 0.50 short: stays broken
    make_transaction(db, card_id="C2", auth_amount="40.00", status="authorized", auth_at=at(9))
    make_card_snapshot(db, card_id="C2", card_model=SB, used_credit_amount="45.00")

    first = run(db, run_id="run-1", as_of=AS_OF)
    before = lifecycle(db)
    assert set(before) == {"account_balance", "fee_mismatch", "card_credit_usage"}
    assert (first.new_breaks, first.resolved_breaks, first.open_breaks) == (3, 0, 3)

    db.execute("update core.card_fee_items set amount = 1.00")
    cover(db, *STREAMS, watermark=WATERMARK + timedelta(1))  # the second run extracted a day more
    make_account_snapshot(db, available_balance="-2.50", fetched_at=SNAPSHOT_AT + timedelta(1))
    # the service now answers in v2.0: no snapshot carries usedCreditAmount any more
    db.execute("delete from core.card_snapshots")
    make_card_snapshot(db, card_id="C2", card_model=SB, used_credit_amount=None, dialect="v2.0")
    second = run(db, run_id="run-2", as_of=later)
    after = lifecycle(db)

    assert "card_credit_usage" in second.skipped
    assert (second.new_breaks, second.resolved_breaks, second.open_breaks) == (0, 1, 2)
    # still found, with other amounts, run and time: the same break, first seen kept
    assert after["account_balance"] == (before["account_balance"][0], "open", AS_OF, later, "run-2")
    assert breaks(db, "account_balance") == [
        brk("account_balance", "USD", "-1.00", "-2.50", "-1.50", entity_type="account")
    ]
    # fixed: resolved, last seen by the first run
    assert after["fee_mismatch"] == (before["fee_mismatch"][0], "resolved", AS_OF, AS_OF, "run-2")
    # its check was skipped: left as the first run saw it
    assert after["card_credit_usage"] == before["card_credit_usage"]
    assert before["card_credit_usage"][1:] == ("open", AS_OF, AS_OF, "run-1")


def test_a_break_a_later_run_cannot_compare_keeps_its_status(
    db: duckdb.DuckDBPyConnection,
) -> None:
    """RECONCILIATION.md: resolved only when a run compared the entity again and found it ties;
    one out of the window (a snapshot taken after the history ends) keeps its status."""
    make_account_log(db, trans_type="AccountTopUp", trans_amount="100.00", trans_at=at(3))
    make_account_snapshot(db, available_balance="99.00")  # 1.00 short
    run(db, run_id="run-1", as_of=AS_OF)
    before = lifecycle(db)

    # a later snapshot, after the extracted ledger: it cannot be compared
    make_account_snapshot(db, available_balance="100.00", fetched_at=SNAPSHOT_AT + timedelta(2))
    second = run(db, run_id="run-2", as_of=AS_OF + timedelta(days=2))

    assert second.resolved_breaks == 0  # it would tie, but the ledger does not reach it
    assert lifecycle(db) == before

    cover(db, *STREAMS, watermark=WATERMARK + timedelta(3))  # now the ledger reaches it: ties
    third = run(db, run_id="run-3", as_of=AS_OF + timedelta(days=3))
    assert third.resolved_breaks == 1
    assert lifecycle(db)["account_balance"][1] == "resolved"


# -- one money movement, one root -----------------------------------------------------------
def roots(db: duckdb.DuckDBPyConnection) -> dict[tuple[str, str], tuple[str, str]]:
    """(check, entity_id) of each open break -> (check, entity_id) of its root."""
    rows = db.execute(
        'select b."check", b.entity_id, r."check", r.entity_id from recon.breaks b '
        "join recon.breaks r on r.break_id = b.root_id where b.status = 'open'"
    ).fetchall()
    return {(r[0], r[1]): (r[2], r[3]) for r in rows}


def test_a_dropped_funding_entry_and_the_chain_it_breaks_share_one_root(
    db: duckdb.DuckDBPyConnection,
) -> None:
    """Issue 12: one dropped account entry showed as missing_account_entry and as
    account_ledger_chain, and its amount was at stake twice."""
    make_account_log(db, trans_type="AccountTopUp", trans_amount="500.00", trans_at=at(2))
    make_card_log(db, trans_at=at(5))  # O1, 100.00 + 1.00 fee, completed at(5) + 1 min
    # the -101.00 entry of O1 was dropped: the next entry chains from 500.00 as if it existed
    after = make_account_log(
        db, trans_type="AccountFee", trans_amount="-2.00", available_balance="397.00",
        trans_at=at(6), order_no=None, card_id=None,
    )  # fmt: skip
    make_account_log(db, trans_type="AccountFee", trans_amount="-3.00", trans_at=at(7))

    run(db)

    chain = ("account_ledger_chain", after["account_log_id"])
    assert roots(db) == {
        ("missing_account_entry", "O1"): ("missing_account_entry", "O1"),
        chain: ("missing_account_entry", "O1"),
    }


def test_an_order_whose_fee_and_amount_differ_is_one_movement_with_the_fee_as_root(
    db: duckdb.DuckDBPyConnection,
) -> None:
    make_order(db, fee_amount="1.25", total_amount="101.25")
    make_card_log(db)
    make_account_log(db)  # the account paid 101.00, as the card log says

    run(db)

    assert roots(db) == {
        ("fee_mismatch", "O1"): ("fee_mismatch", "O1"),
        ("order_amount_mismatch", "O1"): ("fee_mismatch", "O1"),
    }


def test_unrelated_breaks_are_their_own_roots(db: duckdb.DuckDBPyConnection) -> None:
    """A chain jump of another amount is not explained by the missing entry."""
    make_account_log(db, trans_type="AccountTopUp", trans_amount="500.00", trans_at=at(2))
    make_card_log(db, trans_at=at(5))
    after = make_account_log(
        db, trans_type="AccountFee", trans_amount="-2.00", available_balance="400.00",
        trans_at=at(6), order_no=None, card_id=None,
    )  # fmt: skip

    run(db)

    chain = ("account_ledger_chain", after["account_log_id"])
    assert roots(db) == {
        ("missing_account_entry", "O1"): ("missing_account_entry", "O1"),
        chain: chain,
    }
