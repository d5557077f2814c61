"""Report: one outcome and visit as a self-contained HTML file to print, file or share."""

import datetime as dt

import pandas as pd
import streamlit as st

from analysis.ingest.adverse_events import AdverseEvents
from analysis.ingest.dataset import Dataset
from analysis.present.docx_export import DOCX_MIME, report_to_docx
from analysis.present.report import ReportInput, build_report
from analysis.stats.arms import ArmDesign
from analysis.stats.cohort import SMALL_GROUP_DEFAULT
from ui.entry import ensure_entry
from ui.state import (
    arm_design,
    cached_report,
    current_adverse_events,
    dataset_fingerprint,
    require_dataset,
)
from ui.widgets import follow_up_picker, outcome_picker

ensure_entry()


@st.cache_data(show_spinner="Building the report…", max_entries=16, ttl=3600,
               hash_funcs={Dataset: dataset_fingerprint})  # fmt: skip
def _report_with_safety(
    dataset: Dataset,
    design: ArmDesign,
    outcome: str,
    visit: str,
    sentence: str,
    digest: str,
    _ae: AdverseEvents,
    ae_key: str,
    min_cell: int,
) -> str:
    """The HTML report with its safety section, cached per cohort, choice and AE table."""
    return build_report(
        ReportInput(dataset, outcome, visit, digest, sentence, design, _ae, min_cell)
    )


st.title("Report")
dataset = require_dataset()
st.markdown(
    "A single HTML file with the figures, tables, the active cohort, the data's fingerprint, a "
    "methods paragraph with references and the caveats. It works offline: open it in any "
    "browser and print it (each section starts on a new page)."
)
pick = st.columns(2)
outcome = outcome_picker(dataset, "report_outcome", pick[0])
follow = [v for v in dataset.follow_up_visits if v in set(dataset.wide(outcome).columns)]
if not follow:
    st.error("This outcome has no follow-up visit with data.")
    st.stop()
visit = follow_up_picker(dataset, outcome, follow, "report_visit", "visit", pick[1])

ae = current_adverse_events(dataset.synthetic, dataset.patients)
min_cell = int(st.session_state.get("min_group", SMALL_GROUP_DEFAULT))
if ae is not None:
    include = st.checkbox(
        f"Include the safety section ({ae.source_name})", value=True, key="report_safety",
        help="Adverse events per arm, events of special interest and the event rate, small "
        "cells suppressed. The adverse-event table is the one loaded on the Safety page.",
    )  # fmt: skip
    ae = ae if include else None
else:
    st.caption("No adverse-event table is loaded: the report has no safety section.")

sentence = st.session_state.get("cohort_sentence", "")
digest = st.session_state.get("source_sha256", "not available")
if ae is None:
    html_text = cached_report(dataset, arm_design(), outcome, visit, sentence, digest)
else:
    content = int(pd.util.hash_pandas_object(ae.events.astype(str), index=False).sum())
    ae_key = f"{ae.source_name}|{ae.n_events}|{content}"
    html_text = _report_with_safety(
        dataset, arm_design(), outcome, visit, sentence, digest, ae, ae_key, min_cell
    )
st.download_button(
    "Download the report (HTML)",
    data=html_text.encode("utf-8"),
    file_name=f"report_{outcome}_{visit}_{dt.date.today().isoformat()}.html",
    mime="text/html",
    type="primary",
)
st.caption(f"{len(html_text) // 1024} KiB, including the charting library so it works offline.")

inputs = ReportInput(
    dataset, outcome, visit, digest, sentence, arm_design(), ae, min_cell
)  # fmt: skip
cohort = st.session_state.get("cohort")
st.download_button(
    "Download the report (Word)",
    data=lambda: report_to_docx(inputs, cohort=cohort),  # built on click: ~10 s with figures
    file_name=f"report_{outcome}_{visit}_{dt.date.today().isoformat()}.docx",
    mime=DOCX_MIME,
)
st.caption(
    "The Word version holds the same tables, methods and references as real Word tables, with "
    "the figures as images when a static image renderer is available here."
)
