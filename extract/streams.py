"""The streams and snapshots we extract, as data: one frozen declaration per endpoint.

A :class:`Endpoint` says, for one stream in one dialect, everything the shared
extraction loop needs: path, how a date window is written, which paginator walks it,
where the items are, and which field is the item's id, time and card. Adding a
stream is one declaration per dialect (plus its schema in ``transform``), not a new
code path. Both dialects are in :data:`DIALECTS` (API.md, "Read endpoints").
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date
from typing import Any, Literal

from extract.pagination import (
    V14_CURSOR_PAGES,
    V14_OLDER_PAGES,
    V14_PAGES,
    V20_CURSOR_PAGES,
    V20_OFFSET_PAGES,
    V20_PAGES,
    CursorPaginator,
    OffsetPaginator,
    PageNumberPaginator,
    PageShape,
    Paginator,
    page_shape,
)

DialectName = Literal["v2.0", "v1.4"]
StreamName = Literal["transactions", "card_account_logs", "account_logs"]
STREAM_NAMES: tuple[StreamName, ...] = ("transactions", "card_account_logs", "account_logs")

# Snapshot "streams": what raw.pages calls the replies of the snapshot endpoints.
CARDS, ACCOUNTS, ORDERS = "cards", "accounts", "orders"

# Account-log types that fund or drain a card through an order (orderNo = the order).
FUNDING_TYPES = frozenset({"ApplyCard", "CardTopUp", "CardWithdraw", "CardCancel"})


def _dig(item: Mapping[str, Any], path: Sequence[str]) -> Any:
    node: Any = item
    for key in path:
        if not isinstance(node, Mapping):
            return None
        node = node.get(key)
    return node


@dataclass(frozen=True)
class Endpoint:
    """One stream in one dialect."""

    stream: StreamName
    path: str
    date_from: str
    date_to: str
    date_format: Literal["date", "datetime"]
    paginator: Callable[[int], Paginator]
    shapes: tuple[PageShape, ...]  # the page shapes it may answer with (decided per reply)
    id_field: str
    time_field: str
    card_path: tuple[str, ...]
    order_fields: tuple[str, ...] = ()

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
        if shape is None:
            return []
        found: list[Any] = _dig(body, shape.items_path)
        return found

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
class Dialect:
    """How one dialect names and shapes things."""

    name: DialectName
    endpoints: Mapping[StreamName, Endpoint]
    order_type_required: bool  # v1.4 requires OrderType on /v1/orders/standard
    token_scope: str | None
    accounts_is_list: bool
    used_credit_field: str | None
    card_balance_field: str
    card_status_field: str
    extra: Mapping[str, Any] = field(default_factory=dict)


def _v20() -> Dialect:
    return Dialect(
        name="v2.0",
        endpoints={
            "transactions": Endpoint(
                stream="transactions",
                path="/v1/transactions",
                date_from="TransactionDateFrom",
                date_to="TransactionDateTo",
                date_format="date",
                paginator=lambda n: CursorPaginator.for_dialect("v2.0", page_size=n),
                shapes=(V20_CURSOR_PAGES,),
                id_field="transactionId",
                time_field="transactionTime",
                card_path=("cardId",),
            ),
            "card_account_logs": Endpoint(
                stream="card_account_logs",
                path="/v1/accounts/cardAccountLogs",
                date_from="TransactionDateFrom",
                date_to="TransactionDateTo",
                date_format="date",
                paginator=lambda n: PageNumberPaginator.for_dialect("v2.0", page_size=n),
                shapes=(V20_PAGES,),
                id_field="accountLogId",
                time_field="transTime",
                card_path=("cardInfo", "cardId"),
                order_fields=("cardOrderNo",),
            ),
            "account_logs": Endpoint(
                stream="account_logs",
                path="/v1/accounts/accountLogs",
                date_from="TransactionDateFrom",
                date_to="TransactionDateTo",
                date_format="date",
                paginator=lambda n: OffsetPaginator(page_size=n),
                shapes=(V20_OFFSET_PAGES,),
                id_field="id",
                time_field="transTime",
                card_path=("cardInfo", "cardId"),
                order_fields=("orderNo",),
            ),
        },
        order_type_required=False,
        token_scope=None,
        accounts_is_list=False,
        used_credit_field=None,
        card_balance_field="balance",
        card_status_field="cardStatus",
    )


def _v14() -> Dialect:
    def logs(stream: StreamName, path: str, id_field: str, orders: tuple[str, ...]) -> Endpoint:
        return Endpoint(
            stream=stream,
            path=path,
            date_from="transactionDateFrom",
            date_to="transactionDateTo",
            date_format="datetime",
            paginator=lambda n: PageNumberPaginator.for_dialect("v1.4", page_size=n),
            shapes=(V14_PAGES, V14_OLDER_PAGES),
            id_field=id_field,
            time_field="transTime",
            card_path=("cardInfo", "cardId"),
            order_fields=orders,
        )

    return Dialect(
        name="v1.4",
        endpoints={
            "transactions": Endpoint(
                stream="transactions",
                path="/v1/transactions",
                date_from="transactionDateFrom",
                date_to="transactionDateTo",
                date_format="datetime",
                paginator=lambda n: CursorPaginator.for_dialect("v1.4", page_size=n),
                shapes=(V14_CURSOR_PAGES,),
                id_field="id",
                time_field="authTime",
                card_path=("cardInfo", "cardId"),
            ),
            "card_account_logs": logs(
                "card_account_logs",
                "/v1/accounts/cardAccountLogs",
                "accountLogId",
                ("cardOrderNo",),
            ),
            "account_logs": logs("account_logs", "/v1/accounts/accountLogs", "id", ("orderNo",)),
        },
        order_type_required=True,
        token_scope="openapi",  # noqa: S106 - an OAuth scope, not a secret
        accounts_is_list=True,
        used_credit_field="usedCreditAmount",
        card_balance_field="balanceAmount",
        card_status_field="status",
    )


DIALECTS: Mapping[DialectName, Dialect] = {"v2.0": _v20(), "v1.4": _v14()}


def detect_dialect(accounts_body: Any) -> DialectName:
    """Tell the dialect from a ``GET /v1/accounts`` reply: v2.0 one object, v1.4 a list."""
    data = accounts_body.get("data") if isinstance(accounts_body, dict) else None
    if isinstance(data, list):
        return "v1.4"
    if isinstance(data, dict):
        return "v2.0"
    raise ValueError("cannot tell the API dialect from /v1/accounts; pass --dialect v2.0|v1.4")
