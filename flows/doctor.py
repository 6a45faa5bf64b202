"""``cardrecon doctor``: probe a cardepass account the way a run would, and write nothing.

With the settings of ``cardrecon run`` (flags, else the environment, else ``.env``) it asks
for a token, pings, reads the accounts, one page of each stream for the last day
(yesterday and today, UTC), the first card those pages name and the first order a log
names. Every reply goes through the run's own code: the HTTP client (retries, typed
errors, redaction), the streams' declarations (window, paginator, items), the snapshot
code (card number and CVV scrubbed), ``transform.normalize`` and ``transform.schemas``.
Nothing is landed, loaded or written: no DuckDB file is opened, created or changed.

Per endpoint it prints the HTTP status, the dialect and page shape of the reply, how
many items it held, the fields no table below knows, and the items that would be
quarantined (with their first reasons). Exit codes: 0 a run would work; 1 the service
answered something a run cannot read (a changed shape, an unreadable body, a page whose
paging cannot be followed, values that would be quarantined, an HTTP error); 2 the
configuration (missing or refused credentials, no API at the URL, a wrong dialect).
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import UTC, date, datetime, timedelta
from typing import Any, NoReturn

import httpx
import typer
from rich.console import Console
from rich.table import Table

from extract.client import ApiResponse
from extract.engine import collect_orders
from extract.errors import AuthError, CardepassError, NoApiError, PaginationError, redact_text
from extract.records import OrderRef
from extract.session import ExtractSettings, Session, exact_json
from extract.snapshots import take_snapshots
from extract.streams import (
    ACCOUNTS,
    CARDS,
    DIALECTS,
    ORDERS,
    STREAM_NAMES,
    DialectName,
    StreamName,
    detect_dialect,
)
from flows.console import err, fail, out_console
from transform.known_fields import KNOWN_FIELDS, unknown_fields
from transform.normalize import Lineage, SchemaFailure, normalize
from transform.validate import validate

__all__ = [
    "Diagnosis",
    "Probe",
    "check_account",
    "describe_page",
    "diagnose",
    "print_diagnosis",
]

RUN_ID = "doctor"  # the lineage of rows normalised here (never stored)
SHOWN_UNKNOWN = 6  # unknown fields listed per endpoint; the rest are counted
SHOWN_REASONS = 2  # quarantine reasons listed per endpoint
REASON_WIDTH = 120


# -- page shapes ----------------------------------------------------------------------------
def describe_page(body: Any) -> str:
    """What a reply that matches none of an endpoint's page shapes holds, in words.

    Only for saying so: which shapes a stream reads, and how, is ``extract.streams``'
    (:meth:`~extract.streams.Endpoint.shape`, decided per reply).
    """
    data = body.get("data") if isinstance(body, Mapping) else None
    if isinstance(data, list):
        return "data[]" + (" + pagination" if "pagination" in body else "")
    if isinstance(data, Mapping):
        keys = sorted(k for k, v in data.items() if isinstance(v, list))
        return "data object" + (f" with list(s) {', '.join(keys)}" if keys else " with no list")
    if isinstance(body, str):
        return "a JSON string"
    return "no data"


def _snapshot_shape(body: Any) -> str:
    if isinstance(body, str):
        return "JSON string"
    data = body.get("data") if isinstance(body, Mapping) else None
    if isinstance(data, list):
        return "data[] (list)"
    if isinstance(data, Mapping):
        return "data object"
    if isinstance(data, str):
        return "envelope, data a string"
    return "envelope without data" if isinstance(body, Mapping) else "no data"


# -- what was found -------------------------------------------------------------------------
@dataclass
class Probe:
    """One endpoint's row of the table."""

    endpoint: str
    status: str = "-"
    dialect: str = "-"
    shape: str = "-"
    items: int | None = None
    unknown: list[str] = field(default_factory=list)
    quarantined: int = 0
    reasons: list[str] = field(default_factory=list)
    problem: str | None = None  # something a run cannot read: exit 1
    note: str | None = None  # said, not a failure


@dataclass
class Diagnosis:
    base_url: str
    window: tuple[date, date]
    probes: list[Probe] = field(default_factory=list)
    dialect: DialectName | None = None
    config_error: str | None = None  # exit 2
    config_early: bool = False  # said by the token endpoint or the ping: no table

    @property
    def problems(self) -> list[str]:
        out = [f"{p.endpoint}: {p.problem}" for p in self.probes if p.problem]
        out += [
            f"{p.endpoint}: {p.quarantined} item(s) would be quarantined"
            + (f" ({p.reasons[0]})" if p.reasons else "")
            for p in self.probes
            if p.quarantined and not p.problem
        ]
        return out

    @property
    def exit_code(self) -> int:
        if self.config_error is not None:
            return 2
        return 1 if self.problems else 0


