"""Redaction: secrets and card numbers masked in text, URLs and headers.

Every message of the error tree (:mod:`extract.errors`) and every debug log line of the
client passes through here, so a client secret, an access token, an ``Authorization``
header or a card number never reaches a log line, a traceback or a report. Masking is by
key name (form bodies, query strings, JSON) and by shape (``Bearer …``, a bare 13-19
digit number), never by knowing the secret's value.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from typing import overload

import httpx

__all__ = [
    "MASK",
    "body_excerpt",
    "redact",
    "redact_headers",
    "redact_text",
    "redact_url",
]

MASK = "***"

# Keys whose values are secrets wherever they appear (form bodies, query strings, JSON).
SENSITIVE_KEYS: frozenset[str] = frozenset(
    {
        "client_secret",
        "access_token",
        "refresh_token",
        "id_token",
        "token",
        "password",
        "secret",
        "cardnumber",
        "cvv",
    }
)
SENSITIVE_HEADERS: frozenset[str] = frozenset(
    {"authorization", "proxy-authorization", "cookie", "set-cookie", "x-api-key"}
)

_KEYS = r"client_secret|access_token|refresh_token|id_token|password|cardNumber|cvv|token"
# key=value in a form body or query string
_FORM_RE = re.compile(rf"(?i)\b({_KEYS})=([^&\s\"',;]*)")
# "key": "value" or "key": 123 in JSON (or a Python repr with single quotes)
_JSON_RE = re.compile(rf"(?i)([\"']({_KEYS})[\"']\s*:\s*)(\"[^\"]*\"?|'[^']*'?|[^,}}\s]+)")
# Authorization: Bearer xyz / Basic xyz, wherever it appears
_SCHEME_RE = re.compile(r"(?i)\b(Bearer|Basic)\s+[A-Za-z0-9\-._~+/]+=*")
# an Authorization header line whose value is not a known scheme
_AUTH_HEADER_RE = re.compile(
    r"(?i)\b((?:proxy-)?authorization[\"']?\s*[:=]\s*[\"']?)(?!Bearer |Basic )([^\s\"',}]+)"
)
# a bare card number (13-19 digits) that slipped into free text
_PAN_RE = re.compile(r"(?<![\d.])\d{13,19}(?![\d.])")


def redact_text(text: str) -> str:
    """Mask secrets in free text: ``client_secret=…``, tokens, ``Bearer …``, card numbers."""
    text = _FORM_RE.sub(lambda m: f"{m.group(1)}={MASK}", text)
    text = _JSON_RE.sub(lambda m: f'{m.group(1)}"{MASK}"', text)
    text = _SCHEME_RE.sub(lambda m: f"{m.group(1)} {MASK}", text)
    text = _AUTH_HEADER_RE.sub(lambda m: f"{m.group(1)}{MASK}", text)
    return _PAN_RE.sub(MASK, text)


def redact_url(url: httpx.URL | str) -> str:
    """A URL as text with sensitive query values and any userinfo password masked."""
    parsed = httpx.URL(url)
    if parsed.query:
        items: list[tuple[str, str | int | float | bool | None]] = [
            (key, MASK if key.lower() in SENSITIVE_KEYS else value)
            for key, value in parsed.params.multi_items()
        ]
        parsed = parsed.copy_with(params=httpx.QueryParams(items))
    if parsed.password:
        parsed = parsed.copy_with(username=parsed.username, password=MASK)
    return redact_text(str(parsed))


def redact_headers(
    headers: httpx.Headers | Mapping[str, str] | Iterable[tuple[str, str]],
) -> dict[str, str]:
    """Headers as a plain dict with ``Authorization``, cookies and API keys masked."""
    items = headers.items() if isinstance(headers, Mapping | httpx.Headers) else headers
    return {
        key: MASK if key.lower() in SENSITIVE_HEADERS else redact_text(value)
        for key, value in items
    }


@overload
def redact(value: str) -> str: ...
@overload
def redact(value: httpx.URL) -> str: ...
@overload
def redact(value: httpx.Headers | Mapping[str, str]) -> dict[str, str]: ...
def redact(value: str | httpx.URL | httpx.Headers | Mapping[str, str]) -> str | dict[str, str]:
    """Mask secrets in text, a URL or headers (dispatches on the type of ``value``)."""
    if isinstance(value, httpx.URL):
        return redact_url(value)
    if isinstance(value, str):
        return redact_text(value)
    return redact_headers(value)


def body_excerpt(content: bytes | str, limit: int = 160) -> str:
    """A short, single-line, redacted excerpt of a response body for error messages."""
    window = content[: limit * 8]  # redact before cutting, so a cut never splits a secret
    text = window.decode("utf-8", "replace") if isinstance(window, bytes) else window
    text = redact_text(" ".join(text.split()))
    if len(text) > limit or len(window) < len(content):
        text = text[:limit] + "…"
    return text
