"""The cards' transactions, and the v2.0 ``TopUp`` transactions that mirror card logs.

Beside a size's transactions (purchases, declines, refunds and fees), shares of it that
follow an earlier one (reversals 3%, disputes 1.2%, their releases 0.6%, refund
reversals 0.6%) and card verifications (1.5%). Every world has at least
``MIN_PER_MODEL`` of each of these kinds on each card model (where it has parents for
them).
"""

from __future__ import annotations

import numpy as np

from sandbox.catalog import FAILURE_REASONS, MERCHANTS
from sandbox.generate.context import Builder, round_up
from sandbox.ids import Ids
from sandbox.ledger import is_income_txn
from sandbox.model import (
    AUTH_QUERY,
    CARD_TOPUP,
    CONSUME,
    CONSUME_DISPUTE,
    CONSUME_REFUND_REVERSAL,
    DAY_MS,
    DECLINED,
    DISPUTE_RELEASE,
    HOUR_MS,
    MINUTE_MS,
    NEVER,
    REFUND,
    REVERSAL,
    SHARE_BALANCE,
    TOPUP,
    TRANS_FEE,
    TXN_DIRECT,
    CardLogs,
    Cards,
    Txns,
    concat,
    take,
)

AUTH_QUERY_SHARE = 0.015
MIN_PER_MODEL = 2


def transactions(b: Builder, cards: Cards) -> Txns:
    """The cards' transactions: purchases (some declined, some still on hold), refunds
    and fees; then records that follow an earlier one of the same card (reversals,
    dispute credits and their releases, refund reversals) and card verifications.

    The first part draws from the world's random stream exactly as it did before the
    later kinds existed (so the rest of a seed's world keeps its shape); the later
    kinds draw from a stream of their own."""
    n, rng = b.spec.txns, b.rng
    n_cards = len(cards)
    weights = rng.lognormal(0.0, 0.8, n_cards)
    card = rng.choice(n_cards, size=n, p=weights / weights.sum()).astype(np.int32)
    # every card has some activity
    card[: min(n, n_cards)] = np.arange(min(n, n_cards))
    lo, hi = _activity_window(b, cards)
    auth_at = lo[card] + (rng.random(n) * (hi[card] - lo[card])).astype(np.int64)

    kind = rng.choice(
        [CONSUME, DECLINED, REFUND, REVERSAL, TRANS_FEE],
        size=n,
        p=[0.78, 0.05, 0.07, 0.03, 0.07],
    ).astype(np.int8)
    # a reversal follows a purchase (see _follow_ups): this draw's slot is a purchase
    kind[kind == REVERSAL] = CONSUME
    auth = np.clip(np.round(rng.lognormal(np.log(3000), 1.0, n)), 50, 500_000)
    small = np.clip(np.round(rng.lognormal(np.log(1500), 0.8, n)), 20, 100_000)
    fee = np.clip(np.round(rng.lognormal(np.log(50), 0.6, n)), 1, 2_000)
    auth_cents = np.where(kind == REFUND, small, np.where(kind == TRANS_FEE, fee, auth)).astype(
        np.int64
    )

    settle_at = np.full(n, NEVER, dtype=np.int64)
    is_consume = kind == CONSUME
    delay = (DAY_MS + rng.random(n) * 4 * DAY_MS).astype(np.int64)
    settle_at[is_consume] = auth_at[is_consume] + delay[is_consume]
    settle_at[is_consume & (settle_at > b.end)] = NEVER  # still an open hold
    direct = np.isin(kind, TXN_DIRECT)
    settle_at[direct] = auth_at[direct]

    settled_cents = auth_cents.copy()
    varies = is_consume & (rng.random(n) < 0.15)
    factor = 0.85 + 0.3 * rng.random(n)
    settled_cents[varies] = np.maximum(1, np.round(auth_cents[varies] * factor[varies]))

    failure = np.full(n, -1, dtype=np.int8)
    declined = kind == DECLINED
    failure[declined] = rng.integers(0, len(FAILURE_REASONS), declined.sum())
    cols = {
        "card": card,
        "kind": kind,
        "auth_at": auth_at,
        "settle_at": settle_at,
        "auth_cents": auth_cents,
        "settled_cents": settled_cents,
        "merchant": rng.integers(0, len(MERCHANTS), n).astype(np.int16),
        "auth_code": rng.integers(0, 10**6, n),
        "failure": failure,
    }
    cols = _concat_cols(cols, _follow_ups(b, cards, cols, hi))
    cols = _concat_cols(cols, _auth_queries(b, cards, lo, hi))

    m = len(cols["kind"])
    order = np.lexsort((np.arange(m), cols["auth_at"]))
    txns = Txns(
        id=np.empty(0, dtype=object),
        card=cols["card"][order].astype(np.int32),
        kind=cols["kind"][order].astype(np.int8),
        auth_at=cols["auth_at"][order],
        settle_at=cols["settle_at"][order],
        auth_cents=cols["auth_cents"][order],
        settled_cents=cols["settled_cents"][order],
        merchant=cols["merchant"][order].astype(np.int16),
        auth_code=np.array([f"{x:06d}" for x in cols["auth_code"][order]], dtype=object),
        failure=cols["failure"][order].astype(np.int8),
        order_no=np.full(m, "", dtype=object),
    )
    txns.id = Ids(b.seed, "txn").make(txns.auth_at)
    _set_share_balance_limits(b, cards, txns)
    return txns


