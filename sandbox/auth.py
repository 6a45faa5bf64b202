"""OAuth client credentials: the token endpoint, and the bearer tokens it issues.

Tokens are random, live ``token_ttl`` seconds (monotonic clock) and are kept in
``Sandbox.tokens``; ``/_sandbox/revoke-tokens`` and the ``revoke_after`` fault revoke
them all at once.
"""

from __future__ import annotations

import hmac
import secrets
import time

from starlette.requests import Request
from starlette.responses import Response

from sandbox.render import V14, V20
from sandbox.replies import ApiError, json_response, oauth_error
from sandbox.state import Sandbox


def issue_token(sb: Sandbox) -> str:
    now = time.monotonic()
    if len(sb.tokens) > 10_000:  # a client that never reuses tokens: forget dead ones
        sb.tokens = {t: exp for t, exp in sb.tokens.items() if exp > now}
    token = secrets.token_urlsafe(32)
    sb.tokens[token] = now + sb.token_ttl
    return token


def check_token(sb: Sandbox, header: str | None) -> None:
    """Raise 401 unless ``header`` is ``Bearer <a live token>``."""
    scheme, _, token = (header or "").partition(" ")
    token = token.strip()
    if scheme.lower() != "bearer" or not token:
        raise unauthorized(
            "Missing 'Authorization: Bearer <token>'; get a token from POST /connect/token"
        )
    expiry = sb.tokens.get(token)
    if expiry is None:
        raise unauthorized(
            "The access token is not valid (unknown or revoked); "
            "get a new one from POST /connect/token"
        )
    if time.monotonic() >= expiry:
        raise unauthorized("The access token has expired; get a new one from POST /connect/token")


def revoke_tokens(sb: Sandbox) -> int:
    n = len(sb.tokens)
    sb.tokens.clear()
    return n


def unauthorized(message: str) -> ApiError:
    return ApiError(401, message, headers={"WWW-Authenticate": 'Bearer error="invalid_token"'})


async def token_endpoint(request: Request) -> Response:
    sb: Sandbox = request.app.state.sandbox
    try:
        async with request.form() as form:
            fields = {k: v.strip() for k, v in form.items() if isinstance(v, str)}
    except Exception:  # a body that is not a form at all
        return oauth_error(400, "invalid_request", "send an application/x-www-form-urlencoded body")

    def field_(name: str) -> str:
        return fields.get(name, "")

    client_id, client_secret = field_("client_id"), field_("client_secret")
    if not client_id or not client_secret:
        return oauth_error(
            401,
            "invalid_client",
            "client_id and client_secret are required, form-encoded "
            "(application/x-www-form-urlencoded)",
        )
    ok_id = hmac.compare_digest(client_id.encode(), sb.client_id.encode())
    ok_secret = hmac.compare_digest(client_secret.encode(), sb.client_secret.encode())
    if not (ok_id and ok_secret):
        return oauth_error(401, "invalid_client", "Unknown client or wrong client secret")
    grant = field_("grant_type")
    if grant != "client_credentials":
        return oauth_error(
            400, "invalid_grant", f"grant_type must be client_credentials, not {grant!r}"
        )
    scope = field_("scope")
    if sb.dialect == V14 and scope and scope != "openapi":
        return oauth_error(400, "invalid_scope", f"scope must be openapi, not {scope!r}")
    return json_response(
        {
            "access_token": issue_token(sb),
            "expires_in": int(sb.token_ttl),
            "token_type": "Bearer",
            "scope": "card" if sb.dialect == V20 else "openapi",
        },
        headers={"Cache-Control": "no-store", "Pragma": "no-cache"},
    )
