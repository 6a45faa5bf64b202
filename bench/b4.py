"""B4 — the incremental run: a second run with no new data.

The sandbox (``demo`` size by default) runs in its own process with its clock fixed, so
nothing happens between the runs. The Prefect flow ``cardepass-reconciliation`` runs
twice, each in a fresh process with its own ``PREFECT_HOME`` (so the first run meets a
new Prefect database, as on a new machine, and the second one an existing one):

1. the backfill (the world's whole span);
2. the same command again: it should fetch only the lookback slices (the last
   ``lookback_days`` before each stream's watermark, through today) and the snapshots
   that can change (the cards and the open orders its logs mention; accounts) —
   never an order already seen ``Completed``/``Failed``, never a day before the lookback.

Every request is counted from the sandbox's own request log. Wall time is split into
Prefect (process start-up with imports, the ephemeral API server, flow and task runs:
everything that is not our work) and work (``flows.steps.run``: extract, load,
reconcile, report).
"""

from __future__ import annotations

import os
import tempfile
import time
from collections import Counter
from datetime import date, timedelta
from pathlib import Path
from typing import Any

from bench.common import (
    SANDBOX_CLIENT,
    markdown_table,
    record,
    run_worker,
    sandbox_process,
    verdict,
)

STREAM_PATHS = {
    "/v1/transactions": "transactions",
    "/v1/accounts/cardAccountLogs": "card_account_logs",
    "/v1/accounts/accountLogs": "account_logs",
}


def _prepare(args: dict[str, Any]) -> Any:
    """The environment `cardrecon run` sets, then the pipeline with ``run_steps`` timed."""
    from flows.runner import prepare_environment

    prepare_environment()  # what `cardrecon run` sets before Prefect is imported
    os.environ.update(
        {
            "PREFECT_HOME": args["prefect_home"],
            "CARDEPASS_BASE_URL": args["base_url"],
            "CARDEPASS_CLIENT_ID": SANDBOX_CLIENT[0],
            "CARDEPASS_CLIENT_SECRET": SANDBOX_CLIENT[1],
        }
    )
    from flows import pipeline

    steps = pipeline.run
    work: list[float] = []

    def timed_steps(*a: Any, **kw: Any) -> Any:
        t0 = time.perf_counter()
        try:
            return steps(*a, **kw)
        finally:
            work.append(time.perf_counter() - t0)

    pipeline.run = timed_steps  # the flow looks it up at call time
    return pipeline, work


def _flow(pipeline: Any, work: list[float], args: dict[str, Any], out: str) -> dict[str, Any]:
    result = pipeline.reconciliation_flow(
        date_from=date.fromisoformat(args["first"]),
        date_to=date.fromisoformat(args["last"]),
        db=args["db"],
        out=out,
    )
    return {"work": work[-1], "verdict": result["verdict"]}


def flow_run(args: dict[str, Any]) -> dict[str, Any]:
    """One ``cardrecon run`` equivalent in this (fresh) process."""
    pipeline, work = _prepare(args)
    return _flow(pipeline, work, args, args["out"])


def flow_runs(args: dict[str, Any]) -> dict[str, Any]:
    """Several runs in one process (one Prefect start): the smoke test's shortcut.

    Each run's wall is measured in process (the first one's includes the imports); the
    sandbox's request log is cleared before each run and read after it.
    """
    import httpx

    t0 = time.perf_counter()
    pipeline, work = _prepare(args)
    runs = []
    for out in args["outs"]:
        httpx.delete(f"{args['admin_url']}/requests", timeout=60).raise_for_status()
        got = _flow(pipeline, work, args, out)
        got["total"] = time.perf_counter() - t0
        got["requests"] = httpx.get(f"{args['admin_url']}/requests", timeout=60).json()
        runs.append(got)
        t0 = time.perf_counter()
    return {"runs": runs}


def _classify(entries: list[dict[str, Any]]) -> dict[str, Any]:
    kinds: Counter[str] = Counter()
    days: dict[str, set[str]] = {}
    orders: list[str] = []
    for e in entries:
        path = e["path"]
        if path in STREAM_PATHS:
            stream = STREAM_PATHS[path]
            kinds[stream] += 1
            days.setdefault(stream, set()).add(e["params"].get("TransactionDateFrom", "?"))
        elif path.startswith("/v1/cards/"):
            kinds["card snapshots"] += 1
        elif path.startswith("/v1/orders/"):
            kinds["order snapshots"] += 1
            orders.append(e["params"].get("OrderNo") or e["params"].get("orderNo") or "")
        elif path == "/v1/accounts":
            kinds["accounts"] += 1
        elif path == "/connect/token":
            kinds["token"] += 1
        else:
            kinds[path] += 1
    return {"kinds": kinds, "days": days, "orders": orders}


