"""Tokens: the client-credentials grant, bearer checks, expiry, revocation, the log."""

from __future__ import annotations

import asyncio
import logging
from typing import Any

import httpx
import orjson
import pytest

from sandbox.app import create_app
from sandbox.server import serve_in_thread
from sandbox.world import World

ApiFactory = Any  # the ``make_api`` fixture (conftest.py)
ENVELOPE = {"data", "responseId", "hasError", "errorCode", "errorMessage"}
CREDENTIALS = {
    "grant_type": "client_credentials",
    "client_id": "sandbox",
    "client_secret": "sandbox-secret",
}


@pytest.mark.anyio
@pytest.mark.parametrize(("dialect", "scope"), [("v2.0", "card"), ("v1.4", "openapi")])
async def test_token_reply_is_an_oauth_bearer_token(
    make_api: ApiFactory, dialect: str, scope: str
) -> None:
    async with make_api(dialect, login=False, token_ttl=120) as api:
        form = {**CREDENTIALS, "scope": "openapi"} if dialect == "v1.4" else CREDENTIALS
        r = await api.client.post("/connect/token", data=form)
        again = await api.client.post("/connect/token", data=form)
    body = r.json()
    assert r.status_code == 200
    assert set(body) == {"access_token", "expires_in", "token_type", "scope"}
    assert body["expires_in"] == 120 and body["token_type"] == "Bearer"
    assert body["scope"] == scope
    assert len(body["access_token"]) >= 32 and again.json()["access_token"] != body["access_token"]
    assert r.headers["cache-control"] == "no-store"


@pytest.mark.anyio
@pytest.mark.parametrize(
    ("dialect", "form", "status", "error"),
    [
        ("v2.0", {**CREDENTIALS, "client_secret": "wrong"}, 401, "invalid_client"),
        ("v2.0", {**CREDENTIALS, "client_id": "someone"}, 401, "invalid_client"),
        ("v2.0", {"grant_type": "client_credentials"}, 401, "invalid_client"),
        ("v2.0", {**CREDENTIALS, "grant_type": "password"}, 400, "invalid_grant"),
        ("v2.0", {**CREDENTIALS, "grant_type": ""}, 400, "invalid_grant"),
        ("v1.4", {**CREDENTIALS, "scope": "card"}, 400, "invalid_scope"),
        ("v1.4", {**CREDENTIALS, "client_secret": "wrong", "scope": "openapi"}, 401,
         "invalid_client"),
    ],
)  # fmt: skip
async def test_token_errors_are_oauth_errors(
    make_api: ApiFactory, dialect: str, form: dict[str, str], status: int, error: str
) -> None:
    async with make_api(dialect, login=False) as api:
        r = await api.client.post("/connect/token", data=form)
    assert r.status_code == status
    assert r.json()["error"] == error
    assert r.json()["error_description"]
    assert "sandbox-secret" not in r.text


@pytest.mark.anyio
async def test_custom_client_credentials(make_api: ApiFactory) -> None:
    async with make_api(login=False, client_id="acme", client_secret="s3cr3t-value") as api:
        default = await api.client.post("/connect/token", data=CREDENTIALS)
        custom = await api.client.post(
            "/connect/token", data={**CREDENTIALS, "client_id": "acme",
                                    "client_secret": "s3cr3t-value"}
        )  # fmt: skip
    assert default.status_code == 401
    assert custom.status_code == 200


@pytest.mark.anyio
@pytest.mark.parametrize("dialect", ["v2.0", "v1.4"])
@pytest.mark.parametrize(
    ("header", "needle"),
    [
        (None, "Missing"),
        ("Bearer not-a-token", "not valid"),
        ("Basic c2FuZGJveDpzYW5kYm94LXNlY3JldA==", "Missing"),
        ("Bearer ", "Missing"),
    ],
)
async def test_calls_without_a_valid_token_get_401(
    make_api: ApiFactory, dialect: str, header: str | None, needle: str
) -> None:
    async with make_api(dialect, login=False) as api:
        headers = {} if header is None else {"Authorization": header}
        for path in ("/v1/ping", "/v1/products", "/v1/transactions", "/v1/cards/x"):
            r = await api.client.get(path, headers=headers)
            assert r.status_code == 401
            assert r.headers["www-authenticate"] == 'Bearer error="invalid_token"'
            body = r.json()
            assert set(body) == ENVELOPE
            assert body["hasError"] is True and body["errorCode"] == "401"
            assert needle in body["errorMessage"]
        r = await api.client.post("/v1/orders/standard/topup", content=b"{}", headers=headers)
        assert r.status_code == 401


