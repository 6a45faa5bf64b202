"""Every JSON reply example of the two published cardepass documents, read as a run reads it.

The examples are copied verbatim into ``tests/data/published/<dialect>/`` (sources, headings
and line numbers in ``tests/data/published/SOURCES.md``). Each one goes the way a reply goes
in a run:

* a log page (transactions, card account logs, account logs) or a card, order or account
  reply (first ``extract.snapshots.scrub_card_payload``: what ``raw.pages`` keeps) becomes
  the page a run keeps, and ``flows.pages.page_loads`` reads it as a run and a rebuild do:
  its items in the page shape this reply has (``extract.streams.stored_items``), a
  snapshot's ``data``, an order's card model from the endpoint that answered it and its
  type from the query the run sent; then ``normalize`` + ``validate``;
* a ping reply: through ``CardepassClient.get_json("/v1/ping", envelope=False)``, as the
  preflight check calls it.

Expectations: every record loads (nothing is quarantined for a spelling, a time format or a
number format the documents themselves print), and a few hand-checked fields per example
have their canonical values. A second group takes published examples and changes one field
to a spelling the published documents use elsewhere (API.md, "What the live service's own
examples show"), and a third makes sure an unknown enum is still quarantined.
"""

from __future__ import annotations

import asyncio
import json
import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any, cast

import httpx
import polars as pl
import pytest
from support.items import FETCHED

from extract.auth import ClientCredentials
from extract.client import CardepassClient, make_client
from extract.records import RawPage
from extract.session import exact_json
from extract.snapshots import scrub_card_payload
from extract.streams import (
    ACCOUNTS_PATH,
    CARD_PATH,
    DIALECTS,
    ORDER_PATHS,
    CardModel,
    DialectName,
    StreamName,
)
from flows.pages import page_loads
from transform.normalize import Normalized, normalize, raw_json
from transform.validate import Validated, validate

DATA = Path(__file__).parents[1] / "data" / "published"
LOG_STREAMS = ("transactions", "card_account_logs", "account_logs")
STANDARD, SHARE = "Standard", "ShareBalance"


def d(text: str) -> Decimal:
    return Decimal(text)


def t(text: str) -> datetime:
    """A UTC time written as ``2025-01-15T10:00:00`` (fractions allowed)."""
    return datetime.fromisoformat(text).replace(tzinfo=UTC)


@dataclass(frozen=True)
class Example:
    """One published reply: which stream reads it, and what its records must become."""

    stream: str  # a stream of transform.normalize, or "ping"
    rows: list[dict[str, Any]] = field(default_factory=list)  # hand-checked, one per record
    model: str | None = None  # orders: the endpoint that answers it (Standard / ShareBalance)
    asked: str | None = None  # orders: the OrderType the run's query sends (from the log)
    fee_items: list[tuple[str, Decimal, str]] | None = None  # card logs: (type, amount, cur)


