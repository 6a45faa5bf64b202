"""docs/ARCHITECTURE.md holds: its import table is what every module imports, no
production module is over 600 lines, and the run has one path."""

from __future__ import annotations

import ast
import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
PARTS = ("extract", "transform", "reports", "flows", "sandbox")
MAX_LINES = 600
DOC = (ROOT / "docs" / "ARCHITECTURE.md").read_text(encoding="utf-8")


def allowed() -> dict[str, set[str]]:
    """The table "The parts and what each may import": part -> the parts it may import."""
    out: dict[str, set[str]] = {}
    for line in DOC.splitlines():
        row = re.fullmatch(r"\| `(\w+)` \|.*\| (.+?) \|", line)
        if row and row.group(1) in PARTS:
            out[row.group(1)] = set(re.findall(r"`(\w+)`", row.group(2)))
    return out


def modules(part: str) -> list[Path]:
    return sorted((ROOT / part).rglob("*.py"))


def imported_parts(path: Path) -> dict[str, int]:
    """The parts of the project a module imports (at any depth), with a line of each."""
    found: dict[str, int] = {}
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            names = [a.name for a in node.names]
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            names = [node.module]
        else:
            continue
        for name in names:
            top = name.split(".")[0]
            if top in PARTS:
                found.setdefault(top, node.lineno)
    return found


def test_the_table_names_every_part() -> None:
    assert set(allowed()) == set(PARTS)


@pytest.mark.parametrize("part", PARTS)
def test_each_part_imports_only_what_the_table_allows(part: str) -> None:
    may = allowed()[part] | {part}
    wrong = [
        f"{path.relative_to(ROOT)}:{line} imports {other}"
        for path in modules(part)
        for other, line in imported_parts(path).items()
        if other not in may
    ]
    assert wrong == []


def test_extract_never_imports_duckdb_and_transform_never_http() -> None:
    def third_party(path: Path) -> set[str]:
        tops: set[str] = set()
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Import):
                tops |= {a.name.split(".")[0] for a in node.names}
            elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
                tops.add(node.module.split(".")[0])
        return tops

    assert [p.name for p in modules("extract") if "duckdb" in third_party(p)] == []
    assert [p.name for p in modules("transform") if "httpx" in third_party(p)] == []


def test_no_production_module_is_over_600_lines() -> None:
    long = {
        str(path.relative_to(ROOT)): n
        for part in PARTS
        for path in modules(part)
        if (n := len(path.read_text(encoding="utf-8").splitlines())) > MAX_LINES
    }
    assert long == {}


def test_there_is_one_run_path() -> None:
    """No second orchestration: the flow, the tests, bench and the sweep call flows.steps.run."""
    assert not (ROOT / "extract" / "run.py").exists()
    callers = {
        "flows/pipeline.py": "run(ctx, prefect_step)",
        "tests/support/pipeline.py": "return run(ctx)",
        "bench/common.py": "run(ctx)",
        "tests/reliability/reltools.py": "run_once(",
    }
    for name, call in callers.items():
        assert call in (ROOT / name).read_text(encoding="utf-8"), name
    for folder in (*PARTS, "tests", "bench", "scripts"):
        for path in (ROOT / folder).rglob("*.py"):
            if path.name != "test_architecture.py":
                assert "run_extraction" not in path.read_text(encoding="utf-8"), path
