"""Scenarios: known breaks planted in a clean world, with a manifest of each one.

A scenario changes the world the way a real fault would (a ledger entry the service
lost, a fee item that does not add up, a card balance that drifted) and records the
breaks a correct reconciliation must report, as ``(check, entity_type, entity_id)``
plus severity and currency. Each plant touches one entity and, where the fault
legitimately shows in two checks (a dropped ledger entry also breaks the chain),
lists both. Check names are RECONCILIATION.md's.

Each settled ShareBalance transaction type has a scenario whose settlement entry (of
the transaction's own type) is missing: ``missing_ledger_entry`` for a Consume, and
``missing_consume_refund_entry``, ``missing_consume_reversal_entry``,
``missing_consume_refund_reversal_entry``, ``missing_consume_dispute_entry``,
``missing_dispute_release_entry`` and ``missing_trans_fee_entry`` — one
``txn_missing_ledger`` each, the ledger re-chained without the entry.

``manifest(dialect)`` splits what a dialect can show from what it cannot: v2.0 cards
carry no ``usedCreditAmount``, so credit checks are listed there as undetectable.

``build(name, world, period=(first, last))`` plants every fault inside a reconciliation
period (UTC days, inclusive), away from its edges, so a run over exactly that period must
find it. A *closed* period (one that ends before the world's clock) cannot show a fault
that only a snapshot reveals — snapshots are taken at run time, after activity the period
does not hold — nor, in v2.0, a settlement entry that is missing (its transaction carries
no settlement time, so the entry may lie after the period); the manifest lists those as
undetectable, with the reason.
"""

from __future__ import annotations

import copy
from collections.abc import Callable
from dataclasses import dataclass, field, fields
from datetime import UTC, date, datetime, timedelta
from typing import Any

import numpy as np

from sandbox.generate import _Ids, rechain
from sandbox.model import (
    AL,
    CARD_TOPUP,
    CARD_WITHDRAW,
    CONSUME,
    CONSUME_DISPUTE,
    CONSUME_REFUND_REVERSAL,
    DAY_MS,
    DISPUTE_RELEASE,
    NEVER,
    REFUND,
    REVERSAL,
    SHARE_BALANCE,
    STANDARD,
    TOPUP,
    TRANS_FEE,
    TXN_SETTLEMENT,
    TXN_TYPE_V14,
    AccountLogs,
)
from sandbox.world import World

ERROR, WARNING = "error", "warning"
EDGE_MS = 2 * DAY_MS  # a fault planted in a period keeps this far from its edges
EVER = (np.iinfo(np.int64).min, np.iinfo(np.int64).max)  # no period: anywhere in the world


class ScenarioError(ValueError):
    """A scenario cannot be planted (unknown name, or too few entities in the world)."""


@dataclass(frozen=True)
class Planted:
    check: str
    severity: str
    entity_type: str
    entity_id: str
    currency: str
    note: str
    needs: str | None = None  # a field only some dialects carry ("usedCreditAmount")
    snapshot: bool = False  # shown only by a snapshot compared with the history up to it
    settlement: bool = False  # shown only by a settlement entry's absence

    def as_dict(self) -> dict[str, Any]:
        hidden = {"needs", "snapshot", "settlement"}
        return {f.name: getattr(self, f.name) for f in fields(self) if f.name not in hidden}

    def hidden_by(self, dialect: str, closed: bool) -> str | None:
        """Why a reconciliation in ``dialect`` cannot show this break, or None if it must."""
        if self.needs is not None and dialect == "v2.0":
            return f"the {dialect} card endpoint has no {self.needs}"
        if closed and self.snapshot:
            return (
                "the period is closed: snapshots are taken at run time, after activity the "
                "period does not hold"
            )
        if closed and self.settlement and dialect == "v2.0":
            return (
                "the period is closed and v2.0 transactions carry no settlement time: the "
                "missing entry may lie after the period"
            )
        return None


