"""Items of either API dialect -> one canonical polars frame per stream (``sql/core.sql``).

``normalize(stream, pages)`` maps the parsed items of one batch (every page of a stream
in a run) onto the canonical columns of the stream's ``core`` table, with the page's
lineage on every row. It never decides whether a row can be trusted; it only records
what could not be read:

* a value of the wrong JSON type (``"auth_amount: not a number ('abc')"``), a time that
  does not parse, more than 9 decimals, ... becomes a null plus a message in the row's
  ``_problems``; ``transform.schemas.validate`` quarantines such rows;
* an enum spelled as the service's own examples spell it (``orderType: "TopUpCard"``) is
  mapped to its canonical value by the alias table ``transform/model/enum_aliases.csv``
  (one table, read here; ``_raw`` keeps the spelling as sent); any other unknown enum value
  is kept as sent (``status = 'Weird'``) so the schema's ``isin`` check fails and names it;
* a time is read with its offset (.NET style, up to 7 fractional digits:
  ``2025-04-23T11:13:17.6917032+08:00``) and converted to UTC; digits beyond the
  microsecond are dropped (truncated, never rounded into the next second or day);
* a required field that no item of a page carries usably raises :class:`SchemaFailure`:
  that is a changed API (or the wrong ``--dialect``), not a bad record.

Besides the canonical columns every frame has ``_row`` (position in the batch),
``_item_key`` (the item's natural key as sent, for the quarantine), ``_raw`` (the item as
compact JSON, decimals exact) and ``_problems`` (``list[str]``). Amounts are
``Decimal(38, 9)`` here (so a third decimal survives to be rejected by the schema),
times ``Datetime("us", "UTC")``. Streams: ``transactions``, ``card_account_logs``,
``account_logs`` and the snapshots ``cards``, ``accounts``, ``orders`` (one page = one
reply's ``data``).
"""

from __future__ import annotations

import csv
import json
import re
from collections import Counter
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import Context, Decimal
from pathlib import Path
from typing import Any, Protocol

import orjson
import polars as pl

__all__ = [
    "COLUMNS",
    "ENUM_ALIASES",
    "FEE_ITEM_COLUMNS",
    "LINEAGE_COLUMNS",
    "MONEY",
    "STREAMS",
    "TIME",
    "Lineage",
    "Normalized",
    "SchemaFailure",
    "normalize",
    "raw_json",
]

V20, V14 = "v2.0", "v1.4"
MONEY = pl.Decimal(38, 9)
TIME = pl.Datetime("us", "UTC")
LINEAGE_COLUMNS = ("dialect", "run_id", "fetched_at", "response_id")

_LINEAGE: dict[str, pl.DataType] = {
    "dialect": pl.String(),
    "run_id": pl.String(),
    "fetched_at": TIME,
    "response_id": pl.String(),
}
_S, _B = pl.String(), pl.Boolean()
# Columns filled from the page, not the item: the lineage, and (snapshots) the service's clock.
_PAGE_COLUMNS: dict[str, pl.DataType] = {**_LINEAGE, "service_at": TIME}

# The canonical columns of each stream, in the order of transform/sql/core.sql.
COLUMNS: dict[str, dict[str, pl.DataType]] = {
    "transactions": {
        "transaction_id": _S,
        "card_id": _S,
        "transaction_type": _S,
        "status": _S,
        "funds_direction": _S,
        "currency": _S,
        "trans_amount": MONEY,
        "auth_amount": MONEY,
        "settled_amount": MONEY,
        "auth_at": TIME,
        "settled_at": TIME,
        "merchant_name": _S,
        "merchant_country": _S,
        "auth_code": _S,
        "failure_reason": _S,
        "is_topup_mirror": _B,
        **_LINEAGE,
    },
    "card_account_logs": {
        "account_log_id": _S,
        "order_no": _S,
        "log_type": _S,
        "card_id": _S,
        "funds_direction": _S,
        "currency": _S,
        "trans_amount": MONEY,
        "total_fee": MONEY,
        "total_amount": MONEY,
        "status": _S,
        "failure_reason": _S,
        "trans_at": TIME,
        "completed_at": TIME,
        "note": _S,
        **_LINEAGE,
    },
    "account_logs": {
        "account_log_id": _S,
        "trans_type": _S,
        "funds_direction": _S,
        "currency": _S,
        "trans_amount": MONEY,
        "available_balance": MONEY,
        "blocked_balance": MONEY,
        "order_no": _S,
        "card_id": _S,
        "trans_at": TIME,
        "note": _S,
        **_LINEAGE,
    },
    "cards": {
        "card_id": _S,
        "fetched_at": TIME,
        "card_model": _S,
        "currency": _S,
        "status": _S,
        "balance": MONEY,
        "used_credit_amount": MONEY,
        "max_auth_amount": MONEY,
        "max_credit_amount": MONEY,
        "alias": _S,
        "product_code": _S,
        "created_at": TIME,
        "dialect": _S,
        "run_id": _S,
        "response_id": _S,
        "service_at": TIME,
    },
    "accounts": {
        "currency": _S,
        "fetched_at": TIME,
        "available_balance": MONEY,
        "frozen_balance": MONEY,
        "dialect": _S,
        "run_id": _S,
        "response_id": _S,
        "service_at": TIME,
    },
    "orders": {
        "order_no": _S,
        "customer_order_no": _S,
        "order_type": _S,
        "card_model": _S,
        "status": _S,
        "card_id": _S,
        "currency": _S,
        "principal_amount": MONEY,
        "fee_amount": MONEY,
        "total_amount": MONEY,
        "created_at": TIME,
        "completed_at": TIME,
        **_LINEAGE,
    },
}
STREAMS = tuple(COLUMNS)

