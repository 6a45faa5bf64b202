"""Extraction against the sandbox: every item once, incremental runs, faults survived."""

from __future__ import annotations

import logging
from collections import Counter
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import duckdb
import httpx
import orjson
import pytest
from support.expect import expected_requests

from extract.auth import ClientCredentials
from extract.session import ExtractSettings
from extract.streams import DIALECTS, STREAM_NAMES, Endpoint, StreamName
from flows.result import ExtractionReport
from flows.settings import RunSettings
from flows.steps import RunContext, run
from sandbox.app import create_app
from sandbox.faults import parse_faults
from sandbox.world import World
from transform.state import Store

END = datetime(2026, 11, 1, 12, 0, tzinfo=UTC)
DAY_MS = 86_400_000
SECRET = "s3cr3t-client-value"


def _id(endpoint: Endpoint, item: Any) -> str:
    """The item's id (every item the sandbox serves has one)."""
    key = endpoint.item_id(item)
    assert key is not None, item
    return key


def settings(**over: Any) -> ExtractSettings:
    base: dict[str, Any] = {
        "base_url": "http://127.0.0.1/openapi",
        "credentials": ClientCredentials("sandbox", SECRET),
        "end": END.date(),
        "backoff_base": 0.0,
    }
    return ExtractSettings(**(base | over))


def extract_once(
    settings: ExtractSettings,
    store: Store,
    run_id: str,
    transport: httpx.AsyncBaseTransport | None = None,
) -> ExtractionReport:
    """The one run up to the snapshots, its pages landed and not loaded (what is extracted)."""
    plan = RunSettings(run_id, settings, Path(":memory:"), None)
    ctx = RunContext(plan, transport=transport, con=store.con, reconcile=False, land_only=True)
    return run(ctx).extraction


def extract(
    world: World,
    dialect: str,
    store: Store,
    run_id: str = "r1",
    faults: str | None = None,
    **over: Any,
) -> tuple[ExtractionReport, Any]:
    app = create_app(
        world,
        dialect=dialect,
        client_secret=SECRET,
        faults=parse_faults(faults) if faults else None,
    )
    over.setdefault("start", world_start(world))
    report = extract_once(settings(**over), store, run_id, transport=httpx.ASGITransport(app=app))
    return report, app


def world_start(world: World) -> date:
    return datetime.fromtimestamp(world.start_ms / 1000, UTC).date()


def items_in(
    con: duckdb.DuckDBPyConnection, dialect: str, stream: StreamName
) -> list[dict[str, Any]]:
    endpoint = DIALECTS[dialect].endpoints[stream]  # type: ignore[index]
    rows = con.execute(
        "select payload from raw.pages where stream = ? order by fetched_at", [stream]
    ).fetchall()
    return [item for (payload,) in rows for item in endpoint.items(orjson.loads(payload))]


def truth(world: World, dialect: str, stream: StreamName) -> list[str]:
    if stream == "transactions":
        rows = world.select_transactions(None, None, include_topups=dialect == "v2.0")
        return [str(x) for x in world.txns.id[rows]]
    if stream == "card_account_logs":
        return [str(x) for x in world.card_logs.id[world.select_card_logs(None, None)]]
    return [str(x) for x in world.account_logs.id[world.select_account_logs(None, None)]]


@pytest.mark.parametrize("dialect", ["v2.0", "v1.4"])
@pytest.mark.parametrize("size", ["tiny", "demo"])
def test_backfill_returns_exactly_the_ground_truth(dialect: str, size: str) -> None:
    world = World.create(seed=3, size=size, end=END)
    store = Store(duckdb.connect())
    report, _ = extract(world, dialect, store)
    assert report.dialect == dialect, "detected from the first reply"
    assert not report.failed
    for stream in STREAM_NAMES:
        endpoint = DIALECTS[dialect].endpoints[stream]
        got = [_id(endpoint, i) for i in items_in(store.con, dialect, stream)]
        assert len(got) == len(set(got)), f"{stream}: an item twice"
        assert sorted(got) == sorted(truth(world, dialect, stream)), stream
        assert store.watermark(stream) == END.date()
    if size == "demo":
        pages = store.con.execute(
            "select max(page_no) from raw.pages where stream = 'transactions'"
        ).fetchone()
        assert pages is not None and pages[0] > 1, "the demo window walks several pages"
    assert set(report.snapshots.cards) == set(world.cards.id), "every card seen is snapshotted"


