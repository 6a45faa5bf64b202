"""Reconciliation checks, given/expect: a handful of core rows in, exactly these breaks out.

One in-memory DuckDB per test; rows come from ``support.builders`` (defaults: Standard card
C1 and ShareBalance card C2 in USD, history covered 2026-01-01 .. end of 2026-01-10, snapshots
at 2026-01-10 23:00, reconciled as of 2026-01-11 06:00). Each test runs the real runner
(``transform.reconcile.reconcile``, all checks) and reads the open breaks of the check under
test from ``recon.breaks`` and its counts from ``recon.check_runs``.

A run costs a few tenths of a second, so a check's cases share one database where they can:
rows that tie, rows that break and rows out of the window side by side (each on its own card,
order or currency), and the expectation is the exact list of breaks plus the counts
(entities checked, breaks, out of window). ``test_a_consistent_book...`` is the tie case of
every check at once.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from typing import Any, NamedTuple

import duckdb
import pytest
from support.builders import (
    AS_OF,
    FETCHED,
    SNAPSHOT_AT,
    STREAMS,
    T0,
    WATERMARK,
    cover,
    cover_all,
    make_account_log,
    make_account_snapshot,
    make_card_log,
    make_card_snapshot,
    make_order,
    make_quarantined,
    make_transaction,
    money,
    prepare,
)

from transform.reconcile import CHECKS, ReconResult, ReconSettings, reconcile, write_summary

D = money
SB = "ShareBalance"


class Break(NamedTuple):
    check: str
    severity: str
    entity_type: str
    entity_id: str
    currency: str | None
    expected: Decimal | None
    actual: Decimal | None
    difference: Decimal | None


class Counts(NamedTuple):
    entities_checked: int | None
    breaks: int | None
    out_of_window: int | None


@pytest.fixture
def db() -> Iterator[duckdb.DuckDBPyConnection]:
    con = duckdb.connect()
    prepare(con)
    cover_all(con)
    yield con
    con.close()


def run(
    db: duckdb.DuckDBPyConnection,
    *,
    run_id: str = "run-1",
    as_of: datetime = AS_OF,
    **settings: Any,
) -> ReconResult:
    """Reconcile with ``ReconSettings(**settings)``, money settings given as text."""
    for name in ("tolerance", "variance_pct"):
        if name in settings:
            settings[name] = Decimal(settings[name])
    return reconcile(db, run_id, as_of, ReconSettings(**settings))


def breaks(db: duckdb.DuckDBPyConnection, check: str) -> list[Break]:
    """The open breaks of ``check``, by entity id."""
    rows = db.execute(
        'select "check", severity, entity_type, entity_id, currency, expected, actual, '
        "difference from recon.breaks where \"check\" = ? and status = 'open' "
        "order by entity_id",
        [check],
    ).fetchall()
    return [Break(*r) for r in rows]


def detail(db: duckdb.DuckDBPyConnection, check: str, entity_id: str) -> str:
    row = db.execute(
        'select detail from recon.breaks where "check" = ? and entity_id = ?', [check, entity_id]
    ).fetchone()
    assert row is not None, f"no {check} break for {entity_id}"
    return str(row[0])


def counts(db: duckdb.DuckDBPyConnection, check: str, run_id: str = "run-1") -> Counts:
    row = db.execute(
        "select entities_checked, breaks, out_of_window from recon.check_runs "
        'where run_id = ? and "check" = ?',
        [run_id, check],
    ).fetchone()
    assert row is not None, f"{check} has no check_runs row for {run_id}"
    return Counts(*row)


def brk(
    check: str,
    entity_id: str,
    expected: Any,
    actual: Any,
    difference: Any,
    *,
    severity: str = "error",
    entity_type: str = "order",
    currency: str | None = "USD",
) -> Break:
    def dec(v: Any) -> Decimal | None:
        return None if v is None else D(v)

    amounts = (dec(expected), dec(actual), dec(difference))
    return Break(check, severity, entity_type, entity_id, currency, *amounts)


def at(day: int, hour: int = 12, minute: int = 0) -> datetime:
    """A UTC time in January 2026 (December 2025 for day <= 0)."""
    return datetime(2026, 1, 1, hour, minute, tzinfo=UTC) + timedelta(days=day - 1)


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


# -- card_balance -------------------------------------------------------------------------------
def given_a_card_from_its_opening(db: duckdb.DuckDBPyConnection, card: str) -> None:
    """Opened with 100 (+5 fee), topped up 50 (+1), withdrew 20 (+2 fee): +128 from card logs;
    spent 30 settled, 10 on hold, got 5 back: -35 from transactions. Expected: 93."""
    make_card_log(
        db,
        card_id=card,
        order_no=f"{card}-O1",
        log_type="ApplyCard",
        trans_amount="100.00",
        total_fee="5.00",
        trans_at=at(2),
    )
    make_card_log(db, card_id=card, order_no=f"{card}-O2", trans_amount="50.00", trans_at=at(4))
    make_card_log(
        db,
        card_id=card,
        order_no=f"{card}-O3",
        log_type="CardWithdraw",
        trans_amount="20.00",
        total_fee="2.00",
        trans_at=at(6),
    )
    # change nothing: pending, failed (even with a completion time), completed after the snapshot
    for status, when, done in (
        ("Pending", at(7), None),
        ("Failure", at(7), at(7, 13)),
        ("Completed", SNAPSHOT_AT, SNAPSHOT_AT + timedelta(minutes=1)),
    ):
        make_card_log(
            db,
            card_id=card,
            order_no=f"{card}-{status}",
            trans_amount="1000.00",
            status=status,
            trans_at=when,
            completed_at=done,
        )
    make_transaction(db, card_id=card, auth_amount="30.00", auth_at=at(5))
    make_transaction(db, card_id=card, auth_amount="10.00", status="authorized", auth_at=at(8))
    make_transaction(
        db,
        card_id=card,
        auth_amount="5.00",
        transaction_type="ConsumeRefund",
        funds_direction="Income",
        auth_at=at(9),
    )
    # change nothing: failed, money back not settled yet, a v2.0 TopUp mirror, after the snapshot
    make_transaction(db, card_id=card, auth_amount="99.00", status="failed", auth_at=at(8))
    make_transaction(
        db,
        card_id=card,
        auth_amount="7.00",
        status="authorized",
        funds_direction="Income",
        transaction_type="ConsumeRefund",
        auth_at=at(8),
    )
    make_transaction(
        db,
        card_id=card,
        auth_amount="50.00",
        transaction_type="TopUp",
        funds_direction="Income",
        is_topup_mirror=True,
        auth_at=at(4),
    )
    make_transaction(
        db, card_id=card, auth_amount="40.00", auth_at=SNAPSHOT_AT + timedelta(minutes=1)
    )


def given_a_card_rolled_forward(db: duckdb.DuckDBPyConnection, card: str) -> None:
    """The opening is outside the history. The first snapshot (Jan 3) says 200 and already holds
    a 70 top-up, 30 settled (of 32 authorised), and a 40 hold that settles at 38 on Jan 4. Since:
    +2 (the hold settled lower), +50 top-up, -20 spent. Expected at the latest snapshot: 232."""
    make_card_log(db, card_id=card, order_no=f"{card}-O1", trans_amount="70.00", trans_at=at(2))
    make_transaction(
        db, card_id=card, auth_amount="32.00", settled_amount="30.00", auth_at=at(2, 8)
    )
    make_transaction(
        db,
        card_id=card,
        auth_amount="40.00",
        settled_amount="38.00",
        auth_at=at(2, 9),
        settled_at=at(4),
    )
    make_card_snapshot(db, card_id=card, balance="200.00", fetched_at=at(3, 0))
    make_card_log(db, card_id=card, order_no=f"{card}-O2", trans_amount="50.00", trans_at=at(5))
    make_transaction(db, card_id=card, auth_amount="20.00", auth_at=at(6))


def test_card_balance_from_the_opening_or_rolled_forward_breaks_only_where_it_differs(
    db: duckdb.DuckDBPyConnection,
) -> None:
    given_a_card_from_its_opening(db, "C1")
    make_card_snapshot(db, card_id="C1", balance="93.00")  # ties
    given_a_card_from_its_opening(db, "C5")
    make_card_snapshot(db, card_id="C5", balance="90.00")  # 3.00 short
    given_a_card_rolled_forward(db, "C3")
    make_card_snapshot(db, card_id="C3", balance="232.00")  # ties
    given_a_card_rolled_forward(db, "C6")
    make_card_snapshot(db, card_id="C6", balance="231.00")  # 1.00 short
    # no opening in the history and a single snapshot: cannot be computed
    make_card_log(db, card_id="C4", order_no="C4-O2", trans_amount="50.00", trans_at=at(4))
    make_card_snapshot(db, card_id="C4", balance="80.00")
    make_card_snapshot(db, card_id="C2", card_model=SB, balance="12.00")  # not Standard
    # 40 on hold at the snapshot, settled at 38 after it: still a hold at the snapshot
    make_card_log(db, card_id="C7", order_no="C7-O1", log_type="ApplyCard", trans_amount="100.00")
    make_transaction(
        db,
        card_id="C7",
        auth_amount="40.00",
        settled_amount="38.00",
        settled_at=SNAPSHOT_AT + timedelta(minutes=30),
    )
    make_card_snapshot(db, card_id="C7", balance="60.00")  # ties

    run(db)

    assert breaks(db, "card_balance") == [
        brk("card_balance", "C4", None, "80.00", None, severity="info", entity_type="card"),
        brk("card_balance", "C5", "93.00", "90.00", "-3.00", entity_type="card"),
        brk("card_balance", "C6", "232.00", "231.00", "-1.00", entity_type="card"),
    ]
    assert detail(db, "card_balance", "C4").startswith("insufficient_history")
    # C4 is reported as info, not counted among the check's (error) breaks
    assert counts(db, "card_balance") == (6, 2, 0)


def test_check_runs_counts_the_breaks_of_the_checks_severity_and_the_summary_the_infos(
    db: duckdb.DuckDBPyConnection,
) -> None:
    """Regression: check_runs said card_balance (error) had 2 breaks where it had one error
    and one info (insufficient history) break."""
    given_a_card_from_its_opening(db, "C5")
    make_card_snapshot(db, card_id="C5", balance="90.00")  # 3.00 short: an error
    make_card_log(db, card_id="C4", order_no="C4-O2", trans_amount="50.00", trans_at=at(4))
    make_card_snapshot(db, card_id="C4", balance="80.00")  # insufficient history: info

    run(db)
    write_summary(db, "run-1")

    assert [(b.entity_id, b.severity) for b in breaks(db, "card_balance")] == [
        ("C4", "info"),
        ("C5", "error"),
    ]
    assert counts(db, "card_balance") == (2, 1, 0)
    summary = db.execute(
        "select entities_checked, errors, warnings, infos from recon.run_summary "
        "where section = 'check' and name = 'card_balance'"
    ).fetchall()
    assert summary == [(2, 1, 0, 1)]


# -- card_credit_usage --------------------------------------------------------------------------
def given_a_share_card_spending(db: duckdb.DuckDBPyConnection, card: str) -> None:
    """Created inside the history: 40 settled + 15 on hold - 5 refunded = 50 used."""
    make_transaction(db, card_id=card, auth_amount="40.00", auth_at=at(4))
    make_transaction(db, card_id=card, auth_amount="15.00", status="authorized", auth_at=at(9))
    make_transaction(
        db,
        card_id=card,
        auth_amount="5.00",
        transaction_type="ConsumeRefund",
        funds_direction="Income",
        auth_at=at(6),
    )
    make_transaction(db, card_id=card, auth_amount="100.00", status="failed", auth_at=at(6))
    make_transaction(db, card_id=card, auth_amount="7.00", auth_at=SNAPSHOT_AT + timedelta(hours=1))


def given_an_old_share_card(db: duckdb.DuckDBPyConnection, card: str, used: str) -> None:
    """Created before the history: 100 used at the first snapshot (all of it spent inside the
    history, before that snapshot), 20 spent since: 120."""
    old = datetime(2025, 12, 1, tzinfo=UTC)
    make_transaction(db, card_id=card, auth_amount="100.00", auth_at=at(2))
    make_card_snapshot(
        db,
        card_id=card,
        card_model=SB,
        created_at=old,
        fetched_at=at(3),
        used_credit_amount="100.00",
    )
    make_transaction(db, card_id=card, auth_amount="20.00", auth_at=at(5))
    make_card_snapshot(db, card_id=card, card_model=SB, created_at=old, used_credit_amount=used)


def test_card_credit_usage_breaks_only_where_used_credit_differs_from_the_transactions(
    db: duckdb.DuckDBPyConnection,
) -> None:
    given_a_share_card_spending(db, "C2")
    make_card_snapshot(db, card_id="C2", card_model=SB, used_credit_amount="50.00")  # ties
    given_a_share_card_spending(db, "C3")
    make_card_snapshot(db, card_id="C3", card_model=SB, used_credit_amount="45.00")
    given_an_old_share_card(db, "C4", "120.00")  # ties, rolled forward
    given_an_old_share_card(db, "C5", "125.00")
    # 40 on hold at the snapshot, settled at 38 after it: 40 used at the snapshot
    make_transaction(
        db,
        card_id="C7",
        auth_amount="40.00",
        settled_amount="38.00",
        settled_at=SNAPSHOT_AT + timedelta(minutes=30),
    )
    make_card_snapshot(db, card_id="C7", card_model=SB, used_credit_amount="40.00")  # ties
    # created before the history, one snapshot: cannot be computed
    make_card_snapshot(
        db,
        card_id="C6",
        card_model=SB,
        used_credit_amount="10.00",
        created_at=datetime(2025, 12, 1, tzinfo=UTC),
    )

    run(db)

    assert breaks(db, "card_credit_usage") == [
        brk("card_credit_usage", "C3", "50.00", "45.00", "-5.00", entity_type="card"),
        brk("card_credit_usage", "C5", "120.00", "125.00", "5.00", entity_type="card"),
        brk("card_credit_usage", "C6", None, "10.00", None, severity="info", entity_type="card"),
    ]
    assert counts(db, "card_credit_usage") == (6, 2, 0)  # C6 is info: not an error break


def given_cards_one_short_after_a_day_the_history_missed(db: duckdb.DuckDBPyConnection) -> None:
    """Standard C1 (opened with 100.00) and ShareBalance C2 (40.00 used) whose snapshots also
    hold a 10.00 purchase of Jan 9 that is not in the history: a break when the history
    covers Jan 9, activity never extracted when it ends before."""
    make_card_log(db, card_id="C1", order_no="C1-O1", log_type="ApplyCard", trans_at=at(2))
    make_card_snapshot(db, card_id="C1", balance="90.00")
    make_transaction(db, card_id="C2", auth_amount="40.00", auth_at=at(4))
    make_card_snapshot(db, card_id="C2", card_model=SB, used_credit_amount="50.00")


def test_card_checks_are_out_of_window_when_the_history_stops_a_day_before_the_snapshot(
    db: duckdb.DuckDBPyConnection,
) -> None:
    """Regression: card_balance and card_credit_usage compared a snapshot with a history that
    ended days before it, and broke on the activity never extracted (account_balance counts
    that as out-of-window)."""
    given_cards_one_short_after_a_day_the_history_missed(db)
    cover(db, *STREAMS, watermark=at(8).date())  # covered until Jan 9 00:00, snapshots Jan 10 23:00

    run(db)

    assert breaks(db, "card_balance") + breaks(db, "card_credit_usage") == []
    assert counts(db, "card_balance") == (1, 0, 1)
    assert counts(db, "card_credit_usage") == (1, 0, 1)


def test_card_checks_are_out_of_window_when_the_history_ends_hours_before_the_snapshot(
    db: duckdb.DuckDBPyConnection,
) -> None:
    """Regression (closed periods): a period ending the day before the snapshot was compared
    with it, so a card active since midnight broke on activity never extracted."""
    given_cards_one_short_after_a_day_the_history_missed(db)
    cover(db, *STREAMS, watermark=at(9).date())  # covered until Jan 10 00:00: 23 h before

    run(db)

    assert breaks(db, "card_balance") + breaks(db, "card_credit_usage") == []
    assert counts(db, "card_balance") == (1, 0, 1)
    assert counts(db, "card_credit_usage") == (1, 0, 1)


def test_card_checks_compare_a_snapshot_the_history_reaches(
    db: duckdb.DuckDBPyConnection,
) -> None:
    given_cards_one_short_after_a_day_the_history_missed(db)
    cover(db, *STREAMS, watermark=at(10).date())  # covered until Jan 11 00:00, after the snapshot

    run(db)

    assert breaks(db, "card_balance") + breaks(db, "card_credit_usage") == [
        brk("card_balance", "C1", "100.00", "90.00", "-10.00", entity_type="card"),
        brk("card_credit_usage", "C2", "40.00", "50.00", "10.00", entity_type="card"),
    ]


def test_card_balance_is_out_of_window_when_only_the_card_logs_stop_early(
    db: duckdb.DuckDBPyConnection,
) -> None:
    given_cards_one_short_after_a_day_the_history_missed(db)
    cover(db, "card_account_logs", watermark=at(8).date())  # transactions are covered

    run(db)

    assert counts(db, "card_balance") == (1, 0, 1)
    assert counts(db, "card_credit_usage") == (1, 1, 0)  # reads transactions only


def test_card_credit_usage_is_skipped_when_no_snapshot_carries_used_credit(
    db: duckdb.DuckDBPyConnection,
) -> None:
    given_a_share_card_spending(db, "C2")
    make_card_snapshot(db, card_id="C2", card_model=SB, used_credit_amount=None, dialect="v2.0")

    result = run(db)

    assert set(result.skipped) == {"card_credit_usage", "credit_limit_exceeded"}
    assert "usedCreditAmount" in result.skipped["card_credit_usage"]
    skipped = db.execute(
        'select entities_checked, skipped_reason from recon.check_runs where "check" = ?',
        ["card_credit_usage"],
    ).fetchall()
    assert skipped == [(None, result.skipped["card_credit_usage"])]
    assert breaks(db, "card_credit_usage") == []


# -- funding_mismatch ---------------------------------------------------------------------------
FUNDING = [  # log type, principal, fee, what the account moves (signed)
    ("ApplyCard", "100.00", "5.00", "-105.00"),
    ("CardTopUp", "100.00", "1.00", "-101.00"),
    ("CardWithdraw", "20.00", "2.00", "20.00"),
    ("CardCancel", "30.00", "1.00", "30.00"),
]


def test_funding_mismatch_breaks_where_the_account_moves_other_than_the_model_says(
    db: duckdb.DuckDBPyConnection,
) -> None:
    for i, (log_type, principal, fee, moves) in enumerate(FUNDING):
        for order, moved in ((f"A{i}", D(moves)), (f"B{i}", D(moves) + D("0.01"))):
            make_card_log(
                db, order_no=order, log_type=log_type, trans_amount=principal, total_fee=fee
            )
            make_account_log(db, order_no=order, trans_type=log_type, trans_amount=moved)
    # a pending card log is not compared
    make_card_log(db, order_no="P1", status="Pending")
    make_account_log(db, order_no="P1", trans_type="CardTopUp", trans_amount="-1.00")

    run(db)

    assert breaks(db, "funding_mismatch") == [
        brk("funding_mismatch", f"B{i}", moves, D(moves) + D("0.01"), "0.01")
        for i, (_, _, _, moves) in enumerate(FUNDING)
    ]
    assert counts(db, "funding_mismatch") == (8, 4, 0)


# -- missing_account_entry ----------------------------------------------------------------------
def test_missing_account_entry_breaks_for_completed_logs_without_entry_inside_the_window(
    db: duckdb.DuckDBPyConnection,
) -> None:
    # account-log coverage: 2026-01-01 00:00 up to (excluding) 2026-01-11 00:00
    make_card_log(db, order_no="O1")
    make_account_log(db, order_no="O1", trans_type="CardTopUp")  # ties
    make_card_log(db, order_no="O2", status="Pending")  # not completed: nothing to find
    make_card_log(db, order_no="O3", trans_amount="50.00", total_fee="1.00")
    make_account_log(db, order_no="O3", trans_type="AccountFee", trans_amount="-1.00")  # not it
    make_card_log(db, order_no="O4", completed_at=at(11, 0))  # after the ledger coverage
    make_card_log(db, order_no="O5", trans_at=at(0, 23), completed_at=at(0, 23, 59))  # before
    make_card_log(db, order_no="O6", completed_at=at(10, 23, 59))  # the last covered minute

    run(db)

    assert breaks(db, "missing_account_entry") == [
        brk("missing_account_entry", "O3", "-51.00", None, None),
        brk("missing_account_entry", "O6", "-101.00", None, None),
    ]
    assert counts(db, "missing_account_entry") == (5, 2, 2)


def test_coverage_is_utc_whatever_the_session_time_zone(db: duckdb.DuckDBPyConnection) -> None:
    """Regression: coverage.sql cast its dates to TIMESTAMPTZ in the session time zone, so
    with another zone the window moved (here 8 h early) and this break went out of window."""
    db.execute("set TimeZone = 'Asia/Shanghai'")
    make_card_log(db, completed_at=at(10, 20))  # inside: the ledger is covered to Jan 11 00:00Z

    run(db)

    assert breaks(db, "missing_account_entry") == [
        brk("missing_account_entry", "O1", "-101.00", None, None)
    ]


def test_day_arithmetic_is_in_utc_days_across_a_dst_change_of_the_session_time_zone(
    db: duckdb.DuckDBPyConnection,
) -> None:
    """Regression: `as_of - to_days(7)` and `+/- interval 1 day` on TIMESTAMPTZ are calendar
    arithmetic in the session time zone; in Europe/Berlin across the change to summer time
    (2026-03-29) a day lasted 23 hours and each cutoff moved by an hour."""
    db.execute("set TimeZone = 'Europe/Berlin'")
    db.execute("delete from raw.pages; delete from meta.state")
    cover(db, "account_logs", first_day=date(2026, 3, 20), watermark=date(2026, 3, 29))
    cover(db, "card_account_logs", first_day=date(2026, 3, 29), watermark=date(2026, 3, 31))
    cover(db, "transactions", first_day=date(2026, 3, 20), watermark=date(2026, 3, 31))
    as_of = datetime(2026, 4, 1, 6, 0, tzinfo=UTC)
    # stale_authorization: 7 days = 168 h before as_of is 2026-03-25 06:00Z
    for txn, auth_at in (
        ("T1", as_of - timedelta(days=7, minutes=30)),
        ("T2", as_of - timedelta(days=7) + timedelta(minutes=30)),
    ):
        make_transaction(db, transaction_id=txn, status="authorized", auth_at=auth_at)
    # account_balance: the ledger ends 2026-03-30 00:00Z, after the snapshot (2026-03-29 23:30Z,
    # the day of the change): compared (and 1.00 short)
    make_account_log(
        db,
        trans_type="AccountTopUp",
        trans_amount="100.00",
        trans_at=datetime(2026, 3, 25, tzinfo=UTC),
    )
    make_account_snapshot(
        db, available_balance="99.00", fetched_at=datetime(2026, 3, 29, 23, 30, tzinfo=UTC)
    )
    # missing_card_entry: card logs covered from 2026-03-29 00:00Z; an entry 23 h 30 min later
    # may pay for an order placed before that
    make_card_snapshot(db, card_id="C1", fetched_at=datetime(2026, 3, 31, tzinfo=UTC))
    make_account_log(
        db, order_no="O9", currency="EUR", trans_at=datetime(2026, 3, 29, 23, 30, tzinfo=UTC)
    )

    run(db, as_of=as_of)

    assert [b.entity_id for b in breaks(db, "stale_authorization")] == ["T1"]
    assert breaks(db, "account_balance") == [
        brk("account_balance", "USD", "100.00", "99.00", "-1.00", entity_type="account")
    ]
    assert counts(db, "missing_card_entry") == (1, 0, 1)


# -- missing_card_entry -------------------------------------------------------------------------
def test_missing_card_entry_breaks_for_standard_funding_entries_without_card_log(
    db: duckdb.DuckDBPyConnection,
) -> None:
    make_card_snapshot(db, card_id="C1")
    make_card_snapshot(db, card_id="C2", card_model=SB)
    make_card_log(db, order_no="O1", status="Pending")  # any card log counts
    make_account_log(db, order_no="O1", trans_type="CardTopUp")  # ties
    make_account_log(db, order_no="O2", trans_type="CardTopUp", trans_amount="-51.00")
    # a ShareBalance opening fee has no card log: not compared
    make_account_log(db, order_no="O3", trans_type="ApplyCard", trans_amount="-3.00", card_id="C2")
    # within a day of the card-log coverage start: its log may predate the history
    make_account_log(db, order_no="O4", trans_type="CardTopUp", trans_at=at(1, 10))

    run(db)

    assert breaks(db, "missing_card_entry") == [
        brk("missing_card_entry", "O2", None, "-51.00", None)
    ]
    assert counts(db, "missing_card_entry") == (3, 1, 1)


# -- txn_missing_ledger -------------------------------------------------------------------------
SIGNS = {
    "AuthHold": -1,
    "AuthRelease": 1,
    "Consume": -1,
    "TransFee": -1,
    "ConsumeRefund": 1,
    "ConsumeReversal": 1,
}


def settle_in_ledger(
    db: duckdb.DuckDBPyConnection,
    txn: str,
    amount: str,
    kinds: tuple[str, ...] = ("AuthHold", "AuthRelease", "Consume"),
    when: datetime = T0,
    currency: str = "USD",
) -> None:
    """The account entries of ShareBalance transaction ``txn`` of ``amount`` (a magnitude)."""
    for i, kind in enumerate(kinds):
        make_account_log(
            db,
            trans_type=kind,
            trans_amount=SIGNS[kind] * D(amount),
            order_no=txn,
            card_id="C2",
            currency=currency,
            trans_at=when + timedelta(minutes=i),
        )


def test_txn_missing_ledger_breaks_for_settled_share_transactions_without_settlement(
    db: duckdb.DuckDBPyConnection,
) -> None:
    make_card_snapshot(db, card_id="C1")
    make_card_snapshot(db, card_id="C2", card_model=SB)
    make_transaction(db, transaction_id="T1", card_id="C2", auth_amount="40.00")
    settle_in_ledger(db, "T1", "40.00")  # ties
    make_transaction(db, transaction_id="T2", card_id="C1")  # a Standard card: not compared
    make_transaction(db, transaction_id="T3", card_id="C2", status="authorized")  # not settled
    settle_in_ledger(db, "T3", "10.00", ("AuthHold",))
    make_transaction(db, transaction_id="T4", card_id="C2", auth_amount="40.00")
    settle_in_ledger(db, "T4", "40.00", ("AuthHold", "AuthRelease"))  # no settlement entry
    # settled after the ledger coverage (Jan 11 00:00): its entry is not extracted yet
    make_transaction(
        db, transaction_id="T5", card_id="C2", auth_at=at(10, 20), settled_at=at(11, 1)
    )

    run(db)

    assert breaks(db, "txn_missing_ledger") == [
        brk("txn_missing_ledger", "T4", "-40.00", None, None, entity_type="transaction")
    ]
    assert counts(db, "txn_missing_ledger") == (3, 1, 1)


# -- ledger_missing_txn -------------------------------------------------------------------------
def test_ledger_missing_txn_breaks_for_each_spending_entry_of_an_unknown_transaction(
    db: duckdb.DuckDBPyConnection,
) -> None:
    make_transaction(db, transaction_id="T1", card_id="C2", auth_amount="40.00")
    settle_in_ledger(db, "T1", "40.00")  # ties, 3 entries
    make_account_log(db, trans_type="AccountTopUp", trans_amount="5.00", order_no="X1")  # no
    make_account_log(
        db,
        account_log_id="L1",
        trans_type="AuthHold",
        trans_amount="-40.00",
        order_no="T9",
        card_id="C2",
        trans_at=at(5),
    )
    make_account_log(
        db,
        account_log_id="L2",
        trans_type="Consume",
        trans_amount="-40.00",
        order_no="T9",
        card_id="C2",
        trans_at=at(6),
    )
    # transaction coverage starts 2026-01-01: T8 was first entered (authorised) before it,
    # so both its entries point outside the extracted transactions
    make_account_log(
        db,
        trans_type="AuthHold",
        trans_amount="-40.00",
        order_no="T8",
        card_id="C2",
        trans_at=at(0, 22),
    )
    make_account_log(
        db, trans_type="Consume", trans_amount="-40.00", order_no="T8", card_id="C2", trans_at=at(2)
    )

    run(db)

    assert breaks(db, "ledger_missing_txn") == [
        brk("ledger_missing_txn", "L1", None, "-40.00", None, entity_type="account_log"),
        brk("ledger_missing_txn", "L2", None, "-40.00", None, entity_type="account_log"),
    ]
    assert counts(db, "ledger_missing_txn") == (7, 2, 2)


def test_ledger_missing_txn_is_out_of_window_when_the_hold_predates_the_extracted_ledger(
    db: duckdb.DuckDBPyConnection,
) -> None:
    """Regression: the first *extracted* entry was taken as the authorisation, so a
    transaction held before the ledger coverage (its AuthHold not extracted) and settled
    inside it looked authorised inside the transaction coverage, and its release and
    consume broke although the transaction could not have been extracted."""
    db.execute("delete from raw.pages; delete from meta.state")
    cover(db, *STREAMS, first_day=date(2026, 1, 4))  # an extraction started on Jan 4
    # T7: held on Jan 3 (outside the ledger: not extracted), released and consumed on Jan 5
    settle_in_ledger(db, "T7", "40.00", ("AuthRelease", "Consume"), when=at(5))
    # T8: held, released and consumed on Jan 6 (all extracted), the transaction not extracted
    settle_in_ledger(db, "T8", "25.00", when=at(6))
    # T9: settled without a hold on Jan 6, not extracted
    settle_in_ledger(db, "T9", "5.00", ("TransFee",), when=at(6))

    run(db)

    assert [b.entity_id for b in breaks(db, "ledger_missing_txn")] == [
        "AL03",
        "AL04",
        "AL05",
        "AL06",
    ]
    assert counts(db, "ledger_missing_txn") == (6, 4, 2)


# -- txn_amount_mismatch ------------------------------------------------------------------------
def test_txn_amount_mismatch_breaks_where_the_settlement_entry_differs_from_settled_amount(
    db: duckdb.DuckDBPyConnection,
) -> None:
    make_card_snapshot(db, card_id="C2", card_model=SB)
    # authorised 40, settled 38: ties with the 38 settlement, the hold and release not summed
    make_transaction(
        db, transaction_id="T1", card_id="C2", auth_amount="40.00", settled_amount="38.00"
    )
    settle_in_ledger(db, "T1", "40.00", ("AuthHold", "AuthRelease"))
    settle_in_ledger(db, "T1", "38.00", ("Consume",), when=T0 + timedelta(hours=1))
    make_transaction(
        db,
        transaction_id="T2",
        card_id="C2",
        auth_amount="5.00",
        transaction_type="ConsumeRefund",
        funds_direction="Income",
    )
    settle_in_ledger(db, "T2", "5.00", ("ConsumeRefund",))  # ties
    make_transaction(db, transaction_id="T3", card_id="C2", auth_amount="40.00")
    settle_in_ledger(db, "T3", "41.00", ("Consume",))

    run(db)

    assert breaks(db, "txn_amount_mismatch") == [
        brk("txn_amount_mismatch", "T3", "40.00", "41.00", "1.00", entity_type="transaction")
    ]
    assert counts(db, "txn_amount_mismatch") == (3, 1, 0)


# -- fee_mismatch -------------------------------------------------------------------------------
def test_fee_mismatch_breaks_once_per_order_for_either_cause(
    db: duckdb.DuckDBPyConnection,
) -> None:
    make_order(db, order_no="O1", fee_amount="1.50")
    make_card_log(db, order_no="O1", fee_items=["1.00", "0.50"])  # ties
    make_card_log(db, order_no="O2", total_fee="0.00")  # no order, no fee, no items: ties
    # a CardCancel order carries no fee: not read as zero
    make_order(
        db, order_no="O3", order_type="CardCancel", principal_amount="30.00", fee_amount=None
    )
    make_card_log(db, order_no="O3", log_type="CardCancel", trans_amount="30.00", total_fee="2.00")
    # totalFee is not the sum of its items
    make_order(db, order_no="O4", fee_amount="3.00")
    make_card_log(db, order_no="O4", fee_items=["1.00", "1.00"], total_fee="3.00")
    # the order's fee is not the card log's
    make_order(db, order_no="O5", fee_amount="1.50")
    make_card_log(db, order_no="O5", total_fee="1.00")
    # both
    make_order(db, order_no="O6", fee_amount="5.00")
    make_card_log(db, order_no="O6", fee_items=["1.00", "1.00"], total_fee="3.00")
    # a fee without items: the items sum to zero
    make_card_log(db, order_no="O7", fee_items=[], total_fee="1.00")

    run(db)

    assert breaks(db, "fee_mismatch") == [
        brk("fee_mismatch", "O4", "2.00", "3.00", "1.00"),
        brk("fee_mismatch", "O5", "1.50", "1.00", "-0.50"),
        brk("fee_mismatch", "O6", "2.00", "3.00", "1.00"),
        brk("fee_mismatch", "O7", "0.00", "1.00", "1.00"),
    ]
    both = detail(db, "fee_mismatch", "O6")
    assert "feeItems sum to 2.00" in both and "order fee 5.00" in both
    assert counts(db, "fee_mismatch") == (7, 4, 0)


def test_fee_mismatch_compares_the_completed_card_logs_once_per_order(
    db: duckdb.DuckDBPyConnection,
) -> None:
    """Regression: the check compared card logs of every status and counted an order with
    two card logs twice; its grain is one order, and only a Completed log charged a fee."""
    # a Pending and a failed card log charged nothing: not compared
    for order, status in (("P1", "Pending"), ("F1", "Failure")):
        make_order(db, order_no=order, fee_amount="9.00")
        make_card_log(db, order_no=order, status=status, fee_items=["1.00"], total_fee="3.00")
    # an order paid in two card logs: its fee is what they charged together
    make_order(db, order_no="O8", fee_amount="2.00")
    make_card_log(db, order_no="O8", trans_amount="50.00", total_fee="1.00")
    make_card_log(db, order_no="O8", trans_amount="50.00", total_fee="1.00")
    make_order(db, order_no="O9", fee_amount="2.00")
    make_card_log(db, order_no="O9", trans_amount="50.00", total_fee="1.00")
    make_card_log(db, order_no="O9", trans_amount="50.00", total_fee="1.50")

    run(db)

    assert breaks(db, "fee_mismatch") == [brk("fee_mismatch", "O9", "2.00", "2.50", "0.50")]
    assert counts(db, "fee_mismatch") == (2, 1, 0)


# -- order_amount_mismatch ----------------------------------------------------------------------
ORDERS = [  # card model, order type, principal, fee, what the account moves (signed)
    ("Standard", "ApplyCard", "100.00", "5.00", "-105.00"),
    ("Standard", "CardTopUp", "100.00", "1.00", "-101.00"),
    ("Standard", "CardWithdraw", "20.00", "2.00", "20.00"),
    ("Standard", "CardCancel", "30.00", None, "30.00"),
    (SB, "ApplyCard", "0.00", "3.00", "-3.00"),
]


def test_order_amount_mismatch_breaks_where_the_entry_differs_for_each_order_type(
    db: duckdb.DuckDBPyConnection,
) -> None:
    for i, (model, order_type, principal, fee, moves) in enumerate(ORDERS):
        sign = 1 if D(moves) > 0 else -1
        for order, moved in ((f"A{i}", D(moves)), (f"B{i}", D(moves) + sign * D("1.00"))):
            make_order(
                db,
                order_no=order,
                card_model=model,
                order_type=order_type,
                principal_amount=principal,
                fee_amount=fee,
            )
            make_account_log(db, order_no=order, trans_type=order_type, trans_amount=moved)
    # a null amount is not compared
    make_order(db, order_no="N1", principal_amount="100.00", fee_amount=None)
    make_account_log(db, order_no="N1", trans_type="CardTopUp", trans_amount="-500.00")
    make_order(db, order_no="N2", order_type="CardWithdraw", principal_amount=None)
    make_account_log(db, order_no="N2", trans_type="CardWithdraw", trans_amount="500.00")
    # no account entry: missing_account_entry reports it, not this check
    make_order(db, order_no="M1")
    make_card_log(db, order_no="M1")

    run(db)

    assert breaks(db, "order_amount_mismatch") == [
        brk("order_amount_mismatch", f"B{i}", abs(D(moves)), abs(D(moves)) + 1, "1.00")
        for i, (_, _, _, _, moves) in enumerate(ORDERS)
    ]
    assert counts(db, "order_amount_mismatch") == (10, 5, 0)
    assert [b.entity_id for b in breaks(db, "missing_account_entry")] == ["M1"]


# -- credit_limit_exceeded ----------------------------------------------------------------------
def test_credit_limit_exceeded_warns_only_above_the_limit(db: duckdb.DuckDBPyConnection) -> None:
    for card, used, limit in (
        ("C2", "50.00", "100.00"),
        ("C3", "100.00", "100.00"),
        ("C4", "120.00", "100.00"),
        ("C5", "900.00", None),
    ):
        make_card_snapshot(
            db, card_id=card, card_model=SB, used_credit_amount=used, max_credit_amount=limit
        )

    result = run(db)

    assert breaks(db, "credit_limit_exceeded") == [
        brk(
            "credit_limit_exceeded",
            "C4",
            "100.00",
            "120.00",
            "20.00",
            severity="warning",
            entity_type="card",
        )
    ]
    assert counts(db, "credit_limit_exceeded") == (4, 1, 0)  # no limit: compared, ties
    assert result.warnings == 1


# -- stale_authorization ------------------------------------------------------------------------
def given_authorizations_8_and_6_days_old(db: duckdb.DuckDBPyConnection) -> None:
    make_transaction(
        db, transaction_id="T1", status="authorized", auth_at=AS_OF - timedelta(days=8)
    )
    make_transaction(
        db,
        transaction_id="T2",
        status="authorized",
        auth_amount="20.00",
        auth_at=AS_OF - timedelta(days=6),
    )
    make_transaction(db, transaction_id="T3", auth_at=AS_OF - timedelta(days=30))  # settled
    make_transaction(db, transaction_id="T4", status="failed", auth_at=AS_OF - timedelta(days=30))


def test_stale_authorization_warns_after_7_days_by_default(db: duckdb.DuckDBPyConnection) -> None:
    given_authorizations_8_and_6_days_old(db)

    run(db)

    assert breaks(db, "stale_authorization") == [
        brk(
            "stale_authorization",
            "T1",
            None,
            "10.00",
            None,
            severity="warning",
            entity_type="transaction",
        )
    ]
    assert counts(db, "stale_authorization") == (4, 1, 0)  # every transaction is compared


def test_a_stale_authorization_that_settles_is_resolved(db: duckdb.DuckDBPyConnection) -> None:
    """Regression: the check compared open authorisations only, so a stale hold that settled
    left the check's grain, was never compared again and stayed open for ever."""
    given_authorizations_8_and_6_days_old(db)
    run(db)
    db.execute(
        "update core.transactions set status = 'settled', settled_amount = auth_amount, "
        "settled_at = auth_at + interval 9 day where transaction_id = 'T1'"
    )

    second = run(db, run_id="run-2", as_of=AS_OF + timedelta(hours=1))

    assert second.resolved_breaks == 1
    assert breaks(db, "stale_authorization") == []


