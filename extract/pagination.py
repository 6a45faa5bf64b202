"""Paginators: tiny state machines without I/O, and the one loop that drives them.

Every paginator has the same four members (the shape of dlt's ``rest_client``
paginators):

``init_request(params) -> params``
    reset the state and return the first page's query parameters;
``update_state(page, items) -> None``
    read one answered page (the whole parsed envelope, and its items) and decide
    whether there is a next page — raising :class:`~extract.errors.PaginationError`
    when the page contradicts the walk so far;
``has_next_page``
    whether another request is needed;
``update_request(params) -> params``
    the next page's query parameters (a new dict; the argument is not mutated).

The classes, by how a walk moves on (which parameter and which page field each reads
is the endpoint's to say: :mod:`extract.streams` declares them, this module knows no
dialect):

* :class:`CursorPaginator` — a cursor param and the page's next cursor, ended either by
  a ``hasMore`` flag or by a cursor that is one of the end values;
* :class:`PageNumberPaginator` — a page number param and the page's ``totalPages`` /
  ``totalCount``;
* :class:`OffsetPaginator` — limit/offset params and the page's ``totalCount``.

A numbered page's **shape** (:class:`PageShape`: where its items and totals are) is decided
per reply by :func:`page_shape`, from the container the reply actually carries, never once
per stream and never per item (an endpoint may answer in more than one shape);
:meth:`extract.streams.Endpoint.items` reads the items with the same decision. A shape may
leave ``totalPages`` out: it then follows from the total count and the page size.

Guards (each a :class:`PaginationError`): a cursor seen before; a page number beyond
``totalPages``; "more pages" announced with an empty page; a ``totalCount`` or
``totalPages`` that changes mid-walk; more (or, at the end, fewer) items than
``totalCount``; more than ``max_pages`` pages; and, in :func:`walk`, an item id that
repeats within one walk.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import AsyncIterator, Awaitable, Callable, Hashable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Generic, TypeVar

from extract.errors import PaginationError

__all__ = [
    "DEFAULT_MAX_PAGES",
    "MAX_PAGE_SIZE",
    "CursorPaginator",
    "OffsetPaginator",
    "PageNumberPaginator",
    "PageShape",
    "Paginator",
    "Params",
    "WalkedPage",
    "page_shape",
    "walk",
]

Params = dict[str, Any]
MAX_PAGE_SIZE = 100
"""The documented maximum ``PageSize``."""
DEFAULT_MAX_PAGES = 100_000

_MISSING: Any = object()


def _dig(page: Mapping[str, Any], path: Sequence[str]) -> Any:
    node: Any = page
    for key in path:
        if not isinstance(node, Mapping) or key not in node:
            return _MISSING
        node = node[key]
    return node


@dataclass(frozen=True, slots=True)
class PageShape:
    """Where one shape of page keeps its items and totals (paths from the envelope)."""

    name: str  # as a user reads it: "data.items + totalCount"
    items_path: tuple[str, ...]
    total_count_path: tuple[str, ...] | None = None
    total_pages_path: tuple[str, ...] | None = None
    derive_pages: bool = False  # no totalPages in a reply: ceil(total count / page size)

    def items(self, body: Any) -> list[Any] | None:
        """The reply's items if it is a page of this shape (its container is a list)."""
        found = _dig(body, self.items_path)
        return found if isinstance(found, list) else None


def page_shape(body: Any, shapes: Sequence[PageShape]) -> PageShape | None:
    """The first of ``shapes`` whose items container is a list in this reply (or None)."""
    for shape in shapes:
        if shape.items(body) is not None:
            return shape
    return None