@pytest.mark.parametrize("dialect", ["v2.0", "v1.4"])
def test_incremental_run_refetches_only_new_slices_plus_lookback(dialect: str) -> None:
    world = World.create(seed=4, size="tiny", end=END)
    world.set_clock(world.end_ms - 5 * DAY_MS)
    first_clock = datetime.fromtimestamp(world.as_of / 1000, UTC)
    store = Store(duckdb.connect())
    extract(world, dialect, store, "r1", end=first_clock.date())
    pending_before = {
        t["id"] if dialect == "v1.4" else t["transactionId"]
        for t in items_in(store.con, dialect, "transactions")
        if t["status"] in ("AuthSuccess", "Pending")
    }
    done_before = store.final_orders()

    world.set_clock(world.end_ms)  # the sandbox moves on: new activity, settlements
    before_pages = store.con.execute("select count(*) from raw.pages").fetchone()
    report, app = extract(world, dialect, store, "r2", end=END.date())
    first = first_clock.date() - timedelta(days=7)
    assert all(w == (first, END.date()) for w in report.windows.values())

    new = store.con.execute("select stream, payload from raw.pages where run_id = 'r2'").fetchall()
    items: dict[str, list[dict[str, Any]]] = {s: [] for s in STREAM_NAMES}
    for stream, payload in new:
        if stream in items:
            items[stream] += DIALECTS[dialect].endpoints[stream].items(orjson.loads(payload))  # type: ignore[index]
    expected = expected_requests(world, dialect, first, END.date(), done_before, items)
    served = [r for r in app.state.sandbox.requests if r["path"].startswith("/v1/")]
    assert len(served) == expected == report.requests
    assert before_pages is not None
    # the status changes were picked up: holds open at the first run have settled now
    now_status = {
        (t["id"] if dialect == "v1.4" else t["transactionId"]): t["status"]
        for t in items["transactions"]
    }
    settled = [i for i in pending_before if now_status.get(i) in ("Settled", "Success")]
    assert settled, "some holds open in the first run are settled in the second"


def test_nothing_to_fetch_when_state_is_past_to(tmp_path: Path) -> None:
    world = World.create(seed=4, size="tiny", end=END)
    store = Store(duckdb.connect())
    extract(world, "v2.0", store, "r1")
    report, _ = extract(world, "v2.0", store, "r2", end=END.date() - timedelta(days=30))
    assert set(report.skipped) == set(STREAM_NAMES)


@pytest.mark.parametrize("dialect", ["v2.0", "v1.4"])
def test_transient_faults_are_survived_with_nothing_lost(dialect: str) -> None:
    world = World.create(seed=5, size="tiny", end=END)
    clean = Store(duckdb.connect())
    extract(world, dialect, clean)
    faulty = Store(duckdb.connect())
    report, app = extract(
        world,
        dialect,
        faulty,
        faults="500=0.15,429=0.1,retry_after=0,malformed=0.05,revoke_after=40,seed=3",
    )
    assert not report.failed
    fired = Counter(r["fault"] for r in app.state.sandbox.requests if r["fault"])
    assert fired["500"] and fired["429"] and fired["malformed"], fired
    assert report.throttled > 0, "429s slow the run down"
    for stream in STREAM_NAMES:
        endpoint = DIALECTS[dialect].endpoints[stream]  # type: ignore[index]
        want = sorted(_id(endpoint, i) for i in items_in(clean.con, dialect, stream))
        got = sorted(_id(endpoint, i) for i in items_in(faulty.con, dialect, stream))
        assert got == want, stream


def test_expired_tokens_are_refreshed() -> None:
    world = World.create(seed=6, size="tiny", end=END)
    store = Store(duckdb.connect())
    app = create_app(world, client_secret=SECRET, token_ttl=0.05)
    report = extract_once(
        settings(concurrency=2, start=world_start(world)),
        store,
        "r1",
        httpx.ASGITransport(app=app),
    )
    assert not report.failed
    statuses = Counter(r["status"] for r in app.state.sandbox.requests)
    assert (
        statuses[401]
        or sum(1 for r in app.state.sandbox.requests if r["path"] == "/connect/token") > 1
    )