def test_stale_authorization_uses_the_configured_days(db: duckdb.DuckDBPyConnection) -> None:
    given_authorizations_8_and_6_days_old(db)

    run(db, stale_days=5)

    assert [b.entity_id for b in breaks(db, "stale_authorization")] == ["T1", "T2"]


# -- auth_settle_variance -----------------------------------------------------------------------
def given_settlements_of_an_authorised_100(db: duckdb.DuckDBPyConnection) -> None:
    for txn, settled in (
        ("T1", "110.00"),
        ("T2", "111.00"),
        ("T3", "89.00"),
        ("T4", "100.00"),
        ("T6", "125.00"),
    ):
        make_transaction(db, transaction_id=txn, auth_amount="100.00", settled_amount=settled)
    make_transaction(db, transaction_id="T5", auth_amount="100.00", status="authorized")


def test_auth_settle_variance_reports_more_than_10_percent_by_default(
    db: duckdb.DuckDBPyConnection,
) -> None:
    given_settlements_of_an_authorised_100(db)

    run(db)

    info = {"severity": "info", "entity_type": "transaction"}
    assert breaks(db, "auth_settle_variance") == [
        brk("auth_settle_variance", "T2", "100.00", "111.00", "11.00", **info),
        brk("auth_settle_variance", "T3", "100.00", "89.00", "-11.00", **info),
        brk("auth_settle_variance", "T6", "100.00", "125.00", "25.00", **info),
    ]
    assert counts(db, "auth_settle_variance") == (5, 3, 0)  # exactly 10 % is not more


