"""Over time: one outcome at every visit, change from baseline, attrition, tests over visits."""

import streamlit as st

from analysis.present.figures_followup import attrition_bars, change_over_time, over_time, spaghetti
from analysis.present.tables import change_table, friedman_sentence, mixed_model_table, visit_table
from analysis.present.wording import ATTRITION_NOTE, MIXED_MODEL_NOTE, UNCONTROLLED_CAVEAT
from analysis.stats.cohort import MISSING, SMALL_GROUP_DEFAULT, small_groups
from analysis.stats.subgroups import arm_attribute
from analysis.stats.trajectory import (
    attrition,
    change_summary,
    friedman,
    trajectories,
    visit_summary,
)
from ui import url
from ui.arms import over_time_section
from ui.entry import ensure_entry
from ui.render import chart, table
from ui.safe import md
from ui.state import cached_mixed_model, require_dataset
from ui.widgets import outcome_picker

ensure_entry()

st.title("Over time")
dataset = require_dataset()

pick = st.columns(3)
outcome = outcome_picker(dataset, "time_outcome", pick[0])
statistic = url.radio(
    pick[1], "Show", ["mean with 95% CI", "median with IQR"], "time_statistic", "stat",
    horizontal=True,
)  # fmt: skip
categorical = [
    c for c in dataset.attributes.columns
    if dataset.attributes[c].dtype == object and 1 < dataset.attributes[c].nunique() <= 8
]  # fmt: skip
arm = arm_attribute(dataset)
default_line = categorical.index(arm) + 1 if arm in categorical else 0
by = url.selectbox(
    pick[2], "One line per", ["(all patients)", *categorical], "time_by", "lines", default_line
)
group = None if by == "(all patients)" else by

summary = visit_summary(dataset, outcome, group)
if group is not None:
    sizes = dataset.attributes[group].astype(object).fillna(MISSING).astype(str).value_counts()
    min_group = int(st.session_state.get("min_group", SMALL_GROUP_DEFAULT))
    hidden = small_groups(sizes, min_group)
    if hidden:
        summary = summary.loc[~summary["group"].isin(hidden)]
        st.caption(
            f"Groups with fewer than {min_group} patients are hidden (small-cell suppression; "
            f"the threshold is set on the Cohort explorer): {md(', '.join(hidden))}."
        )
left, right = st.columns([3, 1])
chart(over_time(summary, outcome, statistic.split()[0]), f"{outcome}_over_time", left)
remaining = attrition(dataset, outcome)
chart(attrition_bars(remaining), f"{outcome}_attrition", right)
right.caption(md(ATTRITION_NOTE))
with st.expander("The numbers at each visit"):
    table(visit_table(summary), f"{outcome}_by_visit")

st.subheader("Change from baseline")
change = change_summary(dataset, outcome)
left, right = st.columns([3, 2])
chart(change_over_time(change, outcome), f"{outcome}_change_from_baseline", left)
table(change_table(change), f"{outcome}_change_from_baseline", right)
right.caption(
    "Change = value at the visit minus the patient's own baseline, for patients with both. "
    "The baseline visit has no change by definition (it is not a change of 0)."
)

over_time_section(dataset, outcome)

st.subheader("Each patient")
highlight = url.patient(
    st, "Highlight a patient", dataset.patients, "time_highlight", "highlight", allow_none=True
)
chart(
    spaghetti(
        trajectories(dataset, outcome),
        dataset.visits,
        outcome,
        None if highlight == "(none)" else highlight,
    ),
    f"{outcome}_each_patient",
)

st.subheader("Did values change across visits?")
with_data = [v for v in dataset.visits if v in set(summary["visit"])]
chosen = url.multiselect(
    st, "Visits for the Friedman test", with_data, "time_friedman_visits", "fvisits", with_data
)
st.markdown(md(friedman_sentence(friedman(dataset, outcome, chosen))))
model = cached_mixed_model(dataset, outcome)
st.markdown(
    f"**Linear mixed model**: uses every available value from {model.n_patients} patients "
    f"({model.n_values} values). {md(MIXED_MODEL_NOTE)}"
)
asked = f"mixed_any_size::{dataset.fingerprint}::{outcome}"
if model.too_large and (
    st.session_state.get(asked) or st.button("Fit the mixed model anyway (may take minutes)")
):
    st.session_state[asked] = True
    model = cached_mixed_model(dataset, outcome, any_size=True)
if model.too_large:
    st.info(md(model.reason))
elif model.reason:
    st.warning(md(model.reason))
if not model.estimates.empty:
    table(mixed_model_table(model), f"{outcome}_mixed_model")
st.caption(md(UNCONTROLLED_CAVEAT))
