"""The store: final orders (never snapshotted again) and the memory limit of extraction."""

from __future__ import annotations

from datetime import UTC, datetime

import duckdb
import orjson
import pytest

from extract.records import RawPage
from transform.state import Store


def _order_page(order_no: str, status: str) -> RawPage:
    return RawPage(
        stream="orders",
        slice_from=None,
        slice_to=None,
        page_no=1,
        request_path="/v1/orders/standard",
        request_params=orjson.dumps({"OrderNo": order_no}).decode(),
        response_id=None,
        fetched_at=datetime(2026, 11, 1, tzinfo=UTC),
        item_count=1,
        payload=orjson.dumps({"data": {"orderNo": order_no, "status": status}}).decode(),
    )


def test_completed_and_failed_orders_are_final_pending_and_processing_are_not() -> None:
    # B4 found a Failed order fetched again on every run: only Completed counted as final
    store = Store(duckdb.connect())
    with store.transaction():
        store.land_pages(
            "r1",
            [
                _order_page("o-done", "Completed"),
                _order_page("o-failed", "Failed"),
                _order_page("o-pending", "Pending"),
                _order_page("o-processing", "Processing"),
            ],
        )
    assert store.final_orders() == {"o-done", "o-failed"}


def test_memory_limit_is_set_for_the_block_and_restored() -> None:
    store = Store(duckdb.connect())

    def limit() -> str:
        return str(store.con.execute("select current_setting('memory_limit')").fetchall()[0][0])

    before = limit()
    with store.memory_limit("256MB"):
        assert limit() in ("256.0 MiB", "244.1 MiB")  # DuckDB may print MB as MiB
    assert limit() == before
    with store.memory_limit(None):
        assert limit() == before


def test_memory_limit_refuses_anything_but_a_size() -> None:
    store = Store(duckdb.connect())
    with pytest.raises(ValueError, match="not a memory size"), store.memory_limit("1GB'; drop"):
        pass
