"""Overview: the data in plain words, follow-up completeness, every outcome at a glance."""

import streamlit as st

from analysis.instruments import lookup
from analysis.present.figures import completeness_bars
from analysis.present.tables import summary_display
from analysis.present.wording import UNCONTROLLED_CAVEAT
from ui.entry import ensure_entry
from ui.render import chart, table
from ui.safe import md
from ui.state import cached_summary, directions, require_dataset

ensure_entry()

st.title("Overview")
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
st.warning(UNCONTROLLED_CAVEAT, icon=":material/warning:")

left, right = st.columns([3, 2])
with left:
    chart(completeness_bars(dataset.completeness()), "follow_up_completeness")
with right:
    st.subheader("Follow-up completeness")
    st.caption("Patients with at least one value at each visit.")
    table(dataset.completeness(), "follow_up_completeness")

st.subheader("Every outcome against baseline")
st.caption(
    "Patients with values at baseline and at the visit. p comes from the test recommended for "
    "each row's data (see Compare visits for the reasons). Many rows are tested at once here: "
    "treat p-values as descriptive."
)
summary = cached_summary(dataset, tuple(sorted(directions().items())))
shown = summary_display(summary)
table(shown, "every_outcome_against_baseline", height=min(36 * (len(shown) + 1) + 4, 1400))

with st.expander("Patients with a value, by outcome and visit"):
    counts = dataset.outcome_completeness()
    counts.index = [lookup(code).label for code in counts.index]
    st.dataframe(counts, width="stretch")
