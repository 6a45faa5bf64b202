"""What the command line checks before Prefect starts: a bad setting costs one line, not a
Prefect start-up (DESIGN.md: errors are one clear line, early)."""

from __future__ import annotations

import logging
from collections.abc import Mapping
from datetime import date
from pathlib import Path
from typing import TYPE_CHECKING, Any

from flows.console import fail

if TYPE_CHECKING:
    from flows.settings import RunSettings


def parse_date(value: str | None, flag: str) -> date | None:
    if value is None:
        return None
    try:
        return date.fromisoformat(value)
    except ValueError:
        fail(f"{flag} {value!r} is not a date; use YYYY-MM-DD")


def preflight(
    params: Mapping[str, Any],
    client_id: str | None = None,
    client_secret: str | None = None,
    *,
    ping: bool = False,
) -> RunSettings:
    """The run's settings, resolved once, before Prefect starts: a bad one costs one line,
    exit 2 (the run then uses these; nothing reads them again).

    ``params`` are the flow's parameters (``reconciliation_flow``'s names; the secret is
    never one of them). The DuckDB file must not be a directory (exit 2) nor held by
    another run (exit 1). ``ping``: also ask the service for a token and a ping, so that a
    wrong secret or an unreachable URL is said in a second, not after Prefect's start-up.
    """
    from flows.settings import ConfigError, DatabaseBusy, check_database, resolve

    try:
        settings = resolve(**params, client_id=client_id, client_secret=client_secret)
        check_database(settings.db_path)
    except ConfigError as exc:
        fail(str(exc))
    except DatabaseBusy as exc:
        fail(str(exc), 1)
    out = params.get("out")
    for path in (settings.db_path.parent, None if out is None else Path(out)):
        if path is None:
            continue
        probe = path / ".cardrecon-write-test"
        try:  # the run would create it anyway; a failure here costs no Prefect start
            path.mkdir(parents=True, exist_ok=True)
            probe.write_bytes(b"")
            probe.unlink()
        except OSError as exc:
            fail(f"{path} is not writable ({exc.strerror}); choose another --db/--out")
    if ping:
        check_service(settings.extract)
    return settings


def check_service(extract: Any) -> None:
    """One token and one ping; exit 2 for refused credentials or no API, 1 for a failing one."""
    import asyncio
    from dataclasses import replace

    from extract.errors import AuthError, CardepassError, NoApiError
    from extract.session import Session

    async def ping() -> None:
        async with Session(replace(extract, retry_attempts=2)) as session:
            await session.client.get_json("/v1/ping", envelope=False)

    http_log = logging.getLogger("extract")  # its retries are in the one line below
    level = http_log.level
    http_log.setLevel(logging.ERROR)
    try:
        asyncio.run(ping())
    except NoApiError as exc:
        fail(str(exc), 2)
    except AuthError as exc:
        fail(f"the service refused the credentials: {exc}", 2)
    except CardepassError as exc:
        fail(f"the service cannot be used: {exc}", 1)
    finally:
        http_log.setLevel(level)