@dataclass
class Planter:
    """Plants faults on distinct entities of one world and remembers what it planted."""

    world: World
    rng: np.random.Generator
    planted: list[Planted] = field(default_factory=list)
    used_cards: set[int] = field(default_factory=set)
    period: tuple[int, int] = EVER  # ms, end exclusive: where faults may be planted

    def plant(
        self,
        check: str,
        entity_type: str,
        entity_id: str,
        currency: str,
        note: str,
        severity: str = ERROR,
        needs: str | None = None,
        *,
        snapshot: bool = False,
        settlement: bool = False,
    ) -> None:
        self.planted.append(
            Planted(
                check, severity, entity_type, entity_id, currency, note, needs, snapshot, settlement
            )
        )

    def inside(self, times: np.ndarray) -> np.ndarray:
        """Which ``times`` lie inside the period, away from its edges (all, with no period)."""
        if self.period == EVER:
            return np.ones(len(times), dtype=bool)
        lo, hi = self.period
        return (times >= lo + EDGE_MS) & (times < hi - EDGE_MS)

    @property
    def latest(self) -> int:
        """The latest time a fault may be planted at: the clock, or the period's inner end."""
        if self.period == EVER:
            return self.as_of
        return min(self.as_of, self.period[1] - EDGE_MS)

    def pick(self, candidates: np.ndarray, card_of: np.ndarray | None = None) -> int:
        """One candidate row whose card no other plant has touched."""
        cands = np.asarray(candidates)
        if card_of is not None:
            cands = cands[~np.isin(card_of[cands], list(self.used_cards))]
        if len(cands) == 0:
            raise ScenarioError(
                "the world has too few suitable cards for this scenario; "
                "use a bigger --size (e.g. demo)"
            )
        row = int(self.rng.choice(cands))
        if card_of is not None:
            self.used_cards.add(int(card_of[row]))
        return row

    # -- helpers over the world ----------------------------------------------------
    @property
    def as_of(self) -> int:
        return self.world.as_of

    def live_cards(self, model: str) -> np.ndarray:
        c = self.world.cards
        return np.array(
            [
                i
                for i in range(len(c))
                if c.model[i] == model
                and c.cancelled_at[i] == NEVER
                and c.blocked_at[i] == NEVER
                and c.opened_at[i] < self.as_of
                and i not in self.used_cards
            ],
            dtype=np.int64,
        )

    def completed_card_logs(self, kind: int) -> np.ndarray:
        lg = self.world.card_logs
        ok = (lg.kind == kind) & ~lg.failed & (lg.completed_at <= self.as_of)
        ok &= self.inside(lg.trans_at) & self.inside(lg.completed_at)
        return np.flatnonzero(ok)

    def active_cards(self) -> set[int]:
        """Cards with a transaction authorised inside the period (a run over it sees them)."""
        t = self.world.txns
        return set(np.unique(t.card[self.inside(t.auth_at) & (t.auth_at <= self.as_of)]).tolist())

    def account_row(self, order_no: str) -> int:
        rows = np.flatnonzero(self.world.account_logs.order_no == order_no)
        assert len(rows) == 1, f"expected one account log for {order_no}"
        return int(rows[0])

    def next_in_currency(self, row: int) -> int | None:
        a = self.world.account_logs
        later = np.flatnonzero((a.currency == a.currency[row]) & (a.trans_at <= self.latest))
        later = later[later > row]
        return int(later[0]) if len(later) else None

    def settled_sb(self, kind: int) -> np.ndarray:
        """Settled ShareBalance transactions of ``kind``, authorised and settled inside
        the period."""
        t, c = self.world.txns, self.world.cards
        is_sb = np.array([m == SHARE_BALANCE for m in c.model])
        ok = (t.kind == kind) & (t.settle_at <= self.as_of) & is_sb[t.card]
        ok &= self.inside(t.auth_at) & self.inside(t.settle_at)
        return np.flatnonzero(ok)

    def settled_sb_consumes(self) -> np.ndarray:
        return self.settled_sb(CONSUME)

    def settlement_row(self, txn_row: int) -> int:
        """The settlement entry (of the transaction's own type, not a hold or release)."""
        a, t = self.world.account_logs, self.world.txns
        entry_kind = int(TXN_SETTLEMENT[int(t.kind[txn_row])])
        rows = np.flatnonzero((a.order_no == t.id[txn_row]) & (a.kind == entry_kind))
        assert len(rows) == 1, f"expected one settlement entry for {t.id[txn_row]}"
        return int(rows[0])

    def drop_account_rows(self, rows: list[int], chain_again: bool) -> None:
        w = self.world
        keep = np.setdiff1d(np.arange(len(w.account_logs)), rows)
        w.account_logs = _take(w.account_logs, keep)
        if chain_again:
            rechain(w.account_logs)
        w.reindex()


