"""`cardrecon doctor`: probes an account as a run would, prints the table, writes nothing.

Exit 0 when a run would work (both dialects, both page shapes), 1 when the service
answers something a run cannot read (a schema break names its field), 2 for the
configuration, as `run` says it. No DuckDB file is ever opened, created or changed.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

import duckdb
import numpy as np
import orjson
import pytest
from typer.testing import CliRunner

from extract.session import exact_json
from flows.cli import app
from sandbox import render
from sandbox.app import create_app
from sandbox.faults import parse_faults
from sandbox.server import serve_in_thread
from sandbox.world import World
from transform.known_fields import KNOWN_FIELDS, READ_FIELDS, unknown_fields
from transform.normalize import Lineage, normalize

runner = CliRunner()
SECRET = "sandbox-secret"  # the sandbox's documented default
ENDPOINTS = (
    "token (POST /connect/token)",
    "ping (GET /v1/ping)",
    "accounts (GET /v1/accounts)",
    "transactions (GET /v1/transactions)",
    "card_account_logs (GET /v1/accounts/cardAccountLogs)",
    "account_logs (GET /v1/accounts/accountLogs)",
    "card (GET /v1/cards/{cardId})",
    "order (GET /v1/orders/",
)


@pytest.fixture(scope="module")
def world() -> World:
    return World.create(seed=1, size="tiny")  # ends now: the last day has every stream


@pytest.fixture(autouse=True)
def isolated(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """No settings from the checkout's environment or .env; the cwd is the test's own."""
    for var in ("CARDEPASS_BASE_URL", "CARDEPASS_CLIENT_ID", "CARDEPASS_CLIENT_SECRET"):
        monkeypatch.delenv(var, raising=False)
    for var in ("CARDREC_DIALECT", "CARDREC_LABEL", "CARDREC_DB"):
        monkeypatch.delenv(var, raising=False)
    monkeypatch.chdir(tmp_path)


def _refuse_duckdb(*args: Any, **kwargs: Any) -> None:
    raise AssertionError(f"doctor opened a DuckDB file: {args}")


def _doctor(base_url: str, *extra: str, secret: str = SECRET) -> Any:
    args = ["doctor", "--base-url", base_url, "--client-id", "sandbox"]
    return runner.invoke(app, [*args, "--client-secret", secret, *extra])


def _served(world: World, dialect: str, shapes: str = "spec", faults: str | None = None) -> Any:
    kw: dict[str, Any] = {"shapes": shapes} if shapes != "spec" else {}
    spec = parse_faults(faults) if faults else None
    return serve_in_thread(create_app(world, dialect=dialect, faults=spec, **kw))


def _row(output: str, endpoint: str) -> list[str]:
    line = next(line for line in output.splitlines() if f"│ {endpoint}" in line)
    return [cell.strip() for cell in line.split("│")[1:-1]]


@pytest.mark.parametrize(
    ("dialect", "shapes", "page_shapes"),
    [
        (
            "v2.0",
            "spec",
            {
                "transactions": {"data + pagination.nextCursor"},
                "card_account_logs": {"data + pagination.totalCount"},
                "account_logs": {"data + pagination.offset"},
            },
        ),
        (
            "v1.4",
            "spec",
            {
                "transactions": {"data.data + pageCursor"},
                "card_account_logs": {"data.items + totalCount"},
                "account_logs": {"data.items + totalCount"},
            },
        ),
        (
            "v1.4",
            "live",
            {
                "transactions": {"data.data + pageCursor"},
                "card_account_logs": {"data.items + totalCount", "data.data + totalRecords"},
                "account_logs": {"data.items + totalCount", "data.data + totalRecords"},
            },
        ),
    ],
)
def test_doctor_against_the_sandbox_prints_the_table_and_exits_0(
    world: World,
    dialect: str,
    shapes: str,
    page_shapes: dict[str, set[str]],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(duckdb, "connect", _refuse_duckdb)
    with _served(world, dialect, shapes) as base_url:
        result = _doctor(base_url)
    assert result.exit_code == 0, result.output
    out = result.stdout
    for endpoint in ENDPOINTS:
        row = _row(out, endpoint)
        assert row[1] == "200", row  # HTTP status
    assert _row(out, "accounts (GET /v1/accounts)")[2] == dialect
    for stream, expected in page_shapes.items():
        row = _row(out, f"{stream} (GET ")
        assert row[2] == dialect and row[3] in expected, row
        assert int(row[4]) > 0, row  # items on the page
        assert row[6] == "0", row  # nothing would be quarantined
    card = _row(out, "card (GET /v1/cards/{cardId})")
    assert card[4] == "1" and card[6] == "0", card
    verdict = out.strip().splitlines()[-1]
    assert verdict.startswith(f"ok: a run would work (dialect {dialect})"), verdict
    if shapes == "spec":  # the documented items: every field is known
        assert "unknown field(s)" not in verdict
        assert all(_row(out, e)[5] in ("none", "-") for e in ENDPOINTS), out
    else:  # the live replies carry fields no document shows: named, and not a failure
        assert "riskLevel" in _row(out, "transactions (GET ")[5]
        assert "unknown field(s) are ignored (raw.pages keeps them)" in verdict
    assert SECRET not in result.output


@pytest.mark.parametrize(("dialect", "field"), [("v2.0", "amount"), ("v1.4", "authAmount")])
def test_a_schema_break_exits_1_naming_the_field(world: World, dialect: str, field: str) -> None:
    with _served(world, dialect, faults="schema_break=1") as base_url:
        result = _doctor(base_url, "--dialect", dialect)
    assert result.exit_code == 1, result.output
    errors = result.stderr.strip().splitlines()
    assert len(errors) == 1, result.stderr
    assert errors[0].startswith("error: a run would not work as is: transactions"), errors
    assert f"field {field!r} is missing from every item of the page" in errors[0]
    assert "transactions (GET /v1/transactions)" in result.stdout  # the table came first
    assert "Traceback" not in result.output


def test_a_quarantined_value_exits_1_with_its_reason(world: World) -> None:
    with _served(world, "v2.0", faults="bad_item=1") as base_url:  # first: three decimals
        result = _doctor(base_url)
    assert result.exit_code == 1, result.output
    row = _row(result.stdout, "transactions (GET ")
    assert row[6].startswith("1: ") and "auth_amount: at most 2 decimals" in row[6], row
    error = result.stderr.strip()
    assert error.startswith("error: a run would not work as is: transactions"), error
    assert "1 item(s) would be quarantined (" in error and "at most 2 decimals" in error


def test_refused_credentials_exit_2_as_run_says_them(world: World, tmp_path: Path) -> None:
    with _served(world, "v2.0") as base_url:
        doctor = _doctor(base_url, secret="wrong-secret-value")
        wrong = ["--client-id", "sandbox", "--client-secret", "wrong-secret-value"]
        db = ["--db", str(tmp_path / "run.duckdb")]
        run = runner.invoke(app, ["run", "--base-url", base_url, *wrong, *db])
    assert doctor.exit_code == run.exit_code == 2, (doctor.output, run.output)
    assert doctor.output == run.output  # the same one line
    assert "invalid_client" in doctor.output
    assert "wrong-secret-value" not in doctor.output


@pytest.mark.parametrize(
    ("args", "needle"),
    [
        (["--client-id", "a", "--client-secret", "b"], "missing CARDEPASS_BASE_URL"),
        (["--base-url", "https://test.cardepass.com/openapi", "--client-id", "a"], "SECRET"),
        (["--base-url", "http://example.com/openapi", "--client-id", "a"], "https://"),
        (["--base-url", "https://test.cardepass.com/openapi", "--dialect", "v3"], "--dialect"),
    ],
)
def test_bad_configuration_is_one_line_and_exit_2(args: list[str], needle: str) -> None:
    if "--client-secret" not in args and "SECRET" not in needle:
        args = [*args, "--client-secret", "b"]
    result = runner.invoke(app, ["doctor", *args])
    assert result.exit_code == 2, result.output
    lines = result.output.strip().splitlines()
    assert len(lines) == 1 and needle in lines[0], lines


def test_a_dialect_the_service_does_not_speak_is_exit_2_naming_the_right_one(
    world: World,
) -> None:
    with _served(world, "v2.0") as base_url:
        result = _doctor(base_url, "--dialect", "v1.4")
    assert result.exit_code == 2, result.output
    assert "the service answers in dialect v2.0, not v1.4: use --dialect v2.0" in result.stderr


def test_doctor_never_creates_or_changes_a_duckdb_file(
    world: World, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    existing = tmp_path / "kept.duckdb"
    con = duckdb.connect(str(existing))
    con.execute("create table t as select 1 as x")
    con.close()
    monkeypatch.setattr(duckdb, "connect", _refuse_duckdb)  # not even to read it
    before = (existing.stat().st_mtime_ns, existing.read_bytes())
    new = tmp_path / "later" / "new.duckdb"
    with _served(world, "v1.4") as base_url:
        for db in (new, existing):
            result = _doctor(base_url, "--db", str(db))
            assert result.exit_code == 0, result.output
    assert not new.exists() and not new.parent.exists()
    assert (existing.stat().st_mtime_ns, existing.read_bytes()) == before
    left = sorted(p.relative_to(tmp_path).as_posix() for p in tmp_path.rglob("*"))
    assert left == ["kept.duckdb"], left  # no data/, no .wal, no default database


# -- the table of known fields is the normaliser's ------------------------------------------
class _Recording(Mapping[str, Any]):
    """An item that notes the dotted path of every field read from it."""

    def __init__(self, data: Mapping[str, Any], prefix: str, seen: set[str]) -> None:
        self._data, self._prefix, self._seen = data, prefix, seen

    def __getitem__(self, key: str) -> Any:
        value = self._data[key]
        self._seen.add(self._prefix + key)
        return _record(value, f"{self._prefix}{key}.", self._seen)

    def __contains__(self, key: object) -> bool:
        if key in self._data:
            self._seen.add(f"{self._prefix}{key}")
            return True
        return False

    def __iter__(self) -> Iterator[str]:
        return iter(self._data)

    def __len__(self) -> int:
        return len(self._data)


def _record(value: Any, prefix: str, seen: set[str]) -> Any:
    if isinstance(value, Mapping):
        return _Recording(value, prefix, seen)
    if isinstance(value, list):
        return [_record(v, prefix, seen) for v in value]
    return value


def _view(world: World, card_id: str) -> Any:
    view = world.card(card_id)
    assert view is not None
    return view


def _sandbox_items(world: World, dialect: str) -> dict[str, list[Any]]:
    """Every kind of item the sandbox serves in ``dialect`` (spec shapes), parsed exactly."""

    def every(table: Any) -> np.ndarray:
        return np.arange(len(table.id))

    items: dict[str, Any] = {
        "transactions": render.transactions(world, every(world.txns), dialect),
        "card_account_logs": render.card_logs(world, every(world.card_logs), dialect),
        "account_logs": render.account_logs(world, every(world.account_logs), dialect),
        "cards": [render.card(_view(world, c), dialect) for c in world.cards.id],
        "orders": [render.order(world, o, dialect) for o in world.orders.values()],
    }
    accounts = render.accounts(world, dialect)
    items["accounts"] = accounts if isinstance(accounts, list) else [accounts]
    parsed: dict[str, list[Any]] = exact_json(orjson.dumps(items))
    return parsed


@pytest.mark.parametrize("dialect", ["v2.0", "v1.4"])
def test_the_known_fields_are_what_normalize_reads_and_what_the_sandbox_sends(
    world: World, dialect: str
) -> None:
    from datetime import UTC, datetime

    lineage = Lineage(dialect, "r", datetime.now(UTC), None, "Standard")
    for stream, items in _sandbox_items(world, dialect).items():
        assert items, stream
        read: set[str] = set()
        frame = normalize(stream, [(lineage, [_record(i, "", read) for i in items])]).frame
        assert len(frame) == len(items) and frame["_problems"].list.len().sum() == 0, stream
        assert read, stream
        assert read <= READ_FIELDS[(stream, dialect)], (
            stream,
            read - READ_FIELDS[(stream, dialect)],
        )
        known = KNOWN_FIELDS[(stream, dialect)]
        unknown = {f for item in items for f in unknown_fields(item, known)}
        assert not unknown, (stream, unknown)


def test_unknown_fields_are_dotted_paths_looked_for_inside_known_objects() -> None:
    known = frozenset({"a", "b", "b.c", "d", "e"})
    item = {"a": {"x": 1}, "b": {"c": 1, "z": 2}, "d": [{"q": 1}], "e": [{"c": 1}], "new": 1}
    assert unknown_fields(item, known) == ["b.z", "new"]  # a, d, e are not looked into
    lists = frozenset({"f", "f.g"})
    assert unknown_fields({"f": [{"g": 1}, {"g": 2, "h": 3}]}, lists) == ["f.h"]
