"""What a run returns: the extraction's report and the run's outcome (plain values for Prefect)."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

from extract.engine import StreamOutcome
from extract.snapshots import SnapshotResult
from extract.streams import DialectName, StreamName
from transform.reconcile import DEFAULT_LABEL, ReconResult

__all__ = ["ExtractionReport", "PipelineResult"]


@dataclass
class ExtractionReport:
    """What the extraction did: dialect, windows, each stream's outcome, the snapshots."""

    run_id: str
    dialect: DialectName
    windows: dict[StreamName, tuple[date, date]]
    streams: dict[StreamName, StreamOutcome]
    snapshots: SnapshotResult
    requests: int
    throttled: int
    skipped: dict[StreamName, str] = field(default_factory=dict)

    @property
    def failed(self) -> list[str]:
        errors = [f"{s}: {o.error}" for s, o in self.streams.items() if o.error]
        return errors + [f"snapshot {e}" for e in self.snapshots.errors]


@dataclass
class PipelineResult:
    run_id: str
    verdict: str
    extraction: ExtractionReport
    recon: ReconResult | None  # None: a run that only extracted (tests)
    reports: dict[str, Path]
    db_path: Path
    out_dir: Path | None
    summary: list[dict[str, Any]] = field(default_factory=list)
    label: str = DEFAULT_LABEL
    watermarks: dict[StreamName, date | None] = field(default_factory=dict)  # before the run
    lookback_days: int = 7

    def as_dict(self) -> dict[str, Any]:
        """What the flow returns: plain values only (Prefect stores it).

        Besides the outcome it says what the run covered: ``label``, ``dialect``, the
        ``period`` reconciled and the ``snapshot_at`` time (from the summary's run row), and
        per stream its window, its watermark before the run and whether the window was a
        ``backfill`` (no watermark) or ``incremental`` (watermark minus the lookback).
        """
        run_row = next((r for r in self.summary if r.get("section") == "run"), {})
        snapshot_at = run_row.get("snapshot_at")
        return {
            "run_id": self.run_id,
            "verdict": self.verdict,
            "label": self.label,
            "dialect": self.extraction.dialect,
            "period": {
                "from": _iso(run_row.get("period_from")),
                "to": _iso(run_row.get("period_to")),
            },
            "snapshot_at": (
                snapshot_at.astimezone(UTC).isoformat()
                if isinstance(snapshot_at, datetime)
                else None
            ),
            "lookback_days": self.lookback_days,
            "streams": {
                stream: {
                    "from": start.isoformat(),
                    "to": end.isoformat(),
                    "watermark": _iso(self.watermarks.get(stream)),
                    "mode": "backfill" if self.watermarks.get(stream) is None else "incremental",
                }
                for stream, (start, end) in self.extraction.windows.items()
            },
            "skipped": dict(self.extraction.skipped),
            "requests": self.extraction.requests,
            "failed": self.extraction.failed,
            "db": str(self.db_path),
            "out": str(self.out_dir) if self.out_dir is not None else None,
            "reports": {k: str(v) for k, v in self.reports.items()},
            "open_errors": self.recon.errors if self.recon else 0,
            "open_warnings": self.recon.warnings if self.recon else 0,
            "summary": [
                {k: (v if v is None or isinstance(v, int | str) else str(v)) for k, v in r.items()}
                for r in self.summary
            ],
        }


def _iso(value: date | None) -> str | None:
    return None if value is None else value.isoformat()
