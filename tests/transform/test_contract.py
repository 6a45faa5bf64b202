"""The column contract stated in code is the DDL of transform/sql/core.sql.

``transform.columns`` states each stream's columns and types, ``transform.tables`` each
table's key; the loader relies on them instead of asking DuckDB. These tests create the
tables in an in-memory DuckDB and compare: names, order and types, primary keys, and the
models' nullability and uniqueness (a null the DDL refuses must be quarantined by the
model, never fail the insert).
"""

from __future__ import annotations

from collections.abc import Iterator

import duckdb
import pandera.polars as pa
import polars as pl
import pytest

from transform.columns import MONEY, TIME
from transform.load import init_schema
from transform.schemas import MODELS, CardFeeItemSchema
from transform.tables import FEE_ITEMS, KEYS, TABLES, TableSpec

SPECS = [*TABLES.values(), FEE_ITEMS]
MODEL_OF: dict[str, type[pa.DataFrameModel]] = {
    **{spec.table: MODELS[stream] for stream, spec in TABLES.items()},
    FEE_ITEMS.table: CardFeeItemSchema,
}
# What each normalised type loads as (money as DECIMAL(18,2), not the frame's 38,9).
SQL_TYPES: dict[pl.DataType, str] = {
    pl.String(): "VARCHAR",
    pl.Boolean(): "BOOLEAN",
    pl.Int32(): "INTEGER",
    MONEY: "DECIMAL(18,2)",
    TIME: "TIMESTAMP WITH TIME ZONE",
}
NOT_A_STREAM = {"core.quarantine"}  # written by the loader, not loaded from a stream


@pytest.fixture(scope="module")
def core() -> Iterator[duckdb.DuckDBPyConnection]:
    con = duckdb.connect()
    init_schema(con)
    yield con
    con.close()


def _ddl(con: duckdb.DuckDBPyConnection, table: str) -> list[tuple[str, str, bool]]:
    schema, name = table.split(".")
    rows = con.execute(
        "select column_name, data_type, is_nullable from duckdb_columns() "
        "where schema_name = ? and table_name = ? order by column_index",
        [schema, name],
    ).fetchall()
    return [(str(c), str(t), bool(n)) for c, t, n in rows]


def _primary_key(con: duckdb.DuckDBPyConnection, table: str) -> list[tuple[str, ...]]:
    schema, name = table.split(".")
    rows = con.execute(
        "select constraint_column_names from duckdb_constraints() "
        "where schema_name = ? and table_name = ? and constraint_type = 'PRIMARY KEY'",
        [schema, name],
    ).fetchall()
    return [tuple(r[0]) for r in rows]


def test_every_core_table_has_a_spec(core: duckdb.DuckDBPyConnection) -> None:
    tables = core.execute(
        "select schema_name || '.' || table_name from duckdb_tables() where schema_name = 'core'"
    ).fetchall()
    assert {t for (t,) in tables} == {spec.table for spec in SPECS} | NOT_A_STREAM


@pytest.mark.parametrize("spec", SPECS, ids=lambda spec: spec.table)
def test_the_columns_in_code_are_the_tables_columns_and_types(
    core: duckdb.DuckDBPyConnection, spec: TableSpec
) -> None:
    ddl = _ddl(core, spec.table)
    assert [(c, t) for c, t, _ in ddl] == [(c, SQL_TYPES[t]) for c, t in spec.dtypes.items()]
    assert spec.columns == tuple(c for c, _, _ in ddl)


@pytest.mark.parametrize("spec", SPECS, ids=lambda spec: spec.table)
def test_the_key_in_code_is_the_tables_primary_key(
    core: duckdb.DuckDBPyConnection, spec: TableSpec
) -> None:
    assert _primary_key(core, spec.table) == [spec.key]
    assert MODEL_OF[spec.table].to_schema().unique == spec.key
    if spec is not FEE_ITEMS:
        assert KEYS[spec.stream] == spec.key


@pytest.mark.parametrize("spec", SPECS, ids=lambda spec: spec.table)
def test_the_model_requires_what_the_table_requires(
    core: duckdb.DuckDBPyConnection, spec: TableSpec
) -> None:
    columns = MODEL_OF[spec.table].to_schema().columns
    assert {c: columns[c].nullable for c in columns} == {
        c: nullable for c, _, nullable in _ddl(core, spec.table)
    }
