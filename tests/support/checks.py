"""Helpers of the reconciliation checks' given/expect tests (``tests/transform/checks/``).

One in-memory DuckDB per test (the ``db`` fixture of ``tests/transform/checks/conftest.py``);
rows come from ``support.builders`` (defaults: Standard card C1 and ShareBalance card C2 in
USD, history covered 2026-01-01 .. end of 2026-01-10, snapshots at 2026-01-10 23:00,
reconciled as of 2026-01-11 06:00). Each test runs the real runner
(``transform.reconcile.reconcile``, all checks) with ``run`` and reads the open breaks of the
check under test from ``recon.breaks`` (``breaks``) and its counts from ``recon.check_runs``
(``counts``).

A run costs a few tenths of a second, so a check's cases share one database where they can:
rows that tie, rows that break and rows out of the window side by side (each on its own card,
order or currency), and the expectation is the exact list of breaks plus the counts
(entities checked, breaks, out of window).
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any, NamedTuple

import duckdb

from support.builders import AS_OF, T0, make_account_log, money
from transform.reconcile import ReconResult, ReconSettings, reconcile

D = money
SB = "ShareBalance"


class Break(NamedTuple):
    check: str
    severity: str
    entity_type: str
    entity_id: str
    currency: str | None
    expected: Decimal | None
    actual: Decimal | None
    difference: Decimal | None


class Counts(NamedTuple):
    entities_checked: int | None
    breaks: int | None
    out_of_window: int | None


def run(
    db: duckdb.DuckDBPyConnection,
    *,
    run_id: str = "run-1",
    as_of: datetime = AS_OF,
    **settings: Any,
) -> ReconResult:
    """Reconcile with ``ReconSettings(**settings)``, money settings given as text."""
    for name in ("tolerance", "variance_pct"):
        if name in settings:
            settings[name] = Decimal(settings[name])
    return reconcile(db, run_id, as_of, ReconSettings(**settings))


def breaks(db: duckdb.DuckDBPyConnection, check: str) -> list[Break]:
    """The open breaks of ``check``, by entity id."""
    rows = db.execute(
        'select "check", severity, entity_type, entity_id, currency, expected, actual, '
        "difference from recon.breaks where \"check\" = ? and status = 'open' "
        "order by entity_id",
        [check],
    ).fetchall()
    return [Break(*r) for r in rows]


def detail(db: duckdb.DuckDBPyConnection, check: str, entity_id: str) -> str:
    row = db.execute(
        'select detail from recon.breaks where "check" = ? and entity_id = ?', [check, entity_id]
    ).fetchone()
    assert row is not None, f"no {check} break for {entity_id}"
    return str(row[0])


def counts(db: duckdb.DuckDBPyConnection, check: str, run_id: str = "run-1") -> Counts:
    row = db.execute(
        "select entities_checked, breaks, out_of_window from recon.check_runs "
        'where run_id = ? and "check" = ?',
        [run_id, check],
    ).fetchone()
    assert row is not None, f"{check} has no check_runs row for {run_id}"
    return Counts(*row)


def brk(
    check: str,
    entity_id: str,
    expected: Any,
    actual: Any,
    difference: Any,
    *,
    severity: str = "error",
    entity_type: str = "order",
    currency: str | None = "USD",
) -> Break:
    def dec(v: Any) -> Decimal | None:
        return None if v is None else D(v)

    amounts = (dec(expected), dec(actual), dec(difference))
    return Break(check, severity, entity_type, entity_id, currency, *amounts)


def at(day: int, hour: int = 12, minute: int = 0) -> datetime:
    """A UTC time in January 2026 (December 2025 for day <= 0)."""
    return datetime(2026, 1, 1, hour, minute, tzinfo=UTC) + timedelta(days=day - 1)


SIGNS = {
    "AuthHold": -1,
    "AuthRelease": 1,
    "Consume": -1,
    "TransFee": -1,
    "ConsumeRefund": 1,
    "ConsumeReversal": 1,
}


def settle_in_ledger(
    db: duckdb.DuckDBPyConnection,
    txn: str,
    amount: str,
    kinds: tuple[str, ...] = ("AuthHold", "AuthRelease", "Consume"),
    when: datetime = T0,
    currency: str = "USD",
) -> None:
    """The account entries of ShareBalance transaction ``txn`` of ``amount`` (a magnitude)."""
    for i, kind in enumerate(kinds):
        make_account_log(
            db,
            trans_type=kind,
            trans_amount=SIGNS[kind] * D(amount),
            order_no=txn,
            card_id="C2",
            currency=currency,
            trans_at=when + timedelta(minutes=i),
        )
