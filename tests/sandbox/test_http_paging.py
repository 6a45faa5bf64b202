"""Walking every page of a stream returns exactly the world's selection, each id once."""

from __future__ import annotations

import base64
from typing import Any

import numpy as np
import pytest

pytestmark = pytest.mark.anyio
ApiFactory = Any  # the ``make_api`` fixture (conftest.py)

V14_FROM, V14_TO = "2026-10-10T00:00:00", "2026-11-02T00:00:00Z"  # wider than the world
SIZE = 7  # small pages, many of them


async def walk_transactions(api: Any, size: int = SIZE, **filters: Any) -> list[str]:
    ids: list[str] = []
    cursor: str | None = None
    for _ in range(1000):
        if api.dialect == "v2.0":
            params = {"PageSize": size, **filters}
            if cursor is not None:
                params["PageCursor"] = cursor
            r = await api.get("/v1/transactions", **params)
            body = r.json()
            assert r.status_code == 200, body
            ids += [t["transactionId"] for t in body["data"]]
            page = body["pagination"]
            if not page["hasMore"]:
                assert page["nextCursor"] is None
                return ids
            cursor = page["nextCursor"]
        else:
            window = {"transactionDateFrom": V14_FROM, "transactionDateTo": V14_TO}
            params = {"pageSize": size, "pageCursor": cursor or "", **window, **filters}
            data = await api.data("/v1/transactions", **params)
            ids += [t["id"] for t in data["data"]]
            if data["pageCursor"] == "None":
                return ids
            assert data["pageCursor"] == data["data"][-1]["id"]
            cursor = data["pageCursor"]
    raise AssertionError("the walk never ended")


