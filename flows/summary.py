"""A run's outcome in words: what it covers, where each stream started, the artifacts.

The console (``flows.runner``) and the Prefect artifacts say the same things from the same
``PipelineResult.as_dict()``.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import duckdb
from prefect.artifacts import create_markdown_artifact, create_table_artifact

FLOW_NAME = "cardepass-reconciliation"


def summary_rows(con: duckdb.DuckDBPyConnection, run_id: str) -> list[dict[str, Any]]:
    cur = con.execute("select * from recon.run_summary where run_id = ?", [run_id])
    cols = [d[0] for d in cur.description or []]
    return [dict(zip(cols, row, strict=True)) for row in cur.fetchall()]


def covers(result: dict[str, Any]) -> str:
    """What a run covers, in words: label, dialect, period reconciled, snapshot time."""
    period = result.get("period") or {}
    when = result.get("snapshot_at")
    snap = (
        datetime.fromisoformat(when).astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S UTC")
        if when
        else "none taken"
    )
    return (
        f"label {result.get('label')}, dialect {result.get('dialect')}, period "
        f"{period.get('from') or '?'} to {period.get('to') or '?'}, snapshots at {snap}"
    )


def stream_origin(result: dict[str, Any], stream: str) -> str:
    """Where a stream's window started: a backfill, or incremental from its watermark."""
    window = (result.get("streams") or {}).get(stream)
    if window is None:
        return str((result.get("skipped") or {}).get(stream) or "not extracted")
    if window["mode"] == "backfill":
        return f"backfill from {window['from']}"
    return (
        f"incremental from {window['from']} (watermark {window['watermark']} minus the "
        f"{result.get('lookback_days')}-day lookback)"
    )


def summary_markdown(result: dict[str, Any]) -> str:
    """The markdown artifact of a run (``PipelineResult.as_dict()``)."""
    summary = result["summary"]
    lines = [
        f"# {FLOW_NAME}: {result['run_id']}",
        "",
        f"**Verdict: {result['verdict']}**",
        "",
        f"Covers: {covers(result)}.",
        "",
        "| stream | window | fetched | loaded | quarantined | out of window |",
        "|---|---|---:|---:|---:|---:|",
    ]
    lines += [
        f"| {r['name']} | {stream_origin(result, r['name'])} | {r['fetched']} | {r['loaded']} | "
        f"{r['quarantined']} | {r['out_of_window']} |"
        for r in summary
        if r["section"] == "stream"
    ]
    lines += [
        "",
        "| check | currency | checked | errors | warnings | info | blocked by quarantine | "
        "abs difference | note |",
        "|---|---|---:|---:|---:|---:|---:|---:|---|",
    ]
    lines += [
        f"| {r['name']} | {r['currency'] or ''} | {r['entities_checked'] or ''} | "
        f"{r['errors'] or 0} | {r['warnings'] or 0} | {r['infos'] or 0} | "
        f"{r.get('blocked_by_quarantine') or 0} | {r['abs_difference'] or ''} | "
        f"{r['note'] or ''} |"
        for r in summary
        if r["section"] == "check"
    ]
    untrusted = sum(
        int(r["errors"] or 0)
        for r in summary
        if r["section"] == "check" and r["name"] == "quarantined_record"
    )
    if untrusted:
        lines[4:4] = [
            f"**{untrusted} untrusted record(s)**: quarantined and not replaced "
            "(`quarantined_record` breaks); the comparisons that include them are counted as "
            "blocked by quarantine, not compared.",
            "",
        ]
    lines += ["", "| amount on hold | currency |", "|---:|---|"]
    lines += [
        f"| {r['amount_on_hold']} | {r['currency']} |" for r in summary if r["section"] == "hold"
    ]
    return "\n".join(lines)


def publish(result: dict[str, Any], con: duckdb.DuckDBPyConnection) -> None:
    """The run's summary as a markdown artifact, its top open breaks as a table artifact."""
    run_id = result["run_id"]
    create_markdown_artifact(
        markdown=summary_markdown(result),
        key="reconciliation-summary",
        description=f"Summary of {run_id} ({result['label']})",
    )
    top = con.execute(
        'select "check", severity, entity_type, entity_id, currency, '
        "cast(difference as varchar) as difference, detail from recon.breaks "
        "where status = 'open' and severity in ('error', 'warning') "  # infos are notes
        "order by severity = 'warning', abs(coalesce(difference, expected, actual)) desc "
        "nulls last limit 50"
    )
    cols = [d[0] for d in top.description or []]
    rows = [dict(zip(cols, r, strict=True)) for r in top.fetchall()]
    create_table_artifact(
        table=rows, key="top-open-breaks", description=f"Top open breaks after {run_id}"
    )
