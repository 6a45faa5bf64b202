"""Rows posted to a world after it was generated: the four write calls and a busy account.

Each posts its money exactly like the generator does (``sandbox.ledger``), so a world
stays reconcilable after any of them; ids of the rows they post sort after every
generated id of the same second (``World.write_ids``). ``World`` offers each as a
method of the same name.
"""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal, InvalidOperation
from typing import TYPE_CHECKING, Any

import numpy as np

from sandbox.generate.cards import luhn_digit
from sandbox.ledger import chain_from, rechain
from sandbox.model import (
    AL,
    APPLY_CARD,
    CARD_TOPUP,
    FEE_TYPES,
    NEVER,
    NO_FEE,
    SHARE_BALANCE,
    STANDARD,
    TOPUP,
    AccountLogs,
    CardLogs,
    Order,
    Txns,
    WorldError,
    insert_sorted,
)

if TYPE_CHECKING:
    from sandbox.world import World


def add_busy_entries(
    world: World,
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
    currency = currency or world.primary_currency
    if currency not in world.currencies:
        raise ValueError(f"unknown currency {currency!r}; use one of {world.currencies}")
    start, span = int(start_ms), round(seconds * 1000)
    n = max(1, span // every_ms)  # the regular slots
    rng = np.random.default_rng([world.gen.seed, start & 0xFFFF_FFFF, 0xB05])
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
    base = len(world.account_logs)
    rows = AccountLogs(
        id=world.write_ids["acct"].make(at),
        currency=np.full(n, currency, dtype=object),
        kind=kinds,
        trans_cents=cents,
        available_after=np.zeros(n, dtype=np.int64),
        blocked_after=np.zeros(n, dtype=np.int64),
        order_no=np.array([f"C1000-{day}-B{base + k:06d}" for k in range(n)], dtype=object),
        card=np.full(n, -1, dtype=np.int32),
        trans_at=at,
    )
    world.account_logs = insert_sorted(world.account_logs, rows, "trans_at")
    chain_from(world.account_logs, currency, start)
    world.reindex()
    return int(n)


def apply_share_balance(world: World, body: dict[str, Any]) -> Order:
    product, currency = _product(world, body, SHARE_BALANCE)
    max_auth = _money(body, "maxAuthAmount", required=True)
    max_credit = _money(body, "maxCreditAmount", required=False)
    customer_no = _customer_no(world, body)
    fee = 100
    _require_funds(world, currency, fee)
    card = _new_card(
        world, SHARE_BALANCE, currency, product, body.get("cardAlias"), max_auth or 0, max_credit
    )
    order = _new_order(
        world,
        "ApplyCard",
        SHARE_BALANCE,
        card,
        customer_no,
        principal=0,
        fee_items=[("OpenCardFee", fee)],
    )
    order.max_auth_cents, order.max_credit_cents = max_auth, max_credit
    _post_account(world, [(AL["ApplyCard"], -fee, order.order_no, card, currency)])
    return order


def credit_limit(world: World, body: dict[str, Any]) -> Order:
    i = _card_for_write(world, body, SHARE_BALANCE)
    max_auth = _money(body, "maxAuthAmount", required=True)
    max_credit = _money(body, "maxCreditAmount", required=False)
    customer_no = _customer_no(world, body)
    world.cards.max_auth[i] = max_auth or 0
    world.cards.max_credit[i] = -1 if max_credit is None else max_credit
    order = _new_order(
        world, "CreditLimit", SHARE_BALANCE, i, customer_no, principal=None, fee_items=[]
    )
    order.max_auth_cents, order.max_credit_cents = max_auth, max_credit
    world.reindex()
    return order


def apply_standard(world: World, body: dict[str, Any]) -> Order:
    product, currency = _product(world, body, STANDARD)
    # v1.4 names the opening top-up topUpAmount; the v2.0 document sends maxAuthAmount
    key = "topUpAmount" if body.get("topUpAmount") not in (None, "") else "maxAuthAmount"
    principal = _money(body, key, required=True) or 0
    _check_limit(principal)
    customer_no = _customer_no(world, body)
    fees = [("OpenCardFee", 100), ("TopUpFee", max(10, round(principal / 100)))]
    _require_funds(world, currency, principal + sum(f for _, f in fees))
    card = _new_card(world, STANDARD, currency, product, body.get("cardAlias"), 0, None)
    order = _new_order(
        world, "ApplyCard", STANDARD, card, customer_no, principal=principal, fee_items=fees
    )
    _post_card_log(world, APPLY_CARD, card, order, principal, fees)
    return order


def top_up_standard(world: World, body: dict[str, Any]) -> Order:
    i = _card_for_write(world, body, STANDARD)
    key = "topUpAmount" if body.get("topUpAmount") not in (None, "") else "amount"
    principal = _money(body, key, required=True) or 0
    _check_limit(principal)
    customer_no = _customer_no(world, body)
    fees = [("TopUpFee", max(10, round(principal / 100)))]
    _require_funds(world, world.cards.currency[i], principal + fees[0][1])
    order = _new_order(
        world, "CardTopUp", STANDARD, i, customer_no, principal=principal, fee_items=fees
    )
    _post_card_log(world, CARD_TOPUP, i, order, principal, fees)
    return order


def _product(world: World, body: dict[str, Any], model: str) -> tuple[str, str]:
    code, currency = body.get("productCode"), body.get("cardCurrency")
    for p in world.products:
        if p["productCode"] == code and model in p["cardModels"] and currency in p["cardCurrency"]:
            return str(code), str(currency)
    raise WorldError(
        "PRODUCT_NOT_AVAILABLE",
        f"Product {code!r} is not available for {model} cards in {currency!r}",
    )


def _customer_no(world: World, body: dict[str, Any]) -> str | None:
    no = body.get("customerOrderNo") or None
    if no is not None and no in world.customer_orders:
        raise WorldError("DUPLICATE_ORDER", f"customerOrderNo {no!r} was used before")
    return None if no is None else str(no)


def _card_for_write(world: World, body: dict[str, Any], model: str) -> int:
    card_id = body.get("cardId")
    i = world.card_index.get(str(card_id))
    if i is None or world.cards.opened_at[i] > world.as_of:
        raise WorldError("CARD_NOT_FOUND", f"Card {card_id!r} not found", 404)
    view = world.card_view(i)
    if view.model != model or view.status != "Active":
        raise WorldError(
            "CARD_STATUS_INVALID",
            f"Card {card_id!r} is a {view.model} card in status {view.status}",
        )
    return i


def _require_funds(world: World, currency: str, cents: int) -> None:
    available = world.account_balances().get(currency, (0, 0))[0]
    if available < cents:
        raise WorldError("INSUFFICIENT_BALANCE", "Account balance is not sufficient")


def _new_card(
    world: World,
    model: str,
    currency: str,
    product: str,
    alias: Any,
    max_auth: int,
    max_credit: int | None,
) -> int:
    c = world.cards
    i = len(c)
    rng = np.random.default_rng([world.gen.seed, i])
    body = f"436797{rng.integers(0, 10**9):09d}"
    now = datetime.fromtimestamp(world.as_of / 1000, UTC)
    c.id.append(str(world.write_ids["card"].make(np.array([world.as_of]))[0]))
    c.model.append(model)
    c.currency.append(currency)
    c.product_code.append(product)
    c.alias.append(str(alias) if alias else f"card-{i + 1:04d}")
    c.number.append(body + luhn_digit(body))
    c.cvv.append(f"{rng.integers(100, 1000):03d}")
    c.expiry.append(f"{now.month:02d}/{now.year + 3}")
    c.organization.append("Mastercard")
    c.apply_order.append("")
    c.opened_at = np.append(c.opened_at, world.as_of)
    c.cancelled_at = np.append(c.cancelled_at, NEVER)
    c.blocked_at = np.append(c.blocked_at, NEVER)
    c.max_auth = np.append(c.max_auth, max_auth)
    c.max_credit = np.append(c.max_credit, -1 if max_credit is None else max_credit)
    world.reindex()
    return i


def _new_order(
    world: World,
    order_type: str,
    model: str,
    card: int,
    customer_no: str | None,
    *,
    principal: int | None,
    fee_items: list[tuple[str, int]],
) -> Order:
    world.write_seq += 1
    day = datetime.fromtimestamp(world.as_of / 1000, UTC).strftime("%Y%m%d")
    no = f"C1000-{day}-W{world.write_seq:03d}"
    fee = sum(f for _, f in fee_items) if fee_items else None
    order = Order(
        order_no=no,
        customer_order_no=customer_no,
        order_type=order_type,
        model=model,
        card=card,
        currency=world.cards.currency[card],
        product_code=world.cards.product_code[card],
        created_at=world.as_of,
        completed_at=world.as_of,
        failed=False,
        principal_cents=principal,
        fee_cents=fee,
        fee_items=fee_items,
        total_cents=None if principal is None else principal + (fee or 0),
    )
    if order_type == "ApplyCard":
        world.cards.apply_order[card] = no
    world.orders[no] = order
    if customer_no:
        world.customer_orders[customer_no] = no
    return order


def _post_card_log(
    world: World, kind: int, card: int, order: Order, principal: int, fees: list[tuple[str, int]]
) -> None:
    fee_codes = [(FEE_TYPES.index(name), cents) for name, cents in fees] + [(NO_FEE, 0)]
    total_fee = sum(f for _, f in fees)
    row = CardLogs(
        id=world.write_ids["cardlog"].make(np.array([world.as_of])),
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
        trans_at=np.array([world.as_of]),
        completed_at=np.array([world.as_of]),
        failed=np.array([False]),
    )
    world.card_logs = insert_sorted(world.card_logs, row, "trans_at")
    if kind == CARD_TOPUP:
        mirror = Txns(
            id=world.write_ids["txn"].make(np.array([world.as_of])),
            card=np.array([card], dtype=np.int32),
            kind=np.array([TOPUP], dtype=np.int8),
            auth_at=np.array([world.as_of]),
            settle_at=np.array([world.as_of]),
            auth_cents=np.array([principal]),
            settled_cents=np.array([principal]),
            merchant=np.array([0], dtype=np.int16),
            auth_code=np.array([""], dtype=object),
            failure=np.array([-1], dtype=np.int8),
            order_no=np.array([order.order_no], dtype=object),
        )
        world.txns = insert_sorted(world.txns, mirror, "auth_at")
    kind_name = "ApplyCard" if kind == APPLY_CARD else "CardTopUp"
    _post_account(
        world,
        [
            (
                AL[kind_name],
                -(principal + total_fee),
                order.order_no,
                card,
                world.cards.currency[card],
            )
        ],
    )


def _post_account(world: World, entries: list[tuple[int, int, str, int, str]]) -> None:
    n = len(entries)
    at = np.full(n, world.as_of, dtype=np.int64)
    rows = AccountLogs(
        id=world.write_ids["acct"].make(at),
        currency=np.array([e[4] for e in entries], dtype=object),
        kind=np.array([e[0] for e in entries], dtype=np.int8),
        trans_cents=np.array([e[1] for e in entries], dtype=np.int64),
        available_after=np.zeros(n, dtype=np.int64),
        blocked_after=np.zeros(n, dtype=np.int64),
        order_no=np.array([e[2] for e in entries], dtype=object),
        card=np.array([e[3] for e in entries], dtype=np.int32),
        trans_at=at,
    )
    world.account_logs = insert_sorted(world.account_logs, rows, "trans_at")
    rechain(world.account_logs)
    world.reindex()


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
