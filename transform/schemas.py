"""Which normalised rows can be trusted as records: one pandera model per ``core`` table.

``validate(stream, normalized)`` runs the stream's model over the collected frame of one
batch, lazily (every failure of the batch at once), and splits the rows:

* ``valid``    - canonical columns (amounts as ``DECIMAL(18,2)``), then ``_row`` and
  ``_raw`` (kept so that a conflict found by ``dedupe_latest`` can be quarantined as
  received; select the table's columns to load);
* ``rejected`` - ``_row, item_key, failed_checks, _raw, response_id, fetched_at``: the rows to
  quarantine, with one readable line of every check they failed (and every
  ``_problems`` entry of ``transform.normalize``), e.g. ``"auth_amount: at most 2
  decimals; status: isin(['authorized', 'settled', 'failed']) got 'Weird'"``.

What is checked is what makes a record untrustworthy (RECONCILIATION.md, "Validation or
reconciliation?"): a missing key or required value, an unknown enum, a currency that is
not ISO-4217, more than 2 decimals, a negative magnitude, a direction contradicting the
sign, a settle time before the auth time, a settled transaction without a settled
amount. Arithmetic between amounts (``totalFee`` vs the fee items, a ledger that does not
chain) is never checked here: those rows load and reconciliation reports the break.

Duplicate keys. The models declare their key unique (``Config.unique``): that is the
contract of a batch ready to load, and ``dedupe_latest`` / ``deduplicate`` produce it.
``validate`` itself checks records one by one and leaves duplicates in ``valid`` -
a duplicate is not an untrustworthy record, and a uniqueness check would reject *both*
versions. ``deduplicate(validated)`` then keeps the latest fetch of each key: identical
versions collapse silently, differing older versions go to ``rejected`` as conflicts.

The models describe the normalised frame (amounts ``Decimal(38, 9)``); validate
collected ``DataFrame``s - a ``LazyFrame`` only gets its schema checked.
"""

from __future__ import annotations

import copy
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, replace
from decimal import Decimal
from typing import Annotated, Any

import pandera.polars as pa
import polars as pl
from pandera.api.polars.types import PolarsData
from pandera.errors import SchemaErrors

from transform.normalize import COLUMNS, FEE_ITEM_COLUMNS, LINEAGE_COLUMNS, MONEY, Normalized

__all__ = [
    "ACCOUNT_TRANS_TYPES_EXAMPLES",
    "CARD_LOG_TYPES",
    "CURRENCIES",
    "KEYS",
    "MODELS",
    "AccountLogSchema",
    "AccountSnapshotSchema",
    "CardAccountLogSchema",
    "CardFeeItemSchema",
    "CardSnapshotSchema",
    "OrderSchema",
    "TransactionSchema",
    "Validated",
    "dedupe_latest",
    "deduplicate",
    "validate",
]

Money = Annotated[pl.Decimal, 38, 9]
Time = Annotated[pl.Datetime, "us", "UTC"]
LOADED_MONEY = pl.Decimal(18, 2)

