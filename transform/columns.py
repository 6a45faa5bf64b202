"""The canonical column contract: the columns of each stream, as normalised and as loaded.

``COLUMNS[stream]`` are the columns of the stream's ``core`` table, in the order and with
the types of ``transform/sql/core.sql`` (``tests/transform/test_contract.py`` holds the
two together), typed as ``transform.normalize`` produces them: amounts ``MONEY``
(``Decimal(38, 9)``, so that a third decimal survives to be rejected by the schema, and
``LOADED_MONEY`` = ``DECIMAL(18,2)`` once valid), times ``TIME`` (UTC). A normalised frame
carries ``EXTRA_COLUMNS`` after them. ``Lineage`` is where a page came from: its fields
fill the lineage columns of every row read from the page.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

import polars as pl

__all__ = [
    "COLUMNS",
    "EXTRA_COLUMNS",
    "FEE_ITEM_COLUMNS",
    "LINEAGE_COLUMNS",
    "LOADED_MONEY",
    "MONEY",
    "PAGE_COLUMNS",
    "STREAMS",
    "TIME",
    "Lineage",
]

MONEY = pl.Decimal(38, 9)
LOADED_MONEY = pl.Decimal(18, 2)
TIME = pl.Datetime("us", "UTC")
LINEAGE_COLUMNS = ("dialect", "run_id", "fetched_at", "response_id")

_S, _B = pl.String(), pl.Boolean()
_LINEAGE: dict[str, pl.DataType] = {
    "dialect": _S,
    "run_id": _S,
    "fetched_at": TIME,
    "response_id": _S,
}
# Columns filled from the page, not the item: the lineage, and (snapshots) the service's clock.
PAGE_COLUMNS: dict[str, pl.DataType] = {**_LINEAGE, "service_at": TIME}

COLUMNS: dict[str, dict[str, pl.DataType]] = {
    "transactions": {
        "transaction_id": _S,
        "card_id": _S,
        "transaction_type": _S,
        "status": _S,
        "funds_direction": _S,
        "currency": _S,
        "trans_amount": MONEY,
        "auth_amount": MONEY,
        "settled_amount": MONEY,
        "auth_at": TIME,
        "settled_at": TIME,
        "merchant_name": _S,
        "merchant_country": _S,
        "auth_code": _S,
        "failure_reason": _S,
        "is_topup_mirror": _B,
        **_LINEAGE,
    },
    "card_account_logs": {
        "account_log_id": _S,
        "order_no": _S,
        "log_type": _S,
        "card_id": _S,
        "funds_direction": _S,
        "currency": _S,
        "trans_amount": MONEY,
        "total_fee": MONEY,
        "total_amount": MONEY,
        "status": _S,
        "failure_reason": _S,
        "trans_at": TIME,
        "completed_at": TIME,
        "note": _S,
        **_LINEAGE,
    },
    "account_logs": {
        "account_log_id": _S,
        "trans_type": _S,
        "funds_direction": _S,
        "currency": _S,
        "trans_amount": MONEY,
        "available_balance": MONEY,
        "blocked_balance": MONEY,
        "order_no": _S,
        "card_id": _S,
        "trans_at": TIME,
        "note": _S,
        **_LINEAGE,
    },
    "cards": {
        "card_id": _S,
        "fetched_at": TIME,
        "card_model": _S,
        "currency": _S,
        "status": _S,
        "balance": MONEY,
        "used_credit_amount": MONEY,
        "max_auth_amount": MONEY,
        "max_credit_amount": MONEY,
        "alias": _S,
        "product_code": _S,
        "created_at": TIME,
        "dialect": _S,
        "run_id": _S,
        "response_id": _S,
        "service_at": TIME,
    },
    "accounts": {
        "currency": _S,
        "fetched_at": TIME,
        "available_balance": MONEY,
        "frozen_balance": MONEY,
        "dialect": _S,
        "run_id": _S,
        "response_id": _S,
        "service_at": TIME,
    },
    "orders": {
        "order_no": _S,
        "customer_order_no": _S,
        "order_type": _S,
        "card_model": _S,
        "status": _S,
        "card_id": _S,
        "currency": _S,
        "principal_amount": MONEY,
        "fee_amount": MONEY,
        "total_amount": MONEY,
        "created_at": TIME,
        "completed_at": TIME,
        **_LINEAGE,
    },
}
STREAMS = tuple(COLUMNS)

# core.card_fee_items: the feeItems of a card log, one row each (card_account_logs only).
FEE_ITEM_COLUMNS: dict[str, pl.DataType] = {
    "account_log_id": _S,
    "item_no": pl.Int32(),
    "fee_type": _S,
    "amount": MONEY,
    "currency": _S,
    "run_id": _S,
}
# After the canonical columns of a normalised frame: the row's position in its batch, its
# natural key as sent (for the quarantine), the item as compact JSON and what could not
# be read of it.
EXTRA_COLUMNS: dict[str, pl.DataType] = {
    "_row": pl.Int64(),
    "_item_key": _S,
    "_raw": _S,
    "_problems": pl.List(pl.String()),
}


@dataclass(frozen=True)
class Lineage:
    """Where a page came from; copied onto every row normalised from it."""

    dialect: str  # "v2.0" | "v1.4"
    run_id: str
    fetched_at: datetime  # tz-aware UTC
    response_id: str | None
    card_model: str | None = None  # orders: which endpoint answered (Standard/ShareBalance)
    service_at: datetime | None = None  # the service's clock (the reply's Date header)
    order_type: str | None = None  # orders: the type asked for (a shortened reply omits it)
