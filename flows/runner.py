"""Running the flow from the command line: environment, progress, summary, exit codes.

Interruption (``run_interruptibly``): the flow runs in a worker thread while the main
thread waits and owns SIGINT and SIGTERM. Run in the main thread, Prefect swaps in its own
SIGTERM handler for the flow's duration and, after Ctrl-C has also stopped its ephemeral
API server (same process group), spends a minute retrying that server; supervised from
the main thread, a signal sets ``flows.stopping.STOP``, the run winds down on its own
(extraction cancelled, connection closed) and the CLI leaves within seconds either way.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from types import FrameType
from typing import Any, NoReturn

from rich.console import Console
from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from extract.streams import STREAM_NAMES

QUIET_LOGGING = {
    "PREFECT_SERVER_ANALYTICS_ENABLED": "false",
    "PREFECT_LOGGING_LEVEL": "CRITICAL",  # failures reach the user as one line, not a log
    # ... and so do our own modules' errors (a stream stopped, with its traceback): the
    # run's outcome says them once; --verbose shows the log
    "PREFECT_LOGGING_ROOT_LEVEL": "CRITICAL",
    "PREFECT_LOGGING_LOG_PRINTS": "false",
    # Prefect gives its ephemeral API server 20 s to start; a first run (new database)
    # on a busy 2-core machine can take longer (seen in B4), and then the run fails
    "PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS": "120",
}


def prepare_environment(verbose: bool = False) -> None:
    """Prefect settings for a CLI run: offline, quiet unless asked (before importing prefect)."""
    loud = {"PREFECT_LOGGING_LEVEL": "INFO", "PREFECT_LOGGING_ROOT_LEVEL": "WARNING"}
    for key, value in QUIET_LOGGING.items():
        os.environ.setdefault(key, loud.get(key, value) if verbose else value)


GRACE_SECONDS = 2.5  # after a signal, how long the run may take to wind down by itself
SERVER_STOP_SECONDS = 1.0  # then Prefect's ephemeral API server gets this long to stop
INTERRUPTS = (signal.SIGINT, signal.SIGTERM)


@dataclass
class Outcome:
    """How a supervised run ended: its result or exception, and the signal that stopped it."""

    result: Any = None
    error: BaseException | None = None
    signum: int | None = None
    finished: bool = True  # False: still winding down when the grace period ran out


def run_interruptibly(
    work: Callable[[], Any], stop: threading.Event, grace: float = GRACE_SECONDS
) -> Outcome:
    """Run ``work`` in a worker thread; SIGINT/SIGTERM set ``stop`` and end the wait.

    After a signal the worker gets ``grace`` seconds to finish (a second signal ends the
    wait at once). Interrupted, the handlers stay installed, ignoring further signals, so
    the caller's cleanup is not cut short; otherwise the previous handlers come back.
    """
    outcome = Outcome()
    received: list[int] = []

    def on_signal(signum: int, _frame: FrameType | None) -> None:
        received.append(signum)
        stop.set()

    def target() -> None:
        try:
            outcome.result = work()
        except BaseException as exc:  # handed to the main thread, which decides
            outcome.error = exc

    previous = {s: signal.signal(s, on_signal) for s in INTERRUPTS}
    worker = threading.Thread(target=target, name="cardrecon-run", daemon=True)
    worker.start()
    deadline: float | None = None
    while worker.is_alive():
        worker.join(0.05)
        if received:
            deadline = deadline or time.monotonic() + grace
            if len(received) > 1 or time.monotonic() >= deadline:
                break
    outcome.finished = not worker.is_alive()
    if received:
        outcome.signum = received[0]
        for s in INTERRUPTS:
            signal.signal(s, signal.SIG_IGN)
    else:
        for s, handler in previous.items():
            signal.signal(s, handler)
    return outcome


def stop_prefect_server(timeout: float = SERVER_STOP_SECONDS) -> None:
    """Stop Prefect's ephemeral API server (a child process), if this process started one.

    Prefect stops it at exit; a process that leaves with ``os._exit`` must do it itself,
    or the server outlives it.
    """
    module = sys.modules.get("prefect.server.api.server")
    servers = getattr(getattr(module, "SubprocessASGIServer", None), "_instances", {})
    procs = [s.server_process for s in list(servers.values()) if s.server_process is not None]
    for proc in procs:
        if proc.poll() is None:
            proc.terminate()
    deadline = time.monotonic() + timeout
    for proc in procs:
        try:
            proc.wait(max(deadline - time.monotonic(), 0.01))
        except subprocess.TimeoutExpired:  # still running after the grace period
            proc.kill()


def leave(code: int) -> NoReturn:
    """End the process now: the ephemeral server stopped, output flushed, no exit hooks.

    Prefect's exit hooks would drain its event and log workers to an API server that a
    Ctrl-C may already have stopped (a minute of retries); the data needs none of them
    (DuckDB rolls back what was not committed, reports are renamed into place whole).
    """
    stop_prefect_server()
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(code)


@contextmanager
def progress_bars(console: Console, enabled: bool) -> Iterator[None]:
    """Progress per stream (pages, items, rate) and of the card and order snapshots.

    Fed by the run's progress callback: the streams report pages, the snapshots report
    each card and order done after telling their totals (so their bars are determinate).
    """
    from flows.steps import PROGRESS

    if not enabled:
        yield
        return
    columns = (
        TextColumn("{task.description:<18}"),
        BarColumn(bar_width=20),
        TextColumn("{task.fields[counts]}"),
        TextColumn("{task.fields[rate]:>7} items/s"),
        TimeElapsedColumn(),
    )
    snapshots = ("cards", "orders")

    def _counts(done: int, items: int, total: float | None = None) -> str:
        """Pages and items of a stream; done of total, and items kept, of a snapshot row."""
        if total is None:
            return f"{done:>6} pages {items:>8} items"
        return f"{done:>6}/{int(total):<6}{items:>8} items"

    with Progress(*columns, console=console, transient=True) as progress:
        names: tuple[str, ...] = (*STREAM_NAMES, *snapshots)
        # a snapshot row starts (its clock too) when it is told its total
        tasks = {
            name: progress.add_task(
                name,
                total=None,
                start=name not in snapshots,
                counts="" if name in snapshots else _counts(0, 0),
                rate="-",
            )
            for name in names
        }
        counts = {name: [0, 0] for name in names}

        def on_progress(name: str, done: int, items: int, total: int | None = None) -> None:
            row = tasks.get(name)
            if row is None:
                return
            if total is not None:
                progress.reset(row, total=total)  # clears the counts and starts the clock
                counts[name] = [0, 0]
            counts[name][0] += done
            counts[name][1] += items
            task = progress.tasks[row]
            elapsed = task.elapsed or 0.0
            rate = f"{counts[name][1] / elapsed:,.0f}" if elapsed > 0.5 else "-"
            if name in snapshots:
                text = _counts(counts[name][0], counts[name][1], task.total)
                progress.update(row, completed=counts[name][0], counts=text, rate=rate)
            else:
                progress.update(row, counts=_counts(*counts[name]), rate=rate)

        token = PROGRESS.set(on_progress)  # seen by the run started in this context
        try:
            yield
        finally:
            PROGRESS.reset(token)


def _breaks(result: dict[str, Any]) -> str:
    """``3 open errors, 1 warning``: the open breaks that count (infos are notes)."""
    errors, warnings = result["open_errors"], result["open_warnings"]
    return (
        f"{errors} open error{'' if errors == 1 else 's'}, "
        f"{warnings} warning{'' if warnings == 1 else 's'}"
    )


def quiet_line(result: dict[str, Any]) -> str:
    """``--quiet``: one line (the verdict, open errors and warnings, where the reports are)."""
    line = f"{result['run_id']}: {result['verdict']}, {_breaks(result)}; reports in {result['out']}"
    if result["failed"]:
        line += f"; failed: {'; '.join(result['failed'])}"
    return " ".join(line.split())  # one line, whatever a failure message holds


def print_summary(console: Console, result: dict[str, Any]) -> None:
    """The run's outcome as a finance user reads it: what it covers, streams, breaks, holds.

    Open breaks are errors and warnings; infos are notes, listed apart with their count.
    """
    from flows.summary import covers, stream_origin

    rows = result["summary"]
    verdict = result["verdict"]
    colour = {"reconciled": "green", "reconciled_with_warnings": "yellow"}.get(verdict, "red")
    console.print(
        f"[bold]{result['run_id']}[/]: [bold {colour}]{verdict}[/] "
        f"({_breaks(result)}; {result['requests']} requests)",
        highlight=False,
    )
    console.print(f"covers: {covers(result)}", highlight=False)
    for stream in STREAM_NAMES:
        if stream in result["streams"] or stream in result["skipped"]:
            console.print(f"  {stream}: {stream_origin(result, stream)}", highlight=False)
    streams = Table(title="streams", title_justify="left")
    for col in ("stream", "fetched", "loaded", "quarantined", "out of window"):
        streams.add_column(col, justify="left" if col == "stream" else "right")
    for r in rows:
        if r["section"] == "stream":
            streams.add_row(
                r["name"],
                str(r["fetched"]),
                str(r["loaded"]),
                str(r["quarantined"]),
                str(r["out_of_window"] or 0),
            )
    console.print(streams)
    _print_checks(console, [r for r in rows if r["section"] == "check"])
    for r in rows:
        if r["section"] == "hold":
            console.print(
                f"on hold (open authorizations, not breaks): {r['amount_on_hold']} "
                f"{r['currency']} in {r['entities_checked']} transactions",
                highlight=False,
            )


def _print_checks(console: Console, checks: list[dict[str, Any]]) -> None:
    """Open breaks (errors, warnings) per check and currency; notes (infos); the rest."""
    breaking = [r for r in checks if (r["errors"] or 0) + (r["warnings"] or 0)]
    if breaking:
        table = Table(title="open breaks", title_justify="left")
        for col in ("check", "currency", "errors", "warnings", "total difference"):
            left = col in ("check", "currency")
            table.add_column(col, justify="left" if left else "right", overflow="fold")
        for r in sorted(breaking, key=lambda r: (-(r["errors"] or 0), r["name"])):
            table.add_row(
                r["name"],
                r["currency"] or "",
                str(r["errors"] or 0),
                str(r["warnings"] or 0),
                str(r["abs_difference"] or ""),
            )
        console.print(table)
    infos: dict[str, int] = {}
    for r in checks:
        if r["infos"]:
            infos[r["name"]] = infos.get(r["name"], 0) + int(r["infos"])
    if infos:
        notes = ", ".join(f"{name} {count:,}" for name, count in sorted(infos.items()))
        console.print(f"notes (info, not breaks): {notes}", highlight=False)
    # comparisons whose other side lies outside the extracted history (a closed period's
    # snapshots, settlements after it): counted, not compared, so never said to tie
    outside = {r["name"]: int(r["out_of_window"]) for r in checks if r["out_of_window"]}
    # comparisons that include a record that cannot be trusted: not compared, never "tie"
    blocked = {
        r["name"]: int(r["blocked_by_quarantine"]) for r in checks if r.get("blocked_by_quarantine")
    }
    noted = {r["name"] for r in breaking} | set(infos) | set(outside) | set(blocked)
    # a check that had nothing to compare (no quarantined record at all) did not "tie"
    empty = {r["name"] for r in checks if not r["note"] and not r["entities_checked"]}
    clean = sorted({r["name"] for r in checks if not r["note"]} - noted - empty)
    skipped = sorted({r["name"] for r in checks if r["note"]})
    if clean:
        console.print(f"[green]tie out:[/] {', '.join(clean)}", highlight=False)
    if empty - noted:
        console.print(
            f"[dim]nothing to compare:[/] {', '.join(sorted(empty - noted))}", highlight=False
        )
    if outside:
        counts = ", ".join(f"{name} {n:,}" for name, n in sorted(outside.items()))
        console.print(
            "[yellow]out of window[/] (not compared: the other side lies outside the extracted "
            f"history; a run that covers it compares them): {counts}",
            highlight=False,
        )
    untrusted = sum(int(r["errors"] or 0) for r in checks if r["name"] == "quarantined_record")
    if untrusted or blocked:
        counts = ", ".join(f"{name} {n:,}" for name, n in sorted(blocked.items())) or "none"
        console.print(
            f"[red]untrusted records:[/] {untrusted:,} quarantined and not replaced "
            "(quarantined_record breaks; the verdict cannot be reconciled while they stay); "
            f"blocked by quarantine (not compared: they include one of them): {counts}",
            highlight=False,
        )
    if skipped:
        console.print(
            f"[dim]skipped (the dialect lacks the field):[/] {', '.join(skipped)}", highlight=False
        )
