"""Shared fixtures of the reliability suite: one Prefect server, one live sandbox, one clean run.

Every `cardrecon run` subprocess of the suite talks to one Prefect server started here
(``PREFECT_API_URL``), so a run costs seconds instead of an ephemeral server's start-up.
The sandbox serves in a thread of the test process (the run under test is the separate
process): the test then knows the world exactly - its card numbers, CVVs and ids.
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Any

import httpx
import pytest
from reltools import ROOT, cardrecon_run, cli_env, world_days

from sandbox.app import create_app
from sandbox.server import serve_in_thread
from sandbox.world import World

# distinctive, so a scan for it cannot hit anything by chance
SECRET = "rel-S3cret-7f2a9c41e8b6d05f"
DIALECT = "v1.4"  # the card endpoint returns card numbers and CVVs


@dataclass
class PrefectServer:
    url: str
    home: Path


@dataclass
class LiveSandbox:
    world: World
    app: Any
    base_url: str
    secret: str
    days: tuple[date, date]


@dataclass
class CleanRun:
    proc: subprocess.CompletedProcess[str]
    db: Path
    out: Path
    home: Path


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture(scope="session")
def prefect_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[PrefectServer]:
    home = tmp_path_factory.mktemp("prefect-server")
    port = _free_port()
    env = {
        **os.environ,
        "PREFECT_HOME": str(home),
        "PREFECT_SERVER_ANALYTICS_ENABLED": "false",
        "PREFECT_UI_ENABLED": "false",
    }
    env.pop("PREFECT_API_URL", None)
    log = (home / "server.log").open("wb")
    args = [sys.executable, "-m", "prefect", "server", "start", "--host", "127.0.0.1"]
    proc = subprocess.Popen(
        [*args, "--port", str(port)],
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
        start_new_session=True,
        cwd=ROOT,
    )
    url = f"http://127.0.0.1:{port}/api"
    try:
        deadline = time.monotonic() + 120
        while True:
            try:
                if httpx.get(f"{url}/health", timeout=2).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            if proc.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"the Prefect server did not start; see {home / 'server.log'}")
            time.sleep(0.3)
        yield PrefectServer(url, home)
    finally:
        with_group = proc.pid
        try:
            os.killpg(with_group, signal.SIGTERM)
            proc.wait(timeout=20)
        except (ProcessLookupError, subprocess.TimeoutExpired):
            os.killpg(with_group, signal.SIGKILL)
            proc.wait()
        log.close()


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
