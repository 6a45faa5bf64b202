"""B3 — reconciliation at scale: every check over ~10 million transactions and ledger rows.

**The data.** A sandbox world (``demo`` size, v1.4 so that every check can run) goes
through the real pipeline in process (extract, normalise, validate, load), and is then
replicated *inside DuckDB* ``K`` times until ``core.transactions`` and the ledger
(``core.account_logs`` + ``core.card_account_logs``) each hold at least the target.
Replica ``k`` suffixes every id (card, transaction, log, order) and every currency with
``~k``, so each replica is a customer ledger of its own — balances, chains and orders
tie within it exactly as they do in the original. That gives the benchmark a check it
can make at scale: each check must compare exactly ``K`` times the entities it compared
on the original world, and find exactly ``K`` times its breaks.

**The contenders**, each in a fresh process over the same DuckDB file:

* **cardrecon** — ``transform.reconcile.reconcile`` (all checks, breaks merged into
  ``recon.breaks``), DuckDB limited to ``memory_limit`` and both cores;
* **pandas** — ``bench.b3_pandas``: the same checks written plainly in pandas (money as
  int64 cents); its time is split into reading the tables and running the checks.
"""

from __future__ import annotations

import math
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from bench.common import (
    load_world,
    markdown_table,
    peak_rss_mb,
    ratio,
    record,
    run_worker,
    verdict,
)

TARGET_SECONDS, TARGET_RSS_MB = 30.0, 4096.0
MEMORY_LIMIT = "3GB"  # DuckDB's own cap; the process adds Python, polars and the result
AS_OF_TABLE = "bench_as_of"

# the columns that hold an id (suffixed per replica) and the currency (suffixed too)
ID_COLUMNS = {"transaction_id", "card_id", "account_log_id", "order_no", "customer_order_no"}
REPLICATED = (
    "core.transactions",
    "core.card_account_logs",
    "core.card_fee_items",
    "core.account_logs",
    "core.card_snapshots",
    "core.account_snapshots",
    "core.orders",
)
CORE_COUNTS = ("transactions", "card_account_logs", "account_logs")
COUNTED = ("entities_checked", "breaks", "out_of_window", "blocked_by_quarantine")  # as the peer


def _counts(con: Any) -> dict[str, int]:
    return {
        t: con.execute(f"select count(*) from core.{t}").fetchall()[0][0]  # noqa: S608
        for t in CORE_COUNTS
    }


def generate(args: dict[str, Any]) -> dict[str, Any]:
    """Build the database: one world through the pipeline, then ``K`` replicas in SQL."""
    import duckdb

    from sandbox import scenarios
    from sandbox.world import World
    from transform.reconcile import reconcile

    t0 = time.perf_counter()
    world = World.create(seed=args["seed"], size=args["size"])
    scenarios.build(args["scenario"], world)
    con = duckdb.connect(args["db"])
    load_world(world, "v1.4", con)
    as_of = datetime.fromtimestamp(world.as_of / 1000, UTC)
    base = reconcile(con, "base", as_of)
    base_checks = {
        r["check"]: tuple(r[c] for c in COUNTED) for r in base.checks.iter_rows(named=True)
    }
    con.execute("delete from recon.breaks")  # the scaled run starts with no history
    con.execute("delete from recon.check_runs")
    loaded_in = time.perf_counter() - t0

    t1 = time.perf_counter()
    counts = _counts(con)
    ledger = counts["account_logs"] + counts["card_account_logs"]
    k = max(
        math.ceil(args["transactions"] / max(counts["transactions"], 1)),
        math.ceil(args["ledger"] / max(ledger, 1)),
    )
    for table in REPLICATED:
        cols = [
            r[0]
            for r in con.execute(
                "select column_name from information_schema.columns "
                "where table_schema || '.' || table_name = ? order by ordinal_position",
                [table],
            ).fetchall()
        ]
        exprs = ", ".join(
            f"{c} || '~' || k" if c in ID_COLUMNS or c == "currency" else c for c in cols
        )
        con.execute(f"create temp table _base as select * from {table}")  # noqa: S608
        con.execute(
            f"insert into {table} select {exprs} from _base, range(1, ?) r(k)",  # noqa: S608
            [k],
        )
        con.execute("drop table _base")
    con.execute(f"create or replace table {AS_OF_TABLE} as select ?::timestamptz as as_of", [as_of])
    scaled = _counts(con)
    con.execute("checkpoint")
    con.close()
    return {
        "replicas": k,
        "base": counts,
        "scaled": scaled,
        "base_checks": base_checks,
        "load_seconds": loaded_in,
        "replicate_seconds": time.perf_counter() - t1,
    }


