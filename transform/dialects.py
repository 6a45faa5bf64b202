"""What each dialect sends, and how it maps onto the canonical columns (``transform.columns``).

Per (stream, dialect), or per stream when both dialects send the same (dialect ``""``):

* ``REQUIRED`` - the fields a page cannot do without: a page on which no item carries one
  of them with a usable value is a changed API, not a bad record;
* ``KEY_FIELD`` - the field holding the stream's natural key, as sent;
* ``MAPPERS`` - one item -> its canonical values, read through ``transform.readers``
  (a mapper never judges a value; it reads, and the reader records what it could not);
* ``ENUM_ALIASES`` - the spellings the service's own examples use for an enum value
  (``orderType: "TopUpCard"``), mapped to the canonical value by the alias table
  ``transform/model/enum_aliases.csv`` (API.md, "What the live service's own examples
  show"). Any other unknown value is kept as sent, so the schema's ``isin`` names it.

The statuses and types of v2.0 transactions are renamed to v1.4's canonical ones here too.
"""

from __future__ import annotations

import csv
from collections.abc import Callable, Mapping
from decimal import Decimal
from pathlib import Path
from typing import Any

from transform.columns import COLUMNS, Lineage
from transform.readers import Fields
from transform.vocab import DIALECTS

__all__ = [
    "ENUM_ALIASES",
    "KEY_FIELD",
    "MAPPERS",
    "REQUIRED",
    "V14",
    "V14_TXN_STATUS",
    "V20",
    "V20_INCOME_TYPES",
    "V20_TXN_STATUS",
    "V20_TXN_TYPE",
    "Mapper",
    "Row",
    "lookup",
]

V20, V14 = DIALECTS

# Required fields per (stream, dialect): a page on which no item carries one of them
# with a usable value is a changed API, not a bad record (SchemaFailure).
REQUIRED: dict[tuple[str, str], tuple[str, ...]] = {
    ("transactions", V20): (
        "transactionId",
        "cardId",
        "amount",
        "currency",
        "transactionType",
        "status",
        "transactionTime",
    ),
    ("transactions", V14): (
        "id",
        "authTime",
        "authAmount",
        "authAmount.amount",
        "cardInfo.cardId",
        "status",
        "fundsDirection",
        "transactionType",
    ),
    ("card_account_logs", ""): (
        "accountLogId",
        "cardOrderNo",
        "cardAccountLogType",
        "cardInfo.cardId",
        "fundsDirection",
        "transAmount",
        "transAmount.amount",
        "totalFee",
        "totalFee.amount",
        "totalAmount",
        "totalAmount.amount",
        "status",
        "transTime",
    ),
    ("account_logs", ""): (
        "id",
        "accountTransType",
        "fundsDirection",
        "currency",
        "transAmount",
        "availableBalance",
        "blockedBalance",
        "transTime",
    ),
    ("cards", V20): ("cardId", "cardModel", "cardCurrency", "cardStatus"),
    ("cards", V14): ("cardId", "cardModel", "cardCurrency", "status"),
    ("accounts", V20): ("currency", "availableBalance"),
    ("accounts", V14): ("currency", "amount"),
    ("orders", ""): ("orderNo", "orderType", "status"),
}
# The field holding each stream's natural key, as sent (for ``_item_key``).
KEY_FIELD: dict[tuple[str, str], str] = {
    ("transactions", V20): "transactionId",
    ("transactions", V14): "id",
    ("card_account_logs", ""): "accountLogId",
    ("account_logs", ""): "id",
    ("cards", ""): "cardId",
    ("accounts", ""): "currency",
    ("orders", ""): "orderNo",
}

V20_TXN_STATUS = {"Pending": "authorized", "Success": "settled", "Failed": "failed"}
V14_TXN_STATUS = {"AuthSuccess": "authorized", "Settled": "settled", "AuthFailure": "failed"}
V20_TXN_TYPE = {"Purchase": "Consume", "Refund": "ConsumeRefund", "TopUp": "TopUp"}
V20_INCOME_TYPES = frozenset({"ConsumeRefund", "TopUp"})  # direction of a zero v2.0 amount


