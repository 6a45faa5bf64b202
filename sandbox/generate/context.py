"""What every part of one generation shares: the size, the clock span, the random
streams, and the orders posted so far (each record kind adds its own)."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import UTC, datetime

import numpy as np

from sandbox.catalog import TENANT
from sandbox.model import Order


@dataclass(frozen=True)
class Size:
    cards: int
    txns: int
    days: int


SIZES: dict[str, Size] = {
    "tiny": Size(cards=10, txns=240, days=21),
    "small": Size(cards=60, txns=3_000, days=90),  # long enough to close a period 30 days ago
    "demo": Size(cards=300, txns=30_000, days=90),
    "large": Size(cards=5_000, txns=1_000_000, days=180),
}


class Builder:
    """One generation in progress.

    The record kinds draw from ``rng`` in a fixed order (cards, transactions, card logs,
    account logs), so a seed always gives the same world; the transaction kinds added
    later (follow-ups, verifications) draw from ``rng_more``, so adding them left every
    other part of a seed's world as it was.
    """

    def __init__(self, seed: int, size: str, spec: Size, start_ms: int, end_ms: int) -> None:
        self.seed = seed
        self.size = size
        self.spec = spec
        self.start = start_ms
        self.end = end_ms
        self.span = end_ms - start_ms
        self.rng = np.random.default_rng(seed)
        self.rng_more = np.random.default_rng([seed, 14])
        self.orders: dict[str, Order] = {}
        self._order_seq: dict[str, int] = {}

    def order_no(self, at_ms: int) -> str:
        """``C1000-YYYYMMDD-XXXX``: unique per day (7919 is coprime with 36**4)."""
        day = datetime.fromtimestamp(at_ms / 1000, UTC).strftime("%Y%m%d")
        n = self._order_seq.get(day, 0)
        self._order_seq[day] = n + 1
        offset = int(hashlib.sha256(f"{self.seed}:{day}".encode()).hexdigest()[:8], 16)
        suffix = np.base_repr((offset + n * 7919) % 36**4, 36).rjust(4, "0")
        return f"{TENANT}-{day}-{suffix}"

    def pick(self, n_total: int, frac: float, mask: np.ndarray | None = None) -> np.ndarray:
        """At least one (when any is eligible), else ``frac`` of the eligible indices."""
        eligible = np.arange(n_total) if mask is None else np.flatnonzero(mask)
        if len(eligible) == 0:
            return eligible
        k = max(1, round(frac * len(eligible)))
        return np.sort(self.rng.choice(eligible, size=min(k, len(eligible)), replace=False))


def round_up(cents: float, unit: int) -> int:
    return int(-(-int(np.ceil(cents)) // unit) * unit)


def round_down(cents: float, unit: int) -> int:
    return int(int(cents) // unit * unit)
