"""The HTTP client: one factory for the ``httpx.AsyncClient`` and a thin JSON caller.

:func:`make_client` is the only place an ``httpx.AsyncClient`` for cardepass is built:
base URL check (``https://`` only, plain ``http://`` only for loopback), timeouts,
connection limits, the OAuth2 :class:`~extract.auth.OAuth2ClientCredentials` auth, and
debug-logging event hooks that redact URLs and headers.

:class:`CardepassClient` wraps that client. :meth:`CardepassClient.get_json`

* parses the body with orjson (numbers arrive as ``float``/``int``; adapters turn money
  into ``Decimal`` via ``str()``, which is exact for the API's 2-decimal amounts — or
  inject ``json_loads=functools.partial(json.loads, parse_float=Decimal)``) and keeps
  the raw bytes for the audit trail;
* turns HTTP statuses and error envelopes (``hasError/errorCode/errorMessage``) into the
  typed errors of :mod:`extract.errors`, and unreadable bodies into ``ProtocolError``;
* retries transient errors (timeouts, connection errors, 5xx, 429, garbled JSON) with
  exponential backoff and full jitter, sleeping exactly ``Retry-After`` seconds when a
  429/503 carries one; it never retries 400/401/403/404.
"""

from __future__ import annotations

import asyncio
import email.utils
import inspect
import ipaddress
import logging
import random as _random
import time
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from types import TracebackType
from typing import Any, Self
from urllib.parse import unquote

import httpx
import orjson

from extract.auth import ClientCredentials, OAuth2ClientCredentials
from extract.errors import (
    ApiConnectionError,
    ApiTimeout,
    CardepassError,
    ProtocolError,
    RateLimited,
    error_for_status,
    parse_retry_after,
)
from extract.redact import body_excerpt, redact_headers, redact_url

__all__ = [
    "USER_AGENT",
    "ApiResponse",
    "CardepassClient",
    "make_client",
    "validate_base_url",
]

logger = logging.getLogger(__name__)

USER_AGENT = "cardrecon/0.1 (+httpx)"
_RETRY_AFTER_STATUSES = frozenset({429, 503})


# -- the factory ----------------------------------------------------------------------------


def _is_loopback(host: str) -> bool:
    if host.lower() == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def validate_base_url(base_url: str | httpx.URL) -> httpx.URL:
    """The base URL if it is safe to send credentials to, else ``ValueError``.

    Only ``https://`` is accepted, except plain ``http://`` to a loopback host
    (``127.0.0.0/8``, ``::1``, ``localhost``) such as the local sandbox. The URL must not
    carry credentials, a query or a fragment.
    """
    try:
        url = httpx.URL(str(base_url))
    except httpx.InvalidURL as exc:
        raise ValueError(f"CARDEPASS_BASE_URL is not a valid URL: {exc}") from None
    shown = redact_url(url)
    if url.scheme not in ("http", "https") or not url.host:
        raise ValueError(
            f"CARDEPASS_BASE_URL must be an absolute https:// URL such as "
            f"https://test.cardepass.com/openapi (got {shown!r})"
        )
    if url.userinfo:
        raise ValueError(
            "CARDEPASS_BASE_URL must not contain a user or password; pass the client id "
            "and secret as CARDEPASS_CLIENT_ID / CARDEPASS_CLIENT_SECRET"
        )
    if url.query or url.fragment:
        raise ValueError(f"CARDEPASS_BASE_URL must not have a query or fragment (got {shown!r})")
    if url.scheme == "http" and not _is_loopback(url.host):
        raise ValueError(
            f"CARDEPASS_BASE_URL must use https:// (got {shown!r}); plain http:// is only "
            "allowed for loopback hosts (127.0.0.1, ::1, localhost) such as the sandbox"
        )
    return url


async def _log_request(request: httpx.Request) -> None:
    if logger.isEnabledFor(logging.DEBUG):
        logger.debug(
            "request %s %s headers=%s",
            request.method,
            redact_url(request.url),
            redact_headers(request.headers),
        )


async def _log_response(response: httpx.Response) -> None:
    if logger.isEnabledFor(logging.DEBUG):
        request = response.request
        logger.debug(
            "response %s %s -> HTTP %d",
            request.method,
            redact_url(request.url),
            response.status_code,
        )


