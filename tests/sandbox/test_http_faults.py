"""Injected faults: each kind at rate 1, the default mix, determinism, and bad specs."""

from __future__ import annotations

import time
from typing import Any

import orjson
import pytest

from sandbox.faults import FaultInjector, FaultSpec, parse_faults

ApiFactory = Any  # the ``make_api`` fixture (conftest.py)
V14_WINDOW = {"transactionDateFrom": "2026-10-01T00:00:00", "transactionDateTo": "2026-11-01"}


# -- parsing -----------------------------------------------------------------------------
def test_parse_faults_reads_every_key() -> None:
    spec = parse_faults(
        "500=0.1, 429=0.05,slow=0.02,malformed=0.01,html=0.01,repeat_item=0.01,"
        "repeat_cursor=0.01,revoke_after=50,retry_after=0,slow_seconds=0.5,seed=7"
    )
    assert spec == FaultSpec(
        error_500=0.1, error_429=0.05, slow=0.02, malformed=0.01, html=0.01, repeat_item=0.01,
        repeat_cursor=0.01, revoke_after=50, retry_after=0, slow_seconds=0.5, seed=7,
    )  # fmt: skip
    assert spec.as_dict()["500"] == 0.1 and spec.as_dict()["seed"] == 7


def test_a_spec_without_faults_means_the_default_reliability_mix() -> None:
    assert parse_faults("seed=7") == FaultSpec(
        error_500=0.10, error_429=0.05, slow=0.02, revoke_after=200, seed=7
    )
    assert parse_faults("seed=3,slow_seconds=0.1").slow == 0.02
    assert parse_faults("500=0.5") == FaultSpec(error_500=0.5)


@pytest.mark.parametrize(
    ("text", "needle"),
    [
        ("500=2", "from 0 to 1"),
        ("500=-0.1", "from 0 to 1"),
        ("500=nan", "finite"),
        ("500=abc", "must be a number"),
        ("nope=1", "unknown fault key 'nope'"),
        ("500", "not key=value"),
        ("slow=", "not key=value"),
        ("seed=1.5", "whole number"),
        ("revoke_after=0", ">= 1"),
        ("retry_after=-1", ">= 0"),
        ("slow_seconds=-1", ">= 0"),
        ("slow_seconds=inf", "finite"),
        ("500=0.6,429=0.6", "add up to 1.2"),
        ("500=0.1,500=0.2", "twice"),
    ],
)
def test_parse_faults_rejects_junk_with_a_clear_message(text: str, needle: str) -> None:
    with pytest.raises(ValueError, match=needle):
        parse_faults(text)


def test_draws_are_seeded_and_follow_the_rates() -> None:
    spec = parse_faults("500=0.3,429=0.2,seed=11")
    a, b = FaultInjector(spec), FaultInjector(spec)
    draws = [a.draw() for _ in range(2000)]
    assert draws == [b.draw() for _ in range(2000)]
    assert 0.25 < draws.count("500") / 2000 < 0.35
    assert 0.15 < draws.count("429") / 2000 < 0.25
    assert draws != [FaultInjector(parse_faults("500=0.3,429=0.2,seed=12")).draw()
                     for _ in range(2000)]  # fmt: skip


# -- each kind at rate 1 -------------------------------------------------------------------
@pytest.mark.anyio
@pytest.mark.parametrize("dialect", ["v2.0", "v1.4"])
async def test_500(make_api: ApiFactory, dialect: str) -> None:
    async with make_api(dialect, faults=FaultSpec(error_500=1.0)) as api:
        r = await api.get("/v1/accounts")
        # never the token endpoint, ping, writes or admin
        assert (await api.login()) is not None
        assert (await api.get("/v1/ping")).status_code == 200
        card = next(str(c) for i, c in enumerate(api.world.cards.id)
                    if api.world.card_view(i).model == "Standard"
                    and api.world.card_view(i).status == "Active")  # fmt: skip
        assert (await api.post("/v1/orders/standard/topup",
                               {"cardId": card, "amount": 1})).status_code == 200  # fmt: skip
        assert (await api.admin("GET", "/_sandbox/info")).json()["faults_fired"] == {"500": 1}
        log = api.log
    assert r.status_code == 500
    assert r.json()["errorCode"] == "500" and r.json()["hasError"] is True
    assert [e["fault"] for e in log] == [None, "500", None, None, None]