def test_auth_settle_variance_uses_the_configured_threshold(
    db: duckdb.DuckDBPyConnection,
) -> None:
    given_settlements_of_an_authorised_100(db)

    run(db, variance_pct="20")

    assert [b.entity_id for b in breaks(db, "auth_settle_variance")] == ["T6"]


def test_auth_settle_variance_compares_exact_decimals_at_the_threshold(
    db: duckdb.DuckDBPyConnection,
) -> None:
    """Regression: `auth_amount * variance_pct / 100` was a DOUBLE in DuckDB. 10.0001 % of
    1,500,010,999.99 is 150,002,600.0099999999: a variance of 150,002,600.01 is more, but as
    doubles both are 150,002,600.01 and it was not reported."""
    auth = D("1500010999.99")
    for txn, variance in (("T1", "150002600.01"), ("T2", "150002600.00")):
        make_transaction(
            db, transaction_id=txn, auth_amount=auth, settled_amount=auth + D(variance)
        )

    run(db, variance_pct="10.0001")

    assert [b.entity_id for b in breaks(db, "auth_settle_variance")] == ["T1"]


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


# -- every transaction type of the v1.4 reference ------------------------------------------------
SETTLED_TYPES = {
    "ConsumeRefund": "Income",
    "ConsumeReversal": "Income",
    "ConsumeRefundReversal": "Expenditure",
    "ConsumeDispute": "Income",
    "DisputeRelease": "Expenditure",
    "TransFee": "Expenditure",
}