def make_client(
    base_url: str | httpx.URL,
    credentials: ClientCredentials,
    *,
    timeout: float = 30.0,
    max_connections: int = 16,
    max_keepalive_connections: int | None = None,
    scope: str | None = None,
    refresh_margin: float = 60.0,
    clock: Callable[[], float] = time.monotonic,
    transport: httpx.AsyncBaseTransport | None = None,
    headers: Mapping[str, str] | None = None,
    trust_env: bool = True,
    auth: OAuth2ClientCredentials | None = None,
) -> httpx.AsyncClient:
    """Build the one ``httpx.AsyncClient`` that talks to cardepass.

    Args:
        base_url: e.g. ``https://test.cardepass.com/openapi`` (see
            :func:`validate_base_url`); request paths such as ``/v1/ping`` are relative
            to it.
        credentials: client id and secret for the OAuth2 client-credentials grant.
        timeout: seconds for connect, read, write and pool waits.
        max_connections: connection-pool size (also the useful concurrency ceiling).
        max_keepalive_connections: idle connections kept (default ``max_connections``).
        scope: OAuth scope to request (``openapi`` for the v1.4 service; none for v2.0).
        refresh_margin: refresh the token this many seconds before it expires.
        clock: monotonic clock for token expiry (tests inject one).
        transport: e.g. ``httpx.MockTransport`` or ``httpx.ASGITransport`` in tests.
        headers: extra default headers.
        trust_env: honour ``HTTPS_PROXY``/``NO_PROXY`` and friends.
        auth: an OAuth2 auth to share (and its cached token) with other clients of the
            same credentials; by default the client gets its own.

    Raises:
        ValueError: the base URL is not https (or loopback http).
    """
    url = validate_base_url(base_url)
    if auth is None:
        auth = OAuth2ClientCredentials(
            credentials, url, scope=scope, refresh_margin=refresh_margin, clock=clock
        )
    keepalive = max_connections if max_keepalive_connections is None else max_keepalive_connections
    return httpx.AsyncClient(
        base_url=url,
        auth=auth,
        timeout=httpx.Timeout(timeout),
        limits=httpx.Limits(max_connections=max_connections, max_keepalive_connections=keepalive),
        headers={"Accept": "application/json", "User-Agent": USER_AGENT, **(headers or {})},
        event_hooks={"request": [_log_request], "response": [_log_response]},
        follow_redirects=False,  # a redirect must not carry the token to another host
        transport=transport,
        trust_env=trust_env,
    )


# -- the JSON caller ------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class ApiResponse:
    """One successful API answer, parsed, with what is needed to audit it."""

    method: str
    path: str
    params: dict[str, str]
    """The query parameters exactly as sent."""
    status: int
    body: Any
    """The parsed JSON: the whole envelope (or a bare value such as ``"Ping Success"``)."""
    content: bytes
    """The raw body, untouched (for ``raw.pages``)."""
    response_id: str | None
    fetched_at: datetime
    attempts: int
    """How many requests it took (1 = no retry)."""
    service_at: datetime | None = None
    """The service's clock: the reply's ``Date`` header (UTC, to the second), if it sent one."""

    @property
    def data(self) -> Any:
        """The envelope's ``data`` (the body itself when it is not an envelope)."""
        if isinstance(self.body, dict) and "data" in self.body:
            return self.body["data"]
        return self.body


RateLimitHook = Callable[[RateLimited], Awaitable[None] | None]


def _is_true(value: object) -> bool:
    return value is True or (isinstance(value, str) and value.strip().lower() == "true")


def _str_or_none(value: object) -> str | None:
    return value if isinstance(value, str) and value else None


