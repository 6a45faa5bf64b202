"""Pages of row indices: offsets, page numbers and keyset cursors (base64 of the last
transaction id), with the ``repeat_item`` fault applied where it fires."""

from __future__ import annotations

import base64
import binascii
import math
from typing import Any

import numpy as np

from sandbox.replies import bad_request
from sandbox.state import Call


def offset_page(call: Call, rows: np.ndarray, start: int, size: int) -> np.ndarray:
    """``rows[start:start+size]``; under ``repeat_item`` a later page repeats one item."""
    page = rows[start : start + size]
    if call.fault == "repeat_item" and 0 < start <= len(rows) and len(page):
        page = np.concatenate([rows[start - 1 : start], rows[start : start + size - 1]])
        call.fired = "repeat_item"
    return page


def encode_cursor(txn_id: str) -> str:
    return base64.urlsafe_b64encode(txn_id.encode()).rstrip(b"=").decode()


def decode_cursor(text: str) -> str:
    try:
        return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4)).decode()
    except (binascii.Error, ValueError):
        raise bad_request(
            f"PageCursor {text!r} is not a cursor this service issued; "
            "start again without PageCursor"
        ) from None


def cursor_page(
    call: Call, rows: np.ndarray, after_id: str | None, size: int, name: str
) -> tuple[np.ndarray, bool]:
    """The page after the transaction ``after_id`` (keyset); and whether more follow."""
    prev = None
    start = 0
    if after_id is not None:
        prev = call.world.txn_index.get(after_id)
        if prev is None:
            raise bad_request(
                f"{name} does not name a transaction this service issued; "
                f"start again without {name}"
            )
        start = int(np.searchsorted(rows, prev, side="right"))
    page = rows[start : start + size]
    end = start + len(page)
    if call.fault == "repeat_item" and prev is not None and len(page) and size > 1:
        page = np.concatenate([np.array([prev], dtype=rows.dtype), page[: size - 1]])
        end = start + size - 1
        call.fired = "repeat_item"
    return page, end < len(rows)


def number_page(
    call: Call, rows: np.ndarray, number: int, size: int, index_name: str
) -> tuple[dict[str, Any], np.ndarray]:
    """Page ``number`` (1-based) of ``rows``: the paging fields and the page's rows."""
    total = len(rows)
    meta = {
        index_name: number,
        "pageSize": size,
        "totalCount": total,
        "totalPages": math.ceil(total / size),
    }
    return meta, offset_page(call, rows, (number - 1) * size, size)
