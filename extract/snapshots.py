"""Snapshots taken at run time: cards, the account, and the orders logs refer to.

There is no endpoint that lists cards or orders: cards come from the ``cardId``s seen
in the streams, orders from the ``orderNo``/``cardOrderNo`` of funding logs. A
Completed order never changes, so it is fetched once and never again.

The v1.4 card endpoint returns the full card number and CVV. They are removed here,
before the reply is kept anywhere (:func:`scrub_card_payload`): ``raw.pages`` holds
the reply without them, and nothing downstream ever sees them.
"""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import Mapping
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any
from urllib.parse import quote

import orjson

from extract.client import ApiResponse, CardepassClient
from extract.errors import CardepassError, NotFound
from extract.limiter import AdaptiveLimiter
from extract.state import RawPage
from extract.streams import ACCOUNTS, CARDS, ORDERS, Dialect

__all__ = ["OrderRef", "SnapshotResult", "scrub_card_payload", "take_snapshots"]

log = logging.getLogger(__name__)
SENSITIVE_CARD_FIELDS = frozenset({"cardNumber", "cvv", "cvv2", "cvc", "pan"})


@dataclass(frozen=True, slots=True)
class OrderRef:
    order_no: str
    order_type: str
    card_id: str | None


@dataclass(slots=True)
class SnapshotResult:
    pages: list[RawPage] = field(default_factory=list)
    cards: dict[str, dict[str, Any]] = field(default_factory=dict)
    card_models: dict[str, str] = field(default_factory=dict)
    accounts: Any = None
    orders: dict[str, dict[str, Any]] = field(default_factory=dict)
    requests: int = 0
    missing: list[str] = field(default_factory=list)  # what the service said does not exist
    errors: list[str] = field(default_factory=list)  # what failed (the run is incomplete)


def _decimal_fragment(value: Any) -> Any:
    if isinstance(value, Decimal):
        return orjson.Fragment(str(value))
    raise TypeError(f"cannot serialise {type(value).__name__}")


def scrub_card_payload(content: bytes) -> tuple[str, Any]:
    """The card reply without card number and CVV, as JSON text and as parsed data.

    Numbers are read as ``Decimal`` and written back from their text, so no amount
    ever passes through a float.
    """
    body = json.loads(content, parse_float=Decimal)

    def scrub(node: Any) -> Any:
        if isinstance(node, dict):
            return {k: scrub(v) for k, v in node.items() if k not in SENSITIVE_CARD_FIELDS}
        if isinstance(node, list):
            return [scrub(v) for v in node]
        return node

    clean = scrub(body)
    return orjson.dumps(clean, default=_decimal_fragment).decode(), clean


def _page(stream: str, resp: ApiResponse, payload: str | None = None) -> RawPage:
    return RawPage(
        stream=stream,
        slice_from=None,
        slice_to=None,
        page_no=1,
        request_path=resp.path,
        request_params=orjson.dumps(resp.params).decode(),
        response_id=resp.response_id,
        fetched_at=resp.fetched_at,
        item_count=1,
        payload=payload if payload is not None else resp.content.decode("utf-8"),
    )


async def take_snapshots(
    client: CardepassClient,
    dialect: Dialect,
    card_ids: set[str],
    orders: Mapping[str, OrderRef],
    *,
    limiter: AdaptiveLimiter,
    final_orders: set[str],
    accounts: ApiResponse | None = None,
) -> SnapshotResult:
    """Fetch every card, the account (unless already fetched) and the open orders."""
    out = SnapshotResult()

    async def get(path: str, params: Mapping[str, str] | None = None) -> ApiResponse:
        async with limiter:
            resp = await client.get_json(path, params)
        out.requests += resp.attempts
        return resp

    async def card(card_id: str) -> None:
        try:
            resp = await get(f"/v1/cards/{quote(card_id, safe='')}")
        except NotFound as exc:
            out.missing.append(f"card {card_id}: {exc}")
            return
        except CardepassError as exc:
            out.errors.append(f"card {card_id}: {exc}")
            return
        payload, clean = scrub_card_payload(resp.content)
        out.pages.append(_page(CARDS, resp, payload))
        data = clean.get("data") if isinstance(clean, dict) else None
        if isinstance(data, dict):
            out.cards[card_id] = data
            out.card_models[card_id] = str(data.get("cardModel"))

    async def order(ref: OrderRef) -> None:
        model = out.card_models.get(ref.card_id or "")
        kinds = ["standard", "sharebalance"] if model != "ShareBalance" else ["sharebalance"]
        if model == "Standard":
            kinds = ["standard"]
        for kind in kinds:
            try:
                resp = await get(
                    f"/v1/orders/{kind}", {"OrderType": ref.order_type, "OrderNo": ref.order_no}
                )
            except NotFound:
                continue
            except CardepassError as exc:
                out.errors.append(f"order {ref.order_no}: {exc}")
                return
            out.pages.append(_page(ORDERS, resp))
            data = resp.data
            if isinstance(data, dict):
                out.orders[ref.order_no] = data
            return
        out.missing.append(f"order {ref.order_no}: not found as {' or '.join(kinds)} order")

    if accounts is None:
        try:
            accounts = await get("/v1/accounts")
        except CardepassError as exc:
            out.errors.append(f"accounts: {exc}")
    if accounts is not None:
        out.pages.append(_page(ACCOUNTS, accounts))
        out.accounts = accounts.data
    await asyncio.gather(*(card(c) for c in sorted(card_ids)))
    todo = [ref for no, ref in sorted(orders.items()) if no not in final_orders]
    await asyncio.gather(*(order(ref) for ref in todo))
    if out.missing:
        log.warning("%d snapshot(s) not found, e.g. %s", len(out.missing), out.missing[0])
    return out
