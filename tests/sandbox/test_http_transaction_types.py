"""Over HTTP: v1.4 replies carry every transaction type of the reference by its own name;
v2.0 replies know only Purchase / Refund / TopUp and never carry an AuthQuery."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest

from sandbox.model import AUTH_QUERY, CONSUME_DISPUTE, DISPUTE_RELEASE, TXN_TYPE_V14

pytestmark = pytest.mark.anyio
ApiFactory = Any  # the ``make_api`` fixture (conftest.py)


async def all_v20_transactions(api: Any) -> list[dict[str, Any]]:
    items: list[dict[str, Any]] = []
    cursor: str | None = None
    while True:
        params: dict[str, Any] = {"PageSize": 100}
        if cursor is not None:
            params["PageCursor"] = cursor
        r = await api.get("/v1/transactions", **params)
        assert r.status_code == 200, r.text
        body = r.json()
        items += body["data"]
        if not body["pagination"]["hasMore"]:
            return items
        cursor = body["pagination"]["nextCursor"]


async def all_v14_transactions(api: Any) -> list[dict[str, Any]]:
    items: list[dict[str, Any]] = []
    params: dict[str, Any] = {
        "transactionDateFrom": "2026-10-01T00:00:00Z",
        "transactionDateTo": "2026-11-01T00:00:00Z",
        "pageSize": 100,
    }
    while True:
        data = await api.data("/v1/transactions", **params)
        items += data["data"]
        if data["pageCursor"] == "None":
            return items
        params["pageCursor"] = data["pageCursor"]


async def test_v14_replies_name_every_type_of_the_reference(make_api: ApiFactory) -> None:
    async with make_api("v1.4") as api:
        items = await all_v14_transactions(api)
        w = api.world
    assert {t["transactionType"] for t in items} == set(TXN_TYPE_V14) - {"TopUp"}
    by_id = {t["id"]: t for t in items}
    for r in np.flatnonzero(np.isin(w.txns.kind, [AUTH_QUERY, CONSUME_DISPUTE, DISPUTE_RELEASE])):
        assert by_id[w.txns.id[r]]["transactionType"] == TXN_TYPE_V14[int(w.txns.kind[r])]


async def test_v20_replies_carry_no_auth_query(make_api: ApiFactory) -> None:
    async with make_api("v2.0") as api:
        items = await all_v20_transactions(api)
        w = api.world
    auth_queries = {str(w.txns.id[r]) for r in np.flatnonzero(w.txns.kind == AUTH_QUERY)}
    assert auth_queries, "the world has verifications to keep out"
    served = {t["transactionId"] for t in items}
    assert served.isdisjoint(auth_queries)
    assert {t["transactionType"] for t in items} == {"Purchase", "Refund", "TopUp"}
    # everything else is served: each other transaction exactly once
    others = {str(w.txns.id[r]) for r in np.flatnonzero(w.txns.kind != AUTH_QUERY)}
    assert served == others
    assert len(items) == len(served)
