"""What the steps of one run share on the wire: one client, one token, one limiter.

``Session`` knows HTTP and the API only (no DuckDB): it tells the dialect, walks the
streams' windows handing each finished slice to the caller's sink (which commits it),
and takes the snapshots. ``plan_windows`` is a pure function of the watermarks: where
each stream's window starts (its watermark minus the lookback, else the backfill start).
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from typing import Any

import httpx

from extract.auth import ClientCredentials, OAuth2ClientCredentials
from extract.client import ApiResponse, CardepassClient, make_client, validate_base_url
from extract.engine import Sink, StreamOutcome, extract_streams
from extract.errors import AuthError, CardepassError, Forbidden, NoApiError, Unauthorized
from extract.limiter import AdaptiveLimiter
from extract.records import OrderRef
from extract.snapshots import SnapshotProgress, SnapshotResult, take_snapshots
from extract.streams import DIALECTS, STREAM_NAMES, DialectName, StreamName, detect_dialect

__all__ = [
    "DEFAULT_BACKFILL_DAYS",
    "ExtractSettings",
    "Session",
    "exact_json",
    "plan_windows",
    "references",
    "shared_auth",
]

log = logging.getLogger(__name__)

DEFAULT_BACKFILL_DAYS = 90


@dataclass(frozen=True)
class ExtractSettings:
    """How to talk to the service and which windows to ask for (the defaults are the CLI's)."""

    base_url: str
    credentials: ClientCredentials
    dialect: DialectName | None = None  # None: detect from the first reply
    start: date | None = None  # --from: the backfill start of a first run
    end: date | None = None  # --to (inclusive); default today (UTC)
    full_refresh: bool = False
    lookback_days: int = 7
    slice_days: int = 1
    concurrency: int = 8
    page_size: int = 100
    timeout: float = 30.0
    streams: tuple[StreamName, ...] = STREAM_NAMES
    retry_attempts: int = 6
    backoff_base: float = 0.5


def exact_json(content: str | bytes) -> Any:
    """Parse a reply with every JSON number that has a fraction read as ``Decimal``.

    Amounts never pass through a float: ``12.345`` stays ``Decimal('12.345')`` (and is
    quarantined later for its third decimal), big amounts keep every digit.
    """
    return json.loads(content, parse_float=Decimal)


def today_utc() -> date:
    return datetime.now(UTC).date()


def plan_windows(
    watermarks: Mapping[StreamName, date | None] | Mapping[str, date | None],
    settings: ExtractSettings,
    today: date,
) -> tuple[dict[StreamName, tuple[date, date]], dict[StreamName, str]]:
    """Each stream's window: from its watermark minus the lookback, else the backfill start.

    ``watermarks`` are the committed ones (a stream missing or None has none); a full
    refresh ignores them. Returns the windows and, per stream with nothing to fetch, why.
    """
    end = settings.end or today
    default_start = settings.start or (end - timedelta(days=DEFAULT_BACKFILL_DAYS - 1))
    windows: dict[StreamName, tuple[date, date]] = {}
    skipped: dict[StreamName, str] = {}
    for stream in settings.streams:
        mark = None if settings.full_refresh else watermarks.get(stream)
        start = default_start if mark is None else mark - timedelta(days=settings.lookback_days)
        if start > end:
            skipped[stream] = f"nothing to fetch: resumes at {start}, after --to {end}"
            continue
        windows[stream] = (start, end)
    return windows, skipped


def shared_auth(settings: ExtractSettings) -> OAuth2ClientCredentials:
    """One OAuth2 auth for a run: one token, whatever else the run creates."""
    return OAuth2ClientCredentials(
        settings.credentials,
        validate_base_url(settings.base_url),
        scope=DIALECTS[settings.dialect].token_scope if settings.dialect else None,
    )


def references(
    outcomes: Mapping[StreamName, StreamOutcome],
) -> tuple[set[str], dict[str, OrderRef]]:
    """The card ids and order references the extracted items mention."""
    card_ids: set[str] = set()
    orders: dict[str, OrderRef] = {}
    for outcome in outcomes.values():
        card_ids |= outcome.card_ids
        orders.update(outcome.order_refs)
    return card_ids, orders


class Session:
    """One client, one token and one concurrency limit: what every step of a run shares.

    Use it as ``async with``; all its calls must run on one event loop (the run's).
    """

    def __init__(
        self,
        settings: ExtractSettings,
        transport: httpx.AsyncBaseTransport | None = None,
        auth: OAuth2ClientCredentials | None = None,
    ) -> None:
        self.settings = settings
        self.limiter = AdaptiveLimiter(settings.concurrency)
        http = make_client(
            settings.base_url,
            settings.credentials,
            timeout=settings.timeout,
            max_connections=max(settings.concurrency, 1) * 2,
            # v1.4 asks for scope=openapi; an auto-detected run asks for none (both accept it)
            scope=DIALECTS[settings.dialect].token_scope if settings.dialect else None,
            transport=transport,
            auth=auth,
        )
        self.client = CardepassClient(
            http,
            json_loads=exact_json,
            retry_attempts=settings.retry_attempts,
            backoff_base=settings.backoff_base,
            on_rate_limited=lambda _exc: self.limiter.slow_down(),
        )

    async def __aenter__(self) -> Session:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.aclose()

    async def aclose(self) -> None:
        await self.client.aclose()

    @property
    def throttled(self) -> int:
        """How often the service said 429 and the limiter slowed down."""
        return self.limiter.throttled

    async def detect(self) -> tuple[DialectName, ApiResponse | None]:
        """The dialect: as configured, else told by ``GET /v1/accounts``; and that reply.

        The reply is the run's account snapshot, taken before any stream, also when the
        dialect is configured: entries posted while the streams are walked then come after
        it (and are extracted), instead of lying between the walked ledger and a snapshot
        taken at the end, where they would look like a break. With a configured dialect a
        failing call is left to the snapshot step, which tries again and reports it.
        """
        if self.settings.dialect is not None:
            try:
                async with self.limiter:
                    early = await self.client.get_json("/v1/accounts")
            except (AuthError, Unauthorized, Forbidden, NoApiError):
                raise
            except CardepassError as exc:
                log.warning("accounts snapshot before the streams failed (%s); retried later", exc)
                return self.settings.dialect, None
            return self.settings.dialect, early
        async with self.limiter:
            accounts = await self.client.get_json("/v1/accounts")
        name = detect_dialect(accounts.body)
        log.info("the service speaks dialect %s", name)
        return name, accounts

    async def streams(
        self,
        dialect: DialectName,
        windows: Mapping[StreamName, tuple[date, date]],
        sink: Sink,
        *,
        progress: Callable[[StreamName, int, int], None] | None = None,
    ) -> dict[StreamName, StreamOutcome]:
        """Walk every window slice by slice; each finished slice goes to ``sink``."""
        return await extract_streams(
            self.client,
            DIALECTS[dialect],
            windows,
            sink,
            limiter=self.limiter,
            slice_days=self.settings.slice_days,
            page_size=self.settings.page_size,
            progress=progress,
        )

    async def snapshots(
        self,
        dialect: DialectName,
        card_ids: set[str],
        orders: Mapping[str, OrderRef],
        *,
        final_orders: set[str],
        accounts: ApiResponse | None = None,
        progress: SnapshotProgress | None = None,
    ) -> SnapshotResult:
        """Snapshot the cards, the account (unless ``accounts`` is its reply) and open orders."""
        snaps = await take_snapshots(
            self.client,
            DIALECTS[dialect],
            card_ids,
            orders,
            limiter=self.limiter,
            final_orders=final_orders,
            accounts=accounts,
            progress=progress,
        )
        if accounts is not None:
            snaps.requests += accounts.attempts
        return snaps
