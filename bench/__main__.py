"""``uv run python -m bench <name>``: run a benchmark, print its table, append to RESULTS.md.

Names: ``b1`` (extraction vs the network floor and dlt), ``b2`` (processing alone),
``b3`` (reconciliation at 10 million rows), ``b4`` (the incremental run), ``all``.
See bench/README.md.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

NAMES = ("b1", "b2", "b3", "b4")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__)
    parser.add_argument("name", choices=(*NAMES, "all"))
    parser.add_argument(
        "--size",
        help="sandbox world size: tiny, demo or large (default: large for b1/b2, demo for "
        "b3's base world and b4)",
    )
    parser.add_argument(
        "--results", type=Path, help="append here instead of bench/RESULTS.md (e.g. for a try)"
    )
    parser.add_argument("--concurrency", type=int, default=8, help="b1: requests in flight")
    parser.add_argument(
        "--rows", type=int, default=10_000_000, help="b3: transactions and ledger rows to reach"
    )
    parser.add_argument("--memory-limit", default="3GB", help="b3: DuckDB memory_limit")
    parser.add_argument("--no-peer", action="store_true", help="b1: skip dlt; b3: skip pandas")
    parser.add_argument("--no-profile", action="store_true", help="b2: skip the profiled run")
    args = parser.parse_args(argv)
    os.environ.setdefault("PREFECT_SERVER_ANALYTICS_ENABLED", "false")  # no phoning home

    from bench import b1, b2, b3, b4

    for name in NAMES if args.name == "all" else (args.name,):
        t0 = time.perf_counter()
        if name == "b1":
            contenders = ("floor", "cardrecon") if args.no_peer else ("floor", "cardrecon", "dlt")
            b1.run(
                args.size or "large",
                concurrency=args.concurrency,
                results=args.results,
                contenders=contenders,
            )
        elif name == "b2":
            b2.run(size=args.size or "large", profile_run=not args.no_profile, results=args.results)
        elif name == "b3":
            b3.run(
                size=args.size or "demo",
                transactions=args.rows,
                ledger=args.rows,
                memory_limit=args.memory_limit,
                pandas_peer=not args.no_peer,
                results=args.results,
            )
        else:
            b4.run(size=args.size or "demo", results=args.results)
        print(f"{name} done in {time.perf_counter() - t0:.0f} s", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