# -- the examples and their hand-checked values ----------------------------------------------
EXAMPLES: dict[str, Example] = {
    # ---- the v2.0 document (cardepass-api-doc-v2.0.md) ----
    "v2.0/ping": Example("ping", [{"body": "Ping Success"}]),
    "v2.0/scenario1_ping": Example("ping", [{"body": "Ping Success"}]),
    "v2.0/card": Example(
        "cards",
        [
            {
                "card_id": "68085ad8b85b8cf3d3f3087e",
                "card_model": SHARE,
                "currency": "USD",
                "status": "Active",
                "balance": d("100.50"),
                "max_auth_amount": d("500"),
                "max_credit_amount": d("1000"),
                "alias": "测试卡片",
                "created_at": t("2025-01-15T10:30:00"),
                "response_id": "uuid-response-id",
            }
        ],
    ),
    "v2.0/accounts": Example(
        "accounts",
        [
            {
                "currency": "USD",
                "available_balance": d("950.00"),
                "frozen_balance": d("50.50"),
                "response_id": "uuid-response-id",
            }
        ],
    ),
    "v2.0/transactions": Example(
        "transactions",
        [
            {
                "transaction_id": "tx_123456789",
                "card_id": "68085ad8b85b8cf3d3f3087e",
                "transaction_type": "Consume",
                "status": "settled",
                "funds_direction": "Expenditure",
                "currency": "USD",
                "trans_amount": d("25.50"),
                "auth_amount": d("25.50"),
                "settled_amount": d("25.50"),
                "auth_at": t("2025-01-20T14:30:00"),
                "merchant_name": "Amazon.com",
                "auth_code": "AUTH123",
                "is_topup_mirror": False,
            }
        ],
    ),
    "v2.0/order_sharebalance_apply": Example(
        "orders",
        [
            {
                "order_no": "C1000-20250423-2RJI",
                "customer_order_no": "T20250423001",
                "order_type": "ApplyCard",
                "card_model": SHARE,
                "status": "Pending",
                "currency": "USD",
                "fee_amount": d("0.1"),
                "total_amount": d("0.1"),
                "created_at": t("2025-04-23T03:13:17.668"),
                "completed_at": None,
                "response_id": "01fa02d3-20dd-4ce7-84ea-ca6c9884a485",
            }
        ],
        model=SHARE,
    ),
    # abbreviated replies of the document's walk-through ("完整调用示例", scenario 1)
    "v2.0/scenario1_order_sharebalance_apply": Example(
        "orders",
        [
            {
                "order_no": "C1000-20250421-ABC1",
                "order_type": "ApplyCard",  # as asked: the reply omits it
                "customer_order_no": "MYORDER_001",
                "status": "Pending",
                "card_model": SHARE,
            }
        ],
        model=SHARE,
        asked="ApplyCard",  # the shortened reply has no orderType
    ),
    "v2.0/scenario1_order_sharebalance_query": Example(
        "orders",
        [
            {
                "order_no": "C1000-20250421-ABC1",
                "order_type": "ApplyCard",  # as asked: the reply omits it
                "status": "Completed",
                "card_id": "680861234567890abcdef",
                "card_model": SHARE,
            }
        ],
        model=SHARE,
        asked="ApplyCard",  # the shortened reply has no orderType
    ),
    # ---- the v1.4 reference (cardepass-openapi-reference-v1.4.md) ----
    "v1.4/ping": Example("ping", [{"response_id": "00000000-0000-0000-0000-000000000000"}]),
    "v1.4/card": Example(
        "cards",
        [
            {
                "card_id": "CARD123456",
                "card_model": STANDARD,
                "currency": "USD",
                "status": "Active",
                "balance": d("1250.5"),
                "used_credit_amount": d("1200.0"),
                "max_auth_amount": d("500.0"),
                "max_credit_amount": d("10000.0"),
                "alias": "我的美元卡",
                "product_code": "PROD001",
                "created_at": t("2025-01-10T08:00:00"),
            }
        ],
    ),
    # order replies printed under "卡片管理" (no endpoint named; their shape is that of the
    # standard order queries)
    "v1.4/card_section_order_CardBlock": Example(
        "orders",
        [
            {
                "order_no": "ORD20250115004",
                "order_type": "CardBlock",
                "status": "Completed",
                "card_id": "CARD123456",
                "customer_order_no": "CUST20250115004",
                "created_at": t("2025-01-15T17:00:00"),
                "completed_at": t("2025-01-15T17:01:00"),
            }
        ],
        model=STANDARD,
    ),
    "v1.4/card_section_order_CardUnblock": Example(
        "orders",
        [
            {
                "order_no": "ORD20250115005",
                "order_type": "CardUnblock",
                "status": "Completed",
                "card_id": "CARD123456",
                "completed_at": t("2025-01-15T18:01:00"),
            }
        ],
        model=STANDARD,
    ),
    "v1.4/card_section_order_CardCancel": Example(
        "orders",
        [
            {
                "order_no": "ORD20250115006",
                "order_type": "CardCancel",
                "status": "Completed",
                "card_id": "CARD123456",
                "principal_amount": d("150.00"),
                "fee_amount": None,
                "completed_at": t("2025-01-15T19:05:00"),
            }
        ],
        model=STANDARD,
    ),
    "v1.4/order_standard_apply": Example(
        "orders",
        [
            {
                "order_no": "ORD12345678",
                "customer_order_no": "ORD20250115001",
                "order_type": "ApplyCard",
                "card_model": STANDARD,
                "status": "Completed",
                "card_id": "CARD123456",
                "currency": "USD",
                "principal_amount": d("100.0"),
                "fee_amount": d("5.0"),
                "total_amount": d("105.0"),
                "created_at": t("2025-01-15T10:00:00"),
                "completed_at": t("2025-01-15T10:00:30"),
            }
        ],
        model=STANDARD,
    ),
    "v1.4/order_standard_topup": Example(
        "orders",
        [
            {
                "order_no": "ORD12345678",
                "customer_order_no": "SB20250115001",
                "order_type": "CardTopUp",  # printed "TopUpCard"
                "card_model": STANDARD,
                "status": "Completed",
                "card_id": "CARD123456",  # orderLines[0].cardInfo
                "currency": "USD",
                "principal_amount": d("100.0"),
                "fee_amount": d("5.0"),
                "total_amount": d("100.0"),  # totalPayAmount as printed
            }
        ],
        model=STANDARD,
    ),
    "v1.4/order_standard_block": Example(
        "orders",
        [
            {
                "order_no": "ORD20250115001",
                "order_type": "CardBlock",
                "status": "Pending",
                "card_id": "CARD123456",
                "currency": "USD",
                "completed_at": None,
            }
        ],
        model=STANDARD,
    ),
    "v1.4/order_standard_unblock": Example(
        "orders",
        [
            {
                "order_no": "ORD12345678",
                "order_type": "CardUnblock",
                "status": "Pending",
                "card_id": "CARD123456",
                "completed_at": None,
            }
        ],
        model=STANDARD,
    ),
    "v1.4/order_standard_cancel": Example(
        "orders",
        [
            {
                "order_no": "ORD12345678",
                "customer_order_no": "CNL20250115001",
                "order_type": "CardCancel",
                "card_model": STANDARD,
                "status": "Completed",
                "card_id": "CARD123456",
                "fee_amount": d("100.0"),
                "completed_at": t("2025-01-15T10:05:00"),
            }
        ],
        model=STANDARD,
    ),
    "v1.4/order_standard_withdraw": Example(
        "orders",
        [
            {
                "order_no": "ORD12345678",
                "order_type": "CardWithdraw",
                "status": "Pending",
                "card_id": "CARD123456",
                "principal_amount": d("100.0"),
                "fee_amount": d("2.5"),
                "total_amount": d("102.5"),
                "completed_at": None,
            }
        ],
        model=STANDARD,
    ),
    "v1.4/order_standard_query_ApplyCard": Example(
        "orders",
        [
            {
                "order_no": "ORD20250115001",
                "customer_order_no": "CUST20250115001",
                "order_type": "ApplyCard",
                "card_model": STANDARD,
                "status": "Completed",
                "principal_amount": d("1000.00"),
                "fee_amount": d("5.00"),
                "total_amount": d("1005.00"),
                "created_at": t("2025-01-15T10:30:00"),
                "completed_at": t("2025-01-15T10:35:00"),
            }
        ],
        model=STANDARD,
    ),
    "v1.4/order_standard_query_CardTopUp": Example(
        "orders",
        [
            {
                "order_no": "ORD20250115003",
                "order_type": "CardTopUp",
                "card_model": STANDARD,
                "status": "Completed",
                "card_id": "CARD123456",
                "principal_amount": d("200.00"),
                "fee_amount": d("1.00"),
                "total_amount": d("201.00"),
                "created_at": t("2025-01-15T16:10:00"),
                "completed_at": t("2025-01-15T16:15:00"),
            }
        ],
        model=STANDARD,
    ),
    "v1.4/order_standard_query_CardWithdraw": Example(
        "orders",
        [
            {
                "order_no": "ORD20250115002",
                "order_type": "CardWithdraw",
                "status": "Processing",
                "card_id": "CARD123456",
                "principal_amount": d("500.00"),
                "fee_amount": d("2.50"),
                "total_amount": d("502.50"),
                "completed_at": None,
            }
        ],
        model=STANDARD,
    ),
    "v1.4/order_standard_query_CardCancel": Example(
        "orders",
        [
            {
                "order_no": "ORD20250115004",
                "order_type": "CardCancel",
                "status": "Completed",
                "card_id": "CARD123456",
                "completed_at": t("2025-01-15T18:05:00"),
            }
        ],
        model=STANDARD,
    ),
    "v1.4/order_standard_query_CardBlock": Example(
        "orders",
        [
            {
                "order_no": "ORD20250115005",
                "order_type": "CardBlock",
                "status": "Completed",
                "card_id": "CARD123456",
                "created_at": t("2025-01-15T20:00:00"),
            }
        ],
        model=STANDARD,
    ),
    "v1.4/order_standard_query_CardUnblock": Example(
        "orders",
        [
            {
                "order_no": "ORD20250115006",
                "order_type": "CardUnblock",
                "status": "Completed",
                "card_id": "CARD123456",
                "completed_at": t("2025-01-15T22:01:00"),
            }
        ],
        model=STANDARD,
    ),
    "v1.4/order_sharebalance_apply": Example(
        "orders",
        [
            {
                "order_no": "ORD12345678",
                "customer_order_no": "SB20250115001",
                "order_type": "ApplyCard",
                "card_model": SHARE,
                "status": "Completed",
                "card_id": "CARD789012345",  # cardInfos[0]
                "currency": "USD",
                "fee_amount": d("5.0"),
                "total_amount": d("5.0"),
            }
        ],
        model=SHARE,
    ),
    "v1.4/order_sharebalance_creditLimit": Example(
        "orders",
        [
            {
                "order_no": "CL20250115001",
                "customer_order_no": "LMT20250115001",
                "order_type": "CreditLimit",  # printed "ModifyCreditLimit"
                "card_model": SHARE,
                "status": "Pending",
                "card_id": "CARD789012",
                "completed_at": None,
            }
        ],
        model=SHARE,
    ),
    "v1.4/order_sharebalance_block": Example(
        "orders",
        [
            {
                "order_no": "ORD12345678",
                "order_type": "CardBlock",
                "status": "Completed",
                "card_id": "CARD123456",
                "completed_at": t("2025-01-15T10:00:00"),
            }
        ],
        model=SHARE,
    ),
    "v1.4/order_sharebalance_unblock": Example(
        "orders",
        [
            {
                "order_no": "ORD12345678",
                "order_type": "CardUnblock",
                "status": "Completed",
                "card_id": "CARD123456",
            }
        ],
        model=SHARE,
    ),
    "v1.4/order_sharebalance_cancel": Example(
        "orders",
        [
            {
                "order_no": "ORD12345678",
                "order_type": "CardCancel",
                "status": "Pending",
                "card_id": "CARD123456",
                "fee_amount": d("100.0"),
                "completed_at": None,
            }
        ],
        model=SHARE,
    ),
    **{
        f"v1.4/order_sharebalance_query_{kind}": Example(
            "orders",
            [
                {
                    "order_no": f"ORD20240101000{n}",
                    "customer_order_no": f"MERCHANT_{suffix}_001",
                    "order_type": kind,
                    "card_model": SHARE,
                    "status": "Completed",
                    "created_at": t(f"2024-01-01T{9 + n}:00:00"),
                    "response_id": "12345678-1234-1234-1234-123456789012",
                }
            ],
            model=SHARE,
        )
        for n, kind, suffix in (
            (1, "ApplyCard", "APPLY"),
            (2, "CreditLimit", "LIMIT"),
            (3, "CardCancel", "CANCEL"),
            (4, "CardBlock", "BLOCK"),
            (5, "CardUnblock", "UNBLOCK"),
        )
    },
    "v1.4/order_sharebalance_query_not_found": Example("orders", [], model=SHARE),  # data: null
    "v1.4/accounts": Example(
        "accounts",
        [
            {"currency": "USD", "available_balance": d("1500.50"), "frozen_balance": None},
            {"currency": "EUR", "available_balance": d("2300.75"), "frozen_balance": None},
            {"currency": "CNY", "available_balance": d("10000.00"), "frozen_balance": None},
        ],
    ),
    "v1.4/card_account_logs": Example(
        "card_account_logs",
        [
            {
                "account_log_id": "log_123456789",
                "order_no": "order_123456",
                "log_type": "CardTopUp",
                "card_id": "CARD123456",
                "funds_direction": "Income",
                "currency": "USD",
                "trans_amount": d("100.50"),
                "total_fee": d("2.50"),
                "total_amount": d("103.00"),
                "status": "Completed",
                "failure_reason": None,
                "trans_at": t("2024-01-15T10:30:00"),
                "completed_at": t("2024-01-15T10:31:00"),
                "note": "卡充值",
            }
        ],
        fee_items=[("ProcessingFee", d("2.50"), "USD")],
    ),
    "v1.4/account_logs": Example(
        "account_logs",
        [
            {
                "account_log_id": "log_987654321",
                "trans_type": "AccountTopUp",
                "funds_direction": "Income",
                "currency": "USD",
                "trans_amount": d("500.00"),
                "available_balance": d("1500.50"),
                "blocked_balance": d("0.00"),
                "order_no": "order_123456",
                "card_id": "CARD123456",
                "trans_at": t("2024-01-15T09:30:00"),
                "note": "账户充值",
            }
        ],
    ),
    "v1.4/transactions": Example(
        "transactions",
        [
            {
                "transaction_id": "65c3d4f871234567890abcdef",
                "card_id": "CARD123456",
                "transaction_type": "Consume",
                "status": "settled",
                "funds_direction": "Expenditure",
                "currency": "USD",
                "trans_amount": d("99.99"),
                "auth_amount": d("99.99"),
                "settled_amount": d("99.99"),
                "auth_at": t("2024-01-15T10:30:00"),
                "settled_at": t("2024-01-15T10:35:00"),
                "merchant_name": "Amazon.com",
                "merchant_country": "US",
                "auth_code": "123456",
                "is_topup_mirror": False,
                "response_id": "12345678-1234-1234-1234-123456789012",
            }
        ],
    ),
}
RECORD_EXAMPLES = sorted(n for n, e in EXAMPLES.items() if e.stream != "ping")
PING_EXAMPLES = sorted(n for n, e in EXAMPLES.items() if e.stream == "ping")


