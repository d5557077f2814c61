"""Cohort explorer: Table 1, subgroup comparisons of change, forest plot, numeric attributes."""

import streamlit as st

from analysis.present.figures_cohort import association_scatter, forest_plot
from analysis.present.tables import (
    ancova_table,
    forest_display,
    subgroup_group_table,
    subgroup_tests_text,
    table1_display,
)
from analysis.present.wording import spearman_sentence, subgroups_mix_arms
from analysis.stats.arms import control_level
from analysis.stats.cohort import SMALL_GROUP_DEFAULT, attribute_kinds
from analysis.stats.subgroups import (
    SUBGROUP_WARNING,
    arm_attribute,
    compare_subgroups,
    continuous_association,
    forest_table,
    overall_mean_change,
)
from analysis.stats.table1 import NORMALITY_RULE, table_one
from ui import url
from ui.entry import ensure_entry
from ui.registry import registry_without_rows
from ui.registry_explorer import registry_explorer
from ui.render import chart, table
from ui.safe import md
from ui.state import arm_design, require_dataset
from ui.widgets import outcome_picker

ensure_entry()

st.title("Cohort explorer")
if (registry_cohort := registry_without_rows()) is not None:
    registry_explorer(registry_cohort)  # computed inside the registry's database
dataset = require_dataset()
kinds = attribute_kinds(dataset)
categorical = [a for a, k in kinds.items() if k == "categorical"]
numeric = [a for a, k in kinds.items() if k == "numeric"]
arm = arm_attribute(dataset)

settings = st.columns([1, 1, 2])
min_group = url.integer(
    settings[0], "Smallest group shown", "min_group", "min_group", SMALL_GROUP_DEFAULT, 1, 50,
    help="Groups with fewer patients are flagged and their statistics hidden (small-cell "
    "suppression), in views and exports, to protect privacy and avoid unstable numbers.",
)  # fmt: skip
show_small = url.toggle(settings[1], "Show small groups anyway", "show_small", "small")

st.subheader("Table 1: baseline characteristics")
pick = st.columns([2, 1])
default_by = categorical.index(arm) + 1 if arm in categorical else 0
by = url.selectbox(pick[0], "By", ["(overall only)", *categorical], "t1_by", "t1_by", default_by)
p_values = url.toggle(pick[1], "p-values (descriptive only)", "t1_p", "pvalues")
t1 = table_one(
    dataset,
    None if by == "(overall only)" else by,
    p_values=p_values,
    min_group=1 if show_small else min_group,
)
table(table1_display(t1.table), f"table1_by_{by}")
st.caption(
    md(NORMALITY_RULE)
    + " SMD: standardised mean difference (0.1 or more is often taken as imbalance). "
    + (
        "p-values describe differences between these groups; they test no hypothesis. "
        if p_values
        else ""
    )
)
if t1.suppressed:
    st.warning(
        f"Groups with fewer than {min_group} patients are hidden: "
        + md(", ".join(t1.suppressed)) + "."
    )  # fmt: skip

st.subheader("Compare subgroups: change from baseline")
design = arm_design()
if design.has_arms:  # the data has arms and the cohort filter keeps more than one
    st.warning(md(subgroups_mix_arms(design, can_filter=True)), icon=":material/call_split:")
pick = st.columns(3)
outcome = outcome_picker(dataset, "sub_outcome", pick[0])
with_data = set(dataset.wide(outcome).columns)
follow_ups = [v for v in dataset.follow_up_visits if v in with_data]
if not follow_ups or not categorical:
    st.info("Needs a follow-up visit with data and at least one categorical attribute.")
    st.stop()
visit = url.selectbox(pick[1], "Visit", follow_ups, "sub_visit", "visit", len(follow_ups) - 1)
group_by = url.selectbox(
    pick[2], "Group by", categorical, "sub_by", "by",
    categorical.index(arm) if arm in categorical else 0,
)  # fmt: skip
reference = control_level(dataset, arm) if group_by == arm else None
comparison = compare_subgroups(dataset, outcome, visit, group_by, min_group, reference)
table(
    subgroup_group_table(comparison, show_small, min_group),
    f"groups_{outcome}_{visit}_by_{group_by}",
)
for line in subgroup_tests_text(comparison):
    st.markdown(f"- {md(line)}")
if not comparison.ancova.empty:
    st.markdown(
        f"**ANCOVA**: value at {md(visit)} adjusted for the baseline value, each group compared "
        f"with {md(comparison.reference)}. Preferred to comparing raw changes: it compares "
        "patients who started at the same level, so baseline differences and regression to the "
        "mean do not bias it, and it is more precise (Vickers & Altman 2001, BMJ)."
    )
    table(ancova_table(comparison.ancova), f"ancova_{outcome}_{visit}_by_{group_by}")

st.subheader("Every subgroup at once")
forest = forest_table(dataset, outcome, visit, min_group)
if not forest.empty:
    overall = overall_mean_change(dataset, outcome, visit)
    shown = forest.assign(small=forest["small"] & ~show_small)
    chart(forest_plot(shown, outcome, visit, overall), f"{outcome}_{visit}_forest")
    st.warning(md(SUBGROUP_WARNING))
    display = forest_display(forest, show_small, min_group)
    table(display, f"subgroups_{outcome}_{visit}")
    st.caption(
        "One p-value per attribute (Welch's t-test for two groups, one-way ANOVA for more), "
        "then adjusted for testing every attribute: Holm controls the chance of any false "
        "finding, Benjamini-Hochberg the expected share of false findings."
    )

if numeric:
    st.subheader("Change against a numeric attribute")
    attribute = url.selectbox(st, "Attribute", numeric, "sub_numeric", "attribute")
    association = continuous_association(dataset, outcome, visit, attribute)
    chart(association_scatter(association, outcome, visit), f"{outcome}_{visit}_{attribute}")
    if association.rho is not None and association.p_value is not None:
        st.caption(
            md(spearman_sentence(association.rho, association.n, association.p_value,
                                 association.method))
        )  # fmt: skip
