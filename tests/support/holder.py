"""A DuckDB file held open for writing by another process: what a second run meets."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path


@contextmanager
def held_by_another_process(db: Path, seconds: int = 60) -> Iterator[int]:
    """``db`` open read-write in a child process (DuckDB's lock) until the block ends;
    yields the holder's PID (DuckDB names it in its lock error)."""
    holder = subprocess.Popen(
        [
            sys.executable,
            "-c",
            f"import duckdb, time; c = duckdb.connect({str(db)!r}); "
            f"print('ready', flush=True); time.sleep({seconds})",
        ],
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert holder.stdout is not None and holder.stdout.readline().strip() == "ready"
        yield holder.pid
    finally:
        holder.kill()
        holder.wait()
