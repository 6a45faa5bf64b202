"""A token endpoint that answers 404 is a wrong base URL, not refused credentials."""

from __future__ import annotations

import pickle

import httpx
import pytest

from extract.auth import ClientCredentials, OAuth2ClientCredentials
from extract.errors import AuthError, NoApiError

API_URL = "https://shop.example.com/v1/ping"


def _token_reply(base_url: str, reply: httpx.Response) -> None:
    auth = OAuth2ClientCredentials(ClientCredentials("id", "s3cret"), base_url)
    flow = auth.auth_flow(httpx.Request("GET", API_URL))
    next(flow)  # the token request
    flow.send(reply)


@pytest.mark.parametrize("body", [b"", b"<html>Not Found</html>", b'{"detail": "Not Found"}'])
def test_a_404_without_an_oauth_error_names_the_url_and_the_setting(body: bytes) -> None:
    with pytest.raises(NoApiError) as caught:
        _token_reply("https://shop.example.com/", httpx.Response(404, content=body))
    assert str(caught.value) == (
        "no cardepass API at https://shop.example.com (HTTP 404): check CARDEPASS_BASE_URL."
    )
    assert not caught.value.transient
    assert not isinstance(caught.value, AuthError)
    assert str(pickle.loads(pickle.dumps(caught.value))) == str(caught.value)


def test_the_url_in_the_message_hides_a_password() -> None:
    with pytest.raises(NoApiError) as caught:
        _token_reply("https://user:pa55word@shop.example.com/api", httpx.Response(404))
    assert "pa55word" not in str(caught.value) and "shop.example.com/api" in str(caught.value)


def test_a_404_with_an_oauth_error_is_still_about_the_credentials() -> None:
    with pytest.raises(AuthError) as caught:
        _token_reply(
            "https://shop.example.com/openapi",
            httpx.Response(404, json={"error": "invalid_client"}),
        )
    assert caught.value.error == "invalid_client"
