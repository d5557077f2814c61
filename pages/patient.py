"""Patient: one person's outcomes over time against the cohort, their adverse events on the
same day axis, and a printable view."""

import pandas as pd
import streamlit as st

from analysis.instruments import lookup
from analysis.present.figures import score_axis_title
from analysis.present.figures_followup import patient_panels
from analysis.present.figures_safety import patient_ae_timeline
from analysis.present.patient_printout import patient_html
from analysis.present.safety_tables import patient_events_display, patient_events_numeric
from analysis.stats.adverse_events import patient_events, patient_visit_days
from ui import url
from ui.entry import ensure_entry
from ui.registry import registry_without_rows
from ui.registry_patient import registry_patient
from ui.render import chart, table
from ui.state import cached_patient, current_adverse_events, directions, require_dataset
from ui.widgets import outcome_picker

ensure_entry()


st.title("Patient")
if (registry_cohort := registry_without_rows()) is not None:
    registry_patient(registry_cohort)  # this patient's rows only, read from the database
    st.stop()
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

ae = current_adverse_events(dataset.synthetic, dataset.patients)
events = patient_events(ae, patient_id) if ae is not None else None
if ae is not None and events is not None:
    st.subheader("Adverse events")
    if ae.synthetic:
        st.caption("Synthetic adverse events of the synthetic demo patients: not real patients.")
    if events.empty:
        st.caption(f"No adverse event recorded for {patient_id} in {ae.source_name}.")
    else:
        pick = st.columns([1, 2])
        shown = outcome_picker(dataset, "patient_ae_outcome", pick[0])
        inst = lookup(shown)
        scores = profile.values.loc[profile.values["outcome"] == shown]
        chart(
            patient_ae_timeline(
                events, patient_id, patient_visit_days(dataset, patient_id), scores,
                score_axis_title(inst.label if inst.known else shown, inst.direction),
            ),
            f"patient_{patient_id}_adverse_events",
        )  # fmt: skip
        table(
            patient_events_display(events, ae.scale),
            f"patient_{patient_id}_adverse_events",
            numeric=patient_events_numeric(events),
            provenance={"adverse_event_source": ae.source_name,
                        "synthetic_adverse_events": ae.synthetic},
        )  # fmt: skip
        st.caption(
            f"From {ae.source_name}; days since treatment. Events are shown as recorded, beside "
            "the scores: being close in time does not mean one caused the other."
        )
else:
    st.caption("No adverse-event table is loaded (the Safety page loads one).")
printed_events = (
    patient_events_display(events, ae.scale)
    if ae is not None and events is not None
    else pd.DataFrame()
)
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
        adverse_events=printed_events if ae is not None else None,
    ),
    file_name=f"patient_{patient_id}.html",
    mime="text/html",
    help="One A4 page (two at most) to print or file: open it in a browser and print. It "
    "carries the pseudonymous ID, the data source and its fingerprint, and the date printed.",
)