def _read_aliases(path: Path) -> dict[str, dict[str, dict[str, str]]]:
    """stream -> column -> {alias: canonical}, from the alias table (module docstring)."""
    table: dict[str, dict[str, dict[str, str]]] = {}
    with path.open(encoding="utf-8", newline="") as f:
        for row in csv.DictReader(f):
            stream, column = row["stream"], row["column"]
            if stream not in COLUMNS or column not in COLUMNS[stream]:
                raise ValueError(f"{path.name}: no column {stream}.{column} to alias")
            table.setdefault(stream, {}).setdefault(column, {})[row["alias"]] = row["canonical"]
    return table


ALIASES_FILE = Path(__file__).parent / "model" / "enum_aliases.csv"
# The spellings the service's own examples use, mapped to the canonical values (API.md,
# "What the live service's own examples show").
ENUM_ALIASES = _read_aliases(ALIASES_FILE)


Row = dict[str, Any]


def _txn_v20(r: Fields, lineage: Lineage) -> Row:
    amount = r.money("auth_amount", "amount")
    raw_type = r.text("transaction_type", "transactionType")
    raw_status = r.text("status", "status")
    tx_type = None if raw_type is None else V20_TXN_TYPE.get(raw_type, raw_type)
    status = None if raw_status is None else V20_TXN_STATUS.get(raw_status, raw_status)
    magnitude = None if amount is None else abs(amount)
    direction = None
    if amount is not None:
        income = amount > 0 or (amount == 0 and tx_type in V20_INCOME_TYPES)
        direction = "Income" if income else "Expenditure"
    return {
        "transaction_id": r.text("transaction_id", "transactionId"),
        "card_id": r.text("card_id", "cardId"),
        "transaction_type": tx_type,
        "status": status,
        "funds_direction": direction,
        "currency": r.text("currency", "currency"),
        "trans_amount": magnitude,
        "auth_amount": magnitude,
        "settled_amount": magnitude if status == "settled" else None,
        "auth_at": r.time("auth_at", "transactionTime"),
        "merchant_name": r.text("merchant_name", "merchantName"),
        "auth_code": r.text("auth_code", "authCode"),
        "is_topup_mirror": tx_type == "TopUp",
    }


def _txn_v14(r: Fields, lineage: Lineage) -> Row:
    auth, auth_currency = r.money_obj("auth_amount", "authAmount")
    trans, _ = r.money_obj("trans_amount", "transAmount")
    settled, _ = r.money_obj("settled_amount", "settledAmount")
    card_currency = r.text("currency", "cardInfo.cardCurrency")
    raw_status = r.text("status", "status")
    tx_type = r.text("transaction_type", "transactionType")
    return {
        "transaction_id": r.text("transaction_id", "id"),
        "card_id": r.text("card_id", "cardInfo.cardId"),
        "transaction_type": tx_type,
        "status": None if raw_status is None else V14_TXN_STATUS.get(raw_status, raw_status),
        "funds_direction": r.text("funds_direction", "fundsDirection"),
        "currency": auth_currency or card_currency,
        "trans_amount": trans,
        "auth_amount": auth,
        "settled_amount": settled,
        "auth_at": r.time("auth_at", "authTime"),
        "settled_at": r.time("settled_at", "settleTime"),
        "merchant_name": r.text("merchant_name", "merchantName"),
        "merchant_country": r.text("merchant_country", "merchantCountryCode"),
        "auth_code": r.text("auth_code", "authCode"),
        "failure_reason": r.text("failure_reason", "failureReason"),
        "is_topup_mirror": tx_type == "TopUp",
    }


