"""The README is true to the code: commands, checks, and its SQL work as printed."""

from __future__ import annotations

import re
from pathlib import Path

from support.pipeline import reconcile_world
from typer.main import get_command

from flows.cli import app
from transform.reconcile import CHECKS

README = (Path(__file__).parent.parent / "README.md").read_text(encoding="utf-8")


def test_readme_opens_with_the_two_quick_start_commands() -> None:
    start = README.index("## Quick start")
    block = README[start : README.index("```", README.index("```", start) + 3)]
    assert "uv run cardrecon demo" in block and "uv run pytest" in block


def test_every_cli_command_and_its_options_are_documented() -> None:
    group = get_command(app)
    commands = group.commands  # type: ignore[attr-defined]
    assert set(commands) == {"demo", "run", "serve", "sandbox", "doctor"}
    for name, command in commands.items():
        assert f"cardrecon {name}" in README, name
        if name in ("demo", "run", "sandbox", "doctor"):
            for param in command.params:
                flag = param.opts[0]
                if flag.startswith("--") and flag not in ("--help", "--list-scenarios"):
                    assert flag in README or name == "sandbox", f"{name} {flag}"


def test_every_check_is_documented() -> None:
    for check in CHECKS:
        assert f"`{check.name}`" in README, check.name


def test_the_readme_queries_work_as_printed() -> None:
    con, _, _, _ = reconcile_world("order_fee_differs", "v2.0")
    queries = re.findall(r"```sql\n(.*?)```", README, flags=re.S)
    assert len(queries) == 3
    results = [con.execute(q).fetchall() for q in queries]
    assert results[0], "open breaks by check"
    assert ("fee_mismatch", "error") in {(r[0], r[1]) for r in results[0]}
    assert results[1], "card balances"
    assert results[2], "fees by order"
