"""Responders: who improved meaningfully at a visit, with exact CIs and the placebo benchmark."""

import streamlit as st

from analysis.present.estimand import responder_estimand
from analysis.present.figures_followup import regression_to_mean, waterfall
from analysis.present.numeric_tables import responder_rates_numeric, responders_between_numeric
from analysis.present.tables import arm_difference_display, responder_table
from analysis.present.wording import REGRESSION_TO_MEAN_NOTE, design_caveat, placebo_comparison
from analysis.stats.arms import patients_with_baseline
from ui import url
from ui.arms import estimand_card
from ui.entry import ensure_entry
from ui.registry import registry_responders, registry_without_rows
from ui.render import chart, table
from ui.safe import md
from ui.state import (
    arm_design,
    cached_largest_smd,
    cached_responders,
    cached_responders_by_arm,
    require_dataset,
)
from ui.widgets import direction_for, follow_up_picker, outcome_picker

ensure_entry()

st.title("Responders")
if (registry_cohort := registry_without_rows()) is not None:
    registry_responders(registry_cohort)  # computed inside the registry's database
dataset = require_dataset()

pick = st.columns(3)
outcome = outcome_picker(dataset, "resp_outcome", pick[0])
with_data = set(dataset.wide(outcome).columns)
follow_ups = [v for v in dataset.follow_up_visits if v in with_data]
if not follow_ups:
    st.error("This outcome has no follow-up visit with data.")
    st.stop()
visit = follow_up_picker(dataset, outcome, follow_ups, "resp_visit", "visit", pick[1], "Visit")
scale = url.radio(
    pick[2], "Change as", ["percent", "points"], "resp_scale", "scale", horizontal=True
)
direction = direction_for(outcome)
design = arm_design()
if design.has_arms:
    by_arm = cached_responders_by_arm(dataset, design, outcome, visit, direction)
    analyses = by_arm.per_arm
else:
    analyses = {"": cached_responders(dataset, outcome, visit, direction)}
first = next(iter(analyses.values()))
inst = first.instrument

estimand = responder_estimand(
    design, inst, visit, st.session_state.get("cohort_sentence", ""),
    patients_with_baseline(dataset, design, outcome),
)  # fmt: skip
estimand_card(estimand)
if first.rates.empty:
    st.info("Responder rates need a direction of improvement; set it above.")

for arm, analysis in analyses.items():
    if arm:
        st.subheader(md(arm) + (" (comparator)" if arm == design.comparator else ""))
    cards = st.columns(4)
    cards[0].metric("Patients with a baseline value", analysis.n_itt)
    cards[1].metric(f"Evaluable at {visit}", analysis.n_evaluable)
    for column, row in zip(cards[2:], analysis.rates.head(2).itertuples(), strict=False):
        column.metric(
            f"{row.threshold} (completers)",
            "undefined" if row.rate_completers is None else f"{row.rate_completers:.0f}%",
            help="Exact (Clopper-Pearson) 95% CI in the table below.",
        )
    if analysis.n_percent_undefined:
        st.warning(
            f"{analysis.n_percent_undefined} patient(s) had a baseline of 0 or below, so their "
            "percent change is undefined; they are not counted in the percent-based rates for "
            "completers, and count as non-responders among everyone with a baseline value."
        )
    if not analysis.rates.empty:
        table(
            responder_table(analysis),
            f"responders_{outcome}_{visit}_{arm}".rstrip("_"),
            numeric=responder_rates_numeric(analysis, arm or None),
            provenance=estimand,
        )
    benchmark = inst.placebo
    # The placebo yardstick belongs to an arm's within-arm change: with a comparator it is a
    # footnote to the treated arm, without one the only reference there is.
    if benchmark is not None and not analysis.rates.empty and arm != design.comparator:
        row = analysis.rates.iloc[1]
        text = placebo_comparison(
            benchmark,
            inst.unit,
            analysis.mean_change,
            row["rate_completers"],
            (row["ci_low_completers"], row["ci_high_completers"]),
        )
        if design.has_arms:
            st.caption("Footnote: " + md(text))
        else:
            st.info(md(text), icon=":material/balance:")

if not first.rates.empty:
    st.caption(
        "Completers only: patients with values at baseline and this visit. Everyone with a "
        "baseline value: missing follow-up counted as not responding (non-responder "
        "imputation, the conservative reading). Thresholds: IMMPACT 30% and 50% (Dworkin et "
        "al. 2008, J Pain) and the instrument's clinically important difference."
    )

if design.has_arms and not by_arm.between.empty:
    st.subheader("Between arms: the effect estimate")
    table(
        arm_difference_display(by_arm.between),
        f"responders_between_arms_{outcome}_{visit}",
        numeric=responders_between_numeric(by_arm),
        provenance=estimand,
    )
    st.caption("Completers; difference in percentage points with Newcombe's 95% interval.")
st.caption(md(design_caveat(design, cached_largest_smd(dataset, design))))

shown_arm = next(iter(analyses))
if design.has_arms:
    shown_arm = st.radio(
        "Patients shown in the charts", list(analyses), horizontal=True, key="resp_chart_arm"
    )
analysis = analyses[shown_arm]
suffix = f"_{shown_arm}" if shown_arm else ""
chart(waterfall(analysis, scale), f"{outcome}_{visit}_waterfall{suffix}")
st.subheader("Regression to the mean")
left, right = st.columns([3, 2])
chart(regression_to_mean(analysis), f"{outcome}_{visit}_regression_to_mean{suffix}", left)
right.markdown(md(REGRESSION_TO_MEAN_NOTE))
