"""``GET /v1/transactions`` in both dialects (keyset cursors), with the faults that act
on a page's items (``bad_item``, ``schema_break``, ``conflict``) or its cursor
(``repeat_cursor``)."""

from __future__ import annotations

from typing import Any

import numpy as np
import orjson

from sandbox import render
from sandbox.paging import cursor_page, decode_cursor, encode_cursor
from sandbox.params import choice, date_window, datetime_window, page_size
from sandbox.render import V14, V20
from sandbox.replies import bad_request, envelope
from sandbox.state import Call
from sandbox.world import AUTHORIZED, FAILED, SETTLED

TXN_STATUS_IN = {
    V20: {"Pending": AUTHORIZED, "Success": SETTLED, "Failed": FAILED},
    V14: {"AuthSuccess": AUTHORIZED, "Settled": SETTLED, "AuthFailure": FAILED},
}


def transactions(call: Call) -> Any:
    world, dialect = call.world, call.dialect
    if dialect == V20:
        names = ("TransactionDateFrom", "TransactionDateTo")
        lo, hi = date_window(call, names)
        status = choice(call, "TransactionStatus", TXN_STATUS_IN[V20])
        size = page_size(call, "PageSize")
        sent = call.get("PageCursor")
        rows = world.select_transactions(
            lo, hi, card_id=call.get("CardId"), status=status, include_topups=True
        )
        rows = render.served_rows(world, rows, dialect)  # no AuthQuery in v2.0
        after = None if sent is None else decode_cursor(sent)
        page, more = cursor_page(call, rows, after, size, "PageCursor")
        next_cursor = encode_cursor(world.txns.id[page[-1]]) if more else None
        if call.fault == "repeat_cursor" and sent is not None:
            next_cursor, more, call.fired = sent, True, "repeat_cursor"
        pagination = {"pageSize": size, "nextCursor": next_cursor, "hasMore": more}
        items = item_faults(call, rows, page, render.transactions(world, page, dialect))
        return envelope(items, pagination=pagination)
    names = ("transactionDateFrom", "transactionDateTo")
    lo, hi = datetime_window(call, names, required=True)
    status = choice(call, "transactionStatus", TXN_STATUS_IN[V14])
    size = page_size(call, "pageSize")
    sent = call.get("pageCursor")
    if sent == "None":
        raise bad_request(
            "pageCursor 'None' marks the last page; stop paging (send no pageCursor to start)"
        )
    rows = world.select_transactions(lo, hi, card_id=call.get("cardId"), status=status)
    page, more = cursor_page(call, rows, sent, size, "pageCursor")
    cursor = str(world.txns.id[page[-1]]) if more else "None"
    if call.fault == "repeat_cursor" and sent is not None:
        cursor, call.fired = sent, "repeat_cursor"
    items = item_faults(call, rows, page, render.transactions(world, page, dialect))
    return envelope({"pageCursor": cursor, "pageSize": size, "data": items})


BAD_ITEM_VARIANTS = ("three_decimals", "unknown_status", "no_id")


def item_faults(
    call: Call, rows: np.ndarray, page: np.ndarray, items: list[dict[str, Any]]
) -> list[dict[str, Any]]:
    """Apply the item-level faults (``bad_item``, ``schema_break``, ``conflict``) to a page."""
    if not items or call.fault not in ("bad_item", "schema_break", "conflict"):
        return items
    world, v20 = call.world, call.dialect == V20
    id_key, amount_key = ("transactionId", "amount") if v20 else ("id", "authAmount")
    if call.fault == "bad_item":
        injector = call.sandbox.faults
        assert injector is not None
        variant = BAD_ITEM_VARIANTS[injector.bad_items % len(BAD_ITEM_VARIANTS)]
        injector.bad_items += 1
        item = dict(items[0])
        if variant == "three_decimals":
            cents = int(world.txns.auth_cents[page[0]])
            text = f"{'-' if v20 else ''}{cents // 100}.{cents % 100:02d}5"
            if v20:
                item["amount"] = orjson.Fragment(text.encode())
            else:
                item["authAmount"] = {
                    **item["authAmount"],
                    "amount": orjson.Fragment(text.encode()),
                }
        elif variant == "unknown_status":
            item["status"] = "Chargeback"
        else:
            item.pop(id_key)
        call.fired = f"bad_item:{variant}"
        return [item, *items[1:]]
    if call.fault == "schema_break":
        call.fired = "schema_break"
        return [{k: v for k, v in item.items() if k != amount_key} for item in items]
    # conflict: a transaction from one to three days before this page, with another merchant
    first = int(world.txns.auth_at[page[0]])
    lo, hi = first - 3 * 86_400_000, first - 86_400_000
    earlier = world.select_transactions(lo, hi, include_topups=False)
    if not len(earlier):
        return items
    twin = render.transactions(world, earlier[:1], call.dialect)[0]
    twin["merchantName"] = f"{twin.get('merchantName') or ''} (amended)"
    call.fired = "conflict"
    return [twin, *items]
