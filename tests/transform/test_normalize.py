"""normalize: items of both dialects -> the canonical columns of transform/sql/core.sql."""

from __future__ import annotations

import pickle
import re
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

import polars as pl
import pytest
from support.items import (
    DROP,
    FETCHED,
    V14,
    V20,
    lineage,
    make_account_log,
    make_card_log,
    make_card_v14,
    make_card_v20,
    make_txn_v14,
    make_txn_v20,
    served_pages,
    tiny_world,
    wire,
)

from sandbox import render
from sandbox.world import World
from transform.normalize import COLUMNS, MONEY, TIME, Normalized, SchemaFailure, normalize

CORE_SQL = Path(__file__).parents[2] / "transform" / "sql" / "core.sql"
TABLES = {
    "transactions": "transactions",
    "card_account_logs": "card_account_logs",
    "account_logs": "account_logs",
    "cards": "card_snapshots",
    "accounts": "account_snapshots",
    "orders": "orders",
}
EXTRA = ["_row", "_item_key", "_raw", "_problems"]


def one(stream: str, item: Any, dialect: str = V14, **lineage_kw: Any) -> dict[str, Any]:
    """The single normalised row of ``item`` (canonical columns and extras)."""
    frame = normalize(stream, [(lineage(dialect, **lineage_kw), [wire(item)])]).frame
    assert frame.height == 1
    return frame.row(0, named=True)


def beside_a_good_one(stream: str, item: Any, dialect: str = V14) -> dict[str, Any]:
    """The row of ``item`` on a page that also holds a good item (so no SchemaFailure)."""
    good = {"transactions": make_txn_v14, "account_logs": make_account_log}[stream](id="ok")
    frame = normalize(stream, [(lineage(dialect), [good, wire(item)])]).frame
    return frame.row(1, named=True)


def at(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=UTC)


@pytest.fixture(scope="module")
def world() -> World:
    return tiny_world()


# -- the frame's shape ---------------------------------------------------------------------
def _table_columns(table: str) -> list[str]:
    sql = CORE_SQL.read_text()
    body = re.search(rf"create table if not exists core\.{table} \((.*?)\n\);", sql, re.S)
    assert body is not None
    names = [line.split()[0] for line in body.group(1).strip().splitlines()]
    return [n for n in names if n not in ("primary", "")]


@pytest.mark.parametrize("stream", list(TABLES))
def test_frame_has_exactly_the_core_columns_plus_extras(stream: str) -> None:
    frame = normalize(stream, []).frame
    assert frame.columns == _table_columns(TABLES[stream]) + EXTRA
    schema = frame.schema
    assert all(schema[c] == MONEY for c in frame.columns if c.endswith(("_amount", "_fee")))
    assert all(schema[c] == TIME for c in frame.columns if c.endswith("_at"))
    assert schema["_problems"] == pl.List(pl.String)


def test_fee_items_have_the_core_columns() -> None:
    fee = normalize("card_account_logs", []).fee_items
    assert fee is not None
    assert fee.columns == [*_table_columns("card_fee_items"), "_row"]


# -- given one item, expect one row ----------------------------------------------------------
def test_v14_transaction_maps_every_field() -> None:
    row = one("transactions", make_txn_v14())
    assert {k: row[k] for k in COLUMNS["transactions"]} == {
        "transaction_id": "txn-1",
        "card_id": "card-1",
        "transaction_type": "Consume",
        "status": "settled",
        "funds_direction": "Expenditure",
        "currency": "USD",
        "trans_amount": Decimal("12.50"),
        "auth_amount": Decimal("12.50"),
        "settled_amount": Decimal("12.40"),
        "auth_at": at("2026-10-01T08:00:00"),
        "settled_at": at("2026-10-02T08:00:00"),
        "merchant_name": "Zalando",
        "merchant_country": "DE",
        "auth_code": "123456",
        "failure_reason": None,
        "is_topup_mirror": False,
        "dialect": "v1.4",
        "run_id": "run-1",
        "fetched_at": FETCHED,
        "response_id": "resp-1",
    }
    assert row["_problems"] == [] and row["_row"] == 0 and row["_item_key"] == "txn-1"


