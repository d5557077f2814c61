"""Responders: who improved meaningfully at a visit, with exact CIs and the placebo benchmark."""

import streamlit as st

from analysis.present.figures_followup import regression_to_mean, waterfall
from analysis.present.tables import responder_table
from analysis.present.wording import (
    REGRESSION_TO_MEAN_NOTE,
    UNCONTROLLED_CAVEAT,
    placebo_comparison,
)
from ui import url
from ui.arms import responders_section
from ui.entry import ensure_entry
from ui.render import chart, table
from ui.safe import md
from ui.state import cached_responders, require_dataset
from ui.widgets import direction_for, outcome_picker

ensure_entry()

st.title("Responders")
dataset = require_dataset()

pick = st.columns(3)
outcome = outcome_picker(dataset, "resp_outcome", pick[0])
with_data = set(dataset.wide(outcome).columns)
follow_ups = [v for v in dataset.follow_up_visits if v in with_data]
if not follow_ups:
    st.error("This outcome has no follow-up visit with data.")
    st.stop()
visit = url.selectbox(pick[1], "Visit", follow_ups, "resp_visit", "visit", len(follow_ups) - 1)
scale = url.radio(
    pick[2], "Change as", ["percent", "points"], "resp_scale", "scale", horizontal=True
)
direction = direction_for(outcome)
analysis = cached_responders(dataset, outcome, visit, direction)
inst = analysis.instrument

cards = st.columns(4)
cards[0].metric("Patients with a baseline value", analysis.n_itt)
cards[1].metric(f"Evaluable at {visit}", analysis.n_evaluable)
for column, row in zip(cards[2:], analysis.rates.head(2).itertuples(), strict=False):
    column.metric(
        f"{row.threshold} (completers)",
        "undefined" if row.rate_completers is None else f"{row.rate_completers:.0f}%",
        help="Exact (Clopper-Pearson) 95% CI in the table below.",
    )
if analysis.n_zero_baseline:
    st.warning(
        f"{analysis.n_zero_baseline} patient(s) had a baseline value of 0, so their percent "
        "change is undefined; they are not counted in the percent-based rates for completers, "
        "and count as non-responders among all treated."
    )
if analysis.rates.empty:
    st.info("Responder rates need a direction of improvement; set it above.")
else:
    table(responder_table(analysis), f"responders_{outcome}_{visit}")
    st.caption(
        "Completers only: patients with values at baseline and this visit. All treated: every "
        "patient with a baseline value, missing follow-up counted as not responding (the "
        "conservative reading). Thresholds: IMMPACT 30% and 50% (Dworkin et al. 2008, J Pain) "
        "and the instrument's clinically important difference."
    )

benchmark = analysis.instrument.placebo
if benchmark is not None and not analysis.rates.empty:
    row = analysis.rates.iloc[1]
    st.info(
        md(
            placebo_comparison(
                benchmark,
                analysis.instrument.unit,
                analysis.mean_change,
                row["rate_completers"],
                (row["ci_low_completers"], row["ci_high_completers"]),
            )
        ),
        icon=":material/balance:",
    )

chart(waterfall(analysis, scale), f"{outcome}_{visit}_waterfall")
if not analysis.rates.empty:
    responders_section(dataset, outcome, visit, direction)
st.subheader("Regression to the mean")
left, right = st.columns([3, 2])
chart(regression_to_mean(analysis), f"{outcome}_{visit}_regression_to_mean", left)
right.markdown(md(REGRESSION_TO_MEAN_NOTE))
st.caption(md(UNCONTROLLED_CAVEAT))
