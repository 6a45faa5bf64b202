"""The records extraction hands on: a page as received, and an order a log refers to."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime

__all__ = ["OrderRef", "RawPage"]


@dataclass(frozen=True, slots=True)
class RawPage:
    """One page as received, to land in ``raw.pages`` (card numbers already removed)."""

    stream: str
    slice_from: date | None
    slice_to: date | None
    page_no: int
    request_path: str
    request_params: str  # JSON text
    response_id: str | None
    fetched_at: datetime
    item_count: int
    payload: str  # JSON text
    service_at: datetime | None = None  # the reply's Date header: the service's clock


@dataclass(frozen=True, slots=True)
class OrderRef:
    """An order a log refers to: its number, type and card (what a snapshot asks for)."""

    order_no: str
    order_type: str
    card_id: str | None
