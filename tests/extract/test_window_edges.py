"""Consecutive windows leave nothing between them (issue 12, item 2; DESIGN.md).

Regression: v1.4 slices asked for ``..T23:59:59.999Z`` and the next slice started at
``T00:00:00.000Z``, so an entry in a day's last millisecond (``23:59:59.9995Z``; the
live service's times carry 100 ns ticks) was in neither slice and lost without a trace.

The fake cardepass below filters by its query window at 100 ns resolution, as a .NET
service does (integer ticks parsed from the text, never floats); v2.0 date params
select whole UTC days, both ends inclusive. Items sit at the edges of UTC days, written
with ``Z`` and with other offsets, and the real extraction loop must fetch each item in
the extracted window exactly once, and nothing outside it.
"""

from __future__ import annotations

import asyncio
import re
from collections import Counter
from collections.abc import Mapping
from datetime import date, timedelta
from typing import Any

import httpx
import pytest
from cardepass_fake import BASE_URL, CLIENT_ID, CLIENT_SECRET, FakeCardepass, envelope
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from extract.auth import ClientCredentials
from extract.client import CardepassClient, make_client
from extract.engine import SliceResult, extract_streams
from extract.streams import DIALECTS, STREAM_NAMES, DialectName, Endpoint, StreamName

TICKS_PER_SECOND = 10_000_000
TICKS_PER_DAY = 86_400 * TICKS_PER_SECOND
_EPOCH_ORDINAL = date(1970, 1, 1).toordinal()
_DATE = re.compile(r"\d{4}-\d{2}-\d{2}")
_DATETIME = re.compile(
    r"(\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2}):(\d{2})(?:\.(\d{1,7}))?"
    r"(Z|[+-]\d{2}:\d{2})?"
)
OFFSETS = ("Z", "+00:00", "+08:00", "-05:00", "+05:30", "-09:30", "+14:00")
PAGE_SIZE = 3  # small pages, so a slice walks several of them


# -- ticks: the fake service's own clock, independent of extract/ ---------------------


def _id(endpoint: Endpoint, item: Any) -> str:
    """The item's id (every item the sandbox serves has one)."""
    key = endpoint.item_id(item)
    assert key is not None, item
    return key


def day_ticks(day: date) -> int:
    """The first tick of ``day`` (UTC), counted from the Unix epoch."""
    return (day.toordinal() - _EPOCH_ORDINAL) * TICKS_PER_DAY


def parse_ticks(text: str) -> int:
    """An ISO date-time with up to 7 fractional digits as integer ticks (naive = UTC)."""
    m = _DATETIME.fullmatch(text)
    if m is None:
        raise ValueError(text)
    year, month, day, hour, minute, second = (int(g) for g in m.groups()[:6])
    fraction, zone = m.group(7) or "", m.group(8) or "Z"
    ticks = day_ticks(date(year, month, day))
    ticks += ((hour * 60 + minute) * 60 + second) * TICKS_PER_SECOND
    ticks += int(fraction.ljust(7, "0")) if fraction else 0
    if zone != "Z":
        sign = 1 if zone[0] == "+" else -1
        ticks -= sign * (int(zone[1:3]) * 60 + int(zone[4:6])) * 60 * TICKS_PER_SECOND
    return ticks


def format_ticks(ticks: int, offset: str) -> str:
    """``ticks`` written .NET-style (7 fractional digits) as local time at ``offset``."""
    shift = 0
    if offset != "Z":
        sign = 1 if offset[0] == "+" else -1
        shift = sign * (int(offset[1:3]) * 60 + int(offset[4:6])) * 60 * TICKS_PER_SECOND
    local = ticks + shift
    days, rest = divmod(local, TICKS_PER_DAY)
    seconds, fraction = divmod(rest, TICKS_PER_SECOND)
    day = date.fromordinal(_EPOCH_ORDINAL + days)
    hh, mm, ss = seconds // 3600, seconds // 60 % 60, seconds % 60
    return f"{day.isoformat()}T{hh:02}:{mm:02}:{ss:02}.{fraction:07}{offset}"


