"""validate: only untrustworthy records are rejected, each with the checks it failed."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

import polars as pl
import pytest
from support.items import (
    FETCHED,
    V14,
    V20,
    amount,
    lineage,
    make_account_log,
    make_card_log,
    make_card_v14,
    make_card_v20,
    make_txn_v14,
    served_pages,
    tiny_world,
    wire,
)

from sandbox.world import World
from transform.normalize import COLUMNS, MONEY, normalize
from transform.schemas import MODELS, CardFeeItemSchema
from transform.tables import KEYS
from transform.validate import Validated, dedupe_latest, deduplicate, validate

GOOD = {
    "transactions": make_txn_v14,
    "card_account_logs": make_card_log,
    "account_logs": make_account_log,
}


def run(stream: str, *items: Any, dialect: str = V14) -> Validated:
    return validate(stream, normalize(stream, [(lineage(dialect), [wire(i) for i in items])]))


def verdicts(v: Validated) -> dict[str | None, str]:
    return dict(
        zip(v.rejected["item_key"].to_list(), v.rejected["failed_checks"].to_list(), strict=True)
    )


@pytest.fixture(scope="module")
def world() -> World:
    return tiny_world()


# -- the sandbox's data is clean --------------------------------------------------------------
@pytest.mark.parametrize("dialect", [V20, V14])
@pytest.mark.parametrize("stream", list(MODELS))
def test_everything_the_sandbox_serves_is_valid(world: World, stream: str, dialect: str) -> None:
    normalized = normalize(stream, served_pages(world, stream, dialect))
    validated = validate(stream, normalized)
    assert validated.rejected.height == 0, validated.rejected["failed_checks"].to_list()[:5]
    assert validated.valid.height == normalized.frame.height > 0
    assert validated.valid.columns == [*COLUMNS[stream], "_row", "_raw"]
    money = [c for c, t in COLUMNS[stream].items() if t == MONEY]
    assert all(validated.valid.schema[c] == pl.Decimal(18, 2) for c in money)


# -- given a bad item, expect its failed checks ---------------------------------------------
BAD: list[tuple[str, str, dict[str, Any], str]] = [
    (
        "transactions",
        "3 decimals",
        {"authAmount": amount(Decimal("1.234"))},
        "auth_amount: at most 2 decimals",
    ),
    (
        "transactions",
        "unknown status",
        {"status": "Weird"},
        "status: isin(['authorized', 'settled', 'failed']) got 'Weird'",
    ),
    (
        "transactions",
        "unknown type",
        {"transactionType": "Gift"},
        "transaction_type: isin(['Consume', 'ConsumeRefund', 'ConsumeReversal', "
        "'ConsumeRefundReversal', 'ConsumeDispute', 'DisputeRelease', 'AuthQuery', 'TransFee', "
        "'TopUp']) got 'Gift'",
    ),
    (
        "transactions",
        "settle before auth",
        {"settleTime": "2026-09-30T08:00:00Z"},
        "settled_at: not before auth_at",
    ),
    (
        "transactions",
        "settled without amount",
        {"settledAmount": None},
        "settled_amount: required when status is settled",
    ),
    (
        "transactions",
        "non-numeric amount",
        {"authAmount": amount("abc")},
        "auth_amount: not a number ('abc')",
    ),
    (
        "transactions",
        "negative magnitude",
        {"authAmount": amount(Decimal("-1"))},
        "auth_amount: not negative",
    ),
    (
        "transactions",
        "not a currency",
        {"authAmount": amount(1, "usd")},
        "currency: ISO-4217 currency got 'usd'",
    ),
    ("transactions", "empty card id", {"cardInfo": {"cardId": " "}}, "card_id: not empty got ' '"),
    ("transactions", "bad time", {"authTime": "soon"}, "auth_at: not a timestamp ('soon')"),
    (
        "transactions",
        "too big for DECIMAL(18,2)",
        {"authAmount": amount(Decimal("1E16"))},
        "auth_amount: at most 16 digits before the decimal point",
    ),
    (
        "account_logs",
        "direction contradicts sign",
        {"fundsDirection": "Income"},
        "funds_direction: agrees with the sign of trans_amount",
    ),
    ("account_logs", "empty type", {"accountTransType": ""}, "trans_type: not empty got ''"),
    (
        "card_account_logs",
        "fee item with 3 decimals",
        {"feeItems": [{"feeType": "TopUpFee", "amount": amount(Decimal("1.005"))}]},
        "fee_items[1].amount: at most 2 decimals",
    ),
    (
        "card_account_logs",
        "fee item not a number",
        {"feeItems": [{"feeType": "TopUpFee", "amount": amount("x")}]},
        "fee_items[1].amount: not a number ('x')",
    ),
    (
        "card_account_logs",
        "unknown log type",
        {"cardAccountLogType": "Gift"},
        "log_type: isin(['ApplyCard', 'CardTopUp', 'CardWithdraw', 'CardCancel']) got 'Gift'",
    ),
]


@pytest.mark.parametrize(("stream", "case", "over", "expect"), BAD, ids=[b[1] for b in BAD])
def test_a_bad_item_is_rejected_with_its_failed_checks(
    stream: str, case: str, over: dict[str, Any], expect: str
) -> None:
    key = "accountLogId" if stream == "card_account_logs" else "id"
    v = run(stream, GOOD[stream](**{key: "ok"}), GOOD[stream](**over))
    assert v.valid["_row"].to_list() == [0]
    assert v.rejected["_row"].to_list() == [1]
    assert v.rejected["failed_checks"].to_list() == [expect]
    assert v.rejected["_raw"].to_list()[0].startswith("{")


def test_all_failures_of_a_row_are_reported_at_once() -> None:
    bad = make_txn_v14(authAmount=amount(Decimal("1.234")), status="Weird")
    assert verdicts(run("transactions", make_txn_v14(id="ok"), bad)) == {
        "txn-1": "status: isin(['authorized', 'settled', 'failed']) got 'Weird'; "
        "auth_amount: at most 2 decimals"
    }


def test_a_missing_key_is_rejected_without_an_item_key() -> None:
    v = run("transactions", make_txn_v14(id="ok"), make_txn_v14(id=None))
    assert v.rejected.select("item_key", "failed_checks").rows() == [
        (None, "transaction_id: missing")
    ]


def test_a_problem_is_not_repeated_as_missing() -> None:
    v = run("transactions", make_txn_v14(id="ok"), make_txn_v14(authAmount=amount("abc")))
    assert verdicts(v)["txn-1"] == "auth_amount: not a number ('abc')"


def test_a_non_object_item_is_rejected_once() -> None:
    v = run("transactions", make_txn_v14(), ["not", "an", "item"])
    assert v.rejected.rows() == [
        (1, None, "item: not an object", '["not","an","item"]', "resp-1", FETCHED)
    ]


def test_numeric_string_amounts_are_accepted() -> None:
    v = run("transactions", make_txn_v14(authAmount=amount("12.34"), transAmount=amount("12")))
    assert v.rejected.height == 0
    assert v.valid.select("auth_amount", "trans_amount").row(0) == (
        Decimal("12.34"),
        Decimal("12.00"),
    )


def test_null_card_info_on_an_account_log_is_fine() -> None:
    v = run("account_logs", make_account_log(cardInfo=None, accountTransType="AccountFee"))
    assert v.rejected.height == 0 and v.valid["card_id"].to_list() == [None]


def test_zero_amount_agrees_with_either_direction() -> None:
    items = [
        make_account_log(id=d, fundsDirection=d, transAmount=0) for d in ("Income", "Expenditure")
    ]
    assert run("account_logs", *items).rejected.height == 0


def test_an_open_ended_account_trans_type_loads() -> None:
    v = run("account_logs", make_account_log(accountTransType="CashbackBonus"))
    assert v.rejected.height == 0


def test_arithmetic_between_amounts_is_not_a_validation_failure() -> None:
    # totalFee != sum(feeItems) and totalAmount != transAmount + totalFee: a break, not a bad row
    log = make_card_log(totalFee=amount(5), totalAmount=amount(1))
    v = run("card_account_logs", log)
    assert v.rejected.height == 0
    assert v.fee_items is not None and v.fee_items.height == 2


def test_a_bad_fee_item_rejects_its_whole_card_log() -> None:
    fees = [
        {"feeType": "TopUpFee", "amount": amount(1)},
        {"feeType": "", "amount": amount(Decimal("0.001"), "XYZ")},
    ]
    v = run("card_account_logs", make_card_log(accountLogId="ok"), make_card_log(feeItems=fees))
    assert verdicts(v) == {
        "clog-1": "fee_items[2].fee_type: not empty got ''; "
        "fee_items[2].amount: at most 2 decimals; "
        "fee_items[2].currency: ISO-4217 currency got 'XYZ'"
    }
    assert v.fee_items is not None and v.fee_items["account_log_id"].unique().to_list() == ["ok"]
    assert v.fee_items_rejected is not None
    assert v.fee_items_rejected.select("_row", "item_no", "item_key").rows() == [(1, 2, "clog-1")]


def test_card_snapshot_checks() -> None:
    v = run("cards", make_card_v20(cardModel="Debit", maxAuthAmount=Decimal(-1)), dialect=V20)
    assert sorted(verdicts(v)["card-1"].split("; ")) == [
        "card_model: isin(['Standard', 'ShareBalance']) got 'Debit'",
        "max_auth_amount: not negative",
    ]
    assert run("cards", make_card_v14()).rejected.height == 0


def test_every_row_ends_in_exactly_one_side() -> None:
    items = [make_txn_v14(id=str(i), status=s) for i, s in enumerate(["Settled", "Weird"] * 3)]
    v = run("transactions", *items)
    assert sorted(v.valid["_row"].to_list() + v.rejected["_row"].to_list()) == list(range(6))


def test_validating_a_lazyframe_would_skip_value_checks() -> None:
    # why validate() collects: pandera checks only the schema of a LazyFrame
    bad = normalize("transactions", [(lineage(), [wire(make_txn_v14(status="Weird"))])]).frame
    canonical = bad.select(list(COLUMNS["transactions"]))
    MODELS["transactions"].validate(canonical.lazy())  # passes: schema only
    with pytest.raises(Exception, match="isin"):
        MODELS["transactions"].validate(canonical)


# -- duplicates: the latest fetch wins, differing older versions are conflicts ----------------
def _two_fetches(first: dict[str, Any], second: dict[str, Any]) -> Validated:
    pages = [
        (lineage(response_id="early", fetched_at=datetime(2026, 11, 1, tzinfo=UTC)), [wire(first)]),
        (lineage(response_id="late", fetched_at=datetime(2026, 11, 2, tzinfo=UTC)), [wire(second)]),
    ]
    return validate("transactions", normalize("transactions", pages))


def test_validate_leaves_duplicates_to_the_loader() -> None:
    v = _two_fetches(
        make_txn_v14(), make_txn_v14(status="AuthSuccess", settledAmount=None, settleTime=None)
    )
    assert v.valid["_row"].to_list() == [0, 1] and v.rejected.height == 0


def test_identical_duplicates_collapse_silently() -> None:
    deduped = deduplicate(_two_fetches(make_txn_v14(), make_txn_v14()))
    assert deduped.valid["_row"].to_list() == [1]
    assert deduped.valid["response_id"].to_list() == ["late"]
    assert deduped.rejected.height == 0


def test_differing_duplicates_keep_the_latest_and_quarantine_the_older() -> None:
    authorized = make_txn_v14(status="AuthSuccess", settledAmount=None, settleTime=None)
    deduped = deduplicate(_two_fetches(make_txn_v14(), authorized))
    assert deduped.valid.select("_row", "status").rows() == [(1, "authorized")]
    assert deduped.rejected.select("_row", "item_key", "failed_checks").rows() == [
        (
            0,
            "txn-1",
            "conflict: the same transaction_id arrived again with different content in this run "
            "(status, settled_amount, settled_at); the latest fetch was kept",
        )
    ]
    assert '"status":"Settled"' in deduped.rejected["_raw"][0]
    MODELS["transactions"].validate(  # the deduplicated batch meets the models' uniqueness
        deduped.valid.drop("_row", "_raw").with_columns(pl.col(pl.Decimal).cast(MONEY))
    )


def test_card_logs_differing_only_in_fee_items_conflict() -> None:
    one_fee = make_card_log(feeItems=[{"feeType": "TopUpFee", "amount": amount(Decimal("1.5"))}])
    pages = [
        (lineage(fetched_at=datetime(2026, 11, d, tzinfo=UTC)), [wire(item)])
        for d, item in ((1, make_card_log()), (2, one_fee))
    ]
    deduped = deduplicate(validate("card_account_logs", normalize("card_account_logs", pages)))
    assert deduped.valid["_row"].to_list() == [1]
    assert "(fee_items)" in deduped.rejected["failed_checks"][0]
    assert deduped.fee_items is not None and deduped.fee_items["_row"].to_list() == [1]


def test_dedupe_latest_on_a_composite_key() -> None:
    t = datetime(2026, 11, 1, tzinfo=UTC)
    frame = pl.DataFrame(
        {
            "card_id": ["a", "a", "b"],
            "fetched_at": [t, t, t],
            "status": ["Active", "Blocked", "Active"],
            "run_id": ["r", "r", "r"],
            "_row": [0, 1, 2],
        }
    )
    kept, conflicts = dedupe_latest(frame, KEYS["cards"])
    assert kept["_row"].to_list() == [1, 2]
    assert conflicts.select("_row", "item_key").rows() == [(0, "a")]
    assert conflicts["failed_checks"][0].startswith(
        "conflict: the same (card_id, fetched_at) arrived again"
    )


def test_fee_item_model_declares_its_key() -> None:
    assert CardFeeItemSchema.to_schema().unique == ("account_log_id", "item_no")
    assert KEYS["transactions"] == ("transaction_id",)


def test_unknown_stream_is_an_error() -> None:
    with pytest.raises(ValueError, match="unknown stream"):
        normalize("things", [])
    with pytest.raises(ValueError, match="unknown stream"):
        validate("things", normalize("transactions", []))


def test_an_order_needs_a_card_model_from_the_item_or_the_endpoint() -> None:
    withdraw = {
        "orderNo": "o-1",
        "orderType": "CardWithdraw",
        "status": "Completed",
        "cardId": "card-1",
        "withdrawAmount": 5,
        "withdrawFee": 1,
        "totalAmount": 6,
    }
    pages = [
        (lineage(card_model=None), [wire(withdraw)]),
        (lineage(card_model="Standard"), [wire(dict(withdraw, orderNo="o-2"))]),
    ]
    v = validate("orders", normalize("orders", pages))
    assert verdicts(v) == {"o-1": "card_model: missing"}
    assert v.valid.select("order_no", "card_model").rows() == [("o-2", "Standard")]


def test_dedupe_latest_conflicts_carry_what_the_quarantine_needs() -> None:
    authorized = make_txn_v14(status="AuthSuccess", settledAmount=None, settleTime=None)
    validated = _two_fetches(make_txn_v14(), authorized)
    kept, conflicts = dedupe_latest(validated.valid, KEYS["transactions"])
    assert kept["_row"].to_list() == [1]
    assert conflicts.select("_row", "item_key", "response_id").rows() == [(0, "txn-1", "early")]
    assert conflicts["_raw"][0].startswith('{"id":"txn-1"')


# -- the spellings and shapes of the service's own examples (API.md) ---------------------------
def _order(**over: Any) -> dict[str, Any]:
    base = {
        "orderNo": "O-1",
        "orderType": "CardTopUp",
        "status": "Completed",
        "productInfo": {"cardModel": "Standard", "cardCurrency": "USD"},
        "cardId": "card-1",
        "topUpAmount": Decimal("10"),
        "fee": Decimal("0.10"),
        "totalAmount": Decimal("10.10"),
        "createdOn": "2026-10-01T08:00:00Z",
    }
    return {**base, **over}


@pytest.mark.parametrize(
    ("field", "sent", "canonical"),
    [
        ("orderType", "TopUpCard", "CardTopUp"),
        ("orderType", "ModifyCreditLimit", "CreditLimit"),
        ("orderType", "CardUnBlock", "CardUnblock"),
        ("status", "Failure", "Failed"),
    ],
)
def test_order_spellings_of_the_published_examples_are_aliases(
    field: str, sent: str, canonical: str
) -> None:
    v = run("orders", _order(**{field: sent}))
    assert v.rejected.is_empty()
    column = "order_type" if field == "orderType" else "status"
    assert v.valid[column].to_list() == [canonical]
    assert f'"{sent}"' in v.valid["_raw"][0]  # the raw item keeps the spelling as sent


def test_card_status_cancel_is_cancelled_in_both_dialects() -> None:
    for dialect, card in ((V14, make_card_v14(status="Cancel")), (V20, make_card_v20())):
        if dialect == V20:
            card["cardStatus"] = "Cancel"
        v = run("cards", card, dialect=dialect)
        assert v.rejected.is_empty(), dialect
        assert v.valid["status"].to_list() == ["Cancelled"]


def test_an_enum_in_neither_the_vocabulary_nor_the_alias_table_is_still_untrusted() -> None:
    v = run("orders", _order(orderType="TopUpCards"), _order(orderNo="O-2", status="Failur"))
    assert verdicts(v) == {
        "O-1": "order_type: isin(['ApplyCard', 'CardTopUp', 'CreditLimit', 'CardWithdraw', "
        "'CardCancel', 'CardBlock', 'CardUnblock']) got 'TopUpCards'",
        "O-2": "status: isin(['Pending', 'Processing', 'Completed', 'Failed']) got 'Failur'",
    }


def test_dotnet_times_with_offsets_are_converted_to_utc() -> None:
    txn = make_txn_v14(
        authTime="2025-04-23T11:13:17.6917032+08:00", settleTime="2025-04-23T11:13:17.9999999-05:00"
    )
    v = run("transactions", txn)
    assert v.rejected.is_empty()
    assert v.valid["auth_at"].to_list() == [datetime(2025, 4, 23, 3, 13, 17, 691703, tzinfo=UTC)]
    # truncated to the microsecond, never rounded into the next second
    assert v.valid["settled_at"].to_list() == [
        datetime(2025, 4, 23, 16, 13, 17, 999999, tzinfo=UTC)
    ]


def test_whole_amounts_as_integers_and_absent_optional_fields_load() -> None:
    txn = make_txn_v14(
        transAmount=amount(10), authAmount={"amount": 10, "currency": "USD"}, settledAmount=None
    )
    for optional in ("settledAmount", "settleTime", "failureReason", "note", "merchantName"):
        txn.pop(optional, None)
    txn["status"] = "AuthSuccess"
    txn["riskScore"] = {"level": "low"}  # unknown fields are ignored
    v = run("transactions", txn)
    assert v.rejected.is_empty()
    assert v.valid["auth_amount"].to_list() == [Decimal("10.00")]
    assert v.valid["settled_amount"].to_list() == [None]
    assert '"riskScore"' in v.valid["_raw"][0]


def test_the_transaction_types_validation_admits_are_the_money_model_s() -> None:
    import csv

    from transform.reconcile import MODEL_DIR
    from transform.vocab import TXN_TYPES

    with (MODEL_DIR / "transaction_types.csv").open(encoding="utf-8") as f:
        model = [row["transaction_type"] for row in csv.DictReader(f)]
    assert sorted(model) == sorted(TXN_TYPES)