FEE_ITEM_COLUMNS: dict[str, pl.DataType] = {
    "account_log_id": _S,
    "item_no": pl.Int32(),
    "fee_type": _S,
    "amount": MONEY,
    "currency": _S,
    "run_id": _S,
}
_EXTRA: dict[str, pl.DataType] = {
    "_row": pl.Int64(),
    "_item_key": _S,
    "_raw": _S,
    "_problems": pl.List(pl.String()),
}
_PROBLEM_SEPARATOR = "\n"  # never inside a problem: values are shown escaped

# Required fields per (stream, dialect): a page on which no item carries one of them
# with a usable value is a changed API, not a bad record (SchemaFailure).
_REQUIRED: dict[tuple[str, str], tuple[str, ...]] = {
    ("transactions", V20): (
        "transactionId",
        "cardId",
        "amount",
        "currency",
        "transactionType",
        "status",
        "transactionTime",
    ),
    ("transactions", V14): (
        "id",
        "authTime",
        "authAmount",
        "authAmount.amount",
        "cardInfo.cardId",
        "status",
        "fundsDirection",
        "transactionType",
    ),
    ("card_account_logs", ""): (
        "accountLogId",
        "cardOrderNo",
        "cardAccountLogType",
        "cardInfo.cardId",
        "fundsDirection",
        "transAmount",
        "transAmount.amount",
        "totalFee",
        "totalFee.amount",
        "totalAmount",
        "totalAmount.amount",
        "status",
        "transTime",
    ),
    ("account_logs", ""): (
        "id",
        "accountTransType",
        "fundsDirection",
        "currency",
        "transAmount",
        "availableBalance",
        "blockedBalance",
        "transTime",
    ),
    ("cards", V20): ("cardId", "cardModel", "cardCurrency", "cardStatus"),
    ("cards", V14): ("cardId", "cardModel", "cardCurrency", "status"),
    ("accounts", V20): ("currency", "availableBalance"),
    ("accounts", V14): ("currency", "amount"),
    ("orders", ""): ("orderNo", "orderType", "status"),
}
# The field holding each stream's natural key, as sent (for ``_item_key``).
_KEY_FIELD: dict[tuple[str, str], str] = {
    ("transactions", V20): "transactionId",
    ("transactions", V14): "id",
    ("card_account_logs", ""): "accountLogId",
    ("account_logs", ""): "id",
    ("cards", ""): "cardId",
    ("accounts", ""): "currency",
    ("orders", ""): "orderNo",
}

V20_TXN_STATUS = {"Pending": "authorized", "Success": "settled", "Failed": "failed"}
V14_TXN_STATUS = {"AuthSuccess": "authorized", "Settled": "settled", "AuthFailure": "failed"}
V20_TXN_TYPE = {"Purchase": "Consume", "Refund": "ConsumeRefund", "TopUp": "TopUp"}
V20_INCOME_TYPES = frozenset({"ConsumeRefund", "TopUp"})  # direction of a zero v2.0 amount


def _read_aliases(path: Path) -> dict[str, dict[str, dict[str, str]]]:
    """stream -> column -> {alias: canonical}, from the alias table (module docstring)."""
    table: dict[str, dict[str, dict[str, str]]] = {}
    with path.open(encoding="utf-8", newline="") as f:
        for row in csv.DictReader(f):
            stream, column = row["stream"], row["column"]
            if stream not in COLUMNS or column not in COLUMNS[stream]:
                raise ValueError(f"{path.name}: no column {stream}.{column} to alias")
            table.setdefault(stream, {}).setdefault(column, {})[row["alias"]] = row["canonical"]
    return table


ALIASES_FILE = Path(__file__).parent / "model" / "enum_aliases.csv"
# The spellings the service's own examples use, mapped to the canonical values (API.md,
# "What the live service's own examples show").
ENUM_ALIASES = _read_aliases(ALIASES_FILE)

_MAX_DECIMALS = 9
_MAX_ADJUSTED = 27  # |amount| < 10**28 fits Decimal(38, 9)
_INT_LIMIT = 10 ** (_MAX_ADJUSTED + 1)
_WIDE = Context(prec=80)
_NUMBER = re.compile(r"[+-]?(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][+-]?\d+)?")
_MISSING: Any = object()
_NO_PROBLEMS: list[str] = []  # shared, never appended to
_PATHS: dict[str, tuple[str, ...]] = {}  # "cardInfo.cardId" -> ("cardInfo", "cardId")
_DEFAULTS: dict[str, Any] = {"is_topup_mirror": False}  # for an item that is not an object


@dataclass(frozen=True)
class Lineage:
    """Where a page came from; copied onto every row normalised from it."""

    dialect: str  # "v2.0" | "v1.4"
    run_id: str
    fetched_at: datetime  # tz-aware UTC
    response_id: str | None
    card_model: str | None = None  # orders: which endpoint answered (Standard/ShareBalance)
    service_at: datetime | None = None  # the service's clock (the reply's Date header)
    order_type: str | None = None  # orders: the type asked for (a shortened reply omits it)


@dataclass(frozen=True)
class Normalized:
    """One batch in canonical columns (plus ``_row``, ``_item_key``, ``_raw``, ``_problems``)."""

    frame: pl.DataFrame
    fee_items: pl.DataFrame | None = None  # card_account_logs only


class SchemaFailure(Exception):
    """A page whose items all lack (or mistype) a required field: the API shape changed."""

    def __init__(
        self,
        stream: str,
        field: str,
        problem: str,
        *,
        dialect: str,
        response_id: str | None,
    ) -> None:
        self.stream = stream
        self.field = field
        self.problem = problem
        self.dialect = dialect
        self.response_id = response_id
        where = f"dialect {dialect}, responseId {response_id or 'unknown'}"
        super().__init__(
            f"{stream}: {problem} ({where}); the API shape changed — check the dialect (--dialect)"
        )

    def __reduce__(self) -> tuple[Any, ...]:
        return (
            _schema_failure,
            (self.stream, self.field, self.problem, self.dialect, self.response_id),
        )


