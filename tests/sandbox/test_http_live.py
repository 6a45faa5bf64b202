"""``shapes="live"``: the sandbox serves every quirk of the live service's own examples.

Each test reads the same world through a spec-shaped app and a live-shaped app (both
v1.4) and compares: the live reply must carry the quirk on every value it applies to,
and still say exactly what the spec reply says.
"""

from __future__ import annotations

import json
import re
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

import pytest

from sandbox.app import create_app
from sandbox.faults import FaultSpec
from sandbox.live import LIVE
from sandbox.world import World

pytestmark = pytest.mark.anyio
ApiFactory = Any  # the ``make_api`` fixture (conftest.py)

V14 = "v1.4"
WINDOW = {
    "transactionDateFrom": "2026-08-01T00:00:00Z",
    "transactionDateTo": "2026-11-01T00:00:00Z",
}
LIVE_TIME = re.compile(
    r"(\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2}):(\d{2})\.(\d{7})([+-])(\d{2}):(\d{2})"
)
TIME_FIELDS = {
    "authTime", "settleTime", "transTime", "completedTime", "applyTime", "createdOn",
    "completedOn", "modifiedOn", "paidOn",
}  # fmt: skip
ALIASES = {"CardTopUp": "TopUpCard", "CreditLimit": "ModifyCreditLimit"}


def parse(body: bytes) -> Any:
    """JSON with exact numbers: ints stay int, decimals become Decimal."""
    return json.loads(body, parse_float=Decimal)


def live_instant(text: str) -> tuple[datetime, int]:
    """A live time as (UTC instant to the microsecond, the 100 ns ticks below it)."""
    m = LIVE_TIME.fullmatch(text)
    assert m is not None, f"not a .NET time with 7 digits and an offset: {text!r}"
    y, mo, d, h, mi, s = (int(m.group(i)) for i in range(1, 7))
    frac, sign, oh, om = m.group(7), m.group(8), int(m.group(9)), int(m.group(10))
    offset = timedelta(hours=oh, minutes=om) * (1 if sign == "+" else -1)
    assert offset != timedelta(0), f"the offset of {text!r} is Z in disguise"
    local = datetime(y, mo, d, h, mi, s, int(frac[:6]), tzinfo=UTC)
    return local - offset, int(frac[6])


def spec_instant(text: str) -> datetime:
    assert text.endswith("Z")
    return datetime.fromisoformat(text).astimezone(UTC)


def nulls(node: Any, path: str = "data") -> list[str]:
    if isinstance(node, dict):
        out = [f"{path}.{k}" for k, v in node.items() if v is None]
        for k, v in node.items():
            out += nulls(v, f"{path}.{k}")
        return out
    if isinstance(node, list):
        return [p for i, v in enumerate(node) for p in nulls(v, f"{path}[{i}]")]
    return []


def same_values(spec: Any, live: Any, path: str = "") -> None:
    """Every non-null spec value is in the live reply, the same (times: the same instant)."""
    if isinstance(spec, dict):
        assert isinstance(live, dict), path
        for k, v in spec.items():
            if v is None:
                assert k not in live, f"{path}.{k} is null in spec and must be absent in live"
                continue
            assert k in live, f"{path}.{k} is missing in live"
            same_values(v, live[k], f"{path}.{k}")
    elif isinstance(spec, list):
        assert isinstance(live, list) and len(live) == len(spec), path
        for i, (a, b) in enumerate(zip(spec, live, strict=True)):
            same_values(a, b, f"{path}[{i}]")
    elif isinstance(spec, str) and path.rsplit(".", 1)[-1] in TIME_FIELDS:
        instant, ticks = live_instant(live)
        assert instant == spec_instant(spec) and ticks == 0, (path, spec, live)
    elif isinstance(spec, Decimal | int) and not isinstance(spec, bool):
        assert isinstance(live, Decimal | int) and not isinstance(live, bool), path
        assert Decimal(live) == Decimal(spec), (path, spec, live)
        if Decimal(spec) == Decimal(spec).to_integral_value():
            assert isinstance(live, int), f"{path}: whole amount {live!r} is not an integer"
    else:
        assert live == spec, (path, spec, live)


