"""OAuth2 client-credentials authentication for cardepass, as an ``httpx.Auth``.

The token dance lives in generators that yield requests and receive responses, so it is
tested by driving them with constructed ``httpx.Request``/``httpx.Response`` objects:

1. no token, or one within ``refresh_margin`` seconds of expiry: yield
   ``POST {base}/connect/token`` (form body ``grant_type=client_credentials``,
   ``client_id``, ``client_secret``, plus ``scope`` when configured) and cache the reply;
2. yield the API request with ``Authorization: Bearer <token>``;
3. on a 401, refresh once and yield the request once more; a second 401 is returned to
   the caller (who raises :class:`~extract.errors.Unauthorized`).

:meth:`OAuth2ClientCredentials.async_auth_flow` adds an ``asyncio.Lock`` around the token
request, with a re-check inside the lock and a token *generation* counter, so N
concurrent requests without a token, or N concurrent 401s for the same stale token,
cause exactly one token request. The plain :meth:`~OAuth2ClientCredentials.auth_flow`
(used by sync clients and by tests) has no locking.

The client secret is held in a :class:`Secret`, which never shows itself in ``repr`` or
``str``; token-endpoint failures become :class:`~extract.errors.AuthError` (OAuth
errors) or the transient :class:`~extract.errors.ServerError` /
:class:`~extract.errors.RateLimited`, which the client's retry loop handles.
"""

from __future__ import annotations

import asyncio
import hmac
import math
import time
from collections.abc import AsyncGenerator, Callable, Generator
from typing import Any

import httpx
import orjson

from extract.errors import (
    AuthError,
    NoApiError,
    ProtocolError,
    error_for_status,
    parse_retry_after,
)

__all__ = [
    "DEFAULT_TOKEN_LIFETIME",
    "ClientCredentials",
    "OAuth2ClientCredentials",
    "Secret",
]

DEFAULT_TOKEN_LIFETIME = 3600.0
"""Seconds a token is assumed to live when the reply carries no ``expires_in``."""


class Secret:
    """A string that does not show itself: ``repr``/``str``/f-strings print ``**********``.

    Call :meth:`get_secret_value` at the one place the real value is needed.
    """

    __slots__ = ("_value",)

    def __init__(self, value: str) -> None:
        if not isinstance(value, str):
            raise TypeError("Secret holds a str")
        self._value = value

    def get_secret_value(self) -> str:
        """The real value. Never log or format it."""
        return self._value

    def __repr__(self) -> str:
        return "Secret('**********')"

    def __str__(self) -> str:
        return "**********"

    def __bool__(self) -> bool:
        return bool(self._value)

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Secret):
            return NotImplemented
        return hmac.compare_digest(self._value.encode(), other._value.encode())

    def __hash__(self) -> int:
        return hash(self._value)

    def __reduce__(self) -> tuple[Any, ...]:
        return (Secret, (self._value,))


class ClientCredentials:
    """The OAuth client id and secret issued by cardepass."""

    __slots__ = ("client_id", "client_secret")

    def __init__(self, client_id: str, client_secret: str | Secret) -> None:
        if not client_id:
            raise ValueError("client_id is empty: set CARDEPASS_CLIENT_ID")
        secret = client_secret if isinstance(client_secret, Secret) else Secret(client_secret)
        if not secret:
            raise ValueError("client_secret is empty: set CARDEPASS_CLIENT_SECRET")
        self.client_id = client_id
        self.client_secret = secret

    def __repr__(self) -> str:
        return (
            f"ClientCredentials(client_id={self.client_id!r}, client_secret=Secret('**********'))"
        )

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, ClientCredentials):
            return NotImplemented
        return (self.client_id, self.client_secret) == (other.client_id, other.client_secret)

    def __hash__(self) -> int:
        return hash((self.client_id, self.client_secret))


