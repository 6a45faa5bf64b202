"""What the reports show, read once from ``recon.*`` for one run.

Every report (CSV, Parquet, XLSX, HTML) renders the same :class:`RunReport`, so the
files agree with each other. The queries live in ``reports/sql/``; money stays
``Decimal`` (DuckDB ``DECIMAL(18,2)``, polars ``Decimal(18, 2)``) all the way through.
A break's ages, aging bucket and amount at stake are read from ``recon.aged_breaks``, where
they are defined once (at the reconciliation's ``as_of``): nothing here recomputes them.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

import duckdb
import polars as pl

__all__ = [
    "AGE_BUCKETS",
    "BREAK_COLUMNS",
    "BREAK_SEVERITIES",
    "MONEY_COLUMNS",
    "SEVERITIES",
    "CheckLine",
    "ReportError",
    "RunReport",
    "RunScope",
    "StreamLine",
    "at_stake",
    "load_report",
    "summary_rows",
    "top_open_breaks",
]

SQL_DIR = Path(__file__).parent / "sql"

# The break as exported (RECONCILIATION.md), with its root and its ages at the run.
BREAK_COLUMNS = (
    "break_id", "check", "severity", "entity_type", "entity_id", "card_id", "currency",
    "expected", "actual", "difference", "as_of", "detail", "first_seen_at", "last_seen_at",
    "status", "root_id", "age_days", "days_open", "age_bucket",
)  # fmt: skip
MONEY_COLUMNS = ("expected", "actual", "difference")
SEVERITIES = ("error", "warning", "info")
BREAK_SEVERITIES = ("error", "warning")  # open breaks; an info is a note, not a break
# The labels of recon.age_bucket (transform/sql/recon.sql), in order; a test holds them equal.
AGE_BUCKETS = ("0-1 d", "2-7 d", "8-30 d", "> 30 d")
ZERO = Decimal("0.00")


class ReportError(Exception):
    """The reports cannot be written (no such run, a folder that is not writable)."""


@dataclass(frozen=True)
class CheckLine:
    """One check of the run: what it compared, its open breaks, or why it was skipped."""

    check: str
    severity: str
    entities_checked: int | None
    out_of_window: int | None
    skipped_reason: str | None
    errors: int
    warnings: int
    infos: int
    differences: tuple[tuple[str, Decimal], ...]  # (currency, total |difference|)
    blocked_by_quarantine: int = 0  # comparisons that include an untrusted record

    @property
    def open_breaks(self) -> int:
        return self.errors + self.warnings + self.infos


@dataclass(frozen=True)
class StreamLine:
    """One stream of the run: rows fetched, loaded, quarantined and out of the window."""

    name: str
    fetched: int | None
    loaded: int | None
    quarantined: int | None
    out_of_window: int | None
    note: str | None


@dataclass(frozen=True)
class RunScope:
    """What a run covers: the account label, the dialect, the period and the snapshot time."""

    label: str | None
    dialect: str | None
    period_from: date | None
    period_to: date | None
    snapshot_at: datetime | None

    def period(self) -> str:
        if self.period_from is None or self.period_to is None:
            return "no extracted history"
        return f"{self.period_from.isoformat()} to {self.period_to.isoformat()} (UTC)"


@dataclass(frozen=True)
class RunReport:
    """Everything the reports of one run show."""

    run_id: str
    generated_at: datetime
    verdict: str
    note: str | None
    breaks: pl.DataFrame  # BREAK_COLUMNS + at_stake (not exported), all breaks, report order
    summary: pl.DataFrame  # the run's recon.run_summary rows
    checks: tuple[CheckLine, ...]
    streams: tuple[StreamLine, ...]
    on_hold: tuple[tuple[str, Decimal, int], ...]  # (currency, amount, authorisations)
    scope: RunScope  # what the run covers

    @property
    def open_breaks(self) -> pl.DataFrame:
        """Open errors and warnings: the breaks to work (infos are notes)."""
        return self.breaks.filter(
            (pl.col("status") == "open") & pl.col("severity").is_in(BREAK_SEVERITIES)
        )

    @property
    def open_notes(self) -> pl.DataFrame:
        """Open infos: worth knowing, nothing to fix (e.g. settled amounts that differ)."""
        return self.breaks.filter(
            (pl.col("status") == "open") & ~pl.col("severity").is_in(BREAK_SEVERITIES)
        )

    @property
    def untrusted(self) -> int:
        """Records quarantined and not replaced: the open quarantined_record breaks."""
        return sum(c.errors for c in self.checks if c.check == "quarantined_record")

    @property
    def blocked(self) -> list[tuple[str, int]]:
        """(check, comparisons blocked by quarantine), for the checks that had any."""
        return [(c.check, c.blocked_by_quarantine) for c in self.checks if c.blocked_by_quarantine]

    @property
    def resolved_count(self) -> int:
        return self.breaks.filter(pl.col("status") != "open").height

    def open_count(self, severity: str) -> int:
        frame = self.open_notes if severity not in BREAK_SEVERITIES else self.open_breaks
        return frame.filter(pl.col("severity") == severity).height

    def open_rows(self, severity: str | None = None) -> list[dict[str, Any]]:
        frame = self.open_breaks
        if severity is not None:
            frame = frame.filter(pl.col("severity") == severity)
        return frame.to_dicts()

    def notes_by_check(self) -> list[tuple[str, str, int]]:
        """(check, currency, open infos), most first."""
        counts = Counter(
            (r["check"], r["currency"] or "") for r in self.open_notes.iter_rows(named=True)
        )
        return [(c, cur, n) for (c, cur), n in sorted(counts.items(), key=lambda kv: -kv[1])]

    def checks_with_open_breaks(self) -> list[str]:
        """Checks with open breaks, in report order (errors first)."""
        return list(dict.fromkeys(self.open_breaks.get_column("check").to_list()))

    def open_by_check_currency(self) -> list[tuple[str, str, str, int, Decimal]]:
        """(check, severity, currency, open breaks, amount at stake), in report order."""
        counts: Counter[tuple[str, str, str]] = Counter()
        amounts: dict[tuple[str, str, str], Decimal] = defaultdict(lambda: ZERO)
        for row in self.open_rows():
            key = (row["check"], row["severity"], row["currency"] or "")
            counts[key] += 1
            amounts[key] += stake(row)
        return [(c, s, cur, n, amounts[(c, s, cur)]) for (c, s, cur), n in counts.items()]

    def open_by_age(self) -> dict[str, Counter[str]]:
        """Open breaks per age bucket, by severity."""
        out: dict[str, Counter[str]] = {b: Counter() for b in AGE_BUCKETS}
        for row in self.open_rows():
            out[row["age_bucket"]][row["severity"]] += 1
        return out


def stake(row: Mapping[str, Any]) -> Decimal:
    """A break's amount at stake, as ``recon.aged_breaks`` computes it (0 when it has none)."""
    value = row["at_stake"]
    return ZERO if value is None else Decimal(value)


