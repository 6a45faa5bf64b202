"""The one error tree of the cardepass HTTP boundary.

::

    CardepassError                      base: .transient, .response_id
    ├── ApiStatusError(status, code, response_id, message)
    │   │                               an HTTP error status or an error envelope
    │   ├── BadRequest          400     parameters rejected (or a business error code)
    │   ├── Unauthorized        401     token refused even after one refresh
    │   ├── Forbidden           403     the credentials may not do this
    │   ├── NotFound            404     no such card / order / path
    │   ├── RateLimited         429     slow down (.retry_after)          transient
    │   └── ServerError         5xx     cardepass failed (.retry_after)   transient
    ├── ApiConnectionError              could not reach or talk to the server  transient
    │   └── ApiTimeout                  no answer in time                      transient
    ├── ProtocolError                   an answer we cannot read (.excerpt)
    ├── PaginationError                 the pages do not add up
    ├── AuthError                       the token endpoint refused (.error: invalid_client, ...)
    └── NoApiError(url, status)         no token endpoint at the base URL (a wrong URL)

Every message says what happened and what to do, carries the ``responseId`` when the
server sent one, and passes through :func:`extract.redact.redact_text`, so a client
secret, an access token or an ``Authorization`` header never reaches a log line, a
traceback or a report.
Exceptions pickle and unpickle intact (Prefect may ship them between processes).
"""

from __future__ import annotations

import math
from typing import Any, ClassVar

# redact_text and redact_url are also imported from here (flows/doctor.py)
from extract.redact import body_excerpt, redact_text, redact_url

__all__ = [
    "ApiConnectionError",
    "ApiStatusError",
    "ApiTimeout",
    "AuthError",
    "BadRequest",
    "CardepassError",
    "Forbidden",
    "NoApiError",
    "NotFound",
    "PaginationError",
    "ProtocolError",
    "RateLimited",
    "ServerError",
    "Unauthorized",
    "error_for_status",
    "parse_retry_after",
    "redact_text",
    "redact_url",
]


def parse_retry_after(value: str | None) -> float | None:
    """A ``Retry-After`` header in seconds (the delta-seconds form), or None if absent/bad."""
    if value is None:
        return None
    try:
        seconds = float(value.strip())
    except ValueError:
        return None
    if not math.isfinite(seconds) or seconds < 0:
        return None
    return seconds


def _restore(cls: type[CardepassError], args: tuple[Any, ...], state: dict[str, Any]) -> Any:
    error = cls.__new__(cls)
    error.args = args
    error.__dict__.update(state)
    return error


class CardepassError(Exception):
    """Base of every error raised at the cardepass boundary."""

    hint: ClassVar[str] = ""

    def __init__(
        self, what: str, *, response_id: str | None = None, hint: str | None = None
    ) -> None:
        self.response_id = response_id
        parts = [what.rstrip(". ")]
        if response_id:
            parts[0] += f" (responseId {response_id})"
        advice = self.hint if hint is None else hint
        if advice:
            parts.append(advice)
        super().__init__(redact_text(". ".join(parts) + "."))

    @property
    def transient(self) -> bool:
        """True when trying the same request again later may succeed."""
        return False

    def __reduce__(self) -> tuple[Any, ...]:
        return (_restore, (type(self), self.args, dict(self.__dict__)))


class ApiStatusError(CardepassError):
    """The API answered with an error status or an error envelope (``hasError: true``).

    ``status`` is the HTTP status actually received, ``code`` the envelope's
    ``errorCode`` (e.g. ``CARD_NOT_FOUND``), ``message`` its ``errorMessage``.
    """

    hint: ClassVar[str] = "Check the request; the error code above says what cardepass refused"

    def __init__(
        self,
        status: int,
        code: str | None = None,
        response_id: str | None = None,
        message: str | None = None,
        *,
        endpoint: str | None = None,
        retry_after: float | None = None,
        hint: str | None = None,
    ) -> None:
        self.status = status
        self.code = code
        self.message = redact_text(message) if message else message
        self.endpoint = endpoint
        self.retry_after = retry_after
        what = f"{endpoint or 'cardepass'} answered HTTP {status}"
        if code:
            what += f" {code}"
        if self.message:
            what += f": {self.message.rstrip('. ')}"
        super().__init__(what, response_id=response_id, hint=hint)

    @property
    def transient(self) -> bool:
        return self.status in (408, 429) or self.status >= 500


class BadRequest(ApiStatusError):
    """400, or a business error code (``INSUFFICIENT_BALANCE``, ``DUPLICATE_ORDER``, …)."""

    hint = (
        "Not retried: fix the parameters (PageSize at most 100, date window at most 3 months, "
        "the field names of the configured dialect) or the business condition named above"
    )


class Unauthorized(ApiStatusError):
    """401 that survived one token refresh."""

    hint = (
        "The access token was refused even after a fresh one was fetched; check "
        "CARDEPASS_CLIENT_ID / CARDEPASS_CLIENT_SECRET and that CARDEPASS_BASE_URL is the "
        "environment (test or production) those credentials belong to"
    )


class Forbidden(ApiStatusError):
    """403: the credentials are valid but not allowed to do this."""

    hint = "Not retried: the credentials lack permission for this endpoint; ask cardepass"


class NotFound(ApiStatusError):
    """404: no such resource (or a wrong path / base URL)."""

    hint = (
        "Not retried: check the id in the path, and that the base URL ends in /openapi "
        "(e.g. https://test.cardepass.com/openapi)"
    )