def test_tick_helpers_agree_with_each_other_and_with_the_live_example() -> None:
    live = parse_ticks("2025-04-23T11:13:17.6917032+08:00")
    assert format_ticks(live, "Z") == "2025-04-23T03:13:17.6917032Z"
    assert parse_ticks(format_ticks(live, "-05:00")) == live
    assert parse_ticks("2025-04-23T23:59:59.9999999Z") + 1 == day_ticks(date(2025, 4, 24))
    assert parse_ticks("2025-04-24T07:59:59.9999999+08:00") + 1 == day_ticks(date(2025, 4, 24))
    assert parse_ticks("2025-04-23T23:59:59.9995Z") == parse_ticks("2025-04-23T23:59:59.9995000Z")


# -- the fake service ---------------------------------------------------------------
# The field the service filters a window on (API.md, "Items"); extraction never reads it.
TIME_FIELD: Mapping[DialectName, Mapping[StreamName, str]] = {
    "v2.0": {
        "transactions": "transactionTime",
        "card_account_logs": "transTime",
        "account_logs": "transTime",
    },
    "v1.4": {
        "transactions": "authTime",
        "card_account_logs": "transTime",
        "account_logs": "transTime",
    },
}


def make_item(dialect: DialectName, stream: StreamName, key: str, when: str) -> dict[str, Any]:
    endpoint = DIALECTS[dialect].endpoints[stream]
    item: dict[str, Any] = {endpoint.id_field: key, TIME_FIELD[dialect][stream]: when}
    if endpoint.card_path == ("cardId",):
        item["cardId"] = "card-1"
    else:
        item["cardInfo"] = {"cardId": "card-1", "maskedCardNumber": "4111********1111"}
    return item


