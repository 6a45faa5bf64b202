"""What every plant works with: a ``Planter`` over one world, and the ``Planted`` breaks
it records (``(check, entity_type, entity_id)`` plus severity and currency)."""

from __future__ import annotations

from dataclasses import dataclass, field, fields
from typing import Any

import numpy as np

from sandbox.ledger import rechain
from sandbox.model import CONSUME, DAY_MS, NEVER, SHARE_BALANCE, TXN_SETTLEMENT, take
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
        w.account_logs = take(w.account_logs, keep)
        if chain_again:
            rechain(w.account_logs)
        w.reindex()

    def card_currency(self, card: int) -> str:
        return self.world.cards.currency[card]