def _card_log(r: Fields, lineage: Lineage) -> Row:
    trans, currency = r.money_obj("trans_amount", "transAmount")
    fee, fee_currency = r.money_obj("total_fee", "totalFee")
    total, total_currency = r.money_obj("total_amount", "totalAmount")
    currency = currency or total_currency or fee_currency
    return {
        "account_log_id": r.text("account_log_id", "accountLogId"),
        "order_no": r.text("order_no", "cardOrderNo"),
        "log_type": r.text("log_type", "cardAccountLogType"),
        "card_id": r.text("card_id", "cardInfo.cardId"),
        "funds_direction": r.text("funds_direction", "fundsDirection"),
        "currency": currency,
        "trans_amount": trans,
        "total_fee": fee,
        "total_amount": total,
        "status": r.text("status", "status"),
        "failure_reason": r.text("failure_reason", "failureReason"),
        "trans_at": r.time("trans_at", "transTime"),
        "completed_at": r.time("completed_at", "completedTime"),
        "note": r.text("note", "note"),
        "_fee_items": _fee_items(r, currency),
    }


FeeItem = tuple[str | None, Decimal | None, str | None]


def _fee_items(r: Fields, currency: str | None) -> list[FeeItem]:
    """feeItems as (fee_type, amount, currency): nested ``{amount: {amount, currency}}``
    (card logs) or flat ``{amount, currency}`` (order fee items)."""
    raw = r.get("feeItems")
    if raw is None:
        return []
    if not isinstance(raw, list):
        r.problem("fee_items", "not a list")
        return []
    out: list[FeeItem] = []
    for no, fee in enumerate(raw, start=1):
        name = f"fee_items[{no}]"
        if not isinstance(fee, Mapping):
            r.problem(name, "not an object")
            out.append((None, None, currency))
            continue
        fee_type = r.text(f"{name}.fee_type", "feeType", fee)
        if isinstance(fee.get("amount"), Mapping):
            amount, cur = r.money_obj(f"{name}.amount", "amount", fee)
        else:
            amount = r.money(f"{name}.amount", "amount", fee)
            cur = r.text(f"{name}.currency", "currency", fee)
        out.append((fee_type, amount, cur or currency))
    return out


def _account_log(r: Fields, lineage: Lineage) -> Row:
    return {
        "account_log_id": r.text("account_log_id", "id"),
        "trans_type": r.text("trans_type", "accountTransType"),
        "funds_direction": r.text("funds_direction", "fundsDirection"),
        "currency": r.text("currency", "currency"),
        "trans_amount": r.money("trans_amount", "transAmount"),
        "available_balance": r.money("available_balance", "availableBalance"),
        "blocked_balance": r.money("blocked_balance", "blockedBalance"),
        "order_no": r.text("order_no", "orderNo"),
        "card_id": r.text("card_id", "cardInfo.cardId"),  # cardInfo may be null
        "trans_at": r.time("trans_at", "transTime"),
        "note": r.text("note", "note"),
    }


def _card_v20(r: Fields, lineage: Lineage) -> Row:
    return {
        "card_id": r.text("card_id", "cardId"),
        "card_model": r.text("card_model", "cardModel"),
        "currency": r.text("currency", "cardCurrency"),
        "status": r.text("status", "cardStatus"),
        "balance": r.money("balance", "balance"),
        "max_auth_amount": r.money("max_auth_amount", "maxAuthAmount"),
        "max_credit_amount": r.money("max_credit_amount", "maxCreditAmount"),
        "alias": r.text("alias", "cardAlias"),
        "created_at": r.time("created_at", "createdOn"),
    }


def _card_v14(r: Fields, lineage: Lineage) -> Row:
    status = r.text("status", "status")  # the card number and CVV are never read; aliases
    return {  # (Cancel -> Cancelled) are mapped for the whole batch
        "card_id": r.text("card_id", "cardId"),
        "card_model": r.text("card_model", "cardModel"),
        "currency": r.text("currency", "cardCurrency"),
        "status": status,
        "balance": r.money("balance", "balanceAmount"),
        "used_credit_amount": r.money("used_credit_amount", "usedCreditAmount"),
        "max_auth_amount": r.money("max_auth_amount", "maxAuthAmount"),
        "max_credit_amount": r.money("max_credit_amount", "maxCreditAmount"),
        "alias": r.text("alias", "alias"),
        "product_code": r.text("product_code", "productCode"),
        "created_at": r.time("created_at", "applyTime"),
    }


