"""The service's limits: page sizes, date windows, required and malformed parameters."""

from __future__ import annotations

from datetime import UTC, date, datetime
from typing import Any

import pytest

from sandbox.app import add_months
from sandbox.model import ms_to_iso

pytestmark = pytest.mark.anyio
ApiFactory = Any  # the ``make_api`` fixture (conftest.py)

TXN = "/v1/transactions"
CARD_LOGS = "/v1/accounts/cardAccountLogs"
ACCOUNT_LOGS = "/v1/accounts/accountLogs"
V14_WINDOW = {"transactionDateFrom": "2026-10-01T00:00:00", "transactionDateTo": "2026-11-01"}


@pytest.mark.parametrize(
    ("dialect", "path", "params", "needle"),
    [
        # page sizes
        ("v2.0", TXN, {"PageSize": 101}, "PageSize must be between 1 and 100"),
        ("v2.0", TXN, {"PageSize": 0}, "PageSize"),
        ("v2.0", TXN, {"PageSize": "ten"}, "whole number"),
        ("v2.0", CARD_LOGS, {"PageSize": 101}, "PageSize"),
        ("v2.0", CARD_LOGS, {"PageNumber": 0}, "PageNumber"),
        ("v2.0", ACCOUNT_LOGS, {"Limit": 101}, "Limit"),
        ("v2.0", ACCOUNT_LOGS, {"Offset": -1}, "Offset"),
        ("v1.4", TXN, {"pageSize": 101, **V14_WINDOW}, "pageSize must be between 1 and 100"),
        ("v1.4", CARD_LOGS, {"pageSize": 101}, "pageSize"),
        ("v1.4", CARD_LOGS, {"pageIndex": 0}, "pageIndex must be at least 1"),
        ("v1.4", ACCOUNT_LOGS, {"pageIndex": -2}, "pageIndex"),
        ("v1.4", ACCOUNT_LOGS, {"pageSize": 1.5}, "pageSize"),
        # date windows
        ("v2.0", TXN, {"TransactionDateFrom": "2026-01-01", "TransactionDateTo": "2026-04-02"},
         "3 months"),
        ("v2.0", CARD_LOGS, {"TransactionDateFrom": "2025-11-30",
                             "TransactionDateTo": "2026-03-01"}, "3 months"),
        ("v2.0", ACCOUNT_LOGS, {"TransactionDateFrom": "2026-10-02",
                                "TransactionDateTo": "2026-10-01"}, "before"),
        ("v2.0", TXN, {"TransactionDateFrom": "2026-13-01"}, "YYYY-MM-DD"),
        ("v2.0", TXN, {"TransactionDateTo": "yesterday"}, "YYYY-MM-DD"),
        ("v2.0", TXN, {"TransactionDateFrom": "2026-10-01T00:00:00"}, "YYYY-MM-DD"),
        ("v1.4", TXN, {"transactionDateFrom": "2026-01-01T00:00:00Z",
                       "transactionDateTo": "2026-04-01T00:00:00.001Z"}, "3 months"),
        ("v1.4", CARD_LOGS, {"transactionDateFrom": "2026-10-02T00:00:00",
                             "transactionDateTo": "2026-10-01T23:59:59"}, "before"),
        ("v1.4", ACCOUNT_LOGS, {"transactionDateFrom": "2026-10-02 25:00"}, "ISO date-time"),
        ("v1.4", TXN, {"transactionDateFrom": "last week",
                       "transactionDateTo": "2026-10-01T00:00:00"}, "ISO date-time"),
        # required parameters and choices
        ("v1.4", TXN, {}, "transactionDateFrom and transactionDateTo are required"),
        ("v1.4", TXN, {"transactionDateFrom": "2026-10-01T00:00:00"}, "transactionDateTo is"),
        ("v2.0", TXN, {"TransactionStatus": "Settled"}, "Pending, Success, Failed"),
        ("v1.4", TXN, {"transactionStatus": "Success", **V14_WINDOW}, "AuthSuccess"),
        ("v2.0", "/v1/orders/standard", {}, "OrderNo or CustomerOrderNo"),
        ("v1.4", "/v1/orders/sharebalance", {"OrderType": "ApplyCard"}, "OrderNo"),
        ("v1.4", "/v1/orders/standard", {"OrderNo": "C1000-X"}, "OrderType is required"),
    ],
)  # fmt: skip
async def test_out_of_limits_is_a_bad_request_that_says_why(
    make_api: ApiFactory, dialect: str, path: str, params: dict[str, Any], needle: str
) -> None:
    async with make_api(dialect) as api:
        r = await api.get(path, **params)
    body = r.json()
    assert r.status_code == 400, body
    assert body["hasError"] is True and body["errorCode"] == "400" and body["data"] is None
    assert needle in body["errorMessage"]


@pytest.mark.parametrize(
    ("dialect", "path", "params"),
    [
        ("v2.0", TXN, {"PageSize": 100, "TransactionDateFrom": "2026-01-01",
                       "TransactionDateTo": "2026-04-01"}),
        ("v2.0", CARD_LOGS, {"TransactionDateFrom": "2025-11-30",
                             "TransactionDateTo": "2026-02-28"}),
        ("v2.0", ACCOUNT_LOGS, {"Limit": 1, "TransactionDateFrom": "2026-10-01",
                                "TransactionDateTo": "2026-10-01"}),
        ("v1.4", TXN, {"pageSize": 100, "transactionDateFrom": "2026-01-01T00:00:00Z",
                       "transactionDateTo": "2026-04-01T00:00:00Z"}),
        ("v1.4", TXN, {"transactionDateFrom": "2026-10-01T08:00:00+08:00",
                       "transactionDateTo": "2026-10-01T00:00:00Z"}),
        ("v1.4", ACCOUNT_LOGS, {"pageIndex": 1, "pageSize": 100}),
    ],
)  # fmt: skip
async def test_at_the_limits_is_fine(
    make_api: ApiFactory, dialect: str, path: str, params: dict[str, Any]
) -> None:
    async with make_api(dialect) as api:
        r = await api.get(path, **params)
    assert r.status_code == 200, r.text


def test_three_calendar_months_clamp_to_the_month_end() -> None:
    assert add_months(date(2025, 11, 30), 3) == date(2026, 2, 28)
    assert add_months(date(2024, 11, 30), 3) == date(2025, 2, 28)
    assert add_months(date(2023, 11, 30), 3) == date(2024, 2, 29)
    t = datetime(2026, 10, 31, 12, 30, tzinfo=UTC)
    assert add_months(t, 3) == datetime(2027, 1, 31, 12, 30, tzinfo=UTC)


async def test_v14_window_ends_are_inclusive_to_the_millisecond(make_api: ApiFactory) -> None:
    async with make_api("v1.4") as api:
        w = api.world
        r = int(w.select_transactions(None, None)[40])
        t = w.txns.auth_at[r]
        at = ms_to_iso(int(t))
        data = await api.data(TXN, transactionDateFrom=at, transactionDateTo=at)
        assert str(w.txns.id[r]) in [x["id"] for x in data["data"]]
        just_before = ms_to_iso(int(t) - 1)
        data = await api.data(TXN, transactionDateFrom=just_before, transactionDateTo=just_before)
        assert str(w.txns.id[r]) not in [x["id"] for x in data["data"]]