async def get(api: Any, path: str, **params: Any) -> Any:
    r = await api.get(path, **params)
    assert r.status_code == 200, r.text
    return parse(r.content)


def world() -> World:
    return World.create(seed=1, size="tiny", end=datetime(2026, 11, 1, tzinfo=UTC))


# -- the option -----------------------------------------------------------------------
def test_live_shapes_are_v14_only_and_documented_is_the_default() -> None:
    with pytest.raises(ValueError, match=r"shapes='live'.*v1\.4"):
        create_app(world(), dialect="v2.0", shapes=LIVE)
    with pytest.raises(ValueError, match="unknown shapes"):
        create_app(world(), dialect=V14, shapes="ancient")
    assert create_app(world(), dialect=V14).state.sandbox.shapes == "documented"


@pytest.mark.parametrize("name", ["documented", "spec"])  # "spec": the older name
def test_documented_shapes_go_by_both_names(name: str) -> None:
    assert create_app(world(), dialect=V14, shapes=name).state.sandbox.shapes == "documented"


async def test_spec_shapes_are_unchanged(make_api: ApiFactory) -> None:
    async with make_api(V14) as api:
        ping = await get(api, "/v1/ping")
        page = await get(api, "/v1/accounts/accountLogs", pageIndex=2, pageSize=5)
    assert ping["data"] == "Ping Success" and ping["errorMessage"] is None
    assert set(page["data"]) == {"pageIndex", "pageSize", "totalCount", "totalPages", "items"}
    assert "riskLevel" not in page["data"]["items"][0]
    assert page["data"]["items"][0]["transTime"].endswith("Z")


# -- envelope and ping ----------------------------------------------------------------
async def test_ping_is_the_bare_string(make_api: ApiFactory) -> None:
    async with make_api(V14, shapes=LIVE) as api:
        r = await api.get("/v1/ping")
    assert r.status_code == 200 and r.json() == "Ping Success"


async def test_success_envelope_carries_the_references_texts(make_api: ApiFactory) -> None:
    async with make_api(V14, shapes=LIVE) as api:
        card_id = api.world.cards.id[0]
        bodies = {
            "/v1/products": await get(api, "/v1/products"),
            "/v1/accounts": await get(api, "/v1/accounts"),
            "/v1/transactions": await get(api, "/v1/transactions", **WINDOW),
            "/v1/cards": await get(api, f"/v1/cards/{card_id}"),
        }
        missing = await api.get("/v1/cards/000000000000000000000000")
    for path, body in bodies.items():
        assert body["hasError"] is False and body["errorCode"] is None, path
        assert body["errorMessage"] == ("查询成功" if path == "/v1/cards" else "操作成功"), path
        assert set(body) == {"responseId", "hasError", "errorCode", "errorMessage", "data"}
    error = missing.json()
    assert missing.status_code == 404 and error["hasError"] is True
    assert error["errorCode"] == "CARD_NOT_FOUND"


# -- items: times, numbers, nulls, unknown fields --------------------------------------
async def read_both(make_api: ApiFactory, path: str, **params: Any) -> tuple[Any, Any]:
    async with make_api(V14, world=world()) as spec_api:
        spec = await get(spec_api, path, **params)
    async with make_api(V14, world=world(), shapes=LIVE) as live_api:
        live = await get(live_api, path, **params)
    return spec["data"], live["data"]