async def walk_numbered(api: Any, path: str, size: int = SIZE) -> list[str]:
    key = "accountLogId" if path.endswith("cardAccountLogs") else "id"
    ids: list[str] = []
    number = 1
    while True:
        if api.dialect == "v2.0":
            r = await api.get(path, PageNumber=number, PageSize=size)
            items, meta = r.json()["data"], r.json()["pagination"]
        else:
            meta = await api.data(path, pageIndex=number, pageSize=size)
            items = meta["items"]
        assert meta["totalPages"] == -(-meta["totalCount"] // size)
        ids += [x[key] for x in items]
        if number >= meta["totalPages"]:
            return ids
        number += 1


async def walk_offsets(api: Any, size: int = SIZE) -> list[str]:
    ids: list[str] = []
    offset = 0
    while True:
        r = await api.get("/v1/accounts/accountLogs", Limit=size, Offset=offset)
        body = r.json()
        ids += [x["id"] for x in body["data"]]
        offset += size
        if offset >= body["pagination"]["totalCount"]:
            return ids


def expect(table: Any, rows: np.ndarray) -> list[str]:
    return [str(table.id[r]) for r in rows]


@pytest.mark.parametrize("dialect", ["v2.0", "v1.4"])
async def test_walking_transactions_returns_the_selection_once(
    make_api: ApiFactory, dialect: str
) -> None:
    async with make_api(dialect) as api:
        ids = await walk_transactions(api)
        w = api.world
        rows = w.select_transactions(None, None, include_topups=dialect == "v2.0")
    assert len(rows) > 10 * SIZE
    assert ids == expect(w.txns, rows)
    assert len(set(ids)) == len(ids)


@pytest.mark.parametrize("dialect", ["v2.0", "v1.4"])
async def test_walking_filtered_transactions_in_exact_pages(
    make_api: ApiFactory, dialect: str
) -> None:
    async with make_api(dialect) as api:
        w = api.world
        card = str(w.cards.id[int(np.bincount(w.txns.card).argmax())])
        rows = w.select_transactions(None, None, card_id=card, include_topups=dialect == "v2.0")
        size = len(rows) // 3 if len(rows) % 3 == 0 else len(rows)  # full last page, no more
        key = "CardId" if dialect == "v2.0" else "cardId"
        ids = await walk_transactions(api, size=size, **{key: card})
    assert ids == expect(w.txns, rows)


@pytest.mark.parametrize("dialect", ["v2.0", "v1.4"])
async def test_walking_card_logs_returns_the_selection_once(
    make_api: ApiFactory, dialect: str
) -> None:
    async with make_api(dialect) as api:
        ids = await walk_numbered(api, "/v1/accounts/cardAccountLogs")
        rows = api.world.select_card_logs(None, None)
        assert ids == expect(api.world.card_logs, rows)
    assert len(set(ids)) == len(ids) > SIZE


@pytest.mark.parametrize("dialect", ["v2.0", "v1.4"])
async def test_walking_account_logs_returns_the_selection_once(
    make_api: ApiFactory, dialect: str
) -> None:
    async with make_api(dialect) as api:
        if dialect == "v2.0":
            ids = await walk_offsets(api)
        else:
            ids = await walk_numbered(api, "/v1/accounts/accountLogs")
        rows = api.world.select_account_logs(None, None)
        assert ids == expect(api.world.account_logs, rows)
    assert len(set(ids)) == len(ids) > 10 * SIZE


async def test_v14_last_page_cursor_is_the_string_none(make_api: ApiFactory) -> None:
    async with make_api("v1.4") as api:
        data = await api.data(
            "/v1/transactions", pageSize=100, transactionDateFrom="2026-10-30T00:00:00",
            transactionDateTo="2026-10-31T00:00:00",
        )  # fmt: skip
        empty = await api.data(
            "/v1/transactions", transactionDateFrom="2020-01-01T00:00:00",
            transactionDateTo="2020-01-02T00:00:00",
        )  # fmt: skip
    assert 0 < len(data["data"]) < 100
    assert data["pageCursor"] == "None"
    assert empty == {"pageCursor": "None", "pageSize": 20, "data": []}


async def test_v20_last_page_has_no_cursor(make_api: ApiFactory) -> None:
    async with make_api("v2.0") as api:
        r = await api.get("/v1/transactions", TransactionDateFrom="2020-01-01",
                          TransactionDateTo="2020-01-02")  # fmt: skip
    assert r.json()["data"] == []
    assert r.json()["pagination"] == {"pageSize": 20, "nextCursor": None, "hasMore": False}


async def next_transactions_page(api: Any, cursor: str | None) -> tuple[list[str], str | None]:
    """One page of 50 (whole world); the ids and the next cursor (None at the end)."""
    if api.dialect == "v2.0":
        params: dict[str, Any] = {"PageSize": 50}
        if cursor:
            params["PageCursor"] = cursor
        body = (await api.get("/v1/transactions", **params)).json()
        ids = [t["transactionId"] for t in body["data"]]
        return ids, body["pagination"]["nextCursor"]
    data = await api.data("/v1/transactions", pageSize=50, pageCursor=cursor or "",
                          transactionDateFrom=V14_FROM, transactionDateTo=V14_TO)  # fmt: skip
    ids = [t["id"] for t in data["data"]]
    return ids, None if data["pageCursor"] == "None" else data["pageCursor"]


@pytest.mark.parametrize("dialect", ["v2.0", "v1.4"])
async def test_rows_arriving_mid_walk_never_shift_the_pages(
    make_api: ApiFactory, dialect: str
) -> None:
    """A top-up posted *before* the cursor (clock moved back) leaves the rest of the walk as is."""
    topups = dialect == "v2.0"  # v2.0 shows the top-up as a TopUp transaction
    async with make_api(dialect) as api:
        w = api.world
        before = expect(w.txns, w.select_transactions(None, None, include_topups=topups))
        ids, cursor = await next_transactions_page(api, None)
        card = next(
            c for i, c in enumerate(w.cards.id)
            if w.card_view(i).model == "Standard" and w.card_view(i).status == "Active"
        )  # fmt: skip
        end = w.as_of
        await api.admin("POST", "/_sandbox/clock", {"as_of": "2026-10-11T06:00:00Z"})
        r = await api.post("/v1/orders/standard/topup", {"cardId": card, "amount": 5})
        assert r.status_code == 200, r.text
        w.set_clock(end)
        while cursor is not None:
            page, cursor = await next_transactions_page(api, cursor)
            ids += page
        after = expect(w.txns, w.select_transactions(None, None, include_topups=topups))
    assert len(after) == len(before) + topups
    if topups:  # the new row sits on the first page, ahead of the cursor
        assert after[1] not in before
    assert ids == before
    assert len(set(ids)) == len(ids)


@pytest.mark.parametrize(
    ("dialect", "cursor"),
    [
        ("v2.0", "%%%not-base64%%%"),
        ("v2.0", base64.urlsafe_b64encode(b"no-such-transaction").decode().rstrip("=")),
        ("v1.4", "no-such-transaction"),
        ("v1.4", "None"),
    ],
)
async def test_a_cursor_the_service_never_issued_is_a_bad_request(
    make_api: ApiFactory, dialect: str, cursor: str
) -> None:
    async with make_api(dialect) as api:
        if dialect == "v2.0":
            r = await api.get("/v1/transactions", PageCursor=cursor)
        else:
            r = await api.get("/v1/transactions", pageCursor=cursor,
                              transactionDateFrom=V14_FROM, transactionDateTo=V14_TO)  # fmt: skip
    assert r.status_code == 400
    assert r.json()["errorCode"] == "400" and "Cursor" in r.json()["errorMessage"]
