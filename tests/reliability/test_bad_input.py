"""Bad input served by the sandbox ends in a clear error or in quarantine, never in silence.

For every kind of bad reply the run either stops that stream with a clear message
(``report.streams[s].error``), quarantines the items with the failed check, or recovers
(re-fetch / re-walk) to exactly the clean result. Always: fetched = loaded + quarantined
in ``meta.runs``, no key twice in ``core``, no watermark past a failed stream's data.
"""

from __future__ import annotations

import asyncio
from datetime import timedelta

import httpx
import pytest
from reltools import core_content, extract_and_load, record, rows_lost, unbalanced_runs, world_days

from extract.auth import ClientCredentials
from extract.client import make_client
from extract.engine import plan_slices
from extract.errors import CardepassError
from extract.session import ExtractSettings
from extract.streams import STREAM_NAMES
from flows.settings import ConfigError, extract_settings, load
from sandbox.app import create_app
from sandbox.world import World

KINDS = {  # kind -> rate that fires on a tiny world
    "malformed": 0.1,
    "html": 0.1,
    "bad_item": 0.2,
    "schema_break": 0.1,
    "conflict": 0.2,
    "repeat_item": 0.3,
    "repeat_cursor": 0.5,
}
DEFAULT_KINDS = ["html", "bad_item", "schema_break", "conflict", "repeat_cursor"]
KEYS = {
    "transactions": "transaction_id",
    "card_account_logs": "account_log_id",
    "account_logs": "account_log_id",
    "orders": "order_no",
}


def bad_input(kind: str, seed: int, size: str, retry_attempts: int = 6) -> None:
    world = World.create(seed=seed, size=size)
    clean, _, _ = extract_and_load(world)
    con, report, app = extract_and_load(
        world,
        faults=f"{kind}={KINDS[kind]},seed={seed}",
        retry_attempts=retry_attempts,
        page_size=10,  # several pages per slice: the paging faults need a second page
    )
    fired = dict(app.state.sandbox.faults.fired)  # bad_item counts per variant: bad_item:...
    hits = sum(n for k, n in fired.items() if k.split(":")[0] == kind)
    failed_streams = {s for s, o in report.streams.items() if o.error}
    errors = report.failed
    reasons = [
        r[0]
        for r in con.execute(
            "select distinct failed_checks from core.quarantine order by 1"
        ).fetchall()
    ]
    quarantined = con.execute("select count(*) from core.quarantine").fetchone()
    recovered = not errors and not reasons and core_content(con) == core_content(clean)
    outcome = (
        "clear error" if errors else "quarantine" if reasons else "recovered" if recovered else "?"
    )
    _, last = world_days(world)
    marks = dict(con.execute("select stream, watermark from meta.state").fetchall())
    record(
        "bad_input",
        kind=kind,
        rate=KINDS[kind],
        hit=hits,
        variants={k: n for k, n in fired.items() if ":" in k},
        seed=seed,
        size=size,
        outcome=outcome,
        errors=errors[:2],
        quarantine_reasons=reasons[:5],
        quarantined=quarantined[0] if quarantined else 0,
        rows_lost=rows_lost(con),
    )
    assert hits, f"{kind} never fired"
    assert outcome != "?", "neither an error, nor quarantine, nor the clean result"
    assert not unbalanced_runs(con) and rows_lost(con) == 0
    for table, key in KEYS.items():
        row = con.execute(f"select count(*) - count(distinct {key}) from core.{table}").fetchone()
        assert row is not None and row[0] == 0, f"{table}: a key twice"
    for stream in failed_streams:
        assert stream in STREAM_NAMES
        mark = marks.get(stream)
        assert mark is None or mark < last, f"{stream} failed yet its watermark reached {last}"


@pytest.mark.parametrize("kind", DEFAULT_KINDS)
def test_bad_input_ends_in_a_clear_error_or_quarantine(kind: str) -> None:
    bad_input(kind, seed=4, size="tiny")


def test_unreadable_replies_without_retries_end_in_a_clear_error() -> None:
    bad_input("malformed", seed=4, size="tiny", retry_attempts=1)


@pytest.mark.reliability
@pytest.mark.parametrize("kind", list(KINDS))
@pytest.mark.parametrize("seed", [1, 6])
def test_bad_input_sweep(kind: str, seed: int) -> None:
    bad_input(kind, seed=seed, size="demo" if seed == 6 else "tiny")


def test_a_window_the_service_refuses_is_refused_before_or_by_the_call(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    world = World.create(seed=1, size="tiny")
    app = create_app(world)
    _, last = world_days(world)
    # our side: slices longer than 90 days are refused by the settings and the planner
    monkeypatch.setenv("CARDEPASS_CLIENT_ID", "sandbox")
    monkeypatch.setenv("CARDEPASS_CLIENT_SECRET", "sandbox-secret")
    monkeypatch.setenv("CARDREC_SLICE_DAYS", "91")
    monkeypatch.setenv("CARDEPASS_BASE_URL", "https://api.example.com/openapi")
    with pytest.raises(ConfigError, match=r"1\.\.90") as config_error:
        extract_settings(load(), start=None, end=None)
    with pytest.raises(ValueError, match=r"1\.\.90") as plan_error:
        plan_slices("transactions", last - timedelta(days=200), last, days=91)
    # the service's side: a window over three months answers 400, not retried, clear

    async def ask() -> str:
        client = make_client(
            "http://127.0.0.1/openapi",
            ClientCredentials("sandbox", "sandbox-secret"),
            transport=httpx.ASGITransport(app=app),
        )
        from extract.client import CardepassClient

        api = CardepassClient(client, retry_attempts=3, backoff_base=0.0)
        try:
            await api.get_json(
                "/v1/transactions",
                {
                    "TransactionDateFrom": (last - timedelta(days=120)).isoformat(),
                    "TransactionDateTo": last.isoformat(),
                },
            )
        except CardepassError as exc:
            return str(exc)
        finally:
            await api.aclose()
        return ""

    message = asyncio.run(ask())
    calls = [r for r in app.state.sandbox.requests if r["path"] == "/v1/transactions"]
    for case, text in (
        ("CARDREC_SLICE_DAYS=91", str(config_error.value)),
        ("plan_slices(days=91)", str(plan_error.value)),
        ("a 120-day window sent to the service", message),
    ):
        record("bad_input", kind="window", case=case, outcome="clear error", errors=[text])
    assert message and "400" in message, message
    assert len(calls) == 1, "a 400 is not retried"
    _ = ExtractSettings  # (documented type of the settings refused above)
