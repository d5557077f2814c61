"""Patient: one person's outcomes over time against the cohort, and a printable view."""

import streamlit as st

from analysis.present.figures_followup import patient_panels
from analysis.present.patient_printout import patient_html
from ui import url
from ui.entry import ensure_entry
from ui.render import chart, table
from ui.state import cached_patient, directions, require_dataset

ensure_entry()

st.title("Patient")
dataset = require_dataset()
patient_id = url.patient(
    st, "Patient ID (pseudonymous)", dataset.patients, "patient_id", "patient",
    help="Only the pseudonymous IDs in the data are accepted.",
)  # fmt: skip
if patient_id is None:
    st.info("Type a patient ID above to see that patient's values.")
    st.stop()
profile = cached_patient(dataset, patient_id)

left, right = st.columns([1, 2])
left.subheader("Attributes")
left.dataframe(
    [{"attribute": k, "value": str(v)} for k, v in profile.attributes.items()],
    hide_index=True,
    width="stretch",
)
right.subheader("At the last follow-up visit")
one_decimal = st.column_config.NumberColumn(format="%.1f")  # as the printable view shows them
table(
    profile.status,
    f"patient_{patient_id}_status",
    right,
    column_config={c: one_decimal for c in ("baseline", "last value", "change", "% change")},
)
right.caption(
    "Status compares the last follow-up value with this patient's baseline: 30% and 50% "
    "improvement (IMMPACT) and the instrument's clinically important difference."
)
figure = patient_panels(profile.values, dataset.visits, patient_id)
chart(figure, f"patient_{patient_id}")
visits, source_name, synthetic = list(dataset.visits), dataset.source_name, dataset.synthetic
source_sha256 = st.session_state.get("source_sha256", "not available")
user_directions = dict(directions())
st.download_button(
    "Printable view (HTML)",
    # Built when clicked: it embeds the charting library (a few MB) so it works offline.
    data=lambda: patient_html(
        profile,
        visits,
        source_name=source_name,
        source_sha256=source_sha256,
        synthetic=synthetic,
        directions=user_directions,
    ),
    file_name=f"patient_{patient_id}.html",
    mime="text/html",
    help="One A4 page (two at most) to print or file: open it in a browser and print. It "
    "carries the pseudonymous ID, the data source and its fingerprint, and the date printed.",
)
