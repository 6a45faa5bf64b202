"""Seeded crash points: a test hook for the crash-and-resume tests (tests/reliability).

The flow calls ``crashpoint("<name>")`` at a few places where a real crash would hurt
most: after the dialect is detected (``dialect``), in the middle of a load transaction
(``load``: rows written, watermark not yet), after each stream's extraction
(``stream``) and between the reconciliation and the reports (``reconciled``).

TEST HOOK: when the environment variable ``CARDREC_CRASH_AT`` equals ``name`` (the
first time that point is reached) or ``name:N`` (the N-th time, counting from 1), the
process kills itself with SIGKILL - no ``finally``, no ``atexit``, no flush: exactly
what a power cut or an OOM kill does. Unset (always, outside those tests), it does
nothing. This module is the only place that reads the variable.
"""

from __future__ import annotations

import os
import signal
from collections import Counter

ENV = "CARDREC_CRASH_AT"
_reached: Counter[str] = Counter()


def crashpoint(name: str) -> None:
    """Kill this process with SIGKILL if ``CARDREC_CRASH_AT`` names this point (test hook)."""
    wanted = os.environ.get(ENV)
    if not wanted:
        return
    _reached[name] += 1
    point, _, nth = wanted.partition(":")
    if point != name:
        return
    if _reached[name] == (int(nth) if nth.isdigit() else 1):
        os.kill(os.getpid(), signal.SIGKILL)
