"""Word (.docx) exports: real Word tables with the numbers right-aligned, a caption and the
provenance lines, for any result table and for the one-click report.

Figures go into the report as PNG images when a static image renderer is available (plotly's
kaleido, which drives a Chromium-based browser that is already installed: it never downloads
one). Where there is none, the file says that the figures are in the HTML report.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import io
import re
import threading
import warnings
from collections.abc import Mapping, Sequence

import numpy as np
import pandas as pd
import plotly.graph_objects as go
from docx import Document
from docx.enum.section import WD_ORIENT
from docx.enum.table import WD_TABLE_ALIGNMENT
from docx.enum.text import WD_ALIGN_PARAGRAPH
from docx.oxml import OxmlElement
from docx.oxml.ns import qn
from docx.shared import Cm, Pt, RGBColor

from analysis.present.figures import change_histogram
from analysis.present.figures_followup import lsmeans_over_time, waterfall
from analysis.present.format import format_p, number
from analysis.present.provenance import build_provenance, provenance_rows, with_time
from analysis.present.report import (
    ReportInput,
    ReportParts,
    effect_rows,
    headline_rows,
    missing_statement,
    report_parts,
    safety_intro,
    safety_notes,
    safety_report_tables,
    time_to_response_heading,
    time_to_response_table,
    time_to_response_text,
)
from analysis.present.tables import mmrm_contrast_table, mmrm_lsmeans_table, responder_table
from analysis.present.visit_axis import visit_axis
from analysis.present.wording import (
    SYNTHETIC_BANNER,
    design_caveat,
    mmrm_sentence,
    plain_sentence,
)
from analysis.references import REFERENCES
from analysis.stats.arms import (
    largest_baseline_smd,
)
from analysis.stats.cohort import CohortFilter

DOCX_MIME = "application/vnd.openxmlformats-officedocument.wordprocessingml.document"
NO_RENDERER = "Figures are in the HTML report; no static image renderer here."
# Text that starts as a number does (or as "< 0.001"): right-aligned. Not "≥50% improvement".
_NUMERIC_TEXT = re.compile(r"^\s*[<>]?\s*[−+\-]?(\d|\.\d)")
_FIGURE_WIDTH_PX = 1000
_render_lock = threading.Lock()  # one browser at a time, whichever session asks


# -- cells and tables ---------------------------------------------------------------------------


def cell_text(value: object, column: str = "") -> str:
    """One cell as text: numbers with a typographic minus (2 decimals; p-values as journals
    print them; counts as integers), empty for missing values."""
    if value is None or value is pd.NA:
        return ""
    if isinstance(value, (bool, np.bool_)):
        return "yes" if value else "no"
    if isinstance(value, (int, np.integer)):
        return str(int(value))
    if isinstance(value, (float, np.floating)):
        x = float(value)
        if not np.isfinite(x):
            return ""
        lowered = column.lower()
        if lowered.startswith("p_value") or lowered in {"p", "p-value"}:
            return format_p(x)
        if lowered in {"ci_level", "hl_ci_level"}:
            return f"{100 * x:.4g}%"
        return number(x, 2)
    return str(value)


def numeric_looking(text: str) -> bool:
    """True for text that starts as a number does ('−0.31 (…)', '< 0.001', '12/30 = 40%')."""
    return bool(_NUMERIC_TEXT.match(text))


def _right_aligned_columns(frame: pd.DataFrame, texts: list[list[str]]) -> list[bool]:
    aligned = []
    for j in range(frame.shape[1]):
        values = frame.iloc[:, j]
        if pd.api.types.is_numeric_dtype(values) and not pd.api.types.is_bool_dtype(values):
            aligned.append(True)
            continue
        filled = [row[j] for row in texts if row[j]]
        numeric = sum(numeric_looking(t) for t in filled)
        aligned.append(bool(filled) and numeric * 2 >= len(filled))
    return aligned


def _repeat_header(row) -> None:
    properties = row._tr.get_or_add_trPr()
    header = OxmlElement("w:tblHeader")
    header.set(qn("w:val"), "true")
    properties.append(header)


def _no_split(row) -> None:
    properties = row._tr.get_or_add_trPr()
    properties.append(OxmlElement("w:cantSplit"))


def add_table(document, frame: pd.DataFrame, font_size: float = 8.5) -> None:
    """``frame`` as a Word table: a bold header row repeated on each page, numeric columns
    (numbers, or text that starts as a number) right-aligned, rows not split across pages."""
    columns = [str(c) for c in frame.columns]
    texts = [
        [cell_text(v, columns[j]) for j, v in enumerate(row)]
        for row in frame.itertuples(index=False, name=None)
    ]
    right = _right_aligned_columns(frame, texts)
    table = document.add_table(rows=1 + len(texts), cols=max(1, len(columns)))
    table.style = "Table Grid"
    table.alignment = WD_TABLE_ALIGNMENT.CENTER
    for i, row_values in enumerate([columns, *texts]):
        row = table.rows[i]
        _no_split(row)
        if i == 0:
            _repeat_header(row)
        for j, text in enumerate(row_values):
            paragraph = row.cells[j].paragraphs[0]
            run = paragraph.add_run(text)
            run.font.size = Pt(font_size)
            run.bold = i == 0
            if right[j]:
                paragraph.alignment = WD_ALIGN_PARAGRAPH.RIGHT
    if not columns:
        table.rows[0].cells[0].paragraphs[0].add_run("(empty table)")


def _caption(document, text: str) -> None:
    document.add_paragraph(text, style="Caption")


def _small(document, text: str, size: float = 8, italic: bool = False, color=None) -> None:
    paragraph = document.add_paragraph()
    run = paragraph.add_run(text)
    run.font.size = Pt(size)
    run.italic = italic
    if color is not None:
        run.font.color.rgb = color
    paragraph.paragraph_format.space_after = Pt(0)


def add_provenance(document, record: Mapping[str, object], heading: str = "Provenance") -> None:
    """The provenance record as 'key: value' lines under a small heading."""
    document.add_heading(heading, level=2)
    for key, value in provenance_rows(record):
        _small(document, f"{key}: {value}")


def _new_document(landscape: bool = False):
    document = Document()
    section = document.sections[0]
    section.page_height, section.page_width = Cm(29.7), Cm(21.0)  # A4
    if landscape:
        section.orientation = WD_ORIENT.LANDSCAPE
        section.page_width, section.page_height = section.page_height, section.page_width
    for side in ("left_margin", "right_margin", "top_margin", "bottom_margin"):
        setattr(section, side, Cm(1.8))
    style = document.styles["Normal"]
    style.font.name = "Calibri"
    style.font.size = Pt(10)
    return document


def _bytes(document) -> bytes:
    buffer = io.BytesIO()
    document.save(buffer)
    return buffer.getvalue()


def table_to_docx(
    frame: pd.DataFrame, caption: str, provenance: Mapping[str, object] | None = None
) -> bytes:
    """One result table as a Word file: the caption, the table (numbers right-aligned) and the
    provenance lines. Wide tables (more than 7 columns) get a landscape page."""
    document = _new_document(landscape=frame.shape[1] > 7)
    _caption(document, caption)
    add_table(document, frame)
    add_provenance(document, with_time(provenance or {}))
    return _bytes(document)


# -- figures ------------------------------------------------------------------------------------


def render_pngs(figures: Sequence[go.Figure], width: int = _FIGURE_WIDTH_PX) -> list[bytes] | None:
    """The figures as PNG bytes through plotly's kaleido and the installed Chromium, or None
    when there is no static image renderer (kaleido missing, no browser, or it failed)."""
    try:
        import kaleido  # optional: without it there are no images
        import plotly.io as pio
    except ImportError:
        return None
    with _render_lock, warnings.catch_warnings():
        warnings.simplefilter("ignore")
        try:
            kaleido.start_sync_server(silence_warnings=True)
        except Exception:
            return None
        try:
            images = []
            for fig in figures:
                height = int(fig.layout.height or 450)
                images.append(pio.to_image(fig, format="png", width=width, height=height))
            return images
        except Exception:
            return None
        finally:
            with contextlib.suppress(Exception):
                kaleido.stop_sync_server(silence_warnings=True)


def static_image_renderer() -> bool:
    """True when figures can be drawn as PNG here (a small figure is drawn to find out)."""
    return render_pngs([go.Figure(go.Scatter(x=[0, 1], y=[0, 1]))], width=200) is not None


# -- the report ---------------------------------------------------------------------------------


def _report_figures(data: ReportInput, parts: ReportParts) -> list[tuple[go.Figure, str]]:
    ds = data.dataset
    figures: list[tuple[go.Figure, str]] = []
    model = parts.model
    if model is not None and model.result.converged:
        figures.append(
            (
                lsmeans_over_time(model, axis=visit_axis(ds.visits, ds.long)),
                mmrm_sentence(model, parts.label),
            )
        )
    shown_arm, shown = next(iter(parts.comparisons.items()))
    histogram = change_histogram(shown)
    if shown_arm:
        histogram.update_layout(title=f"{histogram.layout.title.text} · {shown_arm}")
    figures.append((histogram, ""))
    if shown_arm in parts.responders and not parts.responders[shown_arm].rates.empty:
        figures.append((waterfall(parts.responders[shown_arm]), ""))
    return figures


def _ae_provenance(parts: ReportParts) -> dict[str, object]:
    """The AE table's name, layout and whether it is synthetic (nothing without one)."""
    ae = parts.adverse_events
    if ae is None:
        return {}
    return {
        "adverse_event_source": ae.source_name,
        "adverse_event_layout": ae.source_format,
        "synthetic_adverse_events": ae.synthetic,
        "min_cell": parts.min_cell,
    }


