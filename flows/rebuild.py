"""``cardrecon rebuild``: re-derive ``core.*``, ``recon.*`` and the reports from ``raw.pages``.

What a user does after upgrading cardrecon or editing the money model
(``transform/model/*.csv``): nothing is asked of the service. Every run's pages are
replayed in the order they were fetched, through the run's own loading path
(``flows.pages.page_loads`` → ``transform.load.commit_batch``, the pages already landed
are not landed again), and each run is reconciled again as of its last page, so the
breaks' history (first seen, resolved) is rebuilt run by run. The watermarks
(``meta.state``) are the extraction's and stay; ``meta.runs`` is counted again.

The dialect of a run is told by its own ``/v1/accounts`` reply, as the run was told.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

if TYPE_CHECKING:  # the command line imports this module: the rest is imported when it runs
    import duckdb

    from extract.records import RawPage
    from extract.streams import DialectName
    from transform.reconcile import ReconSettings

__all__ = ["RebuildResult", "rebuild", "rebuild_command"]

# What a rebuild re-derives (raw and meta are the extraction's, the source of the rebuild;
# any schema of the user's own in the same file is left alone).
DERIVED_SCHEMAS = ("core", "staging", "recon")
PAGES_PER_BATCH = 200
_COLUMNS = (
    "stream, slice_from, slice_to, page_no, request_path, request_params, response_id, "
    "fetched_at, item_count, payload, service_at"
)


@dataclass
class RebuildResult:
    runs: list[str] = field(default_factory=list)
    pages: int = 0
    verdict: str = ""  # the last run's
    failures: dict[str, list[str]] = field(default_factory=dict)  # per run: what did not load


def rebuild(
    con: duckdb.DuckDBPyConnection,
    recon: ReconSettings | None = None,
    *,
    progress: Callable[[str, int, int], None] | None = None,
) -> RebuildResult:
    """Drop what is derived, replay every run's pages and reconcile each run again.

    ``progress(run_id, done, runs)`` after each run. Raises ``PipelineError`` when the
    database has no raw pages (nothing to rebuild from).
    """
    from flows.pages import page_loads
    from flows.steps import PipelineError
    from transform.load import commit_batch, init_schema
    from transform.reconcile import DEFAULT_LABEL, ReconSettings, reconcile, write_summary

    recon = recon or ReconSettings()
    runs = _runs(con)
    if not runs:
        raise PipelineError("the database holds no raw pages: nothing to rebuild from")
    labels = _labels(con)
    _drop_derived(con)
    init_schema(con)
    out = RebuildResult()
    for n, (run_id, last_fetch) in enumerate(runs, start=1):
        dialect = _dialect(con, run_id, labels)
        failures: list[str] = []
        for records in _pages(con, run_id):
            out.pages += len(records)
            try:
                loads = page_loads(records, None, dialect, run_id)
                commit_batch(con, run_id, loads, land=False)
            except Exception as exc:  # as the run: that batch is refused, said, not loaded
                failures.append(f"{records[0].stream}: {exc}")
        reconcile(con, run_id, last_fetch, recon)
        label = labels.get(run_id, (DEFAULT_LABEL, dialect))[0]
        out.verdict = write_summary(con, run_id, failures, label=label, dialect=dialect)
        out.runs.append(run_id)
        if failures:
            out.failures[run_id] = failures
        if progress is not None:
            progress(run_id, n, len(runs))
    return out


def _runs(con: duckdb.DuckDBPyConnection) -> list[tuple[str, datetime]]:
    exists = con.execute(
        "select count(*) from duckdb_tables() where schema_name = 'raw' and table_name = 'pages'"
    ).fetchall()[0][0]
    if not exists:
        return []
    rows = con.execute(
        "select run_id, max(fetched_at) from raw.pages group by run_id order by min(fetched_at)"
    ).fetchall()
    return [(r[0], r[1]) for r in rows]


def _labels(con: duckdb.DuckDBPyConnection) -> dict[str, tuple[str, DialectName]]:
    """Each reconciled run's label and dialect, as its summary said (kept over the rebuild)."""
    import duckdb

    from transform.reconcile import DEFAULT_LABEL

    try:
        rows = con.execute(
            "select run_id, any_value(label), any_value(dialect) from recon.run_summary "
            "where section = 'run' group by run_id"
        ).fetchall()
    except duckdb.CatalogException:  # never reconciled
        return {}
    return {r[0]: (r[1] or DEFAULT_LABEL, r[2]) for r in rows}