@pytest.mark.parametrize("fault", ["repeat_item=0.3", "repeat_cursor=0.5"])
def test_repeated_items_and_cursors_are_rewalked_or_fail_loudly(fault: str) -> None:
    world = World.create(seed=7, size="demo", end=END)
    store = Store(duckdb.connect())
    report, app = extract(world, "v2.0", store, faults=f"{fault},seed=11", start=date(2026, 10, 1))
    fired = sum(1 for r in app.state.sandbox.requests if r["fault"])
    assert fired > 0
    for stream in STREAM_NAMES:
        o = report.streams[stream]
        endpoint = DIALECTS["v2.0"].endpoints[stream]
        got = [_id(endpoint, i) for i in items_in(store.con, "v2.0", stream)]
        assert len(got) == len(set(got)), "never an item twice in raw pages"
        if o.error is None:
            lo = int(datetime(2026, 10, 1, tzinfo=UTC).timestamp() * 1000)
            want = truth_window(world, stream, lo)
            assert sorted(got) == sorted(want), f"{stream}: complete after re-walks"
        else:
            assert "twice" in o.error or "cursor" in o.error
            assert o.watermark is None or o.watermark < END.date()
    assert any(o.rewalks for o in report.streams.values())


def truth_window(world: World, stream: StreamName, lo: int) -> list[str]:
    if stream == "transactions":
        return [
            str(x) for x in world.txns.id[world.select_transactions(lo, None, include_topups=True)]
        ]
    if stream == "card_account_logs":
        return [str(x) for x in world.card_logs.id[world.select_card_logs(lo, None)]]
    return [str(x) for x in world.account_logs.id[world.select_account_logs(lo, None)]]


@pytest.mark.parametrize("fault", ["html=1.0", "malformed=1.0"])
def test_unreadable_replies_end_in_a_clear_error(fault: str) -> None:
    world = World.create(seed=8, size="tiny", end=END)
    store = Store(duckdb.connect())
    app = create_app(world, client_secret=SECRET, faults=parse_faults(f"{fault},seed=1"))
    report = extract_once(
        settings(dialect="v2.0", retry_attempts=1, start=world_start(world)),
        store,
        "r1",
        httpx.ASGITransport(app=app),
    )
    assert report.failed
    for o in report.streams.values():
        assert o.error and ("JSON" in o.error or "HTML" in o.error), o.error
        assert o.watermark is None
    assert all(store.watermark(s) is None for s in STREAM_NAMES), "no watermark without data"


def test_secret_and_card_numbers_never_reach_logs_or_the_database(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    world = World.create(seed=9, size="tiny", end=END)
    path = tmp_path / "run.duckdb"
    con = duckdb.connect(str(path))
    report, app = extract(world, "v1.4", Store(con), faults="500=0.1,seed=2")
    assert report.snapshots.cards, "card snapshots were taken from the v1.4 endpoint"
    tokens = list(app.state.sandbox.tokens)
    con.close()
    blob = path.read_bytes() + caplog.text.encode()
    assert SECRET.encode() not in blob
    for token in tokens:
        assert token.encode() not in blob
    for number, cvv in zip(world.cards.number, world.cards.cvv, strict=True):
        assert number.encode() not in blob
        assert f'"cvv":"{cvv}"'.encode() not in blob


def test_timeouts_over_real_http_are_retried_with_nothing_lost() -> None:
    from sandbox.server import serve_in_thread

    world = World.create(seed=10, size="tiny", end=END)
    app = create_app(
        world, client_secret=SECRET, faults=parse_faults("slow=0.05,slow_seconds=1.5,seed=4")
    )
    store = Store(duckdb.connect())
    with serve_in_thread(app) as base_url:
        report = extract_once(
            settings(base_url=base_url, timeout=0.5, start=world_start(world)), store, "r1"
        )
    assert not report.failed
    assert any(r["fault"] == "slow" for r in app.state.sandbox.requests)
    for stream in STREAM_NAMES:
        endpoint = DIALECTS["v2.0"].endpoints[stream]
        got = sorted(_id(endpoint, i) for i in items_in(store.con, "v2.0", stream))
        assert got == sorted(truth(world, "v2.0", stream)), stream
