"""Which normalised rows can be trusted as records: one pandera model per ``core`` table.

What is checked is what makes a record untrustworthy (RECONCILIATION.md, "Validation or
reconciliation?"): a missing key or required value, an unknown enum, a currency that is
not ISO-4217, more than 2 decimals, a negative magnitude, a direction contradicting the
sign, a settle time before the auth time, a settled transaction without a settled
amount. Arithmetic between amounts (``totalFee`` vs the fee items, a ledger that does not
chain) is never checked here: those rows load and reconciliation reports the break.

The models describe the normalised frame (amounts ``Decimal(38, 9)``) and declare the
table's key (``transform.tables``) unique: the contract of a batch ready to load.
``transform.validate`` runs them record by record (without the uniqueness) and
deduplicates. Validate collected ``DataFrame``s: a ``LazyFrame`` only gets its schema
checked. The vocabularies are ``transform.vocab``'s (re-exported here).
"""

from __future__ import annotations

from decimal import Decimal
from typing import Annotated, Any

import pandera.polars as pa
import polars as pl
from pandera.api.polars.types import PolarsData

from transform.columns import MONEY
from transform.tables import FEE_ITEMS, KEYS, TABLES
from transform.vocab import (
    ACCOUNT_TRANS_TYPES_EXAMPLES,
    CARD_LOG_STATUSES,
    CARD_LOG_TYPES,
    CARD_MODELS,
    CARD_STATUSES,
    CURRENCIES,
    DIALECTS,
    DIRECTIONS,
    ORDER_STATUSES,
    ORDER_TYPES,
    TXN_STATUSES,
    TXN_TYPES,
)

__all__ = [
    "ACCOUNT_TRANS_TYPES_EXAMPLES",
    "CARD_LOG_TYPES",
    "CURRENCIES",
    "KEYS",
    "MODELS",
    "TXN_TYPES",
    "AccountLogSchema",
    "AccountSnapshotSchema",
    "CardAccountLogSchema",
    "CardFeeItemSchema",
    "CardSnapshotSchema",
    "OrderSchema",
    "TransactionSchema",
]

Money = Annotated[pl.Decimal, 38, 9]
Time = Annotated[pl.Datetime, "us", "UTC"]

_CURRENCY_LIST = sorted(CURRENCIES)
_LIMIT = Decimal(10) ** 16  # DECIMAL(18,2) holds |x| < 10**16

# Check names, as they appear in failed_checks after "<column>: ".
CENTS = "at most 2 decimals"
FITS = "at most 16 digits before the decimal point"
NOT_NEGATIVE = "not negative"
ISO_4217 = "ISO-4217 currency"
NON_EMPTY = "not empty"


# -- reusable column checks (each returns one boolean column; nulls pass) -----------------
def _cents(cls: Any, data: PolarsData) -> pl.LazyFrame:
    col = pl.col(data.key)
    return data.lazyframe.select(col.cast(pl.Decimal(38, 2)) == col)


def _fits(cls: Any, data: PolarsData) -> pl.LazyFrame:
    return data.lazyframe.select(pl.col(data.key).abs() < pl.lit(_LIMIT, dtype=MONEY))


def _not_negative(cls: Any, data: PolarsData) -> pl.LazyFrame:
    return data.lazyframe.select(pl.col(data.key) >= pl.lit(0, dtype=MONEY))


def _currency(cls: Any, data: PolarsData) -> pl.LazyFrame:
    return data.lazyframe.select(pl.col(data.key).is_in(_CURRENCY_LIST))


def _non_empty(cls: Any, data: PolarsData) -> pl.LazyFrame:
    return data.lazyframe.select(pl.col(data.key).str.strip_chars().str.len_chars() > 0)


def _currency_check(*columns: str) -> Any:
    return pa.check(*columns, name=ISO_4217)(_currency)


# -- the models ---------------------------------------------------------------------------
class _Lineage(pa.DataFrameModel):
    dialect: str = pa.Field(isin=list(DIALECTS))
    run_id: str = pa.Field()
    fetched_at: Time = pa.Field()
    response_id: str = pa.Field(nullable=True)

    class Config:
        strict = True


