"""Write a run's reports into one folder: the data files here, XLSX and HTML beside.

``write_reports(con, run_id, out_dir)`` writes, directly into ``out_dir``::

    breaks.csv      breaks.parquet      every break (open and resolved), aged at the run's
                                        reconciliation (recon.aged_breaks)
    summary.csv     summary.parquet     the run's recon.run_summary rows
    report.xlsx                         summary, open breaks, one sheet per check
    report.html                         one self-contained page for finance

Money stays decimal: Parquet ``decimal(18,2)``, CSV plain text (``12.30``). Timestamps
are UTC: Parquet ``timestamp[us, tz=UTC]``, CSV ISO 8601 with ``Z``. Each file is written
under a temporary name and renamed, so a folder never holds half a file.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import duckdb
import polars as pl

from reports.data import BREAK_COLUMNS, ReportError, load_report
from reports.html import render_html
from reports.xlsx import write_xlsx

__all__ = ["REPORT_FILES", "write_reports"]

REPORT_FILES = (
    "breaks.csv", "breaks.parquet", "summary.csv", "summary.parquet", "report.xlsx",
    "report.html",
)  # fmt: skip
CSV_DATETIME = "%Y-%m-%dT%H:%M:%S%.fZ"


def write_reports(con: duckdb.DuckDBPyConnection, run_id: str, out_dir: Path) -> dict[str, Path]:
    """Write the run's six report files into ``out_dir`` (created); returns name -> path.

    Raises :class:`ReportError` when the run has no summary or the folder is not writable.
    """
    report = load_report(con, run_id)
    out_dir = Path(out_dir)
    try:
        out_dir.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise ReportError(
            f"cannot create the report folder {out_dir}: {exc.strerror or exc}; "
            "choose a writable folder with --out"
        ) from exc
    breaks = _utc(report.breaks.select(BREAK_COLUMNS))
    writers: dict[str, Callable[[Path], None]] = {
        "breaks.csv": lambda p: breaks.write_csv(p, datetime_format=CSV_DATETIME),
        "breaks.parquet": breaks.write_parquet,
        "summary.csv": lambda p: _utc(report.summary).write_csv(p, datetime_format=CSV_DATETIME),
        "summary.parquet": lambda p: _utc(report.summary).write_parquet(p),
        "report.xlsx": lambda p: write_xlsx(report, p),
        "report.html": lambda p: _write_text(p, render_html(report)),
    }
    return {name: _write_atomically(out_dir / name, write) for name, write in writers.items()}


def _write_atomically(path: Path, write: Callable[[Path], None]) -> Path:
    tmp = path.with_name(f".{path.name}.tmp")
    try:
        write(tmp)
        tmp.replace(path)
    except OSError as exc:
        tmp.unlink(missing_ok=True)
        raise ReportError(
            f"cannot write {path}: {exc.strerror or exc}; choose a writable folder with --out"
        ) from exc
    return path


def _write_text(path: Path, text: str) -> None:
    path.write_text(text, encoding="utf-8")


def _utc(frame: pl.DataFrame) -> pl.DataFrame:
    """Timestamps labelled plainly ``UTC`` (DuckDB hands them over as ``Etc/UTC``)."""
    return frame.with_columns(
        pl.col(name).dt.convert_time_zone("UTC")
        for name, dtype in frame.schema.items()
        if isinstance(dtype, pl.Datetime) and dtype.time_zone is not None
    )
