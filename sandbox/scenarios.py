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

The plants live in ``sandbox.plants`` by family (Standard-card ``funding``, ShareBalance
``spending``, what the service ``reported``); this module is the registry of scenarios
and ``build``.

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
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Any

import numpy as np

from sandbox.plants.funding import (
    altered_fee_item,
    dropped_account_log,
    funding_mismatch,
    missing_account_entry,
    missing_card_entry,
    order_fee_differs,
    withdraw_amount_differs,
)
from sandbox.plants.planter import EVER, Planted, Planter, ScenarioError
from sandbox.plants.reported import (
    account_balance_drift,
    credit_limit_exceeded,
    credit_usage_drift,
    drifted_card_balance,
    stale_authorization,
)
from sandbox.plants.spending import (
    RAREST_FIRST,
    SETTLEMENT_PLANTS,
    ledger_amount_mismatch,
    missing_ledger_entry,
    orphan_ledger_entry,
)
from sandbox.world import World

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


__all__ = ["SCENARIOS", "Planted", "Planter", "Scenario", "ScenarioError", "build"]
