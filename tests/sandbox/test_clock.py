"""The service's clock: one ``Date`` header, a clock that follows wall time with a skew,
and a busy account whose entries appear as that clock passes them."""

from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from email.utils import parsedate_to_datetime
from typing import Any

import httpx
import numpy as np
import pytest
from support.oracle import reconcile, served_books

from sandbox.app import create_app
from sandbox.live import LIVE, http_date
from sandbox.model import ms_to_iso
from sandbox.server import serve_in_thread
from sandbox.world import World

ApiFactory = Any  # the ``make_api`` fixture (conftest.py)
END = datetime(2026, 11, 1, tzinfo=UTC)
END_MS = int(END.timestamp() * 1000)
CREDENTIALS = {
    "grant_type": "client_credentials",
    "client_id": "sandbox",
    "client_secret": "sandbox-secret",
    "scope": "openapi",
}


def tiny(end: datetime = END) -> World:
    return World.create(seed=2, size="tiny", end=end)


def date_of(r: httpx.Response) -> datetime:
    (value,) = r.headers.get_list("date")
    return parsedate_to_datetime(value)


def wall_ms() -> int:
    return time.time_ns() // 1_000_000


# -- the Date header ----------------------------------------------------------------------
def test_every_reply_over_the_socket_has_exactly_one_date_the_worlds_clock() -> None:
    app = create_app(tiny(), dialect="v1.4")
    with serve_in_thread(app) as base, httpx.Client(base_url=base) as client:
        token = client.post("/connect/token", data=CREDENTIALS)
        auth = {"Authorization": f"Bearer {token.json()['access_token']}"}
        replies = [
            token,
            client.get("/v1/accounts", headers=auth),
            client.get("/v1/ping", headers=auth),
            client.get("/v1/accounts", headers={"Authorization": "Bearer nope"}),
            client.get("/v1/nowhere", headers=auth),
        ]
    for r in replies:
        assert len(r.headers.get_list("date")) == 1, (r.url, r.headers)
        assert r.headers["date"] == "Sun, 01 Nov 2026 00:00:00 GMT"
    assert [r.status_code for r in replies] == [200, 200, 200, 401, 404]


def test_http_date_is_rfc_7231_to_the_second() -> None:
    assert http_date(784111777999) == "Sun, 06 Nov 1994 08:49:37 GMT"
    assert http_date(END_MS + 1999) == "Sun, 01 Nov 2026 00:00:01 GMT"


@pytest.mark.anyio
async def test_the_date_follows_the_clock_the_reply_was_made_at(make_api: ApiFactory) -> None:
    async with make_api("v1.4", world=tiny()) as api:
        await api.admin("POST", "/_sandbox/clock", {"as_of": "2026-10-20T10:11:12.999Z"})
        r = await api.get("/v1/accounts")
    assert date_of(r) == datetime(2026, 10, 20, 10, 11, 12, tzinfo=UTC)


# -- a live clock with a skew -------------------------------------------------------------
@pytest.mark.anyio
@pytest.mark.parametrize("skew", [-3.0, 3.0])
@pytest.mark.parametrize("shapes", ["spec", LIVE])
async def test_a_skewed_live_clock_shows_in_the_date_and_the_world(
    make_api: ApiFactory, skew: float, shapes: str
) -> None:
    world = tiny(end=datetime.now(UTC).replace(microsecond=0) - timedelta(hours=1))
    async with make_api("v1.4", world=world, live_clock=True, clock_skew_seconds=skew,
                        shapes=shapes) as api:  # fmt: skip
        before = wall_ms()
        r = await api.get("/v1/accounts")
        after = wall_ms()
        as_of = api.world.as_of
    skew_ms = round(skew * 1000)
    assert before + skew_ms <= as_of <= after + skew_ms
    stamp = int(date_of(r).timestamp() * 1000)
    assert stamp == as_of - as_of % 1000
    # ours and theirs differ by the skew, give or take the header's second
    assert abs((stamp - before) - skew_ms) <= 1000 + (after - before)


