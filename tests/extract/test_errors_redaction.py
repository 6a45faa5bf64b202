"""The error tree (types, transient flags, messages, pickling) and the redaction helpers
(``extract.redact``) every message passes through."""

from __future__ import annotations

import pickle

import httpx
import pytest

from extract.errors import (
    ApiConnectionError,
    ApiStatusError,
    ApiTimeout,
    AuthError,
    BadRequest,
    CardepassError,
    Forbidden,
    NotFound,
    PaginationError,
    ProtocolError,
    RateLimited,
    ServerError,
    Unauthorized,
    error_for_status,
    parse_retry_after,
)
from extract.redact import body_excerpt, redact, redact_headers, redact_url

TOKEN = "eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiJ4In0.c2lnbmF0dXJl"


@pytest.mark.parametrize(
    ("text", "hidden"),
    [
        ("grant_type=client_credentials&client_id=a&client_secret=p4ss!word", "p4ss!word"),
        (f"access_token={TOKEN}&x=1", TOKEN),
        (f'{{"access_token": "{TOKEN}", "expires_in": 3600}}', TOKEN),
        (f"{{'access_token': '{TOKEN}'}}", TOKEN),
        (f"Authorization: Bearer {TOKEN}", TOKEN),
        (f"headers={{'authorization': 'Bearer {TOKEN}'}}", TOKEN),
        ("Authorization: Basic dXNlcjpwYXNz", "dXNlcjpwYXNz"),
        ('{"cardNumber": "4367970137672419", "cvv": "962"}', "4367970137672419"),
        ('{"cardNumber": "4367970137672419", "cvv": "962"}', '"962"'),
        ('{"cvv": 962}', "962"),
        ("card 4367970137672419 declined", "4367970137672419"),
    ],
)
def test_redact_masks_secrets_in_text(text: str, hidden: str) -> None:
    masked = redact(text)
    assert hidden not in masked
    assert "***" in masked


def test_redact_keeps_ordinary_text() -> None:
    text = '{"token_type": "Bearer", "amount": 12.5, "cardId": "6805b2caa94783c5566f9397"}'
    assert redact(text) == text


def test_redact_url_masks_query_secrets_and_password() -> None:
    url = httpx.URL("https://user:pw@api.test/openapi/connect/token?client_secret=abc&a=1")
    shown = redact(url)
    assert shown == redact_url(url)
    assert "abc" not in shown
    assert ":pw@" not in shown
    assert "a=1" in shown
    assert "user" in shown


def test_redact_headers_masks_authorization_and_cookies() -> None:
    headers = httpx.Headers({"Authorization": f"Bearer {TOKEN}", "Cookie": "s=1", "Accept": "x"})
    shown = redact(headers)
    assert shown == redact_headers(headers)
    assert shown == {"authorization": "***", "cookie": "***", "accept": "x"}
    assert redact_headers([("Proxy-Authorization", "Basic abc")]) == {"Proxy-Authorization": "***"}


def test_body_excerpt_is_short_single_line_and_redacted() -> None:
    body = b'{\n  "access_token": "' + TOKEN.encode() + b'",\n' + b"x" * 500
    excerpt = body_excerpt(body, limit=60)
    assert "\n" not in excerpt
    assert TOKEN not in excerpt
    assert excerpt.endswith("…")
    assert len(excerpt) <= 61


@pytest.mark.parametrize(
    ("status", "code", "expected"),
    [
        (400, None, BadRequest),
        (401, None, Unauthorized),
        (403, None, Forbidden),
        (404, "CARD_NOT_FOUND", NotFound),
        (405, None, ApiStatusError),
        (429, None, RateLimited),
        (500, None, ServerError),
        (504, None, ServerError),
        (200, "ORDER_NOT_FOUND", NotFound),
        (200, "DUPLICATE_ORDER", BadRequest),
    ],
)
def test_error_for_status_picks_the_type(
    status: int, code: str | None, expected: type[ApiStatusError]
) -> None:
    assert type(error_for_status(status, code)) is expected


@pytest.mark.parametrize(
    ("error", "transient"),
    [
        (BadRequest(400), False),
        (Unauthorized(401), False),
        (Forbidden(403), False),
        (NotFound(404), False),
        (ApiStatusError(408), True),
        (RateLimited(429, retry_after=3.0), True),
        (ServerError(500), True),
        (ServerError(503), True),
        (ApiConnectionError("refused"), True),
        (ApiTimeout("slow"), True),
        (ProtocolError("html"), False),
        (ProtocolError("cut", transient=True), True),
        (PaginationError("loop"), False),
        (AuthError("invalid_client"), False),
    ],
)
def test_transient_flags(error: CardepassError, transient: bool) -> None:
    assert error.transient is transient
    assert isinstance(error, CardepassError)


def test_status_error_message_says_what_and_what_to_do() -> None:
    error = error_for_status(
        400,
        "LIMIT_EXCEEDED",
        "rid-42",
        "Amount over limit",
        endpoint="GET /v1/transactions?PageSize=500",
    )
    text = str(error)
    assert text.startswith("GET /v1/transactions?PageSize=500 answered HTTP 400 LIMIT_EXCEEDED")
    assert "Amount over limit" in text
    assert "(responseId rid-42)" in text
    assert "PageSize at most 100" in text


def test_server_text_in_messages_is_redacted() -> None:
    error = ServerError(500, message=f"upstream said Authorization: Bearer {TOKEN}")
    assert TOKEN not in str(error)
    assert error.message is not None and TOKEN not in error.message


@pytest.mark.parametrize(
    "error",
    [
        NotFound(404, "CARD_NOT_FOUND", "rid-1", "gone", endpoint="GET /v1/cards/x"),
        RateLimited(429, retry_after=2.5),
        ProtocolError("bad", body=b"<html>", response_id="r", transient=True),
        AuthError("invalid_scope", "nope", status=400),
        PaginationError("loop", response_id="r9"),
        ApiTimeout("slow"),
    ],
)
def test_errors_survive_pickling(error: CardepassError) -> None:
    copy = pickle.loads(pickle.dumps(error))
    assert type(copy) is type(error)
    assert str(copy) == str(error)
    assert copy.__dict__ == error.__dict__
    assert copy.transient == error.transient


@pytest.mark.parametrize(
    ("value", "seconds"),
    [
        ("7", 7.0),
        (" 1.5 ", 1.5),
        ("0", 0.0),
        (None, None),
        ("-3", None),
        ("soon", None),
        ("nan", None),
    ],
)
def test_parse_retry_after(value: str | None, seconds: float | None) -> None:
    assert parse_retry_after(value) == seconds
