"""The command line's two consoles and its one way to fail: one clear line on stderr."""

from __future__ import annotations

from typing import NoReturn

import typer
from rich.console import Console

out_console = Console()
err = Console(stderr=True)
NOT_A_TERMINAL_WIDTH = 10_000  # a pipe or a file gets whole lines, never cut at 80 columns


def whole_lines(*consoles: Console) -> None:
    """Output that is not a terminal (a pipe, a file, cron's mail) is never cut to 80 columns."""
    for console in consoles:
        if not console.is_terminal:
            console.width = NOT_A_TERMINAL_WIDTH


def fail(message: str, code: int = 2) -> NoReturn:
    """One clear line on stderr, then exit (2: usage/config, 1: the run failed)."""
    err.print(f"[bold red]error:[/] {message}", highlight=False, soft_wrap=True)
    raise typer.Exit(code)
