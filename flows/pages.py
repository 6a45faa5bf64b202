"""From pages as extraction hands them over to pages as the loader takes them.

The one place where what a page *is* on the wire (which endpoint answered, what the run
asked for) becomes what ``transform`` needs to know of it (``Lineage``). A run's batches,
its snapshots and a rebuild from ``raw.pages`` all go through here, so they load alike.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import orjson

from extract.session import exact_json
from extract.streams import DialectName, card_model_of, stored_items
from transform.load import PageLoad
from transform.normalize import Lineage
from transform.state import PageRecord

__all__ = ["asked_order_type", "page_loads", "stored_page_items"]


def asked_order_type(request_params: str | None) -> str | None:
    """The ``OrderType`` an order query asked for (either dialect's spelling), if any.

    The v2.0 document prints order replies without ``orderType``: the run asked for the
    order by type (from its log), so that is the order's type.
    """
    try:
        params = orjson.loads(request_params or "{}")
    except orjson.JSONDecodeError:
        return None
    if not isinstance(params, dict):
        return None
    value = params.get("OrderType", params.get("orderType"))
    return value if isinstance(value, str) and value else None


def stored_page_items(page: PageRecord, dialect: DialectName) -> Any:
    """The items of a page as the run took them, from its stored payload (snapshots, rebuild)."""
    return stored_items(page.stream, page.request_path, dialect, exact_json(page.payload))


def page_loads(
    pages: Sequence[PageRecord],
    items: Sequence[Any] | None,
    dialect: DialectName,
    run_id: str,
) -> list[PageLoad]:
    """Each page with its lineage and items (given per page, else read from the payload)."""
    loads: list[PageLoad] = []
    for i, page in enumerate(pages):
        model = order_type = None
        if page.stream == "orders":
            model = card_model_of(page.request_path)
            order_type = asked_order_type(page.request_params)
        lineage = Lineage(
            dialect=dialect,
            run_id=run_id,
            fetched_at=page.fetched_at,
            response_id=page.response_id,
            card_model=model,
            service_at=page.service_at,
            order_type=order_type,
        )
        page_items = items[i] if items is not None else stored_page_items(page, dialect)
        loads.append(PageLoad(page, lineage, page_items))
    return loads
