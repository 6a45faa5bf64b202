"""ASGI middleware around every request: the request log and the service's clock.

The request log keeps method, path, query parameters, status and the fault that
fired; never headers or bodies, so neither the client secret nor a token reaches it.
"""

from __future__ import annotations

import logging
import re

from starlette.datastructures import QueryParams
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from sandbox import live
from sandbox.state import BASE, CLOCK_KEY, FAULT_KEY, Sandbox

access_log = logging.getLogger("sandbox.access")  # one line per request, params redacted
MAX_LOGGED = 200_000  # request-log entries kept (the oldest half goes when it is full)
_REDACT = re.compile(r"secret|token|password|authorization", re.IGNORECASE)


class RequestLog:
    """ASGI middleware: append one entry per API request to ``sandbox.requests``."""

    def __init__(self, app: ASGIApp, sandbox: Sandbox) -> None:
        self.app = app
        self.sandbox = sandbox

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        path = scope.get("path", "")
        if scope["type"] != "http" or path.startswith("/_sandbox"):
            await self.app(scope, receive, send)
            return
        status = 500

        async def send_status(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
            await send(message)

        try:
            await self.app(scope, receive, send_status)
        finally:
            params = {
                k: ("***" if _REDACT.search(k) else v)
                for k, v in QueryParams(scope.get("query_string", b"")).items()
            }
            entry = {
                "method": scope["method"],
                "path": path[len(BASE) :] if path.startswith(BASE + "/") else path,
                "params": params,
                "status": status,
                "fault": scope.get(FAULT_KEY),
            }
            requests = self.sandbox.requests
            requests.append(entry)
            if len(requests) > MAX_LOGGED:  # a sandbox left running: keep the newest half
                del requests[: MAX_LOGGED // 2]
            if access_log.isEnabledFor(logging.INFO):
                query = "&".join(f"{k}={v}" for k, v in params.items())
                access_log.info(
                    "%s %s%s %s%s",
                    entry["method"],
                    path,
                    f"?{query}" if query else "",
                    status,
                    f" fault={entry['fault']}" if entry["fault"] else "",
                )


class ServiceClock:
    """ASGI middleware: tick the world's clock, and put its ``Date`` on every reply.

    The header is the clock the reply was composed at (``CLOCK_KEY``, set by ``api()``
    right before the handler runs), else the clock when the reply starts; one header,
    to the second (RFC 7231). The server (``sandbox.server``) adds no Date of its own.
    """

    def __init__(self, app: ASGIApp, sandbox: Sandbox) -> None:
        self.app = app
        self.sandbox = sandbox

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        self.sandbox.tick()

        async def send_with_date(message: Message) -> None:
            if message["type"] == "http.response.start":
                as_of = scope.get(CLOCK_KEY)
                if not isinstance(as_of, int):
                    as_of = self.sandbox.tick()
                headers = [(k, v) for k, v in message.get("headers", []) if k.lower() != b"date"]
                headers.append((b"date", live.http_date(as_of).encode("latin-1")))
                message = {**message, "headers": headers}
            await send(message)

        await self.app(scope, receive, send_with_date)
