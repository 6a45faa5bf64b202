"""The sandbox's world, held as sorted columns.

Money is integer cents (``int64``) everywhere in the sandbox: exact, and fast to
vectorise. Times are integer milliseconds since the Unix epoch, UTC. Rendering to
the wire (``sandbox.render``) turns cents into JSON decimal numbers by string
formatting, never through a float.

The tables mirror what the service keeps, not what either dialect shows:

* ``cards``        one row per card
* ``txns``         one row per card transaction, sorted by ``(auth_at, id)``; a
                   transaction's status *at a time T* follows from ``settle_at``.
                   Every type of the v1.4 reference is a kind of its own (see the
                   tables below): a reversal, a dispute credit, its release and a
                   refund reversal are settled records of their own, each following an
                   earlier transaction of the same card but changing nothing in it; an
                   ``AuthQuery`` is a zero-amount card verification that is never
                   settled and holds nothing
* ``card_logs``    Standard-card fund movements, sorted by ``(trans_at, id)``
* ``account_logs`` the customer account ledger, sorted by ``(trans_at, id)``, with
                   balances after each entry chained per currency
* ``orders``       one dict per order, keyed by order number

Everything time-dependent (a transaction's status, a card's balance, an order's
status) is computed for the world's clock ``as_of_ms``, so a test can move the
clock forward and watch holds settle and new activity appear.
"""

from __future__ import annotations

from dataclasses import dataclass, field, fields
from typing import Any, TypeVar

import numpy as np

DAY_MS = 86_400_000
HOUR_MS = 3_600_000
MINUTE_MS = 60_000
NEVER = np.iinfo(np.int64).max  # "has not happened (yet)": settle_at, completed_at, ...

# Transaction kinds (column ``txns.kind``), one per transaction type of the v1.4
# reference (DECLINED is a Consume whose authorisation failed). TOPUP rows exist only to
# be shown by the v2.0 dialect, which mirrors every CardTopUp card log as a ``TopUp``
# transaction; AUTH_QUERY rows only by v1.4 (the v2.0 document has no such type).
# Append new kinds at the end: the tables below are indexed by kind.
(
    CONSUME,
    DECLINED,
    REFUND,
    REVERSAL,
    TRANS_FEE,
    TOPUP,
    CONSUME_REFUND_REVERSAL,
    CONSUME_DISPUTE,
    DISPUTE_RELEASE,
    AUTH_QUERY,
) = range(10)
TXN_TYPE_V14 = (
    "Consume",
    "Consume",
    "ConsumeRefund",
    "ConsumeReversal",
    "TransFee",
    "TopUp",
    "ConsumeRefundReversal",
    "ConsumeDispute",
    "DisputeRelease",
    "AuthQuery",
)
# fundsDirection: Income credits the card (a refund, a reversed purchase, the disputed
# money credited back); a refund reversal and a dispute release take money back.
TXN_INCOME = np.array([False, False, True, True, False, True, False, True, False, False])
# The v2.0 document knows only Purchase / Refund / TopUp: Expenditure is a Purchase,
# Income a Refund. None: the kind is not served in v2.0 at all.
TXN_TYPE_V20: tuple[str | None, ...] = (
    "Purchase",
    "Purchase",
    "Refund",
    "Refund",
    "Purchase",
    "TopUp",
    "Purchase",
    "Refund",
    "Purchase",
    None,
)
# Which kinds each dialect serves from its transactions endpoint.
TXN_SERVED = {
    "v1.4": np.array([k != TOPUP for k in range(len(TXN_TYPE_V14))]),
    "v2.0": np.array([t is not None for t in TXN_TYPE_V20]),
}
# Kinds that never move money: a failed authorisation, the v2.0 mirror of a card log
# (the card log carries it) and a card verification.
TXN_NO_EFFECT = np.array([k in (DECLINED, TOPUP, AUTH_QUERY) for k in range(len(TXN_TYPE_V14))])
# Kinds settled at the moment they happen (no authorisation stage, no hold).
TXN_DIRECT = (
    REFUND,
    REVERSAL,
    TRANS_FEE,
    CONSUME_REFUND_REVERSAL,
    CONSUME_DISPUTE,
    DISPUTE_RELEASE,
)


def served_in(dialect: str, kinds: np.ndarray) -> np.ndarray:
    """Which transactions of ``kinds`` the ``dialect``'s transactions endpoint serves."""
    mask: np.ndarray = TXN_SERVED[dialect][np.asarray(kinds, dtype=np.intp)]
    return mask