def _schema_failure(
    stream: str, field: str, problem: str, dialect: str, response_id: str | None
) -> SchemaFailure:
    return SchemaFailure(stream, field, problem, dialect=dialect, response_id=response_id)


# -- reading one item --------------------------------------------------------------------
def raw_json(item: Any) -> str:
    """The item as compact JSON text, decimals written exactly as parsed."""
    try:
        return orjson.dumps(item, default=_json_default).decode()
    except (TypeError, orjson.JSONEncodeError):  # e.g. an integer beyond 64 bits
        return json.dumps(item, default=str, separators=(",", ":"), ensure_ascii=True)


def _json_default(obj: Any) -> Any:
    if isinstance(obj, Decimal):
        return orjson.Fragment(str(obj)) if obj.is_finite() else str(obj)
    raise TypeError


def _show(value: Any) -> str:
    text = repr(value) if isinstance(value, str) else raw_json(value)
    return text if len(text) <= 40 else text[:37] + "..."


def _is_text(value: Any) -> bool:
    if not isinstance(value, str):
        return False
    if value.isascii():
        return True
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:  # a lone surrogate from a "\ud800" escape
        return False
    return True


def _parse_number(value: Any) -> Decimal | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, Decimal):
        return value
    if isinstance(value, int):
        return Decimal(value)
    if isinstance(value, float):
        return Decimal(repr(value))
    if isinstance(value, str) and _NUMBER.fullmatch(value.strip()):
        return Decimal(value.strip())
    return None


def _to_decimal(value: Any) -> Decimal | str:
    """A Decimal, or the problem (``"not a number ('abc')"``)."""
    d = _parse_number(value)
    if d is None or not d.is_finite():
        return f"not a number ({_show(value)})"
    if d.is_zero():
        return Decimal(0)
    if d.adjusted() > _MAX_ADJUSTED:
        return f"too large ({_show(value)})"
    n = d.normalize(_WIDE)
    if int(n.as_tuple().exponent) < -_MAX_DECIMALS:
        return f"more than {_MAX_DECIMALS} decimals"
    return n


def _to_time(value: Any) -> datetime | None:
    if not _is_text(value):
        return None
    try:
        dt = datetime.fromisoformat(value)
        if dt.tzinfo is None:  # the API writes UTC; a missing offset is read as UTC
            dt = dt.replace(tzinfo=UTC)
        return dt.astimezone(UTC)
    except (ValueError, OverflowError):
        return None


class _Page:
    """Counts, per required field of one page, the items carrying it at all and carrying it
    with the right JSON type (a string for a time, a number or string for an amount)."""

    def __init__(self, required: tuple[str, ...]) -> None:
        self.order = required
        self.required = frozenset(required)
        self.present: Counter[str] = Counter()
        self.usable: Counter[str] = Counter()
        self.objects = 0
        self.fast = 0  # items read by _FastReader: every required field present and usable


class _Reader:
    """Reads the fields of one item, collecting the problems of this item."""

    def __init__(self, page: _Page, item: Mapping[str, Any]) -> None:
        self.page = page
        self.item = item
        self.problems: list[str] = []

    def problem(self, name: str, text: str) -> None:
        message = f"{name}: {text}"
        if message not in self.problems:
            self.problems.append(message)

    def get(self, path: str, node: Any = _MISSING) -> Any:
        """The value at a dotted path, ``None`` when absent (a non-object parent is a problem)."""
        node = self.item if node is _MISSING else node
        parts = _PATHS.get(path) or _PATHS.setdefault(path, tuple(path.split(".")))
        for i, part in enumerate(parts):
            if node is None:
                return None
            if not isinstance(node, dict | Mapping):  # dict first: the fast, usual case
                self.problem(".".join(parts[:i]), "not an object")
                return None
            node = node.get(part, _MISSING)
            if node is _MISSING:
                return None
        if path in self.page.required:
            self.page.present[path] += 1
        return node

    def _usable(self, path: str) -> None:
        if path in self.page.required:
            self.page.usable[path] += 1

    def text(self, name: str, path: str, node: Any = _MISSING) -> str | None:
        value = self.get(path, node)
        if value is None:
            return None
        if isinstance(value, str):
            self._usable(path)
            if _is_text(value):
                return value
        self.problem(name, f"not a string ({_show(value)})")
        return None

    def money(self, name: str, path: str, node: Any = _MISSING) -> Decimal | None:
        value = self.get(path, node)
        if value is None:
            return None
        if isinstance(value, Decimal | int | float | str) and not isinstance(value, bool):
            self._usable(path)  # the JSON type is right; the value may still be wrong
        d = _to_decimal(value)
        if isinstance(d, str):
            self.problem(name, d)
            return None
        return d

    def time(self, name: str, path: str, node: Any = _MISSING) -> datetime | None:
        value = self.get(path, node)
        if value is None:
            return None
        if isinstance(value, str):
            self._usable(path)
        t = _to_time(value)
        if t is None:
            self.problem(name, f"not a timestamp ({_show(value)})")
        return t

    def obj(self, name: str, path: str, node: Any = _MISSING) -> Mapping[str, Any] | None:
        value = self.get(path, node)
        if value is None:
            return None
        if isinstance(value, Mapping):
            self._usable(path)
            return value
        self.problem(name, "not an object")
        return None

    def money_obj(
        self, name: str, path: str, node: Any = _MISSING
    ) -> tuple[Decimal | None, str | None]:
        """An ``{amount, currency}`` object: (amount, currency)."""
        value = self.get(path, node)
        if value is None:
            return None, None
        if not isinstance(value, Mapping):
            self.problem(name, "not an {amount, currency} object")
            return None, None
        self._usable(path)
        return self.money(name, f"{path}.amount", node), self.text(
            "currency", f"{path}.currency", node
        )


class _Slow(Exception):
    """Raised by :class:`_FastReader` when an item needs the careful reader."""