class Paginator(ABC):
    """The shared interface and bookkeeping. One instance serves one walk at a time;
    :meth:`init_request` resets it."""

    def __init__(self, *, page_size: int = MAX_PAGE_SIZE, max_pages: int = DEFAULT_MAX_PAGES):
        if not 1 <= page_size <= MAX_PAGE_SIZE:
            raise ValueError(f"page_size must be between 1 and {MAX_PAGE_SIZE}")
        if max_pages < 1:
            raise ValueError("max_pages must be >= 1")
        self.page_size = page_size
        self.max_pages = max_pages
        self._reset()

    def _reset(self) -> None:
        self.pages = 0
        self.items = 0
        self._has_next = True

    @property
    def has_next_page(self) -> bool:
        """True while another page must be requested."""
        return self._has_next

    def init_request(self, params: Mapping[str, Any]) -> Params:
        """Reset the walk and return the first request's parameters."""
        self._reset()
        return self._first(dict(params))

    @abstractmethod
    def _first(self, params: Params) -> Params: ...

    @abstractmethod
    def update_state(self, page: Mapping[str, Any], items: Sequence[Any]) -> None:
        """Take in one answered page; may raise :class:`PaginationError`."""

    @abstractmethod
    def update_request(self, params: Mapping[str, Any]) -> Params:
        """The next request's parameters (a new dict)."""

    # -- helpers for subclasses --------------------------------------------------------------

    def _fail(self, page: Mapping[str, Any], what: str) -> PaginationError:
        response_id = page.get("responseId")
        return PaginationError(
            f"{type(self).__name__}, page {self.pages}: {what}",
            response_id=response_id if isinstance(response_id, str) else None,
        )

    def _count(self, items: Sequence[Any]) -> None:
        self.pages += 1
        self.items += len(items)

    def _finish(self, page: Mapping[str, Any], has_next: bool) -> None:
        if has_next and self.pages >= self.max_pages:
            raise self._fail(page, f"more than max_pages={self.max_pages} pages; giving up")
        self._has_next = has_next

    def _int_at(
        self, page: Mapping[str, Any], path: Sequence[str], *, required: bool
    ) -> int | None:
        value = _dig(page, path)
        if value is _MISSING or value is None:
            if required:
                raise self._fail(page, f"the page has no {'.'.join(path)}")
            return None
        if isinstance(value, str) and value.strip().isdigit():
            return int(value)
        if isinstance(value, int) and not isinstance(value, bool) and value >= 0:
            return value
        raise self._fail(page, f"{'.'.join(path)} is not a count: {value!r}")


class _TotalsMixin(Paginator):
    """Remembers the first ``totalCount``/``totalPages`` and refuses a change."""

    def _reset(self) -> None:
        super()._reset()
        self._totals: dict[str, int] = {}

    def _check_total(self, page: Mapping[str, Any], name: str, value: int | None) -> None:
        if value is None:
            return
        first = self._totals.setdefault(name, value)
        if value != first:
            raise self._fail(
                page, f"{name} changed mid-walk from {first} to {value} (data moved under us)"
            )

    def _check_item_total(
        self, page: Mapping[str, Any], total: int | None, *, has_next: bool
    ) -> None:
        if total is None:
            return
        if self.items > total:
            raise self._fail(page, f"{self.items} items received but totalCount is {total}")
        if not has_next and self.items < total:
            raise self._fail(
                page, f"the walk ended after {self.items} items but totalCount is {total}"
            )


