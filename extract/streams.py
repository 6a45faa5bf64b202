"""What extraction knows of the API's two dialects, as data, in this one module.

An :class:`Endpoint` says, for one stream in one dialect, everything the shared
extraction loop needs: path, how a date window is written, which paginator walks it and
with which parameters, the page shapes it answers with, and which field is the item's id
and card. An :class:`ApiDialect` is one dialect's endpoints and the scope its token
needs; :data:`DIALECTS` holds both (API.md, "Read endpoints"). What both dialects share
is stated once beside them: the fields of a log that name an order (:data:`ORDER_LINKS`)
and the snapshot endpoints. Adding a stream is one declaration per dialect (plus its
schema in ``transform``), not a new code path; :mod:`extract.pagination` and
:mod:`extract.engine` know no dialect.

Whatever reads a stored reply again (a rebuild from ``raw.pages``) takes its items with
:func:`stored_items` and an order reply's card model with :func:`card_model_of`: the
run's own reading, not a second one.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date
from typing import Any, Literal, cast

from extract.pagination import (
    CursorPaginator,
    OffsetPaginator,
    PageNumberPaginator,
    PageShape,
    Paginator,
    page_shape,
)
from extract.records import OrderRef

DialectName = Literal["v2.0", "v1.4"]
StreamName = Literal["transactions", "card_account_logs", "account_logs"]
STREAM_NAMES: tuple[StreamName, ...] = ("transactions", "card_account_logs", "account_logs")
CardModel = Literal["Standard", "ShareBalance"]

# Snapshot "streams": what raw.pages calls the replies of the snapshot endpoints.
CARDS, ACCOUNTS, ORDERS = "cards", "accounts", "orders"

# The snapshot endpoints, the same in both dialects. A card's id is quoted into its path;
# an order is asked for by OrderType and OrderNo at the endpoint of its card's model.
ACCOUNTS_PATH = "/v1/accounts"
CARD_PATH = "/v1/cards/{card_id}"
ORDER_PATHS: Mapping[CardModel, str] = {
    "Standard": "/v1/orders/standard",
    "ShareBalance": "/v1/orders/sharebalance",
}

FUNDING_TYPES = frozenset({"ApplyCard", "CardTopUp", "CardWithdraw", "CardCancel"})
"""The account-log types that fund or drain a card through an order (their ``orderNo`` is
an order to snapshot); the other types name no order we can ask for. ``transform`` may not
import extract, so it states the same list for itself (``transform.schemas.CARD_LOG_TYPES``,
the card-log types); ``tests/extract/test_streams.py`` holds the two equal."""


def _dig(item: Mapping[str, Any], path: Sequence[str]) -> Any:
    node: Any = item
    for key in path:
        if not isinstance(node, Mapping):
            return None
        node = node.get(key)
    return node


@dataclass(frozen=True, slots=True)
class OrderLink:
    """Which fields of a log name the order it belongs to, and the type to ask it by."""

    number_field: str
    type_field: str
    types: frozenset[str] | None = None  # only logs of these types name an order (None: all)

    def ref(self, item: Any, card: str | None) -> OrderRef | None:
        """The order ``item`` names, or None (no number or type, or a type naming none)."""
        if not isinstance(item, Mapping):  # normalising quarantines it
            return None
        number, kind = item.get(self.number_field), item.get(self.type_field)
        if not (isinstance(number, str) and number and isinstance(kind, str)):
            return None
        if self.types is not None and kind not in self.types:
            return None
        return OrderRef(number, kind, card)


# The same fields in both dialects (API.md, "Items"); transactions name no order.
ORDER_LINKS: Mapping[StreamName, OrderLink] = {
    "card_account_logs": OrderLink("cardOrderNo", "cardAccountLogType"),
    "account_logs": OrderLink("orderNo", "accountTransType", FUNDING_TYPES),
}


@dataclass(frozen=True)
class Endpoint:
    """One stream in one dialect."""

    stream: StreamName
    path: str
    date_from: str
    date_to: str
    date_format: Literal["date", "datetime"]
    paginator: Callable[[int], Paginator]  # page size -> a fresh paginator for one walk
    shapes: tuple[PageShape, ...]  # the page shapes it may answer with (decided per reply)
    id_field: str
    card_path: tuple[str, ...]

    def window_params(self, first: date, last: date) -> dict[str, str]:
        """The query parameters selecting the whole days ``first..last`` (inclusive).

        v1.4 date-times run from the first to the last 100 ns tick of those days: the
        service's times carry ticks, so a window ending any coarser would leave the rest
        of its last day between it and the next window (DESIGN.md, "Reliability rules").
        """
        if self.date_format == "date":
            return {self.date_from: first.isoformat(), self.date_to: last.isoformat()}
        return {
            self.date_from: f"{first.isoformat()}T00:00:00.0000000Z",
            self.date_to: f"{last.isoformat()}T23:59:59.9999999Z",
        }

    def items(self, body: Any) -> list[Any]:
        """The reply's items, in the page shape this reply has (:func:`page_shape`); [] when
        it has none (the paginator then refuses the page). Every item is kept, an item that
        is not an object too: normalising quarantines it, it is never dropped here."""
        shape = page_shape(body, self.shapes)
        found = None if shape is None else shape.items(body)
        return [] if found is None else found

    def shape(self, body: Any) -> str | None:
        """The name of the page shape this reply has (``"data.items + totalCount"``)."""
        shape = page_shape(body, self.shapes)
        return None if shape is None else shape.name

    def item_id(self, item: Any) -> str | None:
        """The item's id as sent, or None when it has none (then no duplicate check)."""
        value = item.get(self.id_field) if isinstance(item, Mapping) else None
        return None if value is None else str(value)

    def card_id(self, item: Mapping[str, Any]) -> str | None:
        value = _dig(item, self.card_path)
        return str(value) if value else None


