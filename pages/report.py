"""Report: one outcome and visit as a self-contained HTML file to print, file or share."""

import datetime as dt

import streamlit as st

from analysis.present.docx_export import DOCX_MIME, report_to_docx
from analysis.present.report import ReportInput
from ui.entry import ensure_entry
from ui.state import arm_design, cached_report, require_dataset
from ui.widgets import follow_up_picker, outcome_picker

ensure_entry()

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


html_text = cached_report(
    dataset,
    arm_design(),
    outcome,
    visit,
    st.session_state.get("cohort_sentence", ""),
    st.session_state.get("source_sha256", "not available"),
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
    dataset,
    outcome,
    visit,
    st.session_state.get("source_sha256", "not available"),
    st.session_state.get("cohort_sentence", ""),
    arm_design(),
)
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
