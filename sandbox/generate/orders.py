"""The orders behind the card logs and the ShareBalance cards, as the service stores them."""

from __future__ import annotations

import numpy as np

from sandbox.model import (
    CARD_CANCEL,
    FEE_TYPES,
    NO_FEE,
    SHARE_BALANCE,
    STANDARD,
    CardLogs,
    Cards,
    Order,
)


def standard_order(logs: CardLogs, i: int, cards: Cards, rng: np.random.Generator) -> Order:
    c = int(logs.card[i])
    kind = int(logs.kind[i])
    fees = [
        (FEE_TYPES[int(t)], int(a))
        for t, a in (
            (logs.fee1_type[i], logs.fee1_cents[i]),
            (logs.fee2_type[i], logs.fee2_cents[i]),
        )
        if t != NO_FEE
    ]
    fee = int(logs.total_fee_cents[i])
    trans = int(logs.trans_cents[i])
    order_type = ("ApplyCard", "CardTopUp", "CardWithdraw", "CardCancel")[kind]
    principal: int | None = trans
    fee_cents: int | None = fee
    total: int | None = trans + fee
    if kind == CARD_CANCEL:
        fee_cents, total = None, None  # a cancel order carries only what is refunded
    return Order(
        order_no=str(logs.order_no[i]),
        customer_order_no=f"CUST-{logs.order_no[i]}" if rng.random() < 0.7 else None,
        order_type=order_type,
        model=STANDARD,
        card=c,
        currency=cards.currency[c],
        product_code=cards.product_code[c],
        created_at=int(logs.trans_at[i]) - 50,
        completed_at=int(logs.completed_at[i]),
        failed=bool(logs.failed[i]),
        principal_cents=principal,
        fee_cents=fee_cents,
        fee_items=fees,
        total_cents=total,
    )


def share_balance_order(no: str, c: int, cards: Cards, fee: int) -> Order:
    return Order(
        order_no=no,
        customer_order_no=f"CUST-{no}",
        order_type="ApplyCard",
        model=SHARE_BALANCE,
        card=c,
        currency=cards.currency[c],
        product_code=cards.product_code[c],
        created_at=int(cards.opened_at[c]) - 20_000,
        completed_at=int(cards.opened_at[c]),
        failed=False,
        principal_cents=0,
        fee_cents=fee,
        fee_items=[("OpenCardFee", fee)],
        total_cents=fee,
        max_auth_cents=int(cards.max_auth[c]),
        max_credit_cents=None if cards.max_credit[c] < 0 else int(cards.max_credit[c]),
    )
