"""B1 — extraction end to end, against the network floor and against dlt.

The sandbox runs in its own process on loopback. Three contenders fetch the same three
streams (transactions, card account logs, account logs) over the same window, one-day
slices, page size 100, at most ``concurrency`` requests in flight:

* **floor** — a minimal async httpx loop: fetch every page, parse just enough of the
  envelope (orjson) to find the next page, discard it. Nothing is kept.
* **cardrecon** — our extractor with the loader: pages landed in ``raw.pages``, items
  normalised, validated (pandera) and upserted into ``core.*`` in a DuckDB file,
  watermarks committed with them (``flows.steps``: ``Session.streams`` + the run's ``Committer``;
  the snapshots are not part of B1: the other contenders do not take them).
* **dlt** — ``bench.dlt_peer``: dlt's ``rest_api`` source into DuckDB.

Each contender runs in a fresh process; rows/s = items fetched / wall seconds of the
contender's own work (process start-up and imports excluded, the OAuth token included).
Peak RSS is the contender process's ``ru_maxrss``. Two window sizes show whether memory
stays flat as history grows.
"""

from __future__ import annotations

import asyncio
import tempfile
import time
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import httpx
import orjson

from bench.common import (
    SANDBOX_CLIENT,
    markdown_table,
    peak_rss_mb,
    ratio,
    record,
    run_worker,
    sandbox_process,
    verdict,
)

STREAMS = {
    # path, paging kind
    "transactions": ("/v1/transactions", "cursor"),
    "card_account_logs": ("/v1/accounts/cardAccountLogs", "page"),
    "account_logs": ("/v1/accounts/accountLogs", "offset"),
}
PAGE_SIZE = 100


# -- contenders (run inside bench.worker) ---------------------------------------------
async def _floor(base_url: str, first: date, last: date, concurrency: int) -> dict[str, Any]:
    """Fetch every page of the three v2.0 streams, one-day slices, and throw it away."""
    limits = httpx.Limits(max_connections=concurrency, max_keepalive_connections=concurrency)
    async with httpx.AsyncClient(base_url=base_url, limits=limits, timeout=120) as http:
        token = await http.post(
            "/connect/token",
            data={
                "grant_type": "client_credentials",
                "client_id": SANDBOX_CLIENT[0],
                "client_secret": SANDBOX_CLIENT[1],
            },
        )
        token.raise_for_status()
        http.headers["Authorization"] = f"Bearer {orjson.loads(token.content)['access_token']}"
        gate = asyncio.Semaphore(concurrency)
        counts = {"items": 0, "pages": 0}

        async def get(path: str, params: dict[str, Any]) -> Any:
            async with gate:
                reply = await http.get(path, params=params)
            reply.raise_for_status()
            counts["pages"] += 1
            return orjson.loads(reply.content)

        async def one_slice(path: str, kind: str, day: date) -> None:
            params: dict[str, Any] = {
                "TransactionDateFrom": day.isoformat(),
                "TransactionDateTo": day.isoformat(),
            }
            if kind == "offset":
                params["Limit"], params["Offset"] = PAGE_SIZE, 0
            else:
                params["PageSize"] = PAGE_SIZE
            if kind == "page":
                params["PageNumber"] = 1
            while True:
                body = await get(path, params)
                counts["items"] += len(body["data"])
                page = body["pagination"]
                if kind == "cursor":
                    if not page.get("hasMore"):
                        return
                    params = params | {"PageCursor": page["nextCursor"]}
                elif kind == "page":
                    if params["PageNumber"] >= page["totalPages"]:
                        return
                    params = params | {"PageNumber": params["PageNumber"] + 1}
                else:
                    offset = params["Offset"] + PAGE_SIZE
                    if offset >= page["totalCount"]:
                        return
                    params = params | {"Offset": offset}

        days = [first + timedelta(days=i) for i in range((last - first).days + 1)]
        await asyncio.gather(
            *(one_slice(path, kind, d) for path, kind in STREAMS.values() for d in days)
        )
        return counts


