"""What a run should cost in requests, computed from the sandbox's world itself."""

from __future__ import annotations

import math
from datetime import UTC, date, datetime, timedelta
from typing import Any

from extract.streams import DIALECTS, STREAM_NAMES
from sandbox.world import World

DAY_MS = 86_400_000


def expected_requests(
    world: World,
    dialect: str,
    first: date,
    last: date,
    known_done: set[str],
    items: dict[str, list[dict[str, Any]]],
) -> int:
    """What a run over first..last should cost, computed from the world itself."""
    n = 0
    for stream in STREAM_NAMES:
        day = first
        while day <= last:
            lo = int(datetime(day.year, day.month, day.day, tzinfo=UTC).timestamp() * 1000)
            hi = lo + DAY_MS - 1
            if stream == "transactions":
                rows = world.select_transactions(lo, hi, include_topups=dialect == "v2.0")
            elif stream == "card_account_logs":
                rows = world.select_card_logs(lo, hi)
            else:
                rows = world.select_account_logs(lo, hi)
            n += max(1, math.ceil(len(rows) / 100))
            day += timedelta(days=1)
    d = DIALECTS[dialect]  # type: ignore[index]
    cards = {d.endpoints[s].card_id(i) for s in STREAM_NAMES for i in items[s]} - {None}
    orders = {i["cardOrderNo"] for i in items["card_account_logs"]} | {
        i["orderNo"]
        for i in items["account_logs"]
        if i["accountTransType"] in ("ApplyCard", "CardTopUp", "CardWithdraw", "CardCancel")
    }
    return n + 1 + len(cards) + len(orders - known_done)  # 1: /v1/accounts
