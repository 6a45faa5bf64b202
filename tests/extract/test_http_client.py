"""The client factory and get_json: typed errors, protocol checks, retries, redaction."""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import UTC, datetime

import httpx
import pytest
from cardepass_fake import (
    CLIENT_SECRET,
    FakeCardepass,
    Sleeps,
    envelope,
    error_envelope,
    fail_with,
    reply,
)

from extract.auth import ClientCredentials
from extract.client import CardepassClient, make_client, validate_base_url
from extract.errors import (
    ApiConnectionError,
    ApiStatusError,
    ApiTimeout,
    BadRequest,
    Forbidden,
    NotFound,
    ProtocolError,
    RateLimited,
    ServerError,
    Unauthorized,
)

ApiFactory = Callable[..., CardepassClient]

# -- base URL ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "url",
    [
        "https://test.cardepass.com/openapi",
        "https://cardepass.com/openapi/",
        "http://127.0.0.1:8765/openapi",
        "http://127.9.9.9/openapi",
        "http://[::1]:8000/openapi",
        "http://localhost:8000/openapi",
    ],
)
def test_https_and_loopback_http_base_urls_are_accepted(url: str) -> None:
    assert validate_base_url(url).host


@pytest.mark.parametrize(
    ("url", "reason"),
    [
        ("http://test.cardepass.com/openapi", "must use https"),
        ("http://10.0.0.5/openapi", "must use https"),
        ("http://localhost.evil.com/openapi", "must use https"),
        ("ftp://cardepass.com/openapi", "absolute https"),
        ("cardepass.com/openapi", "absolute https"),
        ("https://user:pw@cardepass.com/openapi", "must not contain a user"),
        ("https://cardepass.com/openapi?client_secret=x", "query"),
    ],
)
def test_other_base_urls_are_refused_with_a_clear_message(url: str, reason: str) -> None:
    with pytest.raises(ValueError, match=reason) as caught:
        make_client(url, ClientCredentials("id", "secret"))
    assert "client_secret=x" not in str(caught.value)
    assert ":pw@" not in str(caught.value)


# -- statuses and envelopes ------------------------------------------------------------------


@pytest.mark.anyio
@pytest.mark.parametrize(
    ("status", "expected"),
    [
        (400, BadRequest),
        (403, Forbidden),
        (404, NotFound),
        (409, ApiStatusError),
        (429, RateLimited),
        (500, ServerError),
        (502, ServerError),
        (503, ServerError),
    ],
)
async def test_each_status_becomes_its_error_type(
    fake: FakeCardepass, make_api: ApiFactory, status: int, expected: type[ApiStatusError]
) -> None:
    fake.on("/v1/cards/c1", reply(status, error_envelope("SOME_CODE", "went wrong")))
    async with make_api(retry_attempts=0) as api:
        with pytest.raises(expected) as caught:
            await api.get_json("/v1/cards/c1")
    error = caught.value
    assert type(error) is expected
    assert error.status == status
    assert error.code == "SOME_CODE"
    assert error.transient == (status in (429,) or status >= 500)


@pytest.mark.anyio
async def test_envelope_errors_carry_the_response_id(
    fake: FakeCardepass, make_api: ApiFactory
) -> None:
    body = error_envelope("CARD_NOT_FOUND", "Card does not exist", response_id="9f1c-77")
    fake.on("/v1/cards/nope", reply(404, body))
    async with make_api() as api:
        with pytest.raises(NotFound) as caught:
            await api.get_json("/v1/cards/nope")
    assert caught.value.response_id == "9f1c-77"
    assert caught.value.code == "CARD_NOT_FOUND"
    assert caught.value.message == "Card does not exist"
    text = str(caught.value)
    assert "responseId 9f1c-77" in text
    assert "GET /v1/cards/nope" in text
    assert len(fake.api_requests) == 1  # a 404 is never retried


@pytest.mark.anyio
@pytest.mark.parametrize(
    ("code", "expected"), [("INSUFFICIENT_BALANCE", BadRequest), ("ORDER_NOT_FOUND", NotFound)]
)
async def test_error_envelope_with_http_200_is_still_an_error(
    fake: FakeCardepass, make_api: ApiFactory, code: str, expected: type[ApiStatusError]
) -> None:
    fake.on("/v1/orders/standard", reply(200, error_envelope(code, "no")))
    async with make_api() as api:
        with pytest.raises(expected) as caught:
            await api.get_json("/v1/orders/standard", {"OrderNo": "X"})
    assert caught.value.status == 200
    assert caught.value.response_id == "rid-err"
    assert not caught.value.transient


