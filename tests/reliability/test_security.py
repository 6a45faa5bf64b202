"""No secret, token, card number or CVV anywhere a run leaves traces.

The clean `cardrecon run` (verbose, v1.4: the card endpoint returns card numbers and
CVVs) is scanned: its captured stdout/stderr, the DuckDB file (bytes, and every text
column through SQL - DuckDB compresses strings), every report file, and the Prefect
server's database (flow runs, logs, artifacts) plus the run's PREFECT_HOME.
"""

from __future__ import annotations

import re
from pathlib import Path

import orjson
from reltools import SECRET, CleanRun, LiveSandbox, read_db, record
from support.prefect import PrefectServer

BEARER = re.compile(rb"Bearer\s+[A-Za-z0-9_\-\.]{16,}")


def _files(*roots: Path) -> list[Path]:
    return sorted(p for r in roots if r.exists() for p in r.rglob("*") if p.is_file())


def _sql_text(db: Path) -> str:
    """Every text-like value of every table, through DuckDB (decompressed)."""
    parts: list[str] = []
    with read_db(db) as con:
        cols = con.execute(
            "select schema_name, table_name, column_name from duckdb_columns() "
            "where data_type in ('VARCHAR', 'JSON') and not internal"
        ).fetchall()
        for schema, table, column in cols:
            rows = con.execute(
                f'select string_agg(cast("{column}" as varchar), chr(10)) from "{schema}"."{table}"'
            ).fetchone()
            if rows and rows[0]:
                parts.append(rows[0])
    return "\n".join(parts)


def test_no_secret_token_card_number_or_cvv_reaches_any_trace(
    prefect_server: PrefectServer, live_sandbox: LiveSandbox, clean_run: CleanRun
) -> None:
    world = live_sandbox.world
    # the run really met card numbers: the v1.4 card endpoint was called for seen cards
    card_calls = [
        r for r in live_sandbox.app.state.sandbox.requests if r["path"].startswith("/v1/cards/")
    ]
    assert card_calls, "the card endpoint was called"
    with read_db(clean_run.db) as con:
        seen = con.execute(
            "select distinct card_id from core.card_snapshots order by 1 limit 1"
        ).fetchone()
    assert seen is not None and seen[0] in {str(c) for c in world.cards.id}

    logs = (clean_run.proc.stdout + clean_run.proc.stderr).encode()
    assert logs.strip(), "the verbose run logged something to scan"
    traces: dict[str, bytes] = {"captured output": logs}
    for path in _files(clean_run.db.parent, clean_run.home, prefect_server.home):
        traces[str(path)] = path.read_bytes()
    traces["DuckDB text columns"] = _sql_text(clean_run.db).encode()
    tokens = [t.encode() for t in live_sandbox.app.state.sandbox.tokens]
    assert tokens, "the run was issued tokens"
    needles: dict[str, list[bytes]] = {
        "client secret": [SECRET.encode()],
        "access token": tokens,
        "card number": [str(n).encode() for n in world.cards.number],
    }
    cvv = [
        re.compile(rb"(?i)cvv\W{0,6}" + re.escape(str(c).encode()) + rb"\b")
        for c in world.cards.cvv
    ]
    found: list[str] = []
    for where, blob in traces.items():
        for what, values in needles.items():
            if any(v in blob for v in values):
                found.append(f"{what} in {where}")
        if any(p.search(blob) for p in cvv):
            found.append(f"CVV in {where}")
        if BEARER.search(blob):
            found.append(f"bearer token in {where}")
    record(
        "security",
        traces_scanned=len(traces),
        bytes_scanned=sum(len(b) for b in traces.values()),
        card_numbers=len(world.cards.number),
        cvvs=len(world.cards.cvv),
        tokens=len(tokens),
        found=found,
        files=orjson.dumps(sorted(Path(k).name for k in traces)).decode(),
    )
    assert not found, found
