"""Inline SVG charts for the HTML report: plain markup, no script, no external file.

The SVG is embedded in the HTML page (no ``xmlns`` needed there), and its text inherits
the page's font. Every label passes through ``html.escape``.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from html import escape

__all__ = ["SEVERITY_COLOURS", "Bar", "hbar_chart"]

SEVERITY_COLOURS = {"error": "#d64545", "warning": "#e39b2d", "info": "#3b82c4"}
_GRID, _INK, _MUTED = "#e4e7eb", "#1f2933", "#7b8794"


@dataclass(frozen=True)
class Bar:
    """One row of a horizontal bar chart: stacked segments (severity, count)."""

    label: str
    tag: str  # shown after the label, muted (e.g. the currency)
    segments: tuple[tuple[str, int], ...]
    note: str = ""  # shown after the count, muted (e.g. the amount at stake)

    @property
    def total(self) -> int:
        return sum(n for _, n in self.segments)


def hbar_chart(
    bars: Sequence[Bar],
    *,
    title: str,
    width: int = 820,
    label_width: int = 250,
    note_width: int = 170,
    row_height: int = 30,
    bar_height: int = 16,
) -> str:
    """A horizontal (stacked) bar chart with an integer axis, as one ``<svg>`` element."""
    top, axis = 6, 24
    plot_h = len(bars) * row_height
    height = top + plot_h + axis
    x0, x1 = label_width, width - note_width
    ticks = _ticks(max((b.total for b in bars), default=0))
    px = (x1 - x0) / ticks[-1]
    out = [
        f'<svg class="chart" viewBox="0 0 {width} {height}" width="{width}" '
        f'height="{height}" role="img" aria-label="{escape(title)}">',
        f"<title>{escape(title)}</title>",
    ]
    for t in ticks:
        x = x0 + t * px
        out.append(
            f'<line x1="{x:.1f}" y1="{top}" x2="{x:.1f}" y2="{top + plot_h}" '
            f'stroke="{_GRID}" stroke-width="1"/>'
            f'<text x="{x:.1f}" y="{top + plot_h + 16}" font-size="11" fill="{_MUTED}" '
            f'text-anchor="middle">{t}</text>'
        )
    for i, bar in enumerate(bars):
        out.append(_bar_row(bar, top + i * row_height + row_height / 2, x0, px, bar_height))
    out.append("</svg>")
    return "".join(out)


def _bar_row(bar: Bar, cy: float, x0: float, px: float, bar_height: int) -> str:
    tag = f'<tspan fill="{_MUTED}"> · {escape(bar.tag)}</tspan>' if bar.tag else ""
    row = [
        f'<text x="{x0 - 10}" y="{cy + 4:.1f}" font-size="13" fill="{_INK}" '
        f'text-anchor="end">{escape(bar.label)}{tag}</text>'
    ]
    x = x0
    for severity, n in bar.segments:
        if n <= 0:
            continue
        w = max(n * px, 2.0)
        colour = SEVERITY_COLOURS.get(severity, _MUTED)
        row.append(
            f'<rect x="{x:.1f}" y="{cy - bar_height / 2:.1f}" width="{w:.1f}" '
            f'height="{bar_height}" rx="3" fill="{colour}">'
            f"<title>{escape(bar.label)} {escape(bar.tag)}: {n} {escape(severity)}</title></rect>"
        )
        x += w
    note = f'<tspan fill="{_MUTED}" font-weight="400">  {escape(bar.note)}</tspan>'
    row.append(
        f'<text x="{x + 8:.1f}" y="{cy + 4:.1f}" font-size="13" font-weight="600" '
        f'fill="{_INK}">{bar.total:,}{note if bar.note else ""}</text>'
    )
    return "".join(row)


def _ticks(maximum: int) -> list[int]:
    """Axis ticks 0..top with a 1/2/5 x 10^k step and at most about six intervals."""
    maximum = max(maximum, 1)
    step = 1
    for magnitude in range(int(math.log10(maximum)) + 1):
        for m in (1, 2, 5):
            step = m * 10**magnitude
            if maximum / step <= 6:
                top = math.ceil(maximum / step) * step
                return list(range(0, top + 1, step))
    top = math.ceil(maximum / step) * step
    return list(range(0, top + 1, step))