@pytest.mark.anyio
async def test_a_live_clock_never_goes_backwards(make_api: ApiFactory) -> None:
    world = tiny(end=datetime.now(UTC).replace(microsecond=0) - timedelta(hours=1))
    async with make_api("v1.4", world=world, live_clock=True, clock_skew_seconds=-3) as api:
        ahead = datetime.now(UTC) + timedelta(hours=2)
        await api.admin("POST", "/_sandbox/clock", {"as_of": ahead.isoformat()})
        r = await api.get("/v1/accounts")
    assert date_of(r) == ahead.replace(microsecond=0)


def test_a_skew_needs_a_live_clock() -> None:
    with pytest.raises(ValueError, match="live_clock"):
        create_app(tiny(), dialect="v1.4", clock_skew_seconds=3)


# -- a busy account -----------------------------------------------------------------------
def busy_world(start_offset_ms: int = -2_000, seconds: float = 10) -> tuple[World, int]:
    world = tiny()
    n = world.add_busy_entries(END_MS + start_offset_ms, seconds)
    return world, n


def test_busy_entries_are_account_level_every_half_second_and_straddle_seconds() -> None:
    world, n = busy_world(0, 20)
    a = world.account_logs
    sel = np.flatnonzero(a.trans_at >= END_MS)
    assert len(sel) == n >= 40
    assert set(a.kind[sel].tolist()) == {0, 2}  # AccountTopUp, AccountFee
    assert (a.card[sel] == -1).all() and (a.currency[sel] == "USD").all()
    gaps = np.diff(a.trans_at[sel])
    assert (gaps >= 0).all() and gaps.max() <= 625 and np.median(gaps) <= 500
    seconds = a.trans_at[sel] // 1000
    assert np.bincount(seconds - seconds.min()).max() >= 2  # several in one second
    ms = a.trans_at[sel] % 1000
    straddles = [(ms[i] >= 990) and (ms[i + 1] < 10) for i in range(n - 1)]
    assert sum(straddles) >= 5
    # the chain is exact, the ledger in (time, id) order
    for cur in ("USD", "EUR"):
        rows = np.flatnonzero(a.currency == cur)
        assert (np.diff(a.available_after[rows]) == a.trans_cents[rows][1:]).all()
    same_ms = np.flatnonzero(np.diff(a.trans_at) == 0)
    assert all(a.id[i] < a.id[i + 1] for i in same_ms)


def test_add_busy_entries_checks_its_arguments() -> None:
    world = tiny()
    for bad in ({"every_ms": 0}, {"seconds": 0}, {"currency": "JPY"}):
        kw: dict[str, Any] = {"start_ms": END_MS, "seconds": 5, **bad}
        with pytest.raises(ValueError):
            world.add_busy_entries(**kw)


async def served_ledger(api: Any) -> list[dict[str, Any]]:
    out: list[dict[str, Any]] = []
    number = 1
    while True:
        data = await api.data("/v1/accounts/accountLogs", pageIndex=number, pageSize=100)
        items = data["items"] if "items" in data else data["data"]
        if not items:
            return out
        out += items
        number += 1


def check_chain(entries: list[dict[str, Any]]) -> None:
    last: dict[str, Decimal] = {}
    for e in entries:
        amount, available = Decimal(str(e["transAmount"])), Decimal(str(e["availableBalance"]))
        if e["currency"] in last:
            assert last[e["currency"]] + amount == available, e["id"]
        last[e["currency"]] = available


