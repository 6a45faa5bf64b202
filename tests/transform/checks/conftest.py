"""The database of the check tests: an in-memory DuckDB with the core tables and a covered
history (``support.builders``: 2026-01-01 .. end of 2026-01-10, every stream)."""

from __future__ import annotations

from collections.abc import Iterator

import duckdb
import pytest
from support.builders import cover_all, prepare


@pytest.fixture
def db() -> Iterator[duckdb.DuckDBPyConnection]:
    con = duckdb.connect()
    prepare(con)
    cover_all(con)
    yield con
    con.close()
