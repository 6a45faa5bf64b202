"""The admin endpoints under ``/_sandbox`` (no auth; for tests and demos): the request
log, revoking every token, moving the clock, the scenario's manifest, and what this
sandbox serves."""

from __future__ import annotations

import json

from starlette.requests import Request
from starlette.responses import Response

from sandbox.auth import revoke_tokens
from sandbox.model import ms_to_iso
from sandbox.replies import json_response
from sandbox.state import Sandbox
from sandbox.world import iso_to_ms


def _sandbox(request: Request) -> Sandbox:
    sb: Sandbox = request.app.state.sandbox
    return sb


async def requests(request: Request) -> Response:
    sb = _sandbox(request)
    if request.method == "DELETE":
        n = len(sb.requests)
        sb.requests.clear()
        return json_response({"cleared": n})
    return json_response(sb.requests)


async def revoke(request: Request) -> Response:
    return json_response({"revoked": revoke_tokens(_sandbox(request))})


async def clock(request: Request) -> Response:
    world = _sandbox(request).world
    try:
        body = json.loads(await request.body() or b"{}")
    except ValueError:
        body = None
    if not isinstance(body, dict) or ("as_of" in body) == ("advance_seconds" in body):
        return json_response(
            {"error": 'send {"as_of": "<ISO date-time>"} or {"advance_seconds": <number>}'}, 400
        )
    try:
        if "as_of" in body:
            as_of = iso_to_ms(str(body["as_of"]))
        else:
            step = body["advance_seconds"]
            if isinstance(step, bool) or not isinstance(step, int | float):
                raise ValueError(step)
            as_of = world.as_of + round(step * 1000)
    except (ValueError, OverflowError):
        return json_response(
            {"error": "as_of must be an ISO date-time, advance_seconds a number"}, 400
        )
    world.set_clock(as_of)
    return json_response({"as_of": ms_to_iso(world.as_of)})


async def manifest(request: Request) -> Response:
    manifest = _sandbox(request).manifest
    if manifest is None:
        return json_response({"error": "this sandbox was started without a manifest"}, 404)
    return json_response(manifest)


async def info(request: Request) -> Response:
    sb = _sandbox(request)
    w = sb.world
    return json_response(
        {
            "dialect": sb.dialect,
            "shapes": sb.shapes,
            "live_clock": sb.live_clock,
            "clock_skew_seconds": sb.clock_skew_ms / 1000,
            "seed": w.gen.seed,
            "size": w.gen.size,
            "start": ms_to_iso(w.start_ms),
            "end": ms_to_iso(w.end_ms),
            "as_of": ms_to_iso(w.as_of),
            "counts": {
                "cards": len(w.cards),
                "transactions": len(w.txns),
                "card_logs": len(w.card_logs),
                "account_logs": len(w.account_logs),
                "orders": len(w.orders),
            },
            "faults": None if sb.faults is None else sb.faults.spec.as_dict(),
            "faults_fired": {} if sb.faults is None else dict(sb.faults.fired),
            "requests": len(sb.requests),
        }
    )
