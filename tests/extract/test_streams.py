"""The dialect declarations of ``extract.streams``, and reading a stored reply again.

A rebuild from ``raw.pages`` must take each stored reply's items exactly as the run took
them when the reply arrived: here the real extraction loop and snapshot step run against
a scripted cardepass, and every page they keep is read back with ``stored_items``.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import date
from decimal import Decimal
from typing import Any

import httpx
import pytest
from cardepass_fake import FakeCardepass, envelope

from extract.client import CardepassClient
from extract.engine import SliceResult, collect_orders, extract_streams
from extract.limiter import AdaptiveLimiter
from extract.records import OrderRef, RawPage
from extract.snapshots import take_snapshots
from extract.streams import (
    ACCOUNTS,
    CARDS,
    DIALECTS,
    FUNDING_TYPES,
    ORDER_PATHS,
    ORDERS,
    STREAM_NAMES,
    DialectName,
    StreamName,
    card_model_of,
    stored_items,
)
from transform.schemas import CARD_LOG_TYPES

DAY = date(2026, 10, 1)


def exact(content: str | bytes) -> Any:
    """JSON with every number kept exact, as a run parses replies and stored payloads."""
    return json.loads(content, parse_float=Decimal)


def test_every_dialect_declares_every_stream_under_its_own_names() -> None:
    assert set(DIALECTS) == {"v2.0", "v1.4"}
    for name, dialect in DIALECTS.items():
        assert dialect.name == name
        assert set(dialect.endpoints) == set(STREAM_NAMES)
        assert all(e.stream == s for s, e in dialect.endpoints.items())


def test_extract_and_transform_name_the_same_funding_order_types() -> None:
    """Two copies (transform may not import extract): they must not drift apart."""
    assert set(CARD_LOG_TYPES) == FUNDING_TYPES


# -- the order a log names -----------------------------------------------------------------


@pytest.mark.parametrize(
    ("stream", "item", "expected"),
    [
        (
            "card_account_logs",
            {"cardOrderNo": "O1", "cardAccountLogType": "CardTopUp"},
            OrderRef("O1", "CardTopUp", "C1"),
        ),
        (
            "account_logs",
            {"orderNo": "O2", "accountTransType": "ApplyCard"},
            OrderRef("O2", "ApplyCard", "C1"),
        ),
        ("account_logs", {"orderNo": "O3", "accountTransType": "Recharge"}, None),  # no order
        ("account_logs", {"orderNo": "O4", "accountTransType": ["CardTopUp"]}, None),
        ("card_account_logs", {"cardOrderNo": "", "cardAccountLogType": "CardTopUp"}, None),
        ("card_account_logs", {"cardOrderNo": "O5"}, None),
        ("card_account_logs", ["not", "an", "object"], None),
        ("transactions", {"orderNo": "O6", "accountTransType": "CardTopUp"}, None),
    ],
)
def test_collect_orders_takes_the_order_a_log_names(
    stream: StreamName, item: Any, expected: OrderRef | None
) -> None:
    refs: dict[str, OrderRef] = {}
    collect_orders(stream, item, "C1", refs)
    assert refs == ({} if expected is None else {expected.order_no: expected})


# -- reading a stored reply again -----------------------------------------------------------


def test_card_model_of_reads_the_order_endpoint() -> None:
    assert card_model_of("/v1/orders/standard") == "Standard"
    assert card_model_of("/v1/orders/sharebalance") == "ShareBalance"
    with pytest.raises(ValueError, match="not an order endpoint"):
        card_model_of("/v1/cards/sharebalance")


LOGS: dict[StreamName, dict[str, Any]] = {
    "transactions": {"transactionId": "t1", "id": "t1", "cardId": "C1", "amount": 1.10},
    "card_account_logs": {
        "accountLogId": "a1",
        "cardOrderNo": "O1",
        "cardAccountLogType": "CardTopUp",
        "cardInfo": {"cardId": "C1"},
        "transAmount": {"amount": 20.05, "currency": "USD"},
    },
    "account_logs": {
        "id": "l1",
        "orderNo": "O1",
        "accountTransType": "CardTopUp",
        "cardInfo": {"cardId": "C1"},
        "transAmount": 20.05,
    },
}
CARD = {"cardId": "C1", "cardModel": "ShareBalance", "balance": 10.30, "cardNumber": "4111"}
ORDER = {"orderNo": "O1", "orderType": "CardTopUp", "status": "Pending", "topUpAmount": 20.05}
ACCOUNT = {"v2.0": {"currency": "USD", "availableBalance": 99.90}, "v1.4": [{"currency": "USD"}]}


def log_page(dialect: DialectName, stream: StreamName) -> Any:
    """One log page with one item, in the shape the dialect's endpoint answers."""
    item = LOGS[stream]
    if dialect == "v2.0":
        pagination = {"totalCount": 1, "totalPages": 1, "nextCursor": None, "hasMore": False}
        return envelope([item], pagination=pagination)
    if stream == "transactions":
        return envelope({"pageCursor": "None", "data": [item]})
    if stream == "account_logs":  # the older v1.4 page shape: read per reply all the same
        return envelope({"pageIndex": 1, "pageSize": 100, "totalRecords": 1, "data": [item]})
    return envelope({"pageIndex": 1, "totalCount": 1, "totalPages": 1, "items": [item]})