# -- reading a reply as a run does --------------------------------------------------------------
def content_of(name: str) -> bytes:
    return (DATA / f"{name}.json").read_bytes()


def dialect_of(name: str) -> str:
    return name.split("/", 1)[0]


def page_as_a_run_keeps_it(name: str, content: bytes) -> RawPage:
    """The reply as ``raw.pages`` keeps it: card, order and account replies scrubbed
    (``extract.snapshots``), under the path that answered it and the query the run sent."""
    example, dialect = EXAMPLES[name], cast(DialectName, dialect_of(name))
    envelope = exact_json(content)
    response_id = envelope.get("responseId") if isinstance(envelope, dict) else None
    if example.stream in LOG_STREAMS:
        path, payload = DIALECTS[dialect].endpoints[cast(StreamName, example.stream)].path, None
    else:
        payload, _ = scrub_card_payload(content)
        path = {
            "cards": CARD_PATH,
            "accounts": ACCOUNTS_PATH,
            "orders": ORDER_PATHS[cast(CardModel, example.model or "Standard")],
        }[example.stream]
    asked = {"OrderType": example.asked} if example.asked else {}
    return RawPage(
        stream=example.stream, slice_from=None, slice_to=None, page_no=1, request_path=path,
        request_params=json.dumps(asked), response_id=response_id, fetched_at=FETCHED,
        item_count=0, payload=payload if payload is not None else content.decode(),
    )  # fmt: skip


