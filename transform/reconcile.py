"""Reconciliation: run every check of RECONCILIATION.md in DuckDB, keep breaks with a lifecycle.

The money model (which transaction status and direction moves a balance which way,
what each card log does to the card and the account, which account log types are
funding, holds or settlements, what an order moves) is CSV files in
``transform/model/``, loaded into ``recon.*`` tables that the SQL joins on. A user
adapts the model by editing them (or pointing ``ReconSettings.model_dir`` elsewhere).

The SQL is layered one way: ``sql/staging/stg_*.sql`` (views in schema ``staging`` over
``core.*``) -> ``sql/marts/*.sql`` (one view per file: ``core.card_balances``,
``recon.aged_breaks``, ``recon.open_breaks``) -> ``sql/checks/*.sql``. The check catalogue
is data, ``sql/checks/checks.csv`` (name, severity, stream, precondition, skip reason, root
rank), loaded into ``recon.checks`` for the SQL and read into :data:`CHECKS` here. Each
check is one SQL file that returns every entity it compared, with ``is_break`` and
``out_of_window`` flags. The runner turns them into the run's breaks, counts what was
checked, merges the breaks into ``recon.breaks`` (identity ``(check, entity_type,
entity_id, currency)``: first seen kept, last seen updated, no longer found -> resolved),
and writes ``recon.run_summary``.
"""

from __future__ import annotations

import csv
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal
from pathlib import Path

import duckdb
import polars as pl

from transform.load import init_schema
from transform.state import RAW_SCHEMA_SQL as EXTRACT_SCHEMA  # raw.pages / meta.state

__all__ = [
    "CHECKS",
    "Check",
    "ReconResult",
    "ReconSettings",
    "load_money_model",
    "reconcile",
    "write_summary",
]

HERE = Path(__file__).parent
SQL_DIR = HERE / "sql"
CHECKS_DIR = SQL_DIR / "checks"
MODEL_DIR = HERE / "model"
DEFAULT_LABEL = "default"  # the account label of a run that names none


@dataclass(frozen=True)
class Check:
    """One check of the catalogue (a row of ``sql/checks/checks.csv``)."""

    name: str
    severity: str
    requires: str | None = None  # a precondition: sql/checks/requires/<requires>.sql
    skip_reason: str = ""  # why the check is skipped when its precondition does not hold
    stream: str | None = None  # the stream its out-of-window comparisons count under
    root_rank: int | None = None  # lowest explains the other breaks of one money movement

    @property
    def sql(self) -> str:
        return (CHECKS_DIR / f"{self.name}.sql").read_text(encoding="utf-8")

    @property
    def requires_sql(self) -> str | None:
        """A query of one boolean: can the check run on this data?"""
        if self.requires is None:
            return None
        return (CHECKS_DIR / "requires" / f"{self.requires}.sql").read_text(encoding="utf-8")


def _read_catalogue(path: Path) -> tuple[Check, ...]:
    with path.open(encoding="utf-8", newline="") as f:
        return tuple(
            Check(
                name=row["name"],
                severity=row["severity"],
                requires=row["requires"] or None,
                skip_reason=row["skip_reason"],
                stream=row["stream"] or None,
                root_rank=int(row["root_rank"]) if row["root_rank"] else None,
            )
            for row in csv.DictReader(f)
        )


CHECKS: tuple[Check, ...] = _read_catalogue(CHECKS_DIR / "checks.csv")  # in the order they run

# A comparison that includes an untrusted record (staging.stg_untrusted) is blocked by quarantine:
# counted, never a break, never a tie (RECONCILIATION.md, "Records that cannot be trusted").
# It includes one when the record is the entity compared; points to it (a ledger entry or card
# log naming a transaction or order); is a transaction or card log of a card whose balance or
# credit is rolled forward; is a ledger entry of a currency whose balance or chain is compared
# (an unreadable currency: any); or is the transaction a ledger entry points to (one sent
# without an id may be any of its card's: it blocks their entries' ledger_missing_txn).
BLOCKED_SQL = """exists (
    select 1 from staging.stg_untrusted u
    where (u.entity_type = c.entity_type and u.entity_id = c.entity_id)
       or u.ref = c.entity_id
       or (c.entity_type = 'card' and c.check_name in ('card_balance', 'card_credit_usage')
           and u.entity_type in ('transaction', 'card_account_log') and u.card_id = c.entity_id)
       or (c.check_name in ('account_balance', 'account_ledger_chain')
           and u.entity_type = 'account_log' and coalesce(u.currency = c.currency, true))
       or (c.check_name = 'account_balance' and u.entity_type = 'account'
           and coalesce(u.currency = c.currency, true))
       or (c.check_name = 'ledger_missing_txn' and u.entity_type = 'transaction'
           and u.entity_id = (select a.order_no from core.account_logs a
                              where a.account_log_id = c.entity_id))
       or (c.check_name = 'ledger_missing_txn' and u.entity_type = 'transaction'
           and u.entity_id like 'raw:%' and u.card_id = c.card_id)
)"""