def _drop_derived(con: duckdb.DuckDBPyConnection) -> None:
    schemas = con.execute(
        "select schema_name from duckdb_schemas() where database_name = current_database() "
        "and schema_name in (select unnest($derived))",
        {"derived": list(DERIVED_SCHEMAS)},
    ).fetchall()
    for (schema,) in schemas:
        con.execute(f"drop schema {schema} cascade")  # names from DERIVED_SCHEMAS
    con.execute("delete from meta.runs")


def _dialect(
    con: duckdb.DuckDBPyConnection, run_id: str, labels: dict[str, tuple[str, DialectName]]
) -> DialectName:
    """The run's dialect, from its own accounts reply (else from its summary)."""
    import orjson

    from extract.streams import ACCOUNTS, detect_dialect
    from flows.steps import PipelineError

    row = con.execute(
        "select payload from raw.pages where run_id = ? and stream = ? order by fetched_at limit 1",
        [run_id, ACCOUNTS],
    ).fetchall()
    if row:
        try:
            return detect_dialect(orjson.loads(row[0][0]))
        except (ValueError, orjson.JSONDecodeError):
            pass
    if run_id in labels and labels[run_id][1]:
        return labels[run_id][1]
    raise PipelineError(f"cannot tell the dialect of run {run_id}: it kept no accounts reply")


def _pages(con: duckdb.DuckDBPyConnection, run_id: str) -> Iterator[list[RawPage]]:
    """The run's pages, stream by stream (as a run loads them), in the order they came."""
    from extract.records import RawPage
    from extract.streams import ACCOUNTS, CARDS, ORDERS, STREAM_NAMES

    for stream in (*STREAM_NAMES, ACCOUNTS, CARDS, ORDERS):  # streams, then snapshots
        cursor = con.execute(
            f"select {_COLUMNS} from raw.pages where run_id = ? and stream = ? "  # noqa: S608
            "order by fetched_at, slice_from nulls first, page_no",
            [run_id, stream],
        )
        rows = cursor.fetchall()
        for i in range(0, len(rows), PAGES_PER_BATCH):
            yield [RawPage(*row) for row in rows[i : i + PAGES_PER_BATCH]]


# -- the command --------------------------------------------------------------------------------
def rebuild_command(
    db: Annotated[Path | None, typer.Option(help="DuckDB file (CARDREC_DB).")] = None,
    out: Annotated[
        Path | None,
        typer.Option(help="Report directory (default data/reports/<label>/<last run>-rebuild)."),
    ] = None,
) -> None:
    """Re-derive core, recon and the reports from raw.pages alone (no API call)."""
    from flows.console import err, fail, out_console
    from flows.settings import DEFAULT_REPORTS, ConfigError, DatabaseBusy, check_database, load
    from flows.steps import PipelineError, open_database
    from reports.export import write_reports

    try:
        settings = load(cardrec_db=db)
        check_database(settings.cardrec_db)
    except ConfigError as exc:
        fail(str(exc))
    except DatabaseBusy as exc:
        fail(str(exc), 1)
    path = settings.cardrec_db
    if not path.is_file():
        fail(f"{path} does not exist; name the DuckDB file of a run with --db")
    try:
        con = open_database(path)
    except PipelineError as exc:
        fail(str(exc), 1)
    try:

        def said(run_id: str, done: int, total: int) -> None:
            out_console.print(f"rebuilt {run_id} ({done}/{total})", highlight=False)

        try:
            result = rebuild(con, progress=said)
        except PipelineError as exc:
            fail(str(exc), 1)
        last = result.runs[-1]
        label = _labels(con).get(last, (settings.cardrec_label, ""))[0]
        target = out or DEFAULT_REPORTS / label / f"{last}-rebuild"
        write_reports(con, last, target)
    finally:
        con.close()
    for run_id, problems in result.failures.items():
        for problem in problems:
            err.print(f"[yellow]not loaded[/] ({run_id}): {problem}", highlight=False)
    out_console.print(
        f"rebuilt {len(result.runs)} run(s) from {result.pages} raw pages; "
        f"verdict of {last}: {result.verdict}",
        highlight=False,
    )
    out_console.print(f"reports: {target}", highlight=False, soft_wrap=True)
