"""Every transaction type of the v1.4 reference lives in the sandbox's worlds, posted by
RECONCILIATION.md's money model ("Effect of a transaction", "Effect of an account log").

These tests read what the sandbox *serves* (rendered items, parsed with ``Decimal``) where
they judge money, and the generator's columns only to find rows; they do not use the
oracle, so they hold whatever the oracle knows.
"""

from __future__ import annotations

import itertools
import json
from collections import defaultdict
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

import numpy as np
import orjson
import pytest

from sandbox import render, scenarios
from sandbox.generate import generate
from sandbox.model import (
    AUTH_QUERY,
    CONSUME,
    CONSUME_DISPUTE,
    CONSUME_REFUND_REVERSAL,
    DISPUTE_RELEASE,
    NEVER,
    REFUND,
    REVERSAL,
    TOPUP,
    TRANS_FEE,
    TXN_TYPE_V14,
    served_in,
    take,
)
from sandbox.world import World

END = datetime(2026, 11, 1, tzinfo=UTC)
V14_TYPES = {
    "Consume",
    "ConsumeRefund",
    "ConsumeReversal",
    "ConsumeRefundReversal",
    "ConsumeDispute",
    "DisputeRelease",
    "AuthQuery",
    "TransFee",
}
NEW_KINDS = (REVERSAL, CONSUME_REFUND_REVERSAL, CONSUME_DISPUTE, DISPUTE_RELEASE, AUTH_QUERY)
SETTLED_KINDS = {  # kind -> (v1.4 type, fundsDirection)
    CONSUME: ("Consume", "Expenditure"),
    REFUND: ("ConsumeRefund", "Income"),
    REVERSAL: ("ConsumeReversal", "Income"),
    CONSUME_REFUND_REVERSAL: ("ConsumeRefundReversal", "Expenditure"),
    CONSUME_DISPUTE: ("ConsumeDispute", "Income"),
    DISPUTE_RELEASE: ("DisputeRelease", "Expenditure"),
    TRANS_FEE: ("TransFee", "Expenditure"),
}
MISSING_ENTRY_SCENARIOS = {
    "missing_ledger_entry": "Consume",
    "missing_consume_refund_entry": "ConsumeRefund",
    "missing_consume_reversal_entry": "ConsumeReversal",
    "missing_consume_refund_reversal_entry": "ConsumeRefundReversal",
    "missing_consume_dispute_entry": "ConsumeDispute",
    "missing_dispute_release_entry": "DisputeRelease",
    "missing_trans_fee_entry": "TransFee",
}


def world(seed: int = 1, size: str = "tiny") -> World:
    return World.create(seed=seed, size=size, end=END)


def served(obj: Any) -> Any:
    """Rendered items as a client parses them: amounts as Decimal."""
    return json.loads(orjson.dumps(obj), parse_float=Decimal, parse_int=Decimal)


def v14_txns(w: World) -> list[dict[str, Any]]:
    return list(served(render.transactions(w, w.select_transactions(None, None), "v1.4")))


def account_logs(w: World) -> list[dict[str, Any]]:
    return list(served(render.account_logs(w, w.select_account_logs(None, None), "v1.4")))


def sb_mask(w: World) -> np.ndarray:
    return np.array([m == "ShareBalance" for m in w.cards.model])


# -- every type is there --------------------------------------------------------------
def test_a_small_world_serves_every_v14_type_on_both_card_models() -> None:
    w = world(4, "small")
    items = v14_txns(w)
    assert {t["transactionType"] for t in items} == V14_TYPES
    model = {cid: w.cards.model[i] for i, cid in enumerate(w.cards.id)}
    seen = {(t["transactionType"], model[t["cardInfo"]["cardId"]]) for t in items}
    for name in V14_TYPES:
        assert (name, "Standard") in seen, name
        assert (name, "ShareBalance") in seen, name


@pytest.mark.parametrize(("seed", "size"), [(s, "tiny") for s in range(1, 9)] + [(4, "small")])
def test_every_world_has_each_new_type_on_both_card_models(seed: int, size: str) -> None:
    g = generate(seed=seed, size=size, end=END)
    is_sb = np.array([m == "ShareBalance" for m in g.cards.model])
    for kind in NEW_KINDS:
        on = g.txns.kind == kind
        assert (on & is_sb[g.txns.card]).any(), (TXN_TYPE_V14[kind], "ShareBalance")
        assert (on & ~is_sb[g.txns.card]).any(), (TXN_TYPE_V14[kind], "Standard")
    small_share = int(np.isin(g.txns.kind, NEW_KINDS).sum()) / len(g.txns)
    assert small_share < 0.12, "the new kinds are a small fraction of the transactions"


