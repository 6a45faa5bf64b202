"""Query parameters as the service reads them: whole numbers, page sizes, choices and
date windows (at most ``WINDOW_MONTHS`` long), each refused with a 400 that says why."""

from __future__ import annotations

import calendar
import re
from collections.abc import Mapping
from datetime import UTC, date, datetime, timedelta
from typing import TypeVar

from sandbox.replies import bad_request
from sandbox.state import Call

MAX_PAGE_SIZE = 100
DEFAULT_PAGE_SIZE = 20
WINDOW_MONTHS = 3
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_DATE = re.compile(r"\d{4}-\d{2}-\d{2}")
_INT = re.compile(r"[+-]?\d{1,18}")


def page_size(call: Call, name: str) -> int:
    return int_param(call, name, DEFAULT_PAGE_SIZE, lo=1, hi=MAX_PAGE_SIZE)


def int_param(call: Call, name: str, default: int, *, lo: int, hi: int | None = None) -> int:
    text = call.get(name)
    if text is None:
        return default
    if not _INT.fullmatch(text):
        raise bad_request(f"{name} must be a whole number, not {text!r}")
    value = int(text)
    if value < lo or (hi is not None and value > hi):
        limit = f"between {lo} and {hi}" if hi is not None else f"at least {lo}"
        raise bad_request(f"{name} must be {limit}, not {value}")
    return value


def _ms(dt: datetime) -> int:
    return (dt - _EPOCH) // timedelta(milliseconds=1)


def _parse_date(name: str, text: str) -> date:
    try:
        if not _DATE.fullmatch(text):
            raise ValueError(text)
        return date.fromisoformat(text)
    except ValueError:
        raise bad_request(f"{name} must be a date YYYY-MM-DD, not {text!r}") from None


def _parse_datetime(name: str, text: str) -> datetime:
    try:
        if not text[:1].isdigit():
            raise ValueError(text)
        dt = datetime.fromisoformat(text)
    except ValueError:
        raise bad_request(
            f"{name} must be an ISO date-time such as 2025-04-01T00:00:00Z, not {text!r}"
        ) from None
    return dt.replace(tzinfo=UTC) if dt.tzinfo is None else dt.astimezone(UTC)


_D = TypeVar("_D", date, datetime)


def add_months(value: _D, months: int) -> _D:
    """``value`` plus calendar months, the day clamped to the month's end."""
    y, m = divmod(value.month - 1 + months, 12)
    year, month = value.year + y, m + 1
    day = min(value.day, calendar.monthrange(year, month)[1])
    return value.replace(year=year, month=month, day=day)


def _check_window(lo: _D | None, hi: _D | None, names: tuple[str, str]) -> None:
    if lo is None or hi is None:
        return
    if hi < lo:
        raise bad_request(f"{names[1]} ({hi.isoformat()}) is before {names[0]} ({lo.isoformat()})")
    try:
        limit = add_months(lo, WINDOW_MONTHS)
    except (ValueError, OverflowError):  # past year 9999: no window is too long there
        return
    if hi > limit:
        raise bad_request(
            f"the date window {lo.isoformat()} .. {hi.isoformat()} is longer than "
            f"{WINDOW_MONTHS} months; one request may span at most {WINDOW_MONTHS} months, "
            "so split it into smaller windows"
        )


def date_window(call: Call, names: tuple[str, str]) -> tuple[int | None, int | None]:
    """v2.0: ``YYYY-MM-DD`` days, optional; from = start of day, to = end of day (UTC)."""
    lo_text, hi_text = call.get(names[0]), call.get(names[1])
    lo = None if lo_text is None else _parse_date(names[0], lo_text)
    hi = None if hi_text is None else _parse_date(names[1], hi_text)
    _check_window(lo, hi, names)
    lo_ms = None if lo is None else _ms(datetime(lo.year, lo.month, lo.day, tzinfo=UTC))
    hi_ms = (
        None
        if hi is None
        else _ms(datetime(hi.year, hi.month, hi.day, tzinfo=UTC) + timedelta(days=1)) - 1
    )
    return lo_ms, hi_ms


def datetime_window(
    call: Call, names: tuple[str, str], *, required: bool
) -> tuple[int | None, int | None]:
    """v1.4: ISO date-times (naive = UTC), both ends inclusive."""
    lo_text, hi_text = call.get(names[0]), call.get(names[1])
    if required:
        missing = [n for n, t in zip(names, (lo_text, hi_text), strict=True) if t is None]
        if missing:
            raise bad_request(
                f"{' and '.join(missing)} {'is' if len(missing) == 1 else 'are'} required "
                "(ISO date-times; a window of at most 3 months)"
            )
    lo = None if lo_text is None else _parse_datetime(names[0], lo_text)
    hi = None if hi_text is None else _parse_datetime(names[1], hi_text)
    _check_window(lo, hi, names)
    return (None if lo is None else _ms(lo)), (None if hi is None else _ms(hi))


def choice(call: Call, name: str, allowed: Mapping[str, str]) -> str | None:
    text = call.get(name)
    if text is None:
        return None
    if text not in allowed:
        raise bad_request(f"{name} must be one of {', '.join(allowed)}, not {text!r}")
    return allowed[text]