def run_example(name: str, body: bytes | None = None) -> tuple[Normalized, Validated, str]:
    """Normalise and validate one example (or ``body``, a changed copy of it), read the way
    a run reads it: ``flows.pages.page_loads`` over the page as kept (the items of a log
    page in the shape this reply has, a snapshot's ``data``; the card model of the endpoint
    that answered an order, the order type the run asked for)."""
    example = EXAMPLES[name]
    page = page_as_a_run_keeps_it(name, content_of(name) if body is None else body)
    (load,) = page_loads([page], None, cast(DialectName, dialect_of(name)), "run-1")
    normalized = normalize(example.stream, [(load.lineage, load.items)])
    return normalized, validate(example.stream, normalized), page.payload


def rejected_lines(validated: Validated) -> list[str]:
    return [
        f"{key}: {checks}"
        for key, checks in validated.rejected.select("item_key", "failed_checks").iter_rows()
    ]


def mismatches(frame: pl.DataFrame, expected: list[dict[str, Any]]) -> list[str]:
    """Every hand-checked field whose canonical value differs (money must be a Decimal)."""
    out: list[str] = []
    rows = frame.sort("_row").to_dicts()
    if len(rows) != len(expected):
        return [f"{len(rows)} records normalised, {len(expected)} expected"]
    for i, (row, want) in enumerate(zip(rows, expected, strict=True)):
        for column, value in want.items():
            got = row[column]
            if isinstance(value, Decimal) and not isinstance(got, Decimal):
                out.append(f"record {i} {column}: {got!r} is not a Decimal (want {value})")
            elif got != value or type(got) is not type(value):
                out.append(f"record {i} {column}: got {got!r}, want {value!r}")
    return out