class CursorPaginator(Paginator):
    """Cursor pages: the page at ``cursor_path`` names the cursor the next request sends.

    With ``has_more_path`` the page also says whether more follow (and a "yes" without a
    cursor is refused); without it, a cursor that is absent, null or one of
    ``end_values`` ends the walk. The first request carries no cursor.
    """

    def __init__(
        self,
        *,
        cursor_param: str,
        cursor_path: Sequence[str],
        page_size_param: str,
        end_values: frozenset[str],
        has_more_path: Sequence[str] | None = None,
        page_size: int = MAX_PAGE_SIZE,
        max_pages: int = DEFAULT_MAX_PAGES,
    ) -> None:
        self.cursor_param = cursor_param
        self.cursor_path = tuple(cursor_path)
        self.page_size_param = page_size_param
        self.has_more_path = None if has_more_path is None else tuple(has_more_path)
        self.end_values = end_values
        super().__init__(page_size=page_size, max_pages=max_pages)

    def _reset(self) -> None:
        super()._reset()
        self._seen: set[str] = set()
        self._cursor: str | None = None

    @property
    def cursor(self) -> str | None:
        """The cursor the next request will send."""
        return self._cursor

    def _first(self, params: Params) -> Params:
        params.pop(self.cursor_param, None)
        params[self.page_size_param] = self.page_size
        return params

    def _is_end(self, cursor: Any) -> bool:
        return cursor is _MISSING or cursor is None or str(cursor) in self.end_values

    def update_state(self, page: Mapping[str, Any], items: Sequence[Any]) -> None:
        self._count(items)
        cursor = _dig(page, self.cursor_path)
        if self.has_more_path is not None:
            has_more = _dig(page, self.has_more_path)
            if isinstance(has_more, str) and has_more.lower() in ("true", "false"):
                has_more = has_more.lower() == "true"
            if not isinstance(has_more, bool):
                raise self._fail(page, f"the page has no boolean {'.'.join(self.has_more_path)}")
            if has_more and self._is_end(cursor):
                raise self._fail(page, "hasMore is true but there is no next cursor")
        elif cursor is _MISSING:
            raise self._fail(page, f"the page has no {'.'.join(self.cursor_path)}")
        else:
            has_more = not self._is_end(cursor)
        if has_more:
            if not items:
                raise self._fail(page, "the page is empty but says more pages follow")
            cursor = str(cursor)
            if cursor in self._seen:
                raise self._fail(page, f"cursor {cursor!r} was already used in this walk")
            self._seen.add(cursor)
            self._cursor = cursor
        self._finish(page, has_more)

    def update_request(self, params: Mapping[str, Any]) -> Params:
        if self._cursor is None:
            raise RuntimeError("update_request before a page announced a next cursor")
        return {**params, self.cursor_param: self._cursor}


