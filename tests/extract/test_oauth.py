"""The OAuth2 client-credentials flow: token fetch, caching, refresh, 401 retry, errors."""

from __future__ import annotations

import asyncio
import pickle
from collections.abc import Callable
from typing import Any
from urllib.parse import parse_qs

import httpx
import pytest
from cardepass_fake import (
    BASE_URL,
    CLIENT_ID,
    CLIENT_SECRET,
    FakeCardepass,
    envelope,
    reply,
)

from extract.auth import ClientCredentials, OAuth2ClientCredentials, Secret
from extract.client import CardepassClient
from extract.errors import AuthError, ProtocolError, RateLimited, ServerError, Unauthorized

API_URL = BASE_URL + "/v1/ping"


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def token_response(token: str = "tok-A", expires_in: Any = 3600, **extra: Any) -> httpx.Response:
    body = {"access_token": token, "expires_in": expires_in, "token_type": "Bearer", **extra}
    return httpx.Response(200, json=body)


def form(request: httpx.Request) -> dict[str, list[str]]:
    return parse_qs(request.content.decode())


def make_auth(
    credentials: ClientCredentials, clock: Callable[[], float] | None = None, **kw: Any
) -> OAuth2ClientCredentials:
    return OAuth2ClientCredentials(credentials, BASE_URL, clock=clock or Clock(), **kw)


# -- the generator, driven by hand ---------------------------------------------------------


def test_first_request_fetches_a_token_then_sends_the_call_with_bearer(
    credentials: ClientCredentials,
) -> None:
    auth = make_auth(credentials)
    flow = auth.auth_flow(httpx.Request("GET", API_URL))

    token_request = next(flow)
    assert token_request.method == "POST"
    assert str(token_request.url) == BASE_URL + "/connect/token"
    assert token_request.headers["Content-Type"] == "application/x-www-form-urlencoded"
    assert form(token_request) == {
        "grant_type": ["client_credentials"],
        "client_id": [CLIENT_ID],
        "client_secret": [CLIENT_SECRET],
    }
    assert "Authorization" not in token_request.headers

    api_request = flow.send(token_response("tok-A"))
    assert api_request.headers["Authorization"] == "Bearer tok-A"
    with pytest.raises(StopIteration):
        flow.send(httpx.Response(200, json=envelope("Ping Success")))


def test_scope_is_sent_only_when_configured(credentials: ClientCredentials) -> None:
    with_scope = next(
        make_auth(credentials, scope="openapi").auth_flow(httpx.Request("GET", API_URL))
    )
    without = next(make_auth(credentials).auth_flow(httpx.Request("GET", API_URL)))
    assert form(with_scope)["scope"] == ["openapi"]
    assert "scope" not in form(without)


def test_cached_token_is_reused_without_a_token_request(credentials: ClientCredentials) -> None:
    auth = make_auth(credentials)
    flow = auth.auth_flow(httpx.Request("GET", API_URL))
    next(flow)
    flow.send(token_response("tok-A"))

    second = auth.auth_flow(httpx.Request("GET", API_URL))
    assert next(second).headers["Authorization"] == "Bearer tok-A"
    assert auth.token_requests == 1


def test_token_is_refreshed_refresh_margin_seconds_before_expiry(
    credentials: ClientCredentials,
) -> None:
    clock = Clock()
    auth = make_auth(credentials, clock, refresh_margin=60)
    flow = auth.auth_flow(httpx.Request("GET", API_URL))
    next(flow)
    flow.send(token_response("tok-A", expires_in=3600))

    clock.now += 3600 - 61  # still outside the margin: reuse
    assert next(auth.auth_flow(httpx.Request("GET", API_URL))).headers["Authorization"] == (
        "Bearer tok-A"
    )
    clock.now += 2  # now inside the last 60 s: refresh before using it
    flow = auth.auth_flow(httpx.Request("GET", API_URL))
    assert next(flow).url.path == "/openapi/connect/token"
    assert flow.send(token_response("tok-B")).headers["Authorization"] == "Bearer tok-B"


@pytest.mark.parametrize("expires_in", [60, "60"])
def test_short_lived_token_margin_is_capped_at_half_its_life(
    credentials: ClientCredentials, expires_in: Any
) -> None:
    clock = Clock()
    auth = make_auth(credentials, clock, refresh_margin=60)
    flow = auth.auth_flow(httpx.Request("GET", API_URL))
    next(flow)
    flow.send(token_response("tok-A", expires_in=expires_in))
    clock.now += 29
    assert auth.has_fresh_token
    clock.now += 2
    assert not auth.has_fresh_token


