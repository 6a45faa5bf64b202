"""What every benchmark shares: the machine, workers in their own process, the sandbox
process, tables, and the append-only ``bench/RESULTS.md``.

Each contender runs in a fresh Python process (``python -m bench.worker ...``) so its
peak RSS is its own (``ru_maxrss`` read by the worker itself at the end) and no
contender inherits another's warm caches or imports.
"""

from __future__ import annotations

import contextlib
import json
import os
import platform
import resource
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from importlib import metadata
from pathlib import Path
from typing import Any

import httpx

HERE = Path(__file__).parent
ROOT = HERE.parent
RESULTS = HERE / "RESULTS.md"
SANDBOX_CLIENT = ("sandbox", "sandbox-secret")  # the sandbox's documented public default


def peak_rss_mb() -> float:
    """This process's peak resident set so far, in MiB (Linux reports KiB)."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def machine() -> str:
    """One line naming the machine and the versions that matter."""
    cpu = platform.processor() or platform.machine()
    with contextlib.suppress(OSError):
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    mem = ""
    with contextlib.suppress(OSError, ValueError, IndexError):
        kb = int(Path("/proc/meminfo").read_text().split("\n")[0].split()[1])
        mem = f", {kb / 1024 / 1024:.0f} GiB RAM"
    versions = []
    for pkg in ("duckdb", "polars", "httpx", "pandera", "prefect", "dlt", "pandas"):
        with contextlib.suppress(metadata.PackageNotFoundError):
            versions.append(f"{pkg} {metadata.version(pkg)}")
    return f"{cpu}, {os.cpu_count()} cores{mem}; Python {platform.python_version()}; " + ", ".join(
        versions
    )


def run_worker(task: str, args: dict[str, Any], *, timeout: float = 3600) -> dict[str, Any]:
    """Run ``bench.worker`` ``task`` in a fresh process; returns the JSON it prints last.

    ``process_wall`` is added: the process's whole wall time, interpreter start included.
    A failure raises with the tail of the worker's stderr.
    """
    cmd = [sys.executable, "-m", "bench.worker", task, json.dumps(args, default=str)]
    t0 = time.perf_counter()
    proc = subprocess.run(
        cmd, cwd=ROOT, capture_output=True, text=True, timeout=timeout, check=False
    )
    if proc.returncode != 0:
        tail = "\n".join(proc.stderr.strip().splitlines()[-15:])
        raise RuntimeError(f"bench worker {task} failed (exit {proc.returncode}):\n{tail}")
    lines = [line for line in proc.stdout.splitlines() if line.startswith("{")]
    if not lines:
        raise RuntimeError(f"bench worker {task} printed no result:\n{proc.stdout[-2000:]}")
    result: dict[str, Any] = json.loads(lines[-1])
    result["process_wall"] = time.perf_counter() - t0  # start-up and imports included
    return result


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


@dataclass(frozen=True)
class SandboxProcess:
    base_url: str  # .../openapi
    admin_url: str  # .../_sandbox
    info: dict[str, Any]
    started_in: float  # seconds to generate the world and listen

    def requests(self) -> list[dict[str, Any]]:
        reply = httpx.get(f"{self.admin_url}/requests", timeout=60)
        reply.raise_for_status()
        entries: list[dict[str, Any]] = reply.json()
        return entries

    def clear_requests(self) -> None:
        httpx.delete(f"{self.admin_url}/requests", timeout=60).raise_for_status()

    def refresh_info(self) -> dict[str, Any]:
        reply = httpx.get(f"{self.admin_url}/info", timeout=60)
        reply.raise_for_status()
        info: dict[str, Any] = reply.json()
        return info


@contextlib.contextmanager
def sandbox_process(
    size: str, *, dialect: str = "v2.0", seed: int = 1, scenario: str = "clean"
) -> Iterator[SandboxProcess]:
    """``cardrecon sandbox`` in its own process on loopback, until the block ends."""
    port = free_port()
    cmd = [
        sys.executable, "-m", "flows.cli", "sandbox", "--size", size, "--dialect", dialect,
        "--seed", str(seed), "--scenario", scenario, "--port", str(port),
    ]  # fmt: skip
    t0 = time.perf_counter()
    # its log (one line per request) goes to a file: a pipe nobody reads fills up and
    # stalls the server
    log = tempfile.TemporaryFile(mode="w+")  # noqa: SIM115 - closed in the finally below
    proc = subprocess.Popen(cmd, cwd=ROOT, stdout=subprocess.DEVNULL, stderr=log)
    root = f"http://127.0.0.1:{port}"
    try:
        info: dict[str, Any] | None = None
        deadline = time.monotonic() + 300
        while info is None:
            if proc.poll() is not None:
                log.seek(0)
                raise RuntimeError(f"the sandbox exited ({proc.returncode}): {log.read()[-2000:]}")
            if time.monotonic() > deadline:
                raise RuntimeError("the sandbox did not start listening within 300 s")
            with contextlib.suppress(httpx.HTTPError):
                info = httpx.get(f"{root}/_sandbox/info", timeout=5).json()
            if info is None:
                time.sleep(0.1)
        yield SandboxProcess(f"{root}/openapi", f"{root}/_sandbox", info, time.perf_counter() - t0)
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
        log.close()


def markdown_table(headers: Sequence[str], rows: Sequence[Sequence[Any]]) -> str:
    def cell(v: Any) -> str:
        if isinstance(v, float):
            return f"{v:,.2f}"
        if isinstance(v, int) and not isinstance(v, bool):
            return f"{v:,}"
        return str(v)

    lines = ["| " + " | ".join(headers) + " |", "|" + "---|" * len(headers)]
    lines += ["| " + " | ".join(cell(v) for v in row) + " |" for row in rows]
    return "\n".join(lines)


def record(title: str, body: str, results: Path | None = None) -> str:
    """Print a benchmark's section and append it to ``results`` (default bench/RESULTS.md)."""
    stamp = datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC")
    section = f"\n## {title} — {stamp}\n\nMachine: {machine()}\n\n{body.strip()}\n"
    print(section)
    path = results or RESULTS
    if not path.exists():
        path.write_text(
            "# Benchmark results\n\nAppended by `uv run python -m bench <name>`; newest last. "
            "See `bench/README.md` for what each benchmark measures.\n",
            encoding="utf-8",
        )
    with path.open("a", encoding="utf-8") as fh:
        fh.write(section)
    return section


