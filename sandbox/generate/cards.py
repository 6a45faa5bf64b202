"""The customer's cards: models, currencies, numbers, and when each opened, was
cancelled or blocked."""

from __future__ import annotations

from datetime import UTC, datetime

import numpy as np

from sandbox.catalog import CURRENCIES, ORGANIZATIONS
from sandbox.generate.context import Builder
from sandbox.ids import Ids
from sandbox.model import DAY_MS, HOUR_MS, MINUTE_MS, NEVER, SHARE_BALANCE, STANDARD, Cards


def cards(b: Builder) -> Cards:
    n, rng = b.spec.cards, b.rng
    model = np.where(rng.random(n) < 0.6, STANDARD, SHARE_BALANCE).astype(object)
    currency = np.where(rng.random(n) < 0.8, CURRENCIES[0], CURRENCIES[1]).astype(object)
    # Every world has each (model, currency) pair: cover them with the first four cards.
    for i, (m, c) in enumerate(
        [(STANDARD, "USD"), (SHARE_BALANCE, "USD"), (STANDARD, "EUR"), (SHARE_BALANCE, "EUR")]
    ):
        if i < n:
            model[i], currency[i] = m, c
    is_std = model == STANDARD
    opened = b.start + HOUR_MS + (rng.random(n) * 0.5 * b.span).astype(np.int64)
    opened[: min(n, 4)] = b.start + HOUR_MS + np.arange(min(n, 4)) * MINUTE_MS
    cancelled = np.full(n, NEVER, dtype=np.int64)
    # Cancel some Standard cards (never the first four); their activity ends a week
    # before, so every authorisation has settled when the balance is paid out.
    cancel_idx = b.pick(n, 0.08, is_std & (np.arange(n) >= 4))
    opened[cancel_idx] = b.start + HOUR_MS + (rng.random(len(cancel_idx)) * 0.1 * b.span)
    cancelled[cancel_idx] = b.start + ((0.75 + 0.1 * rng.random(len(cancel_idx))) * b.span).astype(
        np.int64
    )
    blocked = np.full(n, NEVER, dtype=np.int64)
    block_idx = b.pick(n, 0.04, ~is_std & (np.arange(n) >= 4))
    blocked[block_idx] = b.end - (rng.random(len(block_idx)) * 2 * DAY_MS).astype(np.int64)

    ids = Ids(b.seed, "card").make(opened)
    numbers, cvvs, expiry = [], [], []
    for i in range(n):
        body = f"436797{rng.integers(0, 10**9):09d}"
        numbers.append(body + luhn_digit(body))
        cvvs.append(f"{rng.integers(100, 1000):03d}")
        open_dt = datetime.fromtimestamp(int(opened[i]) / 1000, UTC)
        expiry.append(f"{open_dt.month:02d}/{open_dt.year + 3}")
    max_auth = np.zeros(n, dtype=np.int64)
    max_credit = np.full(n, -1, dtype=np.int64)
    return Cards(
        id=[str(x) for x in ids],
        model=[str(x) for x in model],
        currency=[str(x) for x in currency],
        product_code=[
            "DGG0C4JD" if (m == SHARE_BALANCE or c != "USD") else "0BN03HNK"
            for m, c in zip(model, currency, strict=True)
        ],
        alias=[
            f"{'共享卡' if m == SHARE_BALANCE else '标准卡'}-{i + 1:04d}"
            for i, m in enumerate(model)
        ],
        number=numbers,
        cvv=cvvs,
        expiry=expiry,
        organization=[ORGANIZATIONS[i % 2] for i in range(n)],
        opened_at=opened,
        cancelled_at=cancelled,
        blocked_at=blocked,
        max_auth=max_auth,
        max_credit=max_credit,
        apply_order=[""] * n,
    )


def luhn_digit(body: str) -> str:
    """The check digit that makes ``body`` + it a valid card number."""
    total = 0
    for i, ch in enumerate(reversed(body)):
        d = int(ch)
        if i % 2 == 0:
            d *= 2
            if d > 9:
                d -= 9
        total += d
    return str((10 - total % 10) % 10)


def luhn_valid(number: str) -> bool:
    return number.isdigit() and luhn_digit(number[:-1]) == number[-1]
