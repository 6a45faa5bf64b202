"""The sandbox's HTTP layer: a cardepass-compatible API over a generated ``World``.

``create_app(world, dialect=...)`` serves both dialects of API.md under ``/openapi``
(one dialect per app), with OAuth client-credentials tokens, the service's limits
(page size <= 100, date windows <= 3 months), keyset cursors for transactions,
page numbers / offsets for the logs, the four write calls, optional faults
(``sandbox.faults``) and admin endpoints under ``/_sandbox`` for tests and demos.

``shapes="live"`` (v1.4) rewrites every reply the way the live service's own examples
look (``sandbox.live``). Every reply carries the service's clock (the world's
``as_of``) as its ``Date`` header; ``live_clock`` makes that clock follow wall time,
optionally skewed.

Everything the app keeps lives on ``app.state.sandbox`` (a ``Sandbox``): the world,
the dialect, the shapes, the clock settings, the issued tokens, the request log and
the fault decisions. Handlers
run on the event loop without awaiting in between, so the world is never read and
written at the same time.

The request log keeps method, path, query parameters, status and the fault that
fired; never headers or bodies, so neither the client secret nor a token reaches it.
"""

from __future__ import annotations

import asyncio
import base64
import binascii
import calendar
import hmac
import json
import logging
import math
import re
import secrets
import time
import uuid
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from typing import Any, TypeVar

import numpy as np
import orjson
from starlette.applications import Starlette
from starlette.datastructures import QueryParams
from starlette.exceptions import HTTPException
from starlette.middleware import Middleware
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from sandbox import live, render
from sandbox.faults import HTML_ERROR_PAGE, FaultInjector, FaultSpec
from sandbox.model import SHARE_BALANCE, STANDARD, Order, ms_to_iso
from sandbox.world import AUTHORIZED, FAILED, SETTLED, World, WorldError, iso_to_ms

log = logging.getLogger("sandbox")
access_log = logging.getLogger("sandbox.access")  # one line per request, params redacted

BASE = "/openapi"
V20, V14 = render.V20, render.V14
MAX_PAGE_SIZE = 100
DEFAULT_PAGE_SIZE = 20
WINDOW_MONTHS = 3
MAX_LOGGED = 200_000  # request-log entries kept (the oldest half goes when it is full)
FAULT_KEY = "sandbox.fault"  # scope key: the fault this request fired (for the log)
CLOCK_KEY = "sandbox.as_of"  # scope key: the clock the reply was composed at (Date header)
_REDACT = re.compile(r"secret|token|password|authorization", re.IGNORECASE)
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_DATE = re.compile(r"\d{4}-\d{2}-\d{2}")
_INT = re.compile(r"[+-]?\d{1,18}")

TXN_STATUS_IN = {
    V20: {"Pending": AUTHORIZED, "Success": SETTLED, "Failed": FAILED},
    V14: {"AuthSuccess": AUTHORIZED, "Settled": SETTLED, "AuthFailure": FAILED},
}


class ApiError(Exception):
    """An error answered with the envelope (``hasError: true``) and an HTTP status."""

    def __init__(
        self,
        status: int,
        message: str,
        code: str | None = None,
        headers: Mapping[str, str] | None = None,
    ) -> None:
        super().__init__(message)
        self.status = status
        self.code = code or str(status)
        self.message = message
        self.headers = dict(headers or {})


def bad_request(message: str) -> ApiError:
    return ApiError(400, message)


