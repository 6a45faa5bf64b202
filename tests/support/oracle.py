"""A plain-Python reading of RECONCILIATION.md, used as a test oracle.

It reads only what the sandbox *serves* (the rendered JSON of either dialect, parsed
with ``Decimal``), never the generator's columns, and applies every check of
RECONCILIATION.md with Decimal arithmetic. Slow and simple on purpose: it is the
independent yardstick for the sandbox's consistency and the scenario manifests.
"""

from __future__ import annotations

import json
from collections import defaultdict
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import Any

import orjson

from sandbox import render
from sandbox.world import World, WorldError

FUNDING = ("ApplyCard", "CardTopUp", "CardWithdraw", "CardCancel")
SETTLEMENT = (
    "Consume",
    "ConsumeRefund",
    "ConsumeReversal",
    "ConsumeRefundReversal",
    "ConsumeDispute",
    "DisputeRelease",
    "TransFee",
)
SB_SPENDING = ("AuthHold", "AuthRelease", *SETTLEMENT)
HOLDS = ("AuthHold", "AuthRelease")


def _json(obj: Any) -> Any:
    return json.loads(orjson.dumps(obj), parse_float=Decimal, parse_int=Decimal)


def _ms(text: str) -> int:
    return int(datetime.fromisoformat(text.replace("Z", "+00:00")).timestamp() * 1000)


@dataclass
class Txn:
    id: str
    card_id: str
    status: str  # authorized / settled / failed
    income: bool
    auth: Decimal
    settled: Decimal | None
    auth_ms: int
    is_topup: bool
    is_auth_query: bool = False  # a card verification: holds nothing, never stale

    def effect(self) -> Decimal:
        if self.is_topup or self.is_auth_query or self.status == "failed":
            return Decimal(0)
        if self.status == "authorized":
            return Decimal(0) if self.income else -self.auth
        assert self.settled is not None
        return self.settled if self.income else -self.settled


@dataclass
class Books:
    dialect: str
    txns: list[Txn]
    card_logs: list[dict[str, Any]]
    account_logs: list[dict[str, Any]]
    cards: dict[str, dict[str, Any]]
    accounts: Any
    orders: dict[str, dict[str, Any]]


def served_books(world: World, dialect: str) -> Books:
    """Everything the sandbox serves at its clock, as a client would parse it."""
    topups = dialect == render.V20
    t_rows = world.select_transactions(None, None, include_topups=topups)
    raw_txns = _json(render.transactions(world, t_rows, dialect))
    card_logs = _json(render.card_logs(world, world.select_card_logs(None, None), dialect))
    account_logs = _json(render.account_logs(world, world.select_account_logs(None, None), dialect))
    txns = [_txn(t, dialect) for t in raw_txns]
    card_ids = (
        {t.card_id for t in txns}
        | {lg["cardInfo"]["cardId"] for lg in card_logs}
        | {a["cardInfo"]["cardId"] for a in account_logs if a["cardInfo"]}
    )
    cards = {}
    for cid in sorted(card_ids):
        view = world.card(cid)
        assert view is not None, f"card {cid} is referenced but not served"
        cards[cid] = _json(render.card(view, dialect))
    order_nos = {lg["cardOrderNo"] for lg in card_logs} | {
        a["orderNo"] for a in account_logs if a["accountTransType"] in FUNDING
    }
    orders = {}
    for no in sorted(order_nos):
        for model in ("Standard", "ShareBalance"):
            try:
                orders[no] = _json(
                    render.order(world, world.order(model=model, order_no=no), dialect)
                )
            except WorldError:
                continue
    return Books(
        dialect,
        txns,
        card_logs,
        account_logs,
        cards,
        _json(render.accounts(world, dialect)),
        orders,
    )


