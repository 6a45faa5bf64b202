"""What a run keeps of the wire in DuckDB: the raw pages and the per-stream watermark.

``raw.pages`` holds every page exactly as it came back (card numbers and CVVs
removed from card snapshots before anything is stored): the audit trail and the
replay source. ``meta.state`` holds each stream's watermark — the last day fully
extracted — and is written in the same transaction as the rows it covers, so a run
killed at any point never leaves a watermark ahead of its data.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from datetime import date, datetime
from pathlib import Path
from typing import Protocol

import duckdb
import pyarrow as pa

__all__ = ["RAW_SCHEMA_SQL", "PageRecord", "Store", "memory_size"]

RAW_SCHEMA_SQL = (Path(__file__).parent / "sql" / "raw.sql").read_text(encoding="utf-8")

PAGES_SCHEMA = pa.schema(
    [
        ("run_id", pa.string()),
        ("stream", pa.string()),
        ("slice_from", pa.date32()),
        ("slice_to", pa.date32()),
        ("page_no", pa.int32()),
        ("request_path", pa.string()),
        ("request_params", pa.string()),
        ("response_id", pa.string()),
        ("fetched_at", pa.timestamp("us", tz="UTC")),
        ("item_count", pa.int32()),
        ("payload", pa.string()),
        ("service_at", pa.timestamp("us", tz="UTC")),
    ]
)


class PageRecord(Protocol):
    """One page to land in ``raw.pages`` (extract's ``Page`` is one; so is a stored row)."""

    @property
    def stream(self) -> str: ...
    @property
    def slice_from(self) -> date | None: ...
    @property
    def slice_to(self) -> date | None: ...
    @property
    def page_no(self) -> int: ...
    @property
    def request_path(self) -> str: ...
    @property
    def request_params(self) -> str: ...  # JSON text
    @property
    def response_id(self) -> str | None: ...
    @property
    def fetched_at(self) -> datetime: ...
    @property
    def item_count(self) -> int: ...
    @property
    def payload(self) -> str: ...  # JSON text
    @property
    def service_at(self) -> datetime | None: ...  # the reply's Date header


class Store:
    """The run's DuckDB connection for raw pages and watermarks (one writer per file)."""

    def __init__(self, con: duckdb.DuckDBPyConnection, *, create: bool = True) -> None:
        self.con = con
        if create:  # the tables (``transform.load.init_schema`` creates them with the rest)
            self.con.execute(RAW_SCHEMA_SQL)

    @contextmanager
    def transaction(self) -> Iterator[duckdb.DuckDBPyConnection]:
        """One DuckDB transaction: everything inside commits together or not at all."""
        self.con.execute("begin transaction")
        try:
            yield self.con
        except BaseException:
            self.con.execute("rollback")
            raise
        self.con.execute("commit")

    @contextmanager
    def memory_limit(self, limit: str | None) -> Iterator[None]:
        """DuckDB's ``memory_limit`` set to ``limit`` for the block (None: unchanged)."""
        if limit is None:
            yield
            return
        before = self._memory_limit()
        self.con.execute("reset memory_limit")
        default = self._memory_limit()
        # DuckDB prints the limit rounded: put back the default exactly, or the setting
        self.con.execute(f"set memory_limit = '{memory_size(limit)}'")
        try:
            yield
        finally:
            if before == default:
                self.con.execute("reset memory_limit")
            else:
                self.con.execute(f"set memory_limit = '{memory_size(before)}'")

    def _memory_limit(self) -> str:
        return str(self.con.execute("select current_setting('memory_limit')").fetchall()[0][0])

    def land_pages(self, run_id: str, pages: Sequence[PageRecord]) -> None:
        """Append pages in one bulk insert from Arrow (call inside a transaction)."""
        if not pages:
            return
        table = pa.table(
            {
                "run_id": [run_id] * len(pages),
                "stream": [p.stream for p in pages],
                "slice_from": [p.slice_from for p in pages],
                "slice_to": [p.slice_to for p in pages],
                "page_no": [p.page_no for p in pages],
                "request_path": [p.request_path for p in pages],
                "request_params": [p.request_params for p in pages],
                "response_id": [p.response_id for p in pages],
                "fetched_at": [p.fetched_at for p in pages],
                "item_count": [p.item_count for p in pages],
                "payload": [p.payload for p in pages],
                "service_at": [p.service_at for p in pages],
            },
            schema=PAGES_SCHEMA,
        )
        self.con.register("_landing_pages", table)
        try:
            self.con.execute("insert into raw.pages by name select * from _landing_pages")
        finally:
            self.con.unregister("_landing_pages")

    def watermark(self, stream: str) -> date | None:
        rows = self.con.execute(
            "select watermark from meta.state where stream = ?", [stream]
        ).fetchall()  # fetch to the end: DuckDB refuses some calls while a result is open
        return rows[0][0] if rows else None

    def set_watermark(self, stream: str, watermark: date, run_id: str, at: datetime) -> None:
        """Move a stream's watermark forward (call inside the transaction of its rows)."""
        self.con.execute(
            """
            insert into meta.state (stream, watermark, run_id, updated_at) values (?, ?, ?, ?)
            on conflict (stream) do update set
                watermark = greatest(meta.state.watermark, excluded.watermark),
                run_id = excluded.run_id,
                updated_at = excluded.updated_at
            """,
            [stream, watermark, run_id, at],
        )

    def reset_watermarks(self) -> None:
        self.con.execute("delete from meta.state")

    def final_orders(self) -> set[str]:
        """Order numbers already fetched Completed or Failed: final, they never change again."""
        rows = self.con.execute(
            """
            select distinct json_extract_string(payload, '$.data.orderNo')
            from raw.pages
            where stream = 'orders'
              and json_extract_string(payload, '$.data.status') in ('Completed', 'Failed')
            """
        ).fetchall()
        return {r[0] for r in rows if r[0]}


def memory_size(text: str) -> str:
    """A DuckDB memory size such as ``256MB`` or ``1.5 GiB`` (checked: it goes into SQL)."""
    if not re.fullmatch(r"\s*\d+(\.\d+)?\s*[KMGT]i?B\s*", text, flags=re.IGNORECASE):
        raise ValueError(f"not a memory size: {text!r} (use e.g. 256MB or 2GB)")
    return text.strip()