@pytest.mark.parametrize(
    ("raw", "status"),
    [("AuthSuccess", "authorized"), ("Settled", "settled"), ("AuthFailure", "failed")],
)
def test_v14_statuses_map_to_canonical(raw: str, status: str) -> None:
    assert one("transactions", make_txn_v14(status=raw))["status"] == status


def test_v14_currency_falls_back_to_the_card_currency() -> None:
    item = make_txn_v14(authAmount={"amount": Decimal(1)})
    assert one("transactions", item)["currency"] == "USD"


def test_v20_purchase_maps_sign_status_and_type() -> None:
    row = one("transactions", make_txn_v20(), V20)
    assert {k: row[k] for k in COLUMNS["transactions"]} == {
        "transaction_id": "txn-1",
        "card_id": "card-1",
        "transaction_type": "Consume",
        "status": "settled",
        "funds_direction": "Expenditure",
        "currency": "USD",
        "trans_amount": Decimal("12.40"),
        "auth_amount": Decimal("12.40"),
        "settled_amount": Decimal("12.40"),
        "auth_at": at("2026-10-01T08:00:00"),
        "settled_at": None,
        "merchant_name": "Zalando",
        "merchant_country": None,
        "auth_code": "123456",
        "failure_reason": None,
        "is_topup_mirror": False,
        "dialect": "v2.0",
        "run_id": "run-1",
        "fetched_at": FETCHED,
        "response_id": "resp-1",
    }


@pytest.mark.parametrize(
    ("over", "expect"),
    [
        (
            {"status": "Pending"},
            {"status": "authorized", "settled_amount": None, "auth_amount": Decimal("12.40")},
        ),
        ({"status": "Failed"}, {"status": "failed", "settled_amount": None}),
        (
            {"transactionType": "Refund", "amount": Decimal("3.10")},
            {"transaction_type": "ConsumeRefund", "funds_direction": "Income"},
        ),
        (
            {"transactionType": "TopUp", "amount": Decimal("50"), "merchantName": None},
            {"transaction_type": "TopUp", "is_topup_mirror": True, "funds_direction": "Income"},
        ),
        ({"amount": 0, "transactionType": "Purchase"}, {"funds_direction": "Expenditure"}),
        ({"amount": 0, "transactionType": "Refund"}, {"funds_direction": "Income"}),
        (
            {"status": "Weird", "transactionType": "Gift"},
            {"status": "Weird", "transaction_type": "Gift"},
        ),
    ],
)
def test_v20_variants(over: dict[str, Any], expect: dict[str, Any]) -> None:
    row = one("transactions", make_txn_v20(**over), V20)
    assert {k: row[k] for k in expect} == expect


def test_card_log_maps_fields_and_fee_items() -> None:
    normalized = normalize("card_account_logs", [(lineage(), [wire(make_card_log())])])
    row = normalized.frame.row(0, named=True)
    assert {
        k: row[k]
        for k in COLUMNS["card_account_logs"]
        if k not in ("run_id", "fetched_at", "response_id", "dialect")
    } == {
        "account_log_id": "clog-1",
        "order_no": "C1000-20261001-T001",
        "log_type": "CardTopUp",
        "card_id": "card-1",
        "funds_direction": "Income",
        "currency": "USD",
        "trans_amount": Decimal(100),
        "total_fee": Decimal("1.5"),
        "total_amount": Decimal("101.5"),
        "status": "Completed",
        "failure_reason": None,
        "trans_at": at("2026-10-01T08:00:00"),
        "completed_at": at("2026-10-01T08:00:30"),
        "note": None,
    }
    assert normalized.fee_items is not None
    assert normalized.fee_items.to_dicts() == [
        {
            "account_log_id": "clog-1",
            "item_no": 1,
            "fee_type": "TopUpFee",
            "amount": Decimal(1),
            "currency": "USD",
            "run_id": "run-1",
            "_row": 0,
        },
        {
            "account_log_id": "clog-1",
            "item_no": 2,
            "fee_type": "OpenCardFee",
            "amount": Decimal("0.5"),
            "currency": "USD",
            "run_id": "run-1",
            "_row": 0,
        },
    ]


