"""Over time: one outcome at every visit, change from baseline, attrition, tests over visits."""

import streamlit as st

from analysis.instruments import lookup
from analysis.present.estimand import mmrm_estimand
from analysis.present.figures_followup import (
    attrition_bars,
    change_over_time,
    correlation_heatmap,
    lsmeans_over_time,
    over_time,
    spaghetti,
)
from analysis.present.numeric_tables import (
    mmrm_coefficients_numeric,
    mmrm_contrasts_numeric,
    mmrm_lsmeans_numeric,
)
from analysis.present.tables import (
    change_by_visit_display,
    friedman_sentence,
    mmrm_contrast_table,
    mmrm_lsmeans_table,
    structure_comparison_table,
    visit_table,
)
from analysis.present.wording import (
    ATTRITION_NOTE,
    COVARIANCE_NAMES,
    MMRM_NOTE,
    design_caveat,
    mmrm_exclusions_sentence,
    mmrm_sentence,
)
from analysis.stats.arms import patients_with_baseline
from analysis.stats.cohort import MISSING, SMALL_GROUP_DEFAULT, small_groups
from analysis.stats.longitudinal import MMRMSpec
from analysis.stats.trajectory import (
    attrition,
    change_summary,
    change_summary_by,
    friedman,
    trajectories,
    visit_summary,
)
from ui import url
from ui.arms import estimand_card
from ui.entry import ensure_entry
from ui.render import chart, table
from ui.safe import md
from ui.state import (
    arm_design,
    cached_largest_smd,
    cached_outcome_model,
    cached_structure_comparison,
    cached_visit_axis,
    require_dataset,
)
from ui.widgets import direction_for, outcome_picker

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
design = arm_design()
arm = design.attribute if design.has_arms else None
default_line = categorical.index(arm) + 1 if arm in categorical else 0
by = url.selectbox(
    pick[2], "One line per", ["(all patients)", *categorical], "time_by", "lines", default_line
)
group = None if by == "(all patients)" else by
hidden: list[str] = []

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
direction = direction_for(outcome)
inst = lookup(outcome, direction)
axis = cached_visit_axis(dataset)
left, right = st.columns([3, 1])
chart(
    over_time(summary, outcome, statistic.split()[0], axis=axis, direction=direction),
    f"{outcome}_over_time",
    left,
)
remaining = attrition(dataset, outcome)
chart(attrition_bars(remaining), f"{outcome}_attrition", right)
right.caption(md(ATTRITION_NOTE))
with st.expander("The numbers at each visit"):
    table(visit_table(summary), f"{outcome}_by_visit")

st.subheader("Change from baseline" + (f" by {md(group)}" if group else ""))
change = change_summary(dataset, outcome)
if group is not None:
    by_group = change_summary_by(dataset, outcome, group)
    by_group = by_group.loc[~by_group["group"].isin(hidden)]
    figure = change_over_time(by_group, outcome, axis=axis, direction=direction, by=group)
    shown_change = by_group
else:
    figure = change_over_time(change, outcome, axis=axis, direction=direction)
    shown_change = change
left, right = st.columns([3, 2])
chart(figure, f"{outcome}_change_from_baseline", left)
table(change_by_visit_display(shown_change), f"{outcome}_change_from_baseline", right)
right.caption(
    "Change = value at the visit minus the patient's own baseline, for patients with both. "
    "The baseline visit has no change by definition (it is not a change of 0)."
)


st.subheader("Each patient")
highlight = url.patient(
    st, "Highlight a patient", dataset.patients, "time_highlight", "highlight", allow_none=True
)
paths = trajectories(dataset, outcome)
facets = None
if group is not None:
    facets = dataset.attributes[group].astype(object).fillna(MISSING).astype(str)
    kept = facets.loc[~facets.isin(hidden)].index.astype(str)
    paths = paths.loc[paths["patient_id"].astype(str).isin(kept)]
    facets = facets.loc[~facets.isin(hidden)]
chart(
    spaghetti(
        paths,
        dataset.visits,
        outcome,
        None if highlight == "(none)" else highlight,
        by=facets,
        axis=axis,
        direction=direction,
    ),
    f"{outcome}_each_patient",
)

st.subheader("Did values change across visits?")
with_data = [v for v in dataset.visits if v in set(summary["visit"])]
chosen = url.multiselect(
    st, "Visits for the Friedman test", with_data, "time_friedman_visits", "fvisits", with_data
)
st.markdown(md(friedman_sentence(friedman(dataset, outcome, chosen))))
st.subheader("Mixed model for repeated measures")
options = st.columns(3)
response = url.radio(
    options[0], "Response", ["change from baseline", "value"], "mmrm_response", "response",
    horizontal=True,
)  # fmt: skip
covariance = url.selectbox(
    options[1], "Covariance across visits", list(COVARIANCE_NAMES), "mmrm_covariance", "cov",
    format_func=lambda code: COVARIANCE_NAMES[code],
)  # fmt: skip
df_method = url.radio(
    options[2], "Degrees of freedom", ["Satterthwaite", "Kenward-Roger"], "mmrm_df", "df",
    horizontal=True,
)  # fmt: skip
spec = MMRMSpec(
    outcome,
    response="change" if response.startswith("change") else "value",
    covariance=covariance,
    df_method=df_method.lower(),
)
try:
    model = cached_outcome_model(dataset, design, spec)
except ValueError as exc:
    st.warning(md(f"The model cannot be fitted: {exc}"))
    st.stop()
result = model.result
label = inst.label if inst.known else outcome
st.markdown(f"`{md(mmrm_sentence(model, label))}`")
model_estimand = mmrm_estimand(
    design, inst, [str(v) for v in result.visits], spec.response,
    st.session_state.get("cohort_sentence", ""),
    patients_with_baseline(dataset, design, outcome),
)  # fmt: skip
estimand_card(model_estimand)
if not result.converged:
    st.error(md(result.message))
else:
    left, right = st.columns([3, 2])
    chart(lsmeans_over_time(model, axis=axis, direction=direction), f"{outcome}_mmrm_lsmeans", left)
    chart(correlation_heatmap(model), f"{outcome}_mmrm_correlation", right)
    if design.has_arms:
        st.markdown("**Difference between arms at each visit** (the model's effect estimates)")
        table(
            mmrm_contrast_table(model),
            f"{outcome}_mmrm_contrasts",
            numeric=mmrm_contrasts_numeric(model),
            provenance=model_estimand,
        )
    with st.expander("Least-squares means and values used at each visit"):
        table(
            mmrm_lsmeans_table(model),
            f"{outcome}_mmrm_lsmeans",
            numeric=mmrm_lsmeans_numeric(model),
            provenance=model_estimand,
        )
        table(
            model.result.coefficients.round(6),
            f"{outcome}_mmrm_coefficients",
            numeric=mmrm_coefficients_numeric(model),
            provenance=model_estimand,
        )
    if result.n_patients_excluded or result.n_values_excluded:
        st.caption(md(mmrm_exclusions_sentence(result)))
st.caption(md(MMRM_NOTE))
with st.expander("Which covariance structure fits best? (AIC/BIC of all nine)"):
    if st.toggle("Fit all nine structures", key="mmrm_compare"):
        table(
            structure_comparison_table(cached_structure_comparison(dataset, design, spec)),
            f"{outcome}_mmrm_structures",
        )
        st.caption("Lower AIC/BIC fits better for the same fixed effects (REML).")
st.caption(md(design_caveat(design, cached_largest_smd(dataset, design))))
