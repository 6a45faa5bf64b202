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

One module per record kind, called in this order (each draws from the seed's random
stream in turn): ``cards``, ``transactions``, ``card_logs`` (with their ``orders``),
then the v2.0 top-up mirrors, then ``account_logs``.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime

from sandbox.generate import account_logs, card_logs, cards, transactions
from sandbox.generate.cards import luhn_valid
from sandbox.generate.context import SIZES, Builder, Size
from sandbox.model import DAY_MS, AccountLogs, CardLogs, Cards, Order, Txns


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
    b = Builder(seed, size, spec, start_ms, end_ms)
    the_cards = cards.cards(b)
    txns = transactions.transactions(b, the_cards)
    logs = card_logs.card_logs(b, the_cards, txns)
    txns = transactions.with_topup_mirrors(b, txns, logs)
    ledger = account_logs.account_logs(b, the_cards, txns, logs)
    return Generated(
        seed=seed,
        size=size,
        start_ms=start_ms,
        end_ms=end_ms,
        cards=the_cards,
        txns=txns,
        card_logs=logs,
        account_logs=ledger,
        orders=b.orders,
    )


__all__ = ["SIZES", "Generated", "Size", "default_end", "generate", "luhn_valid"]
