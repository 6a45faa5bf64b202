"""Standard-card funding (card logs): funded from each card's own spending, then some
withdrawn and cancelled; each with its order."""

from __future__ import annotations

import numpy as np

from sandbox.generate.context import Builder, round_down, round_up
from sandbox.generate.orders import standard_order
from sandbox.ids import Ids
from sandbox.ledger import card_balance, is_income_txn
from sandbox.model import (
    APPLY_CARD,
    CARD_CANCEL,
    CARD_TOPUP,
    CARD_WITHDRAW,
    DAY_MS,
    DECLINED,
    HOUR_MS,
    MINUTE_MS,
    NEVER,
    NO_FEE,
    STANDARD,
    CardLogs,
    Cards,
    Txns,
    concat,
    take,
)


def card_logs(b: Builder, cards: Cards, txns: Txns) -> CardLogs:
    """Fund Standard cards from their own spending, then withdraw and cancel some."""
    rng, n_cards = b.rng, len(cards)
    is_std = np.array([m == STANDARD for m in cards.model])
    spend = ~is_income_txn(txns.kind) & (txns.kind != DECLINED)
    debit = np.where(spend, np.maximum(txns.auth_cents, txns.settled_cents), 0)
    act_end = np.where(cards.cancelled_at == NEVER, b.end, cards.cancelled_at - 6 * DAY_MS)
    mid = cards.opened_at + (act_end - cards.opened_at) // 2
    before = txns.auth_at < mid[txns.card]
    s1 = np.bincount(txns.card, weights=np.where(before, debit, 0), minlength=n_cards)
    s2 = np.bincount(txns.card, weights=np.where(before, 0, debit), minlength=n_cards)

    rows: list[
        tuple[int, int, int, int, int, int, bool]
    ] = []  # card, kind, cents, at, done, fee, failed

    def fund(c: int, kind: int, cents: int, at: int, done: int, failed: bool = False) -> None:
        rows.append((c, kind, cents, at, done, 0, failed))

    for c in map(int, np.flatnonzero(is_std)):
        principal = round_up(s1[c] * 1.15 + 2_000, 100)
        top_up = round_up(s2[c] * 1.15 + 2_000, 100)
        fund(c, APPLY_CARD, principal, cards.opened_at[c] - 40_000, cards.opened_at[c])
        at = int(mid[c]) - HOUR_MS
        fund(c, CARD_TOPUP, top_up, at, at + 30_000)
    # extra top-ups, a failed one, one still pending at the end
    for c in map(int, b.pick(n_cards, 0.3, is_std)):
        at = int(cards.opened_at[c] + rng.random() * (act_end[c] - cards.opened_at[c]))
        fund(c, CARD_TOPUP, int(rng.integers(50, 500)) * 100, at, at + 20_000)
    for c in map(int, b.pick(n_cards, 0.03, is_std)):
        at = int(cards.opened_at[c] + rng.random() * (act_end[c] - cards.opened_at[c]))
        fund(c, CARD_TOPUP, int(rng.integers(50, 500)) * 100, at, NEVER, failed=True)
    live_std = is_std & (cards.cancelled_at == NEVER)
    for c in b.pick(n_cards, 0.01, live_std):
        fund(int(c), CARD_TOPUP, 10_000, b.end - 10 * MINUTE_MS, NEVER)  # pending at end

    # Withdraw part of the funding slack after the mid-life top-up: the card's
    # balance stays >= 0.15 * spending + 40.00 throughout, so this never overdraws.
    for c in map(int, b.pick(n_cards, 0.2, live_std)):
        amount = round_down(0.1 * (s1[c] + s2[c]) + 2_000, 100)
        at = int(mid[c] + (0.05 + 0.85 * rng.random()) * (act_end[c] - mid[c]))
        rows.append((c, CARD_WITHDRAW, amount, at, at + 45_000, 100, False))

    logs = _card_log_table(b, rows, cards)
    # Cancel: pay out the whole balance, all of the card's transactions long settled.
    cancel_rows = []
    for c in map(int, np.flatnonzero(cards.cancelled_at != NEVER)):
        balance = card_balance(c, int(cards.cancelled_at[c]) - 60_000, logs, txns)
        fee = min(100, balance)
        cancel_rows.append(
            (
                c,
                CARD_CANCEL,
                balance - fee,
                int(cards.cancelled_at[c]) - 60_000,
                int(cards.cancelled_at[c]),
                fee,
                False,
            )
        )
    if cancel_rows:
        logs = concat(logs, _card_log_table(b, cancel_rows, cards))
    return _sort_card_logs(logs, b.seed)


def _card_log_table(
    b: Builder, rows: list[tuple[int, int, int, int, int, int, bool]], cards: Cards
) -> CardLogs:
    n = len(rows)
    card = np.array([r[0] for r in rows], dtype=np.int32)
    kind = np.array([r[1] for r in rows], dtype=np.int8)
    trans = np.array([r[2] for r in rows], dtype=np.int64)
    at = np.array([r[3] for r in rows], dtype=np.int64)
    done = np.array([r[4] for r in rows], dtype=np.int64)
    fixed_fee = np.array([r[5] for r in rows], dtype=np.int64)
    failed = np.array([r[6] for r in rows], dtype=bool)
    fee1_type = np.full(n, NO_FEE, dtype=np.int8)
    fee1 = np.zeros(n, dtype=np.int64)
    fee2_type = np.full(n, NO_FEE, dtype=np.int8)
    fee2 = np.zeros(n, dtype=np.int64)
    topup_fee = np.maximum(10, np.round(trans * 0.01)).astype(np.int64)
    apply = kind == APPLY_CARD
    fee1_type[apply], fee1[apply] = 0, 100  # OpenCardFee 1.00
    fee2_type[apply], fee2[apply] = 1, topup_fee[apply]  # TopUpFee 1%
    top = kind == CARD_TOPUP
    fee1_type[top], fee1[top] = 1, topup_fee[top]
    wd = kind == CARD_WITHDRAW
    fee1_type[wd], fee1[wd] = 2, fixed_fee[wd]  # CardWithdrawFee
    cc = kind == CARD_CANCEL
    fee1_type[cc], fee1[cc] = 3, fixed_fee[cc]  # CancelCardFee
    total_fee = fee1 + fee2
    order_nos = []
    for i in range(n):
        no = b.order_no(int(at[i]))
        order_nos.append(no)
        c = int(card[i])
        if kind[i] == APPLY_CARD:
            cards.apply_order[c] = no
    logs = CardLogs(
        id=np.empty(n, dtype=object),
        order_no=np.array(order_nos, dtype=object),
        card=card,
        kind=kind,
        trans_cents=trans,
        fee1_type=fee1_type,
        fee1_cents=fee1,
        fee2_type=fee2_type,
        fee2_cents=fee2,
        total_fee_cents=total_fee,
        total_cents=trans + total_fee,
        trans_at=at,
        completed_at=done,
        failed=failed,
    )
    for i in range(n):
        b.orders[order_nos[i]] = standard_order(logs, i, cards, b.rng)
    return logs


def _sort_card_logs(logs: CardLogs, seed: int) -> CardLogs:
    order = np.lexsort((np.arange(len(logs)), logs.trans_at))
    out = take(logs, order)
    out.id = Ids(seed, "cardlog").make(out.trans_at)
    return out