DIALECTS = ("v2.0", "v1.4")
DIRECTIONS = ("Income", "Expenditure")
TXN_STATUSES = ("authorized", "settled", "failed")
TXN_TYPES = (
    "Consume",
    "ConsumeRefund",
    "ConsumeReversal",
    "ConsumeRefundReversal",
    "ConsumeDispute",
    "DisputeRelease",
    "AuthQuery",
    "TransFee",
    "TopUp",
)
CARD_LOG_TYPES = ("ApplyCard", "CardTopUp", "CardWithdraw", "CardCancel")
CARD_LOG_STATUSES = ("Pending", "Completed", "Failure")
CARD_MODELS = ("Standard", "ShareBalance")
CARD_STATUSES = ("Active", "Blocked", "Cancelled", "Expired")
ORDER_TYPES = (
    "ApplyCard",
    "CardTopUp",
    "CreditLimit",
    "CardWithdraw",
    "CardCancel",
    "CardBlock",
    "CardUnblock",
)
ORDER_STATUSES = ("Pending", "Processing", "Completed", "Failed")
# The account-log types are open-ended (any non-empty string loads); these are the known.
ACCOUNT_TRANS_TYPES_EXAMPLES = (
    "AccountTopUp",
    "AccountWithdraw",
    "AccountFee",
    "ApplyCard",
    "CardTopUp",
    "CardWithdraw",
    "CardCancel",
    "AuthHold",
    "AuthRelease",
    "Consume",
    "ConsumeRefund",
    "ConsumeReversal",
    "TransFee",
)
# ISO 4217 active currency codes (funds codes included; precious metals, SDR, bond
# units, test and "no currency" codes left out).
CURRENCIES = frozenset(  # one string: 170 codes, one per line, would hide the list
    """
    AED AFN ALL AMD ANG AOA ARS AUD AWG AZN BAM BBD BDT BGN BHD BIF BMD BND BOB BOV BRL
    BSD BTN BWP BYN BZD CAD CDF CHE CHF CHW CLF CLP CNY COP COU CRC CUC CUP CVE CZK DJF
    DKK DOP DZD EGP ERN ETB EUR FJD FKP GBP GEL GHS GIP GMD GNF GTQ GYD HKD HNL HTG HUF
    IDR ILS INR IQD IRR ISK JMD JOD JPY KES KGS KHR KMF KPW KRW KWD KYD KZT LAK LBP LKR
    LRD LSL LYD MAD MDL MGA MKD MMK MNT MOP MRU MUR MVR MWK MXN MXV MYR MZN NAD NGN NIO
    NOK NPR NZD OMR PAB PEN PGK PHP PKR PLN PYG QAR RON RSD RUB RWF SAR SBD SCR SDG SEK
    SGD SHP SLE SLL SOS SRD SSP STN SVC SYP SZL THB TJS TMT TND TOP TRY TTD TWD TZS UAH
    UGX USD USN UYI UYU UYW UZS VED VES VND VUV WST XAF XCD XCG XOF XPF YER ZAR ZMW ZWG
    ZWL
    """.split()  # noqa: SIM905
)
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
        unique = ("transaction_id",)


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
        unique = ("account_log_id",)


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
        unique = (
            "account_log_id",
            "item_no",
        )


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
        unique = ("account_log_id",)


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
        unique = (
            "card_id",
            "fetched_at",
        )


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
        unique = (
            "currency",
            "fetched_at",
        )


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
        unique = ("order_no",)


MODELS: dict[str, type[pa.DataFrameModel]] = {
    "transactions": TransactionSchema,
    "card_account_logs": CardAccountLogSchema,
    "account_logs": AccountLogSchema,
    "cards": CardSnapshotSchema,
    "accounts": AccountSnapshotSchema,
    "orders": OrderSchema,
}
# The natural key of each stream (its first column is the quarantine's item_key).
KEYS: dict[str, tuple[str, ...]] = {
    stream: tuple(model.to_schema().unique or ()) for stream, model in MODELS.items()
}
FEE_ITEM_KEY = ("account_log_id", "item_no")


# -- validation ---------------------------------------------------------------------------


@dataclass(frozen=True)
class Validated:
    """One batch split into the rows to load and the rows to quarantine."""

    stream: str
    valid: pl.DataFrame  # canonical columns, amounts DECIMAL(18,2), then _row, _raw
    rejected: pl.DataFrame  # _row, item_key, failed_checks, _raw, response_id, fetched_at
    fee_items: pl.DataFrame | None = None  # card logs: fee items of the valid logs (+ _row)
    fee_items_rejected: pl.DataFrame | None = None  # _row, item_no, item_key, failed_checks