_SLOW = _Slow()


class _FastReader:
    """The happy path of :class:`_Reader`: same answers, a fraction of the work.

    It accepts a field only in the plain form the API sends (a str that is ASCII, a
    number parsed as ``Decimal``/``int`` that fits, a parseable timestamp, a dict) and
    raises :class:`_Slow` for anything else — a wrong type, a bad value, or a required
    field that is absent or null — so the item is read again by :class:`_Reader`, which
    records the problems and the page counters. Whatever it returns is what
    ``_Reader`` returns for the same item with no problems, so an item read here has
    every required field present and usable (see ``_check_page``).
    """

    __slots__ = ("item", "required")

    def __init__(self, required: frozenset[str]) -> None:
        self.required = required
        self.item: Mapping[str, Any] = {}

    @property
    def problems(self) -> list[str]:
        return []

    def problem(self, name: str, text: str) -> None:
        raise _SLOW

    def _dig(self, path: str, node: Any) -> Any:
        node = self.item if node is _MISSING else node
        if "." not in path:
            value = node.get(path) if type(node) is dict else _bad(node)
        else:
            parts = _PATHS.get(path) or _PATHS.setdefault(path, tuple(path.split(".")))
            value = node
            for part in parts:
                if value is None:
                    break
                if type(value) is not dict:
                    raise _SLOW
                value = value.get(part)
        if value is None and path in self.required:
            raise _SLOW
        return value

    def get(self, path: str, node: Any = _MISSING) -> Any:
        if path in self.required:  # _Reader counts it as present, not usable
            raise _SLOW
        return self._dig(path, node)

    def text(self, name: str, path: str, node: Any = _MISSING) -> str | None:
        value = self._dig(path, node)
        if value is None or (type(value) is str and value.isascii()):
            return value
        raise _SLOW

    def money(self, name: str, path: str, node: Any = _MISSING) -> Decimal | None:
        value = self._dig(path, node)
        if value is None:
            return None
        kind = type(value)
        if kind is Decimal:
            # what _to_decimal keeps, without normalising (the same number in the frame)
            if (
                value.is_finite()
                and value.adjusted() <= _MAX_ADJUSTED
                and int(value.as_tuple().exponent) >= -_MAX_DECIMALS
            ):
                plain: Decimal = value
                return plain
        elif kind is int and -_INT_LIMIT < value < _INT_LIMIT:
            return Decimal(value)
        raise _SLOW

    def time(self, name: str, path: str, node: Any = _MISSING) -> datetime | None:
        value = self._dig(path, node)
        if value is None:
            return None
        t = _to_time(value) if type(value) is str else None
        if t is None:
            raise _SLOW
        return t

    def obj(self, name: str, path: str, node: Any = _MISSING) -> Mapping[str, Any] | None:
        value = self._dig(path, node)
        if value is None or type(value) is dict:
            return value
        raise _SLOW

    def money_obj(
        self, name: str, path: str, node: Any = _MISSING
    ) -> tuple[Decimal | None, str | None]:
        value = self._dig(path, node)
        if value is None:
            return None, None
        if type(value) is not dict:
            raise _SLOW
        return self.money(name, f"{path}.amount", node), self.text(
            "currency", f"{path}.currency", node
        )


def _bad(node: Any) -> Any:
    raise _SLOW


class _Fields(Protocol):
    """What a mapper reads an item through: :class:`_Reader` or :class:`_FastReader`."""

    @property
    def item(self) -> Mapping[str, Any]: ...
    @property
    def problems(self) -> list[str]: ...
    def problem(self, name: str, text: str) -> None: ...
    def get(self, path: str, node: Any = ...) -> Any: ...
    def text(self, name: str, path: str, node: Any = ...) -> str | None: ...
    def money(self, name: str, path: str, node: Any = ...) -> Decimal | None: ...
    def time(self, name: str, path: str, node: Any = ...) -> datetime | None: ...
    def obj(self, name: str, path: str, node: Any = ...) -> Mapping[str, Any] | None: ...
    def money_obj(
        self, name: str, path: str, node: Any = ...
    ) -> tuple[Decimal | None, str | None]: ...


USE_FAST_READER = True  # tests turn it off to compare both readers on the same items


# -- per stream: one item -> canonical values ---------------------------------------------
Row = dict[str, Any]


def _txn_v20(r: _Fields, lineage: Lineage) -> Row:
    amount = r.money("auth_amount", "amount")
    raw_type = r.text("transaction_type", "transactionType")
    raw_status = r.text("status", "status")
    tx_type = None if raw_type is None else V20_TXN_TYPE.get(raw_type, raw_type)
    status = None if raw_status is None else V20_TXN_STATUS.get(raw_status, raw_status)
    magnitude = None if amount is None else abs(amount)
    direction = None
    if amount is not None:
        income = amount > 0 or (amount == 0 and tx_type in V20_INCOME_TYPES)
        direction = "Income" if income else "Expenditure"
    return {
        "transaction_id": r.text("transaction_id", "transactionId"),
        "card_id": r.text("card_id", "cardId"),
        "transaction_type": tx_type,
        "status": status,
        "funds_direction": direction,
        "currency": r.text("currency", "currency"),
        "trans_amount": magnitude,
        "auth_amount": magnitude,
        "settled_amount": magnitude if status == "settled" else None,
        "auth_at": r.time("auth_at", "transactionTime"),
        "merchant_name": r.text("merchant_name", "merchantName"),
        "auth_code": r.text("auth_code", "authCode"),
        "is_topup_mirror": tx_type == "TopUp",
    }


