"""Each benchmark end to end at tiny size: it runs, measures every contender, checks itself.

Times are never asserted here (benchmarks measure, tests don't); what is asserted is that
every contender processed the same rows, that the self-checks of each benchmark hold on
a tiny world, and that the section appended to the results file says so.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from support.prefect import PrefectServer

from bench import b1, b2, b3, b4


def test_b1_all_contenders_fetch_the_same_rows(tmp_path: Path) -> None:
    results = tmp_path / "RESULTS.md"
    figures = b1.run("tiny", concurrency=4, results=results)
    for window in ("half", "full"):
        got = figures[window]
        assert set(got) == {"floor", "cardrecon", "dlt"}
        rows = {who: f["items"] for who, f in got.items()}
        assert len(set(rows.values())) == 1, rows  # the same window for everyone
        assert got["cardrecon"]["loaded"] == got["cardrecon"]["items"]
        assert got["cardrecon"]["quarantined"] == 0
        assert got["dlt"]["loaded"] == got["dlt"]["items"]
    assert figures["full"]["floor"]["items"] > figures["half"]["floor"]["items"]
    text = results.read_text()
    assert "## B1 — extraction end to end (tiny)" in text
    assert "× floor" in text and "cardrecon ≥ 3.0× dlt rows/s" in text


def test_b2_processes_every_landed_item_and_keeps_a_profile(tmp_path: Path) -> None:
    results = tmp_path / "RESULTS.md"
    out = b2.run(size="tiny", results=results, profile_path=tmp_path / "b2.txt")
    total = sum(out["landed"]["items"].values())
    assert total > 0
    assert out["floor"]["items"] == out["cardrecon"]["items"] == total
    assert out["top"], "the profile names where the time goes"
    assert "load_items" in (tmp_path / "b2.txt").read_text()  # pyinstrument's tree
    assert "## B2 — processing alone (tiny)" in results.read_text()


def test_b3_replicas_scale_every_check_exactly_and_pandas_agrees(tmp_path: Path) -> None:
    results = tmp_path / "RESULTS.md"
    # broken_books needs more cards than a tiny world has: the smoke replicates `clean`
    out = b3.run(
        size="tiny", transactions=2_000, ledger=2_000, scenarios=("clean",), results=results
    )["clean"]
    gen = out["generate"]
    assert gen["replicas"] > 1
    assert gen["scaled"]["transactions"] == gen["base"]["transactions"] * gen["replicas"]
    assert out["scaled_exactly"]
    checks = out["cardrecon"]["checks"]
    ran = {n for n, v in checks.items() if v[0] is not None}
    assert ran and all(list(out["pandas"]["checks"][n]) == list(checks[n]) for n in ran)
    text = results.read_text()
    assert "| yes | met |" in text and "**no**" not in text


def test_b4_second_run_fetches_only_the_lookback_and_what_can_change(
    tmp_path: Path, prefect_server: PrefectServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    results = tmp_path / "RESULTS.md"
    monkeypatch.setenv("PREFECT_API_URL", prefect_server.url)  # the worker uses the session's
    out = b4.run(size="tiny", results=results, one_process=True)  # both runs in one process
    first, second = out["runs"]
    assert first["verdict"] == second["verdict"] == "reconciled"
    assert out["too_early"] == []
    assert out["refetched_final"] == []
    assert 0 < second["work"] < second["total"]
    text = results.read_text()
    assert "## B4 — incremental run (tiny)" in text and "**missed**" not in text
