"""Plants in Standard-card funding: card logs, their account entries and their orders."""

from __future__ import annotations

import numpy as np

from sandbox.model import CARD_TOPUP, CARD_WITHDRAW, TOPUP, take
from sandbox.plants.planter import Planter


def dropped_account_log(p: Planter) -> None:
    """The API lost a funding entry: the card log has no pair and the chain jumps."""
    w = p.world
    rows = p.completed_card_logs(CARD_TOPUP)
    r = p.pick(rows, w.card_logs.card)
    order_no = str(w.card_logs.order_no[r])
    a_row = p.account_row(order_no)
    nxt = p.next_in_currency(a_row)
    if nxt is None:  # the last entry: nothing after it to break; take another
        p.used_cards.discard(int(w.card_logs.card[r]))
        return dropped_account_log(p)
    cur = str(w.account_logs.currency[a_row])
    next_id = str(w.account_logs.id[nxt])
    p.drop_account_rows([a_row], chain_again=False)
    p.plant("missing_account_entry", "order", order_no, cur, "funding entry dropped from the API")
    p.plant(
        "account_ledger_chain",
        "account_log",
        next_id,
        cur,
        "the entry after the dropped one does not chain",
    )
    return None


def missing_account_entry(p: Planter) -> None:
    """A card was funded but the account was never debited (the ledger chains without it)."""
    w = p.world
    r = p.pick(p.completed_card_logs(CARD_TOPUP), w.card_logs.card)
    order_no = str(w.card_logs.order_no[r])
    a_row = p.account_row(order_no)
    cur = str(w.account_logs.currency[a_row])
    p.drop_account_rows([a_row], chain_again=True)
    p.plant("missing_account_entry", "order", order_no, cur, "account never debited")


def altered_fee_item(p: Planter) -> None:
    """A fee item no longer adds up to the log's totalFee."""
    lg = p.world.card_logs
    r = p.pick(p.completed_card_logs(CARD_TOPUP), lg.card)
    lg.fee1_cents[r] += 5
    p.plant(
        "fee_mismatch",
        "order",
        str(lg.order_no[r]),
        p.card_currency(int(lg.card[r])),
        "feeItems sum to 0.05 more than totalFee",
    )


def order_fee_differs(p: Planter) -> None:
    """The order shows a fee (and total) other than the one charged."""
    lg = p.world.card_logs
    r = p.pick(p.completed_card_logs(CARD_TOPUP), lg.card)
    order = p.world.orders[str(lg.order_no[r])]
    assert order.fee_cents is not None and order.total_cents is not None
    order.fee_cents += 25
    order.total_cents += 25
    order.fee_items = [(n, c + 25 if i == 0 else c) for i, (n, c) in enumerate(order.fee_items)]
    cur = order.currency
    p.plant("fee_mismatch", "order", order.order_no, cur, "order fee 0.25 above the card log's")
    p.plant(
        "order_amount_mismatch",
        "order",
        order.order_no,
        cur,
        "order total 0.25 above what the account paid",
    )


def funding_mismatch(p: Planter) -> None:
    """A card was credited 2.00 more than the account paid for the top-up."""
    lg = p.world.card_logs
    r = p.pick(p.completed_card_logs(CARD_TOPUP), lg.card)
    lg.trans_cents[r] += 200
    lg.total_cents[r] += 200
    p.plant(
        "funding_mismatch",
        "order",
        str(lg.order_no[r]),
        p.card_currency(int(lg.card[r])),
        "card log 2.00 above its account entry",
    )


def missing_card_entry(p: Planter) -> None:
    """The account paid for a top-up the card never received."""
    w = p.world
    lg = w.card_logs
    r = p.pick(p.completed_card_logs(CARD_TOPUP), lg.card)
    order_no = str(lg.order_no[r])
    w.card_logs = take(lg, np.setdiff1d(np.arange(len(lg)), [r]))
    t = w.txns  # and the v2.0 TopUp transaction that mirrored it
    w.txns = take(t, np.flatnonzero(~((t.kind == TOPUP) & (t.order_no == order_no))))
    w.reindex()
    p.plant(
        "missing_card_entry",
        "order",
        order_no,
        p.card_currency(int(lg.card[r])),
        "account debited, no card log",
    )


def withdraw_amount_differs(p: Planter) -> None:
    """A withdrawal order shows 3.00 more than reached the account."""
    lg = p.world.card_logs
    r = p.pick(p.completed_card_logs(CARD_WITHDRAW), lg.card)
    order = p.world.orders[str(lg.order_no[r])]
    assert order.principal_cents is not None and order.total_cents is not None
    order.principal_cents += 300
    order.total_cents += 300
    p.plant(
        "order_amount_mismatch",
        "order",
        order.order_no,
        order.currency,
        "withdrawAmount 3.00 above the account entry",
    )