@dataclass(frozen=True)
class ApiDialect:
    """One dialect of the API: its read endpoints and the OAuth scope its token needs."""

    name: DialectName
    endpoints: Mapping[StreamName, Endpoint]
    token_scope: str | None


def _by_stream(*endpoints: Endpoint) -> Mapping[StreamName, Endpoint]:
    return {e.stream: e for e in endpoints}


# -- v2.0: the client's document ------------------------------------------------------------

V20_PAGES = PageShape(
    "data + pagination.totalCount",
    ("data",),
    ("pagination", "totalCount"),
    ("pagination", "totalPages"),
)
V20_CURSOR_PAGES = PageShape("data + pagination.nextCursor", ("data",))
V20_OFFSET_PAGES = PageShape("data + pagination.offset", ("data",), ("pagination", "totalCount"))

# The texts of a cursor field that mean "no next page" (v1.4 sends the string "None").
NO_CURSOR = frozenset({"None", ""})

V20 = ApiDialect(
    name="v2.0",
    token_scope=None,
    endpoints=_by_stream(
        Endpoint(
            stream="transactions",
            path="/v1/transactions",
            date_from="TransactionDateFrom",
            date_to="TransactionDateTo",
            date_format="date",
            paginator=lambda n: CursorPaginator(
                cursor_param="PageCursor",
                cursor_path=("pagination", "nextCursor"),
                has_more_path=("pagination", "hasMore"),
                end_values=NO_CURSOR,
                page_size_param="PageSize",
                page_size=n,
            ),
            shapes=(V20_CURSOR_PAGES,),
            id_field="transactionId",
            card_path=("cardId",),
        ),
        Endpoint(
            stream="card_account_logs",
            path="/v1/accounts/cardAccountLogs",
            date_from="TransactionDateFrom",
            date_to="TransactionDateTo",
            date_format="date",
            paginator=lambda n: PageNumberPaginator(
                page_param="PageNumber",
                page_size_param="PageSize",
                shapes=(V20_PAGES,),
                page_size=n,
            ),
            shapes=(V20_PAGES,),
            id_field="accountLogId",
            card_path=("cardInfo", "cardId"),
        ),
        Endpoint(
            stream="account_logs",
            path="/v1/accounts/accountLogs",
            date_from="TransactionDateFrom",
            date_to="TransactionDateTo",
            date_format="date",
            paginator=lambda n: OffsetPaginator(
                offset_param="Offset",
                limit_param="Limit",
                total_count_path=("pagination", "totalCount"),
                page_size=n,
            ),
            shapes=(V20_OFFSET_PAGES,),
            id_field="id",
            card_path=("cardInfo", "cardId"),
        ),
    ),
)