def _txn_v14(r: _Fields, lineage: Lineage) -> Row:
    auth, auth_currency = r.money_obj("auth_amount", "authAmount")
    trans, _ = r.money_obj("trans_amount", "transAmount")
    settled, _ = r.money_obj("settled_amount", "settledAmount")
    card_currency = r.text("currency", "cardInfo.cardCurrency")
    raw_status = r.text("status", "status")
    tx_type = r.text("transaction_type", "transactionType")
    return {
        "transaction_id": r.text("transaction_id", "id"),
        "card_id": r.text("card_id", "cardInfo.cardId"),
        "transaction_type": tx_type,
        "status": None if raw_status is None else V14_TXN_STATUS.get(raw_status, raw_status),
        "funds_direction": r.text("funds_direction", "fundsDirection"),
        "currency": auth_currency or card_currency,
        "trans_amount": trans,
        "auth_amount": auth,
        "settled_amount": settled,
        "auth_at": r.time("auth_at", "authTime"),
        "settled_at": r.time("settled_at", "settleTime"),
        "merchant_name": r.text("merchant_name", "merchantName"),
        "merchant_country": r.text("merchant_country", "merchantCountryCode"),
        "auth_code": r.text("auth_code", "authCode"),
        "failure_reason": r.text("failure_reason", "failureReason"),
        "is_topup_mirror": tx_type == "TopUp",
    }


def _card_log(r: _Fields, lineage: Lineage) -> Row:
    trans, currency = r.money_obj("trans_amount", "transAmount")
    fee, fee_currency = r.money_obj("total_fee", "totalFee")
    total, total_currency = r.money_obj("total_amount", "totalAmount")
    currency = currency or total_currency or fee_currency
    return {
        "account_log_id": r.text("account_log_id", "accountLogId"),
        "order_no": r.text("order_no", "cardOrderNo"),
        "log_type": r.text("log_type", "cardAccountLogType"),
        "card_id": r.text("card_id", "cardInfo.cardId"),
        "funds_direction": r.text("funds_direction", "fundsDirection"),
        "currency": currency,
        "trans_amount": trans,
        "total_fee": fee,
        "total_amount": total,
        "status": r.text("status", "status"),
        "failure_reason": r.text("failure_reason", "failureReason"),
        "trans_at": r.time("trans_at", "transTime"),
        "completed_at": r.time("completed_at", "completedTime"),
        "note": r.text("note", "note"),
        "_fee_items": _fee_items(r, currency),
    }


FeeItem = tuple[str | None, Decimal | None, str | None]


def _fee_items(r: _Fields, currency: str | None) -> list[FeeItem]:
    """feeItems as (fee_type, amount, currency): nested ``{amount: {amount, currency}}``
    (card logs) or flat ``{amount, currency}`` (order fee items)."""
    raw = r.get("feeItems")
    if raw is None:
        return []
    if not isinstance(raw, list):
        r.problem("fee_items", "not a list")
        return []
    out: list[FeeItem] = []
    for no, fee in enumerate(raw, start=1):
        name = f"fee_items[{no}]"
        if not isinstance(fee, Mapping):
            r.problem(name, "not an object")
            out.append((None, None, currency))
            continue
        fee_type = r.text(f"{name}.fee_type", "feeType", fee)
        if isinstance(fee.get("amount"), Mapping):
            amount, cur = r.money_obj(f"{name}.amount", "amount", fee)
        else:
            amount = r.money(f"{name}.amount", "amount", fee)
            cur = r.text(f"{name}.currency", "currency", fee)
        out.append((fee_type, amount, cur or currency))
    return out


def _account_log(r: _Fields, lineage: Lineage) -> Row:
    return {
        "account_log_id": r.text("account_log_id", "id"),
        "trans_type": r.text("trans_type", "accountTransType"),
        "funds_direction": r.text("funds_direction", "fundsDirection"),
        "currency": r.text("currency", "currency"),
        "trans_amount": r.money("trans_amount", "transAmount"),
        "available_balance": r.money("available_balance", "availableBalance"),
        "blocked_balance": r.money("blocked_balance", "blockedBalance"),
        "order_no": r.text("order_no", "orderNo"),
        "card_id": r.text("card_id", "cardInfo.cardId"),  # cardInfo may be null
        "trans_at": r.time("trans_at", "transTime"),
        "note": r.text("note", "note"),
    }


def _card_v20(r: _Fields, lineage: Lineage) -> Row:
    return {
        "card_id": r.text("card_id", "cardId"),
        "card_model": r.text("card_model", "cardModel"),
        "currency": r.text("currency", "cardCurrency"),
        "status": r.text("status", "cardStatus"),
        "balance": r.money("balance", "balance"),
        "max_auth_amount": r.money("max_auth_amount", "maxAuthAmount"),
        "max_credit_amount": r.money("max_credit_amount", "maxCreditAmount"),
        "alias": r.text("alias", "cardAlias"),
        "created_at": r.time("created_at", "createdOn"),
    }


def _card_v14(r: _Fields, lineage: Lineage) -> Row:
    status = r.text("status", "status")  # the card number and CVV are never read; aliases
    return {  # (Cancel -> Cancelled) are mapped for the whole batch
        "card_id": r.text("card_id", "cardId"),
        "card_model": r.text("card_model", "cardModel"),
        "currency": r.text("currency", "cardCurrency"),
        "status": status,
        "balance": r.money("balance", "balanceAmount"),
        "used_credit_amount": r.money("used_credit_amount", "usedCreditAmount"),
        "max_auth_amount": r.money("max_auth_amount", "maxAuthAmount"),
        "max_credit_amount": r.money("max_credit_amount", "maxCreditAmount"),
        "alias": r.text("alias", "alias"),
        "product_code": r.text("product_code", "productCode"),
        "created_at": r.time("created_at", "applyTime"),
    }


def _account_v20(r: _Fields, lineage: Lineage) -> Row:
    return {
        "currency": r.text("currency", "currency"),
        "available_balance": r.money("available_balance", "availableBalance"),
        "frozen_balance": r.money("frozen_balance", "frozenBalance"),
    }