def floor(args: dict[str, Any]) -> dict[str, Any]:
    first, last = date.fromisoformat(args["first"]), date.fromisoformat(args["last"])
    t0 = time.perf_counter()
    counts = asyncio.run(_floor(args["base_url"], first, last, args["concurrency"]))
    return counts | {"seconds": time.perf_counter() - t0, "rss_mb": peak_rss_mb()}


def cardrecon(args: dict[str, Any]) -> dict[str, Any]:
    """Our extractor + loader over the window into a fresh DuckDB file."""
    import duckdb

    from extract.auth import ClientCredentials
    from extract.session import ExtractSettings, Session
    from flows.steps import Committer, extract_windows
    from transform.load import init_schema

    first, last = date.fromisoformat(args["first"]), date.fromisoformat(args["last"])
    settings = ExtractSettings(
        base_url=args["base_url"],
        credentials=ClientCredentials(*SANDBOX_CLIENT),
        dialect="v2.0",
        start=first,
        end=last,
        concurrency=args["concurrency"],
        page_size=PAGE_SIZE,
    )
    con = duckdb.connect(args["db"])
    init_schema(con)
    committer = Committer(con, "bench", "v2.0", batch_items=5_000)
    windows = dict.fromkeys(settings.streams, (first, last))

    async def go() -> Any:
        async with Session(settings) as session:
            return await extract_windows(session, committer, "v2.0", windows, None)

    t0 = time.perf_counter()
    outcomes = asyncio.run(go())
    for stream, error in committer.flush_all().items():
        outcomes[stream].error = error
    seconds = time.perf_counter() - t0
    errors = {s: o.error for s, o in outcomes.items() if o.error}
    if errors:
        raise RuntimeError(f"extraction failed: {errors}")
    loaded = {
        table: con.execute(f"select count(*) from core.{table}").fetchall()[0][0]  # noqa: S608
        for table in ("transactions", "card_account_logs", "account_logs")
    }
    quarantined = con.execute("select count(*) from core.quarantine").fetchall()[0][0]
    con.close()
    return {
        "items": sum(o.items for o in outcomes.values()),
        "pages": sum(o.pages for o in outcomes.values()),
        "loaded": sum(loaded.values()),
        "quarantined": quarantined,
        "seconds": seconds,
        "rss_mb": peak_rss_mb(),
    }


def dlt(args: dict[str, Any]) -> dict[str, Any]:
    from bench.dlt_peer import run_dlt

    first, last = date.fromisoformat(args["first"]), date.fromisoformat(args["last"])
    t0 = time.perf_counter()
    rows = run_dlt(
        args["base_url"],
        *SANDBOX_CLIENT,
        first,
        last,
        workdir=Path(args["workdir"]),
        concurrency=args["concurrency"],
        page_size=PAGE_SIZE,
    )
    seconds = time.perf_counter() - t0
    return {
        "items": sum(rows.values()),
        "loaded": sum(rows.values()),
        "seconds": seconds,
        "rss_mb": peak_rss_mb(),
    }


# -- the benchmark ---------------------------------------------------------------------
TARGET_FLOOR, TARGET_DLT, TARGET_RSS_MB = 0.8, 3.0, 1024.0


