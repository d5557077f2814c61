"""The between-arm section shown on Compare visits, Over time and Responders when the data has
an arm attribute."""

from __future__ import annotations

import streamlit as st

from analysis.ingest.dataset import Dataset
from analysis.present.tables import (
    ancova_table,
    arm_rates_display,
    subgroup_group_table,
    subgroup_tests_text,
)
from analysis.stats.arms import ARM_CAVEAT, arm_change, arm_change_by_visit, arm_responder_rates
from analysis.stats.subgroups import arm_attribute
from ui.render import table
from ui.safe import md


def _header(arm: str) -> None:
    st.subheader("Between arms")
    st.info(md(ARM_CAVEAT), icon=":material/balance:")
    st.caption(f"Arms from the attribute {md(arm)}.")


def change_section(dataset: Dataset, outcome: str, visit: str) -> None:
    """Change from baseline at ``visit`` by arm: groups, Welch/Mann-Whitney, ANCOVA."""
    arm = arm_attribute(dataset)
    if arm is None:
        return
    _header(arm)
    comparison = arm_change(dataset, outcome, visit, arm)
    st.markdown(f"Change from baseline to {md(visit)} in each arm:")
    table(subgroup_group_table(comparison), f"arms_{outcome}_{visit}")
    for line in subgroup_tests_text(comparison):
        st.markdown(f"- {md(line)}")
    if not comparison.ancova.empty:
        st.markdown("Adjusted for the baseline value (ANCOVA):")
        table(ancova_table(comparison.ancova), f"arms_ancova_{outcome}_{visit}")


def over_time_section(dataset: Dataset, outcome: str) -> None:
    arm = arm_attribute(dataset)
    if arm is None:
        return
    _header(arm)
    by_visit = arm_change_by_visit(dataset, outcome, arm)
    if by_visit.empty:
        st.caption("No visit has enough patients in each arm to compare.")
        return
    st.markdown("Difference between arms at each visit, adjusted for baseline (ANCOVA):")
    shown = ancova_table(by_visit.drop(columns="visit"))
    shown.insert(0, "visit", by_visit["visit"].to_numpy())
    table(shown, f"arms_by_visit_{outcome}")


def responders_section(dataset: Dataset, outcome: str, visit: str, direction: str | None) -> None:
    arm = arm_attribute(dataset)
    if arm is None:
        return
    _header(arm)
    rates = arm_responder_rates(dataset, outcome, visit, arm, direction)  # type: ignore[arg-type]
    if rates.empty:
        return
    st.markdown(f"Responders at {md(visit)} in each arm (completers), and the difference:")
    table(arm_rates_display(rates), f"arms_responders_{outcome}_{visit}")
    st.caption("Difference in responder rates with Newcombe's score interval (Newcombe 1998).")
