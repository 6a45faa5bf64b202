"""``shapes="live"``: the v1.4 replies rewritten the way the live service's own examples look.

The documented reply of a v1.4 endpoint (``sandbox.endpoints`` + ``sandbox.render``) goes
through ``rewrite`` once, in ``sandbox.dispatch.api()``, when the app was created
with ``shapes="live"``. The rewrite is deterministic: every choice it makes (which
time offset an item gets, which page shape a page gets) comes from a hash of the
world's seed, the request path and its query parameters (and the item's position),
so a page read twice gives the same ``data``. Only ``responseId`` is new each time.

Every quirk listed in API.md, "What the live service's own examples show (accept all
of it)", is served on EVERY value it applies to (not a sample), with its source in
``seed/cardepass-openapi-reference-v1.4.md`` (the "reference", 2025-12-10) or in the
older June 2025 stored copy of it:

* **Enum spellings** (``ORDER_TYPE_ALIASES``, ``ORDER_STATUS_ALIASES``,
  ``CARD_STATUS_ALIASES``): every order of type ``CardTopUp`` answers
  ``"orderType": "TopUpCard"`` (reference, "【标准模式】卡充值" reply example),
  ``CreditLimit`` answers ``ModifyCreditLimit`` (reference, "【共享余额模式】修改限额"
  reply example), ``CardUnblock`` answers ``CardUnBlock`` (the reference's spelling of
  the permission ``allowUnBlockCard``; API.md lists it); every failed order answers
  status ``Failure`` (reference, the order status tables of "【共享余额模式】开卡申请"
  and "修改限额": "Failure-处理失败"); card status ``Cancel`` (reference, "查询卡信息":
  "Cancel=注销" - ``sandbox.render`` already writes it in v1.4, and the rewrite maps a
  ``Cancelled`` it might meet all the same). The order queries accept the aliases as
  ``OrderType`` too (``canonical_order_type``).
* **Times**: every time field of every item, written .NET style with 7 fractional
  digits and an offset other than ``Z``: ``+08:00`` for most items, ``-05:00`` for
  about one in four (API.md's example ``2025-04-23T11:13:17.6917032+08:00``, from the
  June 2025 copy). The instant is exactly the documented reply's: the millisecond is kept
  and the four further digits are zeros (``.6910000``), so converting back to UTC
  gives the same microseconds.
* **Numbers**: whole amounts as JSON integers (``10``, not ``10.00``); other amounts
  keep their exact text (the reference's examples mix ``100.0``, ``1250.5``,
  ``150.00``). Amounts stay ``orjson.Fragment`` text, never a float.
* **Absent instead of null**: every field whose value is ``null`` is dropped, at every
  level of ``data`` (the reference's examples omit optional fields; its tables mark
  them "(可选)"). The envelope keeps ``"errorCode": null`` as the examples show it.
* **Unknown fields**: every item gets ``riskLevel`` (or ``accountType`` on an account
  balance, ``productType`` on a product), a card gets ``cardBin`` and a nested
  ``threeDSecure`` object, every nested ``cardInfo`` gets ``cardBin`` (the first six
  digits of the masked number - never a card number or a CVV), a ``productInfo`` gets
  ``productType``, a ``cardBinConfigs`` entry gets ``binRegion``, an order gets
  ``modifiedOn`` (reference: every order example carries it). The reference's own
  examples carry fields its tables do not list (``note`` on the ShareBalance apply
  reply, ``cardAlias`` in ``cardInfo`` of the top-up query, ``modifiedOn``).
* **Envelope**: success answers ``"errorCode": null`` and an ``errorMessage`` text:
  ``"操作成功"`` (every list/order example of the reference), ``"查询成功"`` on
  ``GET /v1/cards/{cardId}``, ``"开卡成功"`` on ``POST /v1/orders/standard/apply`` -
  each copied from that endpoint's reply example. Only ``hasError`` says it worked.
* **Ping**: ``GET /v1/ping`` answers the plain JSON string ``"Ping Success"``, no
  envelope (API.md, Auth; the v2.0 document's example).
* **Older page shape** (the June 2025 copy: ``data.data`` with ``totalRecords``):
  ``cardAccountLogs`` answers ``{pageIndex, pageSize, totalRecords, data}`` on every
  page, with ``totalPages`` on odd pages and without it on even ones;
  ``accountLogs`` alternates per page: odd pages the reference's
  ``{pageIndex, pageSize, totalCount, totalPages, items}``, even pages the older
  ``{pageIndex, pageSize, totalRecords, data}``. A client that decides the shape once
  per stream (or trusts ``totalPages`` to be there) fails; one that decides per reply
  reads everything. Totals are the same in both shapes.
* **PascalCase query names** (the June 2025 copy: ``PageIndex``, ``PageSize``,
  ``TransactionDateFrom``, ...): in live shapes the app matches query names
  case-insensitively (``sandbox.state.Call.get``), so camelCase and PascalCase both work.
* **orderLines**: every order reply (both order queries and the write calls) carries
  ``orderLines: [{orderLineNo, cardInfo, topUpAmount?, quantity, feeItems,
  totalPayAmount?, payMessage, paidOn?, isCompleted, completedOn?}]`` and a top-level
  ``paidOn``, as API.md says of write replies and as the reference's "开卡申请" and
  "卡充值" reply examples lay them out (``feeItems`` flat ``{feeType, amount,
  currency}``; ``payMessage`` ``"支付成功"``/``"支付失败"``), in addition to every field
  the documented reply already had (``totalTopUpAmount``, ``withdrawAmount``, ...).

Not served (not in API.md's list): the reference's "查询不存在的订单" example, where an
unknown ShareBalance order answers ``hasError: false`` with ``data: null`` - the sandbox
keeps answering ``ORDER_NOT_FOUND``.
"""

