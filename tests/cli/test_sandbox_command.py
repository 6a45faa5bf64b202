"""`cardrecon sandbox`: options are checked before anything starts."""

from __future__ import annotations

import orjson
from typer.testing import CliRunner

from flows.cli import app
from sandbox.scenarios import SCENARIOS

runner = CliRunner()


def test_list_scenarios_names_every_scenario() -> None:
    result = runner.invoke(app, ["sandbox", "--list-scenarios"])
    assert result.exit_code == 0
    for name in SCENARIOS:
        assert name in result.output


def test_bad_options_exit_2_with_one_clear_line() -> None:
    for args, needle in [
        (["--dialect", "v9"], "--dialect"),
        (["--size", "huge"], "--size"),
        (["--scenario", "nope"], "--list-scenarios"),
        (["--faults", "500=2"], "--faults"),
    ]:
        result = runner.invoke(app, ["sandbox", *args])
        assert result.exit_code == 2, result.output
        assert needle in result.output
        assert "Traceback" not in result.output


def test_sandbox_command_answers_the_client_documents_curl_examples() -> None:
    """`cardrecon sandbox --port P`: token, ping, products, transactions as documented."""
    import socket
    import subprocess
    import sys
    import time

    import httpx

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    proc = subprocess.Popen(
        [sys.executable, "-m", "flows.cli", "sandbox", "--port", str(port), "--size", "tiny"],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
    )
    base = f"http://127.0.0.1:{port}/openapi"
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                token = httpx.post(
                    f"{base}/connect/token",
                    data={
                        "grant_type": "client_credentials",
                        "client_id": "sandbox",
                        "client_secret": "sandbox-secret",
                    },
                )
                break
            except httpx.ConnectError:
                assert time.monotonic() < deadline, "the sandbox did not start"
                time.sleep(0.2)
        assert token.status_code == 200
        body = token.json()
        assert body["token_type"] == "Bearer" and body["expires_in"] == 3600
        auth = {"Authorization": f"Bearer {body['access_token']}"}
        assert httpx.get(f"{base}/v1/ping", headers=auth).json() == "Ping Success"
        products = httpx.get(f"{base}/v1/products", headers=auth).json()
        assert products["hasError"] is False and products["data"][0]["productCode"]
        txns = httpx.get(
            f"{base}/v1/transactions",
            headers=auth,
            params={"TransactionStatus": "Success", "PageSize": 20},
        ).json()
        assert len(txns["data"]) == 20
        assert {t["status"] for t in txns["data"]} == {"Success"}
        assert set(txns["pagination"]) == {"pageSize", "nextCursor", "hasMore"}
        assert httpx.get(f"{base}/v1/ping").status_code == 401
    finally:
        proc.terminate()
        proc.wait(timeout=10)


def test_manifest_option_writes_the_planted_breaks(tmp_path) -> None:  # type: ignore[no-untyped-def]
    from flows.cli import _start_sandbox

    path = tmp_path / "m" / "manifest.json"
    _start_sandbox(
        scenario="drifted_card_balance",
        dialect="v1.4",
        faults=None,
        seed=1,
        size="tiny",
        client_id="sandbox",
        client_secret="x",
        token_ttl=60,
        manifest=path,
    )
    manifest = orjson.loads(path.read_bytes())
    assert manifest["breaks"][0]["check"] == "card_balance"
    assert manifest["dialect"] == "v1.4"
