"""The printable view of one patient: a self-contained HTML page laid out for A4 portrait.

One page, two at most: the pseudonymous ID, the data source with its SHA-256, the date printed,
the adverse events when an AE table is loaded (at most MAX_PRINTED_EVENTS, the rest counted),
the patient's attributes and status, and every outcome's chart with which way is better. The
charts are the Patient page's (analysis.present.figures_followup.patient_panels), built for
print: a fixed width that fits the page between its margins (so no chart is cut at the edge,
whatever the width of the window it is printed from), smaller panels, and split into blocks
of at most two rows that never break across a page.
"""

from __future__ import annotations

import datetime as dt
import html
import math
from collections.abc import Mapping

import pandas as pd
import plotly.graph_objects as go
import plotly.offline

from analysis.instruments import lookup
from analysis.present.figures_followup import patient_panels
from analysis.present.format import number
from analysis.present.provenance import stamp
from analysis.present.wording import UNCONTROLLED_CAVEAT
from analysis.stats.patient import PatientProfile

# A4 is 210 mm wide; with 12 mm margins 186 mm (703 CSS px at 96 px per inch) are printable.
PAGE_MARGIN_MM = 12
PRINT_WIDTH_PX = 690  # every chart, a little narrower than the printable width
OUTCOMES_PER_BLOCK = 4  # two rows of two panels: a block never breaks across pages
CHART_BUDGET_PX = 1450  # what the two pages leave for charts after the header and tables
_TOP_PX, _BOTTOM_PX = 75, 28  # a block's margins: legend and first titles above, labels below
_ROW_GAP_PX = 52  # between rows of panels: visit labels, then the next row's two-line title
_BLOCK_OVERHEAD_PX = _TOP_PX + _BOTTOM_PX  # per block, besides its rows
_ROW_PX = (120, 185)  # the height of one row of panels, smallest and largest
_BETTER = {"lower": "lower is better ↓", "higher": "higher is better ↑"}
MAX_PRINTED_EVENTS = 12  # more would not leave the charts room on two pages
_EVENTS_HEADER_PX, _EVENT_ROW_PX = 40, 24  # the adverse-event list's heading and each row


def _direction_note(outcome: str, directions: Mapping[str, str] | None) -> str:
    """Which way is better for this outcome's chart, in words."""
    known = lookup(outcome).direction
    if known:
        return _BETTER[known]
    chosen = (directions or {}).get(outcome)
    if chosen in _BETTER:
        return f"{_BETTER[chosen]} (as set by the user)"
    return "direction of improvement unknown"


def print_figures(
    values: pd.DataFrame,
    visits: list[str],
    patient_id: str,
    directions: Mapping[str, str] | None = None,
    budget_px: int = CHART_BUDGET_PX,
) -> list[go.Figure]:
    """The patient's charts for print: blocks of up to four outcomes (two rows of two panels)
    at a fixed width, panel height chosen so that every chart fits on two A4 pages (in
    ``budget_px``), each panel titled with which way is better."""
    outcomes = list(dict.fromkeys(values["outcome"]))
    blocks = [
        outcomes[i : i + OUTCOMES_PER_BLOCK] for i in range(0, len(outcomes), OUTCOMES_PER_BLOCK)
    ]
    rows_total = sum(math.ceil(len(block) / 2) for block in blocks)
    room = budget_px - _BLOCK_OVERHEAD_PX * len(blocks)
    row_px = int(min(_ROW_PX[1], max(_ROW_PX[0], room / max(1, rows_total))))
    row_px += _ROW_GAP_PX // 2  # each row carries half a gap (a block of one row: its title)
    figures = []
    for block in blocks:
        part = values.loc[values["outcome"].isin(block)]
        fig = go.Figure(patient_panels(part, visits, patient_id))
        rows = math.ceil(len(block) / 2)
        height = row_px * rows + _BLOCK_OVERHEAD_PX
        titles = [a for a in fig.layout.annotations if a.text]
        for outcome, annotation in zip(block, titles, strict=False):
            name = annotation.text.split("<br>")[0]
            note = _direction_note(outcome, directions)
            annotation.text = f"{name}<br><span style='font-size:10px;color:#444'>{note}</span>"
            annotation.font = dict(size=11)
        _space_rows(fig, rows, titles, height)
        fig.update_layout(
            width=PRINT_WIDTH_PX,
            height=height,
            autosize=False,
            font=dict(size=10),
            margin=dict(l=40, r=15, t=_TOP_PX, b=_BOTTOM_PX),
            legend=dict(orientation="h", yanchor="bottom", y=1.0 + 30 / _plot_px(height), x=0,
                        font=dict(size=10)),
        )  # fmt: skip
        fig.update_traces(marker=dict(size=6), selector=dict(mode="lines+markers"))
        figures.append(fig)
    return figures


