"""Every table, view and column a user can query carries a comment (README: `DESCRIBE` and
`duckdb_columns()` explain them). Issue 12 found 168 of 251 columns commented and no view."""

from __future__ import annotations

import duckdb
import pytest
from support.pipeline import reconciled_db

SCHEMAS = ("raw", "core", "recon", "meta")


@pytest.fixture(scope="module")
def con() -> duckdb.DuckDBPyConnection:
    """A database after a whole run: every schema, table, view and model table exists."""
    return reconciled_db("clean", "v2.0", "tiny")


def test_every_table_and_view_has_a_comment(con: duckdb.DuckDBPyConnection) -> None:
    missing = con.execute(
        "select schema_name || '.' || table_name from duckdb_tables() "
        "where schema_name in ? and comment is null "
        "union all select schema_name || '.' || view_name from duckdb_views() "
        "where schema_name in ? and not internal and comment is null order by 1",
        [list(SCHEMAS), list(SCHEMAS)],
    ).fetchall()
    assert missing == []


def test_every_column_has_a_comment(con: duckdb.DuckDBPyConnection) -> None:
    columns = con.execute(
        "select schema_name || '.' || table_name || '.' || column_name, comment "
        "from duckdb_columns() where schema_name in ? order by 1",
        [list(SCHEMAS)],
    ).fetchall()
    assert len(columns) > 250  # the whole model is there
    assert [name for name, comment in columns if not comment] == []


def test_the_views_users_query_are_there(con: duckdb.DuckDBPyConnection) -> None:
    views = {
        r[0]
        for r in con.execute(
            "select schema_name || '.' || view_name from duckdb_views() where not internal"
        ).fetchall()
    }
    assert {"recon.open_breaks", "core.card_balances", "recon.coverage"} <= views
