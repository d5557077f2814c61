"""Missing follow-up: see the gaps, model them, and test how much the answer depends on them."""

import streamlit as st

from analysis.present.figures_missing import (
    missingness_map_figure,
    reasons_figure,
    retention_figure,
    sensitivity_forest,
    tipping_figure,
)
from analysis.present.missing_text import assumption_text, tipping_sentences
from analysis.present.tables import mi_responders_display, sensitivity_display
from analysis.present.wording import MISSING_DATA_NOTE
from ui import url
from ui.entry import ensure_entry
from ui.render import chart, table
from ui.safe import md
from ui.state import (
    arm_design,
    cached_missingness,
    require_dataset,
    sensitivity_with_progress,
)
from ui.widgets import direction_for, follow_up_picker, outcome_picker

ensure_entry()

st.title("Missing follow-up")
dataset = require_dataset()
design = arm_design()

pick = st.columns(3)
outcome = outcome_picker(dataset, "miss_outcome", pick[0])
follow_ups = [v for v in dataset.follow_up_visits if v in set(dataset.wide(outcome).columns)]
if not follow_ups:
    st.error("This outcome has no follow-up visit with data.")
    st.stop()
visit = follow_up_picker(dataset, outcome, follow_ups, "miss_visit", "visit", pick[1])
methods = {"missing at random (MAR)": "mar"}
if design.has_arms:
    methods.update(
        {"jump to reference (J2R)": "j2r", "copy increments in reference (CIR)": "cir",
         "copy reference (CR)": "cr"}
    )  # fmt: skip
method = url.selectbox(
    pick[2], "Imputation for the tipping point", list(methods), "miss_method", "method"
)
direction = direction_for(outcome)

st.subheader("The gaps")
summary = cached_missingness(dataset, design, outcome)
left, right = st.columns([3, 2])
chart(missingness_map_figure(summary.map), f"{outcome}_missingness_map", left)
chart(retention_figure(summary.retention), f"{outcome}_retention", right)
with st.expander("Patterns of missing visits (complete, dropout after each visit, intermittent)"):
    table(summary.patterns, f"{outcome}_missing_patterns")
if summary.reasons is not None:
    chart(reasons_figure(summary.reasons), f"{outcome}_discontinuation_reasons")
    st.caption(f"Reasons from the attribute {md(summary.reason_attribute or '')}.")
else:
    st.caption(
        "The data has no column with the reason for discontinuation (for example "
        "'discontinuation_reason'); with one, the reasons are shown per arm here."
    )

st.subheader(f"How much does the answer at {md(visit)} depend on the missing values?")
n_imputations = url.integer(
    st, "Imputations", "miss_imputations", "imputations", 100, 10, 1000,
    help="Each imputation redraws the model's parameters and every missing value.",
)  # fmt: skip
try:
    result = sensitivity_with_progress(
        dataset, design, outcome, visit, methods[method], n_imputations, direction
    )
except ValueError as exc:  # e.g. the imputation model does not converge on these data
    st.error(md(f"The sensitivity analyses cannot be run here: {exc}"))
    st.stop()
st.info("  \n".join(md(s) for s in tipping_sentences(result)), icon=":material/balance:")
chart(tipping_figure(result.tipping, outcome, visit), f"{outcome}_{visit}_tipping_point")
chart(sensitivity_forest(result), f"{outcome}_{visit}_sensitivity")
table(sensitivity_display(result), f"{outcome}_{visit}_sensitivity")
n = result.n
st.caption(
    f"{n.n_used} of {n.n_patients} patients analysed"
    + (f"; left out: {md(', '.join(f'{k} ({v})' for k, v in n.left_out))}" if n.left_out else "")
    + f". {result.n_imputations} imputations, seed {result.seed}; the same draws serve every "
    "assumption, so their differences come from the assumptions, not from chance."
)
with st.expander("Responder rates from the imputations"):
    table(mi_responders_display(result.responders_mi), f"{outcome}_{visit}_responders_mi")
    st.caption(
        "Each missing value imputed as above, rates combined over the imputations by Rubin's "
        "rules on the percentage scale; the Responders page counts missing follow-up as "
        "non-response instead."
    )
with st.expander("Assumptions behind each estimate"):
    for line in assumption_text(result.assumptions):
        st.markdown(f"- {md(line)}")
st.caption(md(MISSING_DATA_NOTE))
