"""The generated world as the service sees it at its clock ``as_of``.

``World`` answers the questions the HTTP layer asks (which rows fall in a window,
what a card looks like now, which order has this number). Rows posted after
generation (the write calls, a busy account's entries) are ``sandbox.postings``,
reached through ``World``'s methods of the same names. Rendering rows into either
dialect's JSON is ``sandbox.render``.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import numpy as np

from sandbox import postings
from sandbox.catalog import CURRENCIES, PRODUCTS
from sandbox.generate import Generated, generate
from sandbox.ids import WRITE_SALT, Ids
from sandbox.ledger import card_log_effect_cents, txn_effect_cents
from sandbox.model import (
    DECLINED,
    STANDARD,
    Order,
    SnapshotAdjustments,
    WorldError,
    served_in,
    take,
)

AUTHORIZED, SETTLED, FAILED = "authorized", "settled", "failed"


@dataclass
class CardView:
    """One card as the service reports it at ``as_of`` (scenario adjustments applied)."""

    index: int
    card_id: str
    model: str
    currency: str
    product_code: str
    alias: str
    status: str  # Active / Blocked / Cancelled (canonical; render maps per dialect)
    balance_cents: int  # Standard: the card's balance; ShareBalance: 0
    used_credit_cents: int  # ShareBalance: -sum(effect); Standard: 0
    max_auth_cents: int
    max_credit_cents: int | None
    opened_at: int
    number: str
    cvv: str
    expiry: str
    organization: str
    masked: str


class World:
    """A generated customer, served at the clock ``as_of`` (ms since the epoch)."""

    def __init__(self, gen: Generated, as_of_ms: int | None = None) -> None:
        self.gen = gen
        self.cards = gen.cards
        self.txns = gen.txns
        self.card_logs = gen.card_logs
        self.account_logs = gen.account_logs
        self.orders = gen.orders
        self.as_of = gen.end_ms if as_of_ms is None else int(as_of_ms)
        self.adjust = SnapshotAdjustments()
        self.currencies = CURRENCIES
        self.primary_currency = CURRENCIES[0]
        self.products = PRODUCTS
        # Ids of rows posted by write calls sort after every generated id of the same
        # second, so the ledger's (time, id) order is the posting order for them too.
        self.write_ids = {tag: Ids(gen.seed, tag) for tag in ("card", "txn", "cardlog", "acct")}
        for ids in self.write_ids.values():
            ids.salt = WRITE_SALT
        self.write_seq = 0  # write orders numbered so far
        self.reindex()

    @classmethod
    def create(
        cls,
        seed: int = 1,
        size: str = "tiny",
        end: datetime | None = None,
        as_of: datetime | None = None,
    ) -> World:
        gen = generate(seed=seed, size=size, end=end)
        as_of_ms = None if as_of is None else int(as_of.timestamp() * 1000)
        return cls(gen, as_of_ms)

    # -- indexes -------------------------------------------------------------------
    def reindex(self) -> None:
        """Rebuild lookups after the tables change (a scenario or a write call)."""
        self.card_index = {cid: i for i, cid in enumerate(self.cards.id)}
        self.txn_index = {tid: i for i, tid in enumerate(self.txns.id.tolist())}
        self._txn_by_card = _group_rows(self.txns.card, len(self.cards))
        self._log_by_card = _group_rows(self.card_logs.card, len(self.cards))
        self.customer_orders = {
            o.customer_order_no: o.order_no for o in self.orders.values() if o.customer_order_no
        }
        self._v14_txn = served_in("v1.4", self.txns.kind)
        self._v20_txn = served_in("v2.0", self.txns.kind)

    # -- the clock -----------------------------------------------------------------
    def set_clock(self, as_of_ms: int) -> None:
        self.as_of = int(as_of_ms)

    @property
    def start_ms(self) -> int:
        return self.gen.start_ms

    @property
    def end_ms(self) -> int:
        return self.gen.end_ms

    # -- selections (row indices, in the order the service pages them) ---------------
    def select_transactions(
        self,
        start_ms: int | None,
        end_ms: int | None,
        *,
        card_id: str | None = None,
        status: str | None = None,
        include_topups: bool = False,
    ) -> np.ndarray:
        """Transactions authorised in ``[start, end]`` (and by ``as_of``), by (authTime, id)."""
        served = self._v20_txn if include_topups else self._v14_txn
        rows: np.ndarray = _window(self.txns.auth_at, start_ms, end_ms, self.as_of)
        rows = rows[served[rows]]
        if card_id is not None:
            c = self.card_index.get(card_id, -1)
            rows = rows[self.txns.card[rows] == c]
        if status is not None:
            rows = rows[self.txn_status(rows) == status]
        return rows

    def select_card_logs(
        self, start_ms: int | None, end_ms: int | None, *, card_id: str | None = None
    ) -> np.ndarray:
        rows = _window(self.card_logs.trans_at, start_ms, end_ms, self.as_of)
        if card_id is not None:
            c = self.card_index.get(card_id, -1)
            rows = rows[self.card_logs.card[rows] == c]
        return rows

    def select_account_logs(self, start_ms: int | None, end_ms: int | None) -> np.ndarray:
        return _window(self.account_logs.trans_at, start_ms, end_ms, self.as_of)

    # -- state at the clock ----------------------------------------------------------
    def txn_status(self, rows: np.ndarray) -> np.ndarray:
        t = self.txns
        out = np.full(len(rows), AUTHORIZED, dtype=object)
        out[t.settle_at[rows] <= self.as_of] = SETTLED
        out[t.kind[rows] == DECLINED] = FAILED
        return out

    def card_log_status(self, rows: np.ndarray) -> np.ndarray:
        lg = self.card_logs
        out = np.full(len(rows), "Pending", dtype=object)
        out[lg.completed_at[rows] <= self.as_of] = "Completed"
        out[lg.failed[rows]] = "Failure"
        return out

    def card(self, card_id: str) -> CardView | None:
        i = self.card_index.get(card_id)
        if i is None or self.cards.opened_at[i] > self.as_of:
            return None
        return self.card_view(i)

    def card_view(self, i: int) -> CardView:
        c = self.cards
        t_rows = self._txn_by_card[i]
        l_rows = self._log_by_card[i]
        effect = int(txn_effect_cents(take(self.txns, t_rows), self.as_of).sum())
        funding = int(card_log_effect_cents(take(self.card_logs, l_rows), self.as_of).sum())
        standard = c.model[i] == STANDARD
        if c.cancelled_at[i] <= self.as_of:
            status = "Cancelled"
        elif c.blocked_at[i] <= self.as_of:
            status = "Blocked"
        else:
            status = "Active"
        max_credit = self.adjust.max_credit_cents.get(i, int(c.max_credit[i]))
        return CardView(
            index=i,
            card_id=c.id[i],
            model=c.model[i],
            currency=c.currency[i],
            product_code=c.product_code[i],
            alias=c.alias[i],
            status=status,
            balance_cents=(funding + effect + self.adjust.card_balance_cents.get(i, 0))
            if standard
            else 0,
            used_credit_cents=0 if standard else -effect + self.adjust.used_credit_cents.get(i, 0),
            max_auth_cents=int(c.max_auth[i]),
            max_credit_cents=None if max_credit < 0 else max_credit,
            opened_at=int(c.opened_at[i]),
            number=c.number[i],
            cvv=c.cvv[i],
            expiry=c.expiry[i],
            organization=c.organization[i],
            masked=c.masked(i),
        )

    def account_balances(self) -> dict[str, tuple[int, int]]:
        """``currency -> (available, blocked)`` after the last entry by ``as_of``."""
        a = self.account_logs
        upto = int(np.searchsorted(a.trans_at, self.as_of, side="right"))
        out: dict[str, tuple[int, int]] = {}
        for currency in self.currencies:
            sel = np.flatnonzero(a.currency[:upto] == currency)
            available, blocked = (
                (int(a.available_after[sel[-1]]), int(a.blocked_after[sel[-1]]))
                if len(sel)
                else (0, 0)
            )
            available += self.adjust.account_available_cents.get(currency, 0)
            out[currency] = (available, blocked)
        return out

    def order(
        self,
        *,
        model: str,
        order_no: str | None = None,
        customer_order_no: str | None = None,
        order_type: str | None = None,
    ) -> Order:
        """The order by number (or customer number) for one card model, or ORDER_NOT_FOUND."""
        if order_no is None and customer_order_no is not None:
            order_no = self.customer_orders.get(customer_order_no)
        o = self.orders.get(order_no or "")
        if (
            o is None
            or o.model != model
            or o.created_at > self.as_of
            or (order_type is not None and order_type.lower() != o.order_type.lower())
        ):
            raise WorldError("ORDER_NOT_FOUND", "Order not found; check the order number", 404)
        return o

    def order_status(self, o: Order) -> str:
        if o.failed:
            return "Failed"
        return "Completed" if o.completed_at <= self.as_of else "Processing"

    # -- rows posted after generation (sandbox.postings) ------------------------------
    def add_busy_entries(
        self,
        start_ms: int,
        seconds: float,
        every_ms: int = 500,
        *,
        currency: str | None = None,
    ) -> int:
        """Small account-level entries every ``every_ms`` or so for ``seconds`` from
        ``start_ms``; the number posted (``sandbox.postings.add_busy_entries``)."""
        return postings.add_busy_entries(self, start_ms, seconds, every_ms, currency=currency)

    def apply_share_balance(self, body: dict[str, Any]) -> Order:
        return postings.apply_share_balance(self, body)

    def credit_limit(self, body: dict[str, Any]) -> Order:
        return postings.credit_limit(self, body)

    def apply_standard(self, body: dict[str, Any]) -> Order:
        return postings.apply_standard(self, body)

    def top_up_standard(self, body: dict[str, Any]) -> Order:
        return postings.top_up_standard(self, body)


# -- helpers ------------------------------------------------------------------------
def _window(times: np.ndarray, start: int | None, end: int | None, as_of: int) -> np.ndarray:
    hi = as_of if end is None else min(end, as_of)
    lo_i = 0 if start is None else int(np.searchsorted(times, start, side="left"))
    hi_i = int(np.searchsorted(times, hi, side="right"))
    return np.arange(lo_i, max(lo_i, hi_i), dtype=np.int64)


def _group_rows(keys: np.ndarray, n: int) -> list[np.ndarray]:
    order = np.argsort(keys, kind="stable")
    bounds = np.searchsorted(keys[order], np.arange(n + 1))
    return [order[bounds[i] : bounds[i + 1]] for i in range(n)]


def iso_to_ms(text: str) -> int:
    dt = datetime.fromisoformat(text.replace("Z", "+00:00"))
    if dt.tzinfo is None:
        dt = dt.replace(tzinfo=UTC)
    return int(dt.timestamp() * 1000)


__all__ = [
    "AUTHORIZED",
    "FAILED",
    "SETTLED",
    "CardView",
    "World",
    "WorldError",
    "iso_to_ms",
]
