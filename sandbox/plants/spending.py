"""Plants in ShareBalance spending as the account ledger posts it: a settlement entry that
is missing (one plant per settled type), one for the wrong amount, one for a transaction
the API never returns."""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from sandbox.ids import Ids
from sandbox.ledger import rechain
from sandbox.model import (
    AL,
    CONSUME,
    CONSUME_DISPUTE,
    CONSUME_REFUND_REVERSAL,
    DAY_MS,
    DISPUTE_RELEASE,
    REFUND,
    REVERSAL,
    SHARE_BALANCE,
    TRANS_FEE,
    TXN_TYPE_V14,
    AccountLogs,
    concat,
    take,
)
from sandbox.plants.planter import Planter


def missing_ledger_entry(p: Planter) -> None:
    """A settled ShareBalance transaction was never posted to the account ledger."""
    _drop_settlement_entry(p, CONSUME)


def _drop_settlement_entry(p: Planter, kind: int) -> None:
    """Drop the settlement entry of one settled ShareBalance transaction of ``kind`` (on a
    card no other plant touched) and re-chain the ledger, so the only break is the entry's
    absence: no chain break, and the account snapshot agrees with the re-chained ledger
    (a Consume keeps its hold and release, which net to nothing)."""
    t = p.world.txns
    r = p.pick(p.settled_sb(kind), t.card)
    p.drop_account_rows([p.settlement_row(r)], chain_again=True)
    p.plant(
        "txn_missing_ledger",
        "transaction",
        str(t.id[r]),
        p.card_currency(int(t.card[r])),
        f"{TXN_TYPE_V14[kind]} settlement entry never posted",
        settlement=True,
    )


def _missing_entry_plant(kind: int) -> Callable[[Planter], None]:
    """The plant ``missing_<type>_entry`` for a settled transaction type other than Consume."""
    type_name = TXN_TYPE_V14[kind]
    snake = "".join(f"_{ch.lower()}" if ch.isupper() else ch for ch in type_name).lstrip("_")

    def plant(p: Planter) -> None:
        _drop_settlement_entry(p, kind)

    plant.__name__ = plant.__qualname__ = f"missing_{snake}_entry"
    plant.__doc__ = (
        f"A settled ShareBalance {type_name} was never posted to the account ledger "
        f"(its own {type_name} settlement entry is missing)."
    )
    return plant


# One scenario per settled ShareBalance type other than Consume (``missing_ledger_entry``).
SETTLEMENT_PLANTS = {
    kind: _missing_entry_plant(kind)
    for kind in (
        REFUND,
        REVERSAL,
        CONSUME_REFUND_REVERSAL,
        CONSUME_DISPUTE,
        DISPUTE_RELEASE,
        TRANS_FEE,
    )
}
# ... by how few transactions of their type a world has, rarest first
RAREST_FIRST = (
    DISPUTE_RELEASE,
    CONSUME_DISPUTE,
    CONSUME_REFUND_REVERSAL,
    REVERSAL,
    REFUND,
    TRANS_FEE,
)


def ledger_amount_mismatch(p: Planter) -> None:
    """The ledger settled a ShareBalance transaction for 1.00 more than its settledAmount."""
    t = p.world.txns
    r = p.pick(p.settled_sb_consumes(), t.card)
    a = p.world.account_logs
    a.trans_cents[p.settlement_row(r)] -= 100
    rechain(a)
    p.plant(
        "txn_amount_mismatch",
        "transaction",
        str(t.id[r]),
        p.card_currency(int(t.card[r])),
        "settlement entry 1.00 above settledAmount",
    )


def orphan_ledger_entry(p: Planter) -> None:
    """A ShareBalance spending entry points to a transaction the API never returns."""
    w = p.world
    c = p.pick(p.live_cards(SHARE_BALANCE))
    p.used_cards.add(c)
    at = min(p.latest, w.end_ms) - 2 * DAY_MS
    ghost = str(Ids(w.gen.seed, "ghost").make(np.array([at]))[0])
    entry_id = str(Ids(w.gen.seed, "orphan").make(np.array([at]))[0])
    row = AccountLogs(
        id=np.array([entry_id], dtype=object),
        currency=np.array([w.cards.currency[c]], dtype=object),
        kind=np.array([AL["Consume"]], dtype=np.int8),
        trans_cents=np.array([-4_321]),
        available_after=np.zeros(1, dtype=np.int64),
        blocked_after=np.zeros(1, dtype=np.int64),
        order_no=np.array([ghost], dtype=object),
        card=np.array([c], dtype=np.int32),
        trans_at=np.array([at]),
    )
    merged = concat(w.account_logs, row)
    order = np.lexsort((merged.id.astype(str), merged.trans_at))
    w.account_logs = take(merged, order)
    rechain(w.account_logs)
    w.reindex()
    p.plant(
        "ledger_missing_txn",
        "account_log",
        entry_id,
        w.cards.currency[c],
        "Consume entry for an unknown transaction",
    )
