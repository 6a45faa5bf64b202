"""Shared fixtures of the reliability suite: one live sandbox, one clean run.

Every `cardrecon run` subprocess of the suite talks to the session's one Prefect server
(``prefect_server``, tests/conftest.py; ``PREFECT_API_URL``), so a run costs seconds instead
of an ephemeral server's start-up.
The sandbox serves in a thread of the test process (the run under test is the separate
process): the test then knows the world exactly - its card numbers, CVVs and ids.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from reltools import DIALECT, SECRET, CleanRun, LiveSandbox, cardrecon_run, cli_env, world_days
from support.prefect import PrefectServer

from sandbox.app import create_app
from sandbox.server import serve_in_thread
from sandbox.world import World


@pytest.fixture(scope="session")
def live_sandbox() -> Iterator[LiveSandbox]:
    world = World.create(seed=1, size="tiny")
    app = create_app(world, dialect=DIALECT, client_secret=SECRET)
    with serve_in_thread(app) as base_url:
        yield LiveSandbox(world, app, base_url, SECRET, world_days(world))


@pytest.fixture(scope="session")
def clean_run(
    prefect_server: PrefectServer,
    live_sandbox: LiveSandbox,
    tmp_path_factory: pytest.TempPathFactory,
) -> CleanRun:
    """One uninterrupted `cardrecon run` (verbose: its log is scanned for secrets)."""
    root = tmp_path_factory.mktemp("clean")
    home = root / "prefect-home"
    env = cli_env(prefect_server.url, home, SECRET)
    proc = cardrecon_run(
        live_sandbox.base_url,
        root / "clean.duckdb",
        root / "reports",
        live_sandbox.days,
        env,
        verbose=True,
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr
    return CleanRun(proc, root / "clean.duckdb", root / "reports", home)
