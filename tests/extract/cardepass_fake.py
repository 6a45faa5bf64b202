"""A scripted cardepass behind ``httpx.MockTransport``, and small answer builders."""

from __future__ import annotations

import asyncio
from collections import defaultdict
from collections.abc import Callable
from typing import Any

import httpx
import orjson

BASE_URL = "https://api.cardepass.test/openapi"
CLIENT_ID = "client-id-1"
CLIENT_SECRET = "s3cret-VALUE-never-shown"

Answer = Callable[[httpx.Request], httpx.Response]


def envelope(data: Any = None, *, response_id: str = "rid-1", **extra: Any) -> dict[str, Any]:
    """A success envelope as cardepass sends it."""
    return {
        "data": data,
        "responseId": response_id,
        "hasError": False,
        "errorCode": None,
        "errorMessage": None,
        **extra,
    }


def error_envelope(code: str, message: str, *, response_id: str = "rid-err") -> dict[str, Any]:
    return {
        "data": None,
        "responseId": response_id,
        "hasError": True,
        "errorCode": code,
        "errorMessage": message,
    }


def reply(
    status: int = 200,
    body: Any = None,
    *,
    content: bytes | None = None,
    headers: dict[str, str] | None = None,
) -> Answer:
    """A factory of fresh responses (a Response object must not be served twice)."""
    raw = content if content is not None else orjson.dumps(body)

    def answer(request: httpx.Request) -> httpx.Response:
        return httpx.Response(status, content=raw, headers=headers, request=request)

    return answer


def fail_with(exc_type: type[httpx.RequestError], message: str = "boom") -> Answer:
    def answer(request: httpx.Request) -> httpx.Response:
        raise exc_type(message, request=request)

    return answer


class FakeCardepass:
    """A scripted server: a real token endpoint and per-path queues of answers.

    Each path's queue is consumed in order; its last answer repeats. Requests with a
    token the server did not issue (or revoked) get a bare 401 ``{}``.
    """

    def __init__(self) -> None:
        self.token_requests: list[httpx.Request] = []
        self.api_requests: list[httpx.Request] = []
        self.valid_tokens: set[str] = set()
        self.token_answers: list[Answer] = []
        self.answers: dict[str, list[Answer]] = defaultdict(list)
        self.token_delay = 0.0
        self.api_delay = 0.0
        self.expires_in = 3600
        self._issued = 0

    def on(self, path: str, *answers: Answer) -> None:
        self.answers["/openapi" + path].extend(answers)

    def revoke_all(self) -> None:
        self.valid_tokens.clear()

    async def __call__(self, request: httpx.Request) -> httpx.Response:
        if request.url.path == "/openapi/connect/token":
            self.token_requests.append(request)
            if self.token_delay:
                await asyncio.sleep(self.token_delay)
            if self.token_answers:
                return self.token_answers.pop(0)(request)
            self._issued += 1
            token = f"tok-{self._issued}-SECRETTOKEN"
            self.valid_tokens.add(token)
            body = {
                "access_token": token,
                "expires_in": self.expires_in,
                "token_type": "Bearer",
                "scope": "card",
            }
            return httpx.Response(200, json=body, request=request)
        self.api_requests.append(request)
        if self.api_delay:
            await asyncio.sleep(self.api_delay)
        token = request.headers.get("Authorization", "").removeprefix("Bearer ")
        if token not in self.valid_tokens:
            return httpx.Response(401, json={}, request=request)
        queue = self.answers.get(request.url.path)
        if not queue:
            return httpx.Response(404, json=error_envelope("NOT_FOUND", "no route"))
        answer = queue.pop(0) if len(queue) > 1 else queue[0]
        return answer(request)


class Sleeps:
    """An injectable sleep that records the delays instead of waiting."""

    def __init__(self) -> None:
        self.delays: list[float] = []

    async def __call__(self, seconds: float) -> None:
        self.delays.append(seconds)
