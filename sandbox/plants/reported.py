"""Plants in what the service reports now: balances, used credit and limits that their
history does not explain, and an authorisation that never settled."""

from __future__ import annotations

import numpy as np

from sandbox.model import CONSUME, DAY_MS, NEVER, SHARE_BALANCE, STANDARD
from sandbox.plants.planter import WARNING, Planter


def drifted_card_balance(p: Planter) -> None:
    """A Standard card reports a balance its history does not explain."""
    c = p.pick(p.live_cards(STANDARD))
    p.used_cards.add(c)
    p.world.adjust.card_balance_cents[c] = 137
    p.plant(
        "card_balance",
        "card",
        p.world.cards.id[c],
        p.world.cards.currency[c],
        "snapshot balance 1.37 above the computed balance",
        snapshot=True,
    )


def account_balance_drift(p: Planter) -> None:
    """The account endpoint reports 12.34 less than the ledger says."""
    cur = p.world.primary_currency
    p.world.adjust.account_available_cents[cur] = -1_234
    p.plant(
        "account_balance",
        "account",
        cur,
        cur,
        "available 12.34 below the last entry",
        snapshot=True,
    )


def credit_usage_drift(p: Planter) -> None:
    """A ShareBalance card reports used credit its transactions do not explain."""
    c = p.pick(p.live_cards(SHARE_BALANCE))
    p.used_cards.add(c)
    p.world.adjust.used_credit_cents[c] = 500
    p.plant(
        "card_credit_usage",
        "card",
        p.world.cards.id[c],
        p.world.cards.currency[c],
        "usedCreditAmount 5.00 above the transactions",
        needs="usedCreditAmount",
        snapshot=True,
    )


def credit_limit_exceeded(p: Planter) -> None:
    """A ShareBalance card's limit was lowered below what it has already used."""
    w = p.world
    seen = p.active_cards()  # a run over the period discovers the card
    cands = [
        int(c)
        for c in p.live_cards(SHARE_BALANCE)
        if int(c) in seen and w.card_view(int(c)).used_credit_cents > 200
    ]
    c = p.pick(np.array(cands))
    p.used_cards.add(c)
    w.adjust.max_credit_cents[c] = w.card_view(c).used_credit_cents - 100
    p.plant(
        "credit_limit_exceeded",
        "card",
        w.cards.id[c],
        w.cards.currency[c],
        "usedCreditAmount above maxCreditAmount",
        severity=WARNING,
        needs="usedCreditAmount",
    )


def stale_authorization(p: Planter) -> None:
    """An authorisation ten days old (or older, in a period that ended before) that never
    settled."""
    w = p.world
    t = w.txns
    is_std = np.array([m == STANDARD for m in w.cards.model])
    newest = min(w.as_of - 10 * DAY_MS, p.latest)
    old = (
        (t.kind == CONSUME)
        & is_std[t.card]
        & (t.auth_at < newest)
        & (t.auth_at > newest - 4 * DAY_MS)
        & p.inside(t.auth_at)
        & (t.settle_at != NEVER)
        & (w.cards.cancelled_at[t.card] == NEVER)
    )
    r = p.pick(np.flatnonzero(old), t.card)
    t.settle_at[r] = NEVER
    w.reindex()
    p.plant(
        "stale_authorization",
        "transaction",
        str(t.id[r]),
        w.cards.currency[int(t.card[r])],
        "authorised 10+ days ago, never settled",
        severity=WARNING,
    )
