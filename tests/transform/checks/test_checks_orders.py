"""Orders: ``fee_mismatch`` (order fee, card log fee, fee items) and
``order_amount_mismatch`` (what the account moved for each order type)."""

from __future__ import annotations

import duckdb
from support.builders import (
    make_account_log,
    make_card_log,
    make_order,
)
from support.checks import SB, D, breaks, brk, counts, detail, run


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
