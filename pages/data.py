"""Data: the validation report, the instruments, a preview and the cleaned table."""

import streamlit as st

from analysis.ingest.findings import ROW_CONVENTION
from analysis.instruments import registry_table
from analysis.present.export import cleaned_long_table, to_csv_bytes
from ui.entry import ensure_entry
from ui.safe import md
from ui.state import require_dataset

ensure_entry()

st.title("Data")
dataset = require_dataset()
report = dataset.report

st.subheader("Validation report")
st.markdown(
    f"**{md(dataset.source_name)}** ({md(dataset.source_format)}): usable, with "
    f"{len(report.warnings)} warning(s) and {len(report.notes)} note(s)."
)
accounting = [{"values": k, "count": v} for k, v in report.accounting.items()]
st.dataframe(accounting, hide_index=True)
for finding in report.warnings:
    st.warning(md(finding.message))
for finding in report.notes:
    st.info(md(finding.message))
locations = report.locations_table()
if len(locations):
    st.markdown(f"**Every affected cell** ({len(locations)}). {ROW_CONVENTION}")
    st.dataframe(locations, hide_index=True, width="stretch")

st.subheader("Instruments in this data")
st.dataframe(registry_table(dataset.outcomes), hide_index=True, width="stretch")
with st.expander("The whole instrument registry"):
    st.dataframe(registry_table(), hide_index=True, width="stretch")

st.subheader("Cleaned long table")
st.caption(f"{len(dataset.long):,} values; the first 200 rows are shown.")
st.dataframe(cleaned_long_table(dataset, limit=200), hide_index=True, width="stretch")
st.download_button(
    "Download the cleaned table (CSV)",
    data=lambda: to_csv_bytes(cleaned_long_table(dataset)),  # built only when clicked
    file_name="cleaned_long_table.csv",
    mime="text/csv",
)