@pytest.mark.anyio
async def test_tokens_expire_after_their_ttl(make_api: ApiFactory) -> None:
    async with make_api(token_ttl=0.2) as api:
        assert (await api.get("/v1/products")).status_code == 200
        await asyncio.sleep(0.25)
        r = await api.get("/v1/products")
        assert r.status_code == 401 and "expired" in r.json()["errorMessage"]
        await api.login()
        assert (await api.get("/v1/products")).status_code == 200


@pytest.mark.anyio
async def test_revoking_tokens_forces_a_new_token(make_api: ApiFactory) -> None:
    async with make_api() as api:
        assert (await api.get("/v1/accounts")).status_code == 200
        r = await api.admin("POST", "/_sandbox/revoke-tokens")
        assert r.json() == {"revoked": 1}
        assert (await api.get("/v1/accounts")).status_code == 401
        await api.login()
        assert (await api.get("/v1/accounts")).status_code == 200


@pytest.mark.anyio
async def test_request_log_records_requests_but_never_secrets(
    make_api: ApiFactory, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="sandbox")
    async with make_api() as api:
        await api.get("/v1/transactions", PageSize=3, CardId="abc")
        await api.client.get("/v1/products")  # no token
        await api.get("/v1/nowhere")
        await api.client.post("/connect/token?client_secret=sandbox-secret&x=1", data=CREDENTIALS)
        await api.admin("GET", "/_sandbox/info")  # admin calls are not logged
        log = (await api.admin("GET", "/_sandbox/requests")).json()
        token = api.token
        assert log == api.log
        assert [(e["method"], e["path"], e["status"]) for e in log] == [
            ("POST", "/connect/token", 200),
            ("GET", "/v1/transactions", 200),
            ("GET", "/v1/products", 401),
            ("GET", "/v1/nowhere", 404),
            ("POST", "/connect/token", 200),
        ]
        assert log[1] == {"method": "GET", "path": "/v1/transactions",
                          "params": {"PageSize": "3", "CardId": "abc"}, "status": 200,
                          "fault": None}  # fmt: skip
        assert log[4]["params"] == {"client_secret": "***", "x": "1"}
        assert token is not None
        for text in (orjson.dumps(log).decode(), caplog.text):
            assert "sandbox-secret" not in text and token not in text
        assert "GET /openapi/v1/transactions?PageSize=3&CardId=abc 200" in caplog.text
        assert "POST /openapi/connect/token?client_secret=***&x=1 200" in caplog.text
        cleared = await api.admin("DELETE", "/_sandbox/requests")
        assert cleared.json() == {"cleared": 5}
        assert (await api.admin("GET", "/_sandbox/requests")).json() == []


def test_serve_in_thread_answers_over_real_http() -> None:
    app = create_app(World.create(seed=1, size="tiny"), dialect="v1.4")
    with serve_in_thread(app) as base_url:
        assert base_url.startswith("http://127.0.0.1:") and base_url.endswith("/openapi")
        with httpx.Client(base_url=base_url, timeout=5) as client:
            r = client.post("/connect/token", data={**CREDENTIALS, "scope": "openapi"})
            assert r.status_code == 200
            headers = {"Authorization": f"Bearer {r.json()['access_token']}"}
            ping = client.get("/v1/ping", headers=headers)
            assert ping.status_code == 200 and ping.json()["data"] == "Ping Success"
            info = client.get(base_url.removesuffix("/openapi") + "/_sandbox/info")
            assert info.json()["dialect"] == "v1.4"
    assert [e["path"] for e in app.state.sandbox.requests] == ["/connect/token", "/v1/ping"]
    with pytest.raises(httpx.ConnectError):
        httpx.get(base_url + "/v1/ping", timeout=1)
