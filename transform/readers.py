"""Reading the values of one item: exact JSON, amounts, times, and the two item readers.

A mapper (``transform.dialects``) reads an item's fields through :class:`Fields`:

* :class:`CarefulReader` reads any item. A value of the wrong JSON type, a time that does
  not parse, more than 9 decimals, ... becomes ``None`` plus a message in its
  ``problems`` (``"auth_amount: not a number ('abc')"``), and it counts, per required
  field of the page, the items that carry the field at all and with a usable type.
* :class:`FastReader` is its happy path: the same answers for an item whose fields are
  all in the plain form the API sends, a fraction of the work; on anything else it raises
  :class:`NotPlain` and the item is read again carefully.

Times are read with their offset (.NET style, up to 7 fractional digits) and converted to
UTC; digits beyond the microsecond are dropped (truncated, never rounded into the next
second or day). Amounts are exact ``Decimal``s that fit ``Decimal(38, 9)``.
"""

from __future__ import annotations

import json
import re
from collections import Counter
from collections.abc import Mapping
from datetime import UTC, datetime
from decimal import Context, Decimal
from typing import Any, Protocol

import orjson

__all__ = [
    "CarefulReader",
    "FastReader",
    "Fields",
    "NotPlain",
    "PageCounts",
    "is_plain",
    "is_plain_or_none",
    "is_text",
    "money_text",
    "raw_json",
    "show",
    "to_decimal",
    "to_time",
]

_MAX_DECIMALS = 9
_MAX_ADJUSTED = 27  # |amount| < 10**28 fits Decimal(38, 9)
_INT_LIMIT = 10 ** (_MAX_ADJUSTED + 1)
_WIDE = Context(prec=80)
_NUMBER = re.compile(r"[+-]?(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][+-]?\d+)?")
_MISSING: Any = object()
_PATHS: dict[str, tuple[str, ...]] = {}  # "cardInfo.cardId" -> ("cardInfo", "cardId")


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


def show(value: Any) -> str:
    """A value as a problem quotes it: short, and escaped (a problem holds no newline)."""
    text = repr(value) if isinstance(value, str) else raw_json(value)
    return text if len(text) <= 40 else text[:37] + "..."


def is_text(value: Any) -> bool:
    """A str that can be stored (UTF-8): not one holding a lone surrogate."""
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


def to_decimal(value: Any) -> Decimal | str:
    """A Decimal, or the problem (``"not a number ('abc')"``)."""
    d = _parse_number(value)
    if d is None or not d.is_finite():
        return f"not a number ({show(value)})"
    if d.is_zero():
        return Decimal(0)
    if d.adjusted() > _MAX_ADJUSTED:
        return f"too large ({show(value)})"
    n = d.normalize(_WIDE)
    if int(n.as_tuple().exponent) < -_MAX_DECIMALS:
        return f"more than {_MAX_DECIMALS} decimals"
    return n


def to_time(value: Any) -> datetime | None:
    """The time in UTC, or None when ``value`` is not one (the caller says why)."""
    if not is_text(value):
        return None
    try:
        dt = datetime.fromisoformat(value)
        if dt.tzinfo is None:  # the API writes UTC; a missing offset is read as UTC
            dt = dt.replace(tzinfo=UTC)
        return dt.astimezone(UTC)
    except (ValueError, OverflowError):
        return None


def is_plain(value: Any) -> bool:
    """Text in the form the API sends it: read without further questions."""
    return type(value) is str and value.isascii()


def is_plain_or_none(value: Any) -> bool:
    """An optional field that is absent, null or plain text."""
    return value is None or (type(value) is str and value.isascii())


def money_text(value: Any) -> str | None:
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


class PageCounts:
    """Counts, per required field of one page, the items carrying it at all and carrying it
    with the right JSON type (a string for a time, a number or string for an amount)."""

    def __init__(self, required: tuple[str, ...]) -> None:
        self.order = required
        self.required = frozenset(required)
        self.present: Counter[str] = Counter()
        self.usable: Counter[str] = Counter()
        self.objects = 0
        self.fast = 0  # items read by FastReader: every required field present and usable