from __future__ import annotations

import hashlib
import re
import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime
from typing import Any

import orjson

from sandbox.model import Order, ms_to_iso
from sandbox.render import money as _money
from sandbox.world import World

# The reply shapes an app serves: the documented ones (API.md's tables) or the live
# service's; "spec" is the documented shapes' older name, still accepted.
DOCUMENTED, LIVE = "documented", "live"
SHAPES = (DOCUMENTED, LIVE)
SHAPE_ALIASES = {"spec": DOCUMENTED}

# What the endpoint is, for the rewrite (``sandbox.app`` passes one per route).
PING, PRODUCTS, ACCOUNTS, CARD, CARD_LOGS, ACCOUNT_LOGS, TRANSACTIONS, ORDER, APPLY = (
    "ping",
    "products",
    "accounts",
    "card",
    "card_logs",
    "account_logs",
    "transactions",
    "order",
    "apply",  # POST /v1/orders/standard/apply: an order, with its own success text
)

# canonical -> the spelling the live service's examples use
ORDER_TYPE_ALIASES = {
    "CardTopUp": "TopUpCard",
    "CreditLimit": "ModifyCreditLimit",
    "CardUnblock": "CardUnBlock",
}
ORDER_STATUS_ALIASES = {"Failed": "Failure"}
CARD_STATUS_ALIASES = {"Cancelled": "Cancel"}
_CANONICAL_ORDER_TYPE = {alias.lower(): name for name, alias in ORDER_TYPE_ALIASES.items()}

SUCCESS_TEXT = "操作成功"
SUCCESS_TEXTS = {CARD: "查询成功", APPLY: "开卡成功"}
PAY_OK, PAY_FAILED = "支付成功", "支付失败"

# Offsets in minutes: +08:00 for three items in four, -05:00 for the rest.
OFFSETS = (480, 480, 480, -300)
RISK_LEVELS = ("low", "low", "medium", "high")