# -- the plants: one function per kind of fault ------------------------------------------
def dropped_account_log(p: Planter) -> None:
    """The API lost a funding entry: the card log has no pair and the chain jumps."""
    w = p.world
    rows = p.completed_card_logs(CARD_TOPUP)
    r = p.pick(rows, w.card_logs.card)
    order_no = str(w.card_logs.order_no[r])
    a_row = p.account_row(order_no)
    nxt = p.next_in_currency(a_row)
    if nxt is None:  # the last entry: nothing after it to break; take another
        p.used_cards.discard(int(w.card_logs.card[r]))
        return dropped_account_log(p)
    cur = str(w.account_logs.currency[a_row])
    next_id = str(w.account_logs.id[nxt])
    p.drop_account_rows([a_row], chain_again=False)
    p.plant("missing_account_entry", "order", order_no, cur, "funding entry dropped from the API")
    p.plant(
        "account_ledger_chain",
        "account_log",
        next_id,
        cur,
        "the entry after the dropped one does not chain",
    )
    return None


def missing_account_entry(p: Planter) -> None:
    """A card was funded but the account was never debited (the ledger chains without it)."""
    w = p.world
    r = p.pick(p.completed_card_logs(CARD_TOPUP), w.card_logs.card)
    order_no = str(w.card_logs.order_no[r])
    a_row = p.account_row(order_no)
    cur = str(w.account_logs.currency[a_row])
    p.drop_account_rows([a_row], chain_again=True)
    p.plant("missing_account_entry", "order", order_no, cur, "account never debited")


def altered_fee_item(p: Planter) -> None:
    """A fee item no longer adds up to the log's totalFee."""
    lg = p.world.card_logs
    r = p.pick(p.completed_card_logs(CARD_TOPUP), lg.card)
    lg.fee1_cents[r] += 5
    p.plant(
        "fee_mismatch",
        "order",
        str(lg.order_no[r]),
        _card_currency(p, int(lg.card[r])),
        "feeItems sum to 0.05 more than totalFee",
    )


def order_fee_differs(p: Planter) -> None:
    """The order shows a fee (and total) other than the one charged."""
    lg = p.world.card_logs
    r = p.pick(p.completed_card_logs(CARD_TOPUP), lg.card)
    order = p.world.orders[str(lg.order_no[r])]
    assert order.fee_cents is not None and order.total_cents is not None
    order.fee_cents += 25
    order.total_cents += 25
    order.fee_items = [(n, c + 25 if i == 0 else c) for i, (n, c) in enumerate(order.fee_items)]
    cur = order.currency
    p.plant("fee_mismatch", "order", order.order_no, cur, "order fee 0.25 above the card log's")
    p.plant(
        "order_amount_mismatch",
        "order",
        order.order_no,
        cur,
        "order total 0.25 above what the account paid",
    )


def drifted_card_balance(p: Planter) -> None:
    """A Standard card reports a balance its history does not explain."""
    c = p.pick(p.live_cards(STANDARD))
    p.used_cards.add(c)
    p.world.adjust.card_balance_cents[c] = 137
    p.plant(
        "card_balance",
        "card",
        p.world.cards.id[c],
        p.world.cards.currency[c],
        "snapshot balance 1.37 above the computed balance",
        snapshot=True,
    )


def missing_ledger_entry(p: Planter) -> None:
    """A settled ShareBalance transaction was never posted to the account ledger."""
    _drop_settlement_entry(p, CONSUME)


def _drop_settlement_entry(p: Planter, kind: int) -> None:
    """Drop the settlement entry of one settled ShareBalance transaction of ``kind`` (on a
    card no other plant touched) and re-chain the ledger, so the only break is the entry's
    absence: no chain break, and the account snapshot agrees with the re-chained ledger
    (a Consume keeps its hold and release, which net to nothing)."""
    t = p.world.txns
    r = p.pick(p.settled_sb(kind), t.card)
    p.drop_account_rows([p.settlement_row(r)], chain_again=True)
    p.plant(
        "txn_missing_ledger",
        "transaction",
        str(t.id[r]),
        _card_currency(p, int(t.card[r])),
        f"{TXN_TYPE_V14[kind]} settlement entry never posted",
        settlement=True,
    )


