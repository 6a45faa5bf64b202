"""Rows of the canonical ``core.*`` tables, inserted straight into a DuckDB connection.

Given/expect tests of the reconciliation checks build a handful of rows with these
(``make_transaction(db, status="authorized")``) and run ``transform.reconcile.reconcile``.
Every builder has defaults that tie with the others' defaults (one Standard card ``C1`` in
USD, topped up by order ``O1``), takes any column as a keyword override and returns the
row it inserted. Money is ``Decimal``, times are tz-aware UTC, lineage columns are filled.

``prepare(db)`` creates the tables the builders write; ``cover(db, stream)`` records the
extracted history of a stream (a ``raw.pages`` slice and a ``meta.state`` watermark), which
``recon.coverage`` reads to tell an out-of-window entry from a break.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from typing import Any

import duckdb

from transform.load import init_schema
from transform.state import RAW_SCHEMA_SQL as EXTRACT_SCHEMA

# The test window: history extracted from 2026-01-01 to the end of 2026-01-10 (UTC).
COVERED_FROM = date(2026, 1, 1)
WATERMARK = date(2026, 1, 10)
CREATED = datetime(2026, 1, 2, 8, 0, tzinfo=UTC)  # cards are created inside the window
T0 = datetime(2026, 1, 5, 12, 0, tzinfo=UTC)  # default time of a movement
SNAPSHOT_AT = datetime(2026, 1, 10, 23, 0, tzinfo=UTC)  # default snapshot time
AS_OF = datetime(2026, 1, 11, 6, 0, tzinfo=UTC)  # default reconciliation time
FETCHED = datetime(2026, 1, 11, 0, 30, tzinfo=UTC)  # when the pages were received
STREAMS = ("transactions", "card_account_logs", "account_logs")

RUN = {"run_id": "run-0", "response_id": "resp-0"}

_INCOME_LOGS = ("ApplyCard", "CardTopUp")
_FEE_TYPES = {
    "ApplyCard": "OpenCardFee",
    "CardTopUp": "TopUpFee",
    "CardWithdraw": "CardWithdrawFee",
    "CardCancel": "CancelCardFee",
}
_MOVES_BLOCKED = ("AuthHold", "AuthRelease")
_ACCOUNT_ONLY = ("AccountTopUp", "AccountWithdraw", "AccountFee")


def money(value: str | int | Decimal) -> Decimal:
    """A DECIMAL(18,2) amount."""
    return Decimal(value).quantize(Decimal("0.01"))


def _insert(con: duckdb.DuckDBPyConnection, table: str, row: dict[str, Any]) -> dict[str, Any]:
    cols = ", ".join(row)
    marks = ", ".join("?" for _ in row)
    con.execute(f"insert into {table} ({cols}) values ({marks})", list(row.values()))
    return row


def _count(con: duckdb.DuckDBPyConnection, table: str) -> int:
    row = con.execute(f"select count(*) from {table}").fetchone()
    assert row is not None
    return int(row[0])


def _money_fields(row: dict[str, Any], *names: str) -> None:
    for name in names:
        if row.get(name) is not None:
            row[name] = money(row[name])


# -- schemas and coverage ----------------------------------------------------------------------
def prepare(con: duckdb.DuckDBPyConnection) -> None:
    """Create the tables the builders write (raw.pages, meta.state, core.*).

    ``reconcile`` creates the rest itself (recon.*, the money model, the staging views).
    """
    con.execute(EXTRACT_SCHEMA)
    init_schema(con)


def cover(
    con: duckdb.DuckDBPyConnection,
    *streams: str,
    first_day: date = COVERED_FROM,
    watermark: date = WATERMARK,
) -> None:
    """Record that ``streams`` were extracted from ``first_day`` to the end of ``watermark``."""
    con.execute(
        "insert into raw.pages (run_id, stream, slice_from, slice_to, page_no, request_path, "
        "response_id, fetched_at, item_count, payload) "
        "select ?, s, ?, ?, 1, '/v1/' || s, ?, ?, 0, '{}' from unnest(?::varchar[]) t(s)",
        [RUN["run_id"], first_day, watermark, RUN["response_id"], FETCHED, list(streams)],
    )
    con.execute(
        "insert or replace into meta.state select s, ?, ?, ? from unnest(?::varchar[]) t(s)",
        [watermark, RUN["run_id"], FETCHED, list(streams)],
    )


def cover_all(con: duckdb.DuckDBPyConnection) -> None:
    cover(con, *STREAMS)


# -- core rows ---------------------------------------------------------------------------------
def make_transaction(con: duckdb.DuckDBPyConnection, **over: Any) -> dict[str, Any]:
    """A card transaction: by default a settled 10.00 Consume on card C1."""
    n = _count(con, "core.transactions") + 1
    status = over.get("status", "settled")
    settled = status == "settled"
    auth_at = over.get("auth_at", T0)
    row: dict[str, Any] = {
        "transaction_id": f"T{n}",
        "card_id": "C1",
        "transaction_type": "Consume",
        "status": status,
        "funds_direction": "Expenditure",
        "currency": "USD",
        "trans_amount": over.get("auth_amount", "10.00"),
        "auth_amount": "10.00",
        "settled_amount": over.get("auth_amount", "10.00") if settled else None,
        "auth_at": auth_at,
        "settled_at": auth_at + timedelta(hours=1) if settled else None,
        "merchant_name": "Shop",
        "merchant_country": "US",
        "auth_code": f"A{n}",
        "failure_reason": "declined" if status == "failed" else None,
        "is_topup_mirror": False,
        "dialect": "v1.4",
        "fetched_at": FETCHED,
        **RUN,
    }
    row.update(over)
    _money_fields(row, "trans_amount", "auth_amount", "settled_amount")
    return _insert(con, "core.transactions", row)


def make_card_log(
    con: duckdb.DuckDBPyConnection,
    fee_items: Sequence[str | Decimal] | None = None,
    **over: Any,
) -> dict[str, Any]:
    """A Standard-card log, by default a Completed 100.00 CardTopUp of order O1 with a
    1.00 fee, and its fee items (by default one item of ``total_fee``)."""
    n = _count(con, "core.card_account_logs") + 1
    log_type = over.get("log_type", "CardTopUp")
    if fee_items is None:
        total = money(over.get("total_fee", "1.00"))
        fee_items = [total] if total else []
    items = [money(a) for a in fee_items]
    total_fee = money(over.get("total_fee", sum(items, Decimal(0))))
    trans_amount = money(over.get("trans_amount", "100.00"))
    status = over.get("status", "Completed")
    trans_at = over.get("trans_at", T0)
    row: dict[str, Any] = {
        "account_log_id": f"CL{n}",
        "order_no": "O1",
        "log_type": log_type,
        "card_id": "C1",
        "funds_direction": "Income" if log_type in _INCOME_LOGS else "Expenditure",
        "currency": "USD",
        "trans_amount": trans_amount,
        "total_fee": total_fee,
        "total_amount": trans_amount + total_fee,
        "status": status,
        "failure_reason": "rejected" if status == "Failure" else None,
        "trans_at": trans_at,
        "completed_at": trans_at + timedelta(minutes=1) if status == "Completed" else None,
        "note": None,
        "dialect": "v1.4",
        "fetched_at": FETCHED,
        **RUN,
    }
    row.update(over)
    _money_fields(row, "trans_amount", "total_fee", "total_amount")
    _insert(con, "core.card_account_logs", row)
    for i, amount in enumerate(items, start=1):
        _insert(
            con,
            "core.card_fee_items",
            {
                "account_log_id": row["account_log_id"],
                "item_no": i,
                "fee_type": _FEE_TYPES.get(row["log_type"], "Fee"),
                "amount": amount,
                "currency": row["currency"],
                "run_id": RUN["run_id"],
            },
        )
    return row


def make_account_log(con: duckdb.DuckDBPyConnection, **over: Any) -> dict[str, Any]:
    """An account ledger entry, by default the -101.00 CardTopUp paying order O1.

    Unless given, the post-balances chain onto the entry before it (same currency, by
    ``(trans_at, account_log_id)``): ``available += trans_amount``, and ``blocked -=
    trans_amount`` for AuthHold/AuthRelease. Entries are spaced a minute apart by default.
    """
    n = _count(con, "core.account_logs") + 1
    amount = money(over.get("trans_amount", "-101.00"))
    own = over.get("trans_type", "CardTopUp") in _ACCOUNT_ONLY  # no order, no card
    row: dict[str, Any] = {
        "account_log_id": f"AL{n:02d}",
        "trans_type": "CardTopUp",
        "funds_direction": "Income" if amount > 0 else "Expenditure",
        "currency": "USD",
        "trans_amount": amount,
        "available_balance": None,
        "blocked_balance": None,
        "order_no": None if own else "O1",
        "card_id": None if own else "C1",
        "trans_at": T0 + timedelta(minutes=n),
        "note": None,
        "dialect": "v1.4",
        "fetched_at": FETCHED,
        **RUN,
    }
    row.update(over)
    if row["available_balance"] is None or row["blocked_balance"] is None:
        prev = con.execute(
            "select available_balance, blocked_balance from core.account_logs "
            "where currency = ? and (trans_at, account_log_id) < (?, ?) "
            "order by trans_at desc, account_log_id desc limit 1",
            [row["currency"], row["trans_at"], row["account_log_id"]],
        ).fetchone()
        available, blocked = prev if prev else (Decimal(0), Decimal(0))
        if row["available_balance"] is None:
            row["available_balance"] = available + amount
        if row["blocked_balance"] is None:
            row["blocked_balance"] = blocked - (
                amount if row["trans_type"] in _MOVES_BLOCKED else 0
            )
    _money_fields(row, "trans_amount", "available_balance", "blocked_balance")
    return _insert(con, "core.account_logs", row)


def make_card_snapshot(con: duckdb.DuckDBPyConnection, **over: Any) -> dict[str, Any]:
    """A card snapshot: by default Standard card C1 in USD with a 0.00 balance.

    A ShareBalance snapshot (``card_model="ShareBalance"``) defaults to 0.00 credit used of a
    1000.00 limit, as v1.4 reports it.
    """
    share = over.get("card_model", "Standard") == "ShareBalance"
    row: dict[str, Any] = {
        "card_id": "C1",
        "fetched_at": SNAPSHOT_AT,
        "card_model": "Standard",
        "currency": "USD",
        "status": "Active",
        "balance": "0.00",
        "used_credit_amount": "0.00" if share else None,
        "max_auth_amount": "500.00",
        "max_credit_amount": "1000.00" if share else None,
        "alias": None,
        "product_code": "P1",
        "created_at": CREATED,
        "dialect": "v1.4",
        **RUN,
    }
    row.update(over)
    _money_fields(row, "balance", "used_credit_amount", "max_auth_amount", "max_credit_amount")
    return _insert(con, "core.card_snapshots", row)


def make_account_snapshot(con: duckdb.DuckDBPyConnection, **over: Any) -> dict[str, Any]:
    """An account balance snapshot: by default USD, 0.00 available and 0.00 frozen (v2.0)."""
    row: dict[str, Any] = {
        "currency": "USD",
        "fetched_at": SNAPSHOT_AT,
        "available_balance": "0.00",
        "frozen_balance": "0.00",
        "dialect": "v2.0",
        **RUN,
    }
    row.update(over)
    _money_fields(row, "available_balance", "frozen_balance")
    return _insert(con, "core.account_snapshots", row)


def make_order(con: duckdb.DuckDBPyConnection, **over: Any) -> dict[str, Any]:
    """A card order: by default the Completed Standard CardTopUp O1 of 100.00 + 1.00 fee."""
    row: dict[str, Any] = {
        "order_no": "O1",
        "customer_order_no": None,
        "order_type": "CardTopUp",
        "card_model": "Standard",
        "status": "Completed",
        "card_id": "C1",
        "currency": "USD",
        "principal_amount": "100.00",
        "fee_amount": "1.00",
        "total_amount": None,
        "created_at": T0 - timedelta(minutes=5),
        "completed_at": T0 + timedelta(minutes=1),
        "dialect": "v1.4",
        "fetched_at": FETCHED,
        **RUN,
    }
    row.update(over)
    row["customer_order_no"] = row["customer_order_no"] or f"cust-{row['order_no']}"
    _money_fields(row, "principal_amount", "fee_amount", "total_amount")
    if "total_amount" not in over and None not in (row["principal_amount"], row["fee_amount"]):
        row["total_amount"] = row["principal_amount"] + row["fee_amount"]
    return _insert(con, "core.orders", row)


def make_quarantined(
    con: duckdb.DuckDBPyConnection,
    stream: str,
    raw: Any,
    *,
    item_key: str | None = None,
    failed_checks: str = "auth_amount: at most 2 decimals",
    fetched_at: datetime = FETCHED,
    run_id: str = "run-0",
) -> dict[str, Any]:
    """A row of ``core.quarantine``: ``raw`` (the item as sent) that failed validation."""
    import json

    row = {
        "run_id": run_id,
        "stream": stream,
        "item_key": item_key,
        "failed_checks": failed_checks,
        "raw_item": json.dumps(raw, separators=(",", ":"), default=str),
        "response_id": "resp-0",
        "quarantined_at": fetched_at + timedelta(seconds=1),
        "fetched_at": fetched_at,
    }
    return _insert(con, "core.quarantine", row)