@pytest.mark.anyio
async def test_html_with_200_is_a_protocol_error_and_not_retried(
    fake: FakeCardepass, make_api: ApiFactory, sleeps: Sleeps
) -> None:
    html = b"<!DOCTYPE html><html><body>Please log in</body></html>"
    fake.on("/v1/products", reply(200, content=html, headers={"Content-Type": "text/html"}))
    async with make_api() as api:
        with pytest.raises(ProtocolError, match="HTML instead of JSON") as caught:
            await api.get_json("/v1/products")
    assert not caught.value.transient
    assert caught.value.excerpt is not None and "Please log in" in caught.value.excerpt
    assert sleeps.delays == []


@pytest.mark.anyio
async def test_truncated_json_is_a_transient_protocol_error(
    fake: FakeCardepass, make_api: ApiFactory, sleeps: Sleeps
) -> None:
    truncated = b'{"data": [{"cardId": "c1", "cvv": "123"}, {"cardId": "c'
    fake.on("/v1/products", reply(200, content=truncated))
    async with make_api(retry_attempts=2) as api:
        with pytest.raises(ProtocolError, match="truncated JSON") as caught:
            await api.get_json("/v1/products")
    assert caught.value.transient
    assert len(fake.api_requests) == 3
    assert '"123"' not in str(caught.value)  # the excerpt is redacted


@pytest.mark.anyio
async def test_truncated_json_then_good_body_recovers(
    fake: FakeCardepass, make_api: ApiFactory
) -> None:
    fake.on("/v1/products", reply(200, content=b'{"data": ['), reply(200, envelope([])))
    async with make_api() as api:
        response = await api.get_json("/v1/products")
    assert response.data == []
    assert response.attempts == 2


@pytest.mark.anyio
async def test_missing_envelope_fields_are_a_protocol_error(
    fake: FakeCardepass, make_api: ApiFactory
) -> None:
    fake.on("/v1/accounts", reply(200, {"accountBalance": 1}))
    async with make_api() as api:
        with pytest.raises(ProtocolError, match="envelope field"):
            await api.get_json("/v1/accounts")


@pytest.mark.anyio
async def test_bare_json_is_accepted_when_no_envelope_is_expected(
    fake: FakeCardepass, make_api: ApiFactory
) -> None:
    fake.on("/v1/ping", reply(200, "Ping Success"))
    async with make_api() as api:
        response = await api.get_json("/v1/ping", envelope=False)
    assert response.body == "Ping Success"
    assert response.data == "Ping Success"
    assert response.response_id is None


@pytest.mark.anyio
async def test_redirect_is_not_followed(fake: FakeCardepass, make_api: ApiFactory) -> None:
    fake.on("/v1/products", reply(302, {}, headers={"Location": "http://elsewhere.test/x"}))
    async with make_api() as api:
        with pytest.raises(ProtocolError, match="redirected"):
            await api.get_json("/v1/products")
    assert len(fake.api_requests) == 1


@pytest.mark.anyio
async def test_response_keeps_params_as_sent_raw_bytes_and_response_id(
    fake: FakeCardepass, make_api: ApiFactory
) -> None:
    fake.on("/v1/transactions", reply(200, envelope([{"id": "t1"}], response_id="abc-123")))
    moment = datetime(2025, 1, 2, 3, 4, 5, tzinfo=UTC)
    async with make_api(now=lambda: moment) as api:
        response = await api.get_json(
            "/v1/transactions", {"CardId": "c1", "PageSize": 100, "PageCursor": None}
        )
    assert response.params == {"CardId": "c1", "PageSize": "100"}
    assert response.response_id == "abc-123"
    assert response.data == [{"id": "t1"}]
    assert response.content.startswith(b'{"data"')
    assert response.fetched_at == moment
    assert response.status == 200
    assert response.attempts == 1
    assert fake.api_requests[0].url.params["PageSize"] == "100"


