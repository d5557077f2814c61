"""The Cohort explorer for a registry summarised inside its database (ui.registry): Table 1,
subgroup comparisons, the forest plot of every subgroup and the association of change with a
numeric attribute, all computed in the engine; no row leaves it."""

from __future__ import annotations

from typing import TYPE_CHECKING

import pandas as pd
import streamlit as st

from ui.registry import CACHE_OPTIONS, registry_design
from ui.safe import md

if TYPE_CHECKING:
    from analysis.ingest.engine import EngineCohort
    from analysis.stats.pushdown_association import ChangeBins, PushdownAssociation
    from analysis.stats.pushdown_subgroups import OverallChange


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


@st.cache_data(
    show_spinner="Comparing every subgroup inside the database…", max_entries=16, **CACHE_OPTIONS
)
def cached_pushdown_forest(
    cohort: EngineCohort, outcome: str, visit: str, min_group: int
) -> tuple[pd.DataFrame, OverallChange]:
    """The forest table and every patient's mean change, computed in the engine
    (analysis.stats.pushdown_subgroups)."""
    from analysis.stats.pushdown_subgroups import pushdown_forest_table, pushdown_mean_change

    return (
        pushdown_forest_table(cohort, outcome, visit, min_group),
        pushdown_mean_change(cohort, outcome, visit, min_group),
    )


@st.cache_data(show_spinner=False, max_entries=8, **CACHE_OPTIONS)
def cached_numeric_attributes(cohort: EngineCohort) -> list[str]:
    """The registry's numeric attributes, decided in the engine."""
    from analysis.stats.pushdown_association import numeric_attributes

    return numeric_attributes(cohort)


@st.cache_data(show_spinner="Ranking inside the database…", max_entries=16, **CACHE_OPTIONS)
def cached_pushdown_association(
    cohort: EngineCohort, outcome: str, visit: str, attribute: str, min_group: int
) -> tuple[PushdownAssociation, ChangeBins]:
    """Spearman's rho and the mean change per bin of ``attribute``, computed in the engine
    (analysis.stats.pushdown_association)."""
    from analysis.stats.pushdown_association import pushdown_association, pushdown_change_bins

    return (
        pushdown_association(cohort, outcome, visit, attribute, min_group),
        pushdown_change_bins(cohort, outcome, visit, attribute, min_group),
    )


def registry_explorer(cohort: EngineCohort) -> None:
    """Table 1, subgroup comparisons, the forest plot and the association with numeric
    attributes for a registry, computed inside its database."""
    from analysis.instruments import lookup
    from analysis.present.tables import (
        ancova_table,
        subgroup_group_table,
        subgroup_tests_text,
        table1_display,
    )
    from analysis.present.wording import subgroups_mix_arms
    from analysis.stats.cohort import SMALL_GROUP_DEFAULT
    from analysis.stats.pushdown_subgroups import categorical_attributes
    from analysis.stats.table1 import NORMALITY_RULE
    from ui.render import table

    design = registry_design()
    categorical = categorical_attributes(cohort)
    provenance = {"computed_in": cohort.source.kind, "source": cohort.source.display,
                  "rows_left_database": False}  # fmt: skip
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
    table(table1_display(t1.table), f"table1_by_{by}", provenance=provenance)
    st.caption(md(NORMALITY_RULE))
    if t1.left_out:
        st.warning(
            "Not shown: " + md("; ".join(f"{name} ({why})" for name, why in t1.left_out.items()))
        )
    numeric = cached_numeric_attributes(cohort)
    if not categorical and not numeric:
        return
    st.subheader(
        "Compare subgroups: change from baseline" if categorical else "Change from baseline"
    )
    if design.has_arms:  # no cohort filter for a registry: grouping by arm compares the arms
        st.warning(md(subgroups_mix_arms(design, can_filter=False)), icon=":material/call_split:")
    choose = st.columns(3)
    outcome = choose[0].selectbox(
        "Outcome", cohort.outcomes, format_func=lambda code: lookup(code).label,
        key="registry_sub_outcome",
    )  # fmt: skip
    follow = cohort.follow_up_visits
    visit = choose[1].selectbox("Visit", follow, index=len(follow) - 1, key="registry_sub_visit")
    if categorical:
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
        _forest_section(cohort, outcome, visit, provenance)
    if numeric:
        _association_section(cohort, outcome, visit, numeric, provenance)
    st.divider()


def _forest_section(cohort: EngineCohort, outcome: str, visit: str, provenance: dict) -> None:
    """Every subgroup at once, as the in-memory explorer shows it (pages/explorer.py)."""
    from analysis.present.figures_cohort import forest_plot
    from analysis.present.tables import forest_display
    from analysis.stats.cohort import SMALL_GROUP_DEFAULT
    from analysis.stats.subgroups import SUBGROUP_WARNING
    from ui.render import chart, table

    st.subheader("Every subgroup at once")
    forest, overall = cached_pushdown_forest(cohort, outcome, visit, SMALL_GROUP_DEFAULT)
    if forest.empty:
        st.info(md(f"No patient has {outcome} at both the baseline and {visit}."))
        return
    chart(forest_plot(forest, outcome, visit, overall.mean_change), f"{outcome}_{visit}_forest")
    st.warning(md(SUBGROUP_WARNING))
    table(forest_display(forest, False, SMALL_GROUP_DEFAULT), f"subgroups_{outcome}_{visit}",
          provenance=provenance)  # fmt: skip
    st.caption(
        "One p-value per attribute (Welch's t-test for two groups, one-way ANOVA for more), "
        "then adjusted for testing every attribute: Holm controls the chance of any false "
        "finding, Benjamini-Hochberg the expected share of false findings."
    )


def _association_section(
    cohort: EngineCohort, outcome: str, visit: str, numeric: list[str], provenance: dict
) -> None:
    """Change against a numeric attribute: Spearman's rho in words (as pages/explorer.py) and
    the mean change per bin of the attribute in place of a scatter of patients."""
    from analysis.present.figures_cohort import binned_change_plot
    from analysis.present.tables import change_bins_display
    from analysis.present.wording import spearman_sentence
    from analysis.stats.cohort import SMALL_GROUP_DEFAULT
    from ui.render import chart, table

    st.subheader("Change against a numeric attribute")
    attribute = st.selectbox("Attribute", numeric, key="registry_num_attribute")
    association, bins = cached_pushdown_association(
        cohort, outcome, visit, attribute, SMALL_GROUP_DEFAULT
    )
    if association.suppressed:
        st.info(
            md(
                f"Fewer than {SMALL_GROUP_DEFAULT} patients have {attribute} and {outcome} at "
                f"both the baseline and {visit}: nothing was computed (small-group "
                "suppression)."
            )
        )
        return
    if association.rho is None or association.p_value is None:
        st.caption(md(f"Spearman's rho is undefined: {association.reason}."))
    else:
        sentence = spearman_sentence(
            association.rho, association.n, association.p_value, association.method
        )
        st.caption(md(sentence))
    if bins.table.empty:
        return
    chart(binned_change_plot(bins, outcome, visit), f"{outcome}_{visit}_by_{attribute}_bins")
    table(change_bins_display(bins), f"change_{outcome}_{visit}_by_{attribute}_bins",
          provenance=provenance)  # fmt: skip
    st.caption(
        md(
            f"Equal-width ranges of {attribute} (each includes its lower edge; the last also "
            "its upper edge). Each patient's point and a fitted line need each patient's "
            "values, which stay in the database: the mean change per range stands in for "
            "them."
        )
    )
