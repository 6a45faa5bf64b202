"""Transient faults survived: 500s, 429s with Retry-After, replies slower than the client's
timeout and a token revoked mid-run end with the core tables and open breaks of a clean run.

Slow replies need a real socket (a timeout), so the faulty run goes over real HTTP.
"""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from reltools import core_content, extract_and_load, open_breaks, record, rows_lost

from sandbox.world import World
from transform.reconcile import reconcile

MIX = "500=0.10,429=0.05,retry_after=0,slow=0.02,slow_seconds=1.5,revoke_after=50"
RATES = {"500": 0.10, "429": 0.05, "slow": 0.02, "revoke_after": "after call 50"}


def survive(seed: int, size: str, dialect: str) -> None:
    world = World.create(seed=seed, size=size)
    clean, clean_report, _ = extract_and_load(world, dialect=dialect)
    assert not clean_report.failed
    now = datetime.now(UTC)
    reconcile(clean, "r1", now)
    faulty, report, app = extract_and_load(
        world, dialect=dialect, faults=f"{MIX},seed={seed}", real_http=True, timeout=0.5
    )
    reconcile(faulty, "r1", now)
    fired = dict(app.state.sandbox.faults.fired)
    served = sum(1 for r in app.state.sandbox.requests if r["path"].startswith("/v1/"))
    identical = core_content(faulty) == core_content(clean)
    same_breaks = open_breaks(faulty) == open_breaks(clean)
    for kind, rate in RATES.items():
        record(
            "fault",
            kind=kind,
            rate=rate,
            hit=fired.get(kind, 0),
            seed=seed,
            size=size,
            dialect=dialect,
            requests=served,
            survived=not report.failed and identical and same_breaks,
            rows_lost=rows_lost(faulty),
        )
    assert not report.failed, report.failed
    assert fired.get("500") and fired.get("429") and fired.get("revoke_after"), fired
    assert identical, "core tables differ from the clean run's"
    assert same_breaks
    assert rows_lost(faulty) == 0


def test_the_fault_mix_is_survived_with_clean_results() -> None:
    survive(seed=2, size="tiny", dialect="v2.0")


@pytest.mark.reliability
@pytest.mark.parametrize("dialect", ["v2.0", "v1.4"])
@pytest.mark.parametrize("seed", [3, 5, 8])
def test_the_fault_mix_is_survived_at_demo_size(seed: int, dialect: str) -> None:
    survive(seed=seed, size="demo", dialect=dialect)