def test_card_log_accepts_flat_fee_items() -> None:
    flat = [{"feeType": "TopUpFee", "amount": Decimal("1.5"), "currency": "USD"}]
    normalized = normalize("card_account_logs", [(lineage(), [make_card_log(feeItems=flat)])])
    assert normalized.fee_items is not None
    assert normalized.fee_items.select("fee_type", "amount", "currency").row(0) == (
        "TopUpFee",
        Decimal("1.5"),
        "USD",
    )


def test_account_log_maps_fields_and_tolerates_null_card_info() -> None:
    row = one("account_logs", make_account_log())
    assert (row["account_log_id"], row["trans_type"], row["trans_amount"], row["card_id"]) == (
        "alog-1",
        "CardTopUp",
        Decimal("-101.5"),
        "card-1",
    )
    assert (row["available_balance"], row["blocked_balance"]) == (Decimal("898.5"), Decimal(0))
    bare = one("account_logs", make_account_log(cardInfo=None, accountTransType="AccountFee"))
    assert bare["card_id"] is None and bare["_problems"] == []


def test_v20_card_snapshot() -> None:
    row = one("cards", make_card_v20(), V20, fetched_at=datetime(2026, 11, 2, tzinfo=UTC))
    assert {k: row[k] for k in COLUMNS["cards"]} == {
        "card_id": "card-1",
        "fetched_at": datetime(2026, 11, 2, tzinfo=UTC),
        "card_model": "Standard",
        "currency": "USD",
        "status": "Active",
        "balance": Decimal("87.6"),
        "used_credit_amount": None,
        "max_auth_amount": Decimal(500),
        "max_credit_amount": None,
        "alias": "ads",
        "product_code": None,
        "created_at": at("2026-09-30T10:00:00"),
        "dialect": "v2.0",
        "run_id": "run-1",
        "response_id": "resp-1",
        "service_at": None,  # the page's lineage said no Date header
    }


def test_v14_card_snapshot_maps_cancel_and_never_keeps_the_card_number() -> None:
    row = one("cards", make_card_v14())
    assert (row["status"], row["used_credit_amount"], row["product_code"], row["alias"]) == (
        "Cancelled",
        Decimal("42.1"),
        "DGG0C4JD",
        "travel",
    )
    stored = {k: v for k, v in row.items() if k != "_raw"}
    assert "4367970000000002" not in str(stored)


def test_accounts_v20_object_is_one_row_v14_list_one_row_per_currency() -> None:
    v20 = {
        "accountBalance": Decimal(110),
        "availableBalance": Decimal(100),
        "frozenBalance": Decimal(10),
        "currency": "USD",
    }
    frame = normalize("accounts", [(lineage(V20), v20)]).frame
    assert frame.select("currency", "available_balance", "frozen_balance").rows() == [
        ("USD", Decimal(100), Decimal(10))
    ]
    v14 = [{"currency": "USD", "amount": Decimal(100)}, {"currency": "EUR", "amount": 7}]
    frame = normalize("accounts", [(lineage(V14), v14)]).frame
    assert frame.select("currency", "available_balance", "frozen_balance").rows() == [
        ("USD", Decimal(100), None),
        ("EUR", Decimal(7), None),
    ]


