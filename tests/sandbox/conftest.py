"""Fixtures for the sandbox's HTTP tests: a tiny world and an API client over ASGI."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator, Callable
from datetime import UTC, datetime
from typing import Any

import httpx
import orjson
import pytest
from starlette.applications import Starlette

from sandbox.app import create_app
from sandbox.world import World

END = datetime(2026, 11, 1, tzinfo=UTC)
CREDENTIALS = {
    "grant_type": "client_credentials",
    "client_id": "sandbox",
    "client_secret": "sandbox-secret",
}


def tiny_world(seed: int = 1) -> World:
    return World.create(seed=seed, size="tiny", end=END)


class Api:
    """An httpx client on one sandbox app that logs in and sends the bearer token."""

    def __init__(self, client: httpx.AsyncClient, app: Starlette, dialect: str) -> None:
        self.client = client
        self.app = app
        self.dialect = dialect
        self.token: str | None = None

    @property
    def world(self) -> World:
        world: World = self.app.state.sandbox.world
        return world

    @property
    def log(self) -> list[dict[str, Any]]:
        requests: list[dict[str, Any]] = self.app.state.sandbox.requests
        return requests

    async def login(self) -> str:
        form = dict(CREDENTIALS)
        if self.dialect == "v1.4":
            form["scope"] = "openapi"
        r = await self.client.post("/connect/token", data=form)
        assert r.status_code == 200, r.text
        self.token = str(r.json()["access_token"])
        return self.token

    def _headers(self) -> dict[str, str]:
        return {} if self.token is None else {"Authorization": f"Bearer {self.token}"}

    async def get(self, path: str, **params: Any) -> httpx.Response:
        return await self.client.get(path, params=params, headers=self._headers())

    async def post(self, path: str, body: Any) -> httpx.Response:
        content = body if isinstance(body, bytes) else orjson.dumps(body)
        headers = {**self._headers(), "Content-Type": "application/json"}
        return await self.client.post(path, content=content, headers=headers)

    async def data(self, path: str, **params: Any) -> Any:
        """GET and return the envelope's ``data`` after checking it is a success."""
        r = await self.get(path, **params)
        assert r.status_code == 200, r.text
        body = r.json()
        assert body["hasError"] is False, body
        return body["data"]

    async def admin(self, method: str, path: str, body: Any = None) -> httpx.Response:
        kwargs: dict[str, Any] = {} if body is None else {"content": orjson.dumps(body)}
        return await self.client.request(method, f"http://sandbox{path}", **kwargs)


ApiFactory = Callable[..., contextlib.AbstractAsyncContextManager[Api]]


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


@pytest.fixture
def make_api() -> ApiFactory:
    """``async with make_api(dialect, world=..., login=True, **create_app_kw) as api``."""

    @contextlib.asynccontextmanager
    async def make(
        dialect: str = "v2.0", *, world: World | None = None, login: bool = True, **kw: Any
    ) -> AsyncIterator[Api]:
        app = create_app(world or tiny_world(), dialect=dialect, **kw)
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(
            transport=transport, base_url="http://sandbox/openapi"
        ) as client:
            api = Api(client, app, dialect)
            if login:
                await api.login()
            yield api

    return make
