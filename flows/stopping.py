"""Stopping a run: the event the CLI sets on SIGINT/SIGTERM, and where the next run resumes.

The extraction's event loop is cancelled as soon as ``STOP`` is set (a batch commit in
progress is shielded and finishes: each batch lands whole with its watermark); the steps
after it check ``STOP`` and do not start. ``resume_date`` says where the next run will
start, from the committed watermarks alone.
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Coroutine
from dataclasses import replace
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any, TypeVar

import duckdb

from extract.session import ExtractSettings, plan_windows

T = TypeVar("T")
# Set by the CLI when the user interrupts (SIGINT, SIGTERM): the run stops at the next safe
# point. Process-local; a flow parameter cannot carry an event.
STOP = threading.Event()


class Interrupted(Exception):
    """The run stopped because ``STOP`` was set; what it committed stays committed."""


def resume_date(db_path: Path, extract: ExtractSettings, today: date | None = None) -> date | None:
    """The day the next run starts from: the earliest stream's watermark minus the lookback,
    or the backfill start where nothing is committed; None when every stream is past --to.

    It is ``plan_windows`` over the file's committed watermarks, read without writing
    (read-only, or on the run's own open database if it is still open in this process).
    """
    committed: list[tuple[str, date]] = []
    if db_path.is_file():
        try:
            con = duckdb.connect(str(db_path), read_only=True)
        except duckdb.ConnectionException:  # still open here, read-write: share it
            con = duckdb.connect(str(db_path))
        try:
            if con.execute(
                "select count(*) from duckdb_tables() "
                "where schema_name = 'meta' and table_name = 'state'"
            ).fetchall()[0][0]:
                committed = con.execute("select stream, watermark from meta.state").fetchall()
        finally:
            con.close()
    windows, _ = plan_windows(  # the next run's plan, over those watermarks alone
        dict(committed), replace(extract, full_refresh=False), today or datetime.now(UTC).date()
    )
    return min((start for start, _ in windows.values()), default=None)


def stoppable(work: Coroutine[Any, Any, T], runner: asyncio.Runner | None = None) -> T:
    """``work`` run to its end (on ``runner``'s loop, else a new one), cancelled as soon as
    ``STOP`` is set (then ``Interrupted``).

    The cancellation reaches every request at once; a batch commit in progress is shielded
    and runs to its end (``asyncio.run`` waits for it), so the stop leaves whole batches.
    """

    async def main() -> T:
        job = asyncio.ensure_future(work)
        while not job.done():
            if STOP.is_set():
                job.cancel()
                await asyncio.gather(job, return_exceptions=True)
                raise Interrupted("the run was interrupted")
            await asyncio.wait({job}, timeout=0.1)
        return job.result()

    if runner is None:
        return asyncio.run(main())
    return runner.run(main())


def check_stop() -> None:
    if STOP.is_set():
        raise Interrupted("the run was interrupted")