@pytest.mark.parametrize(
    ("path", "params", "items"),
    [
        ("/v1/transactions", {**WINDOW, "pageSize": 100}, "data"),
        ("/v1/accounts/cardAccountLogs", {"pageIndex": 1, "pageSize": 100}, "data"),
        ("/v1/accounts/accountLogs", {"pageIndex": 1, "pageSize": 100}, "items"),
        ("/v1/accounts/accountLogs", {"pageIndex": 2, "pageSize": 100}, "data"),
    ],
)
async def test_every_item_has_net_times_integers_no_nulls_and_unknown_fields(
    make_api: ApiFactory, path: str, params: dict[str, Any], items: str
) -> None:
    spec_page, live_page = await read_both(make_api, path, **params)
    spec_items = spec_page["data" if path == "/v1/transactions" else "items"]
    live_items = live_page[items]
    assert len(live_items) == len(spec_items) >= 10
    assert nulls(live_page) == []
    assert any(nulls(x) for x in spec_items)  # there were nulls to drop
    offsets, times, whole = set(), 0, 0
    for spec, live in zip(spec_items, live_items, strict=True):
        same_values(spec, live)
        assert live["riskLevel"] in ("low", "medium", "high")
        card_info = live.get("cardInfo")
        if card_info is not None:
            assert card_info["cardBin"] == card_info["maskedCardNumber"][:6]
        for name in TIME_FIELDS & set(live):
            offsets.add(live[name][-6:])
            times += 1
        amount = live.get("transAmount")
        amount = amount["amount"] if isinstance(amount, dict) else amount
        whole += isinstance(amount, int)
    assert offsets == {"+08:00", "-05:00"}, "both offsets are served"
    assert times >= len(live_items) and whole > 0


async def test_card_and_products_and_accounts(make_api: ApiFactory) -> None:
    w = world()
    cancelled = next(i for i in range(len(w.cards)) if w.card_view(i).status == "Cancelled")
    card_id = w.cards.id[cancelled]
    for path in (f"/v1/cards/{card_id}", "/v1/products", "/v1/accounts"):
        spec, live = await read_both(make_api, path)
        same_values(spec, live)
        assert nulls(live) == []
        if path == "/v1/products":
            assert all(p["productType"] == "Virtual" for p in live)
            assert all(c["binRegion"] == "US" for p in live for c in p["cardBinConfigs"])
        elif path == "/v1/accounts":
            assert all(set(x) == {"currency", "amount", "accountType"} for x in live)
        else:
            assert live["status"] == "Cancel"
            assert live["cardBin"] == live["cardNumber"][:6]
            assert set(live) - set(spec) == {"riskLevel", "cardBin", "threeDSecure"}
            assert "maxCreditAmount" not in live or spec["maxCreditAmount"] is not None


async def test_a_page_read_twice_is_the_same(make_api: ApiFactory) -> None:
    async with make_api(V14, shapes=LIVE) as api:
        a = await get(api, "/v1/transactions", **WINDOW, pageSize=50)
        b = await get(api, "/v1/transactions", **WINDOW, pageSize=50)
    assert a["data"] == b["data"] and a["responseId"] != b["responseId"]


# -- pages -------------------------------------------------------------------------------
async def walk(api: Any, path: str, size: int, **params: Any) -> list[dict[str, Any]]:
    pages, number = [], 1
    while True:
        data = (await get(api, path, pageIndex=number, pageSize=size, **params))["data"]
        pages.append(data)
        items = data["items"] if "items" in data else data["data"]
        if not items:
            return pages
        number += 1