# -- orders: principal / fee / total per order type ----------------------------------------------
def test_orders_normalise_amounts_per_type(world: World) -> None:
    pages = served_pages(world, "orders", V14)
    frame = normalize("orders", pages).frame
    assert frame["_problems"].list.len().sum() == 0
    by_no = {r["order_no"]: r for r in frame.iter_rows(named=True)}
    seen = set()
    for o in world.orders.values():
        row = by_no[o.order_no]
        seen.add((o.order_type, o.model))
        share_open = o.model == "ShareBalance" and o.order_type == "ApplyCard"
        principal = Decimal(0) if share_open else o.principal_cents
        assert row["principal_amount"] == _money(principal), o.order_no
        assert row["fee_amount"] == _money(o.fee_cents), o.order_no
        total = None if o.order_type == "CardCancel" else o.total_cents
        assert row["total_amount"] == _money(total), o.order_no
        assert (row["order_type"], row["card_model"]) == (o.order_type, o.model)
        assert row["card_id"] == world.cards.id[o.card] or row["status"] != "Completed"
    assert seen >= {
        ("ApplyCard", "Standard"),
        ("ApplyCard", "ShareBalance"),
        ("CardTopUp", "Standard"),
        ("CardWithdraw", "Standard"),
        ("CardCancel", "Standard"),
    }


def _money(cents: Any) -> Decimal | None:
    if cents is None:
        return None
    return cents if isinstance(cents, Decimal) else Decimal(cents) / 100


def test_card_cancel_order_has_no_total_and_withdraw_takes_the_model_hint(world: World) -> None:
    frame = normalize("orders", served_pages(world, "orders", V14)).frame
    cancel = frame.filter(pl.col("order_type") == "CardCancel").row(0, named=True)
    assert cancel["total_amount"] is None  # never 0
    withdraw = frame.filter(pl.col("order_type") == "CardWithdraw").row(0, named=True)
    assert withdraw["card_model"] == "Standard" and withdraw["currency"] is None


def test_credit_limit_order_carries_no_amounts() -> None:
    world = tiny_world()
    card = next(
        i
        for i in range(len(world.cards))
        if world.cards.model[i] == "ShareBalance" and world.card_view(i).status == "Active"
    )
    order = world.credit_limit({"cardId": world.cards.id[card], "maxAuthAmount": "250"})
    item = wire(render.order(world, order, V14))
    row = one("orders", item, card_model="ShareBalance")
    assert (row["order_type"], row["card_model"], row["card_id"]) == (
        "CreditLimit",
        "ShareBalance",
        world.cards.id[card],
    )
    assert (row["principal_amount"], row["fee_amount"], row["total_amount"]) == (None, None, None)


# -- coercion ----------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("value", "expect", "problem"),
    [
        ("12.34", Decimal("12.34"), None),
        (" 7 ", Decimal(7), None),
        (12, Decimal(12), None),
        ("abc", None, "auth_amount: not a number ('abc')"),
        (True, None, "auth_amount: not a number (true)"),
        ([1], None, "auth_amount: not a number ([1])"),
        (Decimal("1.0000000001"), None, "auth_amount: more than 9 decimals"),
        (Decimal("1.5000000000000"), Decimal("1.5"), None),  # trailing zeros are not decimals
        (Decimal("1E+40"), None, "auth_amount: too large (1E+40)"),
    ],
)
def test_amount_coercion(value: Any, expect: Decimal | None, problem: str | None) -> None:
    item = make_txn_v14(authAmount={"amount": value, "currency": "USD"})
    row = beside_a_good_one("transactions", item)
    assert row["auth_amount"] == expect
    assert row["_problems"] == ([] if problem is None else [problem])


@pytest.mark.parametrize(
    ("value", "expect"),
    [
        ("2026-10-01T08:00:00.123Z", datetime(2026, 10, 1, 8, 0, 0, 123000, tzinfo=UTC)),
        ("2026-10-01T10:00:00+02:00", datetime(2026, 10, 1, 8, tzinfo=UTC)),
        ("2026-10-01T08:00:00", datetime(2026, 10, 1, 8, tzinfo=UTC)),  # naive = UTC
    ],
)
def test_times_are_utc(value: str, expect: datetime) -> None:
    assert one("transactions", make_txn_v14(authTime=value))["auth_at"] == expect