def _missing_entry_plant(kind: int) -> Callable[[Planter], None]:
    """The plant ``missing_<type>_entry`` for a settled transaction type other than Consume."""
    type_name = TXN_TYPE_V14[kind]
    snake = "".join(f"_{ch.lower()}" if ch.isupper() else ch for ch in type_name).lstrip("_")

    def plant(p: Planter) -> None:
        _drop_settlement_entry(p, kind)

    plant.__name__ = plant.__qualname__ = f"missing_{snake}_entry"
    plant.__doc__ = (
        f"A settled ShareBalance {type_name} was never posted to the account ledger "
        f"(its own {type_name} settlement entry is missing)."
    )
    return plant


# One scenario per settled ShareBalance type other than Consume (``missing_ledger_entry``).
SETTLEMENT_PLANTS = {
    kind: _missing_entry_plant(kind)
    for kind in (
        REFUND,
        REVERSAL,
        CONSUME_REFUND_REVERSAL,
        CONSUME_DISPUTE,
        DISPUTE_RELEASE,
        TRANS_FEE,
    )
}
# ... by how few transactions of their type a world has, rarest first
RAREST_FIRST = (
    DISPUTE_RELEASE,
    CONSUME_DISPUTE,
    CONSUME_REFUND_REVERSAL,
    REVERSAL,
    REFUND,
    TRANS_FEE,
)


def ledger_amount_mismatch(p: Planter) -> None:
    """The ledger settled a ShareBalance transaction for 1.00 more than its settledAmount."""
    t = p.world.txns
    r = p.pick(p.settled_sb_consumes(), t.card)
    a = p.world.account_logs
    a.trans_cents[p.settlement_row(r)] -= 100
    rechain(a)
    p.plant(
        "txn_amount_mismatch",
        "transaction",
        str(t.id[r]),
        _card_currency(p, int(t.card[r])),
        "settlement entry 1.00 above settledAmount",
    )


def orphan_ledger_entry(p: Planter) -> None:
    """A ShareBalance spending entry points to a transaction the API never returns."""
    w = p.world
    c = p.pick(p.live_cards(SHARE_BALANCE))
    p.used_cards.add(c)
    at = min(p.latest, w.end_ms) - 2 * DAY_MS
    ghost = str(_Ids(w.gen.seed, "ghost").make(np.array([at]))[0])
    entry_id = str(_Ids(w.gen.seed, "orphan").make(np.array([at]))[0])
    row = AccountLogs(
        id=np.array([entry_id], dtype=object),
        currency=np.array([w.cards.currency[c]], dtype=object),
        kind=np.array([AL["Consume"]], dtype=np.int8),
        trans_cents=np.array([-4_321]),
        available_after=np.zeros(1, dtype=np.int64),
        blocked_after=np.zeros(1, dtype=np.int64),
        order_no=np.array([ghost], dtype=object),
        card=np.array([c], dtype=np.int32),
        trans_at=np.array([at]),
    )
    merged = _concat(w.account_logs, row)
    order = np.lexsort((merged.id.astype(str), merged.trans_at))
    w.account_logs = _take(merged, order)
    rechain(w.account_logs)
    w.reindex()
    p.plant(
        "ledger_missing_txn",
        "account_log",
        entry_id,
        w.cards.currency[c],
        "Consume entry for an unknown transaction",
    )


def funding_mismatch(p: Planter) -> None:
    """A card was credited 2.00 more than the account paid for the top-up."""
    lg = p.world.card_logs
    r = p.pick(p.completed_card_logs(CARD_TOPUP), lg.card)
    lg.trans_cents[r] += 200
    lg.total_cents[r] += 200
    p.plant(
        "funding_mismatch",
        "order",
        str(lg.order_no[r]),
        _card_currency(p, int(lg.card[r])),
        "card log 2.00 above its account entry",
    )


def missing_card_entry(p: Planter) -> None:
    """The account paid for a top-up the card never received."""
    w = p.world
    lg = w.card_logs
    r = p.pick(p.completed_card_logs(CARD_TOPUP), lg.card)
    order_no = str(lg.order_no[r])
    w.card_logs = _take(lg, np.setdiff1d(np.arange(len(lg)), [r]))
    t = w.txns  # and the v2.0 TopUp transaction that mirrored it
    w.txns = _take(t, np.flatnonzero(~((t.kind == TOPUP) & (t.order_no == order_no))))
    w.reindex()
    p.plant(
        "missing_card_entry",
        "order",
        order_no,
        _card_currency(p, int(lg.card[r])),
        "account debited, no card log",
    )