class _Stop(Exception):
    """A configuration error: nothing further is probed (``early``: before any data)."""

    def __init__(self, message: str, *, early: bool) -> None:
        super().__init__(message)
        self.early = early


class _Calls:
    """Every HTTP response the session got (token requests and retries included)."""

    def __init__(self) -> None:
        self.log: list[tuple[str, int]] = []

    async def record(self, response: httpx.Response) -> None:
        self.log.append((response.request.url.path, response.status_code))

    def statuses(self, start: int = 0, *, containing: str | None = None) -> str:
        seen = [
            str(status)
            for path, status in self.log[start:]
            if not path.endswith("/connect/token") and (containing is None or containing in path)
        ]
        return "→".join(seen) or "-"

    def token_statuses(self) -> str:
        return "→".join(str(s) for p, s in self.log if p.endswith("/connect/token")) or "-"


class _Doctor:
    def __init__(self, session: Session, diagnosis: Diagnosis, calls: _Calls) -> None:
        self.session = session
        self.client = session.client
        self.d = diagnosis
        self.calls = calls
        self.dialect: DialectName | None = session.settings.dialect
        self.token = self._probe("token (POST /connect/token)")

    def _probe(self, endpoint: str) -> Probe:
        probe = Probe(endpoint)
        self.d.probes.append(probe)
        return probe

    async def _get(
        self, probe: Probe, path: str, params: Mapping[str, Any] | None = None, **kw: Any
    ) -> ApiResponse | None:
        start = len(self.calls.log)
        try:
            return await self.client.get_json(path, params, **kw)
        except NoApiError as exc:
            self.token.problem = str(exc)
            raise _Stop(str(exc), early=probe.endpoint.startswith("ping")) from None
        except AuthError as exc:
            self.token.problem = str(exc)
            raise _Stop(
                f"the service refused the credentials: {exc}",
                early=probe.endpoint.startswith("ping"),
            ) from None
        except CardepassError as exc:
            probe.problem = str(exc)
            return None
        finally:
            probe.status = self.calls.statuses(start)
            self.token.status = self.calls.token_statuses()

    def _lineage(self, resp: ApiResponse, card_model: str | None = None) -> Lineage:
        assert self.dialect is not None
        return Lineage(self.dialect, RUN_ID, resp.fetched_at, resp.response_id, card_model)

    def _examine(self, probe: Probe, stream: str, pages: Sequence[tuple[Lineage, Any]]) -> None:
        """Unknown fields, and what normalise + validate would do with these items."""
        assert self.dialect is not None
        known = KNOWN_FIELDS[(stream, self.dialect)]
        for _, payload in pages:
            items = payload if isinstance(payload, list) else [payload]
            for item in items:
                probe.unknown += [f for f in unknown_fields(item, known) if f not in probe.unknown]
        probe.unknown.sort()
        try:
            checked = validate(stream, normalize(stream, pages))
        except SchemaFailure as exc:
            probe.problem = f"{exc.problem} (the API changed, or the dialect is wrong)"
            return
        probe.quarantined = len(checked.rejected)
        for reason in checked.rejected["failed_checks"].to_list():
            text = _cut(redact_text(str(reason)), REASON_WIDTH)
            if text not in probe.reasons and len(probe.reasons) < SHOWN_REASONS:
                probe.reasons.append(text)

    async def run(self, window: tuple[date, date]) -> None:
        ping = self._probe("ping (GET /v1/ping)")
        resp = await self._get(ping, "/v1/ping", envelope=False)
        if resp is None:
            return
        self.token.shape = "access token"
        ping.shape = _snapshot_shape(resp.body)
        accounts = await self._accounts()
        if self.dialect is None:
            return
        refs = _Refs()
        for stream in STREAM_NAMES:
            await self._stream(stream, window, refs)
        await self._snapshots(accounts, refs)

    async def _accounts(self) -> ApiResponse | None:
        probe = self._probe("accounts (GET /v1/accounts)")
        resp = await self._get(probe, "/v1/accounts")
        if resp is None:
            return None
        probe.shape = _snapshot_shape(resp.body)
        try:
            answered = detect_dialect(resp.body)
        except ValueError as exc:
            probe.problem = str(exc)
            return None
        probe.dialect = answered
        if self.dialect is not None and answered != self.dialect:
            raise _Stop(
                f"the service answers in dialect {answered}, not {self.dialect}: "
                f"use --dialect {answered} (or auto)",
                early=False,
            )
        self.dialect = self.d.dialect = answered
        data = resp.data
        probe.items = len(data) if isinstance(data, list) else 1
        self._examine(probe, ACCOUNTS, [(self._lineage(resp), data)])
        return resp

    async def _stream(self, stream: StreamName, window: tuple[date, date], refs: _Refs) -> None:
        assert self.dialect is not None
        endpoint = DIALECTS[self.dialect].endpoints[stream]
        probe = self._probe(f"{stream} (GET {endpoint.path})")
        paginator = endpoint.paginator(self.session.settings.page_size)
        params = paginator.init_request(endpoint.window_params(*window))
        resp = await self._get(probe, endpoint.path, params)
        if resp is None:
            return
        body = resp.body
        shape = endpoint.shape(body)  # the run's own decision, per reply
        if shape is None:
            probe.shape = f"unreadable ({describe_page(body)})"
            probe.problem = (
                f"the reply is in none of the page shapes cardrecon reads here "
                f"({', '.join(s.name for s in endpoint.shapes)}): it has {describe_page(body)}"
            )
            return
        probe.shape, probe.dialect = shape, self.dialect
        items = endpoint.items(body)
        probe.items = len(items)
        try:
            paginator.update_state(body if isinstance(body, Mapping) else {}, items)
        except PaginationError as exc:
            probe.problem = f"its paging cannot be followed: {exc}"
        if not items:
            probe.note = "no items in the window: nothing to check"
            return
        self._examine(probe, stream, [(self._lineage(resp), items)])
        for item in items:
            if isinstance(item, Mapping):
                refs.add(stream, endpoint.card_id(item), item)

    async def _snapshots(self, accounts: ApiResponse | None, refs: _Refs) -> None:
        assert self.dialect is not None
        card = self._probe("card (GET /v1/cards/{cardId})")
        order = self._probe("order (GET /v1/orders/…)")
        if refs.card is None:
            card.note = "no card seen in the last day"
        if refs.order is None:
            order.note = "no order seen in the last day's logs"
        if refs.card is None and refs.order is None:
            return
        start = len(self.calls.log)
        snaps = await take_snapshots(
            self.client,
            DIALECTS[self.dialect],
            {refs.card} if refs.card else set(),
            {refs.order.order_no: refs.order} if refs.order else {},
            limiter=self.session.limiter,
            final_orders=set(),
            accounts=accounts,  # None: take_snapshots asks again (and its error is not ours)
        )
        for probe, stream, part in ((card, CARDS, "/v1/cards/"), (order, ORDERS, "/v1/orders/")):
            if (refs.card if stream == CARDS else refs.order) is None:
                continue
            probe.status = self.calls.statuses(start, containing=part)
            prefix = "card " if stream == CARDS else "order "
            failed = [e.removeprefix(prefix) for e in snaps.errors if e.startswith(prefix)]
            missing = [m.removeprefix(prefix) for m in snaps.missing if m.startswith(prefix)]
            if failed:
                probe.problem = failed[0]
            elif missing:
                probe.note = f"not found: {_cut(missing[0], REASON_WIDTH)}"
            pages = [p for p in snaps.pages if p.stream == stream]
            for page in pages:
                body = exact_json(page.payload)  # a card's without its number and CVV
                probe.shape, probe.dialect, probe.items = _snapshot_shape(body), self.dialect, 1
                model = None
                if stream == ORDERS:
                    sharebalance = page.request_path.endswith("/sharebalance")
                    model = "ShareBalance" if sharebalance else "Standard"
                    probe.endpoint = f"order (GET {page.request_path})"
                data = body.get("data") if isinstance(body, Mapping) else None
                lineage = Lineage(
                    self.dialect, RUN_ID, page.fetched_at, page.response_id, card_model=model
                )
                self._examine(probe, stream, [(lineage, data)])


