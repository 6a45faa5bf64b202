"""The sandbox serves every endpoint of API.md in both dialects, with the right shapes."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import orjson
import pytest

from sandbox.model import ms_to_iso

pytestmark = pytest.mark.anyio
ApiFactory = Any  # the ``make_api`` fixture (conftest.py)

DIALECTS = ("v2.0", "v1.4")
ENVELOPE = {"data", "responseId", "hasError", "errorCode", "errorMessage"}
V20_TXN = {
    "transactionId", "cardId", "amount", "currency", "transactionType", "status",
    "merchantName", "description", "transactionTime", "authCode",
}  # fmt: skip
V14_TXN = {
    "id", "authTime", "settleTime", "transAmount", "authAmount", "settledAmount", "cardInfo",
    "cardAlias", "authCode", "merchantName", "merchantCountryCode", "merchantCity",
    "merchantState", "merchantZipCode", "merchantDesc", "status", "fundsDirection",
    "transactionType", "failureReason", "failureReasonCn", "note",
}  # fmt: skip
CARD_LOG = {
    "accountLogId", "cardOrderNo", "cardAccountLogType", "cardInfo", "fundsDirection",
    "transAmount", "totalFee", "feeItems", "totalAmount", "status", "failureReason",
    "transTime", "completedTime", "note",
}  # fmt: skip
ACCOUNT_LOG = {
    "id", "accountTransType", "fundsDirection", "currency", "transAmount", "availableBalance",
    "blockedBalance", "orderNo", "note", "cardInfo", "transTime",
}  # fmt: skip
V20_CARD = {
    "cardId", "cardAlias", "cardModel", "cardCurrency", "cardStatus", "balance",
    "maxAuthAmount", "maxCreditAmount", "createdOn",
}  # fmt: skip
V14_CARD = {
    "cardId", "cardModel", "productCode", "cardNumber", "cvv", "expirationMMYY",
    "cardCurrency", "alias", "balanceAmount", "status", "maxAuthAmount", "usedCreditAmount",
    "maxCreditAmount", "cardOrganization", "applyTime", "permissions",
}  # fmt: skip
PRODUCT = {"productCode", "productName", "cardModels", "cardCurrency", "description"}
ORDER_BASE = {"orderNo", "customerOrderNo", "orderType", "status", "createdOn", "completedOn"}
V14_WINDOW = {
    "transactionDateFrom": "2026-10-01T00:00:00Z",
    "transactionDateTo": "2026-11-01T00:00:00Z",
}


def standard_card(api: Any) -> str:
    """An active Standard USD card of the tiny world."""
    w = api.world
    for i, cid in enumerate(w.cards.id):
        view = w.card_view(i)
        if view.model == "Standard" and view.currency == "USD" and view.status == "Active":
            return str(cid)
    raise AssertionError("no active Standard USD card")


def share_card(api: Any) -> str:
    w = api.world
    for i, cid in enumerate(w.cards.id):
        view = w.card_view(i)
        if view.model == "ShareBalance" and view.status == "Active":
            return str(cid)
    raise AssertionError("no active ShareBalance card")


# -- read endpoints -------------------------------------------------------------------
@pytest.mark.parametrize("dialect", DIALECTS)
async def test_ping_is_a_bare_string_in_v20_and_an_envelope_in_v14(
    make_api: ApiFactory, dialect: str
) -> None:
    async with make_api(dialect) as api:
        r = await api.get("/v1/ping")
    assert r.status_code == 200
    if dialect == "v2.0":
        assert r.json() == "Ping Success"
    else:
        assert set(r.json()) == ENVELOPE
        assert r.json()["data"] == "Ping Success"


@pytest.mark.parametrize("dialect", DIALECTS)
async def test_products_have_the_dialects_fields(make_api: ApiFactory, dialect: str) -> None:
    async with make_api(dialect) as api:
        r = await api.get("/v1/products")
    body = r.json()
    assert r.headers["content-type"] == "application/json"
    assert set(body) == ENVELOPE
    assert body["hasError"] is False and body["errorCode"] is None
    extra = {"cardBinConfigs"} if dialect == "v1.4" else set()
    assert [set(p) for p in body["data"]] == [PRODUCT | extra] * len(body["data"])


@pytest.mark.parametrize("dialect", DIALECTS)
async def test_card_snapshot_has_the_dialects_fields(make_api: ApiFactory, dialect: str) -> None:
    async with make_api(dialect) as api:
        card_id = standard_card(api)
        data = await api.data(f"/v1/cards/{card_id}")
        view = api.world.card(card_id)
    assert set(data) == (V20_CARD if dialect == "v2.0" else V14_CARD)
    assert data["cardId"] == card_id
    balance = data["balance" if dialect == "v2.0" else "balanceAmount"]
    assert Decimal(str(balance)) * 100 == view.balance_cents


@pytest.mark.parametrize("dialect", DIALECTS)
async def test_unknown_card_is_card_not_found(make_api: ApiFactory, dialect: str) -> None:
    async with make_api(dialect) as api:
        r = await api.get("/v1/cards/000000000000000000000000")
    body = r.json()
    assert r.status_code == 404
    assert set(body) == ENVELOPE
    assert body["hasError"] is True and body["data"] is None
    assert body["errorCode"] == "CARD_NOT_FOUND"
    assert "000000000000000000000000" in body["errorMessage"]


async def test_accounts_is_one_object_in_v20_and_a_list_in_v14(make_api: ApiFactory) -> None:
    async with make_api("v2.0") as api:
        v20 = await api.data("/v1/accounts")
        balances = api.world.account_balances()
    async with make_api("v1.4") as api:
        v14 = await api.data("/v1/accounts")
    assert set(v20) == {"accountBalance", "availableBalance", "frozenBalance", "currency"}
    available, blocked = balances[v20["currency"]]
    assert Decimal(str(v20["availableBalance"])) * 100 == available
    assert Decimal(str(v20["frozenBalance"])) * 100 == blocked
    assert isinstance(v14, list)
    assert {x["currency"] for x in v14} == set(balances)
    assert all(set(x) == {"currency", "amount"} for x in v14)


async def test_v20_transactions_page_has_items_and_pagination(make_api: ApiFactory) -> None:
    async with make_api("v2.0") as api:
        r = await api.get("/v1/transactions", PageSize=5)
    body = r.json()
    assert set(body) == ENVELOPE | {"pagination"}
    assert set(body["pagination"]) == {"pageSize", "nextCursor", "hasMore"}
    assert body["pagination"]["pageSize"] == 5 and body["pagination"]["hasMore"] is True
    assert isinstance(body["pagination"]["nextCursor"], str)
    assert len(body["data"]) == 5
    assert all(set(t) == V20_TXN for t in body["data"])


async def test_v14_transactions_page_nests_cursor_and_items(make_api: ApiFactory) -> None:
    async with make_api("v1.4") as api:
        data = await api.data("/v1/transactions", pageSize=5, **V14_WINDOW)
    assert set(data) == {"pageCursor", "pageSize", "data"}
    assert data["pageSize"] == 5 and len(data["data"]) == 5
    assert data["pageCursor"] == data["data"][-1]["id"]
    assert all(set(t) == V14_TXN for t in data["data"])
    assert all(t["transactionType"] != "TopUp" for t in data["data"])


@pytest.mark.parametrize(
    ("dialect", "name", "value", "wire"),
    [
        ("v2.0", "TransactionStatus", "Pending", "Pending"),
        ("v2.0", "TransactionStatus", "Success", "Success"),
        ("v2.0", "TransactionStatus", "Failed", "Failed"),
        ("v1.4", "transactionStatus", "AuthSuccess", "AuthSuccess"),
        ("v1.4", "transactionStatus", "Settled", "Settled"),
        ("v1.4", "transactionStatus", "AuthFailure", "AuthFailure"),
    ],
)
async def test_transaction_status_filter(
    make_api: ApiFactory, dialect: str, name: str, value: str, wire: str
) -> None:
    async with make_api(dialect) as api:
        extra = V14_WINDOW if dialect == "v1.4" else {}
        key = "pageSize" if dialect == "v1.4" else "PageSize"
        data = await api.data("/v1/transactions", **{name: value, key: 100}, **extra)
    items = data if dialect == "v2.0" else data["data"]
    assert items
    assert {t["status"] for t in items} == {wire}


@pytest.mark.parametrize("dialect", DIALECTS)
async def test_transactions_filter_by_card(make_api: ApiFactory, dialect: str) -> None:
    async with make_api(dialect) as api:
        card_id = standard_card(api)
        if dialect == "v2.0":
            items = await api.data("/v1/transactions", CardId=card_id, PageSize=100)
            ids = {t["cardId"] for t in items}
        else:
            data = await api.data("/v1/transactions", cardId=card_id, pageSize=100, **V14_WINDOW)
            ids = {t["cardInfo"]["cardId"] for t in data["data"]}
    assert ids == {card_id}


async def test_v20_date_filter_takes_whole_utc_days(make_api: ApiFactory) -> None:
    async with make_api("v2.0") as api:
        items = await api.data(
            "/v1/transactions",
            TransactionDateFrom="2026-10-20",
            TransactionDateTo="2026-10-21",
            PageSize=100,
        )
        w = api.world
        lo = 1792454400000  # 2026-10-20T00:00Z
        hi = lo + 2 * 86_400_000 - 1
        expected = w.select_transactions(lo, hi, include_topups=True)
    assert [t["transactionId"] for t in items] == [w.txns.id[r] for r in expected]
    assert ms_to_iso(lo)[:10] == "2026-10-20"
    assert all("2026-10-20" <= t["transactionTime"][:10] <= "2026-10-21" for t in items)


@pytest.mark.parametrize("dialect", DIALECTS)
async def test_card_account_logs_shapes(make_api: ApiFactory, dialect: str) -> None:
    async with make_api(dialect) as api:
        if dialect == "v2.0":
            r = await api.get("/v1/accounts/cardAccountLogs", PageNumber=1, PageSize=5)
            body = r.json()
            assert set(body) == ENVELOPE | {"pagination"}
            assert set(body["pagination"]) == {"pageNumber", "pageSize", "totalCount", "totalPages"}
            assert body["pagination"]["pageNumber"] == 1
            items = body["data"]
            total = body["pagination"]["totalCount"]
        else:
            data = await api.data("/v1/accounts/cardAccountLogs", pageIndex=1, pageSize=5)
            assert set(data) == {"pageIndex", "pageSize", "totalCount", "totalPages", "items"}
            assert data["pageIndex"] == 1
            items = data["items"]
            total = data["totalCount"]
        assert total == len(api.world.select_card_logs(None, None))
    assert len(items) == 5
    assert all(set(x) == CARD_LOG for x in items)


@pytest.mark.parametrize("dialect", DIALECTS)
async def test_account_logs_shapes(make_api: ApiFactory, dialect: str) -> None:
    async with make_api(dialect) as api:
        if dialect == "v2.0":
            r = await api.get("/v1/accounts/accountLogs", Limit=5, Offset=10)
            body = r.json()
            assert set(body) == ENVELOPE | {"pagination"}
            assert body["pagination"]["limit"] == 5 and body["pagination"]["offset"] == 10
            assert set(body["pagination"]) == {"limit", "offset", "totalCount"}
            items = body["data"]
            total = body["pagination"]["totalCount"]
        else:
            data = await api.data("/v1/accounts/accountLogs", pageIndex=3, pageSize=5)
            assert set(data) == {"pageIndex", "pageSize", "totalCount", "totalPages", "items"}
            items = data["items"]
            total = data["totalCount"]
        rows = api.world.select_account_logs(None, None)
    assert total == len(rows)
    assert [x["id"] for x in items] == [api.world.account_logs.id[r] for r in rows[10:15]]
    assert all(set(x) == ACCOUNT_LOG for x in items)


@pytest.mark.parametrize("dialect", DIALECTS)
async def test_a_page_beyond_the_last_is_empty(make_api: ApiFactory, dialect: str) -> None:
    async with make_api(dialect) as api:
        if dialect == "v2.0":
            r = await api.get("/v1/accounts/cardAccountLogs", PageNumber=99, PageSize=10)
            assert r.status_code == 200 and r.json()["data"] == []
            r = await api.get("/v1/accounts/accountLogs", Offset=100_000)
            assert r.status_code == 200 and r.json()["data"] == []
        else:
            data = await api.data("/v1/accounts/cardAccountLogs", pageIndex=99, pageSize=10)
            assert data["items"] == [] and data["totalCount"] > 0
            data = await api.data("/v1/accounts/accountLogs", pageIndex=99, pageSize=100)
            assert data["items"] == []


# -- orders ------------------------------------------------------------------------------
@pytest.mark.parametrize("dialect", DIALECTS)
async def test_order_queries_by_number_and_customer_number(
    make_api: ApiFactory, dialect: str
) -> None:
    async with make_api(dialect) as api:
        orders = list(api.world.orders.values())
        std = next(o for o in orders if o.model == "Standard" and o.customer_order_no)
        share = next(o for o in orders if o.model == "ShareBalance")
        by_no = await api.data(
            "/v1/orders/standard", OrderType=std.order_type, OrderNo=std.order_no
        )
        by_customer = await api.data(
            "/v1/orders/standard", OrderType=std.order_type, CustomerOrderNo=std.customer_order_no
        )
        shared = await api.data("/v1/orders/sharebalance", OrderNo=share.order_no)
        wrong_model = await api.get(
            "/v1/orders/sharebalance", OrderType=std.order_type, OrderNo=std.order_no
        )
    assert by_no == by_customer
    assert set(by_no) >= ORDER_BASE
    assert by_no["orderNo"] == std.order_no and by_no["status"] == "Completed"
    assert shared["orderNo"] == share.order_no
    assert wrong_model.status_code == 404
    assert wrong_model.json()["errorCode"] == "ORDER_NOT_FOUND"


@pytest.mark.parametrize("dialect", DIALECTS)
async def test_unknown_order_is_order_not_found(make_api: ApiFactory, dialect: str) -> None:
    async with make_api(dialect) as api:
        r = await api.get("/v1/orders/standard", OrderType="CardTopUp", OrderNo="C1000-NOPE")
        r2 = await api.get("/v1/orders/sharebalance", CustomerOrderNo="never-used")
    for resp in (r, r2):
        assert resp.status_code == 404
        assert resp.json()["errorCode"] == "ORDER_NOT_FOUND"
        assert resp.json()["hasError"] is True


async def test_v20_standard_order_query_needs_no_order_type(make_api: ApiFactory) -> None:
    async with make_api("v2.0") as api:
        o = next(o for o in api.world.orders.values() if o.model == "Standard")
        data = await api.data("/v1/orders/standard", OrderNo=o.order_no)
    assert data["orderNo"] == o.order_no


# -- write endpoints ---------------------------------------------------------------------
@pytest.mark.parametrize("dialect", DIALECTS)
async def test_top_up_shows_in_card_logs_account_logs_and_balance(
    make_api: ApiFactory, dialect: str
) -> None:
    async with make_api(dialect) as api:
        card_id = standard_card(api)
        balance_key = "balance" if dialect == "v2.0" else "balanceAmount"
        before = Decimal(str((await api.data(f"/v1/cards/{card_id}"))[balance_key]))
        r = await api.post(
            "/v1/orders/standard/topup",
            {"cardId": card_id, "amount": "150.25", "customerOrderNo": "T-1"},
        )
        assert r.status_code == 200, r.text
        order = r.json()["data"]
        assert order["orderType"] == "CardTopUp" and order["status"] == "Pending"
        assert order["customerOrderNo"] == "T-1"
        assert orjson.loads(r.content)["data"]["totalTopUpAmount"] == 150.25
        no = order["orderNo"]

        after = Decimal(str((await api.data(f"/v1/cards/{card_id}"))[balance_key]))
        assert after - before == Decimal("150.25")

        if dialect == "v2.0":
            logs = await api.data("/v1/accounts/cardAccountLogs", CardId=card_id, PageSize=100)
            total = (await api.get("/v1/accounts/accountLogs")).json()["pagination"]["totalCount"]
            acct = await api.data("/v1/accounts/accountLogs", Limit=5, Offset=total - 5)
            txns = await api.data("/v1/transactions", CardId=card_id, PageSize=100)
            assert any(t["transactionType"] == "TopUp" and no in t["description"] for t in txns)
        else:
            logs = (await api.data("/v1/accounts/cardAccountLogs", cardId=card_id, pageSize=100))[
                "items"
            ]
            total = (await api.data("/v1/accounts/accountLogs", pageSize=1))["totalCount"]
            acct = (await api.data("/v1/accounts/accountLogs", pageIndex=total, pageSize=1))[
                "items"
            ]
        log = next(x for x in logs if x["cardOrderNo"] == no)
        assert log["cardAccountLogType"] == "CardTopUp" and log["status"] == "Completed"
        assert log["transAmount"]["amount"] == 150.25
        entry = next(x for x in acct if x["orderNo"] == no)
        assert entry["accountTransType"] == "CardTopUp"
        assert Decimal(str(entry["transAmount"])) == -Decimal(str(log["totalAmount"]["amount"]))

        later = await api.data("/v1/orders/standard", OrderType="CardTopUp", OrderNo=no)
        assert later["status"] == "Completed"

        again = await api.post(
            "/v1/orders/standard/topup",
            {"cardId": card_id, "amount": 1, "customerOrderNo": "T-1"},
        )
    assert again.status_code == 400
    assert again.json()["errorCode"] == "DUPLICATE_ORDER"
    assert again.json()["data"] is None


@pytest.mark.parametrize("dialect", DIALECTS)
async def test_apply_standard_card_opens_a_card(make_api: ApiFactory, dialect: str) -> None:
    amount_key = "maxAuthAmount" if dialect == "v2.0" else "topUpAmount"
    async with make_api(dialect) as api:
        r = await api.post(
            "/v1/orders/standard/apply",
            {"productCode": "0BN03HNK", "cardCurrency": "USD", amount_key: 50, "cardAlias": "x"},
        )
        assert r.status_code == 200, r.text
        order = r.json()["data"]
        assert order["orderType"] == "ApplyCard" and order["status"] == "Pending"
        done = await api.data(
            "/v1/orders/standard", OrderType="ApplyCard", OrderNo=order["orderNo"]
        )
        card_id = done["cardInfos"][0]["cardId"]
        card = await api.data(f"/v1/cards/{card_id}")
    assert card["cardModel"] == "Standard"
    assert card["balance" if dialect == "v2.0" else "balanceAmount"] == 50


@pytest.mark.parametrize("dialect", DIALECTS)
async def test_share_balance_apply_and_credit_limit(make_api: ApiFactory, dialect: str) -> None:
    async with make_api(dialect) as api:
        r = await api.post(
            "/v1/orders/sharebalance/apply",
            {"productCode": "DGG0C4JD", "cardCurrency": "EUR", "maxAuthAmount": "10",
             "maxCreditAmount": "", "customerOrderNo": "S-1"},
        )  # fmt: skip
        assert r.status_code == 200, r.text
        order = r.json()["data"]
        assert order["status"] == "Pending" and order["cardInfos"] == []
        done = await api.data("/v1/orders/sharebalance", CustomerOrderNo="S-1")
        card_id = done["cardInfos"][0]["cardId"]
        r = await api.post(
            "/v1/orders/sharebalance/creditLimit",
            {"cardId": card_id, "maxAuthAmount": 25.5, "maxCreditAmount": 300},
        )
        assert r.status_code == 200, r.text
        assert r.json()["data"]["orderType"] == "CreditLimit"
        card = await api.data(f"/v1/cards/{card_id}")
    assert card["maxAuthAmount"] == 25.5 and card["maxCreditAmount"] == 300


@pytest.mark.parametrize(
    ("path", "body", "status", "code"),
    [
        ("standard/topup", {"cardId": "nope", "amount": 1}, 404, "CARD_NOT_FOUND"),
        ("standard/topup", {"cardId": "<share>", "amount": 1}, 400, "CARD_STATUS_INVALID"),
        ("standard/topup", {"cardId": "<std>", "amount": 999_999}, 400, "INSUFFICIENT_BALANCE"),
        ("standard/topup", {"cardId": "<std>", "amount": 2_000_000}, 400, "LIMIT_EXCEEDED"),
        ("standard/topup", {"cardId": "<std>"}, 400, "400"),
        ("standard/topup", {"cardId": "<std>", "amount": "1.001"}, 400, "400"),
        (
            "standard/apply",
            {"productCode": "0BN03HNK", "cardCurrency": "EUR", "topUpAmount": 5},
            400,
            "PRODUCT_NOT_AVAILABLE",
        ),
        ("sharebalance/creditLimit", {"cardId": "<std>", "maxAuthAmount": 5}, 400,
         "CARD_STATUS_INVALID"),
        ("sharebalance/apply", b"{not json", 400, "400"),
        ("sharebalance/apply", b"[1, 2]", 400, "400"),
    ],
)  # fmt: skip
async def test_write_errors_answer_with_their_business_code(
    make_api: ApiFactory, path: str, body: Any, status: int, code: str
) -> None:
    async with make_api() as api:
        if isinstance(body, dict):
            subst = {"<std>": standard_card(api), "<share>": share_card(api)}
            body = {k: subst.get(v, v) if isinstance(v, str) else v for k, v in body.items()}
        r = await api.post(f"/v1/orders/{path}", body)
    assert r.status_code == status, r.text
    assert r.json()["errorCode"] == code
    assert r.json()["hasError"] is True and r.json()["errorMessage"]


# -- the rest ------------------------------------------------------------------------------
async def test_unknown_route_and_wrong_method_answer_with_the_envelope(
    make_api: ApiFactory,
) -> None:
    async with make_api() as api:
        missing = await api.get("/v1/nothing-here")
        wrong = await api.client.delete("/v1/products", headers={"Authorization": "x"})
    assert missing.status_code == 404
    assert set(missing.json()) == ENVELOPE and missing.json()["errorCode"] == "404"
    assert wrong.status_code == 405 and wrong.json()["errorCode"] == "405"


async def test_admin_info_manifest_and_clock(make_api: ApiFactory) -> None:
    async with make_api(manifest={"scenario": "clean", "breaks": []}) as api:
        info = (await api.admin("GET", "/_sandbox/info")).json()
        assert info["dialect"] == "v2.0" and info["seed"] == 1 and info["size"] == "tiny"
        assert info["as_of"] == info["end"] == "2026-11-01T00:00:00.000Z"
        assert info["counts"]["transactions"] == len(api.world.txns)
        assert (await api.admin("GET", "/_sandbox/manifest")).json()["scenario"] == "clean"

        everything = await api.data("/v1/transactions", PageSize=100)
        r = await api.admin("POST", "/_sandbox/clock", {"as_of": "2026-10-12T00:00:00Z"})
        assert r.json() == {"as_of": "2026-10-12T00:00:00.000Z"}
        early = await api.data("/v1/transactions", PageSize=100)
        assert len(early) < len(everything)
        assert all(t["transactionTime"] <= "2026-10-12T00:00:00.000Z" for t in early)

        r = await api.admin("POST", "/_sandbox/clock", {"advance_seconds": 3600})
        assert r.json() == {"as_of": "2026-10-12T01:00:00.000Z"}
        for bad in (
            {},
            {"as_of": "soon"},
            {"advance_seconds": "x"},
            {"as_of": 1, "advance_seconds": 1},
        ):
            assert (await api.admin("POST", "/_sandbox/clock", bad)).status_code == 400
    async with make_api() as api:
        assert (await api.admin("GET", "/_sandbox/manifest")).status_code == 404