def answer(body: Any) -> Callable[[httpx.Request], httpx.Response]:
    def handle(request: httpx.Request) -> httpx.Response:
        return httpx.Response(200, json=body, request=request)

    return handle


@pytest.mark.anyio
@pytest.mark.parametrize("dialect", ["v2.0", "v1.4"])
async def test_stored_items_are_the_items_the_run_took(
    fake: FakeCardepass, make_api: Callable[..., CardepassClient], dialect: DialectName
) -> None:
    api = DIALECTS[dialect]
    for stream in STREAM_NAMES:
        fake.on(api.endpoints[stream].path, answer(log_page(dialect, stream)))
    fake.on("/v1/cards/C1", answer(envelope(CARD)))
    fake.on(ORDER_PATHS["ShareBalance"], answer(envelope(ORDER)))
    fake.on("/v1/accounts", answer(envelope(ACCOUNT[dialect])))
    results: list[SliceResult] = []
    async with make_api(json_loads=exact) as client:
        outcomes = await extract_streams(
            client, api, dict.fromkeys(STREAM_NAMES, (DAY, DAY)), results.append
        )
        assert all(o.error is None for o in outcomes.values())
        card_ids = set().union(*(o.card_ids for o in outcomes.values()))
        orders = {k: v for o in outcomes.values() for k, v in o.order_refs.items()}
        snaps = await take_snapshots(
            client, api, card_ids, orders, limiter=AdaptiveLimiter(), final_orders=set()
        )

    def again(page: RawPage) -> Any:
        return stored_items(page.stream, page.request_path, dialect, exact(page.payload))

    assert sorted(r.slice.stream for r in results) == sorted(STREAM_NAMES)
    for result in results:
        assert [again(p) for p in result.pages] == result.page_items
        assert result.page_items == [[exact(json.dumps(LOGS[result.slice.stream]))]]
    by_stream = {p.stream: p for p in snaps.pages}
    assert set(by_stream) == {CARDS, ORDERS, ACCOUNTS}
    assert again(by_stream[CARDS]) == snaps.cards["C1"]  # without its card number
    assert "cardNumber" not in snaps.cards["C1"]
    assert again(by_stream[ORDERS]) == snaps.orders["O1"]
    assert card_model_of(by_stream[ORDERS].request_path) == CARD["cardModel"]
    assert again(by_stream[ACCOUNTS]) == snaps.accounts == exact(json.dumps(ACCOUNT[dialect]))


def test_stored_items_refuses_a_page_it_cannot_have_read() -> None:
    page = log_page("v1.4", "card_account_logs")
    assert stored_items("card_account_logs", "/v1/accounts/cardAccountLogs", "v1.4", page) == [
        LOGS["card_account_logs"]
    ]
    with pytest.raises(ValueError, match="read from /v1/accounts/cardAccountLogs"):
        stored_items("card_account_logs", "/v1/accounts/accountLogs", "v1.4", page)
    with pytest.raises(ValueError, match="unknown stream 'products'"):
        stored_items("products", "/v1/products", "v1.4", envelope([]))