@pytest.mark.parametrize(("kind", "direction"), SETTLED_TYPES.items())
def test_each_settled_type_ties_with_its_own_settlement_entry_and_breaks_without(
    db: duckdb.DuckDBPyConnection, kind: str, direction: str
) -> None:
    make_card_snapshot(db, card_id="C2", card_model=SB, used_credit_amount="0.00")
    sign = 1 if direction == "Income" else -1
    for txn, entry in (("T1", True), ("T2", False)):
        make_transaction(
            db,
            transaction_id=txn,
            card_id="C2",
            transaction_type=kind,
            funds_direction=direction,
            auth_amount="7.00",
        )
        if entry:
            make_account_log(
                db,
                trans_type=kind,
                trans_amount=sign * D("7.00"),
                order_no=txn,
                card_id="C2",
                trans_at=T0,
            )

    run(db)

    assert [b.entity_id for b in breaks(db, "txn_missing_ledger")] == ["T2"]
    assert breaks(db, "ledger_missing_txn") == []
    assert breaks(db, "txn_amount_mismatch") == []


def test_an_auth_query_holds_nothing_and_is_never_stale(db: duckdb.DuckDBPyConnection) -> None:
    """AuthQuery verifies a card: whatever its amount or status, it has no effect."""
    for txn, status in (("Q1", "authorized"), ("Q2", "settled"), ("Q3", "failed")):
        make_transaction(
            db,
            transaction_id=txn,
            card_id="C2",
            transaction_type="AuthQuery",
            status=status,
            auth_amount="1.00",
            auth_at=AS_OF - timedelta(days=30),
        )
    make_card_snapshot(db, card_id="C2", card_model=SB, used_credit_amount="0.00")
    make_transaction(
        db, transaction_id="Q4", card_id="C1", transaction_type="AuthQuery", status="authorized"
    )
    make_card_log(db, card_id="C1", order_no="C1-O1", log_type="ApplyCard", trans_at=at(2))
    make_card_snapshot(db, card_id="C1", balance="100.00")

    run(db)
    write_summary(db, "run-1", [])

    for check in ("stale_authorization", "card_credit_usage", "card_balance", "txn_missing_ledger"):
        assert breaks(db, check) == [], check
    assert counts(db, "stale_authorization").entities_checked == 4  # compared, and tied
    hold = db.execute("select count(*) from recon.run_summary where section = 'hold'").fetchone()
    assert hold == (0,)  # nothing on hold


