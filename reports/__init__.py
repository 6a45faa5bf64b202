"""reports: a run's breaks and summary as CSV, Parquet, XLSX and one self-contained HTML page.

``write_reports(con, run_id, out_dir)`` is the entry point (see ``reports.export``).
"""

from reports.data import ReportError, RunReport, load_report
from reports.export import REPORT_FILES, write_reports

__all__ = ["REPORT_FILES", "ReportError", "RunReport", "load_report", "write_reports"]