def ratio(a: float, b: float) -> str:
    return f"{a / b:.2f}×" if b else "n/a"


def verdict(ok: bool) -> str:
    return "met" if ok else "**missed**"


def world_days(world: Any) -> tuple[Any, Any]:
    """First and last whole day of a sandbox world (its generation start .. its clock)."""
    from datetime import date as _date

    def day(ms: int) -> _date:
        return datetime.fromtimestamp(ms / 1000, UTC).date()

    return day(world.start_ms), day(world.as_of)


def load_world(
    world: Any, dialect: str, con: Any, *, run_id: str = "bench", land_only: bool = False
) -> Any:
    """Extract + load a sandbox ``world`` into ``con`` in process (ASGI, no sockets).

    ``land_only``: keep the pages in ``raw.pages`` and load nothing (the input of B2).

    The same code path as a real run (``flows.steps.run``, stopped before the
    reconciliation); used to build the inputs of B2 and B3, never timed as a contender.
    """
    from extract.auth import ClientCredentials
    from extract.session import ExtractSettings
    from flows.settings import RunSettings
    from flows.steps import RunContext, run
    from sandbox.app import create_app

    first, last = world_days(world)
    settings = RunSettings(
        run_id,
        ExtractSettings(
            base_url="http://127.0.0.1/openapi",
            credentials=ClientCredentials(*SANDBOX_CLIENT),
            start=first,
            end=last,
            backoff_base=0.0,
        ),
        Path(":memory:"),
        None,
    )
    ctx = RunContext(
        settings,
        transport=httpx.ASGITransport(app=create_app(world, dialect=dialect)),
        today=last,
        con=con,
        reconcile=False,
        land_only=land_only,
    )
    report = run(ctx).extraction
    if report.failed:
        raise RuntimeError(f"loading the world failed: {report.failed}")
    return report
