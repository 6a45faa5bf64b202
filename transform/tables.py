"""One spec per stream: the ``core`` table its rows load into, their key, how they are kept.

This is the one statement of each table's natural key: the pandera models declare it
unique from here (``transform.schemas``), the loader upserts by it, and
``tests/transform/test_contract.py`` checks it is the table's primary key in
``transform/sql/core.sql``, as it checks the columns against the table's DDL.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

import polars as pl

from transform.columns import COLUMNS, FEE_ITEM_COLUMNS

__all__ = ["FEE_ITEMS", "KEYS", "TABLES", "TableSpec"]


@dataclass(frozen=True)
class TableSpec:
    """Where one stream's valid rows go, and by which key a later fetch replaces them."""

    stream: str
    table: str
    key: tuple[str, ...]
    dtypes: Mapping[str, pl.DataType]  # the loaded columns as normalised (money loads 18,2)
    history: bool = False  # snapshots: one row per fetch, never overwritten

    @property
    def columns(self) -> tuple[str, ...]:
        """The table's columns, in its DDL's order: what a batch loads."""
        return tuple(self.dtypes)


def _spec(stream: str, table: str, key: tuple[str, ...], *, history: bool = False) -> TableSpec:
    return TableSpec(stream, table, key, COLUMNS[stream], history)


TABLES: dict[str, TableSpec] = {
    spec.stream: spec
    for spec in (
        _spec("transactions", "core.transactions", ("transaction_id",)),
        _spec("card_account_logs", "core.card_account_logs", ("account_log_id",)),
        _spec("account_logs", "core.account_logs", ("account_log_id",)),
        _spec("cards", "core.card_snapshots", ("card_id", "fetched_at"), history=True),
        _spec("accounts", "core.account_snapshots", ("currency", "fetched_at"), history=True),
        _spec("orders", "core.orders", ("order_no",)),
    )
}
# The fee items of the card logs: loaded with their log, replacing the log's earlier items.
FEE_ITEMS = TableSpec(
    "card_account_logs", "core.card_fee_items", ("account_log_id", "item_no"), FEE_ITEM_COLUMNS
)
# The natural key of each stream (its first column is the quarantine's item_key).
KEYS: dict[str, tuple[str, ...]] = {stream: spec.key for stream, spec in TABLES.items()}