def run(
    size: str = "large",
    *,
    concurrency: int = 8,
    results: Path | None = None,
    contenders: tuple[str, ...] = ("floor", "cardrecon", "dlt"),
) -> dict[str, Any]:
    """Serve a ``size`` world, run every contender over half of its span and all of it."""
    rows: list[list[Any]] = []
    figures: dict[str, dict[str, dict[str, Any]]] = {}
    with sandbox_process(size) as sb, tempfile.TemporaryDirectory(prefix="b1-") as tmp:
        first = date.fromisoformat(sb.info["start"][:10])
        last = date.fromisoformat(sb.info["as_of"][:10])
        span = (last - first).days + 1
        windows = {"half": (last - timedelta(days=span // 2 - 1), last), "full": (first, last)}
        print(
            f"B1: sandbox {size} ({sb.info['counts']}) up in {sb.started_in:.1f} s; "
            f"windows {windows}",
            flush=True,
        )
        for label, (a, b) in windows.items():
            figures[label] = {}
            for who in contenders:
                args = {
                    "base_url": sb.base_url,
                    "first": a.isoformat(),
                    "last": b.isoformat(),
                    "concurrency": concurrency,
                    "db": str(Path(tmp) / f"{who}-{label}.duckdb"),
                    "workdir": str(Path(tmp) / f"dlt-{label}"),
                }
                got = run_worker(f"b1.{who}", args)
                got["rows_s"] = got["items"] / got["seconds"]
                figures[label][who] = got
                print(
                    f"  {label:<4} {who:<9} {got['items']:>10,} rows "
                    f"{got['seconds']:8.1f} s {got['rows_s']:>10,.0f} rows/s "
                    f"peak RSS {got['rss_mb']:,.0f} MiB",
                    flush=True,
                )
            floor_rate = figures[label].get("floor", {}).get("rows_s", 0.0)
            for who, got in figures[label].items():
                rows.append(
                    [
                        f"{label} ({(b - a).days + 1} days)",
                        who,
                        got["items"],
                        got.get("loaded", "—"),
                        round(got["seconds"], 1),
                        round(got["rows_s"]),
                        ratio(got["rows_s"], floor_rate),
                        round(got["rss_mb"]),
                    ]
                )
    body = markdown_table(
        ["window", "contender", "rows fetched", "rows loaded", "wall s", "rows/s",
         "× floor", "peak RSS MiB"],
        rows,
    )  # fmt: skip
    body += "\n\n" + _targets(figures)
    body += (
        f"\n\nSandbox `{size}` (seed 1, v2.0) in its own process on loopback; "
        f"{concurrency} requests in flight; one-day slices; page size {PAGE_SIZE}."
    )
    record(f"B1 — extraction end to end ({size})", body, results)
    return figures


def _targets(figures: dict[str, dict[str, dict[str, Any]]]) -> str:
    full = figures.get("full", {})
    if not {"floor", "cardrecon"} <= full.keys():
        return ""
    ours = full["cardrecon"]
    lines = ["| target | measured | verdict |", "|---|---|---|"]
    vs_floor = ours["rows_s"] / full["floor"]["rows_s"]
    lines.append(
        f"| cardrecon ≥ {TARGET_FLOOR}× floor rows/s | {vs_floor:.2f}× | "
        f"{verdict(vs_floor >= TARGET_FLOOR)} |"
    )
    if "dlt" in full:
        vs_dlt = ours["rows_s"] / full["dlt"]["rows_s"]
        lines.append(
            f"| cardrecon ≥ {TARGET_DLT}× dlt rows/s | {vs_dlt:.2f}× | "
            f"{verdict(vs_dlt >= TARGET_DLT)} |"
        )
    rss = [figures[w]["cardrecon"]["rss_mb"] for w in figures if "cardrecon" in figures[w]]
    lines.append(
        f"| cardrecon peak RSS ≤ {TARGET_RSS_MB:,.0f} MiB | {max(rss):,.0f} MiB | "
        f"{verdict(max(rss) <= TARGET_RSS_MB)} |"
    )
    if "half" in figures and "cardrecon" in figures["half"]:
        half, whole = figures["half"]["cardrecon"], full["cardrecon"]
        growth = whole["rss_mb"] / half["rss_mb"]
        lines.append(
            f"| peak RSS flat as history grows ({half['items']:,} → {whole['items']:,} rows) "
            f"| {half['rss_mb']:,.0f} → {whole['rss_mb']:,.0f} MiB ({growth:.2f}×) "
            f"| {verdict(growth <= 1.25)} |"
        )
    return "\n".join(lines)