def _time_and_safety(document, parts: ReportParts) -> None:
    """The time-to-response and safety sections, as in the HTML report."""
    if parts.time_to_response is not None:
        _caption(document, time_to_response_heading(parts))
        add_table(document, time_to_response_table(parts))
        _small(document, time_to_response_text(parts), size=8.5)
    if parts.safety is not None:
        document.add_heading("Safety", level=1)
        document.add_paragraph(safety_intro(parts))
        for caption, frame in safety_report_tables(parts):
            _caption(document, caption)
            add_table(document, frame)
        _small(document, safety_notes(parts), size=8.5)


def report_to_docx(
    data: ReportInput,
    today: dt.date | None = None,
    *,
    cohort: CohortFilter | None = None,
    figures: bool = True,
    provenance: Mapping[str, object] | None = None,
) -> bytes:
    """The report as a Word file: page 1's tables (estimand, result per arm, between-arm
    effects), the missing-data statement and plain sentences, the figures (PNG, when a static
    image renderer is available), the responder and MMRM tables, the methods paragraph with
    numbered references, and the data source with the provenance lines; time to first
    response, and with an AE table the safety tables. ``figures=False`` leaves the figures out
    (and says so)."""
    ds, visit = data.dataset, data.visit
    parts = report_parts(data)
    today = today or dt.date.today()
    document = _new_document()
    document.add_heading(parts.title, level=0)
    _small(document, f"Generated {today.isoformat()}", size=9, color=RGBColor(0x55, 0x55, 0x55))
    if ds.synthetic:
        _small(document, SYNTHETIC_BANNER, size=9, italic=True)

    document.add_heading("The answer", level=1)
    document.add_paragraph(parts.question)
    document.add_paragraph(data.cohort_sentence or f"All {ds.n_patients} patients.")
    _caption(document, "What this answers (estimand)")
    add_table(document, pd.DataFrame(parts.estimand.rows(), columns=["attribute", "definition"]))
    _caption(document, "Result" + (" in each arm" if parts.design.has_arms else ""))
    add_table(document, headline_rows(parts.comparisons, parts.model, parts.responders, visit))
    if parts.design.has_arms:
        _caption(document, "Between arms: the effect estimate")
        add_table(document, effect_rows(parts.model, parts.by_arm, parts.rates, visit))
    if parts.responders:
        document.add_paragraph(missing_statement(parts.comparisons, parts.responders, visit))
    for arm, comparison in parts.comparisons.items():
        document.add_paragraph((f"{arm}: " if arm else "") + plain_sentence(comparison))
    largest = largest_baseline_smd(ds, parts.design) if parts.design.has_arms else None
    _small(document, design_caveat(parts.design, largest), size=9, italic=True)

    document.add_heading("Figures", level=1)
    chosen = _report_figures(data, parts)
    images = render_pngs([fig for fig, _ in chosen]) if figures else None
    if images is None:
        document.add_paragraph(NO_RENDERER)
    else:
        for (_, note), image in zip(chosen, images, strict=True):
            if note:
                document.add_paragraph(note)
            document.add_picture(io.BytesIO(image), width=Cm(17))
    shown_arm = next(iter(parts.comparisons))
    if shown_arm:
        document.add_paragraph(f"The change histogram and waterfall show the {shown_arm} arm.")

    document.add_heading("Tables", level=1)
    for arm, analysis in parts.responders.items():
        if not analysis.rates.empty:
            where = f"{visit} · {arm}" if arm else visit
            _caption(document, f"Responders at {where}")
            add_table(document, responder_table(analysis))
    model = parts.model
    if model is not None and model.result.converged:
        _caption(document, "Model estimates at each visit")
        add_table(document, mmrm_lsmeans_table(model))
        if parts.design.has_arms:
            _caption(document, "Model: each arm minus the comparator at each visit")
            add_table(document, mmrm_contrast_table(model))
    _caption(document, "Data: patients with a value at each visit")
    add_table(document, ds.completeness())
    _time_and_safety(document, parts)

    document.add_heading("Methods", level=1)
    methods = parts.methods(visit)
    cited = [key for key in REFERENCES if f"[{key}]" in methods]
    for n, key in enumerate(cited, start=1):
        methods = methods.replace(f"[{key}]", f"[{n}]")
    document.add_paragraph(methods)
    for n, key in enumerate(cited, start=1):
        _small(document, f"{n}. {REFERENCES[key].text()}", size=9)

    document.add_heading("Data source", level=1)
    document.add_paragraph(f"Source: {ds.source_name} ({ds.source_format}).")
    document.add_paragraph(f"SHA-256 of the file: {data.source_fingerprint}")
    document.add_paragraph(
        f"{ds.n_patients} patients; visits {', '.join(ds.visits)}, of which '{ds.baseline}' "
        f"is the baseline; {len(ds.outcomes)} outcomes."
    )
    record = build_provenance(
        ds,
        source_sha256=data.source_fingerprint,
        cohort=cohort,
        cohort_sentence=data.cohort_sentence,
        design=parts.design,
        estimand=parts.estimand,
        table=f"Report: {parts.title}",
        extra={**_ae_provenance(parts), **(provenance or {})},
    )
    add_provenance(document, record)
    return _bytes(document)