BREAK_COLUMNS = (
    "check_name", "severity", "entity_type", "entity_id", "card_id", "currency", "expected",
    "actual", "difference", "as_of", "detail",
)  # fmt: skip


@dataclass(frozen=True)
class ReconSettings:
    tolerance: Decimal = Decimal("0.00")  # amounts tie to the cent
    stale_days: int = 7
    variance_pct: Decimal = Decimal("10")
    model_dir: Path = MODEL_DIR


@dataclass
class ReconResult:
    run_id: str
    checks: pl.DataFrame  # per check: severity, entities_checked, breaks, out_of_window, skipped
    open_breaks: int
    new_breaks: int
    resolved_breaks: int
    errors: int
    warnings: int
    skipped: dict[str, str] = field(default_factory=dict)


MODEL_TABLES = {
    "transaction_effects.csv": "recon.transaction_effects_model",
    "card_log_effects.csv": "recon.card_log_effects",
    "account_log_types.csv": "recon.account_log_types",
    "order_amounts.csv": "recon.order_amounts",
    "transaction_types.csv": "recon.transaction_types",
}
# What each column of the money model CSVs means (their comments in DuckDB).
MODEL_COLUMNS = {
    "status": "A transaction's canonical status: authorized, settled or failed.",
    "funds_direction": "Expenditure or Income.",
    "sign": "The sign of the effect on the card: -1, 0 or 1.",
    "amount": "Which amount moves: auth_amount or settled_amount.",
    "log_type": "A card account log type (ApplyCard, CardTopUp, CardWithdraw, CardCancel).",
    "balance_sign": "The sign of the card log's effect on the card balance.",
    "balance_amount": "Which amount moves the card: trans_amount or total_amount.",
    "account_sign": "The sign of the paired account entry.",
    "account_amount": "Which amount the paired account entry moves: trans_amount or total_amount.",
    "trans_type": "An account log type (accountTransType).",
    "category": "funding, sb_hold, sb_settlement or account: how the checks treat the type.",
    "moves_blocked": "Whether the type moves money between available and blocked.",
    "card_model": "Standard or ShareBalance.",
    "order_type": "The order type (orderType).",
    "moved_amount": "What the order moves through the account: principal, principal_plus_fee, fee.",
    "fee_compared_with_card_log": "Whether fee_mismatch compares the order fee with the card log.",
    "transaction_type": "A canonical transaction type (transactionType).",
    "moves_money": "Whether a record of the type moves money (has an effect); false: AuthQuery.",
    "can_hold": "Whether an authorised record of the type holds money (an open hold).",
    "note": "The rule in words.",
}
# The SQL layers, in the order they are created: each reads only the ones before it.
STAGING_VIEWS = (
    "stg_coverage", "stg_cards", "stg_transaction_effects", "stg_card_transaction_effects",
    "stg_quarantined_records", "stg_untrusted",
)  # fmt: skip
MART_VIEWS = ("card_balances", "aged_breaks", "open_breaks")
# Staging views users and tests query by the names they had in schema recon: each stays a
# compatibility view recon.<name> over staging.stg_<name>.
COMPAT_VIEWS = (
    "coverage", "cards", "transaction_effects", "card_transaction_effects",
    "quarantined_records", "untrusted",
)  # fmt: skip
# Views whose columns are another's: their comments are copied from it (view <- source).
INHERITED_COMMENTS = (
    ("recon.aged_breaks", "recon.breaks"),
    ("recon.open_breaks", "recon.aged_breaks"),
    ("staging.stg_untrusted", "staging.stg_quarantined_records"),
)