def validate(stream: str, normalized: Normalized) -> Validated:
    """Split a normalised batch into ``valid`` and ``rejected`` rows (module docstring).

    Every row of the batch ends in exactly one of the two. A card log whose fee item
    fails is rejected whole, with the fee item's failures in its ``failed_checks``.
    """
    if stream not in MODELS:
        raise ValueError(f"unknown stream {stream!r}; expected one of {', '.join(MODELS)}")
    frame = normalized.frame
    columns = COLUMNS[stream]
    rows = frame["_row"]
    found: dict[int, list[str]] = defaultdict(list)
    for pos, message in _failures(MODELS[stream], frame.select(list(columns)), columns):
        found[int(rows[pos])].append(message)

    fee = normalized.fee_items if stream == "card_account_logs" else None
    fee_rejected = None
    if fee is not None:
        fee_rejected = _fee_failures(fee)
        for row, message in fee_rejected.select("_row", "failed_checks").iter_rows():
            found[row].append(message)

    with_problems = frame.filter(pl.col("_problems").list.len() > 0).select("_row", "_problems")
    problems = dict(
        zip(with_problems["_row"].to_list(), with_problems["_problems"].to_list(), strict=True)
    )
    failed: dict[int, str] = {
        row: _failed_checks(problems.get(row, []), found.get(row, []))
        for row in sorted(set(found) | set(problems))
    }

    is_bad = pl.col("_row").is_in(pl.Series(list(failed), dtype=pl.Int64).implode())
    key = KEYS[stream][0]
    reasons = pl.DataFrame(
        {"_row": list(failed), "failed_checks": list(failed.values())},
        schema={"_row": pl.Int64(), "failed_checks": pl.String()},
    )
    rejected = (
        frame.filter(is_bad)
        .join(reasons, on="_row", how="left")
        .select(
            "_row",
            pl.coalesce(pl.col(key), pl.col("_item_key")).alias("item_key"),
            "failed_checks",
            "_raw",
            "response_id",
            "fetched_at",
        )
    )
    valid = (
        frame.filter(~is_bad).select(*columns, "_row", "_raw").with_columns(_loaded_money(columns))
    )
    fee_valid = None
    if fee is not None:
        fee_valid = (
            fee.filter(~is_bad)
            .select(*FEE_ITEM_COLUMNS, "_row")
            .with_columns(_loaded_money(FEE_ITEM_COLUMNS))
        )
    return Validated(
        stream=stream,
        valid=valid,
        rejected=rejected,
        fee_items=fee_valid,
        fee_items_rejected=fee_rejected,
    )


def _fee_failures(fee: pl.DataFrame) -> pl.DataFrame:
    """The failed fee items: ``_row`` (of their card log), item_no, item_key, failed_checks."""
    numbers = fee["item_no"]
    messages: dict[int, list[str]] = defaultdict(list)
    view = fee.select(list(FEE_ITEM_COLUMNS))
    for pos, message in _failures(CardFeeItemSchema, view, FEE_ITEM_COLUMNS):
        if message != "account_log_id: missing":  # the card log's own key failure says it
            messages[pos].append(f"fee_items[{numbers[pos]}].{message}")
    failed = fee.select(pl.col("_row", "item_no", "account_log_id").gather(list(messages)))
    return failed.select(
        "_row",
        "item_no",
        pl.col("account_log_id").alias("item_key"),
        pl.Series("failed_checks", ["; ".join(m) for m in messages.values()], dtype=pl.String),
    )


_RECORD_SCHEMAS: dict[type[pa.DataFrameModel], pa.DataFrameSchema] = {}


def _record_schema(model: type[pa.DataFrameModel]) -> pa.DataFrameSchema:
    """The model without its uniqueness: records are checked one by one (module docstring)."""
    if model not in _RECORD_SCHEMAS:
        schema = copy.deepcopy(model.to_schema())
        schema.unique = None
        _RECORD_SCHEMAS[model] = schema
    return _RECORD_SCHEMAS[model]


def _failures(
    model: type[pa.DataFrameModel], frame: pl.DataFrame, columns: dict[str, pl.DataType]
) -> list[tuple[int, str]]:
    """(position, message) of every failed check, validating lazily (all at once)."""
    try:
        _record_schema(model).validate(frame, lazy=True)
    except SchemaErrors as exc:
        cases: pl.DataFrame = exc.failure_cases
    else:
        return []
    out = []
    for case in cases.iter_rows(named=True):
        column, check, value = case["column"], case["check"], case["failure_case"]
        if case["index"] is None:  # a check that crashed or a schema-level failure: a bug
            raise RuntimeError(f"{model.__name__}: check {check!r} on {column!r} failed: {value}")
        if check == "not_nullable":
            message = f"{column}: missing"
        elif case["schema_context"] == "DataFrameSchema":
            message = str(check)
        else:
            message = f"{column}: {check}"
            if value is not None and columns.get(column) == pl.String():
                message += f" got {value!r}"
        out.append((int(case["index"]), message))
    return out


