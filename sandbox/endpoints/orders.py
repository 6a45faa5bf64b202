"""The order queries (by order number or customer order number) and the four write calls."""

from __future__ import annotations

import json
from collections.abc import Callable
from decimal import Decimal
from typing import Any

from sandbox import live, render
from sandbox.model import STANDARD
from sandbox.render import V14
from sandbox.replies import bad_request, envelope
from sandbox.state import Call
from sandbox.world import World


def order_query(model: str) -> Callable[[Call], Any]:
    def handler(call: Call) -> Any:
        order_type = call.get("OrderType")
        if call.sandbox.shapes == live.LIVE:  # the spellings its replies use work too
            order_type = live.canonical_order_type(order_type)
        order_no, customer_no = call.get("OrderNo"), call.get("CustomerOrderNo")
        if call.dialect == V14 and model == STANDARD and order_type is None:
            raise bad_request("OrderType is required (ApplyCard, CardTopUp, ...)")
        if order_no is None and customer_no is None:
            raise bad_request("Give OrderNo or CustomerOrderNo")
        o = call.world.order(
            model=model, order_no=order_no, customer_order_no=customer_no, order_type=order_type
        )
        call.order = o
        return envelope(render.order(call.world, o, call.dialect))

    return handler


def write(method: Callable[[World, dict[str, Any]], Any]) -> Callable[[Call], Any]:
    def handler(call: Call) -> Any:
        try:
            body = json.loads(call.body, parse_float=Decimal)
        except (ValueError, UnicodeDecodeError):
            raise bad_request("The request body must be a JSON object") from None
        if not isinstance(body, dict):
            raise bad_request("The request body must be a JSON object")
        order = method(call.world, body)
        call.order = order
        return envelope(render.order(call.world, order, call.dialect, status="Pending"))

    return handler