def load_money_model(con: duckdb.DuckDBPyConnection, model_dir: Path = MODEL_DIR) -> None:
    """(Re)load the money model CSVs into ``recon.*`` tables."""
    con.execute("create schema if not exists recon")
    for file, table in MODEL_TABLES.items():
        path = model_dir / file
        if not path.is_file():
            raise FileNotFoundError(f"money model file {path} is missing; copy it from {MODEL_DIR}")
        frame = pl.read_csv(path, infer_schema_length=0)  # all text; cast below
        casts = {
            "sign": pl.Int32,
            "balance_sign": pl.Int32,
            "account_sign": pl.Int32,
        }
        frame = frame.with_columns(
            [pl.col(c).cast(t) for c, t in casts.items() if c in frame.columns]
            + [
                (pl.col(c).str.to_lowercase() == "true").alias(c)
                for c in ("moves_blocked", "fee_compared_with_card_log", "moves_money", "can_hold")
                if c in frame.columns
            ]
        )
        con.register("_model", frame.to_arrow())
        try:
            con.execute(f"create or replace table {table} as select * from _model")  # noqa: S608
        finally:
            con.unregister("_model")
        note = f"The money model, loaded from {path.name} (edit the CSV to adapt it)."
        con.execute(f"comment on table {table} is '{note}'")  # text from code, not input
        _comment_columns(con, table, {c: MODEL_COLUMNS.get(c, "") for c in frame.columns})


def _prepare(
    con: duckdb.DuckDBPyConnection, run_id: str, as_of: datetime, settings: ReconSettings
) -> None:
    con.execute(EXTRACT_SCHEMA)
    init_schema(con)
    con.execute((SQL_DIR / "recon.sql").read_text(encoding="utf-8"))
    load_money_model(con, settings.model_dir)
    con.execute(
        "insert into recon.params values (?, ?, ?, ?, ?)",
        [run_id, as_of, settings.tolerance, settings.stale_days, settings.variance_pct],
    )
    _load_catalogue(con)
    con.execute("create schema if not exists staging")
    for view in STAGING_VIEWS:
        con.execute((SQL_DIR / "staging" / f"{view}.sql").read_text(encoding="utf-8"))
    for view in MART_VIEWS:
        con.execute((SQL_DIR / "marts" / f"{view}.sql").read_text(encoding="utf-8"))
    for view, source in INHERITED_COMMENTS:
        _comment_columns(con, view, _column_comments(con, source), only_missing=True)
    for name in COMPAT_VIEWS:
        _compat_view(con, f"recon.{name}", f"staging.stg_{name}")


def _load_catalogue(con: duckdb.DuckDBPyConnection) -> None:
    """``recon.checks``: the catalogue as the SQL joins it (the summary's streams, the roots)."""
    frame = pl.DataFrame(
        [(c.name, c.severity, c.stream, c.requires, c.skip_reason or None, c.root_rank)
         for c in CHECKS],
        schema={"name": pl.String, "severity": pl.String, "stream": pl.String,
                "requires": pl.String, "skip_reason": pl.String, "root_rank": pl.Int32},
        orient="row",
    )  # fmt: skip
    con.register("_catalogue", frame.to_arrow())
    try:
        con.execute("insert into recon.checks by name select * from _catalogue")
    finally:
        con.unregister("_catalogue")


def _compat_view(con: duckdb.DuckDBPyConnection, view: str, source: str) -> None:
    """``view`` as ``select * from source``, commented as its source is (names are ours)."""
    con.execute(f"create or replace view {view} as select * from {source}")  # noqa: S608
    schema, name = source.split(".")
    row = con.execute(
        "select comment from duckdb_views() where schema_name = ? and view_name = ?",
        [schema, name],
    ).fetchall()
    text = f"Compatibility view: {source} under the name it had before the staging schema. "
    quoted = (text + (row[0][0] if row and row[0][0] else "")).replace("'", "''")
    con.execute(f"comment on view {view} is '{quoted}'")
    _comment_columns(con, view, _column_comments(con, source))


def _column_comments(con: duckdb.DuckDBPyConnection, table: str) -> dict[str, str]:
    schema, name = table.split(".")
    rows = con.execute(
        "select column_name, comment from duckdb_columns() where schema_name = ? "
        "and table_name = ? and comment is not null",
        [schema, name],
    ).fetchall()
    return dict(rows)


def _comment_columns(
    con: duckdb.DuckDBPyConnection,
    table: str,
    comments: dict[str, str],
    *,
    only_missing: bool = False,
) -> None:
    """``comment on column`` for each column of ``table`` named in ``comments`` (our own
    text: quotes doubled, since DDL takes no parameters)."""
    schema, name = table.split(".")
    rows = con.execute(
        "select column_name, comment from duckdb_columns() where schema_name = ? "
        "and table_name = ?",
        [schema, name],
    ).fetchall()
    for column, current in rows:
        text = comments.get(column)
        if not text or (only_missing and current):
            continue
        quoted = text.replace("'", "''")
        con.execute(f"""comment on column {table}."{column}" is '{quoted}'""")