class TransactionSchema(_Lineage):
    """core.transactions: one card transaction (key transaction_id)."""

    transaction_id: str = pa.Field()  # an id: not null, not empty
    card_id: str = pa.Field()  # an id: not null, not empty
    transaction_type: str = pa.Field(isin=list(TXN_TYPES))
    status: str = pa.Field(isin=list(TXN_STATUSES))
    funds_direction: str = pa.Field(isin=list(DIRECTIONS))
    currency: str = pa.Field()
    trans_amount: Money = pa.Field(nullable=True)
    auth_amount: Money = pa.Field()
    settled_amount: Money = pa.Field(nullable=True)
    auth_at: Time = pa.Field()
    settled_at: Time = pa.Field(nullable=True)
    merchant_name: str = pa.Field(nullable=True)
    merchant_country: str = pa.Field(nullable=True)
    auth_code: str = pa.Field(nullable=True)
    failure_reason: str = pa.Field(nullable=True)
    is_topup_mirror: bool = pa.Field()

    check_cents = pa.check("trans_amount", "auth_amount", "settled_amount", name=CENTS)(_cents)
    check_fits = pa.check("trans_amount", "auth_amount", "settled_amount", name=FITS)(_fits)
    check_magnitudes = pa.check("trans_amount", "auth_amount", "settled_amount", name=NOT_NEGATIVE)(
        _not_negative
    )
    check_currency = _currency_check("currency")
    check_non_empty = pa.check("transaction_id", "card_id", name=NON_EMPTY)(_non_empty)

    @pa.dataframe_check(name="settled_at: not before auth_at")
    def settle_after_auth(cls, data: PolarsData) -> pl.LazyFrame:
        settled, auth = pl.col("settled_at"), pl.col("auth_at")
        return data.lazyframe.select(settled.is_null() | auth.is_null() | (settled >= auth))

    @pa.dataframe_check(name="settled_amount: required when status is settled")
    def settled_has_amount(cls, data: PolarsData) -> pl.LazyFrame:
        status = pl.col("status")
        return data.lazyframe.select(
            status.is_null() | (status != "settled") | pl.col("settled_amount").is_not_null()
        )

    class Config:
        strict = True
        unique = TABLES["transactions"].key


class CardAccountLogSchema(_Lineage):
    """core.card_account_logs: one Standard-card fund movement (key account_log_id)."""

    account_log_id: str = pa.Field()  # an id: not null, not empty
    order_no: str = pa.Field()  # an id: not null, not empty
    log_type: str = pa.Field(isin=list(CARD_LOG_TYPES))
    card_id: str = pa.Field()  # an id: not null, not empty
    funds_direction: str = pa.Field(isin=list(DIRECTIONS))
    currency: str = pa.Field()
    trans_amount: Money = pa.Field()
    total_fee: Money = pa.Field()
    total_amount: Money = pa.Field()
    status: str = pa.Field(isin=list(CARD_LOG_STATUSES))
    failure_reason: str = pa.Field(nullable=True)
    trans_at: Time = pa.Field()
    completed_at: Time = pa.Field(nullable=True)
    note: str = pa.Field(nullable=True)

    check_cents = pa.check("trans_amount", "total_fee", "total_amount", name=CENTS)(_cents)
    check_fits = pa.check("trans_amount", "total_fee", "total_amount", name=FITS)(_fits)
    check_magnitudes = pa.check("trans_amount", "total_fee", "total_amount", name=NOT_NEGATIVE)(
        _not_negative
    )
    check_currency = _currency_check("currency")
    check_non_empty = pa.check("account_log_id", "order_no", "card_id", name=NON_EMPTY)(_non_empty)

    class Config:
        strict = True
        unique = TABLES["card_account_logs"].key


class CardFeeItemSchema(pa.DataFrameModel):
    """core.card_fee_items: one fee item of a card log (key account_log_id, item_no)."""

    account_log_id: str = pa.Field()  # an id: not null, not empty
    item_no: pl.Int32 = pa.Field(ge=1)
    fee_type: str = pa.Field()
    amount: Money = pa.Field()
    currency: str = pa.Field()
    run_id: str = pa.Field()

    check_cents = pa.check("amount", name=CENTS)(_cents)
    check_fits = pa.check("amount", name=FITS)(_fits)
    check_magnitudes = pa.check("amount", name=NOT_NEGATIVE)(_not_negative)
    check_currency = _currency_check("currency")
    check_non_empty = pa.check("account_log_id", "fee_type", name=NON_EMPTY)(_non_empty)

    class Config:
        strict = True
        unique = FEE_ITEMS.key


