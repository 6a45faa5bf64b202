"""Authorisations: ``stale_authorization``, ``auth_settle_variance`` (info), and an
``AuthQuery`` that holds nothing."""

from __future__ import annotations

from datetime import timedelta

import duckdb
from support.builders import (
    AS_OF,
    make_card_log,
    make_card_snapshot,
    make_transaction,
)
from support.checks import SB, D, at, breaks, brk, counts, run

from transform.reconcile import write_summary


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


# -- AuthQuery: a card verification -------------------------------------------------------------
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