# -- quarantined_record: a record that cannot be trusted is a finding, once ---------------------
def given_a_share_transaction_quarantined_with_its_ledger_entries(
    db: duckdb.DuckDBPyConnection,
) -> None:
    """T9 (ShareBalance C2, settled 40.00) arrived with three decimals: quarantined. Its hold,
    release and settlement are in the ledger; C2 reports the 40.00 used."""
    make_quarantined(
        db,
        "transactions",
        {"id": "T9", "cardInfo": {"cardId": "C2"}, "authTime": "2026-01-05T12:00:00Z"},
        item_key="T9",
        failed_checks="settled_amount: at most 2 decimals",
    )
    settle_in_ledger(db, "T9", "40.00")
    make_card_snapshot(db, card_id="C2", card_model=SB, used_credit_amount="40.00")


def blocked(db: duckdb.DuckDBPyConnection, check: str, run_id: str = "run-1") -> int:
    row = db.execute(
        'select blocked_by_quarantine from recon.check_runs where run_id = ? and "check" = ?',
        [run_id, check],
    ).fetchone()
    assert row is not None
    return int(row[0])


def test_a_quarantined_transaction_is_one_break_and_blocks_its_pairs_instead_of_breaking_them(
    db: duckdb.DuckDBPyConnection,
) -> None:
    given_a_share_transaction_quarantined_with_its_ledger_entries(db)

    run(db)
    verdict = write_summary(db, "run-1", [])

    assert breaks(db, "quarantined_record") == [
        brk("quarantined_record", "T9", None, None, None, entity_type="transaction", currency=None)
    ]
    assert detail(db, "quarantined_record", "T9") == (
        "transactions record cannot be trusted: settled_amount: at most 2 decimals"
    )
    for check in ("ledger_missing_txn", "txn_missing_ledger", "txn_amount_mismatch"):
        assert breaks(db, check) == [], check
    assert blocked(db, "ledger_missing_txn") == 3  # hold, release, settlement
    assert breaks(db, "card_credit_usage") == []  # C2 rolls forward over T9: blocked
    assert blocked(db, "card_credit_usage") == 1
    assert verdict == "breaks"  # never reconciled while a record is untrusted
    summary = db.execute(
        "select name, blocked_by_quarantine from recon.run_summary "
        "where section = 'check' and blocked_by_quarantine > 0 order by name"
    ).fetchall()
    assert summary == [("card_credit_usage", 1), ("ledger_missing_txn", 3)]


