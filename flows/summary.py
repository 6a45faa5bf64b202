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
from reports.data import summary_rows, top_open_breaks
from reports.markdown import covers, stream_origin

__all__ = ["FLOW_NAME", "covers", "publish", "stream_origin", "summary_markdown", "summary_rows"]

FLOW_NAME = "cardepass-reconciliation"


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
    create_table_artifact(
        table=top_open_breaks(con),
        key="top-open-breaks",
        description=f"Top open breaks after {run_id}",
    )
