"""Fixtures every test directory shares: one Prefect API server for the session."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from support.prefect import PrefectServer, prefect_server_at


@pytest.fixture(scope="session")
def prefect_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[PrefectServer]:
    """A real Prefect server, started once, on first use (see ``support.prefect``)."""
    with prefect_server_at(tmp_path_factory.mktemp("prefect-server")) as server:
        yield server
