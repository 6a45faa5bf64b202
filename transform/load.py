"""Loading canonical rows into DuckDB: validate, quarantine, upsert, count.

For one batch of pages of one stream, in the caller's transaction:

1. normalise the items into the canonical frame (``transform.normalize``);
2. validate it (``transform.schemas``): rows that cannot be trusted as records go to
   ``core.quarantine`` with the checks they failed and the raw item;
3. collapse duplicate keys: identical copies are one row, differing copies keep the
   latest fetch and quarantine the others as conflicts — also across batches of the
   same run;
4. upsert the rest by natural key (latest fetch wins) from Arrow in one statement;
5. add the counts to ``meta.runs``: fetched = loaded + quarantined, always.

SQL identifiers come from this module's table specs, never from the API or the user;
values travel as parameters or registered frames.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import duckdb
import polars as pl

from transform.normalize import Lineage, Normalized, normalize
from transform.state import RAW_SCHEMA_SQL, PageRecord, Store
from transform.tables import FEE_ITEMS, TABLES, TableSpec
from transform.validate import Validated, dedupe_latest, validate
from transform.vocab import CARD_LOG_TYPES as FUNDING_ORDER_TYPES

__all__ = [
    "TABLES",
    "LoadCounts",
    "PageLoad",
    "TableSpec",
    "commit_batch",
    "init_schema",
    "load_items",
    "load_pages",
    "record_run",
    "unsnapshotted",
]

SQL_DIR = Path(__file__).parent / "sql"
LINEAGE = ("run_id", "fetched_at", "response_id")


@dataclass
class LoadCounts:
    fetched: int = 0
    loaded: int = 0
    quarantined: int = 0

    def __iadd__(self, other: LoadCounts) -> LoadCounts:
        self.fetched += other.fetched
        self.loaded += other.loaded
        self.quarantined += other.quarantined
        return self


def init_schema(con: duckdb.DuckDBPyConnection) -> None:
    """Create the raw, core and meta tables (idempotent)."""
    con.execute(RAW_SCHEMA_SQL)
    for name in ("core.sql", "meta.sql"):
        con.execute((SQL_DIR / name).read_text(encoding="utf-8"))


def load_items(
    con: duckdb.DuckDBPyConnection,
    stream: str,
    pages: Sequence[tuple[Lineage, Any]],
    run_id: str,
) -> LoadCounts:
    """Normalise, validate and upsert one batch; returns its counts (already recorded)."""
    spec = TABLES[stream]
    normalized: Normalized = normalize(stream, pages)
    fetched = len(normalized.frame)
    checked: Validated = validate(stream, normalized)
    kept, conflicts = dedupe_latest(checked.valid, spec.key, "fetched_at")
    columns = list(spec.columns)  # stated in code; tests hold them equal to core.sql
    staged = kept.select(columns)
    superseded = (
        0 if spec.history else _quarantine_same_run_conflicts(con, spec, staged, run_id, columns)
    )
    _upsert(con, spec, staged, columns)
    if stream == "card_account_logs" and checked.fee_items is not None:
        kept_items = checked.fee_items.join(kept.select("_row"), on="_row", how="semi")
        _replace_fee_items(con, kept_items, staged, run_id)
    rejected = pl.concat(
        [
            checked.rejected.select(
                "item_key", "failed_checks", "_raw", "response_id", "fetched_at"
            ),
            conflicts.select("item_key", "failed_checks", "_raw", "response_id", "fetched_at"),
        ],
        how="vertical_relaxed",
    )
    _quarantine(con, run_id, stream, rejected)
    counts = LoadCounts(
        fetched=fetched,
        loaded=len(staged) + _identical_duplicates(checked.valid, kept, conflicts) - superseded,
        quarantined=len(rejected) + superseded,
    )
    record_run(con, run_id, stream, counts)
    return counts


def _identical_duplicates(valid: pl.DataFrame, kept: pl.DataFrame, conflicts: pl.DataFrame) -> int:
    """Copies of a row delivered twice with the same content: loaded (idempotently)."""
    return len(valid) - len(kept) - len(conflicts)


def _upsert(
    con: duckdb.DuckDBPyConnection, spec: TableSpec, staged: pl.DataFrame, columns: list[str]
) -> None:
    if staged.is_empty():
        return
    cols = ", ".join(columns)
    key = ", ".join(spec.key)
    con.register("_staged", staged.to_arrow())
    try:
        if spec.history:
            con.execute(f"insert or ignore into {spec.table} ({cols}) select {cols} from _staged")  # noqa: S608
        else:
            updates = ", ".join(f"{c} = excluded.{c}" for c in columns if c not in spec.key)
            con.execute(
                f"insert into {spec.table} ({cols}) select {cols} from _staged "  # noqa: S608
                f"on conflict ({key}) do update set {updates} "
                f"where excluded.fetched_at >= {spec.table}.fetched_at"
            )
    finally:
        con.unregister("_staged")


def _quarantine_same_run_conflicts(
    con: duckdb.DuckDBPyConnection,
    spec: TableSpec,
    staged: pl.DataFrame,
    run_id: str,
    columns: list[str],
) -> int:
    """Rows this run already loaded whose key now arrives with other content.

    The new fetch wins; the earlier version moves to quarantine as a conflict (and
    from "loaded" to "quarantined" in the run's counts).
    """
    if staged.is_empty():
        return 0
    content = [c for c in columns if c not in spec.key and c not in LINEAGE]
    on = " and ".join(f"e.{k} = s.{k}" for k in spec.key)
    differs = " or ".join(f"e.{c} is distinct from s.{c}" for c in content)
    key_text = " || '/' || ".join(f"cast(e.{k} as varchar)" for k in spec.key)
    con.register("_staged", staged.to_arrow())
    try:
        n = con.execute(
            f"""
            insert into core.quarantine
            select ?, ?, {key_text},
                   'conflict: the same key arrived again with different content in this run; '
                   || 'the latest fetch was kept',
                   to_json(e), e.response_id, ?, e.fetched_at
            from {spec.table} e join _staged s on {on}
            where e.run_id = ? and ({differs})
            """,  # noqa: S608 - identifiers from TABLES and the catalogue only
            [run_id, spec.stream, datetime.now(UTC), run_id],
        ).fetchall()[0]
    finally:
        con.unregister("_staged")
    return int(n[0]) if n else 0


def _replace_fee_items(
    con: duckdb.DuckDBPyConnection, fee_items: pl.DataFrame, staged: pl.DataFrame, run_id: str
) -> None:
    """A loaded card log's fee items replace whatever the log had before."""
    if staged.is_empty():
        return
    logs = staged.select("account_log_id")
    items = (
        fee_items.join(logs, on="account_log_id", how="semi")
        .with_columns(pl.lit(run_id).alias("run_id"))
        .select(*FEE_ITEMS.columns)
    )
    con.register("_logs", logs.to_arrow())
    con.register("_items", items.to_arrow())
    try:
        con.execute(
            f"delete from {FEE_ITEMS.table} where account_log_id in "  # noqa: S608 - a spec
            "(select account_log_id from _logs)"
        )
        cols = ", ".join(FEE_ITEMS.columns)
        con.execute(f"insert into {FEE_ITEMS.table} ({cols}) select {cols} from _items")  # noqa: S608
    finally:
        con.unregister("_logs")
        con.unregister("_items")


def _quarantine(
    con: duckdb.DuckDBPyConnection, run_id: str, stream: str, rejected: pl.DataFrame
) -> None:
    if rejected.is_empty():
        return
    frame = rejected.with_columns(
        pl.lit(run_id).alias("run_id"),
        pl.lit(stream).alias("stream"),
        pl.lit(datetime.now(UTC)).alias("quarantined_at"),
    ).select(
        "run_id",
        "stream",
        "item_key",
        "failed_checks",
        pl.col("_raw").alias("raw_item"),
        "response_id",
        "quarantined_at",
        "fetched_at",
    )
    con.register("_rejected", frame.to_arrow())
    try:
        con.execute("insert into core.quarantine by name select * from _rejected")
    finally:
        con.unregister("_rejected")


def record_run(
    con: duckdb.DuckDBPyConnection,
    run_id: str,
    stream: str,
    counts: LoadCounts,
    *,
    error: str | None = None,
) -> None:
    """Add a batch's counts to ``meta.runs`` (one row per run and stream)."""
    now = datetime.now(UTC)
    con.execute(
        """
        insert into meta.runs (run_id, stream, fetched, loaded, quarantined, error,
                               started_at, updated_at)
        values (?, ?, ?, ?, ?, ?, ?, ?)
        on conflict (run_id, stream) do update set
            fetched = meta.runs.fetched + excluded.fetched,
            loaded = meta.runs.loaded + excluded.loaded,
            quarantined = meta.runs.quarantined + excluded.quarantined,
            error = coalesce(excluded.error, meta.runs.error),
            updated_at = excluded.updated_at
        """,
        [run_id, stream, counts.fetched, counts.loaded, counts.quarantined, error, now, now],
    )


@dataclass(frozen=True, slots=True)
class PageLoad:
    """A page to commit: the page as received, what is known of it, and its items.

    ``items`` are the page's items as the run read them (a list), or a snapshot reply's
    ``data`` (one object, or v1.4's list of accounts).
    """

    page: PageRecord
    lineage: Lineage
    items: Any


def commit_batch(
    con: duckdb.DuckDBPyConnection,
    run_id: str,
    pages: Sequence[PageLoad],
    *,
    watermarks: Mapping[str, date] | None = None,
    before_commit: Callable[[], None] | None = None,
    load: bool = True,
    land: bool = True,
) -> dict[str, LoadCounts]:
    """Land ``pages``, load their rows and move ``watermarks``, in one DuckDB transaction.

    The one way rows reach ``core.*``: a run's batches, its snapshots and a rebuild from
    ``raw.pages`` all come here. A watermark never runs ahead of the rows it covers: it
    moves only in the transaction that loads them. When loading fails (a schema failure),
    the pages are still landed, alone (the audit trail keeps every reply), the watermarks
    stay where they were and the error is raised. ``before_commit`` runs inside the open
    transaction (the tests' crash points). ``load=False`` lands the pages alone (what a
    rebuild loads later: the benchmarks' input); ``land=False`` loads pages already in
    ``raw.pages`` (a rebuild).
    """
    store = Store(con, create=False)
    records = [p.page for p in pages] if land else []
    try:
        with store.transaction():
            store.land_pages(run_id, records)
            counts = load_pages(con, run_id, pages) if load else {}
            if before_commit is not None:
                before_commit()
            at = datetime.now(UTC)
            for stream, mark in (watermarks or {}).items():
                store.set_watermark(stream, mark, run_id, at)
    except Exception:
        with store.transaction():
            store.land_pages(run_id, records)
        raise
    return counts


def load_pages(
    con: duckdb.DuckDBPyConnection, run_id: str, pages: Sequence[PageLoad]
) -> dict[str, LoadCounts]:
    """Load the items of pages of any streams (in the caller's transaction), per stream."""
    batches: dict[str, list[tuple[Lineage, Any]]] = {}
    for p in pages:
        batches.setdefault(p.page.stream, []).append((p.lineage, p.items))
    return {stream: load_items(con, stream, batch, run_id) for stream, batch in batches.items()}


def unsnapshotted(
    con: duckdb.DuckDBPyConnection,
) -> tuple[set[str], list[tuple[str, str, str | None]]]:
    """Cards and orders the loaded logs refer to that have no snapshot yet.

    A run that died after loading a stream but before its snapshots leaves them behind;
    the next run's window may no longer reach those logs, so it asks for them here.
    Completed and Failed orders are final and never asked for again. Orders come as
    ``(order_no, order_type, card_id)``.
    """
    cards = con.execute(
        """
        select distinct card_id from (
            select card_id from core.transactions union all
            select card_id from core.card_account_logs union all
            select card_id from core.account_logs where card_id is not null
        ) where card_id not in (select card_id from core.card_snapshots)
        """
    ).fetchall()
    orders = con.execute(
        """
        with refs as (
            select order_no, log_type as order_type, card_id from core.card_account_logs
            union all
            select order_no, trans_type, card_id from core.account_logs
            where trans_type in (select unnest($funding))
        )
        select order_no, any_value(order_type), any_value(card_id) from refs
        where order_no not in (
            select order_no from core.orders where status in ('Completed', 'Failed'))
        group by order_no
        order by order_no
        """,
        {"funding": list(FUNDING_ORDER_TYPES)},
    ).fetchall()
    return {r[0] for r in cards}, [(r[0], r[1], r[2]) for r in orders]