class RateLimited(ApiStatusError):
    """429: too many requests; ``retry_after`` is the server's ``Retry-After`` in seconds."""

    hint = "Slow down: lower the concurrency or wait for the Retry-After period"


class ServerError(ApiStatusError):
    """5xx: cardepass (or a gateway in front of it) failed."""

    hint = "Retried with backoff; if it persists, cardepass is having trouble: try again later"


_STATUS_CLASSES: dict[int, type[ApiStatusError]] = {
    400: BadRequest,
    401: Unauthorized,
    403: Forbidden,
    404: NotFound,
    429: RateLimited,
}


def error_for_status(
    status: int,
    code: str | None = None,
    response_id: str | None = None,
    message: str | None = None,
    *,
    endpoint: str | None = None,
    retry_after: float | None = None,
) -> ApiStatusError:
    """The typed error for an HTTP status, or for an error envelope sent with a 2xx.

    An error envelope that arrives with a non-error status is classified by its code:
    ``*_NOT_FOUND`` is a :class:`NotFound`, anything else a :class:`BadRequest`.
    """
    cls: type[ApiStatusError]
    if status >= 500:
        cls = ServerError
    elif status >= 400:
        cls = _STATUS_CLASSES.get(status, ApiStatusError)
    elif code and code.upper().endswith("NOT_FOUND"):
        cls = NotFound
    else:
        cls = BadRequest
    return cls(status, code, response_id, message, endpoint=endpoint, retry_after=retry_after)


class ApiConnectionError(CardepassError):
    """The request did not get an answer: DNS, refused connection, reset, TLS, …"""

    hint = "Retried with backoff; check CARDEPASS_BASE_URL and the network (proxy, firewall)"

    @property
    def transient(self) -> bool:
        return True


class ApiTimeout(ApiConnectionError):
    """No answer within the configured timeout."""

    hint = "Retried with backoff; if it persists raise the timeout or lower the concurrency"


class ProtocolError(CardepassError):
    """The server answered, but not in a shape we can read.

    Malformed or truncated JSON, HTML where JSON was expected, an envelope missing its
    fields. ``excerpt`` is a short, redacted start of the body. Garbled JSON is marked
    transient (a flaky proxy or a cut connection produces it); HTML or a wrong shape is
    not, because asking again gives the same answer.
    """

    hint = (
        "Check that CARDEPASS_BASE_URL points at the cardepass OpenAPI (ending in /openapi) "
        "and that the configured dialect matches the server"
    )

    def __init__(
        self,
        what: str,
        *,
        body: bytes | str | None = None,
        response_id: str | None = None,
        transient: bool = False,
        hint: str | None = None,
    ) -> None:
        self.excerpt = body_excerpt(body) if body else None
        self._transient = transient
        if self.excerpt:
            what = f"{what.rstrip('. ')}; body starts: {self.excerpt!r}"
        super().__init__(what, response_id=response_id, hint=hint)

    @property
    def transient(self) -> bool:
        return self._transient


class PaginationError(CardepassError):
    """The pages of one walk contradict each other (a loop or a moving target)."""

    hint = (
        "Stopped to avoid looping or skipping rows; re-run the window, and report the "
        "responseId to cardepass if it happens again"
    )


class AuthError(CardepassError):
    """The token endpoint refused the client credentials.

    ``error`` is the OAuth error code (``invalid_client``, ``invalid_grant``,
    ``invalid_scope``, …) or ``http_<status>`` when the server gave none.
    """

    hint = "Check CARDEPASS_CLIENT_ID / CARDEPASS_CLIENT_SECRET"

    _HINTS: ClassVar[dict[str, str]] = {
        "invalid_client": (
            "Check CARDEPASS_CLIENT_ID / CARDEPASS_CLIENT_SECRET, and that they belong to "
            "the environment of CARDEPASS_BASE_URL"
        ),
        "invalid_grant": (
            "The server refused the client_credentials grant; check CARDEPASS_CLIENT_ID / "
            "CARDEPASS_CLIENT_SECRET and ask cardepass to enable it"
        ),
        "invalid_scope": (
            "Check CARDEPASS_CLIENT_ID / CARDEPASS_CLIENT_SECRET and the scope setting "
            "(the v1.4 service expects scope=openapi, the v2.0 document sends none)"
        ),
    }

    def __init__(
        self,
        error: str,
        description: str | None = None,
        *,
        status: int | None = None,
    ) -> None:
        self.error = error
        self.description = redact_text(description) if description else description
        self.status = status
        what = "The token endpoint refused the client credentials"
        if status is not None:
            what += f" (HTTP {status})"
        what += f": {error}"
        if self.description:
            what += f" ({self.description.rstrip('. ')})"
        super().__init__(what, hint=self._HINTS.get(error, self.hint))


class NoApiError(CardepassError):
    """The base URL has no token endpoint (it answered 404): not the cardepass API.

    A wrong ``CARDEPASS_BASE_URL`` (a missing ``/openapi``, another host) says so, instead
    of blaming the credentials.
    """

    def __init__(self, url: str, status: int) -> None:
        self.url = redact_url(url)
        self.status = status
        super().__init__(
            f"no cardepass API at {self.url} (HTTP {status}): check CARDEPASS_BASE_URL", hint=""
        )