# -- state ---------------------------------------------------------------------------
@dataclass
class Sandbox:
    """Everything one app keeps between requests (``app.state.sandbox``)."""

    world: World
    dialect: str
    client_id: str
    client_secret: str
    token_ttl: float
    manifest: dict[str, Any] | None = None
    faults: FaultInjector | None = None
    shapes: str = live.SPEC
    live_clock: bool = False  # the world's clock follows wall time (plus the skew)
    clock_skew_ms: int = 0  # the service's clock minus ours (negative: it runs behind)
    tokens: dict[str, float] = field(default_factory=dict)  # token -> expiry (monotonic)
    requests: list[dict[str, Any]] = field(default_factory=list)

    def tick(self) -> int:
        """Under ``live_clock``, move the world's clock to now + skew (never backwards)."""
        world = self.world
        if self.live_clock:
            now = time.time_ns() // 1_000_000 + self.clock_skew_ms
            if now > world.as_of:
                world.set_clock(now)
        return world.as_of

    def issue_token(self) -> str:
        now = time.monotonic()
        if len(self.tokens) > 10_000:  # a client that never reuses tokens: forget dead ones
            self.tokens = {t: exp for t, exp in self.tokens.items() if exp > now}
        token = secrets.token_urlsafe(32)
        self.tokens[token] = now + self.token_ttl
        return token

    def check_token(self, header: str | None) -> None:
        """Raise 401 unless ``header`` is ``Bearer <a live token>``."""
        scheme, _, token = (header or "").partition(" ")
        token = token.strip()
        if scheme.lower() != "bearer" or not token:
            raise _unauthorized(
                "Missing 'Authorization: Bearer <token>'; get a token from POST /connect/token"
            )
        expiry = self.tokens.get(token)
        if expiry is None:
            raise _unauthorized(
                "The access token is not valid (unknown or revoked); "
                "get a new one from POST /connect/token"
            )
        if time.monotonic() >= expiry:
            raise _unauthorized(
                "The access token has expired; get a new one from POST /connect/token"
            )

    def revoke_tokens(self) -> int:
        n = len(self.tokens)
        self.tokens.clear()
        return n


def _unauthorized(message: str) -> ApiError:
    return ApiError(401, message, headers={"WWW-Authenticate": 'Bearer error="invalid_token"'})


@dataclass
class Call:
    """One API request as a handler sees it."""

    sandbox: Sandbox
    request: Request
    params: QueryParams
    body: bytes = b""
    fault: str | None = None  # the fault drawn for this call (handlers apply repeat_*)
    fired: str | None = None  # set by a handler that applied ``fault``
    order: Order | None = None  # set by a handler that answers one order (live shapes)

    @property
    def world(self) -> World:
        return self.sandbox.world

    @property
    def dialect(self) -> str:
        return self.sandbox.dialect

    def get(self, name: str) -> str | None:
        """A query parameter, None when absent or blank.

        In live shapes the name matches in any case (``PageIndex`` = ``pageIndex``), as
        the older deployments took PascalCase names; an exact match wins.
        """
        value = self.params.get(name)
        if value is None and self.sandbox.shapes == live.LIVE:
            lower = name.lower()
            value = next((v for k, v in self.params.multi_items() if k.lower() == lower), None)
        if value is None or not value.strip():
            return None
        return value.strip()


# -- replies -------------------------------------------------------------------------
def envelope(data: Any, **extra: Any) -> dict[str, Any]:
    return {
        "data": data,
        **extra,
        "responseId": str(uuid.uuid4()),
        "hasError": False,
        "errorCode": None,
        "errorMessage": None,
    }


def json_response(
    obj: Any, status: int = 200, headers: Mapping[str, str] | None = None
) -> Response:
    return Response(
        orjson.dumps(obj), status_code=status, media_type="application/json", headers=headers
    )


def error_response(err: ApiError) -> Response:
    body = {
        "data": None,
        "responseId": str(uuid.uuid4()),
        "hasError": True,
        "errorCode": err.code,
        "errorMessage": err.message,
    }
    return json_response(body, err.status, err.headers)


def oauth_error(status: int, error: str, description: str) -> Response:
    return json_response(
        {"error": error, "error_description": description},
        status,
        {"Cache-Control": "no-store", "Pragma": "no-cache"},
    )