# -- 1. every published example loads, with the right canonical values --------------------------
def test_every_example_file_is_checked() -> None:
    files = sorted(str(p.relative_to(DATA).with_suffix("")) for p in DATA.glob("*/*.json"))
    assert files == sorted(EXAMPLES)
    sources = (DATA / "SOURCES.md").read_text(encoding="utf-8")
    assert [f for f in files if f"`{f}.json`" not in sources] == []


@pytest.mark.parametrize("name", RECORD_EXAMPLES)
def test_published_example_loads_with_canonical_values(name: str) -> None:
    example = EXAMPLES[name]
    normalized, validated, _ = run_example(name)
    problems = [f"quarantined {line}" for line in rejected_lines(validated)]
    problems += mismatches(normalized.frame, example.rows)
    if not problems and validated.valid.height != len(example.rows):
        problems.append(f"{validated.valid.height} records valid, {len(example.rows)} expected")
    assert problems == [], f"{name}:\n  " + "\n  ".join(problems)


def test_card_log_fee_items_load() -> None:
    name = "v1.4/card_account_logs"
    _, validated, _ = run_example(name)
    fee = validated.fee_items
    assert fee is not None
    got = [tuple(r) for r in fee.select("fee_type", "amount", "currency").iter_rows()]
    assert got == EXAMPLES[name].fee_items
    assert all(isinstance(amount, Decimal) for _, amount, _ in got)


