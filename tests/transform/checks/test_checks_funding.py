"""Funding and missing entries: ``funding_mismatch``, ``missing_account_entry`` and
``missing_card_entry``, and the coverage window in UTC whatever the session's time zone."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import duckdb
from support.builders import (
    cover,
    make_account_log,
    make_account_snapshot,
    make_card_log,
    make_card_snapshot,
    make_transaction,
)
from support.checks import SB, D, at, breaks, brk, counts, run

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
