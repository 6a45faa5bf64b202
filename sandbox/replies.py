"""The service's replies: the JSON envelope, its errors, and OAuth's error body."""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from typing import Any

import orjson
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import Response


class ApiError(Exception):
    """An error answered with the envelope (``hasError: true``) and an HTTP status."""

    def __init__(
        self,
        status: int,
        message: str,
        code: str | None = None,
        headers: Mapping[str, str] | None = None,
    ) -> None:
        super().__init__(message)
        self.status = status
        self.code = code or str(status)
        self.message = message
        self.headers = dict(headers or {})


def bad_request(message: str) -> ApiError:
    return ApiError(400, message)


def envelope(data: Any, **extra: Any) -> dict[str, Any]:
    return {
        "data": data,
        **extra,
        "responseId": str(uuid.uuid4()),
        "hasError": False,
        "errorCode": None,
        "errorMessage": None,
    }


def json_response(
    obj: Any, status: int = 200, headers: Mapping[str, str] | None = None
) -> Response:
    return Response(
        orjson.dumps(obj), status_code=status, media_type="application/json", headers=headers
    )


def error_response(err: ApiError) -> Response:
    body = {
        "data": None,
        "responseId": str(uuid.uuid4()),
        "hasError": True,
        "errorCode": err.code,
        "errorMessage": err.message,
    }
    return json_response(body, err.status, err.headers)


def oauth_error(status: int, error: str, description: str) -> Response:
    return json_response(
        {"error": error, "error_description": description},
        status,
        {"Cache-Control": "no-store", "Pragma": "no-cache"},
    )


async def http_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, HTTPException)
    if exc.status_code == 404:
        message = f"No endpoint {request.method} {request.url.path}; see API.md for the routes"
    elif exc.status_code == 405:
        message = f"{request.method} is not allowed on {request.url.path}"
    else:
        message = str(exc.detail)
    return error_response(ApiError(exc.status_code, message, headers=exc.headers))
