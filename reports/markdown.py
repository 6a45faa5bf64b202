"""A run's outcome in words, and the markdown the flow publishes as its Prefect artifact.

Pure functions of a run's result (``PipelineResult.as_dict()``: its ``recon.run_summary``
rows, label, period and windows): nothing here opens a table or knows Prefect. The console
(``flows.runner``) says what a run covers and where each stream started in the same words
(``covers``, ``stream_origin``), so the artifact and the terminal never disagree.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any


def covers(result: Mapping[str, Any]) -> str:
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


def stream_origin(result: Mapping[str, Any], stream: str) -> str:
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


def summary_markdown(result: Mapping[str, Any], flow_name: str) -> str:
    """The markdown summary of a run of flow ``flow_name``: verdict, streams, checks, holds."""
    summary = result["summary"]
    lines = [
        f"# {flow_name}: {result['run_id']}",
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
