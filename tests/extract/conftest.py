"""Fixtures for the extract tests."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import httpx
import pytest
from cardepass_fake import BASE_URL, CLIENT_ID, CLIENT_SECRET, FakeCardepass, Sleeps

from extract.auth import ClientCredentials
from extract.client import CardepassClient, make_client


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


@pytest.fixture
def credentials() -> ClientCredentials:
    return ClientCredentials(CLIENT_ID, CLIENT_SECRET)


@pytest.fixture
def fake() -> FakeCardepass:
    return FakeCardepass()


@pytest.fixture
def sleeps() -> Sleeps:
    return Sleeps()


@pytest.fixture
def make_api(
    fake: FakeCardepass, credentials: ClientCredentials, sleeps: Sleeps
) -> Callable[..., CardepassClient]:
    """Build a CardepassClient against ``fake``; keyword arguments go to the client."""

    def build(**options: Any) -> CardepassClient:
        client_options = {
            key: options.pop(key) for key in ("scope", "clock", "refresh_margin") if key in options
        }
        http = make_client(
            BASE_URL, credentials, transport=httpx.MockTransport(fake), **client_options
        )
        options.setdefault("sleep", sleeps)
        options.setdefault("random", lambda: 1.0)
        return CardepassClient(http, **options)

    return build