def test_a_later_clean_fetch_resolves_the_quarantined_record_and_its_pairs_are_compared(
    db: duckdb.DuckDBPyConnection,
) -> None:
    given_a_share_transaction_quarantined_with_its_ledger_entries(db)
    run(db)
    # the next run fetches T9 again, valid this time
    make_transaction(
        db,
        transaction_id="T9",
        card_id="C2",
        auth_amount="40.00",
        fetched_at=FETCHED + timedelta(days=1),
        run_id="run-2",
    )

    run(db, run_id="run-2", as_of=AS_OF + timedelta(days=1))

    status = db.execute(
        "select status from recon.breaks where \"check\" = 'quarantined_record'"
    ).fetchall()
    assert status == [("resolved",)]
    assert blocked(db, "ledger_missing_txn", "run-2") == 0
    assert counts(db, "ledger_missing_txn", "run-2").breaks == 0  # compared, and it ties
    assert counts(db, "txn_missing_ledger", "run-2") == (1, 0, 0)


def test_an_older_valid_copy_does_not_replace_a_newer_quarantined_fetch(
    db: duckdb.DuckDBPyConnection,
) -> None:
    """T1 loaded authorised yesterday; today's fetch (settled) is quarantined: the stored copy
    is stale, so the record stays untrusted and its stale hold is blocked, not reported."""
    make_transaction(
        db, transaction_id="T1", status="authorized", auth_at=AS_OF - timedelta(days=9)
    )
    make_quarantined(db, "transactions", {"id": "T1"}, item_key="T1",
                     fetched_at=FETCHED + timedelta(hours=2))  # fmt: skip

    run(db)

    assert [b.entity_id for b in breaks(db, "quarantined_record")] == ["T1"]
    assert breaks(db, "stale_authorization") == []
    assert blocked(db, "stale_authorization") == 1


