"""A Prefect API for ``cardrecon serve``: the one in PREFECT_API_URL, or a local server.

Schedules need a real Prefect server (the ephemeral one runs no scheduler). When none
is configured, ``prefect server start`` runs on loopback with its default SQLite
database, for as long as ``serve`` runs.
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager

import httpx
from rich.console import Console

STARTUP_TIMEOUT = 120.0


def _healthy(api_url: str) -> bool:
    try:
        return httpx.get(f"{api_url}/health", timeout=2.0).status_code == 200
    except httpx.HTTPError:
        return False


@contextmanager
def ensure_server(port: int, console: Console) -> Iterator[str]:
    """Yield the Prefect API URL, starting a local server when none is configured."""
    configured = os.environ.get("PREFECT_API_URL")
    if configured:
        console.print(f"using the Prefect server at {configured}", highlight=False)
        yield configured
        return
    api_url = f"http://127.0.0.1:{port}/api"
    console.print(
        f"PREFECT_API_URL is not set: starting a local Prefect server on {api_url} "
        "(SQLite in PREFECT_HOME)",
        highlight=False,
    )
    proc = subprocess.Popen(  # noqa: S603 - our own interpreter's prefect
        [
            sys.executable,
            "-m",
            "prefect",
            "server",
            "start",
            "--host",
            "127.0.0.1",
            "--port",
            str(port),
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        deadline = time.monotonic() + STARTUP_TIMEOUT
        while not _healthy(api_url):
            if proc.poll() is not None:
                raise OSError(
                    f"the local Prefect server exited (code {proc.returncode}); "
                    f"is port {port} free? (--port)"
                )
            if time.monotonic() > deadline:
                raise OSError(
                    f"the local Prefect server did not start within {STARTUP_TIMEOUT:.0f} s"
                )
            time.sleep(0.5)
        os.environ["PREFECT_API_URL"] = api_url
        yield api_url
    finally:
        os.environ.pop("PREFECT_API_URL", None)
        proc.terminate()
        try:
            proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            proc.kill()