@pytest.mark.anyio
@pytest.mark.parametrize("retry_after", [1, 0])
async def test_429_says_when_to_retry(make_api: ApiFactory, retry_after: int) -> None:
    spec = FaultSpec(error_429=1.0, retry_after=retry_after)
    async with make_api(faults=spec) as api:
        r = await api.get("/v1/products")
        log = api.log
    assert r.status_code == 429
    assert r.headers["retry-after"] == str(retry_after)
    assert r.json()["errorCode"] == "429"
    assert log[-1]["fault"] == "429" and log[-1]["status"] == 429


@pytest.mark.anyio
async def test_slow_answers_late_but_right(make_api: ApiFactory) -> None:
    async with make_api(faults=FaultSpec(slow=1.0, slow_seconds=0.1)) as api:
        t0 = time.perf_counter()
        r = await api.get("/v1/accounts")
        elapsed = time.perf_counter() - t0
        log = api.log
    assert elapsed >= 0.1
    assert r.status_code == 200 and r.json()["hasError"] is False
    assert log[-1]["fault"] == "slow"


@pytest.mark.anyio
async def test_malformed_cuts_the_real_body_in_half(make_api: ApiFactory) -> None:
    async with make_api() as clean:
        real = (await clean.get("/v1/products")).content
    async with make_api(faults=FaultSpec(malformed=1.0)) as api:
        r = await api.get("/v1/products")
        log = api.log
    assert r.status_code == 200 and r.headers["content-type"] == "application/json"
    assert r.content == real[: len(real) // 2]
    with pytest.raises(orjson.JSONDecodeError):
        orjson.loads(r.content)
    assert log[-1]["fault"] == "malformed"


@pytest.mark.anyio
async def test_html_is_a_proxy_error_page_with_status_200(make_api: ApiFactory) -> None:
    async with make_api("v1.4", faults=FaultSpec(html=1.0)) as api:
        r = await api.get("/v1/transactions", **V14_WINDOW)
        log = api.log
    assert r.status_code == 200
    assert r.headers["content-type"].startswith("text/html")
    assert "<h1>502 Bad Gateway</h1>" in r.text
    assert log[-1]["fault"] == "html"


async def _txn_page(api: Any, cursor: str | None, size: int = 10) -> tuple[list[str], str | None]:
    if api.dialect == "v2.0":
        params: dict[str, Any] = {"PageSize": size}
        if cursor is not None:
            params["PageCursor"] = cursor
        body = (await api.get("/v1/transactions", **params)).json()
        return [t["transactionId"] for t in body["data"]], body["pagination"]["nextCursor"]
    params = {"pageSize": size, "pageCursor": cursor or "", **V14_WINDOW}
    data = await api.data("/v1/transactions", **params)
    return [t["id"] for t in data["data"]], data["pageCursor"]


@pytest.mark.anyio
@pytest.mark.parametrize("dialect", ["v2.0", "v1.4"])
async def test_repeat_item_on_cursor_pages_duplicates_without_a_gap(
    make_api: ApiFactory, dialect: str
) -> None:
    async with make_api(dialect) as clean:
        first, c1 = await _txn_page(clean, None)
        second, _ = await _txn_page(clean, c1)
    async with make_api(dialect, faults=FaultSpec(repeat_item=1.0)) as api:
        p1, cursor = await _txn_page(api, None)
        p2, cursor2 = await _txn_page(api, cursor)
        p3, _ = await _txn_page(api, cursor2)
        faults = [e["fault"] for e in api.log[1:]]
    assert p1 == first  # the first page is never touched
    assert len(p2) == 10 and p2[0] == p1[-1] and p2[1:] == second[:9]
    if dialect == "v2.0":
        assert cursor2 is not None and p3[0] == p2[-1]
    else:
        assert cursor2 == p2[-1] and p3[0] == p2[-1]
    assert p3[1] == second[9]  # nothing skipped: the next page continues after p2's last item
    assert faults == [None, "repeat_item", "repeat_item"]


@pytest.mark.anyio
@pytest.mark.parametrize(
    ("dialect", "path", "page1", "page2"),
    [
        ("v2.0", "/v1/accounts/cardAccountLogs", {"PageNumber": 1, "PageSize": 5},
         {"PageNumber": 2, "PageSize": 5}),
        ("v2.0", "/v1/accounts/accountLogs", {"Offset": 0, "Limit": 5}, {"Offset": 5, "Limit": 5}),
        ("v1.4", "/v1/accounts/cardAccountLogs", {"pageIndex": 1, "pageSize": 5},
         {"pageIndex": 2, "pageSize": 5}),
        ("v1.4", "/v1/accounts/accountLogs", {"pageIndex": 1, "pageSize": 5},
         {"pageIndex": 2, "pageSize": 5}),
    ],
)  # fmt: skip
async def test_repeat_item_on_numbered_pages_pushes_the_last_item_out(
    make_api: ApiFactory, dialect: str, path: str, page1: dict[str, int], page2: dict[str, int]
) -> None:
    key = "accountLogId" if path.endswith("cardAccountLogs") else "id"

    async def ten(api: Any) -> tuple[list[str], list[str]]:
        out = []
        for params in (page1, page2):
            data = await api.data(path, **params)
            out.append([x[key] for x in (data if dialect == "v2.0" else data["items"])])
        return out[0], out[1]

    async with make_api(dialect) as clean:
        real1, real2 = await ten(clean)
    async with make_api(dialect, faults=FaultSpec(repeat_item=1.0)) as api:
        got1, got2 = await ten(api)
    assert got1 == real1
    assert got2 == [real1[-1], *real2[:4]]  # real2[-1] silently missing
    assert real2[-1] not in got2


@pytest.mark.anyio
@pytest.mark.parametrize("dialect", ["v2.0", "v1.4"])
async def test_repeat_cursor_hands_back_the_cursor_it_was_given(
    make_api: ApiFactory, dialect: str
) -> None:
    async with make_api(dialect, faults=FaultSpec(repeat_cursor=1.0)) as api:
        _, cursor = await _txn_page(api, None)
        assert cursor not in (None, "None")
        _, again = await _txn_page(api, cursor)
        faults = [e["fault"] for e in api.log[1:]]
        if dialect == "v2.0":
            r = await api.get("/v1/transactions", PageCursor=cursor)
            assert r.json()["pagination"]["hasMore"] is True
    assert again == cursor
    assert faults == [None, "repeat_cursor"]


@pytest.mark.anyio
async def test_revoke_after_revokes_every_token_once(make_api: ApiFactory) -> None:
    async with make_api(faults=FaultSpec(revoke_after=3)) as api:
        old = api.token
        statuses = [(await api.get("/v1/products")).status_code for _ in range(4)]
        assert (await api.get("/v1/ping")).status_code == 401  # the old token is gone
        new = await api.login()
        statuses += [(await api.get("/v1/products")).status_code for _ in range(10)]
        log = api.log
    assert old != new
    assert statuses == [200, 200, 200, 401] + [200] * 10
    revoked = [e for e in log if e["fault"] == "revoke_after"]
    assert len(revoked) == 1 and revoked[0]["status"] == 401


@pytest.mark.anyio
async def test_the_default_mix_is_deterministic_per_seed(make_api: ApiFactory) -> None:
    spec = parse_faults("seed=7,slow_seconds=0")

    async def run() -> list[tuple[int, str | None]]:
        async with make_api(faults=spec) as api:
            out = []
            for _ in range(60):
                r = await api.get("/v1/accounts")
                if r.status_code == 401:
                    await api.login()
                out.append((r.status_code, api.log[-1]["fault"]))
            return out

    first, second = await run(), await run()
    assert first == second
    kinds = {fault for _, fault in first}
    assert {"500", None} <= kinds
    assert all(status == {"500": 500, "429": 429}.get(str(f), 200) for status, f in first)
