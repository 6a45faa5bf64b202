"""Accuracy, the point of the product: every planted break found, nothing else reported.

The sandbox plants known faults and writes a manifest of the breaks they must cause.
The whole pipeline (extract over HTTP in either dialect, load, reconcile) runs on it
and its open error and warning breaks must equal the manifest: recall and precision
100%. Clean worlds of several seeds reconcile with no break at all. Each runs against v2.0,
v1.4 and v1.4 in the live service's own shapes; each fault alone runs in v1.4 by default, in
the other two under ``-m slow``.

Closed periods too: a user's first job is last month, not "up to now". Every scenario, in
both dialects, is reconciled over three periods — up to today, one that ended 10 days ago
and one that ended 30 days ago — with its faults planted inside the period: zero breaks on
clean worlds, exactly the manifest on planted ones (a closed period cannot show a fault
only a snapshot reveals; the manifest says so). The default suite runs the clean world and
every fault at once (``broken_books``) over the three periods; ``-m slow`` runs each scenario.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import duckdb
import pytest
from support.pipeline import reconcile_world, run_pipeline, world_days

from sandbox import scenarios
from sandbox.scenarios import SCENARIOS
from sandbox.world import World
from transform.reconcile import reconcile, write_summary

FAULTS = [n for n in SCENARIOS if n not in ("clean", "broken_books")]
# The dialects, and in v1.4 both reply shapes: as the reference's tables say ("spec") and as
# the live service's own examples show it ("live": enum aliases, .NET times with offsets,
# integers, absent fields, unknown fields, the older page shape, ...).
SERVED = [
    pytest.param("v2.0", "spec", id="v2.0"),
    pytest.param("v1.4", "spec", id="v1.4"),
    pytest.param("v1.4", "live", id="v1.4-live"),
]


def found(con: object) -> set[tuple[str, ...]]:
    rows = con.execute(  # type: ignore[attr-defined]
        'select "check", severity, entity_type, entity_id, currency from recon.breaks '
        "where status = 'open' and severity in ('error', 'warning')"
    ).fetchall()
    return {tuple(r) for r in rows}


def planted(manifest: dict[str, object]) -> set[tuple[str, ...]]:
    breaks = manifest["breaks"]
    assert isinstance(breaks, list)
    return {
        (b["check"], b["severity"], b["entity_type"], b["entity_id"], b["currency"]) for b in breaks
    }


@pytest.mark.parametrize(("dialect", "shapes"), SERVED)
@pytest.mark.parametrize("seed", [1, 2, 3])
def test_clean_worlds_reconcile_with_zero_breaks(seed: int, dialect: str, shapes: str) -> None:
    con, _, result, verdict = reconcile_world("clean", dialect, seed=seed, shapes=shapes)
    assert found(con) == set()
    assert result.errors == 0
    assert verdict == "reconciled"
    # nothing quarantined: every spelling and shape the service uses is read
    assert con.execute("select count(*) from core.quarantine").fetchone() == (0,)


# Each fault alone: v1.4 in the default suite; v2.0 and the live shapes under -m slow (every
# fault is also in broken_books, which the default suite runs in all three over three periods).
ALONE = [
    pytest.param(*p.values, marks=() if p.id == "v1.4" else (pytest.mark.slow,), id=p.id)
    for p in SERVED
]


@pytest.mark.parametrize(("dialect", "shapes"), ALONE)
@pytest.mark.parametrize("scenario", FAULTS)
def test_every_planted_break_is_found_and_nothing_else(
    scenario: str, dialect: str, shapes: str
) -> None:
    con, sc, _, verdict = reconcile_world(scenario, dialect, shapes=shapes)
    manifest = sc.manifest(dialect)
    assert found(con) == planted(manifest)
    errors = [b for b in manifest["breaks"] if b["severity"] == "error"]
    assert verdict == (
        "breaks" if errors else "reconciled_with_warnings" if manifest["breaks"] else "reconciled"
    )


# -- closed periods ---------------------------------------------------------------------------
PERIODS = {"to_today": 0, "ended_10_days_ago": 10, "ended_30_days_ago": 30}


def out_of_window(con: duckdb.DuckDBPyConnection, check: str) -> int:
    row = con.execute(
        'select out_of_window from recon.check_runs where "check" = ?', [check]
    ).fetchall()
    return int(row[0][0] or 0) if row else 0


def expect_exactly_the_manifest(scenario: str, dialect: str, ago: int, shapes: str) -> None:
    con, sc, result, verdict = reconcile_world(
        scenario, dialect, size="small", seed=4, ended_days_ago=ago, shapes=shapes
    )
    manifest = sc.manifest(dialect)
    assert found(con) == planted(manifest)
    errors = [b for b in manifest["breaks"] if b["severity"] == "error"]
    assert verdict == (
        "breaks" if errors else "reconciled_with_warnings" if manifest["breaks"] else "reconciled"
    )
    if ago:  # a closed period: its other sides (and the snapshots) lie after it, counted
        assert out_of_window(con, "card_balance") > 0
        if dialect == "v2.0":
            assert out_of_window(con, "txn_missing_ledger") > 0
    if dialect == "v2.0":
        assert set(result.skipped) == {
            "card_credit_usage",
            "credit_limit_exceeded",
            "auth_settle_variance",
        }
    else:
        assert result.skipped == {}


@pytest.mark.parametrize(("dialect", "shapes"), SERVED)
@pytest.mark.parametrize("period", PERIODS)
@pytest.mark.parametrize("scenario", ["clean", "broken_books"])
def test_a_period_reconciles_to_exactly_its_manifest(
    scenario: str, period: str, dialect: str, shapes: str
) -> None:
    expect_exactly_the_manifest(scenario, dialect, PERIODS[period], shapes)


@pytest.mark.slow
@pytest.mark.parametrize(("dialect", "shapes"), SERVED)
@pytest.mark.parametrize("period", PERIODS)
@pytest.mark.parametrize("scenario", [n for n in SCENARIOS if n != "broken_books"])
def test_every_scenario_over_every_period_reconciles_to_exactly_its_manifest(
    scenario: str, period: str, dialect: str, shapes: str
) -> None:
    expect_exactly_the_manifest(scenario, dialect, PERIODS[period], shapes)


def last_month(today: date) -> tuple[date, date]:
    first_of_this = today.replace(day=1)
    last = first_of_this - timedelta(days=1)
    return last.replace(day=1), last


def test_last_month_on_a_clean_v20_demo_world_has_no_break() -> None:
    """Regression (issue 12): `cardrecon run --from 2026-10-01 --to 2026-10-31` on a clean v2.0
    sandbox reported 532 txn_missing_ledger errors: purchases authorised late in October settle
    in November, after the ledger the run extracted. They are out of window now."""
    world = World.create(seed=1, size="demo")
    scenarios.build("clean", world)
    start, end = last_month(world_days(world)[1])
    con, report, _ = run_pipeline(world, "v2.0", start=start, end=end)
    assert not report.failed
    result = reconcile(con, "r1", datetime.now(UTC))
    verdict = write_summary(con, "r1", report.failed, dialect="v2.0")

    assert found(con) == set()
    assert (result.errors, verdict) == (0, "reconciled")
    assert out_of_window(con, "txn_missing_ledger") > 100  # settled after the month
    period = con.execute(
        "select period_from, period_to from recon.run_summary where section = 'run'"
    ).fetchall()
    assert period == [(start, end)]