def _plot_px(height: int) -> float:
    return float(height - _TOP_PX - _BOTTOM_PX)


def _space_rows(fig: go.Figure, rows: int, titles: list, height: int) -> None:
    """Rows of panels with room between them for the row above's visit labels and the next
    row's two-line title (the screen layout leaves too little at print size)."""
    gap = _ROW_GAP_PX / _plot_px(height)
    h = (1 - (rows - 1) * gap) / rows
    for r in range(rows):
        top = 1 - r * (h + gap)
        for c in range(2):
            axis = "yaxis" if 2 * r + c == 0 else f"yaxis{2 * r + c + 1}"
            if axis in fig.layout:
                fig.layout[axis].domain = [max(0.0, top - h), top]
        for annotation in titles[2 * r : 2 * r + 2]:
            annotation.y = top
            annotation.yanchor = "bottom"


def _status_table(status: pd.DataFrame) -> str:
    shown = status.copy()
    for column in ("baseline", "last value", "change"):
        if column in shown:
            shown[column] = shown[column].map(lambda x: "" if pd.isna(x) else number(x, 1))
    if "% change" in shown:
        shown["% change"] = shown["% change"].map(
            lambda x: "" if x is None or pd.isna(x) else f"{number(x, 0)}%"
        )
    return shown.to_html(index=False, na_rep="", escape=True, border=0, classes="status")


def _attributes(attributes: Mapping[str, object]) -> str:
    cells = "".join(
        f"<div><span class='key'>{html.escape(str(k))}</span> {html.escape(_value_text(v))}</div>"
        for k, v in attributes.items()
    )
    return f"<div class='attributes'>{cells}</div>"


def _value_text(value: object) -> str:
    """An attribute's value: numpy scalars as Python numbers, 100.0 as 100, 7.25 as 7.3."""
    if hasattr(value, "item") and callable(value.item):
        value = value.item()
    if isinstance(value, float):
        return str(int(value)) if value.is_integer() else number(value, 1)
    return str(value)


def _events_html(events: pd.DataFrame | None) -> tuple[str, int]:
    """The adverse-event list (analysis.present.safety_tables.patient_events_display) and the
    height it takes from the charts, in px; nothing without an AE table."""
    if events is None:
        return "", 0
    if events.empty:
        return "<h2>Adverse events</h2><p>None recorded.</p>", _EVENTS_HEADER_PX
    shown = events.head(MAX_PRINTED_EVENTS)
    more = len(events) - len(shown)
    note = (
        f"<p class='caveat'>{more} more adverse event(s) are on the dashboard's Patient page.</p>"
        if more > 0
        else ""
    )
    table = shown.to_html(index=False, na_rep="", escape=True, border=0, classes="events")
    text = "<h2>Adverse events (days since treatment)</h2>" + table + note
    return text, _EVENTS_HEADER_PX + _EVENT_ROW_PX * (len(shown) + (1 if more > 0 else 0))


