"""ShareBalance transactions against the ledger: ``txn_missing_ledger``,
``ledger_missing_txn``, ``txn_amount_mismatch``, for every settled type of the v1.4
reference."""

from __future__ import annotations

from datetime import date, timedelta

import duckdb
import pytest
from support.builders import (
    STREAMS,
    T0,
    cover,
    make_account_log,
    make_card_snapshot,
    make_transaction,
)
from support.checks import SB, D, at, breaks, brk, counts, run, settle_in_ledger


# -- txn_missing_ledger -------------------------------------------------------------------------
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