# Card log types (column ``card_logs.kind``).
APPLY_CARD, CARD_TOPUP, CARD_WITHDRAW, CARD_CANCEL = range(4)
CARD_LOG_TYPES = ("ApplyCard", "CardTopUp", "CardWithdraw", "CardCancel")
CARD_LOG_INCOME = np.array([True, True, False, False])
FEE_TYPES = ("OpenCardFee", "TopUpFee", "CardWithdrawFee", "CancelCardFee")
NO_FEE = -1

# Account log types (column ``account_logs.kind``), named as in RECONCILIATION.md.
ACCOUNT_LOG_TYPES = (
    "AccountTopUp",
    "AccountWithdraw",
    "AccountFee",
    "ApplyCard",
    "CardTopUp",
    "CardWithdraw",
    "CardCancel",
    "AuthHold",
    "AuthRelease",
    "Consume",
    "ConsumeRefund",
    "ConsumeReversal",
    "TransFee",
    "ConsumeRefundReversal",
    "ConsumeDispute",
    "DisputeRelease",
)
AL = {name: i for i, name in enumerate(ACCOUNT_LOG_TYPES)}
HOLD_KINDS = (AL["AuthHold"], AL["AuthRelease"])  # these move money between available/blocked
# The settlement entry a settled ShareBalance transaction of each kind posts (its own
# type, ``orderNo`` = the transaction id, signed by its direction); -1: it posts none.
# Only a Consume also holds (AuthHold at authorisation, AuthRelease at settlement).
TXN_SETTLEMENT = np.array(
    [
        AL["Consume"],
        -1,  # DECLINED: never settles
        AL["ConsumeRefund"],
        AL["ConsumeReversal"],
        AL["TransFee"],
        -1,  # TOPUP: the card log's funding entry carries it
        AL["ConsumeRefundReversal"],
        AL["ConsumeDispute"],
        AL["DisputeRelease"],
        -1,  # AUTH_QUERY: a verification posts nothing
    ],
    dtype=np.int8,
)

STANDARD, SHARE_BALANCE = "Standard", "ShareBalance"


@dataclass
class Cards:
    id: list[str]
    model: list[str]
    currency: list[str]
    product_code: list[str]
    alias: list[str]
    number: list[str]  # full card number: served only by the v1.4 card endpoint
    cvv: list[str]
    expiry: list[str]  # MM/YYYY
    organization: list[str]
    opened_at: np.ndarray  # int64 ms
    cancelled_at: np.ndarray  # int64 ms, NEVER if the card is not cancelled
    blocked_at: np.ndarray  # int64 ms, NEVER if never blocked
    max_auth: np.ndarray  # cents
    max_credit: np.ndarray  # cents, -1 = unlimited (null)
    apply_order: list[str]

    def __len__(self) -> int:
        return len(self.id)

    def masked(self, i: int) -> str:
        n = self.number[i]
        return f"{n[:6]}******{n[-4:]}"


@dataclass
class Txns:
    id: np.ndarray  # object (str)
    card: np.ndarray  # int32 index into cards
    kind: np.ndarray  # int8
    auth_at: np.ndarray  # int64 ms
    settle_at: np.ndarray  # int64 ms; NEVER = not (yet) settled
    auth_cents: np.ndarray  # int64
    settled_cents: np.ndarray  # int64 (meaningful once settled)
    merchant: np.ndarray  # int16 index into MERCHANTS
    auth_code: np.ndarray  # object (str)
    failure: np.ndarray  # int8 index into FAILURE_REASONS, -1 none
    order_no: np.ndarray  # object: for TOPUP rows, the card order it mirrors; else ""

    def __len__(self) -> int:
        return len(self.id)


@dataclass
class CardLogs:
    id: np.ndarray  # object
    order_no: np.ndarray  # object
    card: np.ndarray  # int32
    kind: np.ndarray  # int8
    trans_cents: np.ndarray
    fee1_type: np.ndarray  # int8 index into FEE_TYPES or NO_FEE
    fee1_cents: np.ndarray
    fee2_type: np.ndarray
    fee2_cents: np.ndarray
    total_fee_cents: np.ndarray  # as reported; equals fee1 + fee2 unless a scenario says not
    total_cents: np.ndarray  # transAmount + totalFee
    trans_at: np.ndarray
    completed_at: np.ndarray  # NEVER while pending (or failed)
    failed: np.ndarray  # bool

    def __len__(self) -> int:
        return len(self.id)