async def test_card_logs_serve_the_older_page_and_account_logs_alternate(
    make_api: ApiFactory,
) -> None:
    async with make_api(V14, shapes=LIVE) as api:
        w = api.world
        card_pages = await walk(api, "/v1/accounts/cardAccountLogs", 7)
        account_pages = await walk(api, "/v1/accounts/accountLogs", 9)
        want_card = [w.card_logs.id[r] for r in w.select_card_logs(None, None)]
        want_account = [w.account_logs.id[r] for r in w.select_account_logs(None, None)]
    assert len(card_pages) > 3 and len(account_pages) > 3
    got = []
    for page in card_pages:
        odd = page["pageIndex"] % 2 == 1
        keys = {"pageIndex", "pageSize", "totalRecords", "data"} | (
            {"totalPages"} if odd else set()
        )
        assert set(page) == keys, page["pageIndex"]
        assert page["totalRecords"] == len(want_card)
        if odd:
            assert page["totalPages"] == -(-len(want_card) // 7)
        got += [x["accountLogId"] for x in page["data"]]
    assert got == want_card
    got = []
    for page in account_pages:
        if page["pageIndex"] % 2 == 1:
            assert set(page) == {"pageIndex", "pageSize", "totalCount", "totalPages", "items"}
            assert page["totalCount"] == len(want_account)
            assert page["totalPages"] == -(-len(want_account) // 9)
            got += [x["id"] for x in page["items"]]
        else:
            assert set(page) == {"pageIndex", "pageSize", "totalRecords", "data"}
            assert page["totalRecords"] == len(want_account)
            got += [x["id"] for x in page["data"]]
    assert got == want_account


async def test_pascal_case_query_names_work_in_live_shapes(make_api: ApiFactory) -> None:
    pascal = {
        "PageIndex": 2,
        "PageSize": 5,
        "TransactionDateFrom": "2026-09-01T00:00:00Z",
        "TransactionDateTo": "2026-10-15T00:00:00Z",
    }
    camel = {k[0].lower() + k[1:]: v for k, v in pascal.items()}
    async with make_api(V14, shapes=LIVE) as api:
        by_pascal = await get(api, "/v1/accounts/accountLogs", **pascal)
        by_camel = await get(api, "/v1/accounts/accountLogs", **camel)
        w = api.world
        rows = w.select_account_logs(
            int(datetime(2026, 9, 1, tzinfo=UTC).timestamp() * 1000),
            int(datetime(2026, 10, 15, tzinfo=UTC).timestamp() * 1000),
        )
        txns = await get(api, "/v1/transactions", CardId=w.cards.id[0],
                         TransactionDateFrom=WINDOW["transactionDateFrom"],
                         TransactionDateTo=WINDOW["transactionDateTo"])  # fmt: skip
    assert by_pascal["data"] == by_camel["data"]
    assert by_pascal["data"]["pageIndex"] == 2 and by_pascal["data"]["pageSize"] == 5
    assert [x["id"] for x in by_pascal["data"]["data"]] == [
        w.account_logs.id[r] for r in rows[5:10]
    ]
    assert by_pascal["data"]["totalRecords"] == len(rows)
    assert {t["cardInfo"]["cardId"] for t in txns["data"]["data"]} <= {w.cards.id[0]}
    async with make_api(V14) as api:  # spec shapes keep their case-sensitive names
        spec = await get(api, "/v1/accounts/accountLogs", **pascal)
    assert spec["data"]["pageIndex"] == 1


# -- orders ------------------------------------------------------------------------------
async def query_order(api: Any, o: Any, order_type: str | None = None) -> Any:
    path = "/v1/orders/standard" if o.model == "Standard" else "/v1/orders/sharebalance"
    return await get(api, path, OrderType=order_type or o.order_type, OrderNo=o.order_no)


async def test_every_order_speaks_the_aliases_and_carries_order_lines(
    make_api: ApiFactory,
) -> None:
    async with (
        make_api(V14, world=world()) as spec_api,
        make_api(V14, world=world(), shapes=LIVE) as api,
    ):
        orders = list(api.world.orders.values())
        kinds = {o.order_type for o in orders}
        assert {"CardTopUp", "ApplyCard"} <= kinds and any(o.failed for o in orders)
        for o in orders:
            spec = (await query_order(spec_api, o))["data"]
            live = (await query_order(api, o))["data"]
            assert live["orderType"] == ALIASES.get(o.order_type, o.order_type), o.order_no
            assert live["status"] == ("Failure" if o.failed else spec["status"]), o.order_no
            assert nulls(live) == []
            check_order_lines(o, live)
            # everything a reader needs today is still there, the same
            spec = {k: v for k, v in spec.items() if k not in ("orderType", "status")}
            same_values({k: v for k, v in spec.items() if k != "orderLines"}, live)
            for spec_line, live_line in zip(
                spec.get("orderLines") or [], live["orderLines"], strict=False
            ):
                same_values(spec_line, live_line)
        # the aliases are accepted as OrderType as well
        top_up = next(o for o in orders if o.order_type == "CardTopUp")
        by_alias = (await query_order(api, top_up, "TopUpCard"))["data"]
        assert by_alias["orderNo"] == top_up.order_no


def check_order_lines(o: Any, live: dict[str, Any]) -> None:
    (line,) = live["orderLines"]
    fee_items = [(f["feeType"], int(Decimal(f["amount"]) * 100)) for f in line["feeItems"]]
    assert fee_items == list(o.fee_items), o.order_no
    assert all(f["currency"] == o.currency for f in line["feeItems"])
    if o.total_cents is None:
        assert "totalPayAmount" not in line
    else:
        assert Decimal(line["totalPayAmount"]) * 100 == o.total_cents
    assert line["payMessage"] == ("支付失败" if o.failed else "支付成功")
    if o.failed:
        assert "paidOn" not in line and "paidOn" not in live
    else:
        assert live_instant(line["paidOn"]) == live_instant(live["paidOn"])
    if o.order_type != "ApplyCard" or live["status"] == "Completed":
        assert line["cardInfo"]["cardId"] == live.get("cardId", line["cardInfo"]["cardId"])
        assert line["cardInfo"]["cardBin"] == line["cardInfo"]["maskCardNumber"][:6]
    assert live_instant(live["modifiedOn"])[0] >= live_instant(live["createdOn"])[0]


async def test_write_replies_speak_the_aliases_too(make_api: ApiFactory) -> None:
    async with make_api(V14, shapes=LIVE) as api:
        w = api.world
        share = next(
            cid for i, cid in enumerate(w.cards.id)
            if w.card_view(i).model == "ShareBalance" and w.card_view(i).status == "Active"
        )  # fmt: skip
        standard = next(
            cid for i, cid in enumerate(w.cards.id)
            if w.card_view(i).model == "Standard" and w.card_view(i).status == "Active"
        )  # fmt: skip
        r = await api.post(
            "/v1/orders/sharebalance/creditLimit",
            {"cardId": share, "maxAuthAmount": 300, "customerOrderNo": "L-1"},
        )
        limit = parse(r.content)
        r = await api.post("/v1/orders/standard/topup", {"cardId": standard, "amount": 25})
        top_up = parse(r.content)
        r = await api.post(
            "/v1/orders/standard/apply",
            {"productCode": "0BN03HNK", "cardCurrency": "USD", "topUpAmount": 50},
        )
        apply = parse(r.content)
        queried = await get(
            api, "/v1/orders/sharebalance", OrderType="CreditLimit", CustomerOrderNo="L-1"
        )
    assert limit["data"]["orderType"] == "ModifyCreditLimit"
    assert Decimal(limit["data"]["maxAuthAmount"]) == 300
    assert isinstance(limit["data"]["maxAuthAmount"], int)
    assert queried["data"]["orderType"] == "ModifyCreditLimit"
    assert top_up["data"]["orderType"] == "TopUpCard" and top_up["errorMessage"] == "操作成功"
    (line,) = top_up["data"]["orderLines"]
    assert line["totalPayAmount"] == Decimal(top_up["data"]["totalPayAmount"])
    assert line["payMessage"] == "支付成功" and "paidOn" in line
    assert apply["errorMessage"] == "开卡成功", apply
    assert apply["data"]["orderType"] == "ApplyCard"


async def test_item_faults_survive_the_rewrite(make_api: ApiFactory) -> None:
    spec = FaultSpec(schema_break=1.0)
    async with make_api(V14, shapes=LIVE, faults=spec) as api:
        page = await get(api, "/v1/transactions", **WINDOW)
    items = page["data"]["data"]
    assert items and all("authAmount" not in t for t in items)
    assert all("riskLevel" in t for t in items)
