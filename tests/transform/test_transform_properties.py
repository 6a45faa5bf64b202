"""Properties of normalize + validate over arbitrary items.

For any page of item dicts (fields dropped, or replaced by any JSON value), ``normalize``
either raises ``SchemaFailure`` or returns one row per item, and ``validate`` puts every
row in exactly one of ``valid`` / ``rejected``; nothing is lost, nothing else is raised.
The fast paths of ``normalize`` give exactly what its careful reader gives.
"""

from __future__ import annotations

from collections.abc import Callable
from decimal import Decimal
from typing import Any

import pytest
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st
from support.items import (
    V14,
    V20,
    lineage,
    make_account_log,
    make_card_log,
    make_card_v14,
    make_card_v20,
    make_txn_v14,
    make_txn_v20,
    wire,
)

from transform.columns import COLUMNS
from transform.dialects import MAPPERS, lookup
from transform.fast_rows import FAST_ROWS
from transform.normalize import Reader, SchemaFailure, normalize
from transform.readers import CarefulReader, PageCounts
from transform.tables import KEYS
from transform.validate import deduplicate, validate

BASES: list[tuple[str, str, Callable[..., dict[str, Any]]]] = [
    ("transactions", V14, make_txn_v14),
    ("transactions", V20, make_txn_v20),
    ("card_account_logs", V14, make_card_log),
    ("account_logs", V20, make_account_log),
    ("cards", V20, make_card_v20),
    ("cards", V14, make_card_v14),
    ("accounts", V14, lambda: {"currency": "USD", "amount": Decimal("1.5")}),
    (
        "orders",
        V20,
        lambda: {
            "orderNo": "o1",
            "orderType": "CardWithdraw",
            "status": "Completed",
            "cardId": "c1",
            "withdrawAmount": 5,
            "withdrawFee": 1,
            "totalAmount": 6,
            "createdOn": "2026-10-01T00:00:00Z",
        },
    ),
]

scalars = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(min_value=-(10**30), max_value=10**30),
    st.decimals(Decimal("-1e30"), Decimal("1e30"), allow_nan=False, allow_infinity=False),
    st.decimals(Decimal(-1000), Decimal(1000), places=3),
    st.text(max_size=6),
    st.sampled_from(["12.34", "-0.5", "2026-10-01T00:00:00Z", "Settled", "USD", "Income", "1e3"]),
)
json_values = st.recursive(
    scalars,
    lambda inner: st.one_of(
        st.lists(inner, max_size=3),
        st.dictionaries(
            st.sampled_from(["amount", "currency", "cardId", "feeType"]), inner, max_size=3
        ),
    ),
    max_leaves=6,
)


@st.composite
def mutated(draw: st.DrawFn, base: dict[str, Any]) -> Any:
    """``base`` with some fields dropped or replaced; now and then not an object at all."""
    if draw(st.integers(0, 19)) == 0:
        return draw(json_values)
    item = dict(base)
    for key in list(item):
        action = draw(st.sampled_from(["keep", "keep", "keep", "drop", "replace"]))
        if action == "drop":
            del item[key]
        elif action == "replace":
            item[key] = draw(json_values)
    if draw(st.booleans()):
        item[draw(st.sampled_from(["id", "transactionId", "accountLogId", "cardId"]))] = draw(
            st.sampled_from(["k1", "k2"])  # duplicate keys, now and then
        )
    return item


@st.composite
def batches(draw: st.DrawFn) -> tuple[str, list[tuple[Any, list[Any]]]]:
    stream, dialect, make = draw(st.sampled_from(BASES))
    base = wire(make())
    pages = []
    for p in range(draw(st.integers(1, 2))):
        items = draw(st.lists(st.one_of(st.just(base), mutated(base)), min_size=0, max_size=5))
        pages.append((lineage(dialect, response_id=f"r{p}"), items))
    return stream, pages


@settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(batches())
def test_every_item_ends_valid_or_rejected_exactly_once(
    batch: tuple[str, list[tuple[Any, list[Any]]]],
) -> None:
    stream, pages = batch
    n = sum(len(items) for _, items in pages)
    try:
        normalized = normalize(stream, pages)
    except SchemaFailure:
        event("schema failure")
        return
    event(f"normalised {stream}")
    assert normalized.frame["_row"].to_list() == list(range(n))
    validated = validate(stream, normalized)
    valid, rejected = validated.valid["_row"].to_list(), validated.rejected["_row"].to_list()
    assert sorted(valid + rejected) == list(range(n))
    assert all(validated.rejected["failed_checks"].str.len_chars() > 0)

    deduped = deduplicate(validated)  # conflicts move to rejected, identical copies collapse
    kept, quarantined = deduped.valid["_row"].to_list(), deduped.rejected["_row"].to_list()
    assert not set(kept) & set(quarantined)
    assert set(kept) | set(quarantined) <= set(range(n))
    assert deduped.valid.select(KEYS[stream]).is_duplicated().sum() == 0


def _normalize_with(reader: Reader, stream: str, pages: list[tuple[Any, list[Any]]]) -> Any:
    try:
        result = normalize(stream, pages, reader=reader)
    except SchemaFailure as exc:
        return ("schema failure", str(exc))
    fees = result.fee_items
    return result.frame.to_dicts(), None if fees is None else fees.to_dicts()


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(batches())
def test_fast_reader_gives_exactly_what_the_careful_reader_gives(
    batch: tuple[str, list[tuple[Any, list[Any]]]],
) -> None:
    # the fast path (B2's profile: per-field reads dominated) must never change a row, a
    # problem, a fee item or a schema failure — only how long it takes
    stream, pages = batch
    assert _normalize_with("fast", stream, pages) == _normalize_with("careful", stream, pages)


@pytest.mark.parametrize(
    ("stream", "dialect", "make"), [b for b in BASES if lookup(FAST_ROWS, b[0], b[1])]
)
def test_a_fast_row_names_the_columns_its_mapper_fills(
    stream: str, dialect: str, make: Callable[..., dict[str, Any]]
) -> None:
    # a fast row's columns are taken by name: a misspelt one would load as null
    item = wire(make())
    fast = lookup(FAST_ROWS, stream, dialect)(item)
    careful = lookup(MAPPERS, stream, dialect)(
        CarefulReader(PageCounts(()), item), lineage(dialect)
    )
    assert fast is not None
    assert set(fast) == set(careful) <= set(COLUMNS[stream])