def reconcile(
    con: duckdb.DuckDBPyConnection,
    run_id: str,
    as_of: datetime,
    settings: ReconSettings | None = None,
) -> ReconResult:
    """Run every check over all of ``core.*`` and update ``recon.breaks``."""
    settings = settings or ReconSettings()
    _prepare(con, run_id, as_of, settings)
    con.execute(
        "create or replace temp table current_breaks as select "
        + ", ".join(f"cast(null as {t}) as {c}" for c, t in _BREAK_TYPES.items())
        + " where false"
    )
    # identities of open breaks that a check compared again, in the window, and found to tie:
    # only these are resolved (an entity a run did not compare keeps its status)
    con.execute("create or replace temp table tied (break_id varchar)")
    stats: list[tuple[str, str, int | None, int | None, int | None, str | None, int | None]] = []
    skipped: dict[str, str] = {}
    untrusted = bool(con.execute("select count(*) from staging.stg_untrusted").fetchall()[0][0])
    for check in CHECKS:
        if check.requires_sql is not None:
            ok = con.execute(check.requires_sql).fetchall()[0]
            if not (ok and ok[0]):
                skipped[check.name] = check.skip_reason
                stats.append(
                    (check.name, check.severity, None, None, None, check.skip_reason, None)
                )
                continue
        # Two passes over the check: counts (DuckDB prunes the unused text columns), then
        # the breaks alone, so detail strings are built only for the rows that break.
        # ``breaks`` counts the breaks of the check's own severity: a row a check reports at
        # a lower one (card_balance's insufficient_history, info) is in recon.breaks and in
        # the summary's count of its severity, not among the check's errors. A row blocked
        # by quarantine is neither a break nor a tie: it is counted as blocked.
        blocked = "false" if check.name == "quarantined_record" or not untrusted else BLOCKED_SQL
        sql = f"select c.*, {blocked} as blocked from ({check.sql}) c"  # noqa: S608
        count_sql = (
            "select count(*), "
            "count(*) filter (where is_break and not out_of_window and not blocked "
            "and severity = ?), "
            "count(*) filter (where is_break and out_of_window), "
            "count(*) filter (where is_break and not out_of_window and not blocked), "
            "count(*) filter (where blocked and not out_of_window) from ({sql})"
        )  # the check SQL is one of our own files, never input
        row = con.execute(count_sql.format(sql=sql), [check.severity]).fetchall()[0]
        stats.append((check.name, check.severity, row[0], row[1], row[2], None, row[4]))
        if row[3]:  # a check that found nothing is not run a second time (B3: ~20 s of 42)
            cols = ", ".join(BREAK_COLUMNS)
            con.execute(
                f"insert into current_breaks select {cols} from ({sql}) "  # noqa: S608
                "where is_break and not out_of_window and not blocked"
            )
        if row[0] and _has_open_breaks(con, check.name):
            con.execute(
                f"insert into tied select {BREAK_ID_SQL} from ({sql}) "  # noqa: S608
                f"where not is_break and not out_of_window and not blocked and {BREAK_ID_SQL} in "
                """(select break_id from recon.breaks where status = 'open' and "check" = ?)""",
                [check.name],
            )
    checks = pl.DataFrame(
        stats,
        schema={
            "check": pl.String,
            "severity": pl.String,
            "entities_checked": pl.Int64,
            "breaks": pl.Int64,
            "out_of_window": pl.Int64,
            "skipped_reason": pl.String,
            "blocked_by_quarantine": pl.Int64,
        },
        orient="row",
    )
    con.register("_checks", checks.to_arrow())
    try:
        con.execute(
            "insert or replace into recon.check_runs by name select ? as run_id, "
            '"check", severity, entities_checked, breaks, out_of_window, skipped_reason, '
            "? as ran_at, blocked_by_quarantine from _checks",
            [run_id, as_of],
        )
    finally:
        con.unregister("_checks")
    new, resolved = _merge_breaks(con, run_id, as_of)
    counts = con.execute(  # open breaks are errors and warnings; infos are notes
        "select count(*) filter (where severity in ('error', 'warning')), "
        "count(*) filter (where severity = 'error'), "
        "count(*) filter (where severity = 'warning') from recon.breaks where status = 'open'"
    ).fetchall()[0]
    assert counts is not None
    return ReconResult(run_id, checks, counts[0], new, resolved, counts[1], counts[2], skipped)