def test_bad_values_become_null_with_a_named_problem() -> None:
    item = make_txn_v14(authTime="yesterday", merchantName=42, cardInfo="card-1")
    row = beside_a_good_one("transactions", item)
    assert row["auth_at"] is None and row["merchant_name"] is None and row["card_id"] is None
    assert sorted(row["_problems"]) == [
        "auth_at: not a timestamp ('yesterday')",
        "cardInfo: not an object",
        "merchant_name: not a string (42)",
    ]


def test_a_non_object_item_is_a_row_with_a_problem() -> None:
    page = [wire(make_txn_v14()), "junk", None]
    frame = normalize("transactions", [(lineage(), page)]).frame
    assert frame["_row"].to_list() == [0, 1, 2]
    assert frame["_problems"].to_list()[1:] == [["item: not an object"]] * 2
    assert frame["_raw"].to_list()[1:] == ['"junk"', "null"]


def test_raw_keeps_decimals_exactly_as_sent() -> None:
    item = make_txn_v14(authAmount={"amount": Decimal("12.10"), "currency": "USD"})
    raw = one("transactions", item)["_raw"]
    assert '"authAmount":{"amount":12.10,"currency":"USD"}' in raw


def test_rows_and_lineage_run_across_pages() -> None:
    pages = [
        (lineage(response_id="a"), [make_txn_v14(id="1"), make_txn_v14(id="2")]),
        (
            lineage(response_id="b", fetched_at=datetime(2026, 11, 3, tzinfo=UTC)),
            [make_txn_v14(id="3")],
        ),
    ]
    frame = normalize("transactions", pages).frame
    assert frame.select("transaction_id", "_row", "response_id").rows() == [
        ("1", 0, "a"),
        ("2", 1, "a"),
        ("3", 2, "b"),
    ]
    assert frame["fetched_at"].to_list()[2] == datetime(2026, 11, 3, tzinfo=UTC)


# -- schema failures: the page's shape is not the dialect's ------------------------------------
def test_a_field_missing_from_every_item_is_a_schema_failure() -> None:
    page = [make_txn_v14(id=f"t{i}", authAmount=DROP) for i in range(3)]
    with pytest.raises(SchemaFailure) as err:
        normalize("transactions", [(lineage(response_id="r-9"), page)])
    assert err.value.field == "authAmount"
    assert str(err.value) == (
        "transactions: field 'authAmount' is missing from every item of the page "
        "(dialect v1.4, responseId r-9); the API shape changed — check the dialect (--dialect)"
    )


def test_a_field_mistyped_in_every_item_is_a_schema_failure() -> None:
    page = [make_txn_v14(id=f"t{i}", authAmount=Decimal(1)) for i in range(2)]
    with pytest.raises(SchemaFailure, match="'authAmount' has the wrong JSON type"):
        normalize("transactions", [(lineage(), page)])


def test_the_wrong_dialect_is_a_schema_failure_naming_the_flag() -> None:
    with pytest.raises(SchemaFailure, match=r"check the dialect \(--dialect\)"):
        normalize("transactions", [(lineage(V14), [make_txn_v20()])])
    with pytest.raises(SchemaFailure, match="'availableBalance'"):
        normalize("accounts", [(lineage(V20), [{"currency": "USD", "amount": 1}])])


def test_a_field_missing_from_some_items_is_not_a_schema_failure() -> None:
    page = [make_txn_v14(id="t1"), make_txn_v14(id="t2", authAmount=DROP)]
    frame = normalize("transactions", [(lineage(), page)]).frame
    assert frame["auth_amount"].to_list() == [Decimal("12.5"), None]


def test_an_empty_page_is_fine_and_a_page_of_non_objects_is_not() -> None:
    assert normalize("transactions", [(lineage(), [])]).frame.height == 0
    with pytest.raises(SchemaFailure, match="no item of the page is a JSON object"):
        normalize("transactions", [(lineage(), ["a", 1])])