def _account_v14(r: _Fields, lineage: Lineage) -> Row:
    return {
        "currency": r.text("currency", "currency"),
        "available_balance": r.money("available_balance", "amount"),
    }


def _first_present(item: Mapping[str, Any], names: tuple[str, ...]) -> str | None:
    return next((n for n in names if n in item), None)


def _first_card(r: _Fields, key: str, name: str) -> str | None:
    """``key`` of the order's card: cardInfo, cardInfos[0] or orderLines[0].cardInfo."""
    card_info = r.obj("cardInfo", "cardInfo")
    if card_info is not None and key in card_info:
        return r.text(name, key, card_info)
    for list_name, inner in (("cardInfos", None), ("orderLines", "cardInfo")):
        entries = r.get(list_name)
        if not isinstance(entries, list) or not entries:
            continue
        node = entries[0]
        if inner is not None:
            node = node.get(inner) if isinstance(node, Mapping) else None
        if isinstance(node, Mapping) and key in node:
            return r.text(name, key, node)
    return None


def _order(r: _Fields, lineage: Lineage) -> Row:
    item = r.item
    # the type the reply says, else the one the query asked for (the v2.0 document's
    # walkthrough prints order replies without orderType)
    order_type = r.text("order_type", "orderType") or lineage.order_type
    principal_field = _first_present(
        item, ("totalTopUpAmount", "topUpAmount", "withdrawAmount", "refundAmount")
    )
    fee_field = _first_present(item, ("totalFee", "transFee", "withdrawFee", "fee"))
    total_field = _first_present(item, ("totalPayAmount", "totalAmount"))
    principal = None if principal_field is None else r.money("principal_amount", principal_field)
    if principal_field is None and fee_field == "transFee":  # a ShareBalance opening
        principal = r.money("principal_amount", "transAmount") if "transAmount" in item else None
        principal = Decimal(0) if principal is None else principal
    product = r.obj("productInfo", "productInfo")
    card_id = r.text("card_id", "cardId")
    currency = r.text("currency", "cardCurrency", product) if product else None
    model = r.text("card_model", "cardModel", product) if product else None
    return {
        "order_no": r.text("order_no", "orderNo"),
        "customer_order_no": r.text("customer_order_no", "customerOrderNo"),
        "order_type": order_type,
        "card_model": model or _first_card(r, "cardModel", "card_model") or lineage.card_model,
        "status": r.text("status", "status"),
        "card_id": card_id or _first_card(r, "cardId", "card_id"),
        "currency": currency or _first_card(r, "cardCurrency", "currency"),
        "principal_amount": principal,
        "fee_amount": None if fee_field is None else r.money("fee_amount", fee_field),
        "total_amount": None if total_field is None else r.money("total_amount", total_field),
        "created_at": r.time("created_at", "createdOn"),
        "completed_at": r.time("completed_at", "completedOn"),
    }


_Mapper = Callable[[_Fields, Lineage], Row]
_MAPPERS: dict[tuple[str, str], _Mapper] = {
    ("transactions", V20): _txn_v20,
    ("transactions", V14): _txn_v14,
    ("card_account_logs", ""): _card_log,
    ("account_logs", ""): _account_log,
    ("cards", V20): _card_v20,
    ("cards", V14): _card_v14,
    ("accounts", V20): _account_v20,
    ("accounts", V14): _account_v14,
    ("orders", ""): _order,
}


def _lookup(table: Mapping[tuple[str, str], Any], stream: str, dialect: str) -> Any:
    return table.get((stream, dialect), table.get((stream, ""), None))


# -- the fast rows: plain items of the high-volume streams, without the reader -----------
# A fast-row function returns the item's content columns as a tuple (money as exact text,
# cast to MONEY by polars in one go), or None when anything about the item is not plain:
# then the item goes through the readers above, which decide and explain. What a fast row
# holds is what the mapper gives for the same item — tests compare the two on arbitrary
# items (tests/transform/test_transform_properties.py).
_FastRow = tuple[Any, ...]


def _plain(value: Any) -> bool:
    return type(value) is str and value.isascii()


def _opt(value: Any) -> bool:
    return value is None or (type(value) is str and value.isascii())


def _money_text(value: Any) -> str | None:
    """An amount in plain notation, or None when it is not a plain number that fits."""
    kind = type(value)
    if kind is Decimal:
        if not value.is_finite() or value.adjusted() > _MAX_ADJUSTED:
            return None
        text = format(value, "f")  # digits after the point = decimals as sent
        dot = text.find(".")
        return text if dot < 0 or len(text) - dot - 1 <= _MAX_DECIMALS else None
    if kind is int and -_INT_LIMIT < value < _INT_LIMIT:
        return str(value)
    return None


def _fast_account_log(item: dict[str, Any]) -> _FastRow | None:
    g: Callable[[str], Any] = item.get
    log_id, kind, direction, currency = (
        g("id"), g("accountTransType"), g("fundsDirection"), g("currency")
    )  # fmt: skip
    order_no, note, card_info = g("orderNo"), g("note"), g("cardInfo")
    if not (
        _plain(log_id) and _plain(kind) and _plain(direction) and _plain(currency)
        and _opt(order_no) and _opt(note)
    ):  # fmt: skip
        return None
    card_id = None
    if card_info is not None:
        if type(card_info) is not dict:
            return None
        card_id = card_info.get("cardId")
        if not _opt(card_id):
            return None
    amount, available, blocked = (
        _money_text(g("transAmount")),
        _money_text(g("availableBalance")),
        _money_text(g("blockedBalance")),
    )
    when = g("transTime")
    at = _to_time(when) if type(when) is str else None
    if amount is None or available is None or blocked is None or at is None:
        return None
    return (
        log_id, kind, direction, currency, amount, available, blocked, order_no, card_id, at,
        note,
    )  # fmt: skip