def _final_orders(db: str) -> set[str]:
    import duckdb

    con = duckdb.connect(db, read_only=True)
    try:
        rows = con.execute(
            "select order_no from core.orders where status in ('Completed', 'Failed')"
        ).fetchall()
    finally:
        con.close()
    return {r[0] for r in rows}


def run(
    *,
    size: str = "demo",
    lookback_days: int = 7,
    results: Path | None = None,
    one_process: bool = False,
) -> dict[str, Any]:
    """Two runs against a sandbox whose clock stands still; ``one_process``: the smoke."""
    with sandbox_process(size) as sb, tempfile.TemporaryDirectory(prefix="b4-") as tmp:
        first = date.fromisoformat(sb.info["start"][:10])
        last = date.fromisoformat(sb.info["as_of"][:10])
        common = {
            "base_url": sb.base_url,
            "prefect_home": str(Path(tmp) / "prefect"),
            "db": str(Path(tmp) / "cardrecon.duckdb"),
            "first": first.isoformat(),
            "last": last.isoformat(),
        }
        runs, logs = [], []
        if one_process:
            outs = [str(Path(tmp) / f"reports-{n}") for n in (1, 2)]
            both = run_worker("b4.flow_runs", common | {"outs": outs, "admin_url": sb.admin_url})
            for got in both["runs"]:
                logs.append(got.pop("requests"))
                got["prefect"] = got["total"] - got["work"]
                runs.append(got)
        for n in () if one_process else (1, 2):
            sb.clear_requests()
            got = run_worker("b4.flow_run", common | {"out": str(Path(tmp) / f"reports-{n}")})
            got["total"] = got["process_wall"]  # from interpreter start to exit
            got["prefect"] = got["total"] - got["work"]
            logs.append(sb.requests())
            runs.append(got)
        for n, got in enumerate(runs, 1):
            print(
                f"B4 run {n}: {len(logs[n - 1]):,} requests, {got['total']:.1f} s "
                f"(Prefect {got['prefect']:.1f} s, work {got['work']:.1f} s), {got['verdict']}",
                flush=True,
            )
        final_after_first = _final_orders(common["db"])
    first_run, second = _classify(logs[0]), _classify(logs[1])
    lookback_start = last - timedelta(days=lookback_days)
    stream_days = {s: sorted(d) for s, d in second["days"].items()}
    too_early = sorted(
        d for ds in second["days"].values() for d in ds if d < lookback_start.isoformat()
    )
    refetched_final = sorted(set(second["orders"]) & final_after_first)
    expected_days = (last - lookback_start).days + 1
    rows = []
    for kind in sorted(set(first_run["kinds"]) | set(second["kinds"])):
        extra = ""
        if kind in stream_days:
            ds = stream_days[kind]
            extra = f"{len(ds)} days, {ds[0]} … {ds[-1]}"
        rows.append([kind, first_run["kinds"].get(kind, 0), second["kinds"].get(kind, 0), extra])
    rows.append(["**all**", len(logs[0]), len(logs[1]), ""])
    timing = [
        [
            f"run {i}",
            round(r["total"], 1),
            round(r["prefect"], 1),
            round(r["work"], 1),
            r["verdict"],
        ]
        for i, r in enumerate(runs, 1)
    ]
    only_lookback = not too_early and all(len(d) == expected_days for d in stream_days.values())
    body = (
        f"Sandbox `{size}` (seed 1, v2.0) in its own process, clock fixed; the flow run twice "
        f"(`--from {first} --to {last}`), lookback {lookback_days} days"
        + (" (both runs in one process: the smoke test)" if one_process else "")
        + ".\n\n"
        + markdown_table(
            ["requests", "run 1 (backfill)", "run 2 (no new data)", "run 2 window"], rows
        )
        + "\n\n"
        + markdown_table(["", "wall s", "Prefect s", "work s", "verdict"], timing)
        + "\n\n| target | measured | verdict |\n|---|---|---|\n"
        + f"| run 2 fetches only the lookback slices ({lookback_start} … {last}, "
        + f"{expected_days} days per stream) | days before the lookback: {len(too_early)}; "
        + f"days per stream: {', '.join(f'{k} {len(v)}' for k, v in stream_days.items())} | "
        + f"{verdict(only_lookback)} |\n"
        + "| run 2 snapshots only what can change (no order already final) | "
        + f"final orders fetched again: {len(refetched_final)} | "
        + f"{verdict(not refetched_final)} |"
    )
    record(f"B4 — incremental run ({size})", body, results)
    return {
        "runs": runs,
        "second": second["kinds"],
        "too_early": too_early,
        "refetched_final": refetched_final,
    }
