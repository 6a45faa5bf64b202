"""Items of either API dialect -> one canonical polars frame per stream (``sql/core.sql``).

``normalize(stream, pages)`` maps the parsed items of one batch (every page of a stream
in a run) onto the canonical columns of the stream's ``core`` table
(``transform.columns``), with the page's lineage on every row. It never decides whether a
row can be trusted; it only records what could not be read:

* a value of the wrong JSON type (``"auth_amount: not a number ('abc')"``), a time that
  does not parse, more than 9 decimals, ... becomes a null plus a message in the row's
  ``_problems`` (``transform.readers``); ``transform.validate`` quarantines such rows;
* an enum spelled as the service's own examples spell it is mapped to its canonical value
  by the alias table (``transform.dialects``; ``_raw`` keeps the spelling as sent); any
  other unknown enum value is kept as sent (``status = 'Weird'``) so the schema's
  ``isin`` check fails and names it;
* a required field that no item of a page carries usably raises :class:`SchemaFailure`:
  that is a changed API (or the wrong ``--dialect``), not a bad record.

Each item is read the cheapest way that is sure to give the careful answer: a fast row
(``transform.fast_rows``) for a plain item of a high-volume stream, else its dialect's
mapper through the fast reader, else - when the fast reader meets anything not plain -
through the careful reader, which explains. Every row holds its content columns by name.

Besides the canonical columns every frame has ``_row`` (position in the batch),
``_item_key`` (the item's natural key as sent, for the quarantine), ``_raw`` (the item as
compact JSON, decimals exact) and ``_problems`` (``list[str]``). Amounts are
``Decimal(38, 9)`` here (so a third decimal survives to be rejected by the schema),
times ``Datetime("us", "UTC")``. Streams: ``transactions``, ``card_account_logs``,
``account_logs`` and the snapshots ``cards``, ``accounts``, ``orders`` (one page = one
reply's ``data``).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Literal

import polars as pl

from transform.columns import (
    COLUMNS,
    EXTRA_COLUMNS,
    FEE_ITEM_COLUMNS,
    LINEAGE_COLUMNS,
    MONEY,
    PAGE_COLUMNS,
    STREAMS,
    TIME,
    Lineage,
)
from transform.dialects import ENUM_ALIASES, KEY_FIELD, MAPPERS, REQUIRED, Mapper, Row, lookup
from transform.fast_rows import FAST_ROWS, FastRow
from transform.readers import (
    CarefulReader,
    FastReader,
    NotPlain,
    PageCounts,
    is_text,
    raw_json,
    show,
)
from transform.vocab import DIALECTS

__all__ = [
    "COLUMNS",
    "ENUM_ALIASES",
    "FEE_ITEM_COLUMNS",
    "LINEAGE_COLUMNS",
    "MONEY",
    "STREAMS",
    "TIME",
    "Lineage",
    "Normalized",
    "Reader",
    "SchemaFailure",
    "normalize",
    "raw_json",
]

Reader = Literal["fast", "careful"]
_PROBLEM_SEPARATOR = "\n"  # never inside a problem: values are shown escaped
_DEFAULTS: Row = {"is_topup_mirror": False}  # the row of an item that is not an object


@dataclass(frozen=True)
class Normalized:
    """One batch in canonical columns (plus ``_row``, ``_item_key``, ``_raw``, ``_problems``)."""

    frame: pl.DataFrame
    fee_items: pl.DataFrame | None = None  # card_account_logs only


class SchemaFailure(Exception):
    """A page whose items all lack (or mistype) a required field: the API shape changed."""

    def __init__(
        self,
        stream: str,
        field: str,
        problem: str,
        *,
        dialect: str,
        response_id: str | None,
    ) -> None:
        self.stream = stream
        self.field = field
        self.problem = problem
        self.dialect = dialect
        self.response_id = response_id
        where = f"dialect {dialect}, responseId {response_id or 'unknown'}"
        super().__init__(
            f"{stream}: {problem} ({where}); the API shape changed — check the dialect (--dialect)"
        )

    def __reduce__(self) -> tuple[Any, ...]:
        return (
            _schema_failure,
            (self.stream, self.field, self.problem, self.dialect, self.response_id),
        )


def _schema_failure(
    stream: str, field: str, problem: str, dialect: str, response_id: str | None
) -> SchemaFailure:
    return SchemaFailure(stream, field, problem, dialect=dialect, response_id=response_id)


def normalize(
    stream: str,
    pages: Sequence[tuple[Lineage, Sequence[Any] | Mapping[str, Any]]],
    *,
    reader: Reader = "fast",
) -> Normalized:
    """The canonical frame of one batch of ``stream`` (see the module docstring).

    A page is ``(lineage, items)``; for the snapshot streams ``items`` may be the reply's
    ``data`` itself (one object -> one row; the v1.4 accounts list -> one row per currency).
    Raises :class:`SchemaFailure` when a required field is unusable in every item of a page.
    ``reader="careful"`` reads every item with the careful reader: the same frame, slower;
    it is what the fast paths are held to.
    """
    if stream not in COLUMNS:
        raise ValueError(f"unknown stream {stream!r}; expected one of {', '.join(STREAMS)}")
    batch = _Batch(stream, fast=reader == "fast")
    for lineage, payload in pages:
        if lineage.dialect not in DIALECTS:
            raise ValueError(f"unknown dialect {lineage.dialect!r}; expected v2.0 or v1.4")
        batch.add_page(lineage, _items(stream, lineage, payload))
    return batch.normalized()


class _Batch:
    """The rows of one batch, filled item by item, turned into frames once.

    Every row is a dict of content columns with money as exact text: one frame is built
    from them all (polars reads decimals from text faster than from ``Decimal`` objects).
    """

    def __init__(self, stream: str, *, fast: bool) -> None:
        self.stream = stream
        self.fast = fast
        self.columns = COLUMNS[stream]
        self.content = {c: t for c, t in self.columns.items() if c not in PAGE_COLUMNS}
        self.money = [c for c, t in self.content.items() if t == MONEY]
        self.records: list[Row] = []
        # the lineage and the _-columns, as lists
        self.cols: dict[str, list[Any]] = {
            name: [] for name in (*(c for c in self.columns if c in PAGE_COLUMNS), *EXTRA_COLUMNS)
        }
        self.fees: dict[str, list[Any]] = {name: [] for name in (*FEE_ITEM_COLUMNS, "_row")}
        self.rows = 0

    def add_page(self, lineage: Lineage, items: Sequence[Any]) -> None:
        mapper: Mapper = lookup(MAPPERS, self.stream, lineage.dialect)
        key_field: str = lookup(KEY_FIELD, self.stream, lineage.dialect)
        required: tuple[str, ...] = lookup(REQUIRED, self.stream, lineage.dialect)
        if lineage.order_type is not None:  # asked for by type: the reply may leave it out
            required = tuple(f for f in required if f != "orderType")
        page = PageCounts(required)
        fast = FastReader(page.required) if self.fast else None
        fast_row: FastRow | None = (
            lookup(FAST_ROWS, self.stream, lineage.dialect) if self.fast else None
        )
        for item in items:
            if fast_row is not None and type(item) is dict:
                row = fast_row(item)
                if row is not None:  # the key field is plain text: it is the item key
                    page.objects += 1
                    page.fast += 1
                    self._add(row, None, item[key_field], item)
                    continue
            if isinstance(item, Mapping):
                page.objects += 1
                row, problems = _read(mapper, fast, page, item, lineage)
                key = item.get(key_field)
                item_key = str(key) if is_text(key) or type(key) is int else None
                self._add_fee_items(row, lineage.run_id)
                self._add(self._money_as_text(row), problems, item_key, item)
            else:
                self._add(_DEFAULTS, ["item: not an object"], None, item)
        _check_page(self.stream, lineage, page, len(items))
        lineage_values = (
            ("dialect", lineage.dialect),
            ("run_id", lineage.run_id),
            ("fetched_at", lineage.fetched_at),
            ("response_id", lineage.response_id),
            ("service_at", lineage.service_at),
        )
        for name, value in lineage_values:
            if name in self.cols:
                self.cols[name].extend([value] * len(items))

    def _add(self, row: Row, problems: list[str] | None, item_key: str | None, item: Any) -> None:
        cols = self.cols
        self.records.append(row)
        cols["_row"].append(self.rows)
        cols["_item_key"].append(item_key)
        cols["_raw"].append(raw_json(item))
        cols["_problems"].append(_PROBLEM_SEPARATOR.join(problems) if problems else None)
        self.rows += 1

    def _money_as_text(self, row: Row) -> Row:
        for column in self.money:
            value = row.get(column)
            if value is not None:
                row[column] = format(value, "f")
        return row

    def _add_fee_items(self, row: Row, run_id: str) -> None:
        for no, (fee_type, amount, currency) in enumerate(row.get("_fee_items", ()), 1):
            for name, value in (
                ("account_log_id", row.get("account_log_id")),
                ("item_no", no),
                ("fee_type", fee_type),
                ("amount", amount),
                ("currency", currency),
                ("run_id", run_id),
                ("_row", self.rows),
            ):
                self.fees[name].append(value)

    def normalized(self) -> Normalized:
        # one text column split once: a list column built from Python lists costs a
        # Series per row
        schema = {**self.columns, **EXTRA_COLUMNS, "_problems": pl.String()}
        problems = pl.col("_problems")
        # rows -> frame in polars (Rust) from the row dicts: keys the schema lacks (such
        # as _fee_items) are ignored, absent keys are null
        text_schema = {c: (pl.String() if c in self.money else t) for c, t in self.content.items()}
        content = pl.DataFrame(self.records, schema=text_schema)
        if self.money:
            content = content.with_columns(pl.col(self.money).cast(MONEY))
        aliases = ENUM_ALIASES.get(self.stream, {})
        if aliases:
            content = content.with_columns(
                pl.col(column).replace(mapping) for column, mapping in aliases.items()
            )
        frame = (
            content.hstack(
                pl.DataFrame(self.cols, schema={name: schema[name] for name in self.cols})
            )
            .select(list(schema))
            .with_columns(
                pl.when(problems.is_null())
                .then(pl.lit([], dtype=EXTRA_COLUMNS["_problems"]))
                .otherwise(problems.str.split(_PROBLEM_SEPARATOR))
                .alias("_problems")
            )
        )
        fee_frame = None
        if self.stream == "card_account_logs":
            fee_frame = pl.DataFrame(self.fees, schema={**FEE_ITEM_COLUMNS, "_row": pl.Int64()})
        return Normalized(frame=frame, fee_items=fee_frame)


def _read(
    mapper: Mapper,
    fast: FastReader | None,
    page: PageCounts,
    item: Mapping[str, Any],
    lineage: Lineage,
) -> tuple[Row, list[str] | None]:
    """The item's row and problems: through the fast reader if it can, else carefully."""
    if fast is not None:
        fast.item = item
        try:
            row = mapper(fast, lineage)
        except NotPlain:
            pass
        else:
            page.fast += 1
            return row, None
    careful = CarefulReader(page, item)
    return mapper(careful, lineage), careful.problems


def _items(stream: str, lineage: Lineage, payload: Any) -> Sequence[Any]:
    if payload is None:
        return []
    if isinstance(payload, Mapping):
        return [payload]
    if isinstance(payload, Sequence) and not isinstance(payload, str | bytes):
        return payload
    raise SchemaFailure(
        stream,
        "data",
        f"the page is neither a list of items nor an object ({show(payload)})",
        dialect=lineage.dialect,
        response_id=lineage.response_id,
    )


def _check_page(stream: str, lineage: Lineage, page: PageCounts, n_items: int) -> None:
    if n_items == 0:
        return
    if page.objects == 0:
        raise SchemaFailure(
            stream,
            "item",
            "no item of the page is a JSON object",
            dialect=lineage.dialect,
            response_id=lineage.response_id,
        )
    if page.fast:
        return
    for name in page.order:
        if page.usable[name]:
            continue
        problem = (
            f"field {name!r} has the wrong JSON type (or null) in every item of the page"
            if page.present[name]
            else f"field {name!r} is missing from every item of the page"
        )
        raise SchemaFailure(
            stream, name, problem, dialect=lineage.dialect, response_id=lineage.response_id
        )