# -- retries ---------------------------------------------------------------------------------


@pytest.mark.anyio
async def test_500_is_retried_with_exponential_backoff(
    fake: FakeCardepass, make_api: ApiFactory, sleeps: Sleeps
) -> None:
    fake.on("/v1/products", reply(500, {}), reply(500, {}), reply(200, envelope([])))
    async with make_api() as api:
        response = await api.get_json("/v1/products")
    assert response.attempts == 3
    assert sleeps.delays == [0.5, 1.0]


@pytest.mark.anyio
async def test_backoff_is_capped_and_gives_up_after_retry_attempts(
    fake: FakeCardepass, make_api: ApiFactory, sleeps: Sleeps
) -> None:
    fake.on("/v1/products", reply(502, {}))
    async with make_api(backoff_max=2.0) as api:
        with pytest.raises(ServerError):
            await api.get_json("/v1/products")
    assert sleeps.delays == [0.5, 1.0, 2.0, 2.0, 2.0, 2.0]
    assert len(fake.api_requests) == 7


@pytest.mark.anyio
async def test_backoff_uses_full_jitter(
    fake: FakeCardepass, make_api: ApiFactory, sleeps: Sleeps
) -> None:
    fake.on("/v1/products", reply(500, {}), reply(500, {}), reply(200, envelope([])))
    async with make_api(random=lambda: 0.25) as api:
        await api.get_json("/v1/products")
    assert sleeps.delays == [0.125, 0.25]


@pytest.mark.anyio
async def test_timeouts_are_retried_then_raised_as_api_timeout(
    fake: FakeCardepass, make_api: ApiFactory, sleeps: Sleeps
) -> None:
    fake.on("/v1/products", fail_with(httpx.ReadTimeout))
    async with make_api(retry_attempts=3) as api:
        with pytest.raises(ApiTimeout) as caught:
            await api.get_json("/v1/products")
    assert caught.value.transient
    assert len(fake.api_requests) == 4
    assert sleeps.delays == [0.5, 1.0, 2.0]


@pytest.mark.anyio
async def test_timeout_then_success(fake: FakeCardepass, make_api: ApiFactory) -> None:
    fake.on("/v1/products", fail_with(httpx.ConnectTimeout), reply(200, envelope([])))
    async with make_api() as api:
        assert (await api.get_json("/v1/products")).attempts == 2


@pytest.mark.anyio
async def test_connection_errors_become_api_connection_error(
    fake: FakeCardepass, make_api: ApiFactory
) -> None:
    fake.on("/v1/products", fail_with(httpx.ConnectError, "connection refused"))
    async with make_api(retry_attempts=1) as api:
        with pytest.raises(ApiConnectionError, match="connection refused") as caught:
            await api.get_json("/v1/products")
    assert not isinstance(caught.value, ApiTimeout)
    assert caught.value.transient


@pytest.mark.anyio
@pytest.mark.parametrize("status", [429, 503])
async def test_retry_after_is_honoured_exactly(
    fake: FakeCardepass, make_api: ApiFactory, sleeps: Sleeps, status: int
) -> None:
    fake.on(
        "/v1/products",
        reply(status, {}, headers={"Retry-After": "7"}),
        reply(200, envelope([])),
    )
    async with make_api() as api:
        await api.get_json("/v1/products")
    assert sleeps.delays == [7.0]


@pytest.mark.anyio
async def test_429_without_retry_after_uses_backoff_and_calls_the_hook(
    fake: FakeCardepass, make_api: ApiFactory, sleeps: Sleeps
) -> None:
    seen: list[RateLimited] = []
    fake.on("/v1/products", reply(429, {}), reply(429, {}), reply(200, envelope([])))
    async with make_api(on_rate_limited=seen.append) as api:
        await api.get_json("/v1/products")
    assert sleeps.delays == [0.5, 1.0]
    assert [e.status for e in seen] == [429, 429]
    assert all(e.retry_after is None for e in seen)


@pytest.mark.anyio
async def test_async_rate_limit_hook_is_awaited(fake: FakeCardepass, make_api: ApiFactory) -> None:
    seen: list[float | None] = []

    async def slow_down(error: RateLimited) -> None:
        seen.append(error.retry_after)

    fake.on(
        "/v1/products", reply(429, {}, headers={"Retry-After": "1.5"}), reply(200, envelope([]))
    )
    async with make_api(on_rate_limited=slow_down) as api:
        await api.get_json("/v1/products")
    assert seen == [1.5]


