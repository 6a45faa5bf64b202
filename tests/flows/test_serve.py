"""`cardrecon serve`: a real local Prefect server, the deployment served, a run triggered."""

from __future__ import annotations

import asyncio
import os
import socket
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.mark.slow
def test_serve_registers_the_deployment_and_a_triggered_run_completes(tmp_path: Path) -> None:
    sandbox_port, prefect_port = free_port(), free_port()
    env = {
        **os.environ,
        "PREFECT_HOME": str(tmp_path / "prefect"),
        "PREFECT_SERVER_ANALYTICS_ENABLED": "false",
        "CARDEPASS_CLIENT_ID": "sandbox",
        "CARDEPASS_CLIENT_SECRET": "sandbox-secret",
    }
    env.pop("PREFECT_API_URL", None)
    sandbox = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "flows.cli",
            "sandbox",
            "--size",
            "tiny",
            "--port",
            str(sandbox_port),
        ],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    serve = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "flows.cli",
            "serve",
            "--cron",
            "0 6 * * *",
            "--port",
            str(prefect_port),
            "--base-url",
            f"http://127.0.0.1:{sandbox_port}/openapi",
            "--db",
            str(tmp_path / "served.duckdb"),
            "--label",
            "served",
        ],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        cwd=tmp_path,  # the served runs' reports go to data/reports/<label>/ under it
    )
    api = f"http://127.0.0.1:{prefect_port}/api"
    # Prefect reads its settings when it is first imported (the suite's collection may have
    # imported it already): point this process at the served server explicitly
    from prefect.settings import PREFECT_API_URL, temporary_settings

    with temporary_settings(updates={PREFECT_API_URL: api}):
        _trigger_the_served_deployment(tmp_path, serve, sandbox)


def _trigger_the_served_deployment(
    tmp_path: Path, serve: subprocess.Popen[str], sandbox: subprocess.Popen[bytes]
) -> None:
    try:
        from prefect.client.orchestration import get_client
        from prefect.deployments import run_deployment

        async def deployment_id() -> object:
            async with get_client() as client:
                for _ in range(240):
                    try:
                        found = await client.read_deployments()
                        if found:
                            return found[0]
                    except Exception:
                        pass
                    await asyncio.sleep(0.5)
            raise AssertionError("the deployment never appeared")

        deployment = asyncio.run(deployment_id())
        assert deployment.schedules, "served with its cron schedule"  # type: ignore[attr-defined]
        flow_run: Any = run_deployment(
            name=f"cardepass-reconciliation/{deployment.name}",  # type: ignore[attr-defined]
            timeout=300,
        )
        assert flow_run.state is not None and flow_run.state.is_completed(), flow_run.state
        assert (tmp_path / "served.duckdb").exists()
        (reports,) = (tmp_path / "data" / "reports" / "served").iterdir()  # the label's folder
        assert (reports / "report.html").is_file()
    finally:
        serve.terminate()
        try:
            serve.wait(timeout=30)
        except subprocess.TimeoutExpired:
            serve.kill()
        sandbox.terminate()
        sandbox.wait(timeout=10)
        time.sleep(0.2)
