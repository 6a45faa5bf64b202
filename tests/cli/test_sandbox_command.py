"""`cardrecon sandbox`: options are checked before anything starts."""

from __future__ import annotations

from typing import Any

import orjson
from typer.testing import CliRunner

from flows.cli import app
from sandbox.scenarios import SCENARIOS

runner = CliRunner()


def start_sandbox(**over: Any) -> tuple[Any, str]:
    """The app `cardrecon sandbox` would serve: a tiny v1.4 world, with ``over`` applied."""
    from flows.cli import _start_sandbox

    options: dict[str, Any] = {
        "scenario": "clean", "dialect": "v1.4", "faults": None, "seed": 1, "size": "tiny",
        "client_id": "sandbox", "client_secret": "x", "token_ttl": 60, "manifest": None,
    }  # fmt: skip
    return _start_sandbox(**(options | over))


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
        (["--shapes", "odd"], "--shapes"),
        (["--shapes", "live"], "--dialect v1.4"),  # the live shapes are v1.4's
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
    path = tmp_path / "m" / "manifest.json"
    start_sandbox(scenario="drifted_card_balance", manifest=path)
    manifest = orjson.loads(path.read_bytes())
    assert manifest["breaks"][0]["check"] == "card_balance"
    assert manifest["dialect"] == "v1.4"


def test_live_shapes_a_skewed_clock_and_a_busy_account(tmp_path) -> None:  # type: ignore[no-untyped-def]
    """`--shapes live --clock-skew -3 --busy`: the app serves the live shapes, its Date header
    runs 3 s behind ours, and account entries keep arriving."""
    import asyncio
    import email.utils
    import time

    import httpx

    app_, info = start_sandbox(shapes="live", clock_skew=-3.0, busy=True)
    assert info.endswith("live shapes, clock -3 s, busy")

    async def go() -> tuple[httpx.Response, httpx.Response]:
        transport = httpx.ASGITransport(app=app_)
        async with httpx.AsyncClient(transport=transport, base_url="http://t/openapi") as c:
            token = await c.post(
                "/connect/token",
                data={"grant_type": "client_credentials", "client_id": "sandbox",
                      "client_secret": "x", "scope": "openapi"},
            )  # fmt: skip
            auth = {"Authorization": f"Bearer {token.json()['access_token']}"}
            return (
                await c.get("/v1/ping", headers=auth),
                await c.get("/v1/accounts", headers=auth),
            )

    ping, accounts = asyncio.run(go())
    assert ping.json() == "Ping Success"  # plain, in v1.4 live
    served = email.utils.parsedate_to_datetime(accounts.headers["date"]).timestamp()
    assert -5 < served - time.time() < -1.5
    assert accounts.json()["errorMessage"] == "操作成功"
    world = app_.state.sandbox.world
    later = world.account_logs.trans_at > int(time.time() * 1000) + 60_000
    assert later.sum() > 100  # entries keep arriving for the next hour