class _Refs:
    """The first card id and the first order the pages name."""

    def __init__(self) -> None:
        self.card: str | None = None
        self.order: OrderRef | None = None

    def add(self, stream: StreamName, card: str | None, item: Mapping[str, Any]) -> None:
        if self.card is None and card:
            self.card = card
        if self.order is None:
            found: dict[str, OrderRef] = {}
            collect_orders(stream, item, card, found)
            self.order = next(iter(found.values()), None)


def _cut(text: str, width: int) -> str:
    text = " ".join(text.split())
    return text if len(text) <= width else text[: width - 1] + "…"


async def _diagnose(
    extract: ExtractSettings, window: tuple[date, date], transport: Any = None
) -> Diagnosis:
    from extract.errors import redact_url

    diagnosis = Diagnosis(redact_url(extract.base_url), window, dialect=extract.dialect)
    calls = _Calls()
    async with Session(extract, transport) as session:
        session.client.http.event_hooks["response"].append(calls.record)
        doctor = _Doctor(session, diagnosis, calls)
        try:
            await doctor.run(window)
        except _Stop as stop:
            diagnosis.config_error = str(stop)
            diagnosis.config_early = stop.early
    return diagnosis


def diagnose(
    extract: ExtractSettings,
    *,
    today: date | None = None,
    transport: httpx.AsyncBaseTransport | None = None,
) -> Diagnosis:
    """Probe the service with ``extract``'s settings (a few retries, not a run's six)."""
    today = today or datetime.now(UTC).date()
    window = (today - timedelta(days=1), today)
    settings = replace(extract, retry_attempts=min(extract.retry_attempts, 2))
    http_log = logging.getLogger("extract")  # retries and stopped streams: the table says
    level = http_log.level
    http_log.setLevel(logging.CRITICAL)
    try:
        return asyncio.run(_diagnose(settings, window, transport))
    finally:
        http_log.setLevel(level)


