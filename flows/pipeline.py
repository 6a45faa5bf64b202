"""The ``cardepass-reconciliation`` Prefect flow: the one run (``flows.steps``) as tasks.

The flow only orchestrates: each step of ``flows.steps.run`` becomes a Prefect task
(detect, one per stream, snapshots, reconcile, report), and the summary is published as
artifacts. Transient HTTP failures are retried inside the HTTP layer; no task retries,
because a re-run of any step is already idempotent and Prefect-level retries would only
hide a real failure.

Settings are resolved once, at the edge: the command line resolves them and hands them
over in ``flows.settings.RESOLVED`` (with its progress bars in ``flows.steps.PROGRESS``;
the flow reads both through functions: a served deployment pickles the flow, and a
ContextVar cannot be pickled);
a served deployment's run has neither, and resolves its parameters against the
environment of the worker.

(No ``from __future__ import annotations`` here: Prefect builds the flow's parameter
model from the real annotations when a served deployment starts a run.)
"""

from collections.abc import Callable
from datetime import date
from typing import Any, TypeVar, cast

from prefect import flow, task
from prefect.cache_policies import NONE

from flows.result import ExtractionReport, PipelineResult
from flows.settings import RunSettings, resolve, resolved
from flows.steps import PipelineError, RunContext, current_progress, open_database, run
from flows.summary import FLOW_NAME, publish

__all__ = [
    "ExtractionReport",
    "PipelineError",
    "PipelineResult",
    "RunSettings",
    "open_database",
    "prefect_step",
    "reconciliation_flow",
    "run",
]

T = TypeVar("T")


def prefect_step(name: str, fn: Callable[..., T], /, *args: Any, label: str | None = None) -> T:
    """A step of the run as a Prefect task (no cache: every run reads the service anew)."""
    wrapped: Any = task(name=name, task_run_name=label or name, cache_policy=NONE)(fn)
    return cast(T, wrapped(*args))


@flow(name=FLOW_NAME, log_prints=False)
def reconciliation_flow(
    date_from: date | None = None,
    date_to: date | None = None,
    full_refresh: bool = False,
    dialect: str | None = None,
    streams: list[str] | None = None,
    db: str | None = None,
    out: str | None = None,
    base_url: str | None = None,
    run_id: str | None = None,
    label: str | None = None,
) -> dict[str, Any]:
    """Extract every stream, snapshot, reconcile, report; publish the summary as artifacts.

    Parameters are the run's window, streams, full refresh, dialect, paths and account
    label; the credentials come from the environment or ``.env`` (never a flow parameter).
    """
    settings = resolved()
    if settings is None or (run_id is not None and settings.run_id != run_id):
        settings = resolve(
            date_from=date_from,
            date_to=date_to,
            full_refresh=full_refresh,
            dialect=dialect,
            streams=streams,
            db=db,
            out=out,
            base_url=base_url,
            run_id=run_id,
            label=label,
        )
    ctx = RunContext(settings, progress=current_progress(), publish=publish)
    return run(ctx, prefect_step).as_dict()