def patient_html(
    profile: PatientProfile,
    visits: list[str],
    *,
    source_name: str,
    source_sha256: str,
    synthetic: bool,
    printed: dt.datetime | None = None,
    directions: Mapping[str, str] | None = None,
    adverse_events: pd.DataFrame | None = None,
) -> str:
    """A self-contained page for one patient, laid out for A4 portrait (one page, two at
    most), with the charts drawn for print and plotly.js embedded once (works offline);
    ``adverse_events`` (the patient's list as shown on the Patient page) is printed after the
    charts when given."""
    printed_text = stamp(printed or dt.datetime.now(dt.UTC)).replace("T", " ").replace("Z", " UTC")
    events_html, events_px = _events_html(adverse_events)
    figures = print_figures(
        profile.values, visits, profile.patient_id, directions, CHART_BUDGET_PX - events_px
    )
    charts = "".join(
        "<div class='chart'>"
        + fig.to_html(
            full_html=False,
            include_plotlyjs=False,
            config={"staticPlot": True, "displayModeBar": False, "responsive": False},
        )
        + "</div>"
        for fig in figures
    )
    banner = (
        "<p class='synthetic'>Synthetic demo data: not a real patient.</p>" if synthetic else ""
    )
    pid = html.escape(profile.patient_id)
    return _PAGE.format(
        pid=pid,
        banner=banner,
        printed=html.escape(printed_text),
        source=html.escape(source_name),
        sha=html.escape(source_sha256),
        # A SHA-256 is shortened to its first 12 digits; a note such as "not available" is not.
        short=html.escape(source_sha256[:12] if _is_digest(source_sha256) else source_sha256),
        attributes=_attributes(profile.attributes),
        status=_status_table(profile.status),
        events=events_html,
        charts=charts,
        caveat=html.escape(UNCONTROLLED_CAVEAT),
        margin=PAGE_MARGIN_MM,
        plotly_js=plotly.offline.get_plotlyjs(),
    )


_PAGE = """<!doctype html><html lang="en"><head><meta charset="utf-8">
<title>Patient {pid}</title>
<style>
@page {{ size: A4 portrait; margin: {margin}mm; }}
html, body {{ margin: 0; padding: 0; }}
body {{ font-family: "Helvetica Neue", Arial, sans-serif; color: #222; font-size: 10.5px;
       line-height: 1.3; width: 186mm; max-width: 100%; margin: 0 auto; }}
header {{ display: flex; justify-content: space-between; align-items: flex-start;
         border-bottom: 1px solid #999; padding-bottom: 4px; margin-bottom: 6px; gap: 12px; }}
h1 {{ font-size: 17px; margin: 0; }}
h2 {{ font-size: 12px; margin: 8px 0 3px; }}
.meta {{ text-align: right; font-size: 9px; color: #444; }}
.sha {{ font-family: monospace; font-size: 8px; word-break: break-all; }}
.synthetic {{ background: #e8f0fe; padding: 3px 6px; margin: 4px 0; }}
.attributes {{ display: grid; grid-template-columns: repeat(3, 1fr); gap: 1px 12px;
              font-size: 9.5px; }}
.attributes .key {{ color: #666; }}
table.status {{ border-collapse: collapse; width: 100%; font-size: 9.5px; }}
table.status th, table.status td {{ border: 1px solid #ccc; padding: 2px 4px;
                                   text-align: left; vertical-align: top; }}
table.status th {{ background: #f3f3f3; }}
table.status td:nth-child(2), table.status td:nth-child(4), table.status td:nth-child(5),
table.status td:nth-child(6) {{ text-align: right; white-space: nowrap; }}
table.events {{ border-collapse: collapse; width: 100%; font-size: 8.5px; }}
table.events th, table.events td {{ border: 1px solid #ccc; padding: 1px 3px; text-align: left;
                                   vertical-align: top; }}
table.events th {{ background: #f3f3f3; }}
table.events td:nth-child(3), table.events td:nth-child(4) {{ text-align: right; }}
.chart {{ break-inside: avoid; page-break-inside: avoid; margin: 2px 0; overflow: hidden; }}
.caveat {{ font-size: 9px; color: #555; break-inside: avoid; }}
@media print {{ body {{ width: auto; }} }}
</style>
<script type="text/javascript">{plotly_js}</script>
</head><body>
<header>
  <div><h1>Patient {pid}</h1><div>pseudonymous ID</div></div>
  <div class="meta">Printed {printed}<br>Data: {source} (fingerprint {short})<br>
    <span class="sha">SHA-256 {sha}</span></div>
</header>
{banner}
<h2>Attributes</h2>{attributes}
<h2>Status at the last follow-up visit</h2>{status}
<h2>Each outcome over time: this patient against the cohort</h2>
{charts}
{events}
<p class="caveat">{caveat}</p>
</body></html>"""


def _is_digest(text: str) -> bool:
    return len(text) == 64 and all(c in "0123456789abcdef" for c in text.lower())
