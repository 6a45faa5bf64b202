"""Snapshots on the service's clock: a busy account whose clock runs apart from ours.

The account snapshot shows the balances after the last entry at or before the service's
time. Stamped with our clock, a service 3 s behind (or ahead) would put the entries posted in
those 3 s on the wrong side of the snapshot: a false account_balance break on a clean world.
Stamped with the reply's Date header (to the second), and tying within that resolution, it
reconciles (RECONCILIATION.md, account_balance).
"""

from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta

import pytest
from support.pipeline import run_pipeline

from sandbox.world import World
from transform.reconcile import reconcile, write_summary


def open_breaks(con: object) -> list[tuple[str, str]]:
    rows = con.execute(  # type: ignore[attr-defined]
        "select \"check\", entity_id from recon.breaks where status = 'open' "
        "and severity in ('error', 'warning') order by all"
    ).fetchall()
    return [tuple(r) for r in rows]


@pytest.mark.parametrize(
    ("skew", "dialect", "configured"),
    [(-3.0, "v2.0", False), (3.0, "v2.0", True), (-3.0, "v1.4", True), (3.0, "v1.4", False)],
)
def test_a_busy_account_reconciles_clean_with_the_service_clock_3_s_apart(
    skew: float, dialect: str, configured: bool
) -> None:
    world = World.create(seed=2, size="tiny", end=datetime.now(UTC) - timedelta(seconds=30))
    now_ms = time.time_ns() // 1_000_000
    posted = world.add_busy_entries(now_ms - 5_000, 90)  # an entry every half second
    assert posted > 150
    options = {"live_clock": True, "clock_skew_seconds": skew}
    con, report, _ = run_pipeline(
        world, dialect, app_options=options, configured_dialect=configured
    )
    assert not report.failed, report.failed

    # the snapshot carries the service's clock beside ours, `skew` apart (to the second)
    ours, theirs = con.execute(
        "select fetched_at, service_at from core.account_snapshots"
    ).fetchall()[0]
    assert theirs is not None
    assert abs((theirs - ours).total_seconds() - skew) < 1.5
    busy = con.execute(
        "select count(*) from core.account_logs where abs(epoch(trans_at) - epoch(?)) <= 3",
        [theirs],
    ).fetchone()
    assert busy is not None and busy[0] >= 5  # entries posted around the snapshot

    reconcile(con, "r1", datetime.now(UTC))
    assert open_breaks(con) == []
    assert write_summary(con, "r1", report.failed, dialect=dialect) == "reconciled"

    # Stamped with our clock instead, the entries extracted between the two clocks fall on
    # the wrong side: a false break. With the service ahead, the entries it posted between our
    # clock and its (to-the-second) stamp always lie there; with it behind, only those posted
    # after it answered and before the ledger was read, which depends on how long the walk
    # took (the given/expect test of account_balance covers both sides exactly).
    if skew > 0:
        lo, hi = ours, theirs
    else:
        lo, hi = ours - timedelta(seconds=-skew), ours
    between = con.execute(
        "select count(*) from core.account_logs where trans_at > ? and trans_at <= ?", [lo, hi]
    ).fetchone()
    assert between is not None
    if skew > 0:
        assert between[0] >= 4
    # (and unless those entries happen to add up to nothing: small fees and top-ups can)
    currency = world.primary_currency
    shown, by_our_clock = con.execute(
        "select s.available_balance, arg_max(a.available_balance, (a.trans_at, a.account_log_id)) "
        "from core.account_snapshots s join core.account_logs a using (currency) "
        "where s.currency = ? and a.trans_at <= ? group by all",
        [currency, ours],
    ).fetchall()[0]
    con.execute("update core.account_snapshots set service_at = null")
    reconcile(con, "r2", datetime.now(UTC))
    if between[0] and shown != by_our_clock:
        assert [c for c, _ in open_breaks(con)] == ["account_balance"]
