"""Run one benchmark contender in this (fresh) process: ``python -m bench.worker MOD.FUNC ARGS``.

``MOD.FUNC`` is a function of a ``bench`` module taking the JSON ``ARGS`` as a dict; the
worker prints its result as one JSON line on stdout (progress goes to stderr).
"""

from __future__ import annotations

import importlib
import json
import sys


def main() -> None:
    task, raw = sys.argv[1], sys.argv[2]
    module, _, func = task.rpartition(".")
    fn = getattr(importlib.import_module(f"bench.{module}"), func)
    result = fn(json.loads(raw))
    print(json.dumps(result, default=str), flush=True)


if __name__ == "__main__":
    main()
