"""The run's Prefect artifacts: its summary in markdown, its top open breaks as a table.

The words come from ``reports.markdown`` (what a run covers, where each stream started,
the summary), which the console (``flows.runner``) says too, from the same
``PipelineResult.as_dict()``; ``covers`` and ``stream_origin`` are importable from here.
"""

from __future__ import annotations

from typing import Any

import duckdb
from prefect.artifacts import create_markdown_artifact, create_table_artifact

from reports import markdown
from reports.markdown import covers, stream_origin

__all__ = ["FLOW_NAME", "covers", "publish", "stream_origin", "summary_markdown", "summary_rows"]

FLOW_NAME = "cardepass-reconciliation"


def summary_rows(con: duckdb.DuckDBPyConnection, run_id: str) -> list[dict[str, Any]]:
    cur = con.execute("select * from recon.run_summary where run_id = ?", [run_id])
    cols = [d[0] for d in cur.description or []]
    return [dict(zip(cols, row, strict=True)) for row in cur.fetchall()]


def summary_markdown(result: dict[str, Any]) -> str:
    """The markdown artifact of a run of this flow (``PipelineResult.as_dict()``)."""
    return markdown.summary_markdown(result, FLOW_NAME)


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