@pytest.mark.parametrize("name", PING_EXAMPLES)
def test_published_ping_reply_is_accepted(name: str) -> None:
    """The preflight's ping (``get_json('/v1/ping', envelope=False)``) takes the reply."""
    content = content_of(name)

    def answer(request: httpx.Request) -> httpx.Response:
        if request.url.path.endswith("/connect/token"):
            token = {"access_token": "t0k3n", "expires_in": 3600, "token_type": "Bearer"}
            return httpx.Response(200, json=token)
        assert request.url.path.endswith("/v1/ping")
        return httpx.Response(200, content=content, headers={"Content-Type": "application/json"})

    async def ping() -> Any:
        http = make_client(
            "https://test.cardepass.com/openapi",
            ClientCredentials("client-id", "client-secret"),
            transport=httpx.MockTransport(answer),
        )
        async with CardepassClient(http, retry_attempts=0, json_loads=exact_json) as client:
            return await client.get_json("/v1/ping", envelope=False)

    response = asyncio.run(ping())
    want = EXAMPLES[name].rows[0]
    assert response.status == 200
    if "body" in want:
        assert response.body == want["body"]
    if "response_id" in want:
        assert response.response_id == want["response_id"]


# -- 2. card numbers and CVVs never reach a column, _raw or raw.pages ---------------------------
SENSITIVE_KEYS = frozenset({"cardNumber", "cardNo", "cvv", "cvv2", "cvc", "pan"})


def _walk(node: Any) -> Iterator[tuple[str | None, Any]]:
    if isinstance(node, dict):
        for key, value in node.items():
            yield key, value
            yield from _walk(value)
    elif isinstance(node, list):
        for value in node:
            yield None, value
            yield from _walk(value)


def _secrets(name: str) -> dict[str, str]:
    """Unmasked card numbers and CVVs a reply carries: {value: key}."""
    return {
        str(value): key
        for key, value in _walk(json.loads(content_of(name)))
        if key in SENSITIVE_KEYS and isinstance(value, str | int) and "*" not in str(value)
    }


WITH_SECRETS = [n for n in RECORD_EXAMPLES if _secrets(n)]


def test_the_examples_do_carry_card_numbers() -> None:
    """The check below is not vacuous: the v1.4 card reply prints a full number and CVV."""
    assert _secrets("v1.4/card") == {"5042321234565678": "cardNumber", "123": "cvv"}


