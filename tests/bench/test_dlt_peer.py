"""The B1 peer (dlt's ``rest_api`` source) loads exactly what a tiny v2.0 sandbox serves."""

from __future__ import annotations

import asyncio
from collections import Counter
from datetime import UTC, date, datetime, time, timedelta
from pathlib import Path
from typing import Any

import pytest
from starlette.types import ASGIApp, Receive, Scope, Send
from support.pipeline import world_days

from sandbox.app import create_app
from sandbox.server import serve_in_thread
from sandbox.world import World

pytest.importorskip("dlt", reason="dlt is in the `bench` dependency group")

from bench.dlt_peer import PIPELINE_NAME, STREAMS, run_dlt

PATHS = {
    "/v1/transactions": "transactions",
    "/v1/accounts/cardAccountLogs": "card_account_logs",
    "/v1/accounts/accountLogs": "account_logs",
}
CONCURRENCY = 4


class InFlight:
    """ASGI middleware: count the API requests being served at once (after a short delay,
    so that concurrent walks overlap visibly even on a tiny world)."""

    def __init__(self, app: ASGIApp, delay: float = 0.01) -> None:
        self.app = app
        self.delay = delay
        self.now = 0
        self.peak = 0

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or "/v1/" not in scope.get("path", ""):
            await self.app(scope, receive, send)
            return
        self.now += 1  # one event loop: no lock needed
        self.peak = max(self.peak, self.now)
        try:
            await asyncio.sleep(self.delay)
            await self.app(scope, receive, send)
        finally:
            self.now -= 1


def _ms(day: date) -> int:
    return int(datetime.combine(day, time.min, UTC).timestamp() * 1000)


def served(world: World, first: date, last: date) -> dict[str, int]:
    """What the sandbox serves for the days ``first..last`` (v2.0: top-ups included)."""
    lo, hi = _ms(first), _ms(last + timedelta(days=1)) - 1
    return {
        "transactions": len(world.select_transactions(lo, hi, include_topups=True)),
        "card_account_logs": len(world.select_card_logs(lo, hi)),
        "account_logs": len(world.select_account_logs(lo, hi)),
    }


def test_dlt_peer_loads_every_row_in_day_slices(tmp_path: Path) -> None:
    world = World.create(seed=1, size="tiny")
    app = create_app(world, dialect="v2.0")
    probe = InFlight(app)
    first, last = world_days(world)
    expected = served(world, first, last)
    assert all(expected.values()), expected

    with serve_in_thread(probe) as base_url:
        counts = run_dlt(
            base_url,
            "sandbox",
            "sandbox-secret",
            first,
            last,
            workdir=tmp_path,
            concurrency=CONCURRENCY,
            page_size=50,
        )
        requests: list[dict[str, Any]] = list(app.state.sandbox.requests)
        # A second run in the same workdir appends to the same tables; the counts are
        # this run's load only.
        again = run_dlt(
            base_url,
            "sandbox",
            "sandbox-secret",
            first,
            last,
            workdir=tmp_path,
            concurrency=CONCURRENCY,
            page_size=50,
        )

    assert counts == expected
    assert again == expected
    assert set(counts) == set(STREAMS)
    assert (tmp_path / "pipelines" / PIPELINE_NAME).is_dir()
    assert (tmp_path / "dlt_peer.duckdb").is_file()

    # The work matches our extractor's: one walk per (stream, day), every reply a 200.
    api = [r for r in requests if r["path"] in PATHS]
    assert {r["status"] for r in requests} == {200}
    first_pages: Counter[tuple[str, str]] = Counter()
    for r in api:
        params = r["params"]
        assert params["TransactionDateFrom"] == params["TransactionDateTo"], params
        is_first = (
            "PageCursor" not in params
            and params.get("PageNumber", "1") == "1"
            and params.get("Offset", "0") == "0"
        )
        if is_first:
            first_pages[(PATHS[r["path"]], params["TransactionDateFrom"])] += 1
    days = [(first + timedelta(days=i)).isoformat() for i in range((last - first).days + 1)]
    assert first_pages == Counter({(s, d): 1 for s in STREAMS for d in days})
    # ... with several walks in flight at once, never more than the concurrency.
    assert 2 <= probe.peak <= CONCURRENCY, probe.peak