class CardepassClient:
    """JSON calls with typed errors and retries, over a client from :func:`make_client`.

    Args:
        http: the ``httpx.AsyncClient`` (closed by :meth:`aclose` / ``async with``).
        retry_attempts: retries after the first try for transient errors (so at most
            ``retry_attempts + 1`` requests per call).
        backoff_base, backoff_max: retry ``n`` (from 0) sleeps
            ``random() * min(backoff_max, backoff_base * 2**n)`` ("full jitter").
        retry_after_max: a ``Retry-After`` longer than this is not waited for; the
            error is raised instead.
        sleep, random: injectable for tests.
        on_rate_limited: called with every 429 (sync or async), e.g. to make a
            concurrency limiter back off.
        json_loads: the body parser (``orjson.loads``).
        now: wall clock for ``ApiResponse.fetched_at``.
    """

    def __init__(
        self,
        http: httpx.AsyncClient,
        *,
        retry_attempts: int = 6,
        backoff_base: float = 0.5,
        backoff_max: float = 30.0,
        retry_after_max: float = 300.0,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
        random: Callable[[], float] = _random.random,
        on_rate_limited: RateLimitHook | None = None,
        json_loads: Callable[[bytes], Any] = orjson.loads,
        now: Callable[[], datetime] = lambda: datetime.now(UTC),
    ) -> None:
        if retry_attempts < 0 or backoff_base < 0 or backoff_max < 0:
            raise ValueError("retry_attempts, backoff_base and backoff_max must be >= 0")
        self.http = http
        self.retry_attempts = retry_attempts
        self.backoff_base = backoff_base
        self.backoff_max = backoff_max
        self.retry_after_max = retry_after_max
        self._sleep = sleep
        self._random = random
        self.on_rate_limited = on_rate_limited
        self._json_loads = json_loads
        self._now = now

    async def __aenter__(self) -> Self:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.aclose()

    async def aclose(self) -> None:
        """Close the underlying ``httpx.AsyncClient``."""
        await self.http.aclose()

    def backoff_delay(self, retry: int, error: CardepassError) -> float | None:
        """Seconds to wait before retry number ``retry`` (0-based); None = give up."""
        retry_after = getattr(error, "retry_after", None)
        if retry_after is not None:
            return retry_after if retry_after <= self.retry_after_max else None
        ceiling = min(self.backoff_max, self.backoff_base * 2.0**retry)
        return self._random() * ceiling

    async def get_json(
        self,
        path: str,
        params: Mapping[str, Any] | None = None,
        *,
        envelope: bool = True,
    ) -> ApiResponse:
        """``GET path`` and return the parsed answer, retrying transient failures.

        ``None`` values in ``params`` are left out. With ``envelope=True`` (the default)
        the body must be the standard envelope; ``envelope=False`` accepts any JSON (the
        v2.0 ``/v1/ping`` answers a bare string) but still raises on ``hasError: true``.

        Raises:
            ApiStatusError (and subclasses), ApiConnectionError, ApiTimeout,
            ProtocolError, AuthError: after retries where the error is transient.
        """
        query = httpx.QueryParams({k: v for k, v in (params or {}).items() if v is not None})
        retry = 0
        while True:
            try:
                return await self._get_once(path, query, envelope, attempts=retry + 1)
            except CardepassError as error:
                if isinstance(error, RateLimited) and self.on_rate_limited is not None:
                    outcome = self.on_rate_limited(error)
                    if inspect.isawaitable(outcome):
                        await outcome
                if not error.transient or retry >= self.retry_attempts:
                    raise
                delay = self.backoff_delay(retry, error)
                if delay is None:
                    raise
                logger.warning(
                    "retry %d/%d of GET %s in %.2fs after: %s",
                    retry + 1,
                    self.retry_attempts,
                    path,
                    delay,
                    error,
                )
                await self._sleep(delay)
                retry += 1

    async def _get_once(
        self, path: str, query: httpx.QueryParams, envelope: bool, *, attempts: int
    ) -> ApiResponse:
        # described only when something goes wrong: redacting the URL on every call costs
        # ~5 µs per request (found profiling B1)
        endpoint = _Describe("GET", path, query)
        try:
            response = await self.http.get(path, params=query)
        except httpx.TimeoutException as exc:
            raise ApiTimeout(
                f"{endpoint} timed out ({type(exc).__name__}) at {redact_url(self.http.base_url)}"
            ) from exc
        except httpx.DecodingError as exc:
            raise ProtocolError(
                f"{endpoint} answered a body that could not be decoded ({exc})", transient=True
            ) from exc
        except httpx.TransportError as exc:
            raise ApiConnectionError(
                f"{endpoint} failed to reach {redact_url(self.http.base_url)}: "
                f"{type(exc).__name__}: {exc}"
            ) from exc
        body = self._interpret(response, endpoint, envelope)
        return ApiResponse(
            method="GET",
            path=path,
            params=dict(query.multi_items()),
            status=response.status_code,
            body=body,
            content=response.content,
            response_id=_str_or_none(body.get("responseId")) if isinstance(body, dict) else None,
            fetched_at=self._now(),
            attempts=attempts,
            service_at=parse_date_header(response.headers.get("Date")),
        )

    def _interpret(self, response: httpx.Response, endpoint: _Describe, envelope: bool) -> Any:
        """The parsed body of a successful answer; raises the typed error otherwise."""
        status = response.status_code
        content = response.content
        body: Any = None
        parse_failed = False
        if content.strip():
            try:
                body = self._json_loads(content)
            except ValueError:  # orjson.JSONDecodeError and json.JSONDecodeError
                parse_failed = True
        fields = body if isinstance(body, dict) else {}
        response_id = _str_or_none(fields.get("responseId"))

        if status >= 400:
            message = _str_or_none(fields.get("errorMessage"))
            if message is None and parse_failed:
                message = f"non-JSON body {body_excerpt(content, 80)!r}"
            retry_after = None
            if status in _RETRY_AFTER_STATUSES:
                retry_after = parse_retry_after(response.headers.get("Retry-After"))
            raise error_for_status(
                status,
                _str_or_none(fields.get("errorCode")),
                response_id,
                message,
                endpoint=str(endpoint),
                retry_after=retry_after,
            )
        if 300 <= status < 400:
            location = response.headers.get("Location", "")
            raise ProtocolError(
                f"{endpoint} was redirected (HTTP {status}) to {redact_url(location)!r}",
                hint="Set CARDEPASS_BASE_URL to the final https://…/openapi address; "
                "redirects are not followed so the token never travels to another host",
            )
        if parse_failed or not content.strip():
            raise _unreadable(response, str(endpoint))
        if "hasError" in fields and _is_true(fields["hasError"]):
            raise error_for_status(
                status,
                _str_or_none(fields.get("errorCode")),
                response_id,
                _str_or_none(fields.get("errorMessage")),
                endpoint=str(endpoint),
            )
        if envelope:
            missing = [key for key in ("data", "hasError") if key not in fields]
            if missing:
                raise ProtocolError(
                    f"{endpoint} answered HTTP {status} without the envelope field(s) "
                    + ", ".join(missing),
                    body=content,
                    response_id=response_id,
                )
        return body


