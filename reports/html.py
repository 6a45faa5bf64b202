"""``report.html``: one self-contained page a finance team can open offline.

Inline CSS, inline SVG charts (``reports.svg``), no script, no font or file from
elsewhere. Every piece of text goes through ``html.escape``. Sections, top to bottom:
the verdict; headline tiles (checks, open breaks, amount at stake, amount on hold);
open breaks by check and currency and by age; the open-breaks table (errors first,
capped at ``MAX_BREAK_ROWS``); per-check results; per-stream counts; how to read it.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import UTC, datetime
from decimal import Decimal
from html import escape
from typing import Any

from reports.data import (
    AGE_BUCKETS,
    BREAK_SEVERITIES,
    SEVERITIES,
    CheckLine,
    RunReport,
    at_stake,
)
from reports.svg import SEVERITY_COLOURS, Bar, hbar_chart

__all__ = ["MAX_BREAK_ROWS", "VERDICTS", "render_html"]

MAX_BREAK_ROWS = 1_000
# verdict -> (headline, colour)
VERDICTS = {
    "breaks": ("Breaks found", "#c62828"),
    "reconciled_with_warnings": ("Reconciled with warnings", "#b26a00"),
    "reconciled": ("Reconciled", "#2e7d32"),
    "incomplete": ("Incomplete", "#4b5563"),
}
SEVERITY_LABELS = {"error": "Errors", "warning": "Warnings", "info": "Infos"}
STREAM_ORDER = ("transactions", "card_account_logs", "account_logs", "cards", "accounts", "orders")
DASH = '<span class="none">—</span>'


def render_html(report: RunReport, max_rows: int = MAX_BREAK_ROWS) -> str:
    """The whole page as one string."""
    body = [
        _header(report),
        _untrusted(report) if report.untrusted or report.blocked else "",
        _tiles(report),
        _charts(report) if report.open_breaks.height else _all_clear(report),
        _breaks_table(report, max_rows) if report.open_breaks.height else "",
        _notes_table(report) if report.open_notes.height else "",
        _checks_table(report.checks),
        f'<div class="pair">{_streams_table(report)}{_notes(report)}</div>',
    ]
    title = f"Reconciliation report — {report.scope.label or 'default'} — run {report.run_id}"
    return (
        '<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8">'
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        f"<title>{_e(title)}</title><style>{CSS}</style></head>"
        f"<body><main>{''.join(body)}</main></body></html>\n"
    )


# -- formatting ------------------------------------------------------------------------


def _e(value: object) -> str:
    return escape(str(value), quote=True)


def money(value: Decimal | None) -> str:
    """``1,234.50``; an em dash for no amount. Decimal formatting: no float on the way."""
    return DASH if value is None else _e(f"{value:,.2f}")


def _int(value: int | None) -> str:
    return DASH if value is None else f"{value:,}"


def _when(value: datetime) -> str:
    return value.astimezone(UTC).strftime("%Y-%m-%d %H:%M UTC")


def _pill(severity: str, text: str | None = None) -> str:
    return f'<span class="pill {_e(severity)}">{_e(text or severity)}</span>'


def _plural(n: int, word: str) -> str:
    return f"{n:,} {word}{'' if n == 1 else 's'}"


# -- sections --------------------------------------------------------------------------
def _untrusted(report: RunReport) -> str:
    """Records that cannot be trusted, and the comparisons they kept from being made."""
    n = report.untrusted
    blocked = report.blocked
    which = ", ".join(f"{_e(check)} {count:,}" for check, count in blocked) or "none"
    return (
        '<section class="panel untrusted"><h2>Untrusted records</h2>'
        f"<p>{_plural(n, 'record')} could not be trusted (quarantined, and no later fetch "
        "replaced them): each is an open <code>quarantined_record</code> error break below, "
        "and the verdict cannot be <em>reconciled</em> while one stays. The comparisons that "
        "include them were not made, so they are neither breaks nor ties (blocked by "
        f"quarantine): {which}.</p></section>"
    )


def _header(report: RunReport) -> str:
    headline, colour = VERDICTS.get(report.verdict, (report.verdict, "#4b5563"))
    errors = report.open_count("error")
    warnings = report.open_count("warning")
    if report.verdict == "incomplete":
        sub = report.note or "a stream, snapshot or check did not complete"
    elif errors:
        sub = f"{_plural(errors, 'open error break')} to investigate"
    elif warnings:
        sub = f"no error breaks; {_plural(warnings, 'warning')} to review"
    elif any(c.out_of_window for c in report.checks):
        sub = "every comparison made ties; some lie out of the window"
    else:
        sub = "every check that ran ties"
    scope = report.scope
    snapshot = _when(scope.snapshot_at) if scope.snapshot_at else "none taken"
    return (
        '<header class="top"><div>'
        '<div class="eyebrow">cardepass · card &amp; account reconciliation</div>'
        f"<h1>Reconciliation report — {_e(scope.label or 'default')}</h1>"
        f'<div class="meta">Period <b>{_e(scope.period())}</b>'
        f" · snapshots {_e(snapshot)} · dialect {_e(scope.dialect or 'unknown')}</div>"
        f'<div class="meta">Run <b>{_e(report.run_id)}</b>'
        f" · generated {_e(_when(report.generated_at))}</div></div>"
        f'<div class="verdict" style="background:{colour}">'
        '<div class="verdict-label">Verdict</div>'
        f'<div class="verdict-value">{_e(headline)}</div>'
        f'<div class="verdict-sub">{_e(sub)}</div></div></header>'
    )


def _tiles(report: RunReport) -> str:
    ran = [c for c in report.checks if c.skipped_reason is None]
    skipped = [c for c in report.checks if c.skipped_reason is not None]
    checks = (
        f'<div class="big">{len(ran)} <small>run</small></div>'
        f'<div class="sub">{_plural(len(skipped), "check")} skipped'
        + (f": {_e(', '.join(c.check for c in skipped))}" if skipped else "")
        + "</div>"
    )
    total = report.open_breaks.height
    by_sev = " ".join(
        _pill(s if report.open_count(s) else "zero", _plural(report.open_count(s), s))
        for s in BREAK_SEVERITIES
    )
    notes = report.open_notes.height
    breaks = (
        f'<div class="big">{total:,}</div><div class="sub">{by_sev}</div>'
        + (
            f'<div class="sub">and {_plural(notes, "note")} (info), listed below</div>'
            if notes
            else ""
        )
        + f'<div class="sub">{_plural(report.resolved_count, "break")} resolved since earlier runs'
        "</div>"
    )
    stake_lines = at_stake(report.open_rows("error"))
    stake_html = _currency_lines(stake_lines) or '<div class="big ok">0.00</div>'
    hold_html = _currency_lines({c: amount for c, amount, _ in report.on_hold}) or (
        '<div class="big">0.00</div>'
    )
    auths = sum(n for _, _, n in report.on_hold)
    return (
        '<section class="tiles">'
        + _tile("Checks", checks, "accent-blue")
        + _tile("Open breaks", breaks, "accent-red" if total else "accent-green")
        + _tile(
            "Amount at stake",
            stake_html + '<div class="sub">Σ |difference| of open error breaks, each money '
            "movement once</div>",
            "accent-red" if stake_lines else "accent-green",
        )
        + _tile(
            "Amount on hold",
            hold_html + f'<div class="sub">{_plural(auths, "open authorisation")}'
            " — not breaks; they explain balance gaps</div>",
            "accent-amber",
        )
        + "</section>"
    )


def _tile(title: str, body: str, accent: str) -> str:
    return f'<div class="tile {accent}"><h3>{_e(title)}</h3>{body}</div>'


def _currency_lines(amounts: Mapping[str, Decimal]) -> str:
    return "".join(
        f'<div class="amount"><span class="ccy">{_e(cur or "—")}</span>'
        f'<span class="num">{money(value)}</span></div>'
        for cur, value in amounts.items()
    )


def _charts(report: RunReport) -> str:
    order = {s: i for i, s in enumerate(SEVERITIES)}
    rows = sorted(
        report.open_by_check_currency(), key=lambda r: (order.get(r[1], 9), -r[3], -r[4], r[0])
    )
    # One chart per severity, each on its own scale: a thousand infos must not flatten
    # the two errors that matter to a sliver.
    by_check = "".join(
        f'<div class="chart-group">{_pill(sev, SEVERITY_LABELS[sev])}</div>'
        + hbar_chart(
            [Bar(c, cur, ((s, n),), f"{cur} {amount:,.2f}".strip())
             for c, s, cur, n, amount in rows if s == sev],
            title=f"Open {SEVERITY_LABELS[sev].lower()} by check and currency",
        )
        for sev in BREAK_SEVERITIES
        if any(r[1] == sev for r in rows)
    )  # fmt: skip
    ages = report.open_by_age()
    by_age = hbar_chart(
        [Bar(b, "", tuple((s, ages[b][s]) for s in BREAK_SEVERITIES)) for b in AGE_BUCKETS],
        title="Open breaks by age",
        width=380,
        label_width=70,
        note_width=50,
    )
    legend = "".join(
        f'<span class="key"><i style="background:{SEVERITY_COLOURS[s]}"></i>{_e(s)}</span>'
        for s in BREAK_SEVERITIES
    )
    return (
        '<section class="panel charts"><div class="chart-main">'
        "<h2>Open breaks by check and currency</h2>"
        '<p class="hint">Count of open breaks; after it, the amount at stake. '
        "Each severity on its own scale.</p>"
        f"{by_check}</div>"
        '<div class="chart-side"><h2>Age of open breaks</h2>'
        '<p class="hint">Days since the money moved (the break\'s as-of date).</p>'
        f'{by_age}<div class="legend">{legend}</div></div></section>'
    )


def _all_clear(report: RunReport) -> str:
    checked = sum(c.entities_checked or 0 for c in report.checks)
    ran = sum(1 for c in report.checks if c.skipped_reason is None)
    if report.verdict == "incomplete":
        head = "No open breaks — but the run is incomplete"
        cls = "clear warn"
    else:
        head = "All checks reconciled"
        cls = "clear"
    outside = sum(c.out_of_window or 0 for c in report.checks)
    return (
        f'<section class="panel {cls}"><div class="tick">✓</div><div>'
        f"<h2>{_e(head)}</h2><p>No open breaks. {ran} checks compared {checked:,} entities"
        f" and every one ties{' within the run that completed' if 'warn' in cls else ''}"
        + (
            f", except {outside:,} comparisons whose other side lies outside the extracted "
            "history (out of window: counted in the checks table, compared by a run that "
            "covers them)"
            if outside
            else ""
        )
        + "."
        + (
            f" {_plural(report.resolved_count, 'break')} found by earlier runs "
            "are now resolved (listed in breaks.csv)."
            if report.resolved_count
            else ""
        )
        + "</p></div></section>"
    )


BREAK_HEADERS = (
    ("Check", ""), ("Severity", ""), ("Entity", ""), ("Card", ""), ("Ccy", ""),
    ("Expected", "num"), ("Actual", "num"), ("Difference", "num"), ("Age", ""), ("Detail", ""),
)  # fmt: skip


def _breaks_table(report: RunReport, max_rows: int) -> str:
    rows = report.open_rows()
    shown = rows[:max_rows]
    head = "".join(f'<th class="{cls}">{_e(h)}</th>' for h, cls in BREAK_HEADERS)
    body: list[str] = []
    current = None
    for row in shown:
        is_root = row["root_id"] in (None, row["break_id"])
        if is_root and row["severity"] != current:  # what a root explains stays under it
            current = row["severity"]
            n = report.open_count(current)
            label = SEVERITY_LABELS.get(current, current)
            body.append(
                f'<tr class="group"><td colspan="{len(BREAK_HEADERS)}">'
                f"{_pill(current, label)} {n:,}</td></tr>"
            )
        body.append(_break_row(row, is_root))
    more = ""
    if len(rows) > len(shown):
        more = (
            f'<p class="more">Showing the first {len(shown):,} of {len(rows):,} open breaks; '
            f"the other {len(rows) - len(shown):,} are in breaks.csv and report.xlsx.</p>"
        )
    return (
        '<section class="panel"><h2>Open breaks '
        f'<span class="count">{len(rows):,}</span></h2>'
        '<p class="hint">Errors first, then by check and amount at stake. '
        "Difference = actual − expected. A row marked ↳ is the same money movement as the "
        "break above it (its root), and is not counted again in the amount at stake.</p>"
        f'{more}<table class="breaks"><thead><tr>{head}</tr></thead>'
        f"<tbody>{''.join(body)}</tbody></table>{more}</section>"
    )


def _break_row(row: Mapping[str, Any], is_root: bool = True) -> str:
    card = f'<span class="mono">{_e(row["card_id"])}</span>' if row["card_id"] else DASH
    check = _e(row["check"]) if is_root else f'<span class="linked">↳</span> {_e(row["check"])}'
    cells = (
        f'<td class="check">{check}</td>',
        f"<td>{_pill(row['severity'])}</td>",
        f'<td><span class="etype">{_e(row["entity_type"])}</span>'
        f'<span class="mono">{_e(row["entity_id"])}</span></td>',
        f"<td>{card}</td>",
        f"<td>{_e(row['currency'] or '')}</td>",
        f'<td class="num">{money(row["expected"])}</td>',
        f'<td class="num">{money(row["actual"])}</td>',
        f'<td class="num diff">{money(row["difference"])}</td>',
        f'<td class="age">{_e(row["age_bucket"])}</td>',
        f'<td class="detail">{_e(row["detail"] or "")}</td>',
    )
    opening = "<tr>" if is_root else '<tr class="child">'
    return f"{opening}{''.join(cells)}</tr>"


def _notes_table(report: RunReport) -> str:
    """Open infos: listed apart from the breaks, counted per check and currency."""
    rows = "".join(
        f'<tr><td class="check">{_e(check)}</td><td>{_e(cur)}</td><td class="num">{n:,}</td></tr>'
        for check, cur, n in report.notes_by_check()
    )
    return (
        '<section class="panel"><h2>Notes <span class="count">'
        f"{report.open_notes.height:,}</span></h2>"
        '<p class="hint">Infos are not breaks: nothing is out of balance (e.g. a purchase that '
        "settled for another amount than it was authorised for). They are listed in "
        "breaks.csv and in the notes sheet of report.xlsx.</p>"
        "<table><thead><tr><th>Check</th><th>Ccy</th><th class='num'>Notes</th></tr></thead>"
        f"<tbody>{rows}</tbody></table></section>"
    )


def _checks_table(checks: Iterable[CheckLine]) -> str:
    rows = []
    for c in checks:
        if c.skipped_reason is not None:
            result = '<span class="pill skipped">skipped</span>'
        elif c.open_breaks:
            result = _pill(c.severity, "breaks")
        elif not c.entities_checked:  # e.g. quarantined_record with nothing quarantined
            result = '<span class="pill zero">nothing to compare</span>'
        elif c.out_of_window or c.blocked_by_quarantine:  # some were not made: not "ties"
            result = '<span class="pill zero">ties where compared</span>'
        else:
            result = '<span class="pill ok">ties</span>'
        diffs = "<br>".join(f"{_e(cur)} {money(v)}" for cur, v in c.differences) or DASH
        rows.append(
            f'<tr><td class="check">{_e(c.check)}</td>'
            f'<td class="sev-{_e(c.severity)}">{_e(c.severity)}</td>'
            f"<td>{result}</td>"
            f'<td class="num">{_int(c.entities_checked)}</td>'
            f'<td class="num">{_count(c.errors, "error")}</td>'
            f'<td class="num">{_count(c.warnings, "warning")}</td>'
            f'<td class="num">{_count(c.infos, "info")}</td>'
            f'<td class="num">{_int(c.out_of_window)}</td>'
            f'<td class="num">{_int(c.blocked_by_quarantine)}</td><td class="num">{diffs}</td>'
            f'<td class="detail">{_e(c.skipped_reason or "")}</td></tr>'
        )
    head = (
        "<th>Check</th><th>Severity</th><th>Result</th><th class='num'>Entities checked</th>"
        "<th class='num'>Errors</th><th class='num'>Warnings</th><th class='num'>Infos</th>"
        "<th class='num'>Out of window</th>"
        "<th class='num' title='comparisons blocked by quarantine'>Blocked</th>"
        "<th class='num'>Σ |difference|</th>"
        "<th>Skipped because</th>"
    )
    return (
        '<section class="panel"><h2>Checks</h2>'
        '<p class="hint">Open breaks per check. Entries whose counterpart lies outside the '
        "extracted window are counted as out of window, not as breaks; comparisons that "
        "include a record that cannot be trusted, as blocked (by quarantine).</p>"
        f"<table><thead><tr>{head}</tr></thead><tbody>{''.join(rows)}</tbody></table></section>"
    )


def _count(n: int, severity: str) -> str:
    """A count that is zero fades; one that is not stands out in its severity's colour."""
    return f'<b class="n-{_e(severity)}">{n:,}</b>' if n else '<span class="none">0</span>'