class AccountLogSchema(_Lineage):
    """core.account_logs: one customer-account ledger entry (key account_log_id)."""

    account_log_id: str = pa.Field()  # an id: not null, not empty
    trans_type: str = pa.Field()
    funds_direction: str = pa.Field(isin=list(DIRECTIONS))
    currency: str = pa.Field()
    trans_amount: Money = pa.Field()
    available_balance: Money = pa.Field()
    blocked_balance: Money = pa.Field()
    order_no: str = pa.Field(nullable=True)
    card_id: str = pa.Field(nullable=True)
    trans_at: Time = pa.Field()
    note: str = pa.Field(nullable=True)

    check_cents = pa.check("trans_amount", "available_balance", "blocked_balance", name=CENTS)(
        _cents
    )
    check_fits = pa.check("trans_amount", "available_balance", "blocked_balance", name=FITS)(_fits)
    check_currency = _currency_check("currency")
    check_non_empty = pa.check("account_log_id", "trans_type", name=NON_EMPTY)(_non_empty)

    @pa.dataframe_check(name="funds_direction: agrees with the sign of trans_amount")
    def direction_agrees(cls, data: PolarsData) -> pl.LazyFrame:
        direction, amount = pl.col("funds_direction"), pl.col("trans_amount")
        zero = pl.lit(0, dtype=MONEY)
        return data.lazyframe.select(
            direction.is_null()
            | amount.is_null()
            | ((direction == "Income") & (amount >= zero))
            | ((direction == "Expenditure") & (amount <= zero))
            | ~direction.is_in(DIRECTIONS)  # an unknown direction fails its isin check
        )

    class Config:
        strict = True
        unique = TABLES["account_logs"].key


class CardSnapshotSchema(_Lineage):
    """core.card_snapshots: one card as fetched (key card_id, fetched_at)."""

    card_id: str = pa.Field()  # an id: not null, not empty
    card_model: str = pa.Field(isin=list(CARD_MODELS))
    currency: str = pa.Field()
    status: str = pa.Field(isin=list(CARD_STATUSES))
    balance: Money = pa.Field(nullable=True)
    used_credit_amount: Money = pa.Field(nullable=True)
    max_auth_amount: Money = pa.Field(nullable=True)
    max_credit_amount: Money = pa.Field(nullable=True)
    alias: str = pa.Field(nullable=True)
    product_code: str = pa.Field(nullable=True)
    created_at: Time = pa.Field(nullable=True)
    service_at: Time = pa.Field(nullable=True)

    check_cents = pa.check(
        "balance", "used_credit_amount", "max_auth_amount", "max_credit_amount", name=CENTS
    )(_cents)
    check_fits = pa.check(
        "balance", "used_credit_amount", "max_auth_amount", "max_credit_amount", name=FITS
    )(_fits)
    check_magnitudes = pa.check("max_auth_amount", "max_credit_amount", name=NOT_NEGATIVE)(
        _not_negative
    )
    check_currency = _currency_check("currency")
    check_non_empty = pa.check("card_id", name=NON_EMPTY)(_non_empty)

    class Config:
        strict = True
        unique = TABLES["cards"].key


class AccountSnapshotSchema(_Lineage):
    """core.account_snapshots: one account currency as fetched (key currency, fetched_at)."""

    currency: str = pa.Field()
    available_balance: Money = pa.Field()
    frozen_balance: Money = pa.Field(nullable=True)
    service_at: Time = pa.Field(nullable=True)

    check_cents = pa.check("available_balance", "frozen_balance", name=CENTS)(_cents)
    check_fits = pa.check("available_balance", "frozen_balance", name=FITS)(_fits)
    check_currency = _currency_check("currency")

    class Config:
        strict = True
        unique = TABLES["accounts"].key


class OrderSchema(_Lineage):
    """core.orders: one card order (key order_no); principal/fee/total null when not carried."""

    order_no: str = pa.Field()  # an id: not null, not empty
    customer_order_no: str = pa.Field(nullable=True)
    order_type: str = pa.Field(isin=list(ORDER_TYPES))
    card_model: str = pa.Field(isin=list(CARD_MODELS))
    status: str = pa.Field(isin=list(ORDER_STATUSES))
    card_id: str = pa.Field(nullable=True)
    currency: str = pa.Field(nullable=True)
    principal_amount: Money = pa.Field(nullable=True)
    fee_amount: Money = pa.Field(nullable=True)
    total_amount: Money = pa.Field(nullable=True)
    created_at: Time = pa.Field(nullable=True)
    completed_at: Time = pa.Field(nullable=True)

    check_cents = pa.check("principal_amount", "fee_amount", "total_amount", name=CENTS)(_cents)
    check_fits = pa.check("principal_amount", "fee_amount", "total_amount", name=FITS)(_fits)
    check_magnitudes = pa.check(
        "principal_amount", "fee_amount", "total_amount", name=NOT_NEGATIVE
    )(_not_negative)
    check_currency = _currency_check("currency")
    check_non_empty = pa.check("order_no", name=NON_EMPTY)(_non_empty)

    class Config:
        strict = True
        unique = TABLES["orders"].key


MODELS: dict[str, type[pa.DataFrameModel]] = {
    "transactions": TransactionSchema,
    "card_account_logs": CardAccountLogSchema,
    "account_logs": AccountLogSchema,
    "cards": CardSnapshotSchema,
    "accounts": AccountSnapshotSchema,
    "orders": OrderSchema,
}
