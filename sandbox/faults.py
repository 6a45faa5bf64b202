"""Fault injection for the sandbox: the ways a real service misbehaves, on purpose.

A ``FaultSpec`` says how often each fault happens; ``parse_faults`` reads one from
the ``--faults`` text (``"500=0.1,429=0.05,slow=0.02,seed=7"``); a ``FaultInjector``
makes the decisions for one running app, drawing from a ``random.Random(seed)`` once
per data call in arrival order, so a run with the same requests sees the same faults.

Kinds (at most one per request, chosen by a single draw against the cumulative rates):

* ``500``            answer 500 with the error envelope
* ``429``            answer 429 with ``Retry-After: retry_after``
* ``slow``           wait ``slow_seconds`` before answering normally
* ``malformed``      200, ``application/json``, the real body cut in half
* ``html``           200, ``text/html``, a proxy's error page
* ``repeat_item``    a paged list's later page starts with the previous page's last item
* ``repeat_cursor``  the transactions reply hands back the cursor it was given
* ``bad_item``       one transaction on the page cannot be trusted as a record: an amount
                     with three decimals, an unknown status, or no id (drawn in turn)
* ``schema_break``   every transaction on the page lacks its amount field (the API changed)
* ``conflict``       the page also carries a transaction from an earlier day whose
                     merchant differs from the copy that day's page serves

``revoke_after=N`` is not drawn: after the N-th data call every token issued so far
is revoked, once.
"""

from __future__ import annotations

import math
import random
from dataclasses import dataclass, fields

# The drawn kinds, in the order their rates are stacked for the single draw.
KINDS = (
    "500", "429", "slow", "malformed", "html", "repeat_item", "repeat_cursor", "bad_item",
    "schema_break", "conflict",
)  # fmt: skip
# --faults key -> FaultSpec field
_RATE_FIELDS = {
    "500": "error_500",
    "429": "error_429",
    "slow": "slow",
    "malformed": "malformed",
    "html": "html",
    "repeat_item": "repeat_item",
    "repeat_cursor": "repeat_cursor",
    "bad_item": "bad_item",
    "schema_break": "schema_break",
    "conflict": "conflict",
}
_INT_KEYS = ("revoke_after", "retry_after", "seed")
_FLOAT_KEYS = ("slow_seconds",)
KEYS = (*_RATE_FIELDS, *_INT_KEYS, *_FLOAT_KEYS)

# ``parse_faults("seed=7")`` with no fault named: the reliability mix.
DEFAULT_MIX: dict[str, float | int] = {
    "error_500": 0.10,
    "error_429": 0.05,
    "slow": 0.02,
    "revoke_after": 200,
}


@dataclass(frozen=True)
class FaultSpec:
    """How often each fault fires (rates in [0, 1], summing to at most 1)."""

    error_500: float = 0.0
    error_429: float = 0.0
    slow: float = 0.0
    malformed: float = 0.0
    html: float = 0.0
    repeat_item: float = 0.0
    repeat_cursor: float = 0.0
    bad_item: float = 0.0
    schema_break: float = 0.0
    conflict: float = 0.0
    revoke_after: int | None = None
    retry_after: int = 1
    slow_seconds: float = 5.0
    seed: int = 0

    def __post_init__(self) -> None:
        for key, name in _RATE_FIELDS.items():
            rate = getattr(self, name)
            if not (isinstance(rate, int | float) and math.isfinite(rate) and 0 <= rate <= 1):
                raise ValueError(f"{key}={rate!r}: a rate must be a number from 0 to 1")
        total = sum(self.rates().values())
        if total > 1 + 1e-9:
            raise ValueError(
                f"the fault rates add up to {total:g}; together they must be at most 1"
            )
        if self.revoke_after is not None and self.revoke_after < 1:
            raise ValueError(f"revoke_after={self.revoke_after}: must be a whole number >= 1")
        if self.retry_after < 0:
            raise ValueError(f"retry_after={self.retry_after}: must be whole seconds >= 0")
        if not (math.isfinite(self.slow_seconds) and self.slow_seconds >= 0):
            raise ValueError(f"slow_seconds={self.slow_seconds}: must be seconds >= 0")

    def rates(self) -> dict[str, float]:
        """``kind -> rate`` in draw order."""
        return {key: float(getattr(self, name)) for key, name in _RATE_FIELDS.items()}

    def as_dict(self) -> dict[str, float | int | None]:
        """The spec under its ``--faults`` key names (for ``/_sandbox/info``)."""
        names = {v: k for k, v in _RATE_FIELDS.items()}
        return {names.get(f.name, f.name): getattr(self, f.name) for f in fields(self)}


def parse_faults(text: str) -> FaultSpec:
    """Read ``key=value,...``; keys as in ``KEYS``; no fault named -> the default mix."""
    values: dict[str, float | int] = {}
    for raw in text.split(","):
        item = raw.strip()
        if not item:
            continue
        key, sep, value = (part.strip() for part in item.partition("="))
        if not sep or not value:
            raise ValueError(f"{item!r} is not key=value (keys: {', '.join(KEYS)})")
        if key not in KEYS:
            raise ValueError(f"unknown fault key {key!r}; use any of {', '.join(KEYS)}")
        name = _RATE_FIELDS.get(key, key)
        if name in values:
            raise ValueError(f"{key!r} is given twice")
        values[name] = _number(key, value)
    named = set(values) & {*_RATE_FIELDS.values(), "revoke_after"}
    if not named:
        values = {**DEFAULT_MIX, **values}
    return FaultSpec(**values)  # type: ignore[arg-type]


def _number(key: str, value: str) -> float | int:
    if key in _INT_KEYS:
        try:
            return int(value)
        except ValueError:
            raise ValueError(f"{key}={value!r}: must be a whole number") from None
    try:
        number = float(value)
    except ValueError:
        raise ValueError(f"{key}={value!r}: must be a number") from None
    if not math.isfinite(number):
        raise ValueError(f"{key}={value!r}: must be a finite number")
    return number


class FaultInjector:
    """The decisions for one app: one draw per data call, in arrival order."""

    def __init__(self, spec: FaultSpec) -> None:
        self.spec = spec
        self.rng = random.Random(spec.seed)
        self.data_calls = 0
        self.revoked = False
        self.bad_items = 0  # bad_item variants are served in turn
        self.fired: dict[str, int] = {}
        self._stack: list[tuple[float, str]] = []
        edge = 0.0
        for kind, rate in spec.rates().items():
            if rate > 0:
                edge += rate
                self._stack.append((edge, kind))

    def count_call(self) -> bool:
        """Count one data call; True when this call is the first after ``revoke_after``."""
        self.data_calls += 1
        limit = self.spec.revoke_after
        if limit is not None and not self.revoked and self.data_calls > limit:
            self.revoked = True
            self.record("revoke_after")
            return True
        return False

    def draw(self) -> str | None:
        """The fault for this call, or None."""
        u = self.rng.random()
        for edge, kind in self._stack:
            if u < edge:
                return kind
        return None

    def record(self, kind: str) -> None:
        self.fired[kind] = self.fired.get(kind, 0) + 1


HTML_ERROR_PAGE = (
    b"<html><head><title>502 Bad Gateway</title></head>"
    b"<body><h1>502 Bad Gateway</h1><p>The upstream server did not answer in time.</p>"
    b"<hr><center>nginx</center></body></html>"
)
