"""The generated world as the service sees it at its clock ``as_of``.

``World`` answers the questions the HTTP layer asks (which rows fall in a window,
what a card looks like now, which order has this number) and carries out the write
calls (open a card, top one up, change a limit), posting their money exactly like
the generator does. Rendering rows into either dialect's JSON is ``sandbox.render``.
"""

from __future__ import annotations

from dataclasses import dataclass, fields
from datetime import UTC, datetime
from decimal import Decimal, InvalidOperation
from typing import Any

import numpy as np

from sandbox.generate import (
    CURRENCIES,
    FEE_NAMES,
    PRODUCTS,
    Generated,
    _Ids,
    _luhn_digit,
    card_log_effect_cents,
    generate,
    rechain,
    txn_effect_cents,
)
from sandbox.model import (
    AL,
    APPLY_CARD,
    CARD_TOPUP,
    CONSUME,
    DECLINED,
    NEVER,
    NO_FEE,
    SHARE_BALANCE,
    STANDARD,
    TOPUP,
    AccountLogs,
    CardLogs,
    Order,
    SnapshotAdjustments,
    Txns,
    served_in,
)

AUTHORIZED, SETTLED, FAILED = "authorized", "settled", "failed"


class WorldError(Exception):
    """A business error the service answers with its envelope (``errorCode``)."""

    def __init__(self, code: str, message: str, status: int = 400) -> None:
        super().__init__(message)
        self.code = code
        self.message = message
        self.status = status


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
        self._ids = {tag: _Ids(gen.seed, tag) for tag in ("card", "txn", "cardlog", "acct")}
        for ids in self._ids.values():
            ids.salt = 0xFFFF << 40
        self._order_seq = 0
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
        effect = int(txn_effect_cents(_take(self.txns, t_rows), self.as_of).sum())
        funding = int(card_log_effect_cents(_take(self.card_logs, l_rows), self.as_of).sum())
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

    # -- a busy account --------------------------------------------------------------
    def add_busy_entries(
        self,
        start_ms: int,
        seconds: float,
        every_ms: int = 500,
        *,
        currency: str | None = None,
    ) -> int:
        """Post small account-level entries every ``every_ms`` or so from ``start_ms``.

        For ``seconds`` from ``start_ms`` (which may lie ahead of the clock: the entries
        then appear as the clock passes them), alternately an ``AccountFee`` of 0.10 to
        0.99 and an ``AccountTopUp`` of 0.10 to 0.99 in ``currency`` (default the
        primary one); no card is involved. The times are deterministic (the world's
        seed and ``start_ms``): one in each ``every_ms`` slot (up to a quarter slot
        late), and at every other second boundary one more pair on both sides of it
        (``...:07.996`` then ``...:08.004``); several fall in each second, so a
        snapshot stamped to the second really is ambiguous. The ledger is
        re-chained, so it stays exact. Returns the number of entries posted.
        """
        if every_ms <= 0:
            raise ValueError("every_ms must be a positive number of milliseconds")
        if seconds <= 0:
            raise ValueError("seconds must be positive")
        currency = currency or self.primary_currency
        if currency not in self.currencies:
            raise ValueError(f"unknown currency {currency!r}; use one of {self.currencies}")
        start, span = int(start_ms), round(seconds * 1000)
        n = max(1, span // every_ms)  # the regular slots
        rng = np.random.default_rng([self.gen.seed, start & 0xFFFF_FFFF, 0xB05])
        at = start + np.arange(n, dtype=np.int64) * every_ms
        at += rng.integers(0, max(1, every_ms // 4), n)
        # and at every other second boundary, a pair right on either side of it
        boundaries = np.arange((start // 1000 + 1) * 1000, start + span - 10, 2000)
        pairs = np.concatenate(
            [
                boundaries - rng.integers(1, 10, len(boundaries)),
                boundaries + rng.integers(0, 10, len(boundaries)),
            ]
        )
        at = np.sort(np.clip(np.concatenate([at, pairs]), start, start + span - 1))
        n = len(at)
        cents = rng.integers(10, 100, n).astype(np.int64)
        fee = np.arange(n) % 2 == 0
        kinds = np.where(fee, AL["AccountFee"], AL["AccountTopUp"]).astype(np.int8)
        cents = np.where(fee, -cents, cents)
        day = datetime.fromtimestamp(start // 1000, UTC).strftime("%Y%m%d")
        base = len(self.account_logs)
        rows = AccountLogs(
            id=self._ids["acct"].make(at),
            currency=np.full(n, currency, dtype=object),
            kind=kinds,
            trans_cents=cents,
            available_after=np.zeros(n, dtype=np.int64),
            blocked_after=np.zeros(n, dtype=np.int64),
            order_no=np.array([f"C1000-{day}-B{base + k:06d}" for k in range(n)], dtype=object),
            card=np.full(n, -1, dtype=np.int32),
            trans_at=at,
        )
        self.account_logs = _insert_sorted(self.account_logs, rows, "trans_at")
        _chain_from(self.account_logs, currency, start)
        self.reindex()
        return int(n)

    # -- write calls -----------------------------------------------------------------
    def apply_share_balance(self, body: dict[str, Any]) -> Order:
        product, currency = self._product(body, SHARE_BALANCE)
        max_auth = _money(body, "maxAuthAmount", required=True)
        max_credit = _money(body, "maxCreditAmount", required=False)
        customer_no = self._customer_no(body)
        fee = 100
        self._require_funds(currency, fee)
        card = self._new_card(
            SHARE_BALANCE, currency, product, body.get("cardAlias"), max_auth or 0, max_credit
        )
        order = self._new_order(
            "ApplyCard",
            SHARE_BALANCE,
            card,
            customer_no,
            principal=0,
            fee_items=[("OpenCardFee", fee)],
        )
        order.max_auth_cents, order.max_credit_cents = max_auth, max_credit
        self._post_account([(AL["ApplyCard"], -fee, order.order_no, card, currency)])
        return order

    def credit_limit(self, body: dict[str, Any]) -> Order:
        i = self._card_for_write(body, SHARE_BALANCE)
        max_auth = _money(body, "maxAuthAmount", required=True)
        max_credit = _money(body, "maxCreditAmount", required=False)
        customer_no = self._customer_no(body)
        self.cards.max_auth[i] = max_auth or 0
        self.cards.max_credit[i] = -1 if max_credit is None else max_credit
        order = self._new_order(
            "CreditLimit", SHARE_BALANCE, i, customer_no, principal=None, fee_items=[]
        )
        order.max_auth_cents, order.max_credit_cents = max_auth, max_credit
        self.reindex()
        return order

    def apply_standard(self, body: dict[str, Any]) -> Order:
        product, currency = self._product(body, STANDARD)
        # v1.4 names the opening top-up topUpAmount; the v2.0 document sends maxAuthAmount
        key = "topUpAmount" if body.get("topUpAmount") not in (None, "") else "maxAuthAmount"
        principal = _money(body, key, required=True) or 0
        _check_limit(principal)
        customer_no = self._customer_no(body)
        fees = [("OpenCardFee", 100), ("TopUpFee", max(10, round(principal / 100)))]
        self._require_funds(currency, principal + sum(f for _, f in fees))
        card = self._new_card(STANDARD, currency, product, body.get("cardAlias"), 0, None)
        order = self._new_order(
            "ApplyCard", STANDARD, card, customer_no, principal=principal, fee_items=fees
        )
        self._post_card_log(APPLY_CARD, card, order, principal, fees)
        return order

    def top_up_standard(self, body: dict[str, Any]) -> Order:
        i = self._card_for_write(body, STANDARD)
        key = "topUpAmount" if body.get("topUpAmount") not in (None, "") else "amount"
        principal = _money(body, key, required=True) or 0
        _check_limit(principal)
        customer_no = self._customer_no(body)
        fees = [("TopUpFee", max(10, round(principal / 100)))]
        self._require_funds(self.cards.currency[i], principal + fees[0][1])
        order = self._new_order(
            "CardTopUp", STANDARD, i, customer_no, principal=principal, fee_items=fees
        )
        self._post_card_log(CARD_TOPUP, i, order, principal, fees)
        return order

    # -- write helpers ---------------------------------------------------------------
    def _product(self, body: dict[str, Any], model: str) -> tuple[str, str]:
        code, currency = body.get("productCode"), body.get("cardCurrency")
        for p in self.products:
            if (
                p["productCode"] == code
                and model in p["cardModels"]
                and currency in p["cardCurrency"]
            ):
                return str(code), str(currency)
        raise WorldError(
            "PRODUCT_NOT_AVAILABLE",
            f"Product {code!r} is not available for {model} cards in {currency!r}",
        )

    def _customer_no(self, body: dict[str, Any]) -> str | None:
        no = body.get("customerOrderNo") or None
        if no is not None and no in self.customer_orders:
            raise WorldError("DUPLICATE_ORDER", f"customerOrderNo {no!r} was used before")
        return None if no is None else str(no)

    def _card_for_write(self, body: dict[str, Any], model: str) -> int:
        card_id = body.get("cardId")
        i = self.card_index.get(str(card_id))
        if i is None or self.cards.opened_at[i] > self.as_of:
            raise WorldError("CARD_NOT_FOUND", f"Card {card_id!r} not found", 404)
        view = self.card_view(i)
        if view.model != model or view.status != "Active":
            raise WorldError(
                "CARD_STATUS_INVALID",
                f"Card {card_id!r} is a {view.model} card in status {view.status}",
            )
        return i

    def _require_funds(self, currency: str, cents: int) -> None:
        available = self.account_balances().get(currency, (0, 0))[0]
        if available < cents:
            raise WorldError("INSUFFICIENT_BALANCE", "Account balance is not sufficient")

    def _new_card(
        self,
        model: str,
        currency: str,
        product: str,
        alias: Any,
        max_auth: int,
        max_credit: int | None,
    ) -> int:
        c = self.cards
        i = len(c)
        rng = np.random.default_rng([self.gen.seed, i])
        body = f"436797{rng.integers(0, 10**9):09d}"
        now = datetime.fromtimestamp(self.as_of / 1000, UTC)
        c.id.append(str(self._ids["card"].make(np.array([self.as_of]))[0]))
        c.model.append(model)
        c.currency.append(currency)
        c.product_code.append(product)
        c.alias.append(str(alias) if alias else f"card-{i + 1:04d}")
        c.number.append(body + _luhn_digit(body))
        c.cvv.append(f"{rng.integers(100, 1000):03d}")
        c.expiry.append(f"{now.month:02d}/{now.year + 3}")
        c.organization.append("Mastercard")
        c.apply_order.append("")
        c.opened_at = np.append(c.opened_at, self.as_of)
        c.cancelled_at = np.append(c.cancelled_at, NEVER)
        c.blocked_at = np.append(c.blocked_at, NEVER)
        c.max_auth = np.append(c.max_auth, max_auth)
        c.max_credit = np.append(c.max_credit, -1 if max_credit is None else max_credit)
        self.reindex()
        return i

    def _new_order(
        self,
        order_type: str,
        model: str,
        card: int,
        customer_no: str | None,
        *,
        principal: int | None,
        fee_items: list[tuple[str, int]],
    ) -> Order:
        self._order_seq += 1
        day = datetime.fromtimestamp(self.as_of / 1000, UTC).strftime("%Y%m%d")
        no = f"C1000-{day}-W{self._order_seq:03d}"
        fee = sum(f for _, f in fee_items) if fee_items else None
        order = Order(
            order_no=no,
            customer_order_no=customer_no,
            order_type=order_type,
            model=model,
            card=card,
            currency=self.cards.currency[card],
            product_code=self.cards.product_code[card],
            created_at=self.as_of,
            completed_at=self.as_of,
            failed=False,
            principal_cents=principal,
            fee_cents=fee,
            fee_items=fee_items,
            total_cents=None if principal is None else principal + (fee or 0),
        )
        if order_type == "ApplyCard":
            self.cards.apply_order[card] = no
        self.orders[no] = order
        if customer_no:
            self.customer_orders[customer_no] = no
        return order

    def _post_card_log(
        self, kind: int, card: int, order: Order, principal: int, fees: list[tuple[str, int]]
    ) -> None:
        fee_codes = [(FEE_NAMES.index(name), cents) for name, cents in fees] + [(NO_FEE, 0)]
        total_fee = sum(f for _, f in fees)
        row = CardLogs(
            id=self._ids["cardlog"].make(np.array([self.as_of])),
            order_no=np.array([order.order_no], dtype=object),
            card=np.array([card], dtype=np.int32),
            kind=np.array([kind], dtype=np.int8),
            trans_cents=np.array([principal]),
            fee1_type=np.array([fee_codes[0][0]], dtype=np.int8),
            fee1_cents=np.array([fee_codes[0][1]]),
            fee2_type=np.array([fee_codes[1][0]], dtype=np.int8),
            fee2_cents=np.array([fee_codes[1][1]]),
            total_fee_cents=np.array([total_fee]),
            total_cents=np.array([principal + total_fee]),
            trans_at=np.array([self.as_of]),
            completed_at=np.array([self.as_of]),
            failed=np.array([False]),
        )
        self.card_logs = _insert_sorted(self.card_logs, row, "trans_at")
        if kind == CARD_TOPUP:
            mirror = Txns(
                id=self._ids["txn"].make(np.array([self.as_of])),
                card=np.array([card], dtype=np.int32),
                kind=np.array([TOPUP], dtype=np.int8),
                auth_at=np.array([self.as_of]),
                settle_at=np.array([self.as_of]),
                auth_cents=np.array([principal]),
                settled_cents=np.array([principal]),
                merchant=np.array([0], dtype=np.int16),
                auth_code=np.array([""], dtype=object),
                failure=np.array([-1], dtype=np.int8),
                order_no=np.array([order.order_no], dtype=object),
            )
            self.txns = _insert_sorted(self.txns, mirror, "auth_at")
        kind_name = "ApplyCard" if kind == APPLY_CARD else "CardTopUp"
        self._post_account(
            [
                (
                    AL[kind_name],
                    -(principal + total_fee),
                    order.order_no,
                    card,
                    self.cards.currency[card],
                )
            ]
        )

    def _post_account(self, entries: list[tuple[int, int, str, int, str]]) -> None:
        n = len(entries)
        at = np.full(n, self.as_of, dtype=np.int64)
        rows = AccountLogs(
            id=self._ids["acct"].make(at),
            currency=np.array([e[4] for e in entries], dtype=object),
            kind=np.array([e[0] for e in entries], dtype=np.int8),
            trans_cents=np.array([e[1] for e in entries], dtype=np.int64),
            available_after=np.zeros(n, dtype=np.int64),
            blocked_after=np.zeros(n, dtype=np.int64),
            order_no=np.array([e[2] for e in entries], dtype=object),
            card=np.array([e[3] for e in entries], dtype=np.int32),
            trans_at=at,
        )
        self.account_logs = _insert_sorted(self.account_logs, rows, "trans_at")
        rechain(self.account_logs)
        self.reindex()


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


def _take(table: Any, rows: np.ndarray) -> Any:
    return type(table)(**{f.name: getattr(table, f.name)[rows] for f in fields(table)})


def _insert_sorted(table: Any, new: Any, time_field: str) -> Any:
    """Append rows and keep the table sorted by time (stable: ties keep insertion order)."""
    merged = type(table)(
        **{
            f.name: np.concatenate([getattr(table, f.name), getattr(new, f.name)])
            for f in fields(table)
        }
    )
    order = np.argsort(getattr(merged, time_field), kind="stable")
    return _take(merged, order)


def _money(body: dict[str, Any], key: str, *, required: bool) -> int | None:
    raw = body.get(key)
    if raw is None or raw == "":
        if required:
            raise WorldError("400", f"{key} is required")
        return None
    try:
        value = Decimal(str(raw))
    except InvalidOperation:
        raise WorldError("400", f"{key} must be a number, not {raw!r}") from None
    if not value.is_finite() or value <= 0 or value != value.quantize(Decimal("0.01")):
        raise WorldError("400", f"{key} must be a positive amount with at most 2 decimals")
    return int(value * 100)


def _check_limit(cents: int) -> None:
    if cents > 100_000_000:
        raise WorldError("LIMIT_EXCEEDED", "Amount exceeds the single order limit of 1,000,000")


def iso_to_ms(text: str) -> int:
    dt = datetime.fromisoformat(text.replace("Z", "+00:00"))
    if dt.tzinfo is None:
        dt = dt.replace(tzinfo=UTC)
    return int(dt.timestamp() * 1000)


__all__ = [
    "AUTHORIZED",
    "CONSUME",
    "FAILED",
    "SETTLED",
    "CardView",
    "World",
    "WorldError",
    "iso_to_ms",
]


def _chain_from(logs: AccountLogs, currency: str, start_ms: int) -> None:
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
    moves_blocked = np.isin(logs.kind[tail], [AL["AuthHold"], AL["AuthRelease"]])
    logs.available_after[tail] = available + np.cumsum(logs.trans_cents[tail])
    logs.blocked_after[tail] = blocked + np.cumsum(
        np.where(moves_blocked, -logs.trans_cents[tail], 0)
    )