@pytest.mark.anyio
async def test_retry_after_longer_than_the_maximum_is_not_waited_for(
    fake: FakeCardepass, make_api: ApiFactory, sleeps: Sleeps
) -> None:
    fake.on("/v1/products", reply(429, {}, headers={"Retry-After": "3600"}))
    async with make_api(retry_after_max=60) as api:
        with pytest.raises(RateLimited) as caught:
            await api.get_json("/v1/products")
    assert caught.value.retry_after == 3600
    assert sleeps.delays == []


@pytest.mark.anyio
@pytest.mark.parametrize(
    ("status", "expected"), [(400, BadRequest), (403, Forbidden), (404, NotFound)]
)
async def test_business_4xx_are_never_retried(
    fake: FakeCardepass,
    make_api: ApiFactory,
    sleeps: Sleeps,
    status: int,
    expected: type[Exception],
) -> None:
    fake.on("/v1/products", reply(status, error_envelope("X", "no")), reply(200, envelope([])))
    async with make_api() as api:
        with pytest.raises(expected):
            await api.get_json("/v1/products")
    assert len(fake.api_requests) == 1
    assert sleeps.delays == []


# -- secrets in errors and logs --------------------------------------------------------------


@pytest.mark.anyio
async def test_no_secret_or_token_in_errors_or_debug_logs(
    fake: FakeCardepass, make_api: ApiFactory, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG, logger="extract")
    fake.on(
        "/v1/products",
        reply(500, {"errorMessage": "failed for Bearer tok-1-SECRETTOKEN"}),
        reply(200, envelope([])),
    )
    fake.on("/v1/cards/x", reply(401, {}))
    errors: list[Exception] = []
    async with make_api() as api:
        await api.get_json("/v1/products")
        try:
            await api.get_json("/v1/cards/x")
        except Unauthorized as exc:
            errors.append(exc)
    assert errors
    assert "retry 1/6" in caplog.text
    assert "'authorization': '***'" in caplog.text  # headers were logged, masked
    for text in [caplog.text, *(str(e) for e in errors), *(repr(e) for e in errors)]:
        assert CLIENT_SECRET not in text
        assert "SECRETTOKEN" not in text
    assert fake.token_requests  # the secret was really sent, just never shown
    assert CLIENT_SECRET in fake.token_requests[0].content.decode()


def test_client_rejects_negative_retry_settings() -> None:
    http = httpx.AsyncClient()
    with pytest.raises(ValueError, match="retry_attempts"):
        CardepassClient(http, retry_attempts=-1)


@pytest.mark.parametrize(
    ("header", "expected"),
    [
        ("Wed, 02 Dec 2026 03:21:20 GMT", datetime(2026, 12, 2, 3, 21, 20, tzinfo=UTC)),
        ("Wed, 02 Dec 2026 11:21:20 +0800", datetime(2026, 12, 2, 3, 21, 20, tzinfo=UTC)),
        ("Wed, 02 Dec 2026 03:21:20 -0000", datetime(2026, 12, 2, 3, 21, 20, tzinfo=UTC)),
        (None, None),
        ("", None),
        ("yesterday", None),
    ],
)
def test_the_date_header_is_the_service_clock(header: str | None, expected: datetime) -> None:
    from extract.client import parse_date_header

    assert parse_date_header(header) == expected


@pytest.mark.anyio
async def test_a_reply_carries_the_service_clock_beside_ours(
    fake: FakeCardepass, make_api: ApiFactory
) -> None:
    fake.on(
        "/v1/accounts",
        lambda request: httpx.Response(
            200,
            json={"data": [], "hasError": False, "responseId": "r"},
            headers={"Date": "Wed, 02 Dec 2026 03:21:20 GMT"},
        ),
    )
    async with make_api() as api:
        resp = await api.get_json("/v1/accounts")
    assert resp.service_at == datetime(2026, 12, 2, 3, 21, 20, tzinfo=UTC)
    assert resp.fetched_at != resp.service_at  # ours, kept beside it