def _streams_table(report: RunReport) -> str:
    rank = {s: i for i, s in enumerate(STREAM_ORDER)}
    streams = sorted(report.streams, key=lambda s: (rank.get(s.name, len(rank)), s.name))
    rows = [
        f'<tr><td class="check">{_e(s.name)}</td><td class="num">{_int(s.fetched)}</td>'
        f'<td class="num">{_int(s.loaded)}</td>'
        f'<td class="num">{_count(s.quarantined or 0, "warning")}</td>'
        f'<td class="num">{_int(s.out_of_window)}</td>'
        f'<td class="detail">{_e(s.note or "")}</td></tr>'
        for s in streams
    ]
    fields = ("fetched", "loaded", "quarantined", "out_of_window")
    totals = [sum(getattr(s, f) or 0 for s in streams) for f in fields]
    rows.append(
        '<tr class="total"><td>Total</td>'
        + "".join(f'<td class="num">{t:,}</td>' for t in totals)
        + "<td></td></tr>"
    )
    return (
        '<section class="panel"><h2>Data streams</h2>'
        '<p class="hint">Rows this run fetched from cardepass. fetched = loaded + quarantined; '
        "quarantined rows could not be trusted as records and are kept in core.quarantine."
        "</p><table><thead><tr><th>Stream</th><th class='num'>Fetched</th>"
        "<th class='num'>Loaded</th><th class='num'>Quarantined</th>"
        "<th class='num'>Out of window</th><th>Note</th></tr></thead>"
        f"<tbody>{''.join(rows)}</tbody></table></section>"
    )