def test_world_sizes_stay_near_their_promised_transaction_counts() -> None:
    for size, want in (("tiny", 240), ("small", 3_000)):
        g = generate(seed=1, size=size, end=END)
        n = int((g.txns.kind != TOPUP).sum())
        # 6.9% more beside them, a little more in a tiny world (at least two of each kind
        # on each card model)
        assert want <= n <= want * 1.15, (size, n)


# -- each type's record --------------------------------------------------------------------
def test_v14_items_carry_each_types_own_name_direction_and_status() -> None:
    w = world(2)
    items = {t["id"]: t for t in v14_txns(w)}
    for kind, (name, direction) in SETTLED_KINDS.items():
        rows = np.flatnonzero((w.txns.kind == kind) & (w.txns.settle_at <= w.as_of))
        assert len(rows), name
        for r in rows:
            t = items[w.txns.id[r]]
            assert (t["transactionType"], t["fundsDirection"], t["status"]) == (
                name,
                direction,
                "Settled",
            )
            assert t["settledAmount"]["amount"] > 0
            assert t["settleTime"] is not None


def test_an_auth_query_is_a_zero_amount_verification_that_never_settles() -> None:
    w = world(3)
    rows = np.flatnonzero(w.txns.kind == AUTH_QUERY)
    assert len(rows) >= 4
    assert (w.as_of - w.txns.auth_at[rows] > 7 * 86_400_000).any(), "some are old"
    for clock in (w.end_ms - 10 * 86_400_000, w.end_ms):
        w.set_clock(clock)
        items = {t["id"]: t for t in v14_txns(w)}
        for r in rows[w.txns.auth_at[rows] <= clock]:
            t = items[w.txns.id[r]]
            assert t["transactionType"] == "AuthQuery"
            assert t["status"] == "AuthSuccess"
            assert t["authAmount"]["amount"] == t["transAmount"]["amount"] == 0
            assert t["settledAmount"] is None and t["settleTime"] is None
            assert t["failureReason"] is None


def test_follow_ups_come_after_an_earlier_transaction_of_the_same_card_and_not_above_it() -> None:
    parent_kind = {
        REVERSAL: CONSUME,
        CONSUME_DISPUTE: CONSUME,
        DISPUTE_RELEASE: CONSUME_DISPUTE,
        CONSUME_REFUND_REVERSAL: REFUND,
    }
    for seed in (1, 2, 3):
        t = generate(seed=seed, size="tiny", end=END).txns
        for kind, parent in parent_kind.items():
            for r in np.flatnonzero(t.kind == kind):
                same = (t.card == t.card[r]) & (t.kind == parent) & (t.settle_at != NEVER)
                earlier = same & (t.settle_at < t.auth_at[r])
                assert (earlier & (t.settled_cents >= t.settled_cents[r])).any(), (
                    TXN_TYPE_V14[kind],
                    t.id[r],
                )
                assert t.settle_at[r] == t.auth_at[r], "settled as it happens"
                assert t.settled_cents[r] == t.auth_cents[r] > 0


# -- the money --------------------------------------------------------------------------
@pytest.mark.parametrize(("seed", "size"), [(1, "tiny"), (3, "tiny"), (4, "small")])
def test_share_balance_postings_follow_the_model(seed: int, size: str) -> None:
    """One settlement entry of the transaction's own type per settled ShareBalance
    transaction, orderNo = its id, signed by its direction, for its settled amount; a hold
    and a release only for a Consume; nothing at all for an AuthQuery or a decline."""
    w = world(seed, size)
    model = {cid: w.cards.model[i] for i, cid in enumerate(w.cards.id)}
    entries = defaultdict(list)
    for a in account_logs(w):
        entries[a["orderNo"]].append(a)
    for t in v14_txns(w):
        if model[t["cardInfo"]["cardId"]] != "ShareBalance":
            assert t["id"] not in entries, "Standard spending never reaches the account ledger"
            continue
        got = entries.get(t["id"], [])
        types = sorted(a["accountTransType"] for a in got)
        name = t["transactionType"]
        if name == "AuthQuery" or t["status"] == "AuthFailure":
            assert types == [], t
            continue
        settled = t["status"] == "Settled"
        holds = ["AuthHold"] + (["AuthRelease"] if settled else [])
        want = sorted((holds if name == "Consume" else []) + ([name] if settled else []))
        assert types == want, t
        for a in got:
            if a["accountTransType"] == name:
                sign = 1 if t["fundsDirection"] == "Income" else -1
                assert a["transAmount"] == sign * t["settledAmount"]["amount"], t
                assert a["fundsDirection"] == t["fundsDirection"]
                assert a["cardInfo"]["cardId"] == t["cardInfo"]["cardId"]


