"""``report.xlsx``: the run summary, the open breaks (errors and warnings), the notes (infos),
and one sheet per check with open breaks. Every summary row carries the run's label, dialect,
period and snapshot time.

Every sheet is a plain table: a bold frozen header row, an autofilter, columns sized to
their content, money as numbers formatted ``#,##0.00`` and timestamps as Excel dates
(UTC; Excel has no time zones).
"""

from __future__ import annotations

import re
from datetime import datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

import polars as pl
import xlsxwriter
from xlsxwriter.exceptions import FileCreateError
from xlsxwriter.format import Format
from xlsxwriter.workbook import Workbook
from xlsxwriter.worksheet import Worksheet

from reports.data import BREAK_COLUMNS, ReportError, RunReport

__all__ = ["sheet_name", "write_xlsx"]

MONEY_FORMAT = "#,##0.00"
DATETIME_FORMAT = "yyyy-mm-dd hh:mm:ss"
MAX_SHEET_NAME = 31
_BAD_SHEET_CHARS = re.compile(r"[\[\]:*?/\\]")
_SAMPLE_ROWS = 2_000  # rows looked at to size a column
_MIN_WIDTH, _MAX_WIDTH = 8, 70


def write_xlsx(report: RunReport, path: Path) -> None:
    """Write the workbook to ``path``."""
    workbook = xlsxwriter.Workbook(str(path), {"remove_timezone": True})
    formats = {
        "header": workbook.add_format(
            {"bold": True, "bg_color": "#E8EDF2", "bottom": 1, "text_wrap": False}
        ),
        "money": workbook.add_format({"num_format": MONEY_FORMAT}),
        "datetime": workbook.add_format({"num_format": DATETIME_FORMAT}),
    }
    _write_sheet(workbook, "summary", report.summary, formats)
    open_breaks = report.open_breaks.select(BREAK_COLUMNS)  # the columns breaks.csv has
    _write_sheet(workbook, "open breaks", open_breaks, formats)
    _write_sheet(workbook, "notes", report.open_notes.select(BREAK_COLUMNS), formats)
    used = {"summary", "open breaks", "notes"}
    for check in report.checks_with_open_breaks():
        name = sheet_name(check, used)
        used.add(name.lower())
        _write_sheet(workbook, name, open_breaks.filter(pl.col("check") == check), formats)
    try:
        workbook.close()
    except FileCreateError as exc:
        raise ReportError(
            f"cannot write {path}: {exc}; choose a writable folder with --out"
        ) from exc


def sheet_name(wanted: str, used: set[str]) -> str:
    """A valid, unique (case-insensitively) Excel sheet name of at most 31 characters."""
    base = _BAD_SHEET_CHARS.sub("_", wanted).strip("'")[:MAX_SHEET_NAME] or "sheet"
    name, n = base, 1
    while name.lower() in used:
        n += 1
        suffix = f" ({n})"
        name = base[: MAX_SHEET_NAME - len(suffix)] + suffix
    return name


def _write_sheet(
    workbook: Workbook, name: str, frame: pl.DataFrame, formats: dict[str, Format]
) -> None:
    sheet: Worksheet = workbook.add_worksheet(name)
    columns = frame.columns
    for col, header in enumerate(columns):
        sheet.write_string(0, col, header, formats["header"])
    for row_no, row in enumerate(frame.iter_rows(), start=1):
        for col, value in enumerate(row):
            _write_cell(sheet, row_no, col, value, formats)
    sheet.freeze_panes(1, 0)
    sheet.autofilter(0, 0, max(frame.height, 1), max(len(columns) - 1, 0))
    for col, header in enumerate(columns):
        sheet.set_column(col, col, _width(header, frame.get_column(header)))


def _write_cell(
    sheet: Worksheet, row: int, col: int, value: Any, formats: dict[str, Format]
) -> None:
    if value is None:
        return
    if isinstance(value, Decimal):
        # The one place money becomes a float: Excel stores every number as a double, so
        # the Decimal crosses that boundary here and nowhere else. A double holds every
        # amount below 10^13 correct to the cent, far beyond any card or account balance.
        sheet.write_number(row, col, float(value), formats["money"])
    elif isinstance(value, datetime):
        sheet.write_datetime(row, col, value, formats["datetime"])
    elif isinstance(value, bool):
        sheet.write_boolean(row, col, value)
    elif isinstance(value, int | float):
        sheet.write_number(row, col, value)
    else:
        sheet.write_string(row, col, str(value))


def _width(header: str, values: pl.Series) -> int:
    dtype = values.dtype
    if isinstance(dtype, pl.Datetime):
        content = len("2026-01-01 00:00:00")
    elif isinstance(dtype, pl.Decimal):
        longest = max((len(f"{v:,.2f}") for v in values.head(_SAMPLE_ROWS) if v is not None),
                      default=0)  # fmt: skip
        content = longest + 1
    else:
        sample = values.head(_SAMPLE_ROWS).cast(pl.String).str.len_chars().max()
        content = int(sample) if isinstance(sample, int) else 0
    return max(_MIN_WIDTH, min(_MAX_WIDTH, max(len(header) + 3, content + 2)))