class CarefulReader:
    """Reads the fields of one item, collecting the problems of this item."""

    def __init__(self, page: PageCounts, item: Mapping[str, Any]) -> None:
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
            if is_text(value):
                return value
        self.problem(name, f"not a string ({show(value)})")
        return None

    def money(self, name: str, path: str, node: Any = _MISSING) -> Decimal | None:
        value = self.get(path, node)
        if value is None:
            return None
        if isinstance(value, Decimal | int | float | str) and not isinstance(value, bool):
            self._usable(path)  # the JSON type is right; the value may still be wrong
        d = to_decimal(value)
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
        t = to_time(value)
        if t is None:
            self.problem(name, f"not a timestamp ({show(value)})")
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


class NotPlain(Exception):
    """Raised by :class:`FastReader` when an item needs the careful reader."""


_NOT_PLAIN = NotPlain()


class FastReader:
    """The happy path of :class:`CarefulReader`: same answers, a fraction of the work.

    It accepts a field only in the plain form the API sends (a str that is ASCII, a
    number parsed as ``Decimal``/``int`` that fits, a parseable timestamp, a dict) and
    raises :class:`NotPlain` for anything else — a wrong type, a bad value, or a required
    field that is absent or null — so the item is read again by :class:`CarefulReader`,
    which records the problems and the page counters. Whatever it returns is what
    ``CarefulReader`` returns for the same item with no problems, so an item read here has
    every required field present and usable (the page's counters need not look at it).
    """

    __slots__ = ("item", "required")

    def __init__(self, required: frozenset[str]) -> None:
        self.required = required
        self.item: Mapping[str, Any] = {}

    @property
    def problems(self) -> list[str]:
        return []

    def problem(self, name: str, text: str) -> None:
        raise _NOT_PLAIN

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
                    raise _NOT_PLAIN
                value = value.get(part)
        if value is None and path in self.required:
            raise _NOT_PLAIN
        return value

    def get(self, path: str, node: Any = _MISSING) -> Any:
        if path in self.required:  # CarefulReader counts it as present, not usable
            raise _NOT_PLAIN
        return self._dig(path, node)

    def text(self, name: str, path: str, node: Any = _MISSING) -> str | None:
        value = self._dig(path, node)
        if value is None or (type(value) is str and value.isascii()):
            return value
        raise _NOT_PLAIN

    def money(self, name: str, path: str, node: Any = _MISSING) -> Decimal | None:
        value = self._dig(path, node)
        if value is None:
            return None
        kind = type(value)
        if kind is Decimal:
            # what to_decimal keeps, without normalising (the same number in the frame)
            if (
                value.is_finite()
                and value.adjusted() <= _MAX_ADJUSTED
                and int(value.as_tuple().exponent) >= -_MAX_DECIMALS
            ):
                plain: Decimal = value
                return plain
        elif kind is int and -_INT_LIMIT < value < _INT_LIMIT:
            return Decimal(value)
        raise _NOT_PLAIN

    def time(self, name: str, path: str, node: Any = _MISSING) -> datetime | None:
        value = self._dig(path, node)
        if value is None:
            return None
        t = to_time(value) if type(value) is str else None
        if t is None:
            raise _NOT_PLAIN
        return t

    def obj(self, name: str, path: str, node: Any = _MISSING) -> Mapping[str, Any] | None:
        value = self._dig(path, node)
        if value is None or type(value) is dict:
            return value
        raise _NOT_PLAIN

    def money_obj(
        self, name: str, path: str, node: Any = _MISSING
    ) -> tuple[Decimal | None, str | None]:
        value = self._dig(path, node)
        if value is None:
            return None, None
        if type(value) is not dict:
            raise _NOT_PLAIN
        return self.money(name, f"{path}.amount", node), self.text(
            "currency", f"{path}.currency", node
        )


def _bad(node: Any) -> Any:
    raise _NOT_PLAIN


class Fields(Protocol):
    """What a mapper reads an item through: :class:`CarefulReader` or :class:`FastReader`."""

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