def _fast_txn_v20(item: dict[str, Any]) -> _FastRow | None:
    g: Callable[[str], Any] = item.get
    txn_id, card_id, currency, raw_type, raw_status = (
        g("transactionId"), g("cardId"), g("currency"), g("transactionType"), g("status")
    )  # fmt: skip
    merchant, auth_code, amount, when = (
        g("merchantName"), g("authCode"), g("amount"), g("transactionTime")
    )  # fmt: skip
    if not (
        _plain(txn_id) and _plain(card_id) and _plain(currency) and _plain(raw_type)
        and _plain(raw_status) and _opt(merchant) and _opt(auth_code)
    ):  # fmt: skip
        return None
    if _money_text(amount) is None:
        return None
    at = _to_time(when) if type(when) is str else None
    if at is None:
        return None
    tx_type = V20_TXN_TYPE.get(raw_type, raw_type)
    status = V20_TXN_STATUS.get(raw_status, raw_status)
    income = amount > 0 or (amount == 0 and tx_type in V20_INCOME_TYPES)
    magnitude = _money_text(abs(amount))
    return (
        txn_id, card_id, tx_type, status, "Income" if income else "Expenditure", currency,
        magnitude, magnitude, magnitude if status == "settled" else None, at, None, merchant,
        None, auth_code, None, tx_type == "TopUp",
    )  # fmt: skip


def _money_object(value: Any, required: bool) -> tuple[str | None, str | None] | None:
    """An ``{amount, currency}`` object as (amount text, currency); None: not plain."""
    if value is None:
        return None if required else (None, None)
    if type(value) is not dict:
        return None
    amount, currency = value.get("amount"), value.get("currency")
    if not _opt(currency):
        return None
    if amount is None:
        return None if required else (None, currency)
    text = _money_text(amount)
    return None if text is None else (text, currency)


def _fast_txn_v14(item: dict[str, Any]) -> _FastRow | None:
    g: Callable[[str], Any] = item.get
    txn_id, raw_status, direction, tx_type = (
        g("id"), g("status"), g("fundsDirection"), g("transactionType")
    )  # fmt: skip
    merchant, country, auth_code, failure = (
        g("merchantName"), g("merchantCountryCode"), g("authCode"), g("failureReason")
    )  # fmt: skip
    card_info = g("cardInfo")
    if not (
        _plain(txn_id) and _plain(raw_status) and _plain(direction) and _plain(tx_type)
        and _opt(merchant) and _opt(country) and _opt(auth_code) and _opt(failure)
        and type(card_info) is dict
    ):  # fmt: skip
        return None
    card_id, card_currency = card_info.get("cardId"), card_info.get("cardCurrency")
    if not (_plain(card_id) and _opt(card_currency)):
        return None
    auth = _money_object(g("authAmount"), required=True)
    trans = _money_object(g("transAmount"), required=False)
    settled = _money_object(g("settledAmount"), required=False)
    if auth is None or trans is None or settled is None:
        return None
    auth_when, settle_when = g("authTime"), g("settleTime")
    auth_at = _to_time(auth_when) if type(auth_when) is str else None
    settled_at = None
    if settle_when is not None:
        settled_at = _to_time(settle_when) if type(settle_when) is str else None
        if settled_at is None:
            return None
    if auth_at is None:
        return None
    return (
        txn_id, card_id, tx_type, V14_TXN_STATUS.get(raw_status, raw_status), direction,
        auth[1] or card_currency, trans[0], auth[0], settled[0], auth_at, settled_at, merchant,
        country, auth_code, failure, tx_type == "TopUp",
    )  # fmt: skip


_FAST_ROWS: dict[tuple[str, str], Callable[[dict[str, Any]], _FastRow | None]] = {
    ("transactions", V20): _fast_txn_v20,
    ("transactions", V14): _fast_txn_v14,
    ("account_logs", ""): _fast_account_log,
}


# -- the batch -------------------------------------------------------------------------
def normalize(
    stream: str, pages: Sequence[tuple[Lineage, Sequence[Any] | Mapping[str, Any]]]
) -> Normalized:
    """The canonical frame of one batch of ``stream`` (see the module docstring).

    A page is ``(lineage, items)``; for the snapshot streams ``items`` may be the reply's
    ``data`` itself (one object -> one row; the v1.4 accounts list -> one row per currency).
    Raises :class:`SchemaFailure` when a required field is unusable in every item of a page.
    """
    if stream not in COLUMNS:
        raise ValueError(f"unknown stream {stream!r}; expected one of {', '.join(STREAMS)}")
    batch = _Batch(stream)
    for lineage, payload in pages:
        if lineage.dialect not in (V20, V14):
            raise ValueError(f"unknown dialect {lineage.dialect!r}; expected v2.0 or v1.4")
        batch.add_page(lineage, _items(stream, lineage, payload))
    return batch.normalized()


