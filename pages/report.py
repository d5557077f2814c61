"""Report: one outcome and visit as a self-contained HTML file to print, file or share."""

import datetime as dt

import streamlit as st

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
