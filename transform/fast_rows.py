"""The fast rows: a plain item of a high-volume stream mapped without a reader.

A fast-row function returns an item's content columns by name, as its dialect's mapper
(``transform.dialects``) does, with money as exact text (cast to ``MONEY`` by polars for
the whole batch at once), or None when anything about the item is not plain: then the
item goes through the mapper and the readers, which decide and explain. What a fast row
holds is what the mapper gives for the same item: tests compare the two on arbitrary
items (``tests/transform/test_transform_properties.py``).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from transform.dialects import (
    V14,
    V14_TXN_STATUS,
    V20,
    V20_INCOME_TYPES,
    V20_TXN_STATUS,
    V20_TXN_TYPE,
    Row,
)
from transform.readers import is_plain, is_plain_or_none, money_text, to_time

__all__ = ["FAST_ROWS", "FastRow"]

FastRow = Callable[[dict[str, Any]], Row | None]


def _account_log(item: dict[str, Any]) -> Row | None:
    g: Callable[[str], Any] = item.get
    log_id, kind, direction, currency = (
        g("id"), g("accountTransType"), g("fundsDirection"), g("currency")
    )  # fmt: skip
    order_no, note, card_info = g("orderNo"), g("note"), g("cardInfo")
    if not (
        is_plain(log_id) and is_plain(kind) and is_plain(direction) and is_plain(currency)
        and is_plain_or_none(order_no) and is_plain_or_none(note)
    ):  # fmt: skip
        return None
    card_id = None
    if card_info is not None:
        if type(card_info) is not dict:
            return None
        card_id = card_info.get("cardId")
        if not is_plain_or_none(card_id):
            return None
    amount, available, blocked = (
        money_text(g("transAmount")),
        money_text(g("availableBalance")),
        money_text(g("blockedBalance")),
    )
    when = g("transTime")
    at = to_time(when) if type(when) is str else None
    if amount is None or available is None or blocked is None or at is None:
        return None
    return {
        "account_log_id": log_id,
        "trans_type": kind,
        "funds_direction": direction,
        "currency": currency,
        "trans_amount": amount,
        "available_balance": available,
        "blocked_balance": blocked,
        "order_no": order_no,
        "card_id": card_id,
        "trans_at": at,
        "note": note,
    }


def _txn_v20(item: dict[str, Any]) -> Row | None:
    g: Callable[[str], Any] = item.get
    txn_id, card_id, currency, raw_type, raw_status = (
        g("transactionId"), g("cardId"), g("currency"), g("transactionType"), g("status")
    )  # fmt: skip
    merchant, auth_code, amount, when = (
        g("merchantName"), g("authCode"), g("amount"), g("transactionTime")
    )  # fmt: skip
    if not (
        is_plain(txn_id) and is_plain(card_id) and is_plain(currency) and is_plain(raw_type)
        and is_plain(raw_status) and is_plain_or_none(merchant) and is_plain_or_none(auth_code)
    ):  # fmt: skip
        return None
    if money_text(amount) is None:
        return None
    at = to_time(when) if type(when) is str else None
    if at is None:
        return None
    tx_type = V20_TXN_TYPE.get(raw_type, raw_type)
    status = V20_TXN_STATUS.get(raw_status, raw_status)
    income = amount > 0 or (amount == 0 and tx_type in V20_INCOME_TYPES)
    magnitude = money_text(abs(amount))
    return {
        "transaction_id": txn_id,
        "card_id": card_id,
        "transaction_type": tx_type,
        "status": status,
        "funds_direction": "Income" if income else "Expenditure",
        "currency": currency,
        "trans_amount": magnitude,
        "auth_amount": magnitude,
        "settled_amount": magnitude if status == "settled" else None,
        "auth_at": at,
        "merchant_name": merchant,
        "auth_code": auth_code,
        "is_topup_mirror": tx_type == "TopUp",
    }


def _money_object(value: Any, required: bool) -> tuple[str | None, str | None] | None:
    """An ``{amount, currency}`` object as (amount text, currency); None: not plain."""
    if value is None:
        return None if required else (None, None)
    if type(value) is not dict:
        return None
    amount, currency = value.get("amount"), value.get("currency")
    if not is_plain_or_none(currency):
        return None
    if amount is None:
        return None if required else (None, currency)
    text = money_text(amount)
    return None if text is None else (text, currency)


def _txn_v14(item: dict[str, Any]) -> Row | None:
    g: Callable[[str], Any] = item.get
    txn_id, raw_status, direction, tx_type = (
        g("id"), g("status"), g("fundsDirection"), g("transactionType")
    )  # fmt: skip
    merchant, country, auth_code, failure = (
        g("merchantName"), g("merchantCountryCode"), g("authCode"), g("failureReason")
    )  # fmt: skip
    card_info = g("cardInfo")
    if not (
        is_plain(txn_id) and is_plain(raw_status) and is_plain(direction) and is_plain(tx_type)
        and is_plain_or_none(merchant) and is_plain_or_none(country)
        and is_plain_or_none(auth_code) and is_plain_or_none(failure)
        and type(card_info) is dict
    ):  # fmt: skip
        return None
    card_id, card_currency = card_info.get("cardId"), card_info.get("cardCurrency")
    if not (is_plain(card_id) and is_plain_or_none(card_currency)):
        return None
    auth = _money_object(g("authAmount"), required=True)
    trans = _money_object(g("transAmount"), required=False)
    settled = _money_object(g("settledAmount"), required=False)
    if auth is None or trans is None or settled is None:
        return None
    auth_when, settle_when = g("authTime"), g("settleTime")
    auth_at = to_time(auth_when) if type(auth_when) is str else None
    settled_at = None
    if settle_when is not None:
        settled_at = to_time(settle_when) if type(settle_when) is str else None
        if settled_at is None:
            return None
    if auth_at is None:
        return None
    return {
        "transaction_id": txn_id,
        "card_id": card_id,
        "transaction_type": tx_type,
        "status": V14_TXN_STATUS.get(raw_status, raw_status),
        "funds_direction": direction,
        "currency": auth[1] or card_currency,
        "trans_amount": trans[0],
        "auth_amount": auth[0],
        "settled_amount": settled[0],
        "auth_at": auth_at,
        "settled_at": settled_at,
        "merchant_name": merchant,
        "merchant_country": country,
        "auth_code": auth_code,
        "failure_reason": failure,
        "is_topup_mirror": tx_type == "TopUp",
    }


FAST_ROWS: dict[tuple[str, str], FastRow] = {
    ("transactions", V20): _txn_v20,
    ("transactions", V14): _txn_v14,
    ("account_logs", ""): _account_log,
}