class _Batch:
    """Column lists of one batch, filled item by item, turned into frames once."""

    def __init__(self, stream: str) -> None:
        self.stream = stream
        self.columns = COLUMNS[stream]
        self.content = [c for c in self.columns if c not in _PAGE_COLUMNS]
        self.records: list[Row] = []  # rows mapped through a reader; columns built once
        self.record_rows: list[int] = []  # ... and their row numbers
        self.fast_rows: list[_FastRow] = []  # fast rows, each with its row number last
        # the lineage and the _-columns, as lists
        self.cols: dict[str, list[Any]] = {
            name: [] for name in (*(c for c in self.columns if c in _PAGE_COLUMNS), *_EXTRA)
        }
        self.fees: dict[str, list[Any]] = {name: [] for name in (*FEE_ITEM_COLUMNS, "_row")}
        self.rows = 0

    def add_page(self, lineage: Lineage, items: Sequence[Any]) -> None:
        mapper: _Mapper = _lookup(_MAPPERS, self.stream, lineage.dialect)
        key_field: str = _lookup(_KEY_FIELD, self.stream, lineage.dialect)
        required: tuple[str, ...] = _lookup(_REQUIRED, self.stream, lineage.dialect)
        if lineage.order_type is not None:  # asked for by type: the reply may leave it out
            required = tuple(f for f in required if f != "orderType")
        page = _Page(required)
        fast = _FastReader(page.required)
        fast_row = _lookup(_FAST_ROWS, self.stream, lineage.dialect) if USE_FAST_READER else None
        cols = self.cols
        for item in items:
            if fast_row is not None and type(item) is dict:
                values = fast_row(item)
                if values is not None:  # the key field is plain text: it is the item key
                    page.objects += 1
                    page.fast += 1
                    self.fast_rows.append((*values, self.rows))
                    cols["_row"].append(self.rows)
                    cols["_item_key"].append(item[key_field])
                    cols["_raw"].append(raw_json(item))
                    cols["_problems"].append(None)
                    self.rows += 1
                    continue
            if isinstance(item, Mapping):
                page.objects += 1
                try:
                    if not USE_FAST_READER:
                        raise _SLOW
                    fast.item = item
                    row, problems = mapper(fast, lineage), _NO_PROBLEMS
                    page.fast += 1
                except _Slow:
                    reader = _Reader(page, item)
                    row, problems = mapper(reader, lineage), reader.problems
                key = item.get(key_field)
                item_key = str(key) if _is_text(key) or type(key) is int else None
            else:
                row, problems, item_key = {}, ["item: not an object"], None
            self._add_row(row, problems, item_key, item, lineage.run_id)
        _check_page(self.stream, lineage, page, len(items))
        lineage_values = (
            ("dialect", lineage.dialect),
            ("run_id", lineage.run_id),
            ("fetched_at", lineage.fetched_at),
            ("response_id", lineage.response_id),
            ("service_at", lineage.service_at),
        )
        for name, value in lineage_values:
            if name in self.cols:
                self.cols[name].extend([value] * len(items))

    def _add_row(
        self, row: Row, problems: list[str], item_key: str | None, item: Any, run_id: str
    ) -> None:
        cols = self.cols
        self.records.append(row or _DEFAULTS)
        self.record_rows.append(self.rows)
        cols["_row"].append(self.rows)
        cols["_item_key"].append(item_key)
        cols["_raw"].append(raw_json(item))
        cols["_problems"].append(_PROBLEM_SEPARATOR.join(problems) if problems else None)
        for no, (fee_type, amount, currency) in enumerate(row.get("_fee_items", ()), 1):
            for name, value in (
                ("account_log_id", row.get("account_log_id")),
                ("item_no", no),
                ("fee_type", fee_type),
                ("amount", amount),
                ("currency", currency),
                ("run_id", run_id),
                ("_row", self.rows),
            ):
                self.fees[name].append(value)
        self.rows += 1

    def normalized(self) -> Normalized:
        # one text column split once: a list column built from Python lists costs a
        # Series per row
        schema = {**self.columns, **_EXTRA, "_problems": _S}
        problems = pl.col("_problems")
        # rows -> frame in polars (Rust) from the row dicts: keys the schema lacks (such
        # as _fee_items) are ignored, absent keys are null
        content_schema = {c: self.columns[c] for c in self.content}
        content = pl.DataFrame(self.records, schema=content_schema).with_columns(
            pl.Series("_row", self.record_rows, dtype=pl.Int64())
        )
        if self.fast_rows:  # money arrives as exact text: one cast per column
            money = [c for c, t in content_schema.items() if t == MONEY]
            fast = pl.DataFrame(
                self.fast_rows,
                schema={
                    **{c: (_S if c in money else t) for c, t in content_schema.items()},
                    "_row": pl.Int64(),
                },
                orient="row",
            ).with_columns(pl.col(money).cast(MONEY))
            content = pl.concat([content, fast]).sort("_row")
        content = content.drop("_row")
        aliases = ENUM_ALIASES.get(self.stream, {})
        if aliases:
            content = content.with_columns(
                pl.col(column).replace(mapping) for column, mapping in aliases.items()
            )
        frame = (
            content.hstack(
                pl.DataFrame(self.cols, schema={name: schema[name] for name in self.cols})
            )
            .select(list(schema))
            .with_columns(
                pl.when(problems.is_null())
                .then(pl.lit([], dtype=_EXTRA["_problems"]))
                .otherwise(problems.str.split(_PROBLEM_SEPARATOR))
                .alias("_problems")
            )
        )
        fee_frame = None
        if self.stream == "card_account_logs":
            fee_frame = pl.DataFrame(self.fees, schema={**FEE_ITEM_COLUMNS, "_row": pl.Int64()})
        return Normalized(frame=frame, fee_items=fee_frame)


def _items(stream: str, lineage: Lineage, payload: Any) -> Sequence[Any]:
    if payload is None:
        return []
    if isinstance(payload, Mapping):
        return [payload]
    if isinstance(payload, Sequence) and not isinstance(payload, str | bytes):
        return payload
    raise SchemaFailure(
        stream,
        "data",
        f"the page is neither a list of items nor an object ({_show(payload)})",
        dialect=lineage.dialect,
        response_id=lineage.response_id,
    )


def _check_page(stream: str, lineage: Lineage, page: _Page, n_items: int) -> None:
    if n_items == 0:
        return
    if page.objects == 0:
        raise SchemaFailure(
            stream,
            "item",
            "no item of the page is a JSON object",
            dialect=lineage.dialect,
            response_id=lineage.response_id,
        )
    if page.fast:
        return
    for name in page.order:
        if page.usable[name]:
            continue
        problem = (
            f"field {name!r} has the wrong JSON type (or null) in every item of the page"
            if page.present[name]
            else f"field {name!r} is missing from every item of the page"
        )
        raise SchemaFailure(
            stream, name, problem, dialect=lineage.dialect, response_id=lineage.response_id
        )