def _notes(report: RunReport) -> str:
    items = (
        "<b>Verdict</b> — the first that applies: <i>incomplete</i> (a stream, snapshot or "
        "check failed), <i>breaks</i> (open error breaks), <i>reconciled with warnings</i>, "
        "<i>reconciled</i>.",
        "<b>Amount at stake</b> — per currency, the sum of |difference| of the open error "
        "breaks, each money movement once; where one side is missing (a missing entry) the "
        "amount of the side that exists.",
        "<b>Amount on hold</b> — authorised, unsettled card spending. Holds are not breaks; "
        "they show when a balance gap is explained by money still in flight.",
        "<b>Age</b> — whole days from when the money moved (the break's as-of date) to the "
        "reconciliation, whenever this report is read; breaks.csv also has days_open, the "
        "days since a run first found it. A break a later run compares again and finds "
        "tying is marked resolved.",
        "<b>Linked breaks</b> — breaks of one money movement (one order, one account entry, "
        "one transaction) share a root (root_id); the amount at stake counts the root once.",
        "<b>Files</b> — breaks.csv / breaks.parquet (every break, open and resolved), "
        "summary.csv / summary.parquet (this summary), report.xlsx (summary, open breaks, "
        "one sheet per check). All times are UTC.",
    )
    return (
        '<section class="panel notes"><h2>How to read this report</h2><ul>'
        + "".join(f"<li>{i}</li>" for i in items)
        + f'</ul><p class="foot">Run {_e(report.run_id)} · generated '
        f"{_e(_when(report.generated_at))} by cardrecon.</p></section>"
    )


