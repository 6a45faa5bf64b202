"""A run that raised, or a disk that filled, as the one line a user reads (and its exit code).

Nothing is lost by a failure: DuckDB keeps the last commit (each batch with its watermark)
and reports are renamed into place whole, so the next run resumes.
"""

from __future__ import annotations

import errno
from pathlib import Path
from typing import TYPE_CHECKING, NoReturn

from flows.console import fail

if TYPE_CHECKING:
    from flows.settings import RunSettings


def full_device_line(text: str, plan: RunSettings, where: Path | None = None) -> str | None:
    """The one line for a full disk (``where``, else the DuckDB file's) if ``text`` says so.

    Nothing was lost: DuckDB keeps the last commit (each batch with its watermark) and
    reports are renamed into place whole, so the next run resumes once there is room.
    """
    if "no space left on device" not in text.lower():
        return None
    return (
        f"no space left on the device holding {where or plan.db_path}; nothing was lost: "
        "free space and run again"
    )


def run_failed(exc: BaseException, plan: RunSettings) -> NoReturn:
    """The run raised: one line on stderr, exit 2 for configuration, 1 otherwise."""
    from extract.errors import AuthError, CardepassError, NoApiError
    from flows.settings import ConfigError
    from flows.steps import PipelineError
    from reports.data import ReportError

    chain = [exc]  # the error and what it was raised from (a full disk is often below)
    while len(chain) < 10 and (below := chain[-1].__cause__ or chain[-1].__context__):
        chain.append(below)
    for link in chain:
        if isinstance(link, OSError) and link.errno == errno.ENOSPC:
            where = Path(link.filename).parent if link.filename else None
            fail(full_device_line("no space left on device", plan, where) or "", 1)
        full = full_device_line(str(link), plan)
        if full is not None:
            fail(full, 1)
    if isinstance(exc, ConfigError | NoApiError):
        fail(str(exc), 2)
    if isinstance(exc, AuthError):
        fail(f"the service refused the credentials: {exc}", 2)
    if isinstance(exc, PipelineError | CardepassError | ReportError):
        fail(str(exc), 1)
    if isinstance(exc, OSError):
        fail(f"{exc.strerror or exc} ({exc.filename or 'I/O'}); check the disk and paths", 1)
    # the last line of defence: one line, and where to look
    first = str(exc).splitlines()[0] if str(exc) else ""
    fail(
        f"the run failed: {type(exc).__name__}: {first} (rerun with --verbose for the flow's log)",
        1,
    )