@dataclass
class AccountLogs:
    id: np.ndarray  # object
    currency: np.ndarray  # object
    kind: np.ndarray  # int8
    trans_cents: np.ndarray  # signed
    available_after: np.ndarray
    blocked_after: np.ndarray
    order_no: np.ndarray  # object
    card: np.ndarray  # int32, -1 when the entry concerns no card
    trans_at: np.ndarray

    def __len__(self) -> int:
        return len(self.id)


Table = TypeVar("Table", Txns, CardLogs, AccountLogs)


def take(table: Table, rows: np.ndarray) -> Table:
    """The table's ``rows`` (indices or a mask), in that order."""
    return type(table)(**{f.name: getattr(table, f.name)[rows] for f in fields(table)})


def concat(a: Table, b: Table) -> Table:
    """``a``'s rows, then ``b``'s."""
    return type(a)(
        **{f.name: np.concatenate([getattr(a, f.name), getattr(b, f.name)]) for f in fields(a)}
    )


def insert_sorted(table: Table, new: Table, time_field: str) -> Table:
    """Append rows and keep the table sorted by time (stable: ties keep insertion order)."""
    merged = concat(table, new)
    return take(merged, np.argsort(getattr(merged, time_field), kind="stable"))


@dataclass
class SnapshotAdjustments:
    """What a scenario changes in what the service *reports*, not in what happened."""

    card_balance_cents: dict[int, int] = field(default_factory=dict)
    used_credit_cents: dict[int, int] = field(default_factory=dict)
    account_available_cents: dict[str, int] = field(default_factory=dict)
    max_credit_cents: dict[int, int] = field(default_factory=dict)


@dataclass
class Order:
    """One order as the service stores it; ``sandbox.render`` shapes it per type."""

    order_no: str
    customer_order_no: str | None
    order_type: str  # ApplyCard / CardTopUp / CardWithdraw / CardCancel / CreditLimit
    model: str  # Standard / ShareBalance
    card: int
    currency: str
    product_code: str
    created_at: int
    completed_at: int  # NEVER while pending
    failed: bool
    principal_cents: int | None  # top-up / withdraw / refund amount
    fee_cents: int | None
    fee_items: list[tuple[str, int]]
    total_cents: int | None
    max_auth_cents: int | None = None
    max_credit_cents: int | None = None
    extra: dict[str, Any] = field(default_factory=dict)


class WorldError(Exception):
    """A business error the service answers with its envelope (``errorCode``)."""

    def __init__(self, code: str, message: str, status: int = 400) -> None:
        super().__init__(message)
        self.code = code
        self.message = message
        self.status = status


def ms_to_iso(ms: int) -> str:
    """Milliseconds since the epoch as the service writes them: ``2025-04-21T02:51:43.127Z``."""
    days, rem = divmod(int(ms), DAY_MS)
    y, m, d = _civil_from_days(days)
    h, rem = divmod(rem, HOUR_MS)
    mi, rem = divmod(rem, MINUTE_MS)
    s, milli = divmod(rem, 1000)
    return f"{y:04d}-{m:02d}-{d:02d}T{h:02d}:{mi:02d}:{s:02d}.{milli:03d}Z"


def _civil_from_days(z: int) -> tuple[int, int, int]:
    # Howard Hinnant's days -> civil date; avoids datetime objects on the hot path.
    z += 719468
    era = (z if z >= 0 else z - 146096) // 146097
    doe = z - era * 146097
    yoe = (doe - doe // 1460 + doe // 36524 - doe // 146096) // 365
    y = yoe + era * 400
    doy = doe - (365 * yoe + yoe // 4 - yoe // 100)
    mp = (5 * doy + 2) // 153
    d = doy - (153 * mp + 2) // 5 + 1
    m = mp + 3 if mp < 10 else mp - 9
    return (y + (m <= 2), m, d)


def cents_text(cents: int) -> str:
    """Exact decimal text for integer cents, trailing zeros dropped (``310 -> "3.1"``)."""
    c = int(cents)
    sign = "-" if c < 0 else ""
    whole, frac = divmod(abs(c), 100)
    if frac == 0:
        return f"{sign}{whole}"
    if frac % 10 == 0:
        return f"{sign}{whole}.{frac // 10}"
    return f"{sign}{whole}.{frac:02d}"