def _leaks(secrets: dict[str, str], where: str, text: str) -> list[str]:
    """Where a secret of ``secrets`` shows in ``text`` (a column value or a JSON document)."""
    found = [
        f"{kind} in {where}"
        for secret, kind in secrets.items()
        if text == secret or (len(secret) >= 8 and secret in text)  # a card number: anywhere
    ]
    if text.startswith(("{", "[")):
        for key, value in _walk(json.loads(text)):
            if key in SENSITIVE_KEYS and str(value) in secrets:
                found.append(f"{key} in {where}")
    return found


@pytest.mark.parametrize("name", WITH_SECRETS)
def test_no_card_number_or_cvv_is_kept(name: str) -> None:
    """Not in a normalised column, not in ``_raw``, not in what ``raw.pages`` keeps."""
    secrets = _secrets(name)
    normalized, _, kept = run_example(name)
    frame = normalized.frame
    leaks = _leaks(secrets, "raw.pages", kept)
    for column in frame.columns:
        if frame.schema[column] == pl.String:
            for value in frame[column].drop_nulls().to_list():
                leaks += _leaks(secrets, "_raw" if column == "_raw" else f"column {column}", value)
    assert sorted(set(leaks)) == []


# -- 3. spellings the documents use elsewhere, on published examples ----------------------------
Path_ = tuple[str | int, ...]
DROP: Any = object()  # changed(..., {path: DROP}) removes the field


def changed(name: str, changes: dict[Path_, Any]) -> bytes:
    """The example's reply with the field at each path (from the envelope) set (or dropped)."""
    body = exact_json(content_of(name))
    for path, value in changes.items():
        node = body
        for step in path[:-1]:
            node = node[step]
        if value is DROP:
            del node[path[-1]]
        else:
            node[path[-1]] = value
    return raw_json(body).encode()


TXN: Path_ = ("data", "data", 0)
NET_TIME = "2025-04-23T11:13:17.6917032+08:00"  # API.md: 7 digits and an offset
NET_TIME_UTC = datetime(2025, 4, 23, 3, 13, 17, 691703, tzinfo=UTC)


def older_page(name: str, **totals: int) -> bytes:
    """A v1.4 log page in the older shape (data.data + totalRecords) with the same items."""
    body = exact_json(content_of(name))
    items = body["data"]["items"]
    body["data"] = {"pageIndex": 1, "pageSize": 10, **totals, "data": items}
    return raw_json(body).encode()


