"""The README is true to the code: commands, configuration, checks, and its SQL work as printed.

The commands and their options come from the typer app itself, so a new command or option
fails here until the README's "Command line" block shows it; the configuration table is
compared with ``flows.settings.Settings`` field by field.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest
from support.pipeline import reconcile_world
from typer.main import get_command

from flows.cli import app
from flows.settings import DEFAULT_REPORTS, Settings
from transform.reconcile import CHECKS, ReconSettings

ROOT = Path(__file__).parent.parent
README = (ROOT / "README.md").read_text(encoding="utf-8")
CLI = get_command(app)
COMMANDS: dict[str, Any] = CLI.commands  # type: ignore[attr-defined]
# An option in a usage line: `[--flag]`, or `[--flag VALUE]` for one that takes a value.
USAGE_OPTION = re.compile(r"\[(--[a-z][a-z-]*)( [^\]]+)?\]")
# The settings whose default is worked out at run time, as the README words it.
DERIVED_DEFAULTS = {"cardrec_out": f"{DEFAULT_REPORTS.as_posix()}/<label>/<run id>/"}


def section(title: str) -> str:
    """The text of the README's ``## title`` section, up to the next one."""
    start = README.index(f"\n## {title}\n")
    end = README.find("\n## ", start + 1)
    return README[start : end if end != -1 else len(README)]


def usage() -> dict[str, str]:
    """The "Command line" block per command, its continuation lines joined ("" = the root)."""
    text = section("Command line")
    start = text.index("```\n") + 4
    entries: dict[str, str] = {}
    name: str | None = None
    for line in text[start : text.index("```", start)].splitlines():
        if line.startswith("cardrecon "):
            first = line.split()[1]
            name = "" if first.startswith("-") else first
            entries[name] = entries.get(name, "") + " " + line
        elif name is not None and line.startswith(" "):
            entries[name] += " " + line.strip()
    return entries


def options(command: Any) -> dict[str, bool]:
    """A command's options (typer's click parameters): flag -> whether it takes a value."""
    return {
        p.opts[0]: not p.is_flag
        for p in command.params
        if p.param_type_name == "option" and p.opts[0] != "--help"
    }


def configuration_table() -> dict[str, tuple[str, str]]:
    """The README's configuration table: environment variable -> (flag, default)."""
    rows = [line for line in section("Configuration").splitlines() if line.startswith("|")]
    table: dict[str, tuple[str, str]] = {}
    for row in rows[2:]:  # after the header and its rule
        _, flag, env, default = (cell.strip() for cell in row.strip("|").split("|"))
        code = re.match(r"`([^`]*)`", default)
        table[env.strip("`")] = (flag.strip("`"), code.group(1) if code else default)
    return table


def documented_default(name: str, default: Any) -> str:
    """How the README's table says a setting's default."""
    if name in DERIVED_DEFAULTS:
        return DERIVED_DEFAULTS[name]
    if default is None:
        return "— (required)"
    if isinstance(default, Path):
        return default.as_posix()
    if isinstance(default, float):
        return f"{default:g}"
    return str(default)


def test_readme_opens_with_the_two_quick_start_commands() -> None:
    start = README.index("## Quick start")
    block = README[start : README.index("```", README.index("```", start) + 3)]
    assert "uv run cardrecon demo" in block and "uv run pytest" in block


@pytest.mark.parametrize("name", sorted(COMMANDS))
def test_the_command_line_block_shows_every_option_of_the_command(name: str) -> None:
    documented = usage()
    assert name in documented, f"`cardrecon {name}` is not in the README's Command line block"
    shown = {m[1]: bool(m[2]) for m in USAGE_OPTION.finditer(documented[name])}
    # each option once, with a value where it takes one (`[--db PATH]`, `[--quiet]`)
    assert shown == options(COMMANDS[name])


def test_the_command_line_block_shows_no_command_that_is_gone() -> None:
    assert set(usage()) - {""} <= set(COMMANDS)


def test_the_command_line_block_shows_the_options_of_cardrecon_itself() -> None:
    shown = set(re.findall(r"--[a-z][a-z-]*", usage()[""]))
    assert shown == set(options(CLI))


def test_the_configuration_table_is_the_settings_with_their_flags_and_defaults() -> None:
    run_options = {p.name for p in COMMANDS["run"].params}
    expected = {}
    for name, field in Settings.model_fields.items():
        option = name.removeprefix("cardepass_").removeprefix("cardrec_")
        flag = "--" + option.replace("_", "-") if option in run_options else ""
        expected[name.upper()] = (flag, documented_default(name, field.default))
    assert configuration_table() == expected


def setting_options() -> list[Any]:
    """(command, option) for each option that is a setting, in the commands that read them:
    all but ``demo`` and ``sandbox``, which make their own world."""
    return [
        pytest.param(command, p.name, id=f"{command} {p.opts[0]}")
        for command in sorted(set(COMMANDS) - {"demo", "sandbox"})
        for p in COMMANDS[command].params
        if p.param_type_name == "option"
        and {f"cardepass_{p.name}", f"cardrec_{p.name}"} & set(Settings.model_fields)
    ]


@pytest.mark.parametrize(("command", "option"), setting_options())
def test_a_flag_not_given_leaves_its_setting_to_the_environment(command: str, option: str) -> None:
    """The README's "flags win over the environment": an option with a default of its own is
    always given, so its environment variable would never be read."""
    default = next(p.default for p in COMMANDS[command].params if p.name == option)
    assert default is None, f"cardrecon {command} --{option} defaults to {default!r}"


def test_the_money_model_and_reconciliation_settings_are_said_as_they_are() -> None:
    text = " ".join(section("Configuration").split())
    for model in sorted((ROOT / "transform" / "model").glob("*.csv")):
        assert f"`{model.name}`" in text, model.name
    recon = ReconSettings()
    assert recon.tolerance == 0 and "amounts tie to the cent" in text
    assert f"stale after {recon.stale_days} days" in text
    assert f"differing by more than {recon.variance_pct}%" in text
    module = ReconSettings.__module__.replace(".", "/") + ".py"
    assert f"`ReconSettings` in `{module}`" in text


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