def test_401_refreshes_exactly_once_and_retries_once(credentials: ClientCredentials) -> None:
    auth = make_auth(credentials)
    flow = auth.auth_flow(httpx.Request("GET", API_URL))
    next(flow)
    first = flow.send(token_response("tok-A"))
    assert first.headers["Authorization"] == "Bearer tok-A"

    refresh = flow.send(httpx.Response(401, json={}))
    assert refresh.url.path == "/openapi/connect/token"
    retried = flow.send(token_response("tok-B"))
    assert retried.headers["Authorization"] == "Bearer tok-B"
    with pytest.raises(StopIteration):  # a second 401 goes back to the caller
        flow.send(httpx.Response(401, json={}))
    assert auth.token_requests == 2


@pytest.mark.parametrize(
    ("status", "error"),
    [(401, "invalid_client"), (400, "invalid_grant"), (400, "invalid_scope")],
)
def test_oauth_errors_raise_auth_error_with_code_and_hint(
    credentials: ClientCredentials, status: int, error: str
) -> None:
    flow = make_auth(credentials).auth_flow(httpx.Request("GET", API_URL))
    next(flow)
    body = {"error": error, "error_description": f"rejected client_secret={CLIENT_SECRET}"}
    with pytest.raises(AuthError) as caught:
        flow.send(httpx.Response(status, json=body))
    assert caught.value.error == error
    assert caught.value.status == status
    assert not caught.value.transient
    text = str(caught.value)
    assert error in text
    assert "CARDEPASS_CLIENT_ID / CARDEPASS_CLIENT_SECRET" in text
    assert CLIENT_SECRET not in text


def test_token_endpoint_without_oauth_body_still_raises_auth_error(
    credentials: ClientCredentials,
) -> None:
    flow = make_auth(credentials).auth_flow(httpx.Request("GET", API_URL))
    next(flow)
    with pytest.raises(AuthError) as caught:
        flow.send(httpx.Response(401, content=b"{}"))
    assert caught.value.error == "http_401"


@pytest.mark.parametrize(
    ("status", "expected"), [(500, ServerError), (503, ServerError), (429, RateLimited)]
)
def test_token_endpoint_overload_is_a_transient_status_error(
    credentials: ClientCredentials, status: int, expected: type[Exception]
) -> None:
    flow = make_auth(credentials).auth_flow(httpx.Request("GET", API_URL))
    next(flow)
    with pytest.raises(expected) as caught:
        flow.send(httpx.Response(status, text="busy", headers={"Retry-After": "2"}))
    assert getattr(caught.value, "transient", False)
    assert getattr(caught.value, "retry_after", None) == 2.0


@pytest.mark.parametrize(
    "body",
    [
        {"expires_in": 3600, "token_type": "Bearer"},
        {"access_token": "", "token_type": "Bearer"},
        {"access_token": "abc", "token_type": "MAC"},
    ],
)
def test_unusable_token_reply_is_a_protocol_error(
    credentials: ClientCredentials, body: dict[str, Any]
) -> None:
    flow = make_auth(credentials).auth_flow(httpx.Request("GET", API_URL))
    next(flow)
    with pytest.raises(ProtocolError):
        flow.send(httpx.Response(200, json=body))


@pytest.mark.anyio
async def test_async_flow_driven_by_hand(credentials: ClientCredentials) -> None:
    auth = make_auth(credentials)
    flow = auth.async_auth_flow(httpx.Request("GET", API_URL))
    token_request = await flow.__anext__()
    assert token_request.url.path == "/openapi/connect/token"
    api_request = await flow.asend(token_response("tok-A"))
    assert api_request.headers["Authorization"] == "Bearer tok-A"
    refresh = await flow.asend(httpx.Response(401, json={}))
    assert refresh.url.path == "/openapi/connect/token"
    retried = await flow.asend(token_response("tok-B"))
    assert retried.headers["Authorization"] == "Bearer tok-B"
    with pytest.raises(StopAsyncIteration):
        await flow.asend(httpx.Response(200, json=envelope()))


# -- through httpx.MockTransport ------------------------------------------------------------


@pytest.mark.anyio
async def test_many_concurrent_requests_cause_one_token_request(
    fake: FakeCardepass, make_api: Callable[..., CardepassClient]
) -> None:
    fake.token_delay = 0.01
    fake.on("/v1/products", reply(200, envelope([])))
    async with make_api() as api:
        results = await asyncio.gather(*(api.get_json("/v1/products") for _ in range(25)))
    assert len(results) == 25
    assert len(fake.token_requests) == 1


@pytest.mark.anyio
async def test_many_concurrent_401s_cause_one_refresh(
    fake: FakeCardepass, make_api: Callable[..., CardepassClient]
) -> None:
    fake.on("/v1/products", reply(200, envelope([])))
    async with make_api() as api:
        await api.get_json("/v1/products")
        fake.revoke_all()  # every request in flight will now meet a 401
        fake.api_delay = 0.01
        results = await asyncio.gather(*(api.get_json("/v1/products") for _ in range(20)))
    assert all(r.status == 200 for r in results)
    assert len(fake.token_requests) == 2  # the first token and exactly one refresh