@pytest.mark.parametrize(("seed", "size"), [(1, "tiny"), (2, "tiny"), (3, "tiny"), (4, "small")])
def test_standard_balances_follow_the_one_rule_and_never_go_negative(seed: int, size: str) -> None:
    w = world(seed, size)
    t, lg = w.txns, w.card_logs
    std = [i for i in range(len(w.cards)) if w.cards.model[i] == "Standard"]
    for i in std:
        events = np.concatenate(
            [
                t.auth_at[t.card == i],
                t.settle_at[(t.card == i) & (t.settle_at != NEVER)],
                lg.completed_at[(lg.card == i) & (lg.completed_at != NEVER)],
            ]
        )
        for clock in np.unique(events):
            w.set_clock(int(clock))
            assert w.card_view(i).balance_cents >= 0, (w.cards.id[i], int(clock))
    w.set_clock(w.end_ms)
    # at the end: the reported balance is funding + the one rule over the served items
    effect: dict[str, Decimal] = defaultdict(Decimal)
    for item in v14_txns(w):
        income = item["fundsDirection"] == "Income"
        if item["status"] == "Settled":
            amount = item["settledAmount"]["amount"]
            effect[item["cardInfo"]["cardId"]] += amount if income else -amount
        elif item["status"] == "AuthSuccess" and not income:
            effect[item["cardInfo"]["cardId"]] -= item["authAmount"]["amount"]
    funding: dict[str, Decimal] = defaultdict(Decimal)
    for log in served(render.card_logs(w, w.select_card_logs(None, None), "v1.4")):
        if log["status"] == "Completed":
            inc = log["fundsDirection"] == "Income"
            funding[log["cardInfo"]["cardId"]] += (
                log["transAmount"]["amount"] if inc else -log["totalAmount"]["amount"]
            )
    for i in std:
        cid = w.cards.id[i]
        card = served(render.card(w.card_view(i), "v1.4"))
        assert card["balanceAmount"] == funding[cid] + effect[cid], cid


def test_auth_queries_move_no_money_anywhere() -> None:
    """Taking every AuthQuery out of a world changes no card, no account and no ledger."""
    w = world(5)
    before = (
        [w.card_view(i) for i in range(len(w.cards))],
        w.account_balances(),
        account_logs(w),
    )
    keep = np.flatnonzero(w.txns.kind != AUTH_QUERY)
    assert len(keep) < len(w.txns)
    w.txns = take(w.txns, keep)
    w.reindex()
    after = (
        [w.card_view(i) for i in range(len(w.cards))],
        w.account_balances(),
        account_logs(w),
    )
    assert after == before


def test_the_ledger_chains_and_stays_covered_with_every_kind() -> None:
    for seed, size in ((1, "tiny"), (4, "small"), (2, "demo")):
        w = world(seed, size)
        a = w.account_logs
        for cur in np.unique(a.currency):
            sel = np.flatnonzero(a.currency == cur)
            assert (np.diff(a.available_after[sel]) == a.trans_cents[sel][1:]).all()
            assert a.available_after[sel][0] == a.trans_cents[sel][0]
            assert (a.available_after[sel] >= 0).all()
            assert (a.blocked_after[sel] >= 0).all()


