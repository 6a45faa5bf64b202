"""Items as a client sees them: builders for single items and the sandbox's served pages.

Every item goes through the wire (``orjson.dumps``) and back with
``json.loads(..., parse_float=Decimal)``, so amounts are ``Decimal``/``int`` exactly as
the transform layer receives them.
"""

from __future__ import annotations

import copy
import json
from collections.abc import Sequence
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

from sandbox import render
from sandbox.world import World
from transform.normalize import Lineage, raw_json

END = datetime(2026, 11, 1, tzinfo=UTC)
FETCHED = datetime(2026, 11, 1, 12, 0, tzinfo=UTC)
V20, V14 = "v2.0", "v1.4"


def wire(obj: Any) -> Any:
    """``obj`` as the client parses it off the wire (decimals exact)."""
    return json.loads(raw_json(obj), parse_float=Decimal)


def lineage(
    dialect: str = V14,
    *,
    run_id: str = "run-1",
    fetched_at: datetime = FETCHED,
    response_id: str | None = "resp-1",
    card_model: str | None = None,
) -> Lineage:
    return Lineage(dialect, run_id, fetched_at, response_id, card_model)


def tiny_world(seed: int = 1) -> World:
    return World.create(seed=seed, size="tiny", end=END)


def paged(
    items: Sequence[Any], dialect: str, size: int = 50
) -> list[tuple[Lineage, Sequence[Any]]]:
    """Items split into pages of ``size``, each with its own responseId."""
    return [
        (lineage(dialect, response_id=f"resp-{i // size}"), items[i : i + size])
        for i in range(0, len(items), size)
    ]


def served_items(world: World, stream: str, dialect: str) -> list[Any]:
    """Every item the sandbox serves for a log stream, parsed as the client parses it."""
    if stream == "transactions":
        rows = world.select_transactions(None, None, include_topups=dialect == V20)
        return list(wire(render.transactions(world, rows, dialect)))
    if stream == "card_account_logs":
        return list(wire(render.card_logs(world, world.select_card_logs(None, None), dialect)))
    if stream == "account_logs":
        rows = world.select_account_logs(None, None)
        return list(wire(render.account_logs(world, rows, dialect)))
    raise ValueError(stream)


def served_pages(world: World, stream: str, dialect: str) -> list[tuple[Lineage, Any]]:
    """The pages of any stream (snapshots: one reply's ``data`` per page)."""
    if stream == "cards":
        return [
            (
                lineage(dialect, response_id=f"card-{i}"),
                wire(render.card(world.card_view(i), dialect)),
            )
            for i in range(len(world.cards))
        ]
    if stream == "accounts":
        return [(lineage(dialect, response_id="accounts"), wire(render.accounts(world, dialect)))]
    if stream == "orders":
        return [
            (
                lineage(dialect, response_id=o.order_no, card_model=o.model),
                wire(render.order(world, o, dialect)),
            )
            for o in world.orders.values()
        ]
    return list(paged(served_items(world, stream, dialect), dialect))


# -- builders: one valid item each, any field overridden ----------------------------------
def _build(base: dict[str, Any], over: dict[str, Any]) -> dict[str, Any]:
    item = copy.deepcopy(base)
    for key, value in over.items():
        if value is DROP:
            item.pop(key, None)
        else:
            item[key] = value
    return item


DROP: Any = object()  # make_x(field=DROP) leaves the field out


def amount(value: Any, currency: str = "USD") -> dict[str, Any]:
    return {
        "amount": Decimal(str(value)) if isinstance(value, int | float) else value,
        "currency": currency,
    }


def make_txn_v14(**over: Any) -> dict[str, Any]:
    return _build(
        {
            "id": "txn-1",
            "authTime": "2026-10-01T08:00:00.000Z",
            "settleTime": "2026-10-02T08:00:00.000Z",
            "transAmount": amount(Decimal("12.50")),
            "authAmount": amount(Decimal("12.50")),
            "settledAmount": amount(Decimal("12.40")),
            "cardInfo": {
                "cardId": "card-1",
                "maskedCardNumber": "436797******0001",
                "cardCurrency": "USD",
            },
            "cardAlias": "ads",
            "authCode": "123456",
            "merchantName": "Zalando",
            "merchantCountryCode": "DE",
            "status": "Settled",
            "fundsDirection": "Expenditure",
            "transactionType": "Consume",
            "failureReason": None,
            "note": None,
        },
        over,
    )


def make_txn_v20(**over: Any) -> dict[str, Any]:
    return _build(
        {
            "transactionId": "txn-1",
            "cardId": "card-1",
            "amount": Decimal("-12.40"),
            "currency": "USD",
            "transactionType": "Purchase",
            "status": "Success",
            "merchantName": "Zalando",
            "description": "Consume",
            "transactionTime": "2026-10-01T08:00:00.000Z",
            "authCode": "123456",
        },
        over,
    )


def make_card_log(**over: Any) -> dict[str, Any]:
    return _build(
        {
            "accountLogId": "clog-1",
            "cardOrderNo": "C1000-20261001-T001",
            "cardAccountLogType": "CardTopUp",
            "cardInfo": {"cardId": "card-1", "maskedCardNumber": "436797******0001"},
            "fundsDirection": "Income",
            "transAmount": amount(100),
            "totalFee": amount(Decimal("1.50")),
            "feeItems": [
                {"feeType": "TopUpFee", "amount": amount(1)},
                {"feeType": "OpenCardFee", "amount": amount(Decimal("0.5"))},
            ],
            "totalAmount": amount(Decimal("101.50")),
            "status": "Completed",
            "failureReason": None,
            "transTime": "2026-10-01T08:00:00.000Z",
            "completedTime": "2026-10-01T08:00:30.000Z",
            "note": None,
        },
        over,
    )


def make_account_log(**over: Any) -> dict[str, Any]:
    return _build(
        {
            "id": "alog-1",
            "accountTransType": "CardTopUp",
            "fundsDirection": "Expenditure",
            "currency": "USD",
            "transAmount": Decimal("-101.50"),
            "availableBalance": Decimal("898.50"),
            "blockedBalance": Decimal("0"),
            "orderNo": "C1000-20261001-T001",
            "note": None,
            "cardInfo": {"cardId": "card-1", "maskedCardNumber": "436797******0001"},
            "transTime": "2026-10-01T08:00:00.000Z",
        },
        over,
    )


def make_card_v20(**over: Any) -> dict[str, Any]:
    return _build(
        {
            "cardId": "card-1",
            "cardAlias": "ads",
            "cardModel": "Standard",
            "cardCurrency": "USD",
            "cardStatus": "Active",
            "balance": Decimal("87.60"),
            "maxAuthAmount": Decimal("500"),
            "maxCreditAmount": None,
            "createdOn": "2026-09-30T10:00:00.000Z",
        },
        over,
    )


def make_card_v14(**over: Any) -> dict[str, Any]:
    return _build(
        {
            "cardId": "card-2",
            "cardModel": "ShareBalance",
            "productCode": "DGG0C4JD",
            "cardNumber": "4367970000000002",
            "cvv": "123",
            "expirationMMYY": "10/2029",
            "cardCurrency": "EUR",
            "alias": "travel",
            "balanceAmount": Decimal("0"),
            "status": "Cancel",
            "maxAuthAmount": Decimal("300"),
            "usedCreditAmount": Decimal("42.10"),
            "maxCreditAmount": Decimal("1000"),
            "cardOrganization": "Mastercard",
            "applyTime": "2026-09-30T10:00:00.000Z",
            "permissions": ["Online"],
        },
        over,
    )