_SPEC_TIME = re.compile(r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.(\d{3})Z")
_WHOLE = re.compile(rb"(-?\d+)\.0*")
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


@dataclass(frozen=True)
class Context:
    """What the rewrite needs to know about one request."""

    endpoint: str
    seed: int
    path: str
    params: Sequence[tuple[str, str]]
    world: World
    order: Order | None = None  # the order an order reply shows

    def key(self) -> str:
        query = "&".join(f"{k.lower()}={v}" for k, v in sorted(self.params))
        return f"{self.seed}|{self.path}|{query}"


def rewrite(reply: Any, ctx: Context) -> Any:
    """The live-shaped reply for the documented ``reply`` of ``ctx.endpoint``."""
    if ctx.endpoint == PING:
        return "Ping Success"
    if not isinstance(reply, dict) or reply.get("hasError") is not False:
        return reply
    data = reply.get("data")
    key = ctx.key()
    if ctx.endpoint in (ORDER, APPLY) and isinstance(data, dict):
        data = live_order(data, ctx)
    elif ctx.endpoint == CARD and isinstance(data, dict) and isinstance(data.get("status"), str):
        data = {**data, "status": CARD_STATUS_ALIASES.get(data["status"], data["status"])}
    elif ctx.endpoint == CARD_LOGS and isinstance(data, dict):
        data = _older_page(data, with_total_pages=_page_index(data) % 2 == 1)
    elif ctx.endpoint == ACCOUNT_LOGS and isinstance(data, dict) and _page_index(data) % 2 == 0:
        data = _older_page(data, with_total_pages=False)
    items = _items(data)
    for i, item in enumerate(items):
        _add_unknown_fields(item, ctx.endpoint, _hash(key, i))
    data = _rewrite_items(data, items, key)
    extra = {k: v for k, v in reply.items() if k not in _ENVELOPE}
    return {
        "responseId": reply.get("responseId") or str(uuid.uuid4()),
        "hasError": False,
        "errorCode": None,
        "errorMessage": SUCCESS_TEXTS.get(ctx.endpoint, SUCCESS_TEXT),
        "data": data,
        **extra,
    }


_ENVELOPE = frozenset({"data", "responseId", "hasError", "errorCode", "errorMessage"})


def canonical_order_type(text: str | None) -> str | None:
    """``TopUpCard`` -> ``CardTopUp`` (any case); other values unchanged."""
    if text is None:
        return None
    return _CANONICAL_ORDER_TYPE.get(text.lower(), text)


# -- pages ---------------------------------------------------------------------------
def _page_index(data: Mapping[str, Any]) -> int:
    value = data.get("pageIndex")
    return value if isinstance(value, int) else 1


def _older_page(data: dict[str, Any], *, with_total_pages: bool) -> dict[str, Any]:
    """``{pageIndex, pageSize, totalCount, totalPages, items}`` -> the June 2025 shape."""
    out: dict[str, Any] = {
        "pageIndex": data.get("pageIndex"),
        "pageSize": data.get("pageSize"),
        "totalRecords": data.get("totalCount"),
    }
    if with_total_pages:
        out["totalPages"] = data.get("totalPages")
    out["data"] = data.get("items", [])
    return out


def _items(data: Any) -> list[dict[str, Any]]:
    """The items of a reply's ``data``: a list, a page's list, or the one object."""
    if isinstance(data, list):
        return [x for x in data if isinstance(x, dict)]
    if isinstance(data, dict):
        for name in ("items", "data"):
            inner = data.get(name)
            if isinstance(inner, list) and ("pageSize" in data or "pageIndex" in data):
                return [x for x in inner if isinstance(x, dict)]
        return [data]
    return []


def _rewrite_items(data: Any, items: list[dict[str, Any]], key: str) -> Any:
    """Times, numbers and nulls of every item (each item's times in one offset)."""
    rewritten = {
        id(item): _walk(item, OFFSETS[_hash(key, i) % len(OFFSETS)]) for i, item in enumerate(items)
    }
    if isinstance(data, list):
        return [rewritten.get(id(x), x) for x in data]
    if isinstance(data, dict) and id(data) in rewritten:
        return rewritten[id(data)]
    if isinstance(data, dict):
        out = {}
        for k, v in data.items():
            if v is None:
                continue
            out[k] = [rewritten.get(id(x), x) for x in v] if isinstance(v, list) else v
        return out
    return data


def _walk(node: Any, offset_minutes: int) -> Any:
    if isinstance(node, dict):
        return {k: _walk(v, offset_minutes) for k, v in node.items() if v is not None}
    if isinstance(node, list):
        return [_walk(v, offset_minutes) for v in node]
    if isinstance(node, str):
        return dotnet_time(node, offset_minutes)
    if isinstance(node, orjson.Fragment):
        return whole_amount(node)
    return node


def dotnet_time(text: str, offset_minutes: int) -> str:
    """``2025-04-23T03:13:17.691Z`` -> ``2025-04-23T11:13:17.6910000+08:00`` (same instant).

    Any other text is returned unchanged.
    """
    m = _SPEC_TIME.fullmatch(text)
    if m is None:
        return text
    utc = datetime.fromisoformat(text)
    local = utc + timedelta(minutes=offset_minutes)
    sign = "+" if offset_minutes >= 0 else "-"
    hours, minutes = divmod(abs(offset_minutes), 60)
    return f"{local:%Y-%m-%dT%H:%M:%S}.{m.group(1)}0000{sign}{hours:02d}:{minutes:02d}"


def whole_amount(fragment: orjson.Fragment) -> orjson.Fragment:
    """``10.00`` -> ``10``; every other number text unchanged (never through a float)."""
    text = orjson.dumps(fragment)
    m = _WHOLE.fullmatch(text)
    return fragment if m is None else orjson.Fragment(m.group(1))


def _hash(key: str, i: int) -> int:
    digest = hashlib.blake2b(f"{key}|{i}".encode(), digest_size=8).digest()
    return int.from_bytes(digest, "big")


# -- unknown fields ------------------------------------------------------------------
def _add_unknown_fields(item: dict[str, Any], endpoint: str, h: int) -> None:
    """A couple of fields no document lists, at item level and in nested objects."""
    if endpoint == ACCOUNTS:
        item["accountType"] = "Main"
        return
    if endpoint == PRODUCTS:
        item["productType"] = "Virtual"
        for config in item.get("cardBinConfigs") or []:
            if isinstance(config, dict):
                config["binRegion"] = "US"
        return
    item["riskLevel"] = RISK_LEVELS[h % len(RISK_LEVELS)]
    if endpoint == CARD:
        masked = item.get("cardNumber")
        if isinstance(masked, str) and len(masked) >= 6:
            item["cardBin"] = masked[:6]
        item["threeDSecure"] = {"enrolled": True, "version": "2.2.0"}
    for nested in _nested(item, "cardInfo"):
        _add_card_bin(nested)
    for nested in _nested(item, "cardInfos"):
        _add_card_bin(nested)
    for line in _nested(item, "orderLines"):
        for nested in _nested(line, "cardInfo"):
            _add_card_bin(nested)
    for nested in _nested(item, "productInfo"):
        nested["productType"] = "Virtual"


def _nested(item: Mapping[str, Any], name: str) -> list[dict[str, Any]]:
    value = item.get(name)
    if isinstance(value, dict):
        return [value]
    if isinstance(value, list):
        return [x for x in value if isinstance(x, dict)]
    return []


def _add_card_bin(card_info: dict[str, Any]) -> None:
    masked = card_info.get("maskedCardNumber") or card_info.get("maskCardNumber")
    if isinstance(masked, str) and masked[:6].isdigit():
        card_info["cardBin"] = masked[:6]


# -- orders --------------------------------------------------------------------------
def live_order(data: dict[str, Any], ctx: Context) -> dict[str, Any]:
    """Enum aliases, ``orderLines``, ``paidOn``, ``modifiedOn`` on one order reply."""
    out = dict(data)
    order_type = out.get("orderType")
    if isinstance(order_type, str):
        out["orderType"] = ORDER_TYPE_ALIASES.get(order_type, order_type)
    status = out.get("status")
    if isinstance(status, str):
        out["status"] = ORDER_STATUS_ALIASES.get(status, status)
    for nested in _nested(out, "cardInfo") + _nested(out, "cardInfos"):
        card_status = nested.get("cardStatus")
        if isinstance(card_status, str):
            nested["cardStatus"] = CARD_STATUS_ALIASES.get(card_status, card_status)
    o = ctx.order
    if o is None:
        return out
    failed = out.get("status") == "Failure"
    completed = out.get("completedOn")
    paid_on = None if failed else ms_to_iso(o.created_at)
    out["modifiedOn"] = completed or out.get("createdOn")
    out["paidOn"] = paid_on
    opening = o.order_type == "ApplyCard"
    line_fields: dict[str, Any] = {
        # an opening order's card exists once it is completed (the reference's apply
        # reply has no cardInfo in its line; its top-up reply has one)
        "cardInfo": None
        if opening and out.get("status") != "Completed"
        else _order_card_info(ctx.world, o),
        "quantity": 1 if opening else None,
        "feeItems": [
            {"feeType": name, "amount": _money(cents), "currency": o.currency}
            for name, cents in o.fee_items
        ],
        "totalPayAmount": None if o.total_cents is None else _money(o.total_cents),
        "payMessage": PAY_FAILED if failed else PAY_OK,
        "paidOn": paid_on,
        "isCompleted": out.get("status") == "Completed",
        "completedOn": completed,
    }
    if o.principal_cents is not None and o.order_type in ("ApplyCard", "CardTopUp"):
        line_fields["topUpAmount"] = _money(o.principal_cents)
    lines = [dict(x) for x in _nested(out, "orderLines")] or [{"orderLineNo": 1}]
    for line in lines:
        for name, value in line_fields.items():
            if value is not None:
                line.setdefault(name, value)
    out["orderLines"] = lines
    return out


def _order_card_info(world: World, o: Order) -> dict[str, Any]:
    c = world.cards
    name = next(
        (str(p["productName"]) for p in world.products if p["productCode"] == o.product_code), ""
    )
    return {
        "cardId": c.id[o.card],
        "productCode": o.product_code,
        "productName": name,
        "cardCurrency": o.currency,
        "maskCardNumber": c.masked(o.card),
        "cardModel": o.model,
    }


def shapes_named(name: str) -> str:
    """The shapes ``name`` means (``SHAPES``, or an alias of one); ValueError if none."""
    shapes = SHAPE_ALIASES.get(name, name)
    if shapes not in SHAPES:
        raise ValueError(f"unknown shapes {name!r}; use one of {', '.join(SHAPES)}")
    return shapes


def http_date(as_of_ms: int) -> str:
    """RFC 7231 IMF-fixdate of the clock, to the second (``Sun, 06 Nov 1994 08:49:37 GMT``)."""
    dt = _EPOCH + timedelta(milliseconds=as_of_ms - as_of_ms % 1000)
    return format_datetime(dt, usegmt=True)  # English names whatever the locale


__all__ = [
    "CARD_STATUS_ALIASES",
    "DOCUMENTED",
    "LIVE",
    "ORDER_STATUS_ALIASES",
    "ORDER_TYPE_ALIASES",
    "SHAPES",
    "SHAPE_ALIASES",
    "Context",
    "canonical_order_type",
    "dotnet_time",
    "http_date",
    "rewrite",
    "shapes_named",
    "whole_amount",
]
