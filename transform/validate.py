"""Which rows of a normalised batch load and which are quarantined, and why.

``validate(stream, normalized)`` runs the stream's model (``transform.schemas``) over the
collected frame of one batch, lazily (every failure of the batch at once), and splits the
rows:

* ``valid``    - canonical columns (amounts as ``DECIMAL(18,2)``), then ``_row`` and
  ``_raw`` (kept so that a conflict found by ``dedupe_latest`` can be quarantined as
  received; select the table's columns to load);
* ``rejected`` - ``_row, item_key, failed_checks, _raw, response_id, fetched_at``: the rows to
  quarantine, with one readable line of every check they failed (and every
  ``_problems`` entry of ``transform.normalize``), e.g. ``"auth_amount: at most 2
  decimals; status: isin(['authorized', 'settled', 'failed']) got 'Weird'"``.

Duplicate keys. The models declare their key unique: that is the contract of a batch
ready to load, and ``dedupe_latest`` / ``deduplicate`` produce it. ``validate`` itself
checks records one by one and leaves duplicates in ``valid`` - a duplicate is not an
untrustworthy record, and a uniqueness check would reject *both* versions.
``deduplicate(validated)`` then keeps the latest fetch of each key: identical versions
collapse silently, differing older versions go to ``rejected`` as conflicts.
"""

from __future__ import annotations

import copy
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, replace

import pandera.polars as pa
import polars as pl
from pandera.errors import SchemaErrors

from transform.columns import COLUMNS, FEE_ITEM_COLUMNS, LINEAGE_COLUMNS, LOADED_MONEY, MONEY
from transform.normalize import Normalized
from transform.schemas import MODELS, CardFeeItemSchema
from transform.tables import KEYS

__all__ = ["Validated", "dedupe_latest", "deduplicate", "validate"]


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