def at_stake(rows: Iterable[Mapping[str, Any]]) -> dict[str, Decimal]:
    """Amount at stake per currency of the open error breaks among ``rows`` (rows of
    ``recon.aged_breaks``, as :attr:`RunReport.breaks` holds them), each money movement
    once: breaks that share a root (``root_id``) count the root's amount (or, when the root
    is not among them, the largest of theirs)."""
    roots: dict[tuple[str, str], Decimal] = {}  # (currency, root) -> the root's amount
    explained: dict[tuple[str, str], Decimal] = {}  # ... the largest of the others'
    for row in rows:
        if row["status"] != "open" or row["severity"] != "error":
            continue
        root = row.get("root_id") or row["break_id"]
        key = (row["currency"] or "", root)
        if row["break_id"] == root:
            roots[key] = stake(row)
        else:
            explained[key] = max(explained.get(key, ZERO), stake(row))
    out: dict[str, Decimal] = defaultdict(lambda: ZERO)
    for (currency, _), amount in (explained | roots).items():
        out[currency] += amount
    return dict(sorted(out.items()))


def _sql(name: str) -> str:
    return (SQL_DIR / f"{name}.sql").read_text(encoding="utf-8")


def load_report(con: duckdb.DuckDBPyConnection, run_id: str) -> RunReport:
    """Read the run's breaks, summary, checks, streams and holds from ``recon.*``."""
    try:
        run = con.execute(
            "select verdict, generated_at, note, label, dialect, period_from, period_to, "
            "snapshot_at from recon.run_summary where run_id = ? and section = 'run'",
            [run_id],
        ).fetchall()
    except duckdb.CatalogException as exc:
        raise ReportError(
            "this database has no recon.run_summary table; reconcile a run before reporting"
        ) from exc
    if not run:
        raise ReportError(
            f"run {run_id!r} has no summary in recon.run_summary; "
            "reconcile it (and write its summary) before writing its reports"
        )
    verdict, generated_at, note, *scope = run[0]
    breaks = con.sql(_sql("breaks")).pl()
    summary = con.sql(_sql("summary"), params={"run_id": run_id}).pl()
    checks = tuple(
        CheckLine(
            check=r["check"], severity=r["severity"], entities_checked=r["entities_checked"],
            out_of_window=r["out_of_window"], skipped_reason=r["skipped_reason"],
            errors=int(r["errors"]), warnings=int(r["warnings"]), infos=int(r["infos"]),
            differences=tuple((d["currency"], d["abs_difference"]) for d in r["differences"]),
            blocked_by_quarantine=int(r["blocked_by_quarantine"] or 0),
        )
        for r in con.sql(_sql("checks"), params={"run_id": run_id}).pl().to_dicts()
    )  # fmt: skip
    streams = tuple(
        StreamLine(
            r["name"], r["fetched"], r["loaded"], r["quarantined"], r["out_of_window"], r["note"]
        )
        for r in summary.filter(pl.col("section") == "stream").to_dicts()
    )
    on_hold = tuple(
        (r["currency"] or "", r["amount_on_hold"] or ZERO, int(r["entities_checked"] or 0))
        for r in summary.filter(pl.col("section") == "hold").sort("currency").to_dicts()
    )
    return RunReport(
        run_id=run_id,
        generated_at=generated_at,
        verdict=str(verdict),
        note=note,
        breaks=breaks,
        summary=summary,
        checks=checks,
        streams=streams,
        on_hold=on_hold,
        scope=RunScope(*scope),
    )


def summary_rows(con: duckdb.DuckDBPyConnection, run_id: str) -> list[dict[str, Any]]:
    """A run's rows of ``recon.run_summary``, as dicts (what a run returns and the console says)."""
    cur = con.execute("select * from recon.run_summary where run_id = ?", [run_id])
    cols = [d[0] for d in cur.description or []]
    return [dict(zip(cols, row, strict=True)) for row in cur.fetchall()]


def top_open_breaks(con: duckdb.DuckDBPyConnection, limit: int = 50) -> list[dict[str, Any]]:
    """The open errors, then warnings, with the most at stake first (infos are notes)."""
    cur = con.execute(
        'select "check", severity, entity_type, entity_id, currency, '
        "cast(difference as varchar) as difference, detail from recon.open_breaks "
        "where severity in ('error', 'warning') "
        "order by severity = 'warning', at_stake desc nulls last limit ?",
        [limit],
    )
    cols = [d[0] for d in cur.description or []]
    return [dict(zip(cols, r, strict=True)) for r in cur.fetchall()]