def _activity_window(b: Builder, cards: Cards) -> tuple[np.ndarray, np.ndarray]:
    """Per card, when it may transact: from an hour after opening to the world's end,
    a week before its cancellation (so all has settled when it is paid out), or the
    moment it was blocked."""
    lo = cards.opened_at + HOUR_MS
    hi = np.where(cards.cancelled_at == NEVER, b.end, cards.cancelled_at - 6 * DAY_MS)
    hi = np.where(cards.blocked_at != NEVER, cards.blocked_at, hi)
    return lo, hi


def _follow_ups(
    b: Builder, cards: Cards, base: dict[str, np.ndarray], hi: np.ndarray
) -> dict[str, np.ndarray]:
    """Settled records that follow an earlier settled one of the same card, after it
    and for at most its amount: a ConsumeReversal or a ConsumeDispute after a Consume
    (never both for one), a DisputeRelease after a ConsumeDispute, a
    ConsumeRefundReversal after a ConsumeRefund. Each is a record of its own: the one
    it follows does not change."""
    n_total = b.spec.txns
    settled_consume = (base["kind"] == CONSUME) & (base["settle_at"] != NEVER)
    parts = []
    reversal, used = _follow(
        b, cards, base, hi, settled_consume, REVERSAL, 0.03 * n_total, 10 * MINUTE_MS, 2 * DAY_MS
    )
    parts.append(reversal)
    disputable = settled_consume.copy()
    disputable[used] = False
    # a dispute leaves an hour before its card's activity ends, for its release
    dispute, _ = _follow(
        b,
        cards,
        base,
        hi - HOUR_MS,
        disputable,
        CONSUME_DISPUTE,
        0.012 * n_total,
        DAY_MS,
        10 * DAY_MS,
    )
    parts.append(dispute)
    release, _ = _follow(
        b,
        cards,
        dispute,
        hi,
        np.ones(len(dispute["kind"]), dtype=bool),
        DISPUTE_RELEASE,
        0.006 * n_total,
        HOUR_MS,
        7 * DAY_MS,
    )
    parts.append(release)
    refund_reversal, _ = _follow(
        b,
        cards,
        base,
        hi,
        base["kind"] == REFUND,
        CONSUME_REFUND_REVERSAL,
        0.006 * n_total,
        HOUR_MS,
        3 * DAY_MS,
    )
    parts.append(refund_reversal)
    out = parts[0]
    for p in parts[1:]:
        out = _concat_cols(out, p)
    return out


def _follow(
    b: Builder,
    cards: Cards,
    parents: dict[str, np.ndarray],
    hi: np.ndarray,
    eligible: np.ndarray,
    kind: int,
    target: float,
    min_delay: int,
    max_delay: int,
) -> tuple[dict[str, np.ndarray], np.ndarray]:
    """About ``target`` records of ``kind``, each following one ``eligible`` parent
    (settled, with room before its card's activity ends) by ``min_delay`` to
    ``max_delay``; at least ``MIN_PER_MODEL`` on each card model when parents allow.
    Returns the records and the parent rows used."""
    rng = b.rng_more
    p_card = parents["card"]
    p_time = parents["settle_at"]
    room = hi[p_card] - p_time
    ok = eligible & (p_time != NEVER) & (room >= min_delay)
    is_sb = np.array([m == SHARE_BALANCE for m in cards.model])
    chosen = []
    n_ok = max(1, int(ok.sum()))
    for model_mask in (~is_sb[p_card], is_sb[p_card]):
        cands = np.flatnonzero(ok & model_mask)
        k = max(MIN_PER_MODEL, round(target * len(cands) / n_ok))
        chosen.append(_spread(rng, cands, p_card, min(k, len(cands))))
    rows = np.sort(np.concatenate(chosen)).astype(np.int64)
    m = len(rows)
    span = np.minimum(max_delay, room[rows]) - min_delay
    at = p_time[rows] + min_delay + (rng.random(m) * span).astype(np.int64)
    amount = parents["settled_cents"][rows]
    partial = rng.random(m) < 0.3
    share = 0.2 + 0.75 * rng.random(m)
    amount = np.where(partial, np.maximum(1, np.round(amount * share)), amount)
    cents = amount.astype(np.int64)
    return {
        "card": p_card[rows],
        "kind": np.full(m, kind, dtype=np.int8),
        "auth_at": at,
        "settle_at": at.copy(),
        "auth_cents": cents,
        "settled_cents": cents.copy(),
        "merchant": parents["merchant"][rows],
        "auth_code": rng.integers(0, 10**6, m),
        "failure": np.full(m, -1, dtype=np.int8),
    }, rows


