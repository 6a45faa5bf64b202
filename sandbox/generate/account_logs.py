"""The customer account's ledger: Standard-card funding, ShareBalance opening fees and
spending (holds, releases, settlements), and the account's own top-ups, fees and a
withdrawal, chained per currency."""

from __future__ import annotations

import numpy as np

from sandbox.catalog import CURRENCIES
from sandbox.generate.context import Builder, round_up
from sandbox.generate.orders import share_balance_order
from sandbox.ids import Ids
from sandbox.ledger import chain_account_logs, is_income_card_log, is_income_txn
from sandbox.model import (
    AL,
    CONSUME,
    DAY_MS,
    DECLINED,
    MINUTE_MS,
    NEVER,
    SHARE_BALANCE,
    TOPUP,
    TXN_SETTLEMENT,
    AccountLogs,
    CardLogs,
    Cards,
    Txns,
)


def account_logs(b: Builder, cards: Cards, txns: Txns, logs: CardLogs) -> AccountLogs:
    rng = b.rng
    parts: list[dict[str, np.ndarray]] = []
    card_cur = np.array(cards.currency, dtype=object)
    is_sb = np.array([m == SHARE_BALANCE for m in cards.model])

    def part(
        kind: int | np.ndarray,
        cents: np.ndarray,
        at: np.ndarray,
        order_no: np.ndarray,
        card: np.ndarray,
        currency: np.ndarray,
        tiebreak: int,
    ) -> None:
        n = len(cents)
        parts.append(
            {
                "kind": np.broadcast_to(np.asarray(kind, dtype=np.int8), (n,)).copy(),
                "cents": np.asarray(cents, dtype=np.int64),
                "at": np.asarray(at, dtype=np.int64),
                "order_no": np.asarray(order_no, dtype=object),
                "card": np.asarray(card, dtype=np.int32),
                "currency": np.asarray(currency, dtype=object),
                "tiebreak": np.full(n, tiebreak, dtype=np.int8),
            }
        )

    # Standard card funding: one entry per completed card log, at completion.
    done = (logs.completed_at != NEVER) & ~logs.failed
    inc = is_income_card_log(logs.kind)
    amount = np.where(inc, -logs.total_cents, logs.trans_cents)  # what the account sees
    kind_map = np.array([AL["ApplyCard"], AL["CardTopUp"], AL["CardWithdraw"], AL["CardCancel"]])
    part(
        kind_map[logs.kind[done]],
        amount[done],
        logs.completed_at[done],
        logs.order_no[done],
        logs.card[done],
        card_cur[logs.card[done]],
        1,
    )

    # ShareBalance opening fees (ApplyCard, orderNo = the order), 1.00 per card.
    sb = np.flatnonzero(is_sb)
    sb_orders = []
    for c in map(int, sb):
        no = b.order_no(int(cards.opened_at[c]) - 20_000)
        cards.apply_order[c] = no
        b.orders[no] = share_balance_order(no, c, cards, fee=100)
        sb_orders.append(no)
    part(
        AL["ApplyCard"],
        np.full(len(sb), -100),
        cards.opened_at[sb],
        np.array(sb_orders, dtype=object),
        sb,
        card_cur[sb],
        1,
    )

    # ShareBalance spending: hold, release + settle; direct settlements.
    t_sb = is_sb[txns.card] & (txns.kind != TOPUP) & (txns.kind != DECLINED)
    cur = card_cur[txns.card]
    hold = t_sb & (txns.kind == CONSUME)
    part(
        AL["AuthHold"],
        -txns.auth_cents[hold],
        txns.auth_at[hold],
        txns.id[hold],
        txns.card[hold],
        cur[hold],
        1,
    )
    settled = t_sb & (txns.settle_at != NEVER)
    rel = settled & (txns.kind == CONSUME)
    part(
        AL["AuthRelease"],
        txns.auth_cents[rel],
        txns.settle_at[rel],
        txns.id[rel],
        txns.card[rel],
        cur[rel],
        2,
    )
    # one settlement entry of the transaction's own type, signed by its direction
    settled &= TXN_SETTLEMENT[txns.kind] >= 0
    sign = np.where(is_income_txn(txns.kind), 1, -1)
    part(
        TXN_SETTLEMENT[txns.kind[settled]],
        (sign * txns.settled_cents)[settled],
        txns.settle_at[settled],
        txns.id[settled],
        txns.card[settled],
        cur[settled],
        3,
    )

    # Account level: a first top-up covering every outflow, monthly fees, later
    # top-ups and one withdrawal. The opening top-up keeps available >= 0 throughout.
    for currency in CURRENCIES:
        outflow = sum(
            -int(p["cents"][(p["cents"] < 0) & (p["currency"] == currency)].sum()) for p in parts
        )
        opening = round_up(outflow * 1.1 + 1_000_000, 100_000)
        months = max(1, b.spec.days // 30)
        fee_at = b.start + np.arange(1, months + 1) * (b.span // (months + 1))
        top_at = b.start + (rng.random(months) * b.span).astype(np.int64)
        top_cents = (rng.integers(10, 100, months) * 10_000).astype(np.int64)
        events = [
            (AL["AccountTopUp"], np.array([opening]), np.array([b.start + MINUTE_MS])),
            (AL["AccountTopUp"], top_cents, top_at),
            (AL["AccountFee"], np.full(len(fee_at), -2_500), fee_at),
            (AL["AccountWithdraw"], np.array([-50_000]), np.array([b.end - 3 * DAY_MS])),
        ]
        for kind, cents, at in events:
            nos = np.array([b.order_no(int(t)) for t in at], dtype=object)
            part(kind, cents, at, nos, np.full(len(at), -1), np.full(len(at), currency), 0)

    merged = {k: np.concatenate([p[k] for p in parts]) for k in parts[0]}
    return chain_account_logs(merged, Ids(b.seed, "acct"))
