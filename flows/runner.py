"""Running the flow from the command line: environment, progress, summary, exit codes."""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from rich.console import Console
from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from extract.streams import STREAM_NAMES, StreamName

QUIET_LOGGING = {
    "PREFECT_SERVER_ANALYTICS_ENABLED": "false",
    "PREFECT_LOGGING_LEVEL": "CRITICAL",  # failures reach the user as one line, not a log
    "PREFECT_LOGGING_LOG_PRINTS": "false",
    # Prefect gives its ephemeral API server 20 s to start; a first run (new database)
    # on a busy 2-core machine can take longer (seen in B4), and then the run fails
    "PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS": "120",
}


def prepare_environment(verbose: bool = False) -> None:
    """Prefect settings for a CLI run: offline, quiet unless asked (before importing prefect)."""
    for key, value in QUIET_LOGGING.items():
        level = "INFO" if key == "PREFECT_LOGGING_LEVEL" and verbose else value
        os.environ.setdefault(key, level)


@contextmanager
def environment(**values: str | None) -> Iterator[None]:
    """Set environment variables for the duration (flags reach the flow's settings)."""
    saved = {k: os.environ.get(k) for k in values}
    try:
        for key, value in values.items():
            if value is not None:
                os.environ[key] = value
        yield
    finally:
        for key, old in saved.items():
            if old is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = old


@contextmanager
def progress_bars(console: Console, enabled: bool) -> Iterator[None]:
    """Per-stream progress (pages, items, rate) fed by the extraction's page callback."""
    from flows import pipeline

    if not enabled:
        yield
        return
    columns = (
        TextColumn("{task.description:<18}"),
        BarColumn(bar_width=20),
        TextColumn("{task.fields[pages]:>6} pages {task.fields[items]:>8} items"),
        TextColumn("{task.fields[rate]:>7} items/s"),
        TimeElapsedColumn(),
    )
    with Progress(*columns, console=console, transient=True) as progress:
        tasks = {
            s: progress.add_task(s, total=None, pages=0, items=0, rate="-") for s in STREAM_NAMES
        }
        counts = {s: [0, 0] for s in STREAM_NAMES}

        def on_page(stream: StreamName, pages: int, items: int) -> None:
            counts[stream][0] += pages
            counts[stream][1] += items
            task = progress.tasks[tasks[stream]]
            elapsed = task.elapsed or 0.0
            rate = f"{counts[stream][1] / elapsed:,.0f}" if elapsed > 0.5 else "-"
            progress.update(
                tasks[stream], pages=counts[stream][0], items=counts[stream][1], rate=rate
            )

        pipeline.PROGRESS = on_page
        try:
            yield
        finally:
            pipeline.PROGRESS = None


def print_summary(console: Console, result: dict[str, Any]) -> None:
    """The run's outcome as a finance user reads it: verdict, streams, breaks, holds."""
    rows = result["summary"]
    verdict = result["verdict"]
    colour = {"reconciled": "green", "reconciled_with_warnings": "yellow"}.get(verdict, "red")
    console.print(
        f"[bold]{result['run_id']}[/]: [bold {colour}]{verdict}[/] "
        f"(dialect {result['dialect']}, {result['requests']} requests)"
    )
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
    checks = [r for r in rows if r["section"] == "check"]
    breaking = [r for r in checks if (r["errors"] or 0) + (r["warnings"] or 0) + (r["infos"] or 0)]
    if breaking:
        table = Table(title="open breaks", title_justify="left")
        for col in ("check", "currency", "errors", "warnings", "info", "total difference"):
            table.add_column(col, justify="left" if col in ("check", "currency") else "right")
        for r in sorted(breaking, key=lambda r: (-(r["errors"] or 0), r["name"])):
            table.add_row(
                r["name"],
                r["currency"] or "",
                str(r["errors"] or 0),
                str(r["warnings"] or 0),
                str(r["infos"] or 0),
                str(r["abs_difference"] or ""),
            )
        console.print(table)
    clean = sorted({r["name"] for r in checks if not r["note"]} - {r["name"] for r in breaking})
    skipped = sorted({r["name"] for r in checks if r["note"]})
    if clean:
        console.print(f"[green]tie out:[/] {', '.join(clean)}", highlight=False)
    if skipped:
        console.print(
            f"[dim]skipped (the dialect lacks the field):[/] {', '.join(skipped)}", highlight=False
        )
    for r in rows:
        if r["section"] == "hold":
            console.print(
                f"on hold (open authorizations, not breaks): {r['amount_on_hold']} "
                f"{r['currency']} in {r['entities_checked']} transactions",
                highlight=False,
            )