def test_schema_failure_pickles() -> None:
    err = SchemaFailure(
        "cards", "cardId", "field 'cardId' is missing", dialect=V20, response_id="x"
    )
    back = pickle.loads(pickle.dumps(err))
    assert (str(back), back.field, back.response_id) == (str(err), "cardId", "x")


# -- both dialects say the same thing ---------------------------------------------------------
def _frames(world: World, stream: str) -> tuple[pl.DataFrame, pl.DataFrame]:
    out = []
    for dialect in (V20, V14):
        normalized: Normalized = normalize(stream, served_pages(world, stream, dialect))
        assert normalized.frame["_problems"].list.len().sum() == 0
        out.append(normalized.frame)
    return out[0], out[1]


def _same(a: pl.DataFrame, b: pl.DataFrame, key: str, columns: list[str]) -> None:
    assert sorted(a[key].to_list()) == sorted(b[key].to_list())
    left = a.select(key, *columns).sort(key)
    right = b.select(key, *columns).sort(key)
    for column in columns:
        assert left[column].to_list() == right[column].to_list(), column


def test_both_dialects_give_the_same_canonical_content(world: World) -> None:
    # transactions: v2.0 mirrors top-ups (excluded), has no settle time, merchant country
    # or failure reason, reports one amount (auth = settled = |amount|) and only
    # Purchase/Refund (coarser than the v1.4 types); v1.4's AuthQuery it does not serve
    v20, v14 = _frames(world, "transactions")
    v20 = v20.filter(~pl.col("is_topup_mirror"))
    v14 = v14.filter(pl.col("transaction_type") != "AuthQuery")
    _same(
        v20,
        v14,
        "transaction_id",
        [
            "card_id",
            "status",
            "funds_direction",
            "currency",
            "settled_amount",
            "auth_at",
            "merchant_name",
            "is_topup_mirror",
        ],
    )
    _same(
        v20.filter(pl.col("status") != "settled"),
        v14.filter(pl.col("status") != "settled"),
        "transaction_id",
        ["auth_amount", "trans_amount"],
    )
    joined = v20.join(v14, on="transaction_id", suffix="_v14")
    fine = joined.filter(pl.col("transaction_type_v14").is_in(["Consume", "ConsumeRefund"]))
    assert fine["transaction_type"].to_list() == fine["transaction_type_v14"].to_list()
    coarse = joined.select(
        pl.col("transaction_type"),
        pl.when(pl.col("funds_direction_v14") == "Income")
        .then(pl.lit("ConsumeRefund"))
        .otherwise(pl.lit("Consume"))
        .alias("expected"),
    )
    assert coarse["transaction_type"].to_list() == coarse["expected"].to_list()
    assert (joined["auth_code"].fill_null("") == joined["auth_code_v14"].fill_null("")).all()

    # card and account logs: the same item in both dialects
    for stream in ("card_account_logs", "account_logs"):
        v20, v14 = _frames(world, stream)
        content = [c for c in COLUMNS[stream] if c != "dialect"]
        assert v20.select(content).equals(v14.select(content)), stream

    # cards: v2.0 lacks productCode and usedCreditAmount
    v20, v14 = _frames(world, "cards")
    _same(
        v20,
        v14,
        "card_id",
        [
            "card_model",
            "currency",
            "status",
            "balance",
            "max_auth_amount",
            "max_credit_amount",
            "alias",
            "created_at",
        ],
    )
    assert v20["used_credit_amount"].null_count() == v20.height

    # accounts: v2.0 shows the primary currency only, v1.4 lacks the frozen balance
    v20, v14 = _frames(world, "accounts")
    _same(
        v20,
        v14.filter(pl.col("currency").is_in(v20["currency"].implode())),
        "currency",
        ["available_balance"],
    )
    assert v14["frozen_balance"].null_count() == v14.height

    # orders: the same in both dialects
    v20, v14 = _frames(world, "orders")
    content = [c for c in COLUMNS["orders"] if c != "dialect"]
    assert v20.select(content).equals(v14.select(content))