def account_balance_drift(p: Planter) -> None:
    """The account endpoint reports 12.34 less than the ledger says."""
    cur = p.world.primary_currency
    p.world.adjust.account_available_cents[cur] = -1_234
    p.plant(
        "account_balance",
        "account",
        cur,
        cur,
        "available 12.34 below the last entry",
        snapshot=True,
    )


def credit_usage_drift(p: Planter) -> None:
    """A ShareBalance card reports used credit its transactions do not explain."""
    c = p.pick(p.live_cards(SHARE_BALANCE))
    p.used_cards.add(c)
    p.world.adjust.used_credit_cents[c] = 500
    p.plant(
        "card_credit_usage",
        "card",
        p.world.cards.id[c],
        p.world.cards.currency[c],
        "usedCreditAmount 5.00 above the transactions",
        needs="usedCreditAmount",
        snapshot=True,
    )


def withdraw_amount_differs(p: Planter) -> None:
    """A withdrawal order shows 3.00 more than reached the account."""
    lg = p.world.card_logs
    r = p.pick(p.completed_card_logs(CARD_WITHDRAW), lg.card)
    order = p.world.orders[str(lg.order_no[r])]
    assert order.principal_cents is not None and order.total_cents is not None
    order.principal_cents += 300
    order.total_cents += 300
    p.plant(
        "order_amount_mismatch",
        "order",
        order.order_no,
        order.currency,
        "withdrawAmount 3.00 above the account entry",
    )


def credit_limit_exceeded(p: Planter) -> None:
    """A ShareBalance card's limit was lowered below what it has already used."""
    w = p.world
    seen = p.active_cards()  # a run over the period discovers the card
    cands = [
        int(c)
        for c in p.live_cards(SHARE_BALANCE)
        if int(c) in seen and w.card_view(int(c)).used_credit_cents > 200
    ]
    c = p.pick(np.array(cands))
    p.used_cards.add(c)
    w.adjust.max_credit_cents[c] = w.card_view(c).used_credit_cents - 100
    p.plant(
        "credit_limit_exceeded",
        "card",
        w.cards.id[c],
        w.cards.currency[c],
        "usedCreditAmount above maxCreditAmount",
        severity=WARNING,
        needs="usedCreditAmount",
    )


def stale_authorization(p: Planter) -> None:
    """An authorisation ten days old (or older, in a period that ended before) that never
    settled."""
    w = p.world
    t = w.txns
    is_std = np.array([m == STANDARD for m in w.cards.model])
    newest = min(w.as_of - 10 * DAY_MS, p.latest)
    old = (
        (t.kind == CONSUME)
        & is_std[t.card]
        & (t.auth_at < newest)
        & (t.auth_at > newest - 4 * DAY_MS)
        & p.inside(t.auth_at)
        & (t.settle_at != NEVER)
        & (w.cards.cancelled_at[t.card] == NEVER)
    )
    r = p.pick(np.flatnonzero(old), t.card)
    t.settle_at[r] = NEVER
    w.reindex()
    p.plant(
        "stale_authorization",
        "transaction",
        str(t.id[r]),
        w.cards.currency[int(t.card[r])],
        "authorised 10+ days ago, never settled",
        severity=WARNING,
    )


SCENARIOS: dict[str, tuple[Callable[[Planter], None], ...]] = {
    "clean": (),
    "dropped_account_log": (dropped_account_log,),
    "missing_account_entry": (missing_account_entry,),
    "altered_fee_item": (altered_fee_item,),
    "order_fee_differs": (order_fee_differs,),
    "drifted_card_balance": (drifted_card_balance,),
    "missing_ledger_entry": (missing_ledger_entry,),
    "ledger_amount_mismatch": (ledger_amount_mismatch,),
    "orphan_ledger_entry": (orphan_ledger_entry,),
    "funding_mismatch": (funding_mismatch,),
    "missing_card_entry": (missing_card_entry,),
    "account_balance_drift": (account_balance_drift,),
    "credit_usage_drift": (credit_usage_drift,),
    "withdraw_amount_differs": (withdraw_amount_differs,),
    "credit_limit_exceeded": (credit_limit_exceeded,),
    "stale_authorization": (stale_authorization,),
    **{plant.__name__: (plant,) for plant in SETTLEMENT_PLANTS.values()},
}
# Every fault at once, each on its own entity: the demo's "everything is wrong" world.
# The missing settlement entries of the rarer types go first (few cards carry those
# types, so they choose before the plants that can take almost any card); the unchained
# drop goes last: the plants before it re-chain the ledger, which would otherwise heal
# the gap it leaves.
_rarity = {SETTLEMENT_PLANTS[kind]: i for i, kind in enumerate(RAREST_FIRST)}
SCENARIOS["broken_books"] = tuple(
    sorted(
        (f for fs in SCENARIOS.values() for f in fs),
        key=lambda f: (f is dropped_account_log, _rarity.get(f, len(_rarity))),
    )
)
BUILD_ATTEMPTS = 20  # a scenario of several plants tries other card choices before failing