def _account_v20(r: Fields, lineage: Lineage) -> Row:
    return {
        "currency": r.text("currency", "currency"),
        "available_balance": r.money("available_balance", "availableBalance"),
        "frozen_balance": r.money("frozen_balance", "frozenBalance"),
    }


def _account_v14(r: Fields, lineage: Lineage) -> Row:
    return {
        "currency": r.text("currency", "currency"),
        "available_balance": r.money("available_balance", "amount"),
    }


def _first_present(item: Mapping[str, Any], names: tuple[str, ...]) -> str | None:
    return next((n for n in names if n in item), None)


def _first_card(r: Fields, key: str, name: str) -> str | None:
    """``key`` of the order's card: cardInfo, cardInfos[0] or orderLines[0].cardInfo."""
    card_info = r.obj("cardInfo", "cardInfo")
    if card_info is not None and key in card_info:
        return r.text(name, key, card_info)
    for list_name, inner in (("cardInfos", None), ("orderLines", "cardInfo")):
        entries = r.get(list_name)
        if not isinstance(entries, list) or not entries:
            continue
        node = entries[0]
        if inner is not None:
            node = node.get(inner) if isinstance(node, Mapping) else None
        if isinstance(node, Mapping) and key in node:
            return r.text(name, key, node)
    return None


def _order(r: Fields, lineage: Lineage) -> Row:
    item = r.item
    # the type the reply says, else the one the query asked for (the v2.0 document's
    # walkthrough prints order replies without orderType)
    order_type = r.text("order_type", "orderType") or lineage.order_type
    principal_field = _first_present(
        item, ("totalTopUpAmount", "topUpAmount", "withdrawAmount", "refundAmount")
    )
    fee_field = _first_present(item, ("totalFee", "transFee", "withdrawFee", "fee"))
    total_field = _first_present(item, ("totalPayAmount", "totalAmount"))
    principal = None if principal_field is None else r.money("principal_amount", principal_field)
    if principal_field is None and fee_field == "transFee":  # a ShareBalance opening
        principal = r.money("principal_amount", "transAmount") if "transAmount" in item else None
        principal = Decimal(0) if principal is None else principal
    product = r.obj("productInfo", "productInfo")
    card_id = r.text("card_id", "cardId")
    currency = r.text("currency", "cardCurrency", product) if product else None
    model = r.text("card_model", "cardModel", product) if product else None
    return {
        "order_no": r.text("order_no", "orderNo"),
        "customer_order_no": r.text("customer_order_no", "customerOrderNo"),
        "order_type": order_type,
        "card_model": model or _first_card(r, "cardModel", "card_model") or lineage.card_model,
        "status": r.text("status", "status"),
        "card_id": card_id or _first_card(r, "cardId", "card_id"),
        "currency": currency or _first_card(r, "cardCurrency", "currency"),
        "principal_amount": principal,
        "fee_amount": None if fee_field is None else r.money("fee_amount", fee_field),
        "total_amount": None if total_field is None else r.money("total_amount", total_field),
        "created_at": r.time("created_at", "createdOn"),
        "completed_at": r.time("completed_at", "completedOn"),
    }


Mapper = Callable[[Fields, Lineage], Row]
MAPPERS: dict[tuple[str, str], Mapper] = {
    ("transactions", V20): _txn_v20,
    ("transactions", V14): _txn_v14,
    ("card_account_logs", ""): _card_log,
    ("account_logs", ""): _account_log,
    ("cards", V20): _card_v20,
    ("cards", V14): _card_v14,
    ("accounts", V20): _account_v20,
    ("accounts", V14): _account_v14,
    ("orders", ""): _order,
}


def lookup(table: Mapping[tuple[str, str], Any], stream: str, dialect: str) -> Any:
    """The entry for ``(stream, dialect)``, else the stream's entry for both dialects."""
    return table.get((stream, dialect), table.get((stream, ""), None))