class TickService:
    """cardepass as a .NET service filters: windows and item times in 100 ns ticks."""

    def __init__(self, dialect: DialectName, data: Mapping[StreamName, list[dict[str, Any]]]):
        self.dialect = dialect
        self.data = {
            stream: sorted(
                items,
                key=lambda i: (
                    parse_ticks(i[TIME_FIELD[dialect][stream]]),
                    i[DIALECTS[dialect].endpoints[stream].id_field],
                ),
            )
            for stream, items in data.items()
        }
        self.windows: list[tuple[StreamName, str, str]] = []

    def window(self, params: httpx.QueryParams) -> tuple[int, int]:
        if self.dialect == "v2.0":
            lo_text, hi_text = params["TransactionDateFrom"], params["TransactionDateTo"]
            assert _DATE.fullmatch(lo_text) and _DATE.fullmatch(hi_text), (lo_text, hi_text)
            lo = day_ticks(date.fromisoformat(lo_text))
            hi = day_ticks(date.fromisoformat(hi_text)) + TICKS_PER_DAY - 1
            return lo, hi
        return parse_ticks(params["transactionDateFrom"]), parse_ticks(params["transactionDateTo"])

    def selected(self, stream: StreamName, params: httpx.QueryParams) -> list[dict[str, Any]]:
        lo, hi = self.window(params)
        assert lo <= hi, "a window ends before it starts"
        field = TIME_FIELD[self.dialect][stream]
        return [i for i in self.data[stream] if lo <= parse_ticks(i[field]) <= hi]

    def answer(self, stream: StreamName) -> Any:
        def handle(request: httpx.Request) -> httpx.Response:
            params = request.url.params
            rows = self.selected(stream, params)
            body = getattr(self, f"_{stream}_{self.dialect.replace('.', '')}")(rows, params)
            return httpx.Response(200, json=body, request=request)

        return handle

    # v2.0 shapes
    def _transactions_v20(self, rows: list[Any], params: httpx.QueryParams) -> Any:
        size, start = int(params["PageSize"]), int(params.get("PageCursor", "0"))
        more = start + size < len(rows)
        pagination = {"pageSize": size, "nextCursor": str(start + size) if more else None}
        return envelope(rows[start : start + size], pagination=pagination | {"hasMore": more})

    def _card_account_logs_v20(self, rows: list[Any], params: httpx.QueryParams) -> Any:
        size, number = int(params["PageSize"]), int(params["PageNumber"])
        pages = -(-len(rows) // size)
        chunk = rows[(number - 1) * size : number * size]
        pagination = {
            "pageNumber": number,
            "pageSize": size,
            "totalCount": len(rows),
            "totalPages": pages,
        }
        return envelope(chunk, pagination=pagination)

    def _account_logs_v20(self, rows: list[Any], params: httpx.QueryParams) -> Any:
        limit, offset = int(params["Limit"]), int(params["Offset"])
        pagination = {"limit": limit, "offset": offset, "totalCount": len(rows)}
        return envelope(rows[offset : offset + limit], pagination=pagination)

    # v1.4 shapes
    def _transactions_v14(self, rows: list[Any], params: httpx.QueryParams) -> Any:
        size, start = int(params["pageSize"]), int(params.get("pageCursor", "0"))
        more = start + size < len(rows)
        cursor = str(start + size) if more else "None"
        return envelope(
            {"pageCursor": cursor, "pageSize": size, "data": rows[start : start + size]}
        )

    def _logs_v14(self, rows: list[Any], params: httpx.QueryParams) -> Any:
        size, index = int(params["pageSize"]), int(params["pageIndex"])
        page = {
            "pageIndex": index,
            "pageSize": size,
            "totalCount": len(rows),
            "totalPages": -(-len(rows) // size),
            "items": rows[(index - 1) * size : index * size],
        }
        return envelope(page)

    _card_account_logs_v14 = _logs_v14
    _account_logs_v14 = _logs_v14


async def extract_all(
    dialect: DialectName,
    service: TickService,
    first: date,
    last: date,
    slice_days: int,
) -> dict[StreamName, list[str]]:
    """Run the real extraction loop over ``first..last``; the ids each stream fetched."""
    fake = FakeCardepass()
    for stream in STREAM_NAMES:
        fake.on(DIALECTS[dialect].endpoints[stream].path, service.answer(stream))
    http = make_client(
        BASE_URL,
        ClientCredentials(CLIENT_ID, CLIENT_SECRET),
        transport=httpx.MockTransport(fake),
    )
    fetched: dict[StreamName, list[str]] = {s: [] for s in STREAM_NAMES}

    def sink(result: SliceResult) -> None:
        endpoint = DIALECTS[dialect].endpoints[result.slice.stream]
        fetched[result.slice.stream] += [_id(endpoint, i) for i in result.items]

    async with CardepassClient(http, retry_attempts=0) as api:
        outcomes = await extract_streams(
            api,
            DIALECTS[dialect],
            dict.fromkeys(STREAM_NAMES, (first, last)),
            sink,
            slice_days=slice_days,
            page_size=PAGE_SIZE,
        )
    for stream, outcome in outcomes.items():
        assert outcome.error is None, f"{stream}: {outcome.error}"
    return fetched


# -- the property ---------------------------------------------------------------------
# An edge: a day of the window (or one of the two days just outside it), its start or
# its end, a distance in ticks inward (0 = the first / last tick of the day itself), and
# the offset the item's time is written in.
INWARD_TICKS = (0, 0, 0, 1, 2, 499, 500, 4_999, 5_000, 9_999, 10_000, 10_001, 123_456)
edges = st.tuples(
    st.integers(min_value=0, max_value=20),  # which day; folded onto the window below
    st.sampled_from(("start", "end")),
    st.sampled_from(INWARD_TICKS),
    st.sampled_from(OFFSETS),
)
FIRST = date(2025, 4, 21)


def edge_ticks(first: date, days: int, edge: tuple[int, str, int, str]) -> tuple[int, str]:
    index, side, inward, offset = edge
    index = index % (days + 2) - 1  # -1 and ``days`` are the days just outside the window
    start = day_ticks(first + timedelta(days=index))
    ticks = start + inward if side == "start" else start + TICKS_PER_DAY - 1 - inward
    return ticks, offset


@pytest.mark.parametrize("dialect", ["v2.0", "v1.4"])
@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    days=st.integers(min_value=1, max_value=9),
    slice_days=st.sampled_from((1, 1, 2, 3, 4, 7)),
    shift=st.integers(min_value=0, max_value=400),
    chosen=st.lists(edges, min_size=1, max_size=14),
)
@example(days=3, slice_days=1, shift=2, chosen=[(1, "end", 5_000, "Z"), (2, "start", 0, "Z")])
@example(
    days=6,
    slice_days=3,
    shift=0,
    chosen=[(3, "end", 5_000, "+08:00"), (3, "end", 0, "-05:00"), (4, "start", 0, "+08:00")],
)
def test_consecutive_slices_fetch_every_edge_item_exactly_once(
    dialect: DialectName,
    days: int,
    slice_days: int,
    shift: int,
    chosen: list[tuple[int, str, int, str]],
) -> None:
    first = FIRST + timedelta(days=shift)
    last = first + timedelta(days=days - 1)
    lo, hi = day_ticks(first), day_ticks(last) + TICKS_PER_DAY - 1
    data: dict[StreamName, list[dict[str, Any]]] = {s: [] for s in STREAM_NAMES}
    expected: dict[StreamName, list[str]] = {s: [] for s in STREAM_NAMES}
    for n, edge in enumerate(chosen):
        ticks, offset = edge_ticks(first, days, edge)
        for stream in STREAM_NAMES:
            key = f"{stream[0]}{n}"
            data[stream].append(make_item(dialect, stream, key, format_ticks(ticks, offset)))
            if lo <= ticks <= hi:
                expected[stream].append(key)

    fetched = asyncio.run(extract_all(dialect, TickService(dialect, data), first, last, slice_days))

    for stream in STREAM_NAMES:
        counts = Counter(fetched[stream])
        twice = sorted(k for k, c in counts.items() if c > 1)
        assert not twice, f"{dialect} {stream}: fetched more than once: {twice}"
        missing = sorted(set(expected[stream]) - set(counts))
        assert not missing, f"{dialect} {stream}: lost between windows: {missing}"
        extra = sorted(set(counts) - set(expected[stream]))
        assert not extra, f"{dialect} {stream}: fetched from outside the window: {extra}"


def test_an_entry_in_the_last_millisecond_of_a_day_is_fetched_once() -> None:
    """The reported case: four account entries at 23:59:59.9995, one-day slices."""
    first, last = date(2025, 4, 22), date(2025, 4, 24)
    whens = ["2025-04-22T23:59:59.9995Z", "2025-04-23T07:59:59.9995+08:00"]
    whens += ["2025-04-23T18:59:59.9995-05:00", "2025-04-24T23:59:59.9999999Z"]
    for dialect in ("v2.0", "v1.4"):
        rows = [make_item(dialect, "account_logs", f"a{k}", w) for k, w in enumerate(whens)]
        data: dict[StreamName, list[dict[str, Any]]] = {s: [] for s in STREAM_NAMES}
        data["account_logs"] = rows
        fetched = asyncio.run(extract_all(dialect, TickService(dialect, data), first, last, 1))
        assert sorted(fetched["account_logs"]) == ["a0", "a1", "a2", "a3"], dialect


# -- the exact strings ----------------------------------------------------------------
@pytest.mark.parametrize(
    ("first", "last", "expected"),
    [
        (
            date(2025, 4, 23),
            date(2025, 4, 23),
            ("2025-04-23T00:00:00.0000000Z", "2025-04-23T23:59:59.9999999Z"),
        ),
        (
            date(2024, 2, 28),
            date(2024, 3, 1),
            ("2024-02-28T00:00:00.0000000Z", "2024-03-01T23:59:59.9999999Z"),
        ),
        (
            date(2025, 12, 31),
            date(2025, 12, 31),
            ("2025-12-31T00:00:00.0000000Z", "2025-12-31T23:59:59.9999999Z"),
        ),
    ],
)
def test_window_params_strings(first: date, last: date, expected: tuple[str, str]) -> None:
    for stream in STREAM_NAMES:
        v14 = DIALECTS["v1.4"].endpoints[stream].window_params(first, last)
        assert v14 == {"transactionDateFrom": expected[0], "transactionDateTo": expected[1]}
        v20 = DIALECTS["v2.0"].endpoints[stream].window_params(first, last)
        assert v20 == {
            "TransactionDateFrom": first.isoformat(),
            "TransactionDateTo": last.isoformat(),
        }


def test_consecutive_v14_windows_meet_at_one_tick() -> None:
    """The day after a window's last tick is the next window's first tick."""
    endpoint = DIALECTS["v1.4"].endpoints["account_logs"]
    one = endpoint.window_params(date(2025, 4, 21), date(2025, 4, 23))
    two = endpoint.window_params(date(2025, 4, 24), date(2025, 4, 24))
    assert parse_ticks(one["transactionDateTo"]) + 1 == parse_ticks(two["transactionDateFrom"])
    assert parse_ticks(two["transactionDateFrom"]) == day_ticks(date(2025, 4, 24))