# -- v1.4: the live service's reference -----------------------------------------------------

V14_PAGES = PageShape(
    "data.items + totalCount", ("data", "items"), ("data", "totalCount"), ("data", "totalPages")
)
# older deployments (the June 2025 reference), decided per reply
V14_OLDER_PAGES = PageShape(
    "data.data + totalRecords",
    ("data", "data"),
    ("data", "totalRecords"),
    ("data", "totalPages"),
    derive_pages=True,
)
V14_LOG_SHAPES = (V14_PAGES, V14_OLDER_PAGES)
V14_CURSOR_PAGES = PageShape("data.data + pageCursor", ("data", "data"))


def _v14_logs(stream: StreamName, path: str, id_field: str) -> Endpoint:
    return Endpoint(
        stream=stream,
        path=path,
        date_from="transactionDateFrom",
        date_to="transactionDateTo",
        date_format="datetime",
        paginator=lambda n: PageNumberPaginator(
            page_param="pageIndex", page_size_param="pageSize", shapes=V14_LOG_SHAPES, page_size=n
        ),
        shapes=V14_LOG_SHAPES,
        id_field=id_field,
        card_path=("cardInfo", "cardId"),
    )


V14 = ApiDialect(
    name="v1.4",
    token_scope="openapi",  # noqa: S106 - an OAuth scope, not a secret
    endpoints=_by_stream(
        Endpoint(
            stream="transactions",
            path="/v1/transactions",
            date_from="transactionDateFrom",
            date_to="transactionDateTo",
            date_format="datetime",
            paginator=lambda n: CursorPaginator(
                cursor_param="pageCursor",
                cursor_path=("data", "pageCursor"),
                end_values=NO_CURSOR,
                page_size_param="pageSize",
                page_size=n,
            ),
            shapes=(V14_CURSOR_PAGES,),
            id_field="id",
            card_path=("cardInfo", "cardId"),
        ),
        _v14_logs("card_account_logs", "/v1/accounts/cardAccountLogs", "accountLogId"),
        _v14_logs("account_logs", "/v1/accounts/accountLogs", "id"),
    ),
)

DIALECTS: Mapping[DialectName, ApiDialect] = {d.name: d for d in (V20, V14)}


def detect_dialect(accounts_body: Any) -> DialectName:
    """Tell the dialect from a ``GET /v1/accounts`` reply: v2.0 one object, v1.4 a list."""
    data = accounts_body.get("data") if isinstance(accounts_body, dict) else None
    if isinstance(data, list):
        return "v1.4"
    if isinstance(data, dict):
        return "v2.0"
    raise ValueError("cannot tell the API dialect from /v1/accounts; pass --dialect v2.0|v1.4")


def card_model_of(request_path: str) -> CardModel:
    """The card model an order reply is about: the endpoint that answered it says so."""
    for model, path in ORDER_PATHS.items():
        if request_path == path:
            return model
    raise ValueError(
        f"{request_path!r} is not an order endpoint ({', '.join(ORDER_PATHS.values())})"
    )


def stored_items(stream: str, request_path: str, dialect: DialectName, body: Any) -> Any:
    """The items of one stored reply, exactly as the run took them from it.

    A stream's page (``body`` its parsed envelope): the items of the page shape this
    reply has (:meth:`Endpoint.items`), a list. A snapshot reply (``cards``, ``orders``,
    ``accounts``): its ``data`` as it stands, which the normaliser reads as one record —
    a card's or an order's object, the v2.0 account object — or, v1.4's account list, one
    per currency. Raises ValueError for a stream this module does not extract, and for a
    page that the dialect's endpoint of its stream did not answer (its items would be
    looked for in the wrong shape).
    """
    endpoints = DIALECTS[dialect].endpoints
    if stream in endpoints:
        endpoint = endpoints[cast(StreamName, stream)]
        if request_path != endpoint.path:
            raise ValueError(
                f"a {dialect} {stream} page from {request_path!r}: "
                f"that stream is read from {endpoint.path}"
            )
        return endpoint.items(body)
    if stream not in (CARDS, ACCOUNTS, ORDERS):
        raise ValueError(f"unknown stream {stream!r}")
    return body.get("data") if isinstance(body, dict) else body
