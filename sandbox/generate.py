"""Generate a deterministic cardepass customer from a seed, vectorised with numpy.

The world is posted exactly as RECONCILIATION.md's money model says, so that a clean
world reconciles with zero error breaks:

* Standard cards are funded by ApplyCard / CardTopUp orders (card log Income
  ``+transAmount``; account log ``-(principal + fee)``), drained by CardWithdraw /
  CardCancel (card log Expenditure ``-totalAmount``; account log ``+transAmount``).
* ShareBalance cards hold nothing: their spending is posted to the account ledger,
  each entry with ``orderNo`` = the transaction id. Only a Consume holds: AuthHold at
  authorisation, AuthRelease + Consume at settlement. Every other settled type posts
  one settlement entry of its own type (ConsumeRefund, ConsumeReversal,
  ConsumeRefundReversal, ConsumeDispute, DisputeRelease, TransFee), signed by its
  direction, when it settles (at once: they have no authorisation stage). An AuthQuery
  posts nothing.
* Every transaction's effect on its card follows the one rule of the model
  (authorised Expenditure ``-auth``, settled ``±settled``, failed 0; an AuthQuery, a
  zero-amount verification that never settles, 0).
* Every type of the v1.4 reference occurs in every world, on both card models: a
  ConsumeReversal (Income) or ConsumeDispute (Income: the disputed money credited back)
  follows a settled Consume, a DisputeRelease (Expenditure: the dispute lost, the credit
  taken back) follows a ConsumeDispute, a ConsumeRefundReversal (Expenditure) follows a
  ConsumeRefund — on the same card, after it, for at most its amount — but each is a
  record of its own that changes nothing in the one it follows.

Funding is sized from each card's own spending (every Expenditure kind, at the larger
of its auth and settled amounts; Income is never counted on) so no Standard balance and
no account balance ever goes negative. Sizes: ``tiny`` (unit tests), ``small``, ``demo``
and ``large``.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import UTC, datetime

import numpy as np

from sandbox.model import (
    AL,
    APPLY_CARD,
    AUTH_QUERY,
    CARD_CANCEL,
    CARD_LOG_INCOME,
    CARD_TOPUP,
    CARD_WITHDRAW,
    CONSUME,
    CONSUME_DISPUTE,
    CONSUME_REFUND_REVERSAL,
    DAY_MS,
    DECLINED,
    DISPUTE_RELEASE,
    HOUR_MS,
    MINUTE_MS,
    NEVER,
    NO_FEE,
    REFUND,
    REVERSAL,
    SHARE_BALANCE,
    STANDARD,
    TOPUP,
    TRANS_FEE,
    TXN_DIRECT,
    TXN_INCOME,
    TXN_NO_EFFECT,
    TXN_SETTLEMENT,
    AccountLogs,
    CardLogs,
    Cards,
    Order,
    Txns,
)


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

# Beside a size's transactions (purchases, declines, refunds and fees), shares of it that
# follow an earlier one (reversals 3%, disputes 1.2%, their releases 0.6%, refund
# reversals 0.6%) and card verifications (1.5%). Every world has at least MIN_PER_MODEL
# of each of these kinds on each card model (where it has parents for them).
AUTH_QUERY_SHARE = 0.015
MIN_PER_MODEL = 2

PRODUCTS = (
    {
        "productCode": "DGG0C4JD",
        "productName": "通用卡",
        "cardModels": ["ShareBalance", "Standard"],
        "cardCurrency": ["USD", "EUR"],
        "description": "通用卡-测试使用",
    },
    {
        "productCode": "0BN03HNK",
        "productName": "通用测试2卡",
        "cardModels": ["Standard"],
        "cardCurrency": ["USD"],
        "description": "通用测试2卡",
    },
)
CURRENCIES = ("USD", "EUR")  # the first is the account's primary currency (v2.0 shows only it)
TENANT = "C1000"

MERCHANTS = (
    ("Amazon.com", "US", "Seattle", "WA", "98109"),
    ("Google Ads", "US", "Mountain View", "CA", "94043"),
    ("Facebook Ads", "IE", "Dublin", "", "D02"),
    ("AWS", "US", "Seattle", "WA", "98109"),
    ("Shopify", "CA", "Ottawa", "ON", "K2P"),
    ("Uber", "US", "San Francisco", "CA", "94103"),
    ("Airbnb", "US", "San Francisco", "CA", "94103"),
    ("Booking.com", "NL", "Amsterdam", "", "1017"),
    ("Zalando", "DE", "Berlin", "", "10243"),
    ("Spotify", "SE", "Stockholm", "", "11153"),
    ("Netflix", "US", "Los Gatos", "CA", "95032"),
    ("Microsoft Azure", "US", "Redmond", "WA", "98052"),
    ("TikTok Ads", "SG", "Singapore", "", "048583"),
    ("Alibaba Cloud", "SG", "Singapore", "", "068811"),
    ("Lufthansa", "DE", "Cologne", "", "50679"),
    ("Apple.com", "US", "Cupertino", "CA", "95014"),
)
FAILURE_REASONS = (
    ("Insufficient balance", "余额不足"),
    ("Exceeds single transaction limit", "超出单笔限额"),
    ("Invalid CVV", "CVV错误"),
    ("Card blocked", "卡已冻结"),
)
ORGANIZATIONS = ("Mastercard", "VISA")


@dataclass
class Generated:
    """Everything the generator posts; ``sandbox.world.World`` serves it."""

    seed: int
    size: str
    start_ms: int
    end_ms: int
    cards: Cards
    txns: Txns
    card_logs: CardLogs
    account_logs: AccountLogs
    orders: dict[str, Order]


def default_end() -> datetime:
    """The world ends now (to the minute), so open holds are recent, not stale."""
    now = datetime.now(UTC)
    return now.replace(second=0, microsecond=0)


def generate(seed: int = 1, size: str = "tiny", end: datetime | None = None) -> Generated:
    """Build a consistent world of ``size`` ending at ``end`` (default: now)."""
    if size not in SIZES:
        raise ValueError(f"unknown size {size!r}; choose one of {', '.join(SIZES)}")
    spec = SIZES[size]
    end_dt = end or default_end()
    if end_dt.tzinfo is None:
        end_dt = end_dt.replace(tzinfo=UTC)
    end_ms = int(end_dt.timestamp() * 1000)
    start_ms = end_ms - spec.days * DAY_MS
    return _Builder(seed, size, spec, start_ms, end_ms).build()


class _Ids:
    """ObjectId-like ids: 8 hex digits of seconds, then a salted counter.

    Assigned in posting order, so within one millisecond the id order is the
    posting order (the ledger orders ties by id).
    """

    def __init__(self, seed: int, tag: str) -> None:
        digest = hashlib.sha256(f"{seed}:{tag}".encode()).digest()
        self.salt = (int.from_bytes(digest[:2], "big") & 0x7FFF) << 40  # writes use 0xFFFF
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


class _Builder:
    def __init__(self, seed: int, size: str, spec: Size, start_ms: int, end_ms: int) -> None:
        self.seed = seed
        self.size = size
        self.spec = spec
        self.start = start_ms
        self.end = end_ms
        self.span = end_ms - start_ms
        self.rng = np.random.default_rng(seed)
        # the transaction kinds added later (follow-ups, verifications) draw from their own
        # stream, so adding them left every other part of a seed's world as it was
        self.rng_more = np.random.default_rng([seed, 14])
        self.orders: dict[str, Order] = {}
        self._order_seq: dict[str, int] = {}

    # -- helpers -------------------------------------------------------------------
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

    # -- the world -----------------------------------------------------------------
    def build(self) -> Generated:
        cards = self.cards()
        txns = self.transactions(cards)
        card_logs = self.card_logs(cards, txns)
        txns = self.with_topup_mirrors(txns, card_logs)
        account_logs = self.account_logs(cards, txns, card_logs)
        return Generated(
            seed=self.seed,
            size=self.size,
            start_ms=self.start,
            end_ms=self.end,
            cards=cards,
            txns=txns,
            card_logs=card_logs,
            account_logs=account_logs,
            orders=self.orders,
        )

    def cards(self) -> Cards:
        n, rng = self.spec.cards, self.rng
        model = np.where(rng.random(n) < 0.6, STANDARD, SHARE_BALANCE).astype(object)
        currency = np.where(rng.random(n) < 0.8, CURRENCIES[0], CURRENCIES[1]).astype(object)
        # Every world has each (model, currency) pair: cover them with the first four cards.
        for i, (m, c) in enumerate(
            [(STANDARD, "USD"), (SHARE_BALANCE, "USD"), (STANDARD, "EUR"), (SHARE_BALANCE, "EUR")]
        ):
            if i < n:
                model[i], currency[i] = m, c
        is_std = model == STANDARD
        opened = self.start + HOUR_MS + (rng.random(n) * 0.5 * self.span).astype(np.int64)
        opened[: min(n, 4)] = self.start + HOUR_MS + np.arange(min(n, 4)) * MINUTE_MS
        cancelled = np.full(n, NEVER, dtype=np.int64)
        # Cancel some Standard cards (never the first four); their activity ends a week
        # before, so every authorisation has settled when the balance is paid out.
        cancel_idx = self.pick(n, 0.08, is_std & (np.arange(n) >= 4))
        opened[cancel_idx] = self.start + HOUR_MS + (rng.random(len(cancel_idx)) * 0.1 * self.span)
        cancelled[cancel_idx] = self.start + (
            (0.75 + 0.1 * rng.random(len(cancel_idx))) * self.span
        ).astype(np.int64)
        blocked = np.full(n, NEVER, dtype=np.int64)
        block_idx = self.pick(n, 0.04, ~is_std & (np.arange(n) >= 4))
        blocked[block_idx] = self.end - (rng.random(len(block_idx)) * 2 * DAY_MS).astype(np.int64)

        ids = _Ids(self.seed, "card").make(opened)
        numbers, cvvs, expiry = [], [], []
        for i in range(n):
            body = f"436797{rng.integers(0, 10**9):09d}"
            numbers.append(body + _luhn_digit(body))
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

    def transactions(self, cards: Cards) -> Txns:
        """The cards' transactions: purchases (some declined, some still on hold), refunds
        and fees; then records that follow an earlier one of the same card (reversals,
        dispute credits and their releases, refund reversals) and card verifications.

        The first part draws from the world's random stream exactly as it did before the
        later kinds existed (so the rest of a seed's world keeps its shape); the later
        kinds draw from a stream of their own."""
        n, rng = self.spec.txns, self.rng
        n_cards = len(cards)
        weights = rng.lognormal(0.0, 0.8, n_cards)
        card = rng.choice(n_cards, size=n, p=weights / weights.sum()).astype(np.int32)
        # every card has some activity
        card[: min(n, n_cards)] = np.arange(min(n, n_cards))
        lo, hi = self._activity_window(cards)
        auth_at = lo[card] + (rng.random(n) * (hi[card] - lo[card])).astype(np.int64)

        kind = rng.choice(
            [CONSUME, DECLINED, REFUND, REVERSAL, TRANS_FEE],
            size=n,
            p=[0.78, 0.05, 0.07, 0.03, 0.07],
        ).astype(np.int8)
        # a reversal follows a purchase (see _follow_ups): this draw's slot is a purchase
        kind[kind == REVERSAL] = CONSUME
        auth = np.clip(np.round(rng.lognormal(np.log(3000), 1.0, n)), 50, 500_000)
        small = np.clip(np.round(rng.lognormal(np.log(1500), 0.8, n)), 20, 100_000)
        fee = np.clip(np.round(rng.lognormal(np.log(50), 0.6, n)), 1, 2_000)
        auth_cents = np.where(kind == REFUND, small, np.where(kind == TRANS_FEE, fee, auth)).astype(
            np.int64
        )

        settle_at = np.full(n, NEVER, dtype=np.int64)
        is_consume = kind == CONSUME
        delay = (DAY_MS + rng.random(n) * 4 * DAY_MS).astype(np.int64)
        settle_at[is_consume] = auth_at[is_consume] + delay[is_consume]
        settle_at[is_consume & (settle_at > self.end)] = NEVER  # still an open hold
        direct = np.isin(kind, TXN_DIRECT)
        settle_at[direct] = auth_at[direct]

        settled_cents = auth_cents.copy()
        varies = is_consume & (rng.random(n) < 0.15)
        factor = 0.85 + 0.3 * rng.random(n)
        settled_cents[varies] = np.maximum(1, np.round(auth_cents[varies] * factor[varies]))

        failure = np.full(n, -1, dtype=np.int8)
        declined = kind == DECLINED
        failure[declined] = rng.integers(0, len(FAILURE_REASONS), declined.sum())
        cols = {
            "card": card,
            "kind": kind,
            "auth_at": auth_at,
            "settle_at": settle_at,
            "auth_cents": auth_cents,
            "settled_cents": settled_cents,
            "merchant": rng.integers(0, len(MERCHANTS), n).astype(np.int16),
            "auth_code": rng.integers(0, 10**6, n),
            "failure": failure,
        }
        cols = _concat_cols(cols, self._follow_ups(cards, cols, hi))
        cols = _concat_cols(cols, self._auth_queries(cards, lo, hi))

        m = len(cols["kind"])
        order = np.lexsort((np.arange(m), cols["auth_at"]))
        txns = Txns(
            id=np.empty(0, dtype=object),
            card=cols["card"][order].astype(np.int32),
            kind=cols["kind"][order].astype(np.int8),
            auth_at=cols["auth_at"][order],
            settle_at=cols["settle_at"][order],
            auth_cents=cols["auth_cents"][order],
            settled_cents=cols["settled_cents"][order],
            merchant=cols["merchant"][order].astype(np.int16),
            auth_code=np.array([f"{x:06d}" for x in cols["auth_code"][order]], dtype=object),
            failure=cols["failure"][order].astype(np.int8),
            order_no=np.full(m, "", dtype=object),
        )
        txns.id = _Ids(self.seed, "txn").make(txns.auth_at)
        self._set_share_balance_limits(cards, txns)
        return txns

    def _activity_window(self, cards: Cards) -> tuple[np.ndarray, np.ndarray]:
        """Per card, when it may transact: from an hour after opening to the world's end,
        a week before its cancellation (so all has settled when it is paid out), or the
        moment it was blocked."""
        lo = cards.opened_at + HOUR_MS
        hi = np.where(cards.cancelled_at == NEVER, self.end, cards.cancelled_at - 6 * DAY_MS)
        hi = np.where(cards.blocked_at != NEVER, cards.blocked_at, hi)
        return lo, hi

    def _follow_ups(
        self, cards: Cards, base: dict[str, np.ndarray], hi: np.ndarray
    ) -> dict[str, np.ndarray]:
        """Settled records that follow an earlier settled one of the same card, after it
        and for at most its amount: a ConsumeReversal or a ConsumeDispute after a Consume
        (never both for one), a DisputeRelease after a ConsumeDispute, a
        ConsumeRefundReversal after a ConsumeRefund. Each is a record of its own: the one
        it follows does not change."""
        n_total = self.spec.txns
        settled_consume = (base["kind"] == CONSUME) & (base["settle_at"] != NEVER)
        parts = []
        reversal, used = self._follow(
            cards, base, hi, settled_consume, REVERSAL, 0.03 * n_total, 10 * MINUTE_MS, 2 * DAY_MS
        )
        parts.append(reversal)
        disputable = settled_consume.copy()
        disputable[used] = False
        # a dispute leaves an hour before its card's activity ends, for its release
        dispute, _ = self._follow(
            cards,
            base,
            hi - HOUR_MS,
            disputable,
            CONSUME_DISPUTE,
            0.012 * n_total,
            DAY_MS,
            10 * DAY_MS,
        )
        parts.append(dispute)
        release, _ = self._follow(
            cards,
            dispute,
            hi,
            np.ones(len(dispute["kind"]), dtype=bool),
            DISPUTE_RELEASE,
            0.006 * n_total,
            HOUR_MS,
            7 * DAY_MS,
        )
        parts.append(release)
        refund_reversal, _ = self._follow(
            cards,
            base,
            hi,
            base["kind"] == REFUND,
            CONSUME_REFUND_REVERSAL,
            0.006 * n_total,
            HOUR_MS,
            3 * DAY_MS,
        )
        parts.append(refund_reversal)
        out = parts[0]
        for p in parts[1:]:
            out = _concat_cols(out, p)
        return out

    def _follow(
        self,
        cards: Cards,
        parents: dict[str, np.ndarray],
        hi: np.ndarray,
        eligible: np.ndarray,
        kind: int,
        target: float,
        min_delay: int,
        max_delay: int,
    ) -> tuple[dict[str, np.ndarray], np.ndarray]:
        """About ``target`` records of ``kind``, each following one ``eligible`` parent
        (settled, with room before its card's activity ends) by ``min_delay`` to
        ``max_delay``; at least ``MIN_PER_MODEL`` on each card model when parents allow.
        Returns the records and the parent rows used."""
        rng = self.rng_more
        p_card = parents["card"]
        p_time = parents["settle_at"]
        room = hi[p_card] - p_time
        ok = eligible & (p_time != NEVER) & (room >= min_delay)
        is_sb = np.array([m == SHARE_BALANCE for m in cards.model])
        chosen = []
        n_ok = max(1, int(ok.sum()))
        for model_mask in (~is_sb[p_card], is_sb[p_card]):
            cands = np.flatnonzero(ok & model_mask)
            k = max(MIN_PER_MODEL, round(target * len(cands) / n_ok))
            chosen.append(_spread(rng, cands, p_card, min(k, len(cands))))
        rows = np.sort(np.concatenate(chosen)).astype(np.int64)
        m = len(rows)
        span = np.minimum(max_delay, room[rows]) - min_delay
        at = p_time[rows] + min_delay + (rng.random(m) * span).astype(np.int64)
        amount = parents["settled_cents"][rows]
        partial = rng.random(m) < 0.3
        share = 0.2 + 0.75 * rng.random(m)
        amount = np.where(partial, np.maximum(1, np.round(amount * share)), amount)
        cents = amount.astype(np.int64)
        return {
            "card": p_card[rows],
            "kind": np.full(m, kind, dtype=np.int8),
            "auth_at": at,
            "settle_at": at.copy(),
            "auth_cents": cents,
            "settled_cents": cents.copy(),
            "merchant": parents["merchant"][rows],
            "auth_code": rng.integers(0, 10**6, m),
            "failure": np.full(m, -1, dtype=np.int8),
        }, rows

    def _auth_queries(self, cards: Cards, lo: np.ndarray, hi: np.ndarray) -> dict[str, np.ndarray]:
        """Zero-amount card verifications (AuthQuery): authorised, never settled, holding
        nothing; spread over the cards' lives, so many are older than any stale limit."""
        rng = self.rng_more
        is_sb = np.array([m == SHARE_BALANCE for m in cards.model])
        live = hi > lo
        target = AUTH_QUERY_SHARE * self.spec.txns
        picked = []
        for model_mask in (~is_sb, is_sb):
            cands = np.flatnonzero(live & model_mask)
            if len(cands) == 0:
                continue
            k = max(MIN_PER_MODEL, round(target * len(cands) / max(1, int(live.sum()))))
            picked.append(np.resize(rng.permutation(cands), k))  # distinct cards first
        card = np.sort(np.concatenate(picked) if picked else np.empty(0, np.int64))
        card = card.astype(np.int32)
        m = len(card)
        at = lo[card] + (rng.random(m) * (hi[card] - lo[card])).astype(np.int64)
        zero = np.zeros(m, dtype=np.int64)
        return {
            "card": card,
            "kind": np.full(m, AUTH_QUERY, dtype=np.int8),
            "auth_at": at,
            "settle_at": np.full(m, NEVER, dtype=np.int64),
            "auth_cents": zero,
            "settled_cents": zero.copy(),
            "merchant": rng.integers(0, len(MERCHANTS), m).astype(np.int16),
            "auth_code": rng.integers(0, 10**6, m),
            "failure": np.full(m, -1, dtype=np.int8),
        }

    def _set_share_balance_limits(self, cards: Cards, txns: Txns) -> None:
        n_cards = len(cards)
        spend = ~is_income_txn(txns.kind) & (txns.kind != DECLINED)
        biggest = np.maximum(txns.auth_cents, txns.settled_cents)
        total = np.bincount(txns.card, weights=np.where(spend, biggest, 0), minlength=n_cards)
        top = np.zeros(n_cards, dtype=np.int64)
        np.maximum.at(top, txns.card, np.where(txns.kind == DECLINED, 0, txns.auth_cents))
        for i in range(n_cards):
            if cards.model[i] == SHARE_BALANCE:
                cards.max_auth[i] = _round_up(top[i] * 1.2 + 5_000, 10_000)
                # a third of the cards have no total limit (null); the rest a limit that
                # their whole spending stays under, so the clean world exceeds none
                if self.rng.random() < 0.66:
                    cards.max_credit[i] = _round_up(total[i] * 1.3 + 10_000, 10_000)

    def card_logs(self, cards: Cards, txns: Txns) -> CardLogs:
        """Fund Standard cards from their own spending, then withdraw and cancel some."""
        rng, n_cards = self.rng, len(cards)
        is_std = np.array([m == STANDARD for m in cards.model])
        spend = ~is_income_txn(txns.kind) & (txns.kind != DECLINED)
        debit = np.where(spend, np.maximum(txns.auth_cents, txns.settled_cents), 0)
        act_end = np.where(cards.cancelled_at == NEVER, self.end, cards.cancelled_at - 6 * DAY_MS)
        mid = cards.opened_at + (act_end - cards.opened_at) // 2
        before = txns.auth_at < mid[txns.card]
        s1 = np.bincount(txns.card, weights=np.where(before, debit, 0), minlength=n_cards)
        s2 = np.bincount(txns.card, weights=np.where(before, 0, debit), minlength=n_cards)

        rows: list[
            tuple[int, int, int, int, int, int, bool]
        ] = []  # card, kind, cents, at, done, fee, failed

        def fund(c: int, kind: int, cents: int, at: int, done: int, failed: bool = False) -> None:
            rows.append((c, kind, cents, at, done, 0, failed))

        for c in map(int, np.flatnonzero(is_std)):
            principal = _round_up(s1[c] * 1.15 + 2_000, 100)
            top_up = _round_up(s2[c] * 1.15 + 2_000, 100)
            fund(c, APPLY_CARD, principal, cards.opened_at[c] - 40_000, cards.opened_at[c])
            at = int(mid[c]) - HOUR_MS
            fund(c, CARD_TOPUP, top_up, at, at + 30_000)
        # extra top-ups, a failed one, one still pending at the end
        for c in map(int, self.pick(n_cards, 0.3, is_std)):
            at = int(cards.opened_at[c] + rng.random() * (act_end[c] - cards.opened_at[c]))
            fund(c, CARD_TOPUP, int(rng.integers(50, 500)) * 100, at, at + 20_000)
        for c in map(int, self.pick(n_cards, 0.03, is_std)):
            at = int(cards.opened_at[c] + rng.random() * (act_end[c] - cards.opened_at[c]))
            fund(c, CARD_TOPUP, int(rng.integers(50, 500)) * 100, at, NEVER, failed=True)
        live_std = is_std & (cards.cancelled_at == NEVER)
        for c in self.pick(n_cards, 0.01, live_std):
            fund(int(c), CARD_TOPUP, 10_000, self.end - 10 * MINUTE_MS, NEVER)  # pending at end

        # Withdraw part of the funding slack after the mid-life top-up: the card's
        # balance stays >= 0.15 * spending + 40.00 throughout, so this never overdraws.
        for c in map(int, self.pick(n_cards, 0.2, live_std)):
            amount = _round_down(0.1 * (s1[c] + s2[c]) + 2_000, 100)
            at = int(mid[c] + (0.05 + 0.85 * rng.random()) * (act_end[c] - mid[c]))
            rows.append((c, CARD_WITHDRAW, amount, at, at + 45_000, 100, False))

        logs = self._card_log_table(rows, cards)
        # Cancel: pay out the whole balance, all of the card's transactions long settled.
        cancel_rows = []
        for c in map(int, np.flatnonzero(cards.cancelled_at != NEVER)):
            balance = _card_balance(c, int(cards.cancelled_at[c]) - 60_000, logs, txns)
            fee = min(100, balance)
            cancel_rows.append(
                (
                    c,
                    CARD_CANCEL,
                    balance - fee,
                    int(cards.cancelled_at[c]) - 60_000,
                    int(cards.cancelled_at[c]),
                    fee,
                    False,
                )
            )
        if cancel_rows:
            logs = _concat_card_logs(logs, self._card_log_table(cancel_rows, cards))
        return _sort_card_logs(logs, self.seed)

    def _card_log_table(
        self, rows: list[tuple[int, int, int, int, int, int, bool]], cards: Cards
    ) -> CardLogs:
        n = len(rows)
        card = np.array([r[0] for r in rows], dtype=np.int32)
        kind = np.array([r[1] for r in rows], dtype=np.int8)
        trans = np.array([r[2] for r in rows], dtype=np.int64)
        at = np.array([r[3] for r in rows], dtype=np.int64)
        done = np.array([r[4] for r in rows], dtype=np.int64)
        fixed_fee = np.array([r[5] for r in rows], dtype=np.int64)
        failed = np.array([r[6] for r in rows], dtype=bool)
        fee1_type = np.full(n, NO_FEE, dtype=np.int8)
        fee1 = np.zeros(n, dtype=np.int64)
        fee2_type = np.full(n, NO_FEE, dtype=np.int8)
        fee2 = np.zeros(n, dtype=np.int64)
        topup_fee = np.maximum(10, np.round(trans * 0.01)).astype(np.int64)
        apply = kind == APPLY_CARD
        fee1_type[apply], fee1[apply] = 0, 100  # OpenCardFee 1.00
        fee2_type[apply], fee2[apply] = 1, topup_fee[apply]  # TopUpFee 1%
        top = kind == CARD_TOPUP
        fee1_type[top], fee1[top] = 1, topup_fee[top]
        wd = kind == CARD_WITHDRAW
        fee1_type[wd], fee1[wd] = 2, fixed_fee[wd]  # CardWithdrawFee
        cc = kind == CARD_CANCEL
        fee1_type[cc], fee1[cc] = 3, fixed_fee[cc]  # CancelCardFee
        total_fee = fee1 + fee2
        order_nos = []
        for i in range(n):
            no = self.order_no(int(at[i]))
            order_nos.append(no)
            c = int(card[i])
            if kind[i] == APPLY_CARD:
                cards.apply_order[c] = no
        logs = CardLogs(
            id=np.empty(n, dtype=object),
            order_no=np.array(order_nos, dtype=object),
            card=card,
            kind=kind,
            trans_cents=trans,
            fee1_type=fee1_type,
            fee1_cents=fee1,
            fee2_type=fee2_type,
            fee2_cents=fee2,
            total_fee_cents=total_fee,
            total_cents=trans + total_fee,
            trans_at=at,
            completed_at=done,
            failed=failed,
        )
        for i in range(n):
            self.orders[order_nos[i]] = _standard_order(logs, i, cards, self.rng)
        return logs

    def with_topup_mirrors(self, txns: Txns, logs: CardLogs) -> Txns:
        """Add the v2.0 ``TopUp`` transaction that mirrors each CardTopUp card log."""
        sel = np.flatnonzero((logs.kind == CARD_TOPUP) & ~logs.failed)
        m = len(sel)
        mirror = Txns(
            id=np.empty(m, dtype=object),
            card=logs.card[sel],
            kind=np.full(m, TOPUP, dtype=np.int8),
            auth_at=logs.trans_at[sel],
            settle_at=logs.completed_at[sel],
            auth_cents=logs.trans_cents[sel],
            settled_cents=logs.trans_cents[sel],
            merchant=np.zeros(m, dtype=np.int16),
            auth_code=np.full(m, "", dtype=object),
            failure=np.full(m, -1, dtype=np.int8),
            order_no=logs.order_no[sel],
        )
        mirror.id = _Ids(self.seed, "topup").make(mirror.auth_at)
        merged = _concat_txns(txns, mirror)
        order = np.lexsort((merged.id.astype(str), merged.auth_at))
        merged = _take_txns(merged, order)
        return merged

    def account_logs(self, cards: Cards, txns: Txns, logs: CardLogs) -> AccountLogs:
        rng = self.rng
        parts: list[dict[str, np.ndarray]] = []
        card_cur = np.array(cards.currency, dtype=object)
        is_sb = np.array([m == SHARE_BALANCE for m in cards.model])

        def part(
            kind: int | np.ndarray,
            cents: np.ndarray,
            at: np.ndarray,
            order_no: np.ndarray,
            card: np.ndarray,
            currency: np.ndarray,
            tiebreak: int,
        ) -> None:
            n = len(cents)
            parts.append(
                {
                    "kind": np.broadcast_to(np.asarray(kind, dtype=np.int8), (n,)).copy(),
                    "cents": np.asarray(cents, dtype=np.int64),
                    "at": np.asarray(at, dtype=np.int64),
                    "order_no": np.asarray(order_no, dtype=object),
                    "card": np.asarray(card, dtype=np.int32),
                    "currency": np.asarray(currency, dtype=object),
                    "tiebreak": np.full(n, tiebreak, dtype=np.int8),
                }
            )

        # Standard card funding: one entry per completed card log, at completion.
        done = (logs.completed_at != NEVER) & ~logs.failed
        inc = is_income_card_log(logs.kind)
        amount = np.where(inc, -logs.total_cents, logs.trans_cents)  # what the account sees
        kind_map = np.array(
            [AL["ApplyCard"], AL["CardTopUp"], AL["CardWithdraw"], AL["CardCancel"]]
        )
        part(
            kind_map[logs.kind[done]],
            amount[done],
            logs.completed_at[done],
            logs.order_no[done],
            logs.card[done],
            card_cur[logs.card[done]],
            1,
        )

        # ShareBalance opening fees (ApplyCard, orderNo = the order), 1.00 per card.
        sb = np.flatnonzero(is_sb)
        sb_orders = []
        for c in map(int, sb):
            no = self.order_no(int(cards.opened_at[c]) - 20_000)
            cards.apply_order[c] = no
            self.orders[no] = _share_balance_order(no, c, cards, fee=100)
            sb_orders.append(no)
        part(
            AL["ApplyCard"],
            np.full(len(sb), -100),
            cards.opened_at[sb],
            np.array(sb_orders, dtype=object),
            sb,
            card_cur[sb],
            1,
        )

        # ShareBalance spending: hold, release + settle; direct settlements.
        t_sb = is_sb[txns.card] & (txns.kind != TOPUP) & (txns.kind != DECLINED)
        cur = card_cur[txns.card]
        hold = t_sb & (txns.kind == CONSUME)
        part(
            AL["AuthHold"],
            -txns.auth_cents[hold],
            txns.auth_at[hold],
            txns.id[hold],
            txns.card[hold],
            cur[hold],
            1,
        )
        settled = t_sb & (txns.settle_at != NEVER)
        rel = settled & (txns.kind == CONSUME)
        part(
            AL["AuthRelease"],
            txns.auth_cents[rel],
            txns.settle_at[rel],
            txns.id[rel],
            txns.card[rel],
            cur[rel],
            2,
        )
        # one settlement entry of the transaction's own type, signed by its direction
        settled &= TXN_SETTLEMENT[txns.kind] >= 0
        sign = np.where(is_income_txn(txns.kind), 1, -1)
        part(
            TXN_SETTLEMENT[txns.kind[settled]],
            (sign * txns.settled_cents)[settled],
            txns.settle_at[settled],
            txns.id[settled],
            txns.card[settled],
            cur[settled],
            3,
        )

        # Account level: a first top-up covering every outflow, monthly fees, later
        # top-ups and one withdrawal. The opening top-up keeps available >= 0 throughout.
        for currency in CURRENCIES:
            outflow = sum(
                -int(p["cents"][(p["cents"] < 0) & (p["currency"] == currency)].sum())
                for p in parts
            )
            opening = _round_up(outflow * 1.1 + 1_000_000, 100_000)
            months = max(1, self.spec.days // 30)
            fee_at = self.start + np.arange(1, months + 1) * (self.span // (months + 1))
            top_at = self.start + (rng.random(months) * self.span).astype(np.int64)
            top_cents = (rng.integers(10, 100, months) * 10_000).astype(np.int64)
            events = [
                (AL["AccountTopUp"], np.array([opening]), np.array([self.start + MINUTE_MS])),
                (AL["AccountTopUp"], top_cents, top_at),
                (AL["AccountFee"], np.full(len(fee_at), -2_500), fee_at),
                (AL["AccountWithdraw"], np.array([-50_000]), np.array([self.end - 3 * DAY_MS])),
            ]
            for kind, cents, at in events:
                nos = np.array([self.order_no(int(t)) for t in at], dtype=object)
                part(kind, cents, at, nos, np.full(len(at), -1), np.full(len(at), currency), 0)

        merged = {k: np.concatenate([p[k] for p in parts]) for k in parts[0]}
        return chain_account_logs(merged, _Ids(self.seed, "acct"))


def chain_account_logs(cols: dict[str, np.ndarray], ids: _Ids) -> AccountLogs:
    """Sort entries by (time, tiebreak), give them ids in that order, chain the balances."""
    order = np.lexsort((cols["tiebreak"], cols["at"]))
    at = cols["at"][order]
    logs = AccountLogs(
        id=ids.make(at),
        currency=cols["currency"][order],
        kind=cols["kind"][order],
        trans_cents=cols["cents"][order],
        available_after=np.zeros(len(at), dtype=np.int64),
        blocked_after=np.zeros(len(at), dtype=np.int64),
        order_no=cols["order_no"][order],
        card=cols["card"][order],
        trans_at=at,
    )
    rechain(logs)
    return logs


def rechain(logs: AccountLogs) -> None:
    """Recompute the balances after each entry, per currency, in (time, id) order."""
    moves_blocked = np.isin(logs.kind, [AL["AuthHold"], AL["AuthRelease"]])
    blocked_delta = np.where(moves_blocked, -logs.trans_cents, 0)
    for currency in np.unique(logs.currency):
        sel = np.flatnonzero(logs.currency == currency)
        logs.available_after[sel] = np.cumsum(logs.trans_cents[sel])
        logs.blocked_after[sel] = np.cumsum(blocked_delta[sel])


def is_income_txn(kind: np.ndarray) -> np.ndarray:
    out: np.ndarray = TXN_INCOME[kind]
    return out


def is_income_card_log(kind: np.ndarray) -> np.ndarray:
    out: np.ndarray = CARD_LOG_INCOME[kind]
    return out


def txn_effect_cents(txns: Txns, as_of: int) -> np.ndarray:
    """Each transaction's effect on its card at ``as_of`` (RECONCILIATION.md's table)."""
    visible = txns.auth_at <= as_of
    settled = visible & (txns.settle_at <= as_of)
    authorised = visible & ~settled & (txns.kind == CONSUME)  # only a Consume holds
    income = is_income_txn(txns.kind)
    effect = np.zeros(len(txns), dtype=np.int64)
    effect[authorised] = -txns.auth_cents[authorised]
    effect[settled] = np.where(income[settled], 1, -1) * txns.settled_cents[settled]
    effect[TXN_NO_EFFECT[txns.kind]] = 0  # declined, TopUp mirrors, AuthQuery
    return effect


def card_log_effect_cents(logs: CardLogs, as_of: int) -> np.ndarray:
    """Each card log's effect on its card's balance at ``as_of`` (Completed only)."""
    done = (logs.completed_at <= as_of) & ~logs.failed
    income = is_income_card_log(logs.kind)
    return np.where(done, np.where(income, logs.trans_cents, -logs.total_cents), 0)


def _card_balance(card: int, as_of: int, logs: CardLogs, txns: Txns) -> int:
    t = txns.card == card
    lg = logs.card == card
    sub_t = _take_txns(txns, np.flatnonzero(t))
    sub_l = _take_card_logs(logs, np.flatnonzero(lg))
    return int(txn_effect_cents(sub_t, as_of).sum() + card_log_effect_cents(sub_l, as_of).sum())


def _standard_order(logs: CardLogs, i: int, cards: Cards, rng: np.random.Generator) -> Order:
    c = int(logs.card[i])
    kind = int(logs.kind[i])
    fees = [
        (FEE_NAMES[int(t)], int(a))
        for t, a in (
            (logs.fee1_type[i], logs.fee1_cents[i]),
            (logs.fee2_type[i], logs.fee2_cents[i]),
        )
        if t != NO_FEE
    ]
    fee = int(logs.total_fee_cents[i])
    trans = int(logs.trans_cents[i])
    order_type = ("ApplyCard", "CardTopUp", "CardWithdraw", "CardCancel")[kind]
    principal: int | None = trans
    fee_cents: int | None = fee
    total: int | None = trans + fee
    if kind == CARD_CANCEL:
        fee_cents, total = None, None  # a cancel order carries only what is refunded
    return Order(
        order_no=str(logs.order_no[i]),
        customer_order_no=f"CUST-{logs.order_no[i]}" if rng.random() < 0.7 else None,
        order_type=order_type,
        model=STANDARD,
        card=c,
        currency=cards.currency[c],
        product_code=cards.product_code[c],
        created_at=int(logs.trans_at[i]) - 50,
        completed_at=int(logs.completed_at[i]),
        failed=bool(logs.failed[i]),
        principal_cents=principal,
        fee_cents=fee_cents,
        fee_items=fees,
        total_cents=total,
    )


def _share_balance_order(no: str, c: int, cards: Cards, fee: int) -> Order:
    return Order(
        order_no=no,
        customer_order_no=f"CUST-{no}",
        order_type="ApplyCard",
        model=SHARE_BALANCE,
        card=c,
        currency=cards.currency[c],
        product_code=cards.product_code[c],
        created_at=int(cards.opened_at[c]) - 20_000,
        completed_at=int(cards.opened_at[c]),
        failed=False,
        principal_cents=0,
        fee_cents=fee,
        fee_items=[("OpenCardFee", fee)],
        total_cents=fee,
        max_auth_cents=int(cards.max_auth[c]),
        max_credit_cents=None if cards.max_credit[c] < 0 else int(cards.max_credit[c]),
    )


FEE_NAMES = ("OpenCardFee", "TopUpFee", "CardWithdrawFee", "CancelCardFee")


def _luhn_digit(body: str) -> str:
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
    return number.isdigit() and _luhn_digit(number[:-1]) == number[-1]


def _round_up(cents: float, unit: int) -> int:
    return int(-(-int(np.ceil(cents)) // unit) * unit)


def _round_down(cents: float, unit: int) -> int:
    return int(int(cents) // unit * unit)


def _spread(rng: np.random.Generator, rows: np.ndarray, card_of: np.ndarray, k: int) -> np.ndarray:
    """``k`` of ``rows`` at random, on as many distinct cards as they allow (one per card
    first), so that even a tiny world has each kind on several cards."""
    perm = rng.permutation(rows)
    _, first = np.unique(card_of[perm], return_index=True)
    one_each = np.zeros(len(perm), dtype=bool)
    one_each[first] = True
    ordered = np.concatenate([perm[one_each], perm[~one_each]])
    return ordered[:k]


def _concat_cols(a: dict[str, np.ndarray], b: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
    return {k: np.concatenate([a[k], b[k]]) for k in a}


def _take_txns(t: Txns, idx: np.ndarray) -> Txns:
    return Txns(**{k: getattr(t, k)[idx] for k in t.__dataclass_fields__})


def _concat_txns(a: Txns, b: Txns) -> Txns:
    return Txns(
        **{k: np.concatenate([getattr(a, k), getattr(b, k)]) for k in a.__dataclass_fields__}
    )


def _take_card_logs(t: CardLogs, idx: np.ndarray) -> CardLogs:
    return CardLogs(**{k: getattr(t, k)[idx] for k in t.__dataclass_fields__})


def _concat_card_logs(a: CardLogs, b: CardLogs) -> CardLogs:
    return CardLogs(
        **{k: np.concatenate([getattr(a, k), getattr(b, k)]) for k in a.__dataclass_fields__}
    )


def _sort_card_logs(logs: CardLogs, seed: int) -> CardLogs:
    order = np.lexsort((np.arange(len(logs)), logs.trans_at))
    out = _take_card_logs(logs, order)
    out.id = _Ids(seed, "cardlog").make(out.trans_at)
    return out