@pytest.mark.anyio
@pytest.mark.parametrize("shapes", ["spec", LIVE])
async def test_busy_entries_appear_as_the_clock_passes_them_and_the_snapshot_ties(
    make_api: ApiFactory, shapes: str
) -> None:
    world, _ = busy_world()
    a = world.account_logs
    busy_at = a.trans_at[np.flatnonzero(a.trans_at >= END_MS - 2_000)]
    async with make_api("v1.4", world=world, shapes=shapes) as api:
        counts, ambiguous = [], 0
        # every entry's own millisecond, one before it, and the second boundaries
        points = sorted({*busy_at.tolist(), *(busy_at - 1).tolist(),
                         *range(END_MS - 2_000, END_MS + 8_001, 1000)})  # fmt: skip
        for at in points[::3]:
            await api.admin("POST", "/_sandbox/clock", {"as_of": ms_to_iso(at)})
            r = await api.get("/v1/accounts")
            snapshot = {x["currency"]: Decimal(str(x["amount"])) for x in r.json()["data"]}
            ledger = await served_ledger(api)
            check_chain(ledger)
            usd = [e for e in ledger if e["currency"] == "USD"]
            counts.append(len(ledger))
            # the snapshot = the balance after the last entry at or before the clock
            assert snapshot["USD"] == Decimal(str(usd[-1]["availableBalance"])), at
            assert len(ledger) == int(np.searchsorted(a.trans_at, at, side="right"))
            # within the Date's second, more than one balance was true
            second = int(date_of(r).timestamp() * 1000)
            inside = (a.trans_at >= second) & (a.trans_at < second + 1000)
            ambiguous += len(set(a.available_after[inside & (a.currency == "USD")])) >= 2
    assert counts == sorted(counts) and counts[-1] > counts[0] + 10
    assert ambiguous >= 3


def test_a_clean_world_with_busy_entries_stays_clean_at_any_clock() -> None:
    plain = tiny()
    world, n = busy_world(-4_000, 12)
    for at in range(END_MS - 4_000, END_MS + 8_000, 777):
        world.set_clock(at)
        plain.set_clock(at)
        books = served_books(world, "v1.4")
        breaks = reconcile(books, at)
        account = {b for b in breaks if b[0] in ("account_balance", "account_ledger_chain")}
        assert account == set(), at
        # whatever else the oracle says of this world, the busy entries add nothing
        assert breaks == reconcile(served_books(plain, "v1.4"), at), at
    assert len(books.account_logs) == len(plain.select_account_logs(None, None)) + n


def test_busy_entries_appear_with_the_wall_clock_over_the_socket() -> None:
    world = tiny(end=datetime.now(UTC).replace(microsecond=0) - timedelta(minutes=5))
    start = wall_ms() - 3_000 + 200  # the service runs 3 s behind: its now is ours - 3 s
    world.add_busy_entries(start, 6)
    app = create_app(world, dialect="v1.4", shapes=LIVE, live_clock=True, clock_skew_seconds=-3)
    seen = []
    with serve_in_thread(app) as base, httpx.Client(base_url=base) as client:
        token = client.post("/connect/token", data=CREDENTIALS).json()["access_token"]
        auth = {"Authorization": f"Bearer {token}"}
        for _ in range(3):
            r = client.get(
                "/v1/accounts/accountLogs",
                params={"transactionDateFrom": ms_to_iso(start - 1)},
                headers=auth,
            )
            data = r.json()["data"]
            items = data["items"] if "items" in data else data["data"]
            stamp = int(date_of(r).timestamp() * 1000)
            seen.append((stamp, len(items)))
            assert abs(stamp - (wall_ms() - 3_000)) <= 1_500
            time.sleep(1.1)
    assert [n for _, n in seen] == sorted(n for _, n in seen)
    assert seen[-1][1] > seen[0][1] >= 0


def test_busy_entries_leave_a_planted_gap_in_the_chain_a_gap() -> None:
    """`cardrecon sandbox --scenario broken_books --busy`: the busy entries are chained on
    from the last balance, so the dropped entry's gap still breaks the chain where planted."""
    from sandbox import scenarios

    world = World.create(seed=1, size="tiny")
    sc = scenarios.build("dropped_account_log", world)
    (gap,) = [b.entity_id for b in sc.planted if b.check == "account_ledger_chain"]

    def jump() -> int:
        a = world.account_logs
        i = int(np.flatnonzero(a.id == gap)[0])
        same = np.flatnonzero(a.currency == a.currency[i])
        prev = same[same < i][-1]
        return int(a.available_after[prev] + a.trans_cents[i] - a.available_after[i])

    before = jump()
    assert before != 0
    world.add_busy_entries(int(time.time() * 1000), 30)
    assert jump() == before