class OAuth2ClientCredentials(httpx.Auth):
    """``httpx.Auth`` that fetches, caches and refreshes a client-credentials token.

    Args:
        credentials: client id and secret.
        base_url: the API base, e.g. ``https://test.cardepass.com/openapi``; the token
            endpoint is ``{base_url}/connect/token``.
        scope: sent as ``scope=…`` when set (the v1.4 service uses ``openapi``).
        refresh_margin: refresh this many seconds before ``expires_in`` runs out (capped
            at half the token's lifetime, so a short-lived token is still used).
        clock: monotonic seconds; injectable for tests.
    """

    requires_response_body = True

    def __init__(
        self,
        credentials: ClientCredentials,
        base_url: str | httpx.URL,
        *,
        scope: str | None = None,
        refresh_margin: float = 60.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        if refresh_margin < 0:
            raise ValueError("refresh_margin must be >= 0")
        self._credentials = credentials
        self.base_url = str(base_url).rstrip("/")
        self.token_url = httpx.URL(self.base_url + "/connect/token")
        self.scope = scope
        self.refresh_margin = refresh_margin
        self._clock = clock
        self._token: Secret | None = None
        self._refresh_at = 0.0
        self._generation = 0
        self._lock: asyncio.Lock | None = None
        self._lock_loop: asyncio.AbstractEventLoop | None = None
        self.token_requests = 0
        """How many token requests this instance has issued (for tests and metrics)."""

    def __repr__(self) -> str:
        return (
            f"OAuth2ClientCredentials(client_id={self._credentials.client_id!r}, "
            f"token_url={str(self.token_url)!r}, scope={self.scope!r})"
        )

    # -- state ---------------------------------------------------------------------------

    @property
    def has_fresh_token(self) -> bool:
        """True while the cached token is outside the refresh margin."""
        return self._token is not None and self._clock() < self._refresh_at

    def invalidate(self) -> None:
        """Forget the cached token; the next request fetches a new one."""
        self._token = None
        self._refresh_at = 0.0

    def build_token_request(self) -> httpx.Request:
        """The ``POST /connect/token`` request (form-encoded client credentials)."""
        form = {
            "grant_type": "client_credentials",
            "client_id": self._credentials.client_id,
            "client_secret": self._credentials.client_secret.get_secret_value(),
        }
        if self.scope:
            form["scope"] = self.scope
        self.token_requests += 1
        return httpx.Request(
            "POST", self.token_url, data=form, headers={"Accept": "application/json"}
        )

    def handle_token_response(self, response: httpx.Response, requested_at: float) -> None:
        """Cache the token from a (read) token-endpoint response, or raise.

        Raises:
            NoApiError: a 404 without an OAuth error: no token endpoint, so a wrong base URL.
            AuthError: an OAuth error (``invalid_client`` …) or another 4xx.
            RateLimited, ServerError: 429 / 5xx (transient: the client retries).
            ProtocolError: a 200 without a usable ``access_token``.
        """
        status = response.status_code
        body = _parse_object(response.content)
        if status == 429 or status >= 500:
            raise error_for_status(
                status,
                _str_or_none(body.get("error")),
                message="the token endpoint failed",
                endpoint=f"POST {self.token_url.raw_path.decode('ascii', 'replace')}",
                retry_after=parse_retry_after(response.headers.get("Retry-After")),
            )
        if status == 404 and "error" not in body:
            raise NoApiError(self.base_url, status)
        if status >= 400 or "error" in body:
            error = _str_or_none(body.get("error")) or f"http_{status}"
            raise AuthError(error, _str_or_none(body.get("error_description")), status=status)
        token = body.get("access_token")
        token_type = body.get("token_type", "Bearer")
        if not isinstance(token, str) or not token:
            raise ProtocolError(
                f"The token endpoint answered HTTP {status} without an access_token",
                body=response.content,
            )
        if not isinstance(token_type, str) or token_type.lower() != "bearer":
            raise ProtocolError(
                f"The token endpoint issued a {token_type!r} token; only Bearer is supported"
            )
        lifetime = _lifetime(body.get("expires_in"))
        margin = min(self.refresh_margin, lifetime / 2)
        self._token = Secret(token)
        self._refresh_at = requested_at + lifetime - margin
        self._generation += 1

    def sign(self, request: httpx.Request) -> int:
        """Set the ``Authorization`` header; returns the token generation used."""
        if self._token is None:
            raise RuntimeError("no token to sign with")
        request.headers["Authorization"] = f"Bearer {self._token.get_secret_value()}"
        return self._generation

    # -- flows ---------------------------------------------------------------------------

    def auth_flow(self, request: httpx.Request) -> Generator[httpx.Request, httpx.Response, None]:
        """The token dance without locking (sync clients, tests)."""
        if not self.has_fresh_token:
            requested_at = self._clock()
            token_response = yield self.build_token_request()
            self.handle_token_response(token_response, requested_at)
        self.sign(request)
        response = yield request
        if response.status_code != 401:
            return
        requested_at = self._clock()
        token_response = yield self.build_token_request()
        self.handle_token_response(token_response, requested_at)
        self.sign(request)
        yield request

    async def async_auth_flow(
        self, request: httpx.Request
    ) -> AsyncGenerator[httpx.Request, httpx.Response]:
        """The token dance for ``AsyncClient``: one token request however many callers wait."""
        if not self.has_fresh_token:
            async with self._get_lock():
                if not self.has_fresh_token:  # someone else may have fetched it meanwhile
                    requested_at = self._clock()
                    token_response = yield self.build_token_request()
                    await token_response.aread()
                    self.handle_token_response(token_response, requested_at)
        generation = self.sign(request)
        response = yield request
        if response.status_code != 401:
            return
        async with self._get_lock():
            if self._generation == generation or self._token is None:  # still stale
                requested_at = self._clock()
                token_response = yield self.build_token_request()
                await token_response.aread()
                self.handle_token_response(token_response, requested_at)
        self.sign(request)
        yield request

    def _get_lock(self) -> asyncio.Lock:
        # An asyncio.Lock binds to the loop it first waits on; keep one per running loop
        # so the same auth object survives several asyncio.run() calls.
        loop = asyncio.get_running_loop()
        if self._lock is None or self._lock_loop is not loop:
            self._lock = asyncio.Lock()
            self._lock_loop = loop
        return self._lock


def _parse_object(content: bytes) -> dict[str, Any]:
    try:
        body = orjson.loads(content) if content else {}
    except orjson.JSONDecodeError:
        return {}
    return body if isinstance(body, dict) else {}


def _str_or_none(value: object) -> str | None:
    return value if isinstance(value, str) and value else None


def _lifetime(value: object) -> float:
    """``expires_in`` as positive finite seconds; the documented default when unusable."""
    if isinstance(value, bool) or not isinstance(value, int | float | str):
        return DEFAULT_TOKEN_LIFETIME
    try:
        seconds = float(value)
    except ValueError:
        return DEFAULT_TOKEN_LIFETIME
    return seconds if math.isfinite(seconds) and seconds > 0 else DEFAULT_TOKEN_LIFETIME