@pytest.mark.anyio
async def test_persistent_401_becomes_unauthorized_after_one_refresh(
    fake: FakeCardepass, make_api: Callable[..., CardepassClient]
) -> None:
    fake.on("/v1/products", reply(401, {}))
    async with make_api() as api:
        with pytest.raises(Unauthorized) as caught:
            await api.get_json("/v1/products")
    assert len(fake.token_requests) == 2
    assert len(fake.api_requests) == 2
    assert "CARDEPASS_CLIENT_ID" in str(caught.value)
    assert "SECRETTOKEN" not in str(caught.value)


@pytest.mark.anyio
async def test_invalid_client_surfaces_from_get_json_without_retry(
    fake: FakeCardepass, make_api: Callable[..., CardepassClient]
) -> None:
    fake.token_answers.append(reply(401, {"error": "invalid_client"}))
    async with make_api() as api:
        with pytest.raises(AuthError, match="invalid_client"):
            await api.get_json("/v1/ping")
    assert len(fake.token_requests) == 1


@pytest.mark.anyio
async def test_token_endpoint_503_is_retried_by_the_client(
    fake: FakeCardepass, make_api: Callable[..., CardepassClient]
) -> None:
    fake.token_answers.append(reply(503, {}))
    fake.on("/v1/ping", reply(200, "Ping Success"))
    async with make_api() as api:
        response = await api.get_json("/v1/ping", envelope=False)
    assert response.body == "Ping Success"
    assert len(fake.token_requests) == 2


def test_auth_survives_several_event_loops(
    fake: FakeCardepass, credentials: ClientCredentials
) -> None:
    auth = OAuth2ClientCredentials(credentials, BASE_URL)
    fake.on("/v1/ping", reply(200, "Ping Success"))
    fake.token_delay = 0.001

    async def burst() -> None:
        async with httpx.AsyncClient(auth=auth, transport=httpx.MockTransport(fake)) as http:
            auth.invalidate()
            await asyncio.gather(*(http.get(API_URL) for _ in range(5)))

    asyncio.run(burst())
    asyncio.run(burst())
    assert len(fake.token_requests) == 2


# -- secrets stay secret --------------------------------------------------------------------


def test_secret_and_credentials_never_show_the_secret(credentials: ClientCredentials) -> None:
    auth = make_auth(credentials)
    for text in (
        repr(credentials),
        str(credentials),
        repr(credentials.client_secret),
        str(credentials.client_secret),
        f"{credentials.client_secret}",
        repr(auth),
    ):
        assert CLIENT_SECRET not in text
    assert CLIENT_ID in repr(credentials)
    assert credentials.client_secret.get_secret_value() == CLIENT_SECRET
    assert pickle.loads(pickle.dumps(credentials.client_secret)) == Secret(CLIENT_SECRET)


@pytest.mark.parametrize(("client_id", "secret"), [("", "x"), ("id", "")])
def test_empty_credentials_are_refused(client_id: str, secret: str) -> None:
    with pytest.raises(ValueError, match="CARDEPASS_CLIENT"):
        ClientCredentials(client_id, secret)


@pytest.mark.anyio
async def test_client_refreshes_proactively_with_an_injected_clock(
    fake: FakeCardepass, make_api: Callable[..., CardepassClient]
) -> None:
    clock = Clock()
    fake.on("/v1/products", reply(200, envelope([])))
    async with make_api(clock=clock) as api:
        await api.get_json("/v1/products")
        clock.now += 3000
        await api.get_json("/v1/products")
        assert len(fake.token_requests) == 1
        clock.now += 600  # 3600 s after the first token: inside the 60 s margin
        await api.get_json("/v1/products")
    assert len(fake.token_requests) == 2
    assert fake.api_requests[-1].headers["Authorization"].startswith("Bearer tok-2")
    assert len(fake.api_requests) == 3  # refreshed before use: no request met a 401


@pytest.mark.anyio
async def test_a_cancelled_token_fetch_does_not_leave_the_lock_held(
    fake: FakeCardepass, make_api: Callable[..., CardepassClient]
) -> None:
    fake.on("/v1/products", reply(200, envelope([])))
    fake.token_delay = 10.0
    async with make_api() as api:
        stuck = asyncio.create_task(api.get_json("/v1/products"))
        await asyncio.sleep(0.01)  # the task now holds the lock, waiting for the token
        stuck.cancel()
        with pytest.raises(asyncio.CancelledError):
            await stuck
        fake.token_delay = 0.0
        response = await asyncio.wait_for(api.get_json("/v1/products"), timeout=2)
    assert response.status == 200