CSS = """
*{box-sizing:border-box}
body{margin:0;background:#f3f5f8;color:#1f2933;
font:14px/1.45 system-ui,-apple-system,"Segoe UI",Roboto,"Helvetica Neue",Arial,sans-serif}
main{max-width:1400px;margin:0 auto;padding:28px 32px 40px}
h1{font-size:28px;margin:2px 0 6px;letter-spacing:-.01em}
h2{font-size:17px;margin:0 0 4px}
.mono{font-family:ui-monospace,SFMono-Regular,Menlo,Consolas,"Liberation Mono",monospace;
font-size:11.5px}
.check{font-weight:600;white-space:nowrap}
.top{display:flex;justify-content:space-between;align-items:center;gap:24px;margin-bottom:22px}
.eyebrow{text-transform:uppercase;letter-spacing:.08em;font-size:12px;color:#7b8794;
font-weight:600}
.meta{color:#52606d;font-size:15px}
.verdict{color:#fff;border-radius:14px;padding:16px 30px;min-width:330px;text-align:right;
box-shadow:0 4px 14px rgba(0,0,0,.15)}
.verdict-label{text-transform:uppercase;letter-spacing:.12em;font-size:12px;opacity:.85}
.verdict-value{font-size:30px;font-weight:800;line-height:1.15}
.verdict-sub{font-size:14px;opacity:.92}
.tiles{display:grid;grid-template-columns:repeat(4,1fr);gap:16px;margin-bottom:18px}
.tile{background:#fff;border-radius:12px;padding:16px 20px;border-top:5px solid #9aa5b1;
box-shadow:0 1px 3px rgba(15,23,42,.08)}
.tile h3{margin:0 0 6px;font-size:12px;text-transform:uppercase;letter-spacing:.08em;
color:#616e7c}
.tile .big{font-size:34px;font-weight:800;line-height:1.1}
.tile .big small{font-size:16px;font-weight:600;color:#616e7c}
.tile .sub{color:#616e7c;font-size:12.5px;margin-top:6px}
.tile .amount{display:flex;justify-content:space-between;align-items:baseline;
font-size:22px;font-weight:700;line-height:1.35}
.tile .amount .ccy{font-size:13px;font-weight:700;color:#616e7c;letter-spacing:.05em}
.accent-red{border-top-color:#d64545}.accent-green{border-top-color:#2e7d32}
.accent-amber{border-top-color:#e39b2d}.accent-blue{border-top-color:#3b82c4}
.ok{color:#2e7d32}
.panel{background:#fff;border-radius:12px;padding:18px 22px;margin-bottom:18px;
box-shadow:0 1px 3px rgba(15,23,42,.08)}
.hint{margin:0 0 12px;color:#7b8794;font-size:12.5px}
.charts{display:flex;gap:28px;align-items:flex-start}
.chart-main{flex:1 1 auto}.chart-side{flex:0 0 380px;border-left:1px solid #e4e7eb;
padding-left:24px}
svg.chart{display:block;max-width:100%;height:auto}
.chart-group{margin:10px 0 2px}
.legend{margin-top:10px;font-size:12.5px;color:#52606d}
.key{margin-right:14px}.key i{display:inline-block;width:11px;height:11px;border-radius:2px;
margin-right:5px;vertical-align:-1px}
.count{background:#eef1f4;border-radius:999px;padding:1px 10px;font-size:14px;color:#52606d;
vertical-align:2px}
table{width:100%;border-collapse:collapse;font-size:13px}
th{text-align:left;background:#f0f3f6;color:#3e4c59;font-weight:600;font-size:12px;
text-transform:uppercase;letter-spacing:.04em;padding:8px 8px;border-bottom:2px solid #d9dee4;
white-space:nowrap}
td{padding:7px 8px;border-bottom:1px solid #e9ecef;vertical-align:top}
tbody tr:hover td{background:#f8fafc}
.num{text-align:right;font-variant-numeric:tabular-nums;white-space:nowrap}
td.diff{font-weight:700}
td.detail{color:#3e4c59;min-width:220px;overflow-wrap:anywhere}
td.age{white-space:nowrap}
tr.child td{background:#fbfcfd}.linked{color:#7b8794;font-weight:400}
.etype{display:block;font-size:11px;color:#7b8794;text-transform:uppercase;letter-spacing:.05em}
tr.group td{background:#f7f8fa;font-weight:700;border-bottom:1px solid #d9dee4;padding-top:10px}
tr.total td{font-weight:700;border-top:2px solid #d9dee4}
.none{color:#9aa5b1}.n-error{color:#b71c1c}.n-warning{color:#a15c00}.n-info{color:#1d4f86}
.pair{display:grid;grid-template-columns:1fr 1fr;gap:18px;align-items:start}
.pair>.panel{margin-bottom:18px}
.pill{display:inline-block;padding:1px 9px;border-radius:999px;font-size:12px;font-weight:700;
white-space:nowrap}
.pill.error{background:#fdecec;color:#b71c1c}.pill.warning{background:#fff3dc;color:#8a5300}
.pill.info{background:#e6f0fb;color:#1d4f86}.pill.ok{background:#e6f4ea;color:#1e6b2d}
.pill.skipped,.pill.zero{background:#eceff3;color:#7b8794}
.sev-error{color:#b71c1c}.sev-warning{color:#a15c00}.sev-info{color:#1d4f86}
.more{background:#fff7e6;border:1px solid #f5d9a8;border-radius:8px;padding:8px 12px}
.clear{display:flex;gap:18px;align-items:center;border-left:6px solid #2e7d32}
.clear.warn{border-left-color:#4b5563}
.untrusted{border-left:6px solid #b71c1c}
.clear .tick{font-size:34px;color:#2e7d32;font-weight:800}
.clear p{margin:4px 0 0;color:#52606d}
.notes ul{margin:6px 0 8px;padding-left:20px;color:#3e4c59}.notes li{margin:3px 0}
.foot{color:#9aa5b1;font-size:12px;margin:8px 0 0}
@media print{body{background:#fff}.panel,.tile{box-shadow:none;border:1px solid #d9dee4}}
"""