# -- the v2.0 document's view ---------------------------------------------------------------
def test_v20_shows_expenditure_as_purchase_income_as_refund() -> None:
    w = world(1)
    rows = w.select_transactions(None, None, include_topups=True)
    rows = render.served_rows(w, rows, "v2.0")
    kinds = w.txns.kind[rows]
    assert AUTH_QUERY not in set(kinds.tolist())
    assert {CONSUME_DISPUTE, DISPUTE_RELEASE, CONSUME_REFUND_REVERSAL, REVERSAL} <= set(
        kinds.tolist()
    )
    items = served(render.transactions(w, rows, "v2.0"))
    for r, item in zip(rows.tolist(), items, strict=True):
        kind = int(w.txns.kind[r])
        if kind == TOPUP:
            assert item["transactionType"] == "TopUp"
            continue
        _, direction = SETTLED_KINDS.get(kind, ("", "Expenditure"))  # a decline: Expenditure
        want = "Refund" if direction == "Income" else "Purchase"
        assert item["transactionType"] == want, TXN_TYPE_V14[kind]
        assert item["amount"] > 0 if want == "Refund" else item["amount"] < 0, item


def test_served_in_keeps_topups_out_of_v14_and_auth_queries_out_of_v20() -> None:
    kinds = np.arange(len(TXN_TYPE_V14))
    v14 = {TXN_TYPE_V14[k] for k in kinds[served_in("v1.4", kinds)]}
    v20 = {TXN_TYPE_V14[k] for k in kinds[served_in("v2.0", kinds)]}
    assert v14 == V14_TYPES
    assert v20 == (V14_TYPES - {"AuthQuery"}) | {"TopUp"}


# -- the scenarios of a missing settlement entry --------------------------------------------
@pytest.mark.parametrize("name", MISSING_ENTRY_SCENARIOS)
def test_each_missing_entry_scenario_drops_exactly_one_settlement_entry(name: str) -> None:
    clean, w = world(3), world(3)
    sc = scenarios.build(name, w)
    assert len(sc.planted) == 1
    b = sc.planted[0]
    assert (b.check, b.severity, b.entity_type, b.settlement) == (
        "txn_missing_ledger",
        "error",
        "transaction",
        True,
    )
    r = w.txn_index[b.entity_id]
    assert TXN_TYPE_V14[int(w.txns.kind[r])] == MISSING_ENTRY_SCENARIOS[name]
    assert w.cards.model[int(w.txns.card[r])] == "ShareBalance"
    assert w.txns.settle_at[r] <= w.as_of
    assert b.currency == w.cards.currency[int(w.txns.card[r])]

    def pairs(x: World) -> set[tuple[str, str]]:
        return {(a["orderNo"], a["accountTransType"]) for a in account_logs(x)}

    assert pairs(clean) - pairs(w) == {(b.entity_id, MISSING_ENTRY_SCENARIOS[name])}
    assert pairs(w) <= pairs(clean)
    # re-chained: every entry follows from the one before, and the account snapshot
    # agrees with the last entry; the transactions and cards are untouched
    for cur in w.currencies:
        entries = [a for a in account_logs(w) if a["currency"] == cur]
        for prev, a in itertools.pairwise(entries):
            assert prev["availableBalance"] + a["transAmount"] == a["availableBalance"]
        available, _ = w.account_balances()[cur]
        assert Decimal(available) / 100 == entries[-1]["availableBalance"]
    assert v14_txns(w) == v14_txns(clean)
    assert [w.card_view(i) for i in range(len(w.cards))] == [
        clean.card_view(i) for i in range(len(clean.cards))
    ]
    for dialect in ("v2.0", "v1.4"):
        assert [x["entity_id"] for x in sc.manifest(dialect)["breaks"]] == [b.entity_id]


def test_broken_books_plants_every_missing_entry_on_a_card_of_its_own() -> None:
    w = world(2, "demo")
    sc = scenarios.build("broken_books", w)
    missing = [b for b in sc.planted if b.check == "txn_missing_ledger"]
    types = sorted(TXN_TYPE_V14[int(w.txns.kind[w.txn_index[b.entity_id]])] for b in missing)
    assert types == sorted(MISSING_ENTRY_SCENARIOS.values())
    cards = [int(w.txns.card[w.txn_index[b.entity_id]]) for b in missing]
    assert len(set(cards)) == len(cards)
    planted_cards = [
        w.card_index[b.entity_id] for b in sc.planted if b.entity_type == "card"
    ] + cards
    assert len(set(planted_cards)) == len(planted_cards)
