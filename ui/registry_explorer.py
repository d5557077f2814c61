"""The Cohort explorer for a registry summarised inside its database (ui.registry): Table 1 and
subgroup comparisons computed in the engine."""

from __future__ import annotations

from typing import TYPE_CHECKING

import streamlit as st

from ui.registry import CACHE_OPTIONS
from ui.safe import md

if TYPE_CHECKING:
    from analysis.ingest.engine import EngineCohort


@st.cache_data(
    show_spinner="Building Table 1 inside the database…", max_entries=16, **CACHE_OPTIONS
)
def cached_pushdown_table_one(cohort: EngineCohort, by: str | None, p_values: bool, min_group: int):
    """Table 1 computed in the engine (analysis.stats.pushdown_table1)."""
    from analysis.stats.pushdown_table1 import pushdown_table_one

    return pushdown_table_one(cohort, by, p_values=p_values, min_group=min_group)


@st.cache_data(
    show_spinner="Comparing subgroups inside the database…", max_entries=16, **CACHE_OPTIONS
)
def cached_pushdown_subgroups(
    cohort: EngineCohort, outcome: str, visit: str, by: str, min_group: int,
    reference: str | None,
):  # fmt: skip
    """Subgroup comparison computed in the engine (analysis.stats.pushdown_subgroups)."""
    from analysis.stats.pushdown_subgroups import pushdown_subgroups

    return pushdown_subgroups(cohort, outcome, visit, by, min_group, reference)


def registry_explorer(cohort: EngineCohort) -> None:
    """Table 1 and subgroup comparisons for a registry, computed inside its database."""
    from analysis.instruments import lookup
    from analysis.present.tables import (
        ancova_table,
        subgroup_group_table,
        subgroup_tests_text,
        table1_display,
    )
    from analysis.stats.cohort import SMALL_GROUP_DEFAULT
    from analysis.stats.pushdown import engine_arm_design
    from analysis.stats.pushdown_subgroups import categorical_attributes
    from analysis.stats.table1 import NORMALITY_RULE
    from ui.render import table

    design = engine_arm_design(cohort)
    categorical = categorical_attributes(cohort)
    st.caption(
        md(
            f"Computed inside {cohort.source.kind}: no row left the database; groups with fewer "
            f"than {SMALL_GROUP_DEFAULT} patients are suppressed there."
        )
    )
    st.subheader("Table 1: baseline characteristics")
    pick = st.columns([2, 1])
    options = ["(overall only)", *categorical]
    default = options.index(design.attribute) if design.attribute in options else 0
    by = pick[0].selectbox("By", options, index=default, key="registry_t1_by")
    p_values = pick[1].toggle("p-values (descriptive only)", key="registry_t1_p")
    t1 = cached_pushdown_table_one(
        cohort, None if by == "(overall only)" else by, p_values, SMALL_GROUP_DEFAULT
    )
    table(table1_display(t1.table), f"table1_by_{by}",
          provenance={"computed_in": cohort.source.kind, "source": cohort.source.display,
                      "rows_left_database": False})  # fmt: skip
    st.caption(md(NORMALITY_RULE))
    if t1.left_out:
        st.warning(
            "Not shown: " + md("; ".join(f"{name} ({why})" for name, why in t1.left_out.items()))
        )
    if not categorical:
        return
    st.subheader("Compare subgroups: change from baseline")
    choose = st.columns(3)
    outcome = choose[0].selectbox(
        "Outcome", cohort.outcomes, format_func=lambda code: lookup(code).label,
        key="registry_sub_outcome",
    )  # fmt: skip
    follow = cohort.follow_up_visits
    visit = choose[1].selectbox("Visit", follow, index=len(follow) - 1, key="registry_sub_visit")
    group_by = choose[2].selectbox(
        "Group by", categorical,
        index=categorical.index(design.attribute) if design.attribute in categorical else 0,
        key="registry_sub_by",
    )  # fmt: skip
    reference = design.comparator if group_by == design.attribute else None
    comparison = cached_pushdown_subgroups(
        cohort, outcome, visit, group_by, SMALL_GROUP_DEFAULT, reference
    )
    table(subgroup_group_table(comparison, False, SMALL_GROUP_DEFAULT),
          f"groups_{outcome}_{visit}_by_{group_by}")  # fmt: skip
    for line in subgroup_tests_text(comparison):
        st.markdown(f"- {md(line)}")
    if not comparison.ancova.empty:
        st.markdown(f"**ANCOVA**: value at {md(visit)} adjusted for the baseline value.")
        table(ancova_table(comparison.ancova), f"ancova_{outcome}_{visit}_by_{group_by}")
    st.caption(
        "The forest plot of every subgroup and the association with numeric attributes need "
        "each patient's values."
    )
    st.divider()
