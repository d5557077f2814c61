"""Time to response: how fast a response comes and how long it lasts (Kaplan-Meier per arm,
log-rank, Cox), with the number at risk under the curves."""

import re

import streamlit as st

from analysis.ingest.dataset import Dataset
from analysis.instruments import lookup
from analysis.present.figures_safety import km_figure
from analysis.present.safety_tables import (
    SUPPRESSED,
    cox_display,
    cox_numeric,
    landmark_display,
    landmark_heading,
    landmark_numeric,
    log_rank_sentence,
    median_display,
    median_numeric,
    time_to_event_methods,
    time_to_event_provenance,
)
from analysis.stats.arms import ArmDesign
from analysis.stats.cohort import SMALL_GROUP_DEFAULT, attribute_kinds
from analysis.stats.time_to_event import (
    DURATION_LANDMARKS,
    TimeToEvent,
    default_landmarks,
    time_to_event,
)
from ui import url
from ui.entry import ensure_entry
from ui.render import chart, table
from ui.safe import md
from ui.state import arm_design, dataset_fingerprint, require_dataset
from ui.widgets import direction_for, outcome_picker

ensure_entry()

THRESHOLDS = {
    "30% improvement": "30%",
    "50% improvement": "50%",
    "clinically important difference": "mcid",
}
ENDPOINTS = {"Time to first response": "response", "Time to loss of response": "loss of response"}
ORIGINS = {"the first response": "response", "treatment (day 0)": "treatment"}


@st.cache_data(show_spinner="Estimating the time to event…", max_entries=64, ttl=3600,
               hash_funcs={Dataset: dataset_fingerprint})  # fmt: skip
def _analysis(
    dataset: Dataset,
    design: ArmDesign,
    outcome: str,
    threshold: str,
    endpoint: str,
    direction: str | None,
    covariates: tuple[str, ...],
    landmarks: tuple[float, ...],
    origin: str,
) -> TimeToEvent:
    """time_to_event, cached per cohort and choice."""
    return time_to_event(
        dataset, outcome, threshold, design, endpoint=endpoint,  # type: ignore[arg-type]
        direction=direction, covariates=covariates, landmarks=landmarks,  # type: ignore[arg-type]
        origin=origin,  # type: ignore[arg-type]
    )  # fmt: skip


st.title("Time to response")
dataset = require_dataset()
design = arm_design()

pick = st.columns(3)
outcome = outcome_picker(dataset, "ttr_outcome", pick[0])
inst = lookup(outcome)
thresholds = [k for k, v in THRESHOLDS.items() if v != "mcid" or inst.mcid_abs is not None]
threshold = url.radio(pick[1], "Response: improvement of at least", thresholds, "ttr_threshold",
                      "threshold")  # fmt: skip
endpoint_label = url.radio(pick[2], "Show", list(ENDPOINTS), "ttr_endpoint", "endpoint")
endpoint = ENDPOINTS[endpoint_label]
direction = direction_for(outcome)

more = st.columns(3)
origin = "response"
if endpoint == "loss of response":
    origin = ORIGINS[
        url.radio(more[0], "Time measured from", list(ORIGINS), "ttr_origin", "origin")
    ]
kinds = attribute_kinds(dataset)
candidates = [a for a in kinds if a != design.attribute]
covariates = url.multiselect(
    more[1], "Adjust the Cox model for", candidates, "ttr_covariates", "covariates",
    help="Patient attributes added to the Cox model beside the arm (patients missing one are "
    "left out of the model, and counted).",
)  # fmt: skip
suggested = (
    list(DURATION_LANDMARKS)
    if endpoint == "loss of response" and origin == "response"
    else default_landmarks(dataset, outcome)
)
days_text = more[2].text_input(
    "Share at days (comma-separated)",
    value=", ".join(f"{d:.0f}" for d in suggested),
    key=f"ttr_days::{outcome}::{endpoint}::{origin}",
    help="Kaplan-Meier estimate with its 95% CI at each day; by default each follow-up "
    "visit's median day.",
)
days = tuple(float(d) for d in re.findall(r"\d+(?:\.\d+)?", days_text)) or tuple(suggested)

try:
    analysis = _analysis(
        dataset, design, outcome, THRESHOLDS[threshold], endpoint, direction,
        tuple(covariates), days, origin,
    )  # fmt: skip
except ValueError as exc:
    st.error(md(exc))
    st.stop()

show_small = url.toggle(st, "Show small groups anyway", "show_small", "small")
min_group = int(st.session_state.get("min_group", SMALL_GROUP_DEFAULT))
hidden = {a for a, f in analysis.fits.items() if f.n < min_group and not show_small}
if hidden:
    st.caption(
        f"Arms with fewer than {min_group} patients are hidden (small-cell suppression): "
        + md(", ".join(sorted(hidden)))
        + "."
    )

what = "first response" if endpoint == "response" else "loss of response"
cards = st.columns(max(len(analysis.fits), 1))
for column, record in zip(cards, analysis.medians.to_dict("records"), strict=False):
    arm = str(record["arm"])
    if arm in hidden:
        column.metric(f"{arm}: median days to {what}", SUPPRESSED)
        continue
    median = record["median"]
    column.metric(
        f"{arm}: median days to {what}",
        "not reached" if median is None or median != median else f"{median:.0f}",
        help=f"{record['events']} of {record['n']} patients had the event; 95% CI in the table.",
    )
st.caption(md(f"Visit times: {analysis.time_source}."))
chart(km_figure(analysis, hidden=sorted(hidden)), f"{outcome}_time_to_{what.replace(' ', '_')}")

st.subheader("Median time")
exports = {**time_to_event_provenance(analysis), "arms_hidden_as_small": sorted(hidden)}
table(median_display(analysis, hidden), f"{outcome}_{endpoint}_median".replace(" ", "_"),
      numeric=median_numeric(analysis, hidden), provenance=exports)  # fmt: skip
st.markdown(md(log_rank_sentence(analysis)))
st.subheader("At chosen days")
st.caption(md(landmark_heading(analysis)))
table(landmark_display(analysis, hidden), f"{outcome}_{endpoint}_at_days".replace(" ", "_"),
      numeric=landmark_numeric(analysis, hidden), provenance=exports)  # fmt: skip

st.subheader("Cox model" + (": arm" if design.has_arms else "") + (" and covariates" if covariates
                                                                      else ""))  # fmt: skip
if analysis.cox is None:
    st.info(md(analysis.cox_note))
else:
    table(cox_display(analysis), f"{outcome}_{endpoint}_cox".replace(" ", "_"),
          numeric=cox_numeric(analysis), provenance=exports)  # fmt: skip
    cox = analysis.cox
    st.caption(
        f"{cox.n} patients, {cox.n_events} events; likelihood-ratio test "
        f"{cox.likelihood_ratio:.2f} on {cox.df} df; ties: Efron. " + md(analysis.cox_note)
    )
    for warning in cox.warnings:
        st.warning(md(warning))
if len(analysis.excluded):
    with st.expander(f"Patients left out ({len(analysis.excluded)})"):
        reasons = analysis.excluded.groupby("reason", observed=True).size()
        stem = f"{outcome}_{endpoint}_left_out".replace(" ", "_")
        table(reasons.rename("patients").reset_index(), f"{stem}_reasons", provenance=exports)
        table(analysis.excluded, stem, provenance=exports)
for note in analysis.notes:
    st.warning(md(note))
st.info(md(time_to_event_methods(analysis)), icon=":material/schedule:")
