"""B2 — processing alone: landed raw pages → canonical tables.

**Input.** A sandbox world (v2.0) extracted in process with nothing loaded: its pages
sit in ``raw.pages`` exactly as a run lands them (setup, not timed).

**Contenders**, each in a fresh process over the same pages:

* **cardrecon** — read the pages from ``raw.pages``, parse them (``exact_json``: money
  as ``Decimal``), normalise, validate with pandera and upsert into ``core.*`` in a
  fresh DuckDB file, in batches of 50 pages (5,000 items) — what ``load_slices`` does
  during a run, with quarantine, conflict detection and per-run counts included.
* **floor** — DuckDB's ``read_json`` of the same payloads (one page per line of an
  NDJSON file per stream, written beforehand) into one table per stream, items
  unnested: no validation, no money types, no upsert.

A third run profiles the cardrecon contender with pyinstrument; its summary is kept in
``bench/profiles/b2.txt`` and the top entries go into the results.
"""

from __future__ import annotations

import tempfile
import time
from pathlib import Path
from typing import Any

from bench.common import HERE, load_world, markdown_table, peak_rss_mb, ratio, record, run_worker

STREAMS = ("transactions", "card_account_logs", "account_logs")
PAGES_PER_BATCH = 50
PROFILE = HERE / "profiles" / "b2.txt"


def land(args: dict[str, Any]) -> dict[str, Any]:
    """Extract a world with nothing loaded; write each stream's payloads as NDJSON too."""
    import duckdb

    from sandbox.world import World

    t0 = time.perf_counter()
    con = duckdb.connect(args["db"])
    load_world(World.create(seed=args["seed"], size=args["size"]), "v2.0", con, land_only=True)
    counts = {}
    for stream in STREAMS:
        rows = con.execute(
            "select payload, item_count from raw.pages where stream = ? order by fetched_at",
            [stream],
        ).fetchall()
        with Path(args["ndjson_dir"], f"{stream}.ndjson").open("w", encoding="utf-8") as fh:
            for payload, _ in rows:
                fh.write(payload.replace("\n", " ") + "\n")
        counts[stream] = sum(n for _, n in rows)
    con.close()
    return {"items": counts, "seconds": time.perf_counter() - t0}


def _process(landed: str, out: str) -> int:
    import duckdb

    from extract.records import RawPage
    from flows.pages import page_loads
    from transform.load import commit_batch, init_schema

    src = duckdb.connect(landed, read_only=True)
    con = duckdb.connect(out)
    init_schema(con)
    items = 0
    for stream in STREAMS:
        cursor = src.execute(
            "select stream, slice_from, slice_to, page_no, request_path, request_params, "
            "response_id, fetched_at, item_count, payload, service_at from raw.pages "
            "where stream = ? "
            "order by fetched_at",
            [stream],
        )
        while chunk := cursor.fetchmany(PAGES_PER_BATCH):
            pages = [RawPage(*row) for row in chunk]
            # the run's loading path over stored pages (as `cardrecon rebuild` replays them)
            loads = page_loads(pages, None, "v2.0", "b2")
            counts = commit_batch(con, "b2", loads, land=False)
            items += sum(c.fetched for c in counts.values())
    src.close()
    con.close()
    return items


def _imports() -> None:
    """Import what processing needs before the clock starts (pandera alone takes ~2 s)."""
    import duckdb  # noqa: F401

    import flows.pages  # noqa: F401
    import transform.load  # noqa: F401


def cardrecon(args: dict[str, Any]) -> dict[str, Any]:
    _imports()
    t0 = time.perf_counter()
    items = _process(args["db"], args["out"])
    return {"items": items, "seconds": time.perf_counter() - t0, "rss_mb": peak_rss_mb()}


def profile(args: dict[str, Any]) -> dict[str, Any]:
    from pyinstrument import Profiler

    _imports()
    profiler = Profiler(interval=0.002)
    with profiler:
        _process(args["db"], args["out"])
    text = profiler.output_text(unicode=False, color=False, show_all=False)
    path = Path(args["profile_path"])
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")
    return {"top": _stages(profiler)}


