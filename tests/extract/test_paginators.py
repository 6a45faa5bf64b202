"""Paginators for both dialects, fed real httpx.Response bodies, and the walk loop.

Each paginator is the one its endpoint declares in ``extract.streams``, so these tests pin
the declared parameters and page fields as well as the paginator classes."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Any

import httpx
import pytest
from cardepass_fake import FakeCardepass, envelope

from extract.client import CardepassClient
from extract.errors import PaginationError
from extract.pagination import (
    MAX_PAGE_SIZE,
    CursorPaginator,
    OffsetPaginator,
    PageNumberPaginator,
    Paginator,
    Params,
    walk,
)
from extract.streams import DIALECTS, DialectName

Page = dict[str, Any]


def as_page(body: Mapping[str, Any]) -> Page:
    """The body as the client sees it: serialised, sent, parsed back."""
    parsed = httpx.Response(200, json=body).json()
    assert isinstance(parsed, dict)
    return parsed


def items(n: int, start: int = 0) -> list[dict[str, Any]]:
    return [{"id": f"i{k}"} for k in range(start, start + n)]


# v2.0 / v1.4 page builders -------------------------------------------------------------------


def cursor_v20(rows: list[Any], next_cursor: str | None, has_more: bool, rid: str = "r") -> Page:
    pagination = {"pageSize": 100, "nextCursor": next_cursor, "hasMore": has_more}
    return as_page(envelope(rows, response_id=rid, pagination=pagination))


def cursor_v14(rows: list[Any], cursor: str | None, rid: str = "r") -> Page:
    return as_page(envelope({"pageCursor": cursor, "pageSize": 100, "data": rows}, response_id=rid))


def numbered_v20(rows: list[Any], number: int, total_pages: int, total_count: int) -> Page:
    pagination = {
        "pageNumber": number,
        "pageSize": 100,
        "totalCount": total_count,
        "totalPages": total_pages,
    }
    return as_page(envelope(rows, pagination=pagination))


def numbered_v14(rows: list[Any], index: int, total_pages: int, total_count: int) -> Page:
    data = {
        "pageIndex": index,
        "pageSize": 100,
        "totalCount": total_count,
        "totalPages": total_pages,
        "items": rows,
    }
    return as_page(envelope(data))


def offset_v20(rows: list[Any], offset: int, total_count: int) -> Page:
    return as_page(
        envelope(rows, pagination={"limit": 100, "offset": offset, "totalCount": total_count})
    )


def cursor_paginator(dialect: DialectName, page_size: int = MAX_PAGE_SIZE) -> CursorPaginator:
    """The transactions paginator ``dialect`` declares."""
    paginator = DIALECTS[dialect].endpoints["transactions"].paginator(page_size)
    assert isinstance(paginator, CursorPaginator)
    return paginator


def numbered_paginator(dialect: DialectName) -> PageNumberPaginator:
    """The card account logs paginator ``dialect`` declares (v1.4's account logs' too)."""
    paginator = DIALECTS[dialect].endpoints["card_account_logs"].paginator(MAX_PAGE_SIZE)
    assert isinstance(paginator, PageNumberPaginator)
    return paginator


def offset_paginator(page_size: int = MAX_PAGE_SIZE) -> OffsetPaginator:
    """The v2.0 account logs paginator."""
    paginator = DIALECTS["v2.0"].endpoints["account_logs"].paginator(page_size)
    assert isinstance(paginator, OffsetPaginator)
    return paginator


def drive(paginator: Paginator, pages: Sequence[tuple[Page, list[Any]]]) -> list[Params]:
    """Feed pages in order; return the params of every request made."""
    params = paginator.init_request({"CardId": "c1"})
    sent = [params]
    for page, rows in pages:
        paginator.update_state(page, rows)
        if not paginator.has_next_page:
            break
        params = paginator.update_request(params)
        sent.append(params)
    return sent


# -- cursor ------------------------------------------------------------------------------------


def test_cursor_v20_walks_until_has_more_is_false() -> None:
    paginator = cursor_paginator("v2.0")
    sent = drive(
        paginator,
        [
            (cursor_v20(items(100), "c1", True), items(100)),
            (cursor_v20(items(100, 100), "c2", True), items(100, 100)),
            (cursor_v20(items(5, 200), None, False), items(5, 200)),
        ],
    )
    assert sent == [
        {"CardId": "c1", "PageSize": 100},
        {"CardId": "c1", "PageSize": 100, "PageCursor": "c1"},
        {"CardId": "c1", "PageSize": 100, "PageCursor": "c2"},
    ]
    assert not paginator.has_next_page
    assert paginator.pages == 3


def test_cursor_v14_treats_the_string_none_as_the_end() -> None:
    paginator = cursor_paginator("v1.4")
    sent = drive(
        paginator,
        [
            (cursor_v14(items(100), "t100"), items(100)),
            (cursor_v14(items(3, 100), "None"), items(3, 100)),
        ],
    )
    assert sent == [
        {"CardId": "c1", "pageSize": 100},
        {"CardId": "c1", "pageSize": 100, "pageCursor": "t100"},
    ]
    assert not paginator.has_next_page


@pytest.mark.parametrize("last", ["None", None, ""])
def test_cursor_v14_empty_window_is_one_page(last: str | None) -> None:
    paginator = cursor_paginator("v1.4")
    paginator.init_request({})
    paginator.update_state(cursor_v14([], last), [])
    assert not paginator.has_next_page


def test_cursor_first_request_drops_a_stale_cursor_and_does_not_mutate_input() -> None:
    paginator = cursor_paginator("v2.0", page_size=50)
    params = {"PageCursor": "old", "CardId": "c1"}
    assert paginator.init_request(params) == {"CardId": "c1", "PageSize": 50}
    assert params == {"PageCursor": "old", "CardId": "c1"}


@pytest.mark.parametrize(
    ("dialect", "pages", "message"),
    [
        (
            "v2.0",
            [cursor_v20(items(1), "c1", True), cursor_v20(items(1, 1), "c1", True)],
            "cursor 'c1' was already used",
        ),
        (
            "v2.0",
            [
                cursor_v20(items(1), "c1", True),
                cursor_v20(items(1, 1), "c2", True),
                cursor_v20(items(1, 2), "c1", True),
            ],
            "cursor 'c1' was already used",
        ),
        ("v2.0", [cursor_v20([], "c1", True)], "empty but says more pages follow"),
        ("v2.0", [cursor_v20(items(1), None, True)], "hasMore is true but there is no next cursor"),
        ("v2.0", [as_page(envelope(items(1)))], "no boolean pagination.hasMore"),
        (
            "v1.4",
            [cursor_v14(items(1), "t1"), cursor_v14(items(1, 1), "t1")],
            "cursor 't1' was already used",
        ),
        ("v1.4", [cursor_v14([], "t1")], "empty but says more pages follow"),
        ("v1.4", [as_page(envelope({"data": items(1)}))], "no data.pageCursor"),
    ],
)
def test_cursor_contradictions_raise_pagination_error(
    dialect: Any, pages: list[Page], message: str
) -> None:
    paginator = cursor_paginator(dialect)
    paginator.init_request({})
    with pytest.raises(PaginationError, match=message):
        for page in pages:
            rows = page["data"] if isinstance(page["data"], list) else page["data"].get("data", [])
            paginator.update_state(page, rows)


def test_pagination_error_carries_the_response_id() -> None:
    paginator = cursor_paginator("v2.0")
    paginator.init_request({})
    with pytest.raises(PaginationError) as caught:
        paginator.update_state(cursor_v20([], "c1", True, rid="resp-77"), [])
    assert caught.value.response_id == "resp-77"
    assert "responseId resp-77" in str(caught.value)
    assert not caught.value.transient


def test_max_pages_caps_a_walk() -> None:
    paginator = CursorPaginator(
        cursor_param="PageCursor",
        cursor_path=("pagination", "nextCursor"),
        has_more_path=("pagination", "hasMore"),
        end_values=frozenset(),
        page_size_param="PageSize",
        max_pages=2,
    )
    paginator.init_request({})
    paginator.update_state(cursor_v20(items(1), "c1", True), items(1))
    with pytest.raises(PaginationError, match="max_pages=2"):
        paginator.update_state(cursor_v20(items(1, 1), "c2", True), items(1, 1))


def test_init_request_resets_a_used_paginator() -> None:
    paginator = cursor_paginator("v2.0")
    drive(
        paginator,
        [
            (cursor_v20(items(1), "c1", True), items(1)),
            (cursor_v20(items(1), None, False), items(1)),
        ],
    )
    # a second walk may see the same cursors again
    drive(paginator, [(cursor_v20(items(1), "c1", True), items(1))])
    assert paginator.cursor == "c1"
    assert paginator.pages == 1


@pytest.mark.parametrize("size", [0, 101])
def test_page_size_is_bounded_by_the_documented_maximum(size: int) -> None:
    with pytest.raises(ValueError, match="between 1 and 100"):
        offset_paginator(page_size=size)


# -- page numbers ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("dialect", "build", "param"),
    [("v2.0", numbered_v20, "PageNumber"), ("v1.4", numbered_v14, "pageIndex")],
)
def test_page_numbers_walk_to_total_pages(
    dialect: Any, build: Callable[..., Page], param: str
) -> None:
    paginator = numbered_paginator(dialect)
    sent = drive(
        paginator,
        [
            (build(items(100), 1, 3, 250), items(100)),
            (build(items(100, 100), 2, 3, 250), items(100, 100)),
            (build(items(50, 200), 3, 3, 250), items(50, 200)),
        ],
    )
    assert [p[param] for p in sent] == [1, 2, 3]
    assert all(p["PageSize" if dialect == "v2.0" else "pageSize"] == 100 for p in sent)
    assert not paginator.has_next_page
    assert paginator.items == 250


def test_page_numbers_accept_counts_sent_as_strings() -> None:
    paginator = numbered_paginator("v1.4")
    paginator.init_request({})
    page = as_page(
        envelope({"pageIndex": "1", "totalPages": "1", "totalCount": "2", "items": items(2)})
    )
    paginator.update_state(page, items(2))
    assert not paginator.has_next_page


def test_page_numbers_empty_result_is_one_page() -> None:
    paginator = numbered_paginator("v2.0")
    paginator.init_request({})
    paginator.update_state(numbered_v20([], 1, 0, 0), [])
    assert not paginator.has_next_page


@pytest.mark.parametrize(
    ("pages", "message"),
    [
        # totalPages shrank under us: we are on page 2 of 1
        (
            [numbered_v20(items(100), 1, 2, 150), numbered_v20(items(50), 2, 1, 150)],
            "beyond totalPages",
        ),
        (
            [numbered_v20(items(100), 1, 2, 150), numbered_v20(items(51, 100), 2, 2, 151)],
            "totalCount changed mid-walk from 150 to 151",
        ),
        (
            [numbered_v20(items(100), 1, 3, 250), numbered_v20([], 2, 3, 250)],
            "page 2 of 3 is empty",
        ),
        ([numbered_v20(items(3), 1, 0, 0)], "3 items on a page but totalPages is 0"),
        ([numbered_v20(items(100), 1, 1, 20)], "100 items received but totalCount is 20"),
        ([numbered_v20(items(10), 1, 1, 20)], "ended after 10 items but totalCount is 20"),
        ([as_page(envelope(items(1), pagination={"totalCount": 1}))], "no pagination.totalPages"),
        ([numbered_v20(items(1), 1, -1, 1)], "is not a count"),
    ],
)
def test_page_number_contradictions_raise_pagination_error(pages: list[Page], message: str) -> None:
    paginator = numbered_paginator("v2.0")
    params = paginator.init_request({})
    with pytest.raises(PaginationError, match=message):
        for page in pages:
            paginator.update_state(page, page["data"])
            params = paginator.update_request(params)


def test_page_number_v14_total_change_is_detected() -> None:
    paginator = numbered_paginator("v1.4")
    paginator.init_request({})
    paginator.update_state(numbered_v14(items(100), 1, 2, 120), items(100))
    paginator.update_request({})
    with pytest.raises(PaginationError, match="totalCount changed"):
        paginator.update_state(numbered_v14(items(20, 100), 2, 2, 119), items(20, 100))


# -- offset ---------------------------------------------------------------------------------------


def test_offset_walks_by_items_received() -> None:
    paginator = offset_paginator()
    sent = drive(
        paginator,
        [
            (offset_v20(items(100), 0, 230), items(100)),
            (offset_v20(items(100, 100), 100, 230), items(100, 100)),
            (offset_v20(items(30, 200), 200, 230), items(30, 200)),
        ],
    )
    assert [(p["Offset"], p["Limit"]) for p in sent] == [(0, 100), (100, 100), (200, 100)]
    assert not paginator.has_next_page


def test_offset_follows_a_server_that_caps_the_limit() -> None:
    paginator = offset_paginator()
    sent = drive(
        paginator,
        [
            (offset_v20(items(50), 0, 120), items(50)),
            (offset_v20(items(50, 50), 50, 120), items(50, 50)),
        ],
    )
    assert [p["Offset"] for p in sent] == [0, 50, 100]


@pytest.mark.parametrize(
    ("pages", "message"),
    [
        (
            [offset_v20(items(100), 0, 200), offset_v20(items(100, 100), 100, 201)],
            "totalCount changed mid-walk from 200 to 201",
        ),
        (
            [offset_v20(items(100), 0, 200), offset_v20([], 100, 200)],
            "empty page at offset 100 of 200",
        ),
        ([offset_v20(items(100), 0, 100), offset_v20(items(1), 100, 100)], "offset 100 is beyond"),
        ([offset_v20(items(3), 0, 0)], "offset 0 is beyond totalCount 0"),
    ],
)
def test_offset_contradictions_raise_pagination_error(pages: list[Page], message: str) -> None:
    paginator = offset_paginator()
    paginator.init_request({})
    with pytest.raises(PaginationError, match=message):
        for page in pages:
            paginator.update_state(page, page["data"])


# -- walk -----------------------------------------------------------------------------------------


def serve(pages: list[Page], key: str | None = None) -> Callable[[Params], Any]:
    """A fetch over canned pages that records the params it was called with."""
    calls: list[Params] = []

    async def fetch(params: Params) -> tuple[Page, list[Any]]:
        calls.append(params)
        page = pages[len(calls) - 1]
        rows = page["data"] if key is None else page["data"][key]
        return page, rows

    fetch.calls = calls  # type: ignore[attr-defined]
    return fetch


@pytest.mark.anyio
async def test_walk_yields_every_page_with_its_params() -> None:
    pages = [numbered_v20(items(100), 1, 2, 130), numbered_v20(items(30, 100), 2, 2, 130)]
    fetch = serve(pages)
    walked = [p async for p in walk(fetch, {"CardId": "c1"}, numbered_paginator("v2.0"))]
    assert [w.number for w in walked] == [1, 2]
    assert [w.params["PageNumber"] for w in walked] == [1, 2]
    assert sum(len(w.items) for w in walked) == 130
    assert fetch.calls == [w.params for w in walked]  # type: ignore[attr-defined]


@pytest.mark.anyio
async def test_walk_raises_on_an_item_id_seen_twice() -> None:
    pages = [
        cursor_v20(items(2), "c1", True),
        cursor_v20(items(2, 1), None, False, rid="dup-page"),  # i1 again
    ]
    walked: list[int] = []
    with pytest.raises(PaginationError, match="item id 'i1' appeared twice") as caught:
        async for page in walk(
            serve(pages), {}, cursor_paginator("v2.0"), item_key=lambda row: row["id"]
        ):
            walked.append(page.number)
    assert walked == [1]  # the bad page is never yielded
    assert caught.value.response_id == "dup-page"


@pytest.mark.anyio
async def test_walk_without_item_key_allows_repeats() -> None:
    pages = [cursor_v20(items(2), "c1", True), cursor_v20(items(2), None, False)]
    walked = [p async for p in walk(serve(pages), {}, cursor_paginator("v2.0"))]
    assert len(walked) == 2


@pytest.mark.anyio
@pytest.mark.parametrize("dialect", ["v2.0", "v1.4"])
@pytest.mark.parametrize("count", [0, 1, 100, 101, 250])
async def test_walk_over_the_client_returns_the_whole_dataset(
    fake: FakeCardepass, make_api: Callable[..., CardepassClient], dialect: Any, count: int
) -> None:
    """End to end through CardepassClient and MockTransport: paginate-all equals the data."""
    rows = [{"id": f"t{k}"} for k in range(count)]

    def transactions(request: httpx.Request) -> httpx.Response:
        params = request.url.params
        cursor = params.get("PageCursor" if dialect == "v2.0" else "pageCursor")
        size = int(params["PageSize" if dialect == "v2.0" else "pageSize"])
        start = 0 if cursor is None else int(cursor.removeprefix("after-")) + 1
        chunk = rows[start : start + size]
        more = start + size < count
        last = f"after-{start + len(chunk) - 1}" if more else None
        if dialect == "v2.0":
            body = envelope(
                chunk, pagination={"pageSize": size, "nextCursor": last, "hasMore": more}
            )
        else:
            body = envelope({"pageCursor": last or "None", "pageSize": size, "data": chunk})
        return httpx.Response(200, json=body)

    fake.on("/v1/transactions", transactions)

    async with make_api() as api:

        async def fetch(params: Params) -> tuple[Mapping[str, Any], list[Any]]:
            response = await api.get_json("/v1/transactions", params)
            data = response.data
            return response.body, data if isinstance(data, list) else data["data"]

        got = [
            row
            async for page in walk(
                fetch,
                {"CardId": "c1"},
                cursor_paginator(dialect),
                item_key=lambda r: r["id"],
            )
            for row in page.items
        ]
    assert got == rows


# -- the older v1.4 page shape (data.data + totalRecords), decided per reply ---------------------


def older_v14(rows: list[Any], index: int, total_records: int, total_pages: int | None) -> Page:
    data: dict[str, Any] = {
        "pageIndex": index,
        "pageSize": 100,
        "totalRecords": total_records,
        "data": rows,
    }
    if total_pages is not None:
        data["totalPages"] = total_pages
    return as_page(envelope(data))


def test_v14_pages_may_switch_shape_from_one_reply_to_the_next() -> None:
    """Each reply is read in its own shape: items, totals and the page count follow it."""
    endpoint = DIALECTS["v1.4"].endpoints["account_logs"]
    pages = [
        older_v14(items(100), 1, 250, None),  # totalPages left out: ceil(250 / 100) = 3
        numbered_v14(items(100, 100), 2, 3, 250),
        older_v14(items(50, 200), 3, 250, 3),
    ]
    paginator = endpoint.paginator(MAX_PAGE_SIZE)
    sent = drive(paginator, [(page, endpoint.items(page)) for page in pages])
    assert [p["pageIndex"] for p in sent] == [1, 2, 3]
    assert paginator.items == 250
    assert [endpoint.shape(p) for p in pages] == [
        "data.data + totalRecords",
        "data.items + totalCount",
        "data.data + totalRecords",
    ]


def test_the_older_shape_checks_its_total_like_the_newer() -> None:
    paginator = numbered_paginator("v1.4")
    paginator.init_request({})
    with pytest.raises(PaginationError, match="walk ended after 2 items but totalCount is 3"):
        paginator.update_state(older_v14(items(2), 1, 3, None), items(2))


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ({"pageIndex": 1, "totalCount": 1, "rows": items(1)}, "no list of items at data.items or"),
        ({"pageIndex": 1, "pageSize": 100, "data": items(1)}, "no data.totalPages or"),
        ({"pageIndex": 1, "totalCount": 1, "items": items(1)}, "no data.totalPages"),
    ],
)
def test_a_v14_page_in_neither_shape_is_refused(data: dict[str, Any], message: str) -> None:
    paginator = numbered_paginator("v1.4")
    paginator.init_request({})
    with pytest.raises(PaginationError, match=message):
        paginator.update_state(as_page(envelope(data)), [])


def test_items_that_are_not_objects_are_kept_for_the_quarantine() -> None:
    endpoint = DIALECTS["v1.4"].endpoints["card_account_logs"]
    page = numbered_v14([{"accountLogId": "a"}, 7, "x"], 1, 1, 3)
    assert endpoint.items(page) == [{"accountLogId": "a"}, 7, "x"]
    assert [endpoint.item_id(i) for i in endpoint.items(page)] == ["a", None, None]