def test_a_record_with_no_key_gets_a_raw_id_from_the_hash_of_its_json(
    db: duckdb.DuckDBPyConnection,
) -> None:
    import hashlib

    raw = {"accountTransType": "Consume", "transAmount": "1.005"}
    make_quarantined(db, "account_logs", raw, failed_checks="account_log_id: missing")

    run(db)

    text = json.dumps(raw, separators=(",", ":"))
    expected = "raw:" + hashlib.sha256(text.encode()).hexdigest()[:16]
    assert breaks(db, "quarantined_record") == [
        brk("quarantined_record", expected, None, None, None, entity_type="account_log",
            currency=None)
    ]  # fmt: skip


def test_an_unknown_enum_is_said_in_words(db: duckdb.DuckDBPyConnection) -> None:
    make_quarantined(
        db,
        "orders",
        {"orderNo": "O7", "orderType": "Weird"},
        item_key="O7",
        failed_checks="order_type: isin(['ApplyCard', 'CardTopUp']) got 'Weird'",
    )

    run(db)

    assert detail(db, "quarantined_record", "O7") == (
        "orders record cannot be trusted: order_type: unknown value 'Weird' "
        "(expected one of ['ApplyCard', 'CardTopUp'])"
    )


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


def test_a_transaction_sent_without_an_id_blocks_the_entries_of_its_card_not_others(
    db: duckdb.DuckDBPyConnection,
) -> None:
    """We received a C2 transaction but could not read its id: the C2 entries that point to
    no extracted transaction may be its, so they are blocked; a C3 orphan still breaks."""
    make_quarantined(
        db,
        "transactions",
        {"cardInfo": {"cardId": "C2"}, "authTime": "2026-01-05T12:00:00Z"},
        failed_checks="transaction_id: missing",
    )
    settle_in_ledger(db, "T?", "40.00")  # C2's hold, release, settlement
    make_account_log(
        db, trans_type="Consume", trans_amount="-5.00", order_no="T-C3", card_id="C3", trans_at=T0
    )

    run(db)

    assert [b.entity_id.startswith("raw:") for b in breaks(db, "quarantined_record")] == [True]
    assert [b.actual for b in breaks(db, "ledger_missing_txn")] == [D("-5.00")]
    assert blocked(db, "ledger_missing_txn") == 3
