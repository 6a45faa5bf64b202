"""Row ids as the service writes them (ObjectId-like), deterministic per seed and tag."""

from __future__ import annotations

import hashlib

import numpy as np

WRITE_SALT = 0xFFFF << 40  # the salt of rows posted after generation (generated salts < 0x8000)


class Ids:
    """ObjectId-like ids: 8 hex digits of seconds, then a salted counter.

    Assigned in posting order, so within one millisecond the id order is the
    posting order (the ledger orders ties by id).
    """

    def __init__(self, seed: int, tag: str) -> None:
        digest = hashlib.sha256(f"{seed}:{tag}".encode()).digest()
        self.salt = (int.from_bytes(digest[:2], "big") & 0x7FFF) << 40
        self.next = 0

    def make(self, times_ms: np.ndarray) -> np.ndarray:
        n = len(times_ms)
        counters = self.salt + self.next + np.arange(n, dtype=np.int64)
        self.next += n
        secs = (np.asarray(times_ms, dtype=np.int64) // 1000).tolist()
        return np.array(
            [f"{s:08x}{c:016x}" for s, c in zip(secs, counters.tolist(), strict=True)],
            dtype=object,
        )