class PageNumberPaginator(_TotalsMixin):
    """Numbered pages with ``totalPages``/``totalCount``.

    ``shapes`` are the page shapes the endpoint may answer with; each reply's own is found by
    :func:`page_shape`. A shape with ``derive_pages`` may leave ``totalPages`` out: it follows
    from the total count and the page size (the reply's ``pageSize`` beside its items, when
    it gives one).
    """

    def __init__(
        self,
        *,
        page_param: str,
        page_size_param: str,
        shapes: Sequence[PageShape],
        first_page: int = 1,
        page_size: int = MAX_PAGE_SIZE,
        max_pages: int = DEFAULT_MAX_PAGES,
    ) -> None:
        if not shapes:
            raise ValueError("a PageNumberPaginator needs at least one page shape")
        self.page_param = page_param
        self.page_size_param = page_size_param
        self.shapes = tuple(shapes)
        self.first_page = first_page
        super().__init__(page_size=page_size, max_pages=max_pages)

    def _reset(self) -> None:
        super()._reset()
        self._page = self.first_page

    def _first(self, params: Params) -> Params:
        params[self.page_param] = self._page
        params[self.page_size_param] = self.page_size
        return params

    def update_state(self, page: Mapping[str, Any], items: Sequence[Any]) -> None:
        self._count(items)
        shape = page_shape(page, self.shapes)
        if shape is None:
            names = " or ".join(".".join(sh.items_path) for sh in self.shapes)
            raise self._fail(page, f"the page has no list of items at {names}")
        total_count = None
        if shape.total_count_path is not None:
            total_count = self._int_at(page, shape.total_count_path, required=False)
        total_pages = None
        if shape.total_pages_path is not None:
            total_pages = self._int_at(page, shape.total_pages_path, required=False)
        if total_pages is None:
            if total_count is None or not shape.derive_pages:
                where = " or ".join(
                    ".".join(p)
                    for p in (shape.total_pages_path, shape.total_count_path)
                    if p is not None
                )
                raise self._fail(page, f"the page has no {where}")
            size = self._int_at(page, (*shape.items_path[:-1], "pageSize"), required=False)
            size = size or self.page_size
            total_pages = -(-total_count // size)
        ordinal = self._page - self.first_page + 1
        if total_pages and ordinal > total_pages:
            raise self._fail(page, f"page {self._page} is beyond totalPages {total_pages}")
        self._check_total(page, "totalPages", total_pages)
        self._check_total(page, "totalCount", total_count)
        if total_pages == 0:
            if items:
                raise self._fail(page, f"{len(items)} items on a page but totalPages is 0")
            has_next = False
        else:
            has_next = ordinal < total_pages
            if has_next and not items:
                raise self._fail(page, f"page {self._page} of {total_pages} is empty")
        self._check_item_total(page, total_count, has_next=has_next)
        self._finish(page, has_next)

    def update_request(self, params: Mapping[str, Any]) -> Params:
        self._page += 1
        return {**params, self.page_param: self._page}


class OffsetPaginator(_TotalsMixin):
    """Limit/offset pages with a ``totalCount``.

    The next offset advances by the items actually received, so a server that caps the
    limit below ``page_size`` does not make the walk skip rows.
    """

    def __init__(
        self,
        *,
        offset_param: str,
        limit_param: str,
        total_count_path: Sequence[str],
        page_size: int = MAX_PAGE_SIZE,
        max_pages: int = DEFAULT_MAX_PAGES,
    ) -> None:
        self.offset_param = offset_param
        self.limit_param = limit_param
        self.total_count_path = tuple(total_count_path)
        super().__init__(page_size=page_size, max_pages=max_pages)

    def _reset(self) -> None:
        super()._reset()
        self._offset = 0

    def _first(self, params: Params) -> Params:
        params[self.offset_param] = 0
        params[self.limit_param] = self.page_size
        return params

    def update_state(self, page: Mapping[str, Any], items: Sequence[Any]) -> None:
        self._count(items)
        total = self._int_at(page, self.total_count_path, required=True)
        assert total is not None
        self._check_total(page, "totalCount", total)
        if items and self._offset >= total:
            raise self._fail(page, f"offset {self._offset} is beyond totalCount {total}")
        self._offset += len(items)
        has_next = self._offset < total
        if has_next and not items:
            raise self._fail(page, f"empty page at offset {self._offset} of {total}")
        self._check_item_total(page, total, has_next=has_next)
        self._finish(page, has_next)

    def update_request(self, params: Mapping[str, Any]) -> Params:
        return {**params, self.offset_param: self._offset}


T = TypeVar("T")


@dataclass(frozen=True, slots=True)
class WalkedPage(Generic[T]):
    """One page of a walk: its 1-based number, the params sent, the envelope, the items."""

    number: int
    params: Params
    page: Mapping[str, Any]
    items: Sequence[T]


async def walk(
    fetch: Callable[[Params], Awaitable[tuple[Mapping[str, Any], Sequence[T]]]],
    params: Mapping[str, Any],
    paginator: Paginator,
    *,
    item_key: Callable[[T], Hashable | None] | None = None,
) -> AsyncIterator[WalkedPage[T]]:
    """Fetch pages until the paginator says stop, yielding each checked page.

    ``fetch(params)`` performs one request and returns ``(envelope, items)``. A page is
    yielded only after the paginator and the item-id check accepted it; with
    ``item_key``, an id seen twice in one walk raises :class:`PaginationError` (an item
    whose key is None has no id to compare).
    """
    request = paginator.init_request(params)
    seen: set[Hashable] = set()
    number = 0
    while True:
        page, items = await fetch(dict(request))
        number += 1
        paginator.update_state(page, items)
        if item_key is not None:
            for item in items:
                key = item_key(item)
                if key is None:  # no id: normalising quarantines it; nothing to compare
                    continue
                if key in seen:
                    response_id = page.get("responseId")
                    raise PaginationError(
                        f"item id {key!r} appeared twice in one walk (page {number})",
                        response_id=response_id if isinstance(response_id, str) else None,
                    )
                seen.add(key)
        yield WalkedPage(number=number, params=request, page=page, items=items)
        if not paginator.has_next_page:
            return
        request = paginator.update_request(request)
