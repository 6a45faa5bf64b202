"""The reference endpoints: ping, products, the account's balances and one card."""

from __future__ import annotations

from typing import Any

from sandbox import render
from sandbox.render import V20
from sandbox.replies import ApiError, envelope
from sandbox.state import Call


def ping(call: Call) -> Any:
    return "Ping Success" if call.dialect == V20 else envelope("Ping Success")


def products(call: Call) -> Any:
    return envelope(render.products(call.world, call.dialect))


def accounts(call: Call) -> Any:
    return envelope(render.accounts(call.world, call.dialect))


def card(call: Call) -> Any:
    card_id = call.request.path_params["cardId"]
    view = call.world.card(card_id)
    if view is None:
        raise ApiError(404, f"Card {card_id!r} not found", "CARD_NOT_FOUND")
    return envelope(render.card(view, call.dialect))