def cardrecon(args: dict[str, Any]) -> dict[str, Any]:
    import duckdb

    from transform.reconcile import reconcile

    con = duckdb.connect(args["db"])
    con.execute(f"set memory_limit = '{args['memory_limit']}'")  # a constant of this module
    con.execute(f"set temp_directory = '{args['temp_dir']}'")
    as_of = con.execute(f"select as_of from {AS_OF_TABLE}").fetchall()[0][0]  # noqa: S608
    t0 = time.perf_counter()
    result = reconcile(con, "scaled", as_of)
    seconds = time.perf_counter() - t0
    checks = {r["check"]: tuple(r[c] for c in COUNTED) for r in result.checks.iter_rows(named=True)}
    con.close()
    return {
        "seconds": seconds,
        "rss_mb": peak_rss_mb(),
        "checks": checks,
        "skipped": sorted(result.skipped),
        "open_breaks": result.open_breaks,
    }


def pandas(args: dict[str, Any]) -> dict[str, Any]:
    import duckdb

    from bench.b3_pandas import load_frames, run_checks

    con = duckdb.connect(args["db"], read_only=True)
    t0 = time.perf_counter()
    frames = load_frames(con)
    read = time.perf_counter() - t0
    con.close()
    t1 = time.perf_counter()
    checks = run_checks(frames, skip=set(args["skip"]))
    compute = time.perf_counter() - t1
    return {
        "seconds": read + compute,
        "read_seconds": read,
        "compute_seconds": compute,
        "rss_mb": peak_rss_mb(),
        "checks": {name: list(v) for name, v in checks.items()},
    }


DATASETS = {
    "clean": "every check compares, few break (a normal day)",
    "broken_books": "every check breaks in every replica (the stress case)",
}


def run(
    *,
    size: str = "demo",
    transactions: int = 10_000_000,
    ledger: int = 10_000_000,
    scenarios: tuple[str, ...] = ("clean", "broken_books"),
    seed: int = 1,
    memory_limit: str = MEMORY_LIMIT,
    pandas_peer: bool = True,
    results: Path | None = None,
) -> dict[str, Any]:
    """Each scenario's world replicated to the target rows, reconciled by each contender."""
    runs: dict[str, dict[str, Any]] = {}
    for scenario in scenarios:
        runs[scenario] = _one(size, transactions, ledger, scenario, seed, memory_limit, pandas_peer)
    rows, targets, details = [], [], []
    for scenario, got in runs.items():
        gen, ours, peer, k = got["generate"], got["cardrecon"], got["pandas"], got["replicas"]
        label = f"`{scenario}` ×{k}"
        rows.append([label, "cardrecon (DuckDB)", round(ours["seconds"], 1), "—", "1.00×",
                     round(ours["rss_mb"]), ours["open_breaks"]])  # fmt: skip
        if peer:
            rows.append(
                [
                    label,
                    "pandas (plain)",
                    round(peer["seconds"], 1),
                    f"read {peer['read_seconds']:.1f} + checks {peer['compute_seconds']:.1f}",
                    ratio(peer["seconds"], ours["seconds"]),
                    round(peer["rss_mb"]),
                    "—",
                ]
            )
        what = DATASETS.get(scenario, scenario)
        targets += [
            f"| {label}: all checks ≤ {TARGET_SECONDS:.0f} s wall ({what}) | "
            f"{ours['seconds']:.1f} s | {verdict(ours['seconds'] <= TARGET_SECONDS)} |",
            f"| {label}: peak RSS ≤ {TARGET_RSS_MB:,.0f} MiB | {ours['rss_mb']:,.0f} MiB | "
            f"{verdict(ours['rss_mb'] <= TARGET_RSS_MB)} |",
            f"| {label}: every check compares ×{k} the entities and finds ×{k} the breaks of "
            f"the original world | {'yes' if got['scaled_exactly'] else 'NO'} | "
            f"{verdict(got['scaled_exactly'])} |",
        ]
        s = gen["scaled"]
        details.append(
            f"<details><summary>`{scenario}`: {s['transactions']:,} transactions, "
            f"{s['account_logs'] + s['card_account_logs']:,} ledger rows "
            f"({s['account_logs']:,} account logs + {s['card_account_logs']:,} card account "
            f"logs); per check, original world → replicated (entities checked / breaks), "
            f"and whether pandas found the same</summary>\n\n{got['table']}\n\n</details>"
        )
    first = next(iter(runs.values()))["generate"]["scaled"]
    body = (
        f"Data: a `{size}` world (seed {seed}, v1.4) per scenario, loaded through the "
        "pipeline and replicated in DuckDB (ids and currencies suffixed per replica) to "
        f"≥ {transactions:,} transactions and ≥ {ledger:,} ledger rows; DuckDB "
        f"`memory_limit` {memory_limit}, 2 threads, database file on disk.\n\n"
        + markdown_table(
            [
                "data",
                "contender",
                "wall s",
                "split",
                "time vs cardrecon",
                "peak RSS MiB",
                "open breaks",
            ],
            rows,
        )
        + "\n\n| target | measured | verdict |\n|---|---|---|\n"
        + "\n".join(targets)
        + "\n\n"
        + "\n\n".join(details)
    )
    record(f"B3 — reconciliation at scale ({first['transactions']:,} transactions)", body, results)
    return runs


