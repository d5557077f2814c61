"""Overview: the data in plain words, follow-up completeness, every outcome at a glance."""

import streamlit as st

from analysis.instruments import lookup
from analysis.present.estimand import summary_estimand
from analysis.present.figures import completeness_bars
from analysis.present.tables import summary_between_display, summary_display
from analysis.present.wording import design_caveat
from analysis.stats.arms import patients_with_baseline
from ui.entry import ensure_entry
from ui.registry import engine_cohort, registry_overview
from ui.render import chart, table
from ui.safe import md
from ui.state import (
    arm_design,
    cached_largest_smd,
    cached_summary,
    cached_summary_by_arm,
    directions,
    require_dataset,
)

ensure_entry()

st.title("Overview")
if (registry_cohort := engine_cohort()) is not None:  # summarised inside its database
    registry_overview(registry_cohort)
    st.stop()
dataset = require_dataset()
report = dataset.report

st.markdown(
    f"**Source:** {md(dataset.source_name)}, {md(dataset.source_format)}.  \n"
    f"**{dataset.n_patients} patients**, {len(dataset.visits)} visits "
    f"({md(', '.join(dataset.visits))}; ordered {md(dataset.visit_order_rule)}), "
    f"{len(dataset.outcomes)} outcomes. Baseline visit: **{md(dataset.baseline)}**."
)
columns = st.columns(4)
columns[0].metric("Patients", dataset.n_patients)
columns[1].metric("Visits", len(dataset.visits))
columns[2].metric("Outcomes", len(dataset.outcomes))
columns[3].metric(
    "Data warnings",
    len(report.warnings),
    help="Details, with rows and columns, on the Data page.",
)
design = arm_design()
# The caveat's place is kept and filled after the first chart is drawn: the baseline imbalance
# it names (Table 1's standardised differences) needs SciPy's statistics, which load in about a
# second on a fresh server (README, start-up). What the page shows and its order do not change.
caveat = st.empty()

completeness = dataset.completeness()
left, right = st.columns([3, 2])
with left:
    chart(completeness_bars(completeness), "follow_up_completeness")
with right:
    st.subheader("Follow-up completeness")
    st.caption("Patients with at least one value at each visit.")
    table(completeness, "follow_up_completeness")

caveat.warning(
    md(design_caveat(design, cached_largest_smd(dataset, design))), icon=":material/warning:"
)

st.subheader("Every outcome against baseline" + (" in each arm" if design.has_arms else ""))
st.caption(
    "Patients with values at baseline and at the visit. p comes from the primary test for "
    "each outcome's scale (see Compare visits for the reasons). Many rows are tested at once "
    "here: treat p-values as descriptive."
)
direction_items = tuple(sorted(directions().items()))
# After the first chart: numeric_tables imports the responder and MMRM modules (SciPy).
from analysis.present.numeric_tables import summary_between_numeric, summary_numeric  # noqa: E402

estimand = summary_estimand(
    design, st.session_state.get("cohort_sentence", ""), patients_with_baseline(dataset, design)
)
if design.has_arms:
    per_arm, between = cached_summary_by_arm(dataset, design, direction_items)
    shown = summary_display(per_arm)
    table(shown, "every_outcome_against_baseline_by_arm", numeric=summary_numeric(per_arm),
          provenance=estimand, height=min(36 * (len(shown) + 1) + 4, 1400))  # fmt: skip
    st.subheader("Between arms: difference in mean change")
    st.caption(
        "Each arm minus the comparator, with Welch's 95% interval: the comparison that can "
        "separate treatment from placebo response and regression to the mean."
    )
    table(summary_between_display(between), "every_outcome_between_arms",
          numeric=summary_between_numeric(between), provenance=estimand)  # fmt: skip
else:
    summary = cached_summary(dataset, direction_items)
    shown = summary_display(summary)
    table(shown, "every_outcome_against_baseline", numeric=summary_numeric(summary),
          provenance=estimand, height=min(36 * (len(shown) + 1) + 4, 1400))  # fmt: skip

with st.expander("Patients with a value, by outcome and visit"):
    counts = dataset.outcome_completeness()
    counts.index = [lookup(code).label for code in counts.index]
    st.dataframe(counts, width="stretch")
