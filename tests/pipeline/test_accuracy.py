"""Accuracy, the point of the product: every planted break found, nothing else reported.

The sandbox plants known faults and writes a manifest of the breaks they must cause.
The whole pipeline (extract over HTTP in either dialect, load, reconcile) runs on it
and its open error and warning breaks must equal the manifest: recall and precision
100%. Clean worlds of several seeds reconcile with no break at all.
"""

from __future__ import annotations

import pytest
from support.pipeline import reconcile_world

from sandbox.scenarios import SCENARIOS

FAULTS = [n for n in SCENARIOS if n not in ("clean", "broken_books")]


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


@pytest.mark.parametrize("dialect", ["v2.0", "v1.4"])
@pytest.mark.parametrize("seed", [1, 2, 3])
def test_clean_worlds_reconcile_with_zero_breaks(seed: int, dialect: str) -> None:
    con, _, result, verdict = reconcile_world("clean", dialect, seed=seed)
    assert found(con) == set()
    assert result.errors == 0
    assert verdict == "reconciled"


@pytest.mark.parametrize("dialect", ["v2.0", "v1.4"])
@pytest.mark.parametrize("scenario", FAULTS)
def test_every_planted_break_is_found_and_nothing_else(scenario: str, dialect: str) -> None:
    con, sc, _, verdict = reconcile_world(scenario, dialect)
    manifest = sc.manifest(dialect)
    assert found(con) == planted(manifest)
    errors = [b for b in manifest["breaks"] if b["severity"] == "error"]
    assert verdict == (
        "breaks" if errors else "reconciled_with_warnings" if manifest["breaks"] else "reconciled"
    )


@pytest.mark.parametrize("dialect", ["v2.0", "v1.4"])
def test_broken_books_every_fault_at_once_on_a_demo_world(dialect: str) -> None:
    con, sc, result, verdict = reconcile_world("broken_books", dialect, size="demo", seed=2)
    assert found(con) == planted(sc.manifest(dialect))
    assert verdict == "breaks"
    if dialect == "v2.0":
        assert set(result.skipped) == {
            "card_credit_usage",
            "credit_limit_exceeded",
            "auth_settle_variance",
        }
    else:
        assert result.skipped == {}