STAGES = {
    "exact_json": "parse the page (JSON, amounts as Decimal)",
    "normalize": "normalise (items → canonical columns)",
    "validate": "validate (pandera)",
    "dedupe_latest": "deduplicate (latest version wins)",
    "_quarantine_same_run_conflicts": "find same-run conflicts",
    "_upsert": "upsert into core.*",
    "_replace_fee_items": "replace fee items",
    "_quarantine": "quarantine",
    "record_run": "record counts (meta.runs)",
    "transaction": "commit (DuckDB)",
}


def _stages(profiler: Any) -> list[tuple[str, float]]:
    """Share of the processing time spent in each stage of loading a batch."""
    root = profiler.last_session.root_frame()
    spent: dict[str, float] = {}

    def visit(frame: Any) -> None:
        if frame.function in STAGES:
            spent[frame.function] = spent.get(frame.function, 0.0) + frame.time
            return
        for child in frame.children:
            visit(child)

    if root is None:
        return []
    visit(root)
    total = root.time or 1.0
    ranked = [(STAGES[name], t / total) for name, t in spent.items()]
    ranked.sort(key=lambda kv: -kv[1])
    return [
        *ranked,
        ("everything else (reading raw.pages, Python glue)", 1 - sum(s for _, s in ranked)),
    ]


def floor(args: dict[str, Any]) -> dict[str, Any]:
    import duckdb

    con = duckdb.connect(args["out"])
    con.execute("load json")
    t0 = time.perf_counter()
    items = 0
    for stream in STREAMS:
        path = Path(args["ndjson_dir"], f"{stream}.ndjson")
        con.execute(
            f"create table {stream} as select unnest(data, recursive := true) "  # noqa: S608
            "from read_json(?, format = 'newline_delimited', maximum_object_size = 67108864)",
            [str(path)],
        )
        items += con.execute(f"select count(*) from {stream}").fetchall()[0][0]  # noqa: S608
    seconds = time.perf_counter() - t0
    con.close()
    return {"items": items, "seconds": seconds, "rss_mb": peak_rss_mb()}


def run(
    *,
    size: str = "large",
    seed: int = 1,
    profile_run: bool = True,
    results: Path | None = None,
    profile_path: Path = PROFILE,
) -> dict[str, Any]:
    with tempfile.TemporaryDirectory(prefix="b2-") as tmp:
        db = str(Path(tmp) / "landed.duckdb")
        landed = run_worker("b2.land", {"db": db, "size": size, "seed": seed, "ndjson_dir": tmp})
        total = sum(landed["items"].values())
        print(f"B2: {size} world landed ({landed['items']}) in {landed['seconds']:.1f} s")
        figures = {}
        for who in ("floor", "cardrecon"):
            got = run_worker(
                f"b2.{who}", {"db": db, "out": str(Path(tmp) / f"{who}.duckdb"), "ndjson_dir": tmp}
            )
            if got["items"] != total:
                raise RuntimeError(f"B2 {who} processed {got['items']:,} items, not {total:,}")
            got["rows_s"] = got["items"] / got["seconds"]
            figures[who] = got
            print(f"  {who:<9} {got['seconds']:.1f} s {got['rows_s']:,.0f} rows/s")
        top = []
        if profile_run:
            top = run_worker(
                "b2.profile",
                {
                    "db": db,
                    "out": str(Path(tmp) / "profiled.duckdb"),
                    "profile_path": str(profile_path),
                },
            )["top"]
    rows = [
        [who, f["items"], round(f["seconds"], 1), round(f["rows_s"]),
         ratio(f["rows_s"], figures["floor"]["rows_s"]), round(f["rss_mb"])]
        for who, f in figures.items()
    ]  # fmt: skip
    body = (
        f"Input: the `{size}` world (seed {seed}, v2.0), {total:,} items in landed pages "
        f"({', '.join(f'{k} {v:,}' for k, v in landed['items'].items())}).\n\n"
        + markdown_table(["contender", "rows", "wall s", "rows/s", "× floor", "peak RSS MiB"], rows)
    )
    if top:
        body += (
            "\n\nWhere cardrecon's time goes (a separate run under pyinstrument; the full "
            "profile is in `bench/profiles/b2.txt`):\n\n"
            + markdown_table(["stage", "share of the time"], [[n, f"{s:.1%}"] for n, s in top])
        )
    record(f"B2 — processing alone ({size})", body, results)
    return {"landed": landed, **figures, "top": top}