_BREAK_TYPES = {
    "check_name": "varchar", "severity": "varchar", "entity_type": "varchar",
    "entity_id": "varchar", "card_id": "varchar", "currency": "varchar",
    "expected": "decimal(18,2)", "actual": "decimal(18,2)", "difference": "decimal(18,2)",
    "as_of": "timestamptz", "detail": "varchar",
}  # fmt: skip


def write_summary(
    con: duckdb.DuckDBPyConnection,
    run_id: str,
    failures: list[str] | None = None,
    *,
    label: str = DEFAULT_LABEL,
    dialect: str | None = None,
) -> str:
    """Write ``recon.run_summary`` for the run reconciled last; returns the verdict.

    ``failures`` are the reasons the run is incomplete (a stream or snapshot that failed).
    A check skipped because the dialect lacks a field is listed, but does not make the
    run incomplete: it could never run against this service. ``label`` (the account's
    name) and ``dialect`` are written on every row, beside the period reconciled and the
    snapshot time, so each report file says what it covers.
    """
    con.register(
        "summary_failures",
        pl.DataFrame({"reason": failures or []}, schema={"reason": pl.String}).to_arrow(),
    )
    con.register(
        "summary_run",
        pl.DataFrame(
            {"label": [label], "dialect": [dialect]},
            schema={"label": pl.String, "dialect": pl.String},
        ).to_arrow(),
    )
    try:
        con.execute("delete from recon.run_summary where run_id = ?", [run_id])
        sql = (SQL_DIR / "marts" / "run_summary.sql").read_text(encoding="utf-8")
        con.execute(f"insert into recon.run_summary by name {sql}")
    finally:
        con.unregister("summary_failures")
        con.unregister("summary_run")
    row = con.execute(
        "select verdict from recon.run_summary where run_id = ? and section = 'run'", [run_id]
    ).fetchall()
    return str(row[0][0])


# A break's identity (check, entity_type, entity_id, currency), hashed: its stable break_id.
BREAK_ID_SQL = (
    "md5(check_name || '|' || entity_type || '|' || entity_id || '|' || coalesce(currency, ''))"
)


def _has_open_breaks(con: duckdb.DuckDBPyConnection, check: str) -> bool:
    row = con.execute(
        """select count(*) > 0 from recon.breaks where status = 'open' and "check" = ?""",
        [check],
    ).fetchall()
    return bool(row and row[0][0])


def _merge_breaks(con: duckdb.DuckDBPyConnection, run_id: str, as_of: datetime) -> tuple[int, int]:
    """Upsert this run's breaks; resolve the open breaks a check compared again and found tie."""
    con.execute(
        f"""
        create or replace temp table found as
        select {BREAK_ID_SQL} as break_id, *
        from current_breaks
        qualify row_number() over (partition by break_id order by abs(difference) desc nulls last)
            = 1
        """  # noqa: S608 - BREAK_ID_SQL is our own constant
    )
    new_row = con.execute(
        "select count(*) from found where break_id not in (select break_id from recon.breaks)"
    ).fetchall()[0]
    roots = (SQL_DIR / "marts" / "break_roots.sql").read_text(encoding="utf-8")
    con.execute(f"create or replace temp table found_roots as {roots}")
    con.execute(
        """
        insert into recon.breaks by name
        select break_id, check_name as "check", severity, entity_type, entity_id, card_id,
               currency, expected, actual, difference, as_of, detail, ? as first_seen_at,
               ? as last_seen_at, 'open' as status, ? as run_id, r.root_id
        from found
        join found_roots r using (break_id)
        on conflict (break_id) do update set
            severity = excluded.severity, card_id = excluded.card_id,
            expected = excluded.expected, actual = excluded.actual,
            difference = excluded.difference, as_of = excluded.as_of, detail = excluded.detail,
            last_seen_at = excluded.last_seen_at, status = 'open', run_id = excluded.run_id,
            root_id = excluded.root_id
        """,
        [as_of, as_of, run_id],
    )
    resolved = con.execute(
        """
        update recon.breaks set status = 'resolved', run_id = ?
        where status = 'open'
          and break_id in (select break_id from tied)
          and break_id not in (select break_id from found)
        """,
        [run_id],
    ).fetchall()[0]
    return (int(new_row[0]) if new_row else 0), (int(resolved[0]) if resolved else 0)