def _one(
    size: str,
    transactions: int,
    ledger: int,
    scenario: str,
    seed: int,
    memory_limit: str,
    pandas_peer: bool,
) -> dict[str, Any]:
    with tempfile.TemporaryDirectory(prefix="b3-") as tmp:
        db = str(Path(tmp) / "b3.duckdb")
        gen = run_worker(
            "b3.generate",
            {
                "db": db, "size": size, "seed": seed, "scenario": scenario,
                "transactions": transactions, "ledger": ledger,
            },
        )  # fmt: skip
        k = gen["replicas"]
        print(
            f"B3 {scenario}: {size} world ({gen['base']}) loaded in {gen['load_seconds']:.1f} s, "
            f"replicated ×{k} in {gen['replicate_seconds']:.1f} s → {gen['scaled']}",
            flush=True,
        )
        ours = run_worker(
            "b3.cardrecon", {"db": db, "memory_limit": memory_limit, "temp_dir": tmp + "/spill"}
        )
        print(f"  cardrecon {ours['seconds']:.1f} s, peak RSS {ours['rss_mb']:,.0f} MiB")
        peer = None
        if pandas_peer:
            peer = run_worker("b3.pandas", {"db": db, "skip": ours["skipped"]})
            print(
                f"  pandas    {peer['seconds']:.1f} s (read {peer['read_seconds']:.1f} s), "
                f"peak RSS {peer['rss_mb']:,.0f} MiB"
            )
    scaled_ok, table = _scaling(gen, ours, peer, k)
    return {
        "generate": gen,
        "cardrecon": ours,
        "pandas": peer,
        "replicas": k,
        "scaled_exactly": scaled_ok,
        "table": table,
    }


def _scaling(
    gen: dict[str, Any], ours: dict[str, Any], peer: dict[str, Any] | None, k: int
) -> tuple[bool, str]:
    ok = True
    rows = []
    for name, base in gen["base_checks"].items():
        got = ours["checks"][name]
        if base[0] is None:  # skipped
            rows.append([name, "skipped", "skipped", "—"])
            continue
        expected = [v * k for v in base]
        same = list(got) == expected
        ok &= same
        agree = "—"
        if peer is not None:
            agree = "yes" if list(peer["checks"].get(name, [])) == list(got) else "**no**"
        rows.append(
            [
                name,
                f"{base[0]:,} / {base[1]:,}",
                f"{got[0]:,} / {got[1]:,}" + ("" if same else " **≠ ×k**"),
                agree,
            ]
        )
    return ok, markdown_table(["check", "original", f"×{k}", "pandas agrees"], rows)
