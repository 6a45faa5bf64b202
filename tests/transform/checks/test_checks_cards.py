"""The card checks: ``card_balance`` (Standard), ``card_credit_usage`` and
``credit_limit_exceeded`` (ShareBalance), and when a card's snapshot is out of window."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import duckdb
from support.builders import (
    SNAPSHOT_AT,
    STREAMS,
    cover,
    make_card_log,
    make_card_snapshot,
    make_transaction,
)
from support.checks import SB, at, breaks, brk, counts, detail, run

from transform.reconcile import write_summary


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