def _auth_queries(
    b: Builder, cards: Cards, lo: np.ndarray, hi: np.ndarray
) -> dict[str, np.ndarray]:
    """Zero-amount card verifications (AuthQuery): authorised, never settled, holding
    nothing; spread over the cards' lives, so many are older than any stale limit."""
    rng = b.rng_more
    is_sb = np.array([m == SHARE_BALANCE for m in cards.model])
    live = hi > lo
    target = AUTH_QUERY_SHARE * b.spec.txns
    picked = []
    for model_mask in (~is_sb, is_sb):
        cands = np.flatnonzero(live & model_mask)
        if len(cands) == 0:
            continue
        k = max(MIN_PER_MODEL, round(target * len(cands) / max(1, int(live.sum()))))
        picked.append(np.resize(rng.permutation(cands), k))  # distinct cards first
    card = np.sort(np.concatenate(picked) if picked else np.empty(0, np.int64))
    card = card.astype(np.int32)
    m = len(card)
    at = lo[card] + (rng.random(m) * (hi[card] - lo[card])).astype(np.int64)
    zero = np.zeros(m, dtype=np.int64)
    return {
        "card": card,
        "kind": np.full(m, AUTH_QUERY, dtype=np.int8),
        "auth_at": at,
        "settle_at": np.full(m, NEVER, dtype=np.int64),
        "auth_cents": zero,
        "settled_cents": zero.copy(),
        "merchant": rng.integers(0, len(MERCHANTS), m).astype(np.int16),
        "auth_code": rng.integers(0, 10**6, m),
        "failure": np.full(m, -1, dtype=np.int8),
    }


def _set_share_balance_limits(b: Builder, cards: Cards, txns: Txns) -> None:
    n_cards = len(cards)
    spend = ~is_income_txn(txns.kind) & (txns.kind != DECLINED)
    biggest = np.maximum(txns.auth_cents, txns.settled_cents)
    total = np.bincount(txns.card, weights=np.where(spend, biggest, 0), minlength=n_cards)
    top = np.zeros(n_cards, dtype=np.int64)
    np.maximum.at(top, txns.card, np.where(txns.kind == DECLINED, 0, txns.auth_cents))
    for i in range(n_cards):
        if cards.model[i] == SHARE_BALANCE:
            cards.max_auth[i] = round_up(top[i] * 1.2 + 5_000, 10_000)
            # a third of the cards have no total limit (null); the rest a limit that
            # their whole spending stays under, so the clean world exceeds none
            if b.rng.random() < 0.66:
                cards.max_credit[i] = round_up(total[i] * 1.3 + 10_000, 10_000)


def with_topup_mirrors(b: Builder, txns: Txns, logs: CardLogs) -> Txns:
    """Add the v2.0 ``TopUp`` transaction that mirrors each CardTopUp card log."""
    sel = np.flatnonzero((logs.kind == CARD_TOPUP) & ~logs.failed)
    m = len(sel)
    mirror = Txns(
        id=np.empty(m, dtype=object),
        card=logs.card[sel],
        kind=np.full(m, TOPUP, dtype=np.int8),
        auth_at=logs.trans_at[sel],
        settle_at=logs.completed_at[sel],
        auth_cents=logs.trans_cents[sel],
        settled_cents=logs.trans_cents[sel],
        merchant=np.zeros(m, dtype=np.int16),
        auth_code=np.full(m, "", dtype=object),
        failure=np.full(m, -1, dtype=np.int8),
        order_no=logs.order_no[sel],
    )
    mirror.id = Ids(b.seed, "topup").make(mirror.auth_at)
    merged = concat(txns, mirror)
    order = np.lexsort((merged.id.astype(str), merged.auth_at))
    merged = take(merged, order)
    return merged


def _spread(rng: np.random.Generator, rows: np.ndarray, card_of: np.ndarray, k: int) -> np.ndarray:
    """``k`` of ``rows`` at random, on as many distinct cards as they allow (one per card
    first), so that even a tiny world has each kind on several cards."""
    perm = rng.permutation(rows)
    _, first = np.unique(card_of[perm], return_index=True)
    one_each = np.zeros(len(perm), dtype=bool)
    one_each[first] = True
    ordered = np.concatenate([perm[one_each], perm[~one_each]])
    return ordered[:k]


def _concat_cols(a: dict[str, np.ndarray], b: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
    return {k: np.concatenate([a[k], b[k]]) for k in a}