def _txn(t: dict[str, Any], dialect: str) -> Txn:
    if dialect == render.V20:
        amount = t["amount"]
        status = {"Pending": "authorized", "Success": "settled", "Failed": "failed"}[t["status"]]
        return Txn(
            t["transactionId"],
            t["cardId"],
            status,
            amount > 0,
            abs(amount),
            abs(amount) if status == "settled" else None,
            _ms(t["transactionTime"]),
            t["transactionType"] == "TopUp",
        )
    status = {"AuthSuccess": "authorized", "Settled": "settled", "AuthFailure": "failed"}[
        t["status"]
    ]
    settled = t["settledAmount"]["amount"] if t["settledAmount"] else None
    return Txn(
        t["id"],
        t["cardInfo"]["cardId"],
        status,
        t["fundsDirection"] == "Income",
        t["authAmount"]["amount"],
        settled,
        _ms(t["authTime"]),
        False,
        t["transactionType"] == "AuthQuery",
    )


Break = tuple[str, str, str, str, str]  # check, severity, entity_type, entity_id, currency


def reconcile(b: Books, now_ms: int, stale_days: int = 7) -> set[Break]:
    """Every check of RECONCILIATION.md over full-history books; returns the breaks."""
    out: set[Break] = set()
    model = {cid: c["cardModel"] for cid, c in b.cards.items()}
    currency = {cid: c["cardCurrency"] for cid, c in b.cards.items()}
    v14 = b.dialect == render.V14

    # account_ledger_chain and account_balance
    last: dict[str, tuple[Decimal, Decimal]] = {}
    by_cur: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for a in b.account_logs:
        by_cur[a["currency"]].append(a)
    for cur, entries in by_cur.items():
        entries.sort(key=lambda a: (_ms(a["transTime"]), a["id"]))
        avail, blocked = Decimal(0), Decimal(0)
        for a in entries:
            amt = a["transAmount"]
            assert (amt > 0) == (a["fundsDirection"] == "Income"), a
            want_blocked = blocked - amt if a["accountTransType"] in HOLDS else blocked
            if avail + amt != a["availableBalance"] or want_blocked != a["blockedBalance"]:
                out.add(("account_ledger_chain", "error", "account_log", a["id"], cur))
            avail, blocked = a["availableBalance"], a["blockedBalance"]
        last[cur] = (avail, blocked)
    snap = (
        {b.accounts["currency"]: (b.accounts["availableBalance"], b.accounts["frozenBalance"])}
        if not v14
        else {x["currency"]: (x["amount"], None) for x in b.accounts}
    )
    for cur, (avail, frozen) in snap.items():
        want = last.get(cur, (Decimal(0), Decimal(0)))
        if avail != want[0] or (frozen is not None and frozen != want[1]):
            out.add(("account_balance", "error", "account", cur, cur))

    # card_balance, card_credit_usage, credit_limit_exceeded
    effect: dict[str, Decimal] = defaultdict(Decimal)
    for t in b.txns:
        effect[t.card_id] += t.effect()
    funding: dict[str, Decimal] = defaultdict(Decimal)
    for lg in b.card_logs:
        if lg["status"] == "Completed":
            income = lg["fundsDirection"] == "Income"
            funding[lg["cardInfo"]["cardId"]] += (
                lg["transAmount"]["amount"] if income else -lg["totalAmount"]["amount"]
            )
    for cid, c in b.cards.items():
        if c["cardModel"] == "Standard":
            reported = c["balance"] if not v14 else c["balanceAmount"]
            if reported != funding[cid] + effect[cid]:
                out.add(("card_balance", "error", "card", cid, currency[cid]))
        elif v14:
            used = c["usedCreditAmount"]
            if used != -effect[cid]:
                out.add(("card_credit_usage", "error", "card", cid, currency[cid]))
            if c["maxCreditAmount"] is not None and used > c["maxCreditAmount"]:
                out.add(("credit_limit_exceeded", "warning", "card", cid, currency[cid]))

    # card logs against account logs and orders
    acct_by_order: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for a in b.account_logs:
        acct_by_order[a["orderNo"]].append(a)
    logs_by_order = {lg["cardOrderNo"]: lg for lg in b.card_logs}
    for lg in b.card_logs:
        no, cid = lg["cardOrderNo"], lg["cardInfo"]["cardId"]
        fee_sum = sum((f["amount"]["amount"] for f in lg["feeItems"]), Decimal(0))
        if lg["totalFee"]["amount"] != fee_sum:
            out.add(("fee_mismatch", "error", "order", no, currency[cid]))
        if lg["status"] != "Completed":
            continue
        pair = [a for a in acct_by_order.get(no, []) if a["accountTransType"] in FUNDING]
        if not pair:
            out.add(("missing_account_entry", "error", "order", no, currency[cid]))
            continue
        income = lg["fundsDirection"] == "Income"
        want = -lg["totalAmount"]["amount"] if income else lg["transAmount"]["amount"]
        if pair[0]["transAmount"] != want:
            out.add(("funding_mismatch", "error", "order", no, currency[cid]))
    for a in b.account_logs:
        card = a["cardInfo"]["cardId"] if a["cardInfo"] else None
        if (
            a["accountTransType"] in FUNDING
            and card
            and model.get(card) == "Standard"
            and a["orderNo"] not in logs_by_order
        ):
            out.add(("missing_card_entry", "error", "order", a["orderNo"], a["currency"]))

    for no, o in b.orders.items():
        fee_field = {
            "ApplyCard": "totalFee",
            "CardTopUp": "totalFee",
            "CardWithdraw": "withdrawFee",
            "CardCancel": "fee",
        }.get(o["orderType"])
        log_of_order = logs_by_order.get(no)
        if (
            log_of_order is not None
            and fee_field
            and o.get(fee_field) is not None
            and o[fee_field] != log_of_order["totalFee"]["amount"]
        ):
            out.add(
                (
                    "fee_mismatch",
                    "error",
                    "order",
                    no,
                    o["productInfo"]["cardCurrency"]
                    if "productInfo" in o
                    else log_of_order["totalFee"]["currency"],
                )
            )
        pair = [a for a in acct_by_order.get(no, []) if a["accountTransType"] in FUNDING]
        if not pair:
            continue
        if "transFee" in o:  # ShareBalance opening: only the fee moves
            moved = o["transFee"]
        elif o["orderType"] in ("ApplyCard", "CardTopUp"):
            moved = o["totalTopUpAmount"] + o["totalFee"]
        elif o["orderType"] == "CardWithdraw":
            moved = o["withdrawAmount"]
        else:
            moved = o["refundAmount"]
        if moved is not None and moved != abs(pair[0]["transAmount"]):
            out.add(("order_amount_mismatch", "error", "order", no, pair[0]["currency"]))

    # ShareBalance transactions against the ledger
    txn_ids = {t.id for t in b.txns}
    for t in b.txns:
        if model.get(t.card_id) != "ShareBalance" or t.status != "settled":
            continue
        entries = [a for a in acct_by_order.get(t.id, []) if a["accountTransType"] in SETTLEMENT]
        if not entries:
            out.add(("txn_missing_ledger", "error", "transaction", t.id, currency[t.card_id]))
        elif abs(entries[0]["transAmount"]) != t.settled:
            out.add(("txn_amount_mismatch", "error", "transaction", t.id, currency[t.card_id]))
    for a in b.account_logs:
        if a["accountTransType"] in SB_SPENDING and a["orderNo"] not in txn_ids:
            out.add(("ledger_missing_txn", "error", "account_log", a["id"], a["currency"]))

    # warnings on transactions
    for t in b.txns:
        if (
            t.status == "authorized"
            and not t.is_topup
            and not t.is_auth_query
            and now_ms - t.auth_ms > stale_days * 86_400_000
        ):
            out.add(("stale_authorization", "warning", "transaction", t.id, currency[t.card_id]))
    return out
