"""The money model's arithmetic over the tables (RECONCILIATION.md).

What each transaction and card log does to its card's balance at a clock, and the
account ledger's balances after each entry, chained per currency in ``(time, id)``
order. The generator, the write calls and the scenarios all post through these, so
the world they leave behind reconciles exactly (or breaks exactly where a scenario
says).
"""

from __future__ import annotations

import numpy as np

from sandbox.ids import Ids
from sandbox.model import (
    CARD_LOG_INCOME,
    CONSUME,
    HOLD_KINDS,
    TXN_INCOME,
    TXN_NO_EFFECT,
    AccountLogs,
    CardLogs,
    Txns,
    take,
)


def is_income_txn(kind: np.ndarray) -> np.ndarray:
    out: np.ndarray = TXN_INCOME[kind]
    return out


def is_income_card_log(kind: np.ndarray) -> np.ndarray:
    out: np.ndarray = CARD_LOG_INCOME[kind]
    return out


def txn_effect_cents(txns: Txns, as_of: int) -> np.ndarray:
    """Each transaction's effect on its card at ``as_of`` (RECONCILIATION.md's table)."""
    visible = txns.auth_at <= as_of
    settled = visible & (txns.settle_at <= as_of)
    authorised = visible & ~settled & (txns.kind == CONSUME)  # only a Consume holds
    income = is_income_txn(txns.kind)
    effect = np.zeros(len(txns), dtype=np.int64)
    effect[authorised] = -txns.auth_cents[authorised]
    effect[settled] = np.where(income[settled], 1, -1) * txns.settled_cents[settled]
    effect[TXN_NO_EFFECT[txns.kind]] = 0  # declined, TopUp mirrors, AuthQuery
    return effect


def card_log_effect_cents(logs: CardLogs, as_of: int) -> np.ndarray:
    """Each card log's effect on its card's balance at ``as_of`` (Completed only)."""
    done = (logs.completed_at <= as_of) & ~logs.failed
    income = is_income_card_log(logs.kind)
    return np.where(done, np.where(income, logs.trans_cents, -logs.total_cents), 0)


def card_balance(card: int, as_of: int, logs: CardLogs, txns: Txns) -> int:
    """A card's balance at ``as_of``: its card logs' effects plus its transactions'."""
    sub_t = take(txns, np.flatnonzero(txns.card == card))
    sub_l = take(logs, np.flatnonzero(logs.card == card))
    return int(txn_effect_cents(sub_t, as_of).sum() + card_log_effect_cents(sub_l, as_of).sum())


def chain_account_logs(cols: dict[str, np.ndarray], ids: Ids) -> AccountLogs:
    """Sort entries by (time, tiebreak), give them ids in that order, chain the balances."""
    order = np.lexsort((cols["tiebreak"], cols["at"]))
    at = cols["at"][order]
    logs = AccountLogs(
        id=ids.make(at),
        currency=cols["currency"][order],
        kind=cols["kind"][order],
        trans_cents=cols["cents"][order],
        available_after=np.zeros(len(at), dtype=np.int64),
        blocked_after=np.zeros(len(at), dtype=np.int64),
        order_no=cols["order_no"][order],
        card=cols["card"][order],
        trans_at=at,
    )
    rechain(logs)
    return logs


def rechain(logs: AccountLogs) -> None:
    """Recompute the balances after each entry, per currency, in (time, id) order."""
    moves_blocked = np.isin(logs.kind, HOLD_KINDS)
    blocked_delta = np.where(moves_blocked, -logs.trans_cents, 0)
    for currency in np.unique(logs.currency):
        sel = np.flatnonzero(logs.currency == currency)
        logs.available_after[sel] = np.cumsum(logs.trans_cents[sel])
        logs.blocked_after[sel] = np.cumsum(blocked_delta[sel])


def chain_from(logs: AccountLogs, currency: str, start_ms: int) -> None:
    """Recompute the balances after each ``currency`` entry from ``start_ms`` on, from the
    balances after the entry before it. Unlike ``rechain`` it leaves every earlier entry as
    it is, so a gap a scenario planted in the chain (a dropped entry) stays a gap."""
    sel = np.flatnonzero(logs.currency == currency)
    first = int(np.searchsorted(logs.trans_at[sel], start_ms))
    tail = sel[first:]
    if len(tail) == 0:
        return
    before = sel[first - 1] if first > 0 else None
    available = 0 if before is None else int(logs.available_after[before])
    blocked = 0 if before is None else int(logs.blocked_after[before])
    moves_blocked = np.isin(logs.kind[tail], HOLD_KINDS)
    logs.available_after[tail] = available + np.cumsum(logs.trans_cents[tail])
    logs.blocked_after[tail] = blocked + np.cumsum(
        np.where(moves_blocked, -logs.trans_cents[tail], 0)
    )