def _failed_checks(problems: list[str], messages: list[str]) -> str:
    """One line: the coercion problems, then the failed checks they do not already explain."""
    if "item: not an object" in problems:
        return "; ".join(problems)
    explained = {p.split(":", 1)[0] for p in problems}
    rest = [
        m for m in messages if not (m.endswith(": missing") and m[: -len(": missing")] in explained)
    ]
    return "; ".join(dict.fromkeys([*problems, *rest]))


def _loaded_money(columns: dict[str, pl.DataType]) -> list[pl.Expr]:
    return [pl.col(c).cast(LOADED_MONEY) for c, dtype in columns.items() if dtype == MONEY]


# -- duplicates ---------------------------------------------------------------------------
def dedupe_latest(
    frame: pl.DataFrame, key: str | Sequence[str], order_by: str = "fetched_at"
) -> tuple[pl.DataFrame, pl.DataFrame]:
    """Keep the latest version (by ``order_by``, then ``_row``) of each key: ``(kept, conflicts)``.

    Versions equal in every column but the lineage (and ``_``-columns such as ``_raw``)
    collapse silently. An older version that differs is a conflict: returned with all its
    columns plus ``item_key`` and ``failed_checks`` (naming the differing columns).
    """
    keys = [key] if isinstance(key, str) else list(key)
    tiebreak = ["_row"] if "_row" in frame.columns else []
    ignore = {*LINEAGE_COLUMNS, *keys, order_by}
    content = [c for c in frame.columns if c not in ignore and not c.startswith("_")]
    what = keys[0] if len(keys) == 1 else f"({', '.join(keys)})"
    same = [pl.col(c).eq_missing(pl.col(c).last().over(keys)) for c in content]
    differs = pl.concat_str(
        [pl.when(~eq).then(pl.lit(c)) for c, eq in zip(content, same, strict=True)],
        separator=", ",
        ignore_nulls=True,
    )
    marked = frame.sort([*keys, order_by, *tiebreak]).with_columns(
        _latest=pl.int_range(pl.len()).over(keys) == pl.len().over(keys) - 1,
        _same=pl.all_horizontal(same) if same else pl.lit(True),
        _differs=differs if same else pl.lit(""),
    )
    restore = tiebreak or []
    kept = marked.filter("_latest").drop("_latest", "_same", "_differs")
    conflicts = (
        marked.filter(~pl.col("_latest") & ~pl.col("_same"))
        .with_columns(
            item_key=pl.col(keys[0]).cast(pl.String),
            failed_checks=pl.format(
                "conflict: the same {} arrived again with different content in this run "
                "({}); the latest fetch was kept",
                pl.lit(what),
                pl.col("_differs"),
            ),
        )
        .drop("_latest", "_same", "_differs")
    )
    if restore:
        kept, conflicts = kept.sort(restore), conflicts.sort(restore)
    return kept, conflicts


def deduplicate(validated: Validated, order_by: str = "fetched_at") -> Validated:
    """``validated`` with one row per key: older differing versions move to ``rejected``."""
    valid = validated.valid
    fee = validated.fee_items
    if fee is not None:  # a card log's fee items are part of its content
        signature = (
            fee.sort("_row", "item_no")
            .group_by("_row", maintain_order=True)
            .agg(
                pl.concat_str(
                    [pl.col("fee_type"), pl.col("amount").cast(pl.String), pl.col("currency")],
                    separator=" ",
                    ignore_nulls=True,
                )
                .str.join("; ")
                .alias("fee_items")
            )
        )
        valid = valid.join(signature, on="_row", how="left")
    kept, conflicts = dedupe_latest(valid, KEYS[validated.stream], order_by)
    if fee is not None:
        kept = kept.drop("fee_items")
        fee = fee.filter(pl.col("_row").is_in(kept["_row"].implode()))
    quarantined = conflicts.select(validated.rejected.columns)
    return replace(
        validated,
        valid=kept,
        rejected=pl.concat([validated.rejected, quarantined]).sort("_row"),
        fee_items=fee,
    )