UNKNOWN_FIELD = {"nested": [1, Decimal("2.5"), None]}
DERIVED: list[tuple[str, str, bytes, dict[str, Any]]] = [
    (
        "orderType CardUnBlock",
        "v1.4/order_standard_unblock",
        changed("v1.4/order_standard_unblock", {("data", "orderType"): "CardUnBlock"}),
        {"order_type": "CardUnblock"},
    ),
    (
        "order status Failure",
        "v1.4/order_standard_withdraw",
        changed("v1.4/order_standard_withdraw", {("data", "status"): "Failure"}),
        {"status": "Failed"},
    ),
    (
        "card status Cancel",
        "v1.4/card",
        changed("v1.4/card", {("data", "status"): "Cancel"}),
        {"status": "Cancelled"},
    ),
    (
        ".NET times with +08:00 on a transaction",
        "v1.4/transactions",
        changed(
            "v1.4/transactions",
            {(*TXN, "authTime"): NET_TIME, (*TXN, "settleTime"): "2025-04-24T09:00:00.5+08:00"},
        ),
        {
            "auth_at": NET_TIME_UTC,
            "settled_at": datetime(2025, 4, 24, 1, 0, 0, 500000, tzinfo=UTC),
        },
    ),
    (
        ".NET time with +08:00 on an order",
        "v1.4/order_sharebalance_query_CardBlock",
        changed("v1.4/order_sharebalance_query_CardBlock", {("data", "createdOn"): NET_TIME}),
        {"created_at": NET_TIME_UTC},
    ),
    (
        ".NET time with +08:00 on an account log",
        "v1.4/account_logs",
        changed("v1.4/account_logs", {("data", "items", 0, "transTime"): NET_TIME}),
        {"trans_at": NET_TIME_UTC},
    ),
    (
        "integer amounts on a transaction",
        "v1.4/transactions",
        changed(
            "v1.4/transactions",
            {(*TXN, f, "amount"): 10 for f in ("transAmount", "authAmount", "settledAmount")},
        ),
        {"trans_amount": d("10"), "auth_amount": d("10"), "settled_amount": d("10")},
    ),
    (
        "integer amounts on a card log",
        "v1.4/card_account_logs",
        changed(
            "v1.4/card_account_logs",
            {
                ("data", "items", 0, "transAmount", "amount"): 100,
                ("data", "items", 0, "totalFee", "amount"): 3,
                ("data", "items", 0, "feeItems", 0, "amount", "amount"): 3,
                ("data", "items", 0, "totalAmount", "amount"): 103,
            },
        ),
        {"trans_amount": d("100"), "total_fee": d("3"), "total_amount": d("103")},
    ),
    (
        "older page shape (data.data + totalRecords) of card logs",
        "v1.4/card_account_logs",
        older_page("v1.4/card_account_logs", totalRecords=25),
        {"account_log_id": "log_123456789", "total_amount": d("103.00")},
    ),
    (
        "older page shape (data.data + totalRecords) of account logs",
        "v1.4/account_logs",
        older_page("v1.4/account_logs", totalRecords=50, totalPages=5),
        {"account_log_id": "log_987654321", "available_balance": d("1500.50")},
    ),
    (
        "optional fields absent, unknown fields present, on a transaction",
        "v1.4/transactions",
        changed(
            "v1.4/transactions",
            {
                **{(*TXN, f): DROP for f in ("failureReason", "failureReasonCn", "note")},
                (*TXN, "cardAlias"): DROP,
                (*TXN, "aFieldNoDocumentNames"): UNKNOWN_FIELD,
                ("data", "anotherUnknownField"): "x",
            },
        ),
        {"failure_reason": None, "settled_amount": d("99.99")},
    ),
    (
        "optional fields absent, unknown fields present, on a card log",
        "v1.4/card_account_logs",
        changed(
            "v1.4/card_account_logs",
            {
                **{("data", "items", 0, f): DROP for f in ("failureReason", "completedTime")},
                ("data", "items", 0, "note"): DROP,
                ("data", "items", 0, "cardInfo", "cardAlias"): "unknown here",
            },
        ),
        {"completed_at": None, "note": None, "total_fee": d("2.50")},
    ),
    (
        "optional fields absent, unknown fields present, on a v2.0 card",
        "v2.0/card",
        changed(
            "v2.0/card",
            {("data", "maxCreditAmount"): DROP, ("data", "cardBinConfig"): UNKNOWN_FIELD},
        ),
        {"max_credit_amount": None, "balance": d("100.50")},
    ),
]


@pytest.mark.parametrize(
    ("name", "body", "want"),
    [pytest.param(n, b, w, id=f"derived:{what}") for what, n, b, w in DERIVED],
)
def test_documented_spellings_on_published_examples(
    name: str, body: bytes, want: dict[str, Any]
) -> None:
    normalized, validated, _ = run_example(name, body)
    problems = [f"quarantined {line}" for line in rejected_lines(validated)]
    problems += mismatches(normalized.frame, [want])
    assert problems == [], f"{name}:\n  " + "\n  ".join(problems)


# -- 4. an enum in neither the canonical list nor the aliases is still untrusted -------------
UNKNOWN: list[tuple[str, Path_, str]] = [
    ("v1.4/order_standard_query_CardTopUp", ("data", "orderType"), "order_type"),
    ("v1.4/order_standard_topup", ("data", "orderType"), "order_type"),
    ("v1.4/order_sharebalance_creditLimit", ("data", "status"), "status"),
    ("v1.4/card", ("data", "status"), "status"),
    ("v1.4/transactions", (*TXN, "transactionType"), "transaction_type"),
    ("v1.4/card_account_logs", ("data", "items", 0, "cardAccountLogType"), "log_type"),
]


@pytest.mark.parametrize(
    ("name", "path", "column", "value"),
    [
        pytest.param(n, p, c, v, id=f"{n}:{p[-1]}={v}")
        for n, p, c in UNKNOWN
        for v in ("Weird", "topupcard" if c == "order_type" else "cancel")
    ],
)
def test_an_unknown_enum_is_still_quarantined(
    name: str, path: Path_, column: str, value: str
) -> None:
    """``Weird`` is in no table; a near miss of an alias (another case) is not an alias."""
    _, validated, _ = run_example(name, changed(name, {path: value}))
    assert validated.valid.height == 0
    [line] = rejected_lines(validated)
    assert re.search(rf"\b{column}: .*'{value}'", line), line