def _unreadable(response: httpx.Response, endpoint: str) -> ProtocolError:
    content = response.content
    status = response.status_code
    content_type = response.headers.get("Content-Type", "")
    if not content.strip():
        return ProtocolError(
            f"{endpoint} answered HTTP {status} with an empty body", transient=True
        )
    if "html" in content_type.lower() or content.lstrip()[:1] == b"<":
        return ProtocolError(
            f"{endpoint} answered HTTP {status} with HTML instead of JSON "
            "(a proxy, a login page or a wrong base URL?)",
            body=content,
        )
    return ProtocolError(
        f"{endpoint} answered HTTP {status} with malformed or truncated JSON "
        f"({len(content)} bytes)",
        body=content,
        transient=True,
        hint="Retried; if it persists, report it to cardepass with the time of the call",
    )


class _Describe:
    """``GET /v1/x?a=b`` for messages, built (and redacted) only when formatted."""

    __slots__ = ("method", "path", "query")

    def __init__(self, method: str, path: str, query: httpx.QueryParams) -> None:
        self.method, self.path, self.query = method, path, query

    def __str__(self) -> str:
        return _describe(self.method, self.path, self.query)

    def __format__(self, spec: str) -> str:
        return format(str(self), spec)


def _describe(method: str, path: str, query: httpx.QueryParams) -> str:
    """``GET /v1/x?a=b`` for messages, with sensitive values masked."""
    target = path if not query else f"{path}?{query}"
    return f"{method} {unquote(redact_url(httpx.URL(target)))}"


def parse_date_header(value: str | None) -> datetime | None:
    """An HTTP ``Date`` header (RFC 7231) as a UTC datetime; None when absent or unreadable."""
    if not value:
        return None
    try:
        parsed = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError, IndexError):
        return None
    if parsed.tzinfo is None:  # "-0000": UTC by RFC 5322
        parsed = parsed.replace(tzinfo=UTC)
    return parsed.astimezone(UTC)
