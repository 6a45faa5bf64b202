"""World rows -> the JSON items of each dialect (API.md, "Items").

Amounts are emitted as exact JSON numbers built from integer cents
(``orjson.Fragment``), never through a float. Two dialects:

* ``v2.0`` - the client's document: flat transactions with a signed ``amount``,
  ``Pending/Success/Failed``, ``Purchase/Refund/TopUp``; account as one object. The
  document knows no other type: every Expenditure kind is a ``Purchase`` and every
  Income kind a ``Refund`` (``model.TXN_TYPE_V20``); an ``AuthQuery`` is not a v2.0
  transaction at all and is not served (``served_in``).
* ``v1.4`` - the published reference: transactions with auth/settled amounts and
  times, ``AuthSuccess/AuthFailure/Settled``, ``transactionType`` the type's own v1.4
  name (``Consume``, ``ConsumeRefund``, ``ConsumeReversal``, ``ConsumeRefundReversal``,
  ``ConsumeDispute``, ``DisputeRelease``, ``AuthQuery``, ``TransFee``); card endpoint with
  card number and CVV.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import orjson

from sandbox.catalog import FAILURE_REASONS, MERCHANTS
from sandbox.model import (
    ACCOUNT_LOG_TYPES,
    CARD_LOG_INCOME,
    CARD_LOG_TYPES,
    DECLINED,
    FEE_TYPES,
    NEVER,
    NO_FEE,
    TOPUP,
    TXN_INCOME,
    TXN_TYPE_V14,
    TXN_TYPE_V20,
    Order,
    cents_text,
    ms_to_iso,
    served_in,
)
from sandbox.world import AUTHORIZED, FAILED, SETTLED, CardView, World

V20, V14 = "v2.0", "v1.4"
DIALECTS = (V20, V14)

V20_STATUS = {AUTHORIZED: "Pending", SETTLED: "Success", FAILED: "Failed"}
V14_STATUS = {AUTHORIZED: "AuthSuccess", SETTLED: "Settled", FAILED: "AuthFailure"}
V14_CARD_STATUS = {"Active": "Active", "Blocked": "Blocked", "Cancelled": "Cancel"}


def money(cents: int) -> orjson.Fragment:
    """An exact JSON number for integer cents (``1050 -> 10.5``)."""
    return orjson.Fragment(cents_text(cents).encode())


def amount_obj(cents: int, currency: str) -> dict[str, Any]:
    return {"amount": money(cents), "currency": currency}


def _direction(income: bool) -> str:
    return "Income" if income else "Expenditure"


# -- transactions ----------------------------------------------------------------------
def served_rows(world: World, rows: np.ndarray, dialect: str) -> np.ndarray:
    """The transaction ``rows`` that ``dialect``'s transactions endpoint serves, in order:
    v1.4 has no TopUp transactions, v2.0 no AuthQuery (``model.TXN_SERVED``)."""
    kept: np.ndarray = rows[served_in(dialect, world.txns.kind[rows])]
    return kept


def transactions(world: World, rows: np.ndarray, dialect: str) -> list[dict[str, Any]]:
    statuses = world.txn_status(rows).tolist()
    render = _txn_v20 if dialect == V20 else _txn_v14
    return [render(world, int(r), s) for r, s in zip(rows.tolist(), statuses, strict=True)]


def _txn_v20(world: World, r: int, status: str) -> dict[str, Any]:
    t, c = world.txns, world.cards
    card = int(t.card[r])
    kind = int(t.kind[r])
    income = bool(TXN_INCOME[kind])
    cents = int(t.settled_cents[r] if status == SETTLED else t.auth_cents[r])
    if kind == TOPUP:
        tx_type, merchant, description = "TopUp", None, f"Card top-up, order {t.order_no[r]}"
    else:
        # Purchase / Refund by direction. A kind v2.0 does not serve (AuthQuery) must not
        # reach here (the endpoint keeps only ``served_rows``); if it does, it shows as the
        # zero-amount purchase it checks.
        tx_type = TXN_TYPE_V20[kind] or "Purchase"
        merchant = MERCHANTS[int(t.merchant[r])][0]
        description = TXN_TYPE_V14[kind] if kind != DECLINED else "Declined"
    return {
        "transactionId": t.id[r],
        "cardId": c.id[card],
        "amount": money(cents if income else -cents),
        "currency": c.currency[card],
        "transactionType": tx_type,
        "status": V20_STATUS[status],
        "merchantName": merchant,
        "description": description,
        "transactionTime": ms_to_iso(int(t.auth_at[r])),
        "authCode": t.auth_code[r] or None,
    }


def _txn_v14(world: World, r: int, status: str) -> dict[str, Any]:
    t, c = world.txns, world.cards
    card = int(t.card[r])
    kind = int(t.kind[r])
    currency = c.currency[card]
    m = MERCHANTS[int(t.merchant[r])]
    failure = int(t.failure[r])
    settled = status == SETTLED
    return {
        "id": t.id[r],
        "authTime": ms_to_iso(int(t.auth_at[r])),
        "settleTime": ms_to_iso(int(t.settle_at[r])) if settled else None,
        "transAmount": amount_obj(int(t.auth_cents[r]), currency),
        "authAmount": amount_obj(int(t.auth_cents[r]), currency),
        "settledAmount": amount_obj(int(t.settled_cents[r]), currency) if settled else None,
        "cardInfo": {
            "cardId": c.id[card],
            "maskedCardNumber": c.masked(card),
            "cardCurrency": currency,
        },
        "cardAlias": c.alias[card],
        "authCode": t.auth_code[r],
        "merchantName": m[0],
        "merchantCountryCode": m[1],
        "merchantCity": m[2],
        "merchantState": m[3],
        "merchantZipCode": m[4],
        "merchantDesc": f"{m[0]} {m[2]}".upper(),
        "status": V14_STATUS[status],
        "fundsDirection": _direction(bool(TXN_INCOME[kind])),
        "transactionType": TXN_TYPE_V14[kind],
        "failureReason": FAILURE_REASONS[failure][0] if failure >= 0 else None,
        "failureReasonCn": FAILURE_REASONS[failure][1] if failure >= 0 else None,
        "note": None,
    }


# -- card account logs (same item in both dialects) ------------------------------------
def card_logs(world: World, rows: np.ndarray, dialect: str) -> list[dict[str, Any]]:
    del dialect  # the item is the same in both dialects
    lg, c = world.card_logs, world.cards
    statuses = world.card_log_status(rows).tolist()
    out = []
    for r, status in zip(rows.tolist(), statuses, strict=True):
        card = int(lg.card[r])
        cur = c.currency[card]
        kind = int(lg.kind[r])
        fees = [
            {"feeType": FEE_TYPES[int(ft)], "amount": amount_obj(int(fa), cur)}
            for ft, fa in ((lg.fee1_type[r], lg.fee1_cents[r]), (lg.fee2_type[r], lg.fee2_cents[r]))
            if ft != NO_FEE
        ]
        done = int(lg.completed_at[r])
        out.append(
            {
                "accountLogId": lg.id[r],
                "cardOrderNo": lg.order_no[r],
                "cardAccountLogType": CARD_LOG_TYPES[kind],
                "cardInfo": {"cardId": c.id[card], "maskedCardNumber": c.masked(card)},
                "fundsDirection": _direction(bool(CARD_LOG_INCOME[kind])),
                "transAmount": amount_obj(int(lg.trans_cents[r]), cur),
                "totalFee": amount_obj(int(lg.total_fee_cents[r]), cur),
                "feeItems": fees,
                "totalAmount": amount_obj(int(lg.total_cents[r]), cur),
                "status": status,
                "failureReason": "Payment failed" if status == "Failure" else None,
                "transTime": ms_to_iso(int(lg.trans_at[r])),
                "completedTime": ms_to_iso(done) if status == "Completed" else None,
                "note": None,
            }
        )
    return out


# -- account logs (same item in both dialects) -----------------------------------------
def account_logs(world: World, rows: np.ndarray, dialect: str) -> list[dict[str, Any]]:
    del dialect
    a, c = world.account_logs, world.cards
    out = []
    for r in rows.tolist():
        cents = int(a.trans_cents[r])
        card = int(a.card[r])
        out.append(
            {
                "id": a.id[r],
                "accountTransType": ACCOUNT_LOG_TYPES[int(a.kind[r])],
                "fundsDirection": _direction(cents > 0),
                "currency": a.currency[r],
                "transAmount": money(cents),
                "availableBalance": money(int(a.available_after[r])),
                "blockedBalance": money(int(a.blocked_after[r])),
                "orderNo": a.order_no[r],
                "note": None,
                "cardInfo": None
                if card < 0
                else {"cardId": c.id[card], "maskedCardNumber": c.masked(card)},
                "transTime": ms_to_iso(int(a.trans_at[r])),
            }
        )
    return out


# -- snapshots -------------------------------------------------------------------------
def card(view: CardView, dialect: str) -> dict[str, Any]:
    max_credit = None if view.max_credit_cents is None else money(view.max_credit_cents)
    if dialect == V20:
        return {
            "cardId": view.card_id,
            "cardAlias": view.alias,
            "cardModel": view.model,
            "cardCurrency": view.currency,
            "cardStatus": view.status,
            "balance": money(view.balance_cents),
            "maxAuthAmount": money(view.max_auth_cents),
            "maxCreditAmount": max_credit,
            "createdOn": ms_to_iso(view.opened_at),
        }
    return {
        "cardId": view.card_id,
        "cardModel": view.model,
        "productCode": view.product_code,
        "cardNumber": view.number,
        "cvv": view.cvv,
        "expirationMMYY": view.expiry,
        "cardCurrency": view.currency,
        "alias": view.alias,
        "balanceAmount": money(view.balance_cents),
        "status": V14_CARD_STATUS[view.status],
        "maxAuthAmount": money(view.max_auth_cents),
        "usedCreditAmount": money(view.used_credit_cents),
        "maxCreditAmount": max_credit,
        "cardOrganization": view.organization,
        "applyTime": ms_to_iso(view.opened_at),
        "permissions": ["Online", "Recurring"],
    }


def accounts(world: World, dialect: str) -> Any:
    balances = world.account_balances()
    if dialect == V20:
        cur = world.primary_currency  # the v2.0 document returns one object
        available, blocked = balances[cur]
        return {
            "accountBalance": money(available + blocked),
            "availableBalance": money(available),
            "frozenBalance": money(blocked),
            "currency": cur,
        }
    return [{"currency": cur, "amount": money(av)} for cur, (av, _) in balances.items()]


def products(world: World, dialect: str) -> list[dict[str, Any]]:
    if dialect == V20:
        return [dict(p) for p in world.products]
    return [
        {
            **p,
            "cardBinConfigs": [
                {
                    "cardBin": "436797",
                    "cardOrganization": "Mastercard",
                    "openCardFee": money(100),
                    "topUpFeeRate": "0.01",
                    "maxAuthAmount": money(1_000_000_00),
                    "permissions": ["Online", "Recurring"],
                }
            ],
        }
        for p in world.products
    ]


def order(world: World, o: Order, dialect: str, status: str | None = None) -> dict[str, Any]:
    """One order, field names by order type as in the documents' examples."""
    del dialect  # orders look the same in both dialects
    c = world.cards
    cur = o.currency
    st = status or world.order_status(o)
    card_info = {
        "cardId": c.id[o.card],
        "productCode": o.product_code,
        "productName": _product_name(world, o.product_code),
        "cardCurrency": cur,
        "maskCardNumber": c.masked(o.card),
        "cardModel": o.model,
    }
    product_info = {k: card_info[k] for k in ("productCode", "productName")} | {
        "cardModel": o.model,
        "cardCurrency": cur,
    }
    done = ms_to_iso(o.completed_at) if st == "Completed" and o.completed_at != NEVER else None
    base: dict[str, Any] = {
        "orderNo": o.order_no,
        "customerOrderNo": o.customer_order_no,
        "orderType": o.order_type,
        "status": st,
        "createdOn": ms_to_iso(o.created_at),
        "completedOn": done,
    }
    fee_items = [
        {"feeType": name, "amount": money(cents), "currency": cur} for name, cents in o.fee_items
    ]
    if o.model == "ShareBalance" and o.order_type == "ApplyCard":
        base |= {
            "productInfo": product_info,
            "quantity": 1,
            "maxAuthAmount": _opt(o.max_auth_cents),
            "maxCreditAmount": _opt(o.max_credit_cents),
            "transAmount": money(0),
            "transFee": _opt(o.fee_cents),
            "totalAmount": _opt(o.total_cents),
            "openedQty": 1 if st == "Completed" else 0,
            "cardInfos": [card_info] if st == "Completed" else [],
        }
    elif o.order_type == "CreditLimit":
        base |= {
            "cardId": c.id[o.card],
            "maxAuthAmount": _opt(o.max_auth_cents),
            "maxCreditAmount": _opt(o.max_credit_cents),
            "failureReason": None,
        }
    elif o.order_type == "ApplyCard":
        base |= {
            "productInfo": product_info,
            "totalTopUpAmount": _opt(o.principal_cents),
            "totalFee": _opt(o.fee_cents),
            "totalPayAmount": _opt(o.total_cents),
            "totalCardCount": 1,
            "totalOpened": 1 if st == "Completed" else 0,
            "orderLines": [
                {
                    "orderLineNo": 1,
                    "topUpAmount": _opt(o.principal_cents),
                    "quantity": 1,
                    "feeItems": fee_items,
                }
            ],
            "cardInfos": [card_info] if st == "Completed" else [],
            "payMessage": None if o.failed else "扣款成功",
        }
    elif o.order_type == "CardTopUp":
        base |= {
            "productInfo": product_info,
            "totalTopUpAmount": _opt(o.principal_cents),
            "totalFee": _opt(o.fee_cents),
            "totalPayAmount": _opt(o.total_cents),
            "totalCardCount": 1,
            "totalCompletedCardCount": 1 if st == "Completed" else 0,
            "orderLines": [
                {
                    "orderLineNo": 1,
                    "cardInfo": card_info,
                    "topUpAmount": _opt(o.principal_cents),
                    "feeItems": fee_items,
                    "isCompleted": st == "Completed",
                    "completedOn": done,
                }
            ],
            "payMessage": "支付失败" if o.failed else None,
        }
    elif o.order_type == "CardWithdraw":
        base |= {
            "cardId": c.id[o.card],
            "withdrawAmount": _opt(o.principal_cents),
            "withdrawFee": _opt(o.fee_cents),
            "totalAmount": _opt(o.total_cents),
        }
    elif o.order_type == "CardCancel":
        base |= {
            "cardInfo": card_info,
            "refundAmount": _opt(o.principal_cents),
            "fee": _opt(o.fee_cents),
            "chargeMethodType": "FixedValue",
            "settleStatus": "Completed" if st == "Completed" else "Pending",
            "failureReason": None,
        }
    return base


def _opt(cents: int | None) -> orjson.Fragment | None:
    return None if cents is None else money(cents)


def _product_name(world: World, code: str) -> str:
    return next((str(p["productName"]) for p in world.products if p["productCode"] == code), "")
