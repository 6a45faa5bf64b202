"""The two ledgers: card account logs (Standard-card funding) and account logs."""

from __future__ import annotations

from typing import Any

from sandbox import render
from sandbox.paging import number_page, offset_page
from sandbox.params import (
    DEFAULT_PAGE_SIZE,
    MAX_PAGE_SIZE,
    date_window,
    datetime_window,
    int_param,
    page_size,
)
from sandbox.render import V20
from sandbox.replies import envelope
from sandbox.state import Call


def card_account_logs(call: Call) -> Any:
    world, dialect = call.world, call.dialect
    if dialect == V20:
        lo, hi = date_window(call, ("TransactionDateFrom", "TransactionDateTo"))
        number = int_param(call, "PageNumber", 1, lo=1)
        size = page_size(call, "PageSize")
        rows = world.select_card_logs(lo, hi, card_id=call.get("CardId"))
        meta, page = number_page(call, rows, number, size, "pageNumber")
        return envelope(render.card_logs(world, page, dialect), pagination=meta)
    lo, hi = datetime_window(call, ("transactionDateFrom", "transactionDateTo"), required=False)
    number = int_param(call, "pageIndex", 1, lo=1)
    size = page_size(call, "pageSize")
    rows = world.select_card_logs(lo, hi, card_id=call.get("cardId"))
    meta, page = number_page(call, rows, number, size, "pageIndex")
    return envelope({**meta, "items": render.card_logs(world, page, dialect)})


def account_logs(call: Call) -> Any:
    world, dialect = call.world, call.dialect
    if dialect == V20:
        lo, hi = date_window(call, ("TransactionDateFrom", "TransactionDateTo"))
        limit = int_param(call, "Limit", DEFAULT_PAGE_SIZE, lo=1, hi=MAX_PAGE_SIZE)
        offset = int_param(call, "Offset", 0, lo=0)
        rows = world.select_account_logs(lo, hi)
        items = render.account_logs(world, offset_page(call, rows, offset, limit), dialect)
        pagination = {"limit": limit, "offset": offset, "totalCount": len(rows)}
        return envelope(items, pagination=pagination)
    lo, hi = datetime_window(call, ("transactionDateFrom", "transactionDateTo"), required=False)
    number = int_param(call, "pageIndex", 1, lo=1)
    size = page_size(call, "pageSize")
    rows = world.select_account_logs(lo, hi)
    meta, page = number_page(call, rows, number, size, "pageIndex")
    return envelope({**meta, "items": render.account_logs(world, page, dialect)})
