"""The wrapper every API endpoint goes through: the bearer token, the faults, the error
envelopes, the live shapes and the JSON.

A handler (``sandbox.endpoints``) takes a ``Call`` and returns the documented reply;
``api()`` turns it into a Starlette endpoint. Faults are drawn once per data call
(``sandbox.faults``): the ones that need no real reply answer here before the handler
runs, ``malformed`` cuts the handler's reply, and the rest the handler applies itself
(``Call.fault``), saying so in ``Call.fired``.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from typing import Any

from starlette.requests import Request
from starlette.responses import Response

from sandbox import live
from sandbox.auth import check_token, revoke_tokens, unauthorized
from sandbox.faults import HTML_ERROR_PAGE, FaultInjector
from sandbox.model import WorldError
from sandbox.replies import ApiError, error_response, json_response
from sandbox.state import CLOCK_KEY, FAULT_KEY, Call, Sandbox

log = logging.getLogger("sandbox")


def api(
    handler: Callable[[Call], Any], kind: str, *, faults: bool = True
) -> Callable[[Request], Awaitable[Response]]:
    """Auth, faults, error envelopes and JSON for one handler.

    ``kind`` names the endpoint for ``sandbox.live.rewrite``: in live shapes the
    handler's documented reply is rewritten here, and only here.
    """

    async def endpoint(request: Request) -> Response:
        sb: Sandbox = request.app.state.sandbox
        call = Call(sb, request, request.query_params)
        injector: FaultInjector | None = None
        try:
            check_token(sb, request.headers.get("authorization"))
            injector = sb.faults if faults and request.method in ("GET", "HEAD") else None
            if injector is not None:
                if injector.count_call():
                    revoke_tokens(sb)
                    request.scope[FAULT_KEY] = "revoke_after"
                    raise unauthorized(
                        "The access token was revoked; get a new one from POST /connect/token"
                    )
                call.fault = injector.draw()
                early = await _early_fault(call, injector)
                if early is not None:
                    return early
            if request.method == "POST":
                call.body = await request.body()
            request.scope[CLOCK_KEY] = sb.tick()  # no await from here to the reply
            reply = handler(call)
            if sb.shapes == live.LIVE:
                reply = live.rewrite(reply, _live_context(call, kind))
        except ApiError as err:
            return error_response(err)
        except WorldError as err:
            return error_response(ApiError(err.status, err.message, err.code))
        except Exception:
            log.exception("sandbox error on %s %s", request.method, request.url.path)
            return error_response(ApiError(500, "Internal error in the sandbox; see its log"))
        if call.fired is not None:
            request.scope[FAULT_KEY] = call.fired
            if injector is not None:
                injector.record(call.fired)
        response = json_response(reply)
        if call.fault == "malformed":
            request.scope[FAULT_KEY] = "malformed"
            if injector is not None:
                injector.record("malformed")
            body = bytes(response.body)
            response = Response(body[: len(body) // 2], media_type="application/json")
        return response

    return endpoint


def _live_context(call: Call, kind: str) -> live.Context:
    return live.Context(
        endpoint=kind,
        seed=call.world.gen.seed,
        path=call.request.url.path,
        params=call.params.multi_items(),
        world=call.world,
        order=call.order,
    )


async def _early_fault(call: Call, injector: FaultInjector) -> Response | None:
    """Answer the faults that need no real reply; sleep for ``slow``."""
    kind = call.fault
    if kind not in ("500", "429", "html", "slow"):
        return None
    call.request.scope[FAULT_KEY] = kind
    injector.record(kind)
    spec = injector.spec
    if kind == "slow":
        await asyncio.sleep(spec.slow_seconds)
        return None
    if kind == "500":
        return error_response(ApiError(500, "Internal server error (injected fault); retry"))
    if kind == "429":
        return error_response(
            ApiError(
                429,
                f"Too many requests (injected fault); retry after {spec.retry_after} s",
                headers={"Retry-After": str(spec.retry_after)},
            )
        )
    return Response(HTML_ERROR_PAGE, media_type="text/html")