@dataclass
class Scenario:
    name: str
    world: World
    planted: list[Planted]
    period: tuple[date, date] | None = None  # the reconciliation period planted into

    @property
    def closed(self) -> bool:
        """The period ends before the world's clock: snapshots come after it."""
        return (
            self.period is not None and _day_ms(self.period[1] + timedelta(1)) <= self.world.as_of
        )

    def manifest(self, dialect: str) -> dict[str, Any]:
        """The breaks a reconciliation of this world (over its period), read in ``dialect``,
        must report; and those it cannot, with the reason."""
        reasons = {id(b): b.hidden_by(dialect, self.closed) for b in self.planted}
        g = self.world.gen
        out: dict[str, Any] = {
            "scenario": self.name,
            "seed": g.seed,
            "size": g.size,
            "dialect": dialect,
            "breaks": [b.as_dict() for b in self.planted if reasons[id(b)] is None],
            "undetectable": [
                b.as_dict() | {"reason": reasons[id(b)]}
                for b in self.planted
                if reasons[id(b)] is not None
            ],
        }
        if self.period is not None:
            out["period"] = {"from": self.period[0].isoformat(), "to": self.period[1].isoformat()}
        return out


def build(name: str, world: World, period: tuple[date, date] | None = None) -> Scenario:
    """Plant scenario ``name``'s faults into ``world`` (in place), inside ``period`` (first
    and last UTC day, inclusive) when given."""
    if name not in SCENARIOS:
        raise ScenarioError(f"unknown scenario {name!r}; choose one of: {', '.join(SCENARIOS)}")
    plants = SCENARIOS[name]
    window = EVER
    if period is not None:
        first, last = period
        if last < first:
            raise ScenarioError(f"the period ends ({last}) before it starts ({first})")
        window = (_day_ms(first), _day_ms(last + timedelta(1)))
    # Each plant takes a card of its own, chosen at random: in a small world several
    # plants may compete for the few cards that suit them, so a scenario of several
    # plants that runs out of cards starts again from the unchanged world with other
    # choices (the first attempt's choices are the scenario's usual ones).
    attempts = BUILD_ATTEMPTS if len(plants) > 1 else 1
    saved = _tables(world) if attempts > 1 else None
    for attempt in range(attempts):
        key = [world.gen.seed, 7919] + ([attempt] if attempt else [])
        planter = Planter(world, np.random.default_rng(key), period=window)
        try:
            for plant in plants:
                plant(planter)
        except ScenarioError:
            if saved is None or attempt == attempts - 1:
                raise
            _restore(world, saved)
            continue
        break
    world.reindex()
    return Scenario(name, world, planter.planted, period)


_PLANTED_TABLES = ("txns", "card_logs", "account_logs", "orders", "adjust")


def _tables(world: World) -> dict[str, Any]:
    """A copy of every table a plant may change."""
    return {name: copy.deepcopy(getattr(world, name)) for name in _PLANTED_TABLES}


def _restore(world: World, saved: dict[str, Any]) -> None:
    for name in _PLANTED_TABLES:
        setattr(world, name, copy.deepcopy(saved[name]))
    world.reindex()


def _day_ms(day: date) -> int:
    """The first millisecond of a UTC day."""
    return int(datetime(day.year, day.month, day.day, tzinfo=UTC).timestamp() * 1000)


def _card_currency(p: Planter, card: int) -> str:
    return p.world.cards.currency[card]


def _take(table: Any, rows: np.ndarray) -> Any:
    return type(table)(**{f.name: getattr(table, f.name)[rows] for f in fields(table)})


def _concat(a: Any, b: Any) -> Any:
    return type(a)(
        **{f.name: np.concatenate([getattr(a, f.name), getattr(b, f.name)]) for f in fields(a)}
    )