# -- the report -----------------------------------------------------------------------------
def print_diagnosis(console: Console, diagnosis: Diagnosis) -> None:
    """The table, the notes and problems under it, then one verdict line."""
    first, last = diagnosis.window
    table = Table(
        title=f"cardrecon doctor: {diagnosis.base_url}, {first}..{last} (UTC)",
        title_justify="left",
    )
    columns = (
        "endpoint", "HTTP", "dialect", "shape", "items", "unknown fields", "would be quarantined"
    )  # fmt: skip
    for name in columns:
        table.add_column(name, justify="right" if name == "items" else "left")
    for p in diagnosis.probes:
        unknown = quarantined = "-"  # not read: nothing to say
        if p.items is not None:
            unknown = ", ".join(p.unknown[:SHOWN_UNKNOWN]) or "none"
            if len(p.unknown) > SHOWN_UNKNOWN:
                unknown += f" (+{len(p.unknown) - SHOWN_UNKNOWN} more)"
            quarantined = str(p.quarantined)
            if p.reasons:
                quarantined += ": " + "; ".join(p.reasons)
        table.add_row(
            p.endpoint,
            p.status,
            p.dialect,
            p.shape,
            "-" if p.items is None else str(p.items),
            unknown,
            quarantined,
            style="red" if p.problem or p.quarantined else None,
        )
    console.print(table, soft_wrap=True)
    for p in diagnosis.probes:  # the problems are the verdict's
        if p.note:
            console.print(f"  {p.endpoint}: {p.note}", highlight=False, soft_wrap=True)
    code = diagnosis.exit_code
    if code == 0:
        n_unknown = sum(len(p.unknown) for p in diagnosis.probes)
        ignored = f"; {n_unknown} unknown field(s) are ignored (raw.pages keeps them)"
        console.print(
            f"[bold green]ok:[/] a run would work (dialect {diagnosis.dialect}): every reply "
            f"is in a shape cardrecon reads and nothing would be quarantined"
            f"{ignored if n_unknown else ''}",
            highlight=False,
            soft_wrap=True,
        )
        return
    if code == 2:
        line = f"configuration: {diagnosis.config_error}"
    else:
        line = "a run would not work as is: " + "; ".join(diagnosis.problems)
    err.print(f"[bold red]error:[/] {redact_text(line)}", highlight=False, soft_wrap=True)


def check_account(
    base_url: str | None,
    client_id: str | None,
    client_secret: str | None,
    dialect: str | None,
    *,
    console: Console = out_console,
    transport: httpx.AsyncBaseTransport | None = None,
) -> NoReturn:
    """The ``doctor`` command: settings as ``run`` reads them, the probe, exit 0 / 1 / 2."""
    from flows.settings import ConfigError, extract_settings, load

    if dialect not in (None, "auto", "v2.0", "v1.4"):
        fail(f"unknown --dialect {dialect!r}; use auto, v2.0 or v1.4")
    try:
        settings = load(
            cardepass_base_url=base_url,
            cardepass_client_id=client_id,
            cardepass_client_secret=client_secret,
            cardrec_dialect=dialect,
        )
        extract = extract_settings(settings)
    except ConfigError as exc:
        fail(str(exc))
    try:
        diagnosis = diagnose(extract, transport=transport)
    except KeyboardInterrupt:
        fail("interrupted; nothing was written", 130)
    if diagnosis.config_error is not None and diagnosis.config_early:
        fail(diagnosis.config_error)  # the token or the ping: one line, as `run` says it
    print_diagnosis(console, diagnosis)
    raise typer.Exit(diagnosis.exit_code)