# -- parameters ----------------------------------------------------------------------
def page_size(call: Call, name: str) -> int:
    return int_param(call, name, DEFAULT_PAGE_SIZE, lo=1, hi=MAX_PAGE_SIZE)


def int_param(call: Call, name: str, default: int, *, lo: int, hi: int | None = None) -> int:
    text = call.get(name)
    if text is None:
        return default
    if not _INT.fullmatch(text):
        raise bad_request(f"{name} must be a whole number, not {text!r}")
    value = int(text)
    if value < lo or (hi is not None and value > hi):
        limit = f"between {lo} and {hi}" if hi is not None else f"at least {lo}"
        raise bad_request(f"{name} must be {limit}, not {value}")
    return value


def _ms(dt: datetime) -> int:
    return (dt - _EPOCH) // timedelta(milliseconds=1)


def _parse_date(name: str, text: str) -> date:
    try:
        if not _DATE.fullmatch(text):
            raise ValueError(text)
        return date.fromisoformat(text)
    except ValueError:
        raise bad_request(f"{name} must be a date YYYY-MM-DD, not {text!r}") from None


def _parse_datetime(name: str, text: str) -> datetime:
    try:
        if not text[:1].isdigit():
            raise ValueError(text)
        dt = datetime.fromisoformat(text)
    except ValueError:
        raise bad_request(
            f"{name} must be an ISO date-time such as 2025-04-01T00:00:00Z, not {text!r}"
        ) from None
    return dt.replace(tzinfo=UTC) if dt.tzinfo is None else dt.astimezone(UTC)


_D = TypeVar("_D", date, datetime)


def add_months(value: _D, months: int) -> _D:
    """``value`` plus calendar months, the day clamped to the month's end."""
    y, m = divmod(value.month - 1 + months, 12)
    year, month = value.year + y, m + 1
    day = min(value.day, calendar.monthrange(year, month)[1])
    return value.replace(year=year, month=month, day=day)


def _check_window(lo: _D | None, hi: _D | None, names: tuple[str, str]) -> None:
    if lo is None or hi is None:
        return
    if hi < lo:
        raise bad_request(f"{names[1]} ({hi.isoformat()}) is before {names[0]} ({lo.isoformat()})")
    try:
        limit = add_months(lo, WINDOW_MONTHS)
    except (ValueError, OverflowError):  # past year 9999: no window is too long there
        return
    if hi > limit:
        raise bad_request(
            f"the date window {lo.isoformat()} .. {hi.isoformat()} is longer than "
            f"{WINDOW_MONTHS} months; one request may span at most {WINDOW_MONTHS} months, "
            "so split it into smaller windows"
        )


def date_window(call: Call, names: tuple[str, str]) -> tuple[int | None, int | None]:
    """v2.0: ``YYYY-MM-DD`` days, optional; from = start of day, to = end of day (UTC)."""
    lo_text, hi_text = call.get(names[0]), call.get(names[1])
    lo = None if lo_text is None else _parse_date(names[0], lo_text)
    hi = None if hi_text is None else _parse_date(names[1], hi_text)
    _check_window(lo, hi, names)
    lo_ms = None if lo is None else _ms(datetime(lo.year, lo.month, lo.day, tzinfo=UTC))
    hi_ms = (
        None
        if hi is None
        else _ms(datetime(hi.year, hi.month, hi.day, tzinfo=UTC) + timedelta(days=1)) - 1
    )
    return lo_ms, hi_ms


def datetime_window(
    call: Call, names: tuple[str, str], *, required: bool
) -> tuple[int | None, int | None]:
    """v1.4: ISO date-times (naive = UTC), both ends inclusive."""
    lo_text, hi_text = call.get(names[0]), call.get(names[1])
    if required:
        missing = [n for n, t in zip(names, (lo_text, hi_text), strict=True) if t is None]
        if missing:
            raise bad_request(
                f"{' and '.join(missing)} {'is' if len(missing) == 1 else 'are'} required "
                "(ISO date-times; a window of at most 3 months)"
            )
    lo = None if lo_text is None else _parse_datetime(names[0], lo_text)
    hi = None if hi_text is None else _parse_datetime(names[1], hi_text)
    _check_window(lo, hi, names)
    return (None if lo is None else _ms(lo)), (None if hi is None else _ms(hi))


def choice(call: Call, name: str, allowed: Mapping[str, str]) -> str | None:
    text = call.get(name)
    if text is None:
        return None
    if text not in allowed:
        raise bad_request(f"{name} must be one of {', '.join(allowed)}, not {text!r}")
    return allowed[text]


# -- paging --------------------------------------------------------------------------
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


# -- handlers ------------------------------------------------------------------------
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


# -- the wrapper every API endpoint goes through ---------------------------------------
def api(
    handler: Callable[[Call], Any], kind: str, *, faults: bool = True
) -> Callable[[Request], Awaitable[Response]]:
    """Auth, faults, error envelopes and JSON for one handler.

    ``kind`` names the endpoint for ``sandbox.live.rewrite``: in live shapes the
    handler's spec-shaped reply is rewritten here, and only here.
    """

    async def endpoint(request: Request) -> Response:
        sb: Sandbox = request.app.state.sandbox
        call = Call(sb, request, request.query_params)
        injector: FaultInjector | None = None
        try:
            sb.check_token(request.headers.get("authorization"))
            injector = sb.faults if faults and request.method in ("GET", "HEAD") else None
            if injector is not None:
                if injector.count_call():
                    sb.revoke_tokens()
                    request.scope[FAULT_KEY] = "revoke_after"
                    raise _unauthorized(
                        "The access token was revoked; get a new one from POST /connect/token"
                    )
                call.fault = injector.draw()
                early = await _early_fault(call, injector)
                if early is not None:
                    return early
            if request.method == "POST":
                call.body = await request.body()
            request.scope[CLOCK_KEY] = sb.tick()  # no await from here to the reply
            reply = handler(call)
            if sb.shapes == live.LIVE:
                reply = live.rewrite(reply, _live_context(call, kind))
        except ApiError as err:
            return error_response(err)
        except WorldError as err:
            return error_response(ApiError(err.status, err.message, err.code))
        except Exception:
            log.exception("sandbox error on %s %s", request.method, request.url.path)
            return error_response(ApiError(500, "Internal error in the sandbox; see its log"))
        if call.fired is not None:
            request.scope[FAULT_KEY] = call.fired
            if injector is not None:
                injector.record(call.fired)
        response = json_response(reply)
        if call.fault == "malformed":
            request.scope[FAULT_KEY] = "malformed"
            if injector is not None:
                injector.record("malformed")
            body = bytes(response.body)
            response = Response(body[: len(body) // 2], media_type="application/json")
        return response

    return endpoint


def _live_context(call: Call, kind: str) -> live.Context:
    return live.Context(
        endpoint=kind,
        seed=call.world.gen.seed,
        path=call.request.url.path,
        params=call.params.multi_items(),
        world=call.world,
        order=call.order,
    )


async def _early_fault(call: Call, injector: FaultInjector) -> Response | None:
    """Answer the faults that need no real reply; sleep for ``slow``."""
    kind = call.fault
    if kind not in ("500", "429", "html", "slow"):
        return None
    call.request.scope[FAULT_KEY] = kind
    injector.record(kind)
    spec = injector.spec
    if kind == "slow":
        await asyncio.sleep(spec.slow_seconds)
        return None
    if kind == "500":
        return error_response(ApiError(500, "Internal server error (injected fault); retry"))
    if kind == "429":
        return error_response(
            ApiError(
                429,
                f"Too many requests (injected fault); retry after {spec.retry_after} s",
                headers={"Retry-After": str(spec.retry_after)},
            )
        )
    return Response(HTML_ERROR_PAGE, media_type="text/html")


# -- token endpoint --------------------------------------------------------------------
async def token_endpoint(request: Request) -> Response:
    sb: Sandbox = request.app.state.sandbox
    try:
        async with request.form() as form:
            fields = {k: v.strip() for k, v in form.items() if isinstance(v, str)}
    except Exception:  # a body that is not a form at all
        return oauth_error(400, "invalid_request", "send an application/x-www-form-urlencoded body")

    def field_(name: str) -> str:
        return fields.get(name, "")

    client_id, client_secret = field_("client_id"), field_("client_secret")
    if not client_id or not client_secret:
        return oauth_error(
            401,
            "invalid_client",
            "client_id and client_secret are required, form-encoded "
            "(application/x-www-form-urlencoded)",
        )
    ok_id = hmac.compare_digest(client_id.encode(), sb.client_id.encode())
    ok_secret = hmac.compare_digest(client_secret.encode(), sb.client_secret.encode())
    if not (ok_id and ok_secret):
        return oauth_error(401, "invalid_client", "Unknown client or wrong client secret")
    grant = field_("grant_type")
    if grant != "client_credentials":
        return oauth_error(
            400, "invalid_grant", f"grant_type must be client_credentials, not {grant!r}"
        )
    scope = field_("scope")
    if sb.dialect == V14 and scope and scope != "openapi":
        return oauth_error(400, "invalid_scope", f"scope must be openapi, not {scope!r}")
    return json_response(
        {
            "access_token": sb.issue_token(),
            "expires_in": int(sb.token_ttl),
            "token_type": "Bearer",
            "scope": "card" if sb.dialect == V20 else "openapi",
        },
        headers={"Cache-Control": "no-store", "Pragma": "no-cache"},
    )


# -- admin (outside /openapi, no auth) -------------------------------------------------
def _sandbox(request: Request) -> Sandbox:
    sb: Sandbox = request.app.state.sandbox
    return sb


async def admin_requests(request: Request) -> Response:
    sb = _sandbox(request)
    if request.method == "DELETE":
        n = len(sb.requests)
        sb.requests.clear()
        return json_response({"cleared": n})
    return json_response(sb.requests)


async def admin_revoke(request: Request) -> Response:
    return json_response({"revoked": _sandbox(request).revoke_tokens()})


async def admin_clock(request: Request) -> Response:
    world = _sandbox(request).world
    try:
        body = json.loads(await request.body() or b"{}")
    except ValueError:
        body = None
    if not isinstance(body, dict) or ("as_of" in body) == ("advance_seconds" in body):
        return json_response(
            {"error": 'send {"as_of": "<ISO date-time>"} or {"advance_seconds": <number>}'}, 400
        )
    try:
        if "as_of" in body:
            as_of = iso_to_ms(str(body["as_of"]))
        else:
            step = body["advance_seconds"]
            if isinstance(step, bool) or not isinstance(step, int | float):
                raise ValueError(step)
            as_of = world.as_of + round(step * 1000)
    except (ValueError, OverflowError):
        return json_response(
            {"error": "as_of must be an ISO date-time, advance_seconds a number"}, 400
        )
    world.set_clock(as_of)
    return json_response({"as_of": ms_to_iso(world.as_of)})


async def admin_manifest(request: Request) -> Response:
    manifest = _sandbox(request).manifest
    if manifest is None:
        return json_response({"error": "this sandbox was started without a manifest"}, 404)
    return json_response(manifest)


async def admin_info(request: Request) -> Response:
    sb = _sandbox(request)
    w = sb.world
    return json_response(
        {
            "dialect": sb.dialect,
            "shapes": sb.shapes,
            "live_clock": sb.live_clock,
            "clock_skew_seconds": sb.clock_skew_ms / 1000,
            "seed": w.gen.seed,
            "size": w.gen.size,
            "start": ms_to_iso(w.start_ms),
            "end": ms_to_iso(w.end_ms),
            "as_of": ms_to_iso(w.as_of),
            "counts": {
                "cards": len(w.cards),
                "transactions": len(w.txns),
                "card_logs": len(w.card_logs),
                "account_logs": len(w.account_logs),
                "orders": len(w.orders),
            },
            "faults": None if sb.faults is None else sb.faults.spec.as_dict(),
            "faults_fired": {} if sb.faults is None else dict(sb.faults.fired),
            "requests": len(sb.requests),
        }
    )


# -- the request log -------------------------------------------------------------------
class RequestLog:
    """ASGI middleware: append one entry per API request to ``sandbox.requests``."""

    def __init__(self, app: ASGIApp, sandbox: Sandbox) -> None:
        self.app = app
        self.sandbox = sandbox

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        path = scope.get("path", "")
        if scope["type"] != "http" or path.startswith("/_sandbox"):
            await self.app(scope, receive, send)
            return
        status = 500

        async def send_status(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
            await send(message)

        try:
            await self.app(scope, receive, send_status)
        finally:
            params = {
                k: ("***" if _REDACT.search(k) else v)
                for k, v in QueryParams(scope.get("query_string", b"")).items()
            }
            entry = {
                "method": scope["method"],
                "path": path[len(BASE) :] if path.startswith(BASE + "/") else path,
                "params": params,
                "status": status,
                "fault": scope.get(FAULT_KEY),
            }
            requests = self.sandbox.requests
            requests.append(entry)
            if len(requests) > MAX_LOGGED:  # a sandbox left running: keep the newest half
                del requests[: MAX_LOGGED // 2]
            if access_log.isEnabledFor(logging.INFO):
                query = "&".join(f"{k}={v}" for k, v in params.items())
                access_log.info(
                    "%s %s%s %s%s",
                    entry["method"],
                    path,
                    f"?{query}" if query else "",
                    status,
                    f" fault={entry['fault']}" if entry["fault"] else "",
                )


class ServiceClock:
    """ASGI middleware: tick the world's clock, and put its ``Date`` on every reply.

    The header is the clock the reply was composed at (``CLOCK_KEY``, set by ``api()``
    right before the handler runs), else the clock when the reply starts; one header,
    to the second (RFC 7231). The server (``sandbox.server``) adds no Date of its own.
    """

    def __init__(self, app: ASGIApp, sandbox: Sandbox) -> None:
        self.app = app
        self.sandbox = sandbox

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        self.sandbox.tick()

        async def send_with_date(message: Message) -> None:
            if message["type"] == "http.response.start":
                as_of = scope.get(CLOCK_KEY)
                if not isinstance(as_of, int):
                    as_of = self.sandbox.tick()
                headers = [(k, v) for k, v in message.get("headers", []) if k.lower() != b"date"]
                headers.append((b"date", live.http_date(as_of).encode("latin-1")))
                message = {**message, "headers": headers}
            await send(message)

        await self.app(scope, receive, send_with_date)


async def http_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, HTTPException)
    if exc.status_code == 404:
        message = f"No endpoint {request.method} {request.url.path}; see API.md for the routes"
    elif exc.status_code == 405:
        message = f"{request.method} is not allowed on {request.url.path}"
    else:
        message = str(exc.detail)
    return error_response(ApiError(exc.status_code, message, headers=exc.headers))


# -- the app ---------------------------------------------------------------------------
def create_app(
    world: World,
    *,
    dialect: str = V20,
    client_id: str = "sandbox",
    client_secret: str = "sandbox-secret",  # noqa: S107 - the sandbox's documented default
    token_ttl: float = 3600,
    faults: FaultSpec | None = None,
    manifest: dict[str, Any] | None = None,
    shapes: str = live.SPEC,
    clock_skew_seconds: float = 0.0,
    live_clock: bool = False,
) -> Starlette:
    """A Starlette app serving ``world`` in ``dialect`` under ``/openapi``.

    ``shapes="live"`` (v1.4 only) rewrites every reply the way the live service's own
    examples look (``sandbox.live``). ``live_clock=True`` makes the world's clock follow
    wall time: on every request ``as_of`` = now (UTC) + ``clock_skew_seconds``, never
    going backwards (so with a world that ends in the future it waits for wall time).
    Every reply carries the clock as its ``Date`` header.
    """
    if dialect not in render.DIALECTS:
        raise ValueError(f"unknown dialect {dialect!r}; use one of {', '.join(render.DIALECTS)}")
    if shapes not in live.SHAPES:
        raise ValueError(f"unknown shapes {shapes!r}; use one of {', '.join(live.SHAPES)}")
    if shapes == live.LIVE and dialect != V14:
        raise ValueError(
            f"shapes='live' is the live service's v1.4 replies; it needs dialect='{V14}', "
            f"not {dialect!r}"
        )
    if token_ttl <= 0:
        raise ValueError("token_ttl must be positive seconds")
    if not math.isfinite(clock_skew_seconds):
        raise ValueError("clock_skew_seconds must be a finite number of seconds")
    if clock_skew_seconds and not live_clock:
        raise ValueError(
            "clock_skew_seconds needs live_clock=True: a fixed clock has no skew against wall time"
        )
    sandbox = Sandbox(
        world=world,
        dialect=dialect,
        client_id=client_id,
        client_secret=client_secret,
        token_ttl=float(token_ttl),
        manifest=manifest,
        faults=None if faults is None else FaultInjector(faults),
        shapes=shapes,
        live_clock=live_clock,
        clock_skew_ms=round(clock_skew_seconds * 1000),
    )
    sandbox.tick()
    v1 = f"{BASE}/v1"
    post = ["POST"]
    routes = [
        Route(f"{BASE}/connect/token", token_endpoint, methods=post),
        Route(f"{v1}/ping", api(ping, live.PING, faults=False)),
        Route(f"{v1}/products", api(products, live.PRODUCTS)),
        Route(f"{v1}/cards/{{cardId}}", api(card, live.CARD)),
        Route(f"{v1}/accounts", api(accounts, live.ACCOUNTS)),
        Route(f"{v1}/accounts/cardAccountLogs", api(card_account_logs, live.CARD_LOGS)),
        Route(f"{v1}/accounts/accountLogs", api(account_logs, live.ACCOUNT_LOGS)),
        Route(f"{v1}/transactions", api(transactions, live.TRANSACTIONS)),
        Route(f"{v1}/orders/standard", api(order_query(STANDARD), live.ORDER)),
        Route(f"{v1}/orders/sharebalance", api(order_query(SHARE_BALANCE), live.ORDER)),
        Route(
            f"{v1}/orders/sharebalance/apply",
            api(write(World.apply_share_balance), live.ORDER),
            methods=post,
        ),
        Route(
            f"{v1}/orders/sharebalance/creditLimit",
            api(write(World.credit_limit), live.ORDER),
            methods=post,
        ),
        Route(
            f"{v1}/orders/standard/apply",
            api(write(World.apply_standard), live.APPLY),
            methods=post,
        ),
        Route(
            f"{v1}/orders/standard/topup",
            api(write(World.top_up_standard), live.ORDER),
            methods=post,
        ),
        Route("/_sandbox/requests", admin_requests, methods=["GET", "DELETE"]),
        Route("/_sandbox/revoke-tokens", admin_revoke, methods=post),
        Route("/_sandbox/clock", admin_clock, methods=post),
        Route("/_sandbox/manifest", admin_manifest),
        Route("/_sandbox/info", admin_info),
    ]
    app = Starlette(
        routes=routes,
        middleware=[
            Middleware(ServiceClock, sandbox=sandbox),
            Middleware(RequestLog, sandbox=sandbox),
        ],
        exception_handlers={HTTPException: http_error},
    )
    app.state.sandbox = sandbox
    return app


__all__ = ["BASE", "ApiError", "Sandbox", "add_months", "create_app"]
