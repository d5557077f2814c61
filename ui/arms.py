"""The between-arm section shown on Compare visits, Over time and Responders when the data has
an arm attribute."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from functools import partial

import streamlit as st

from analysis.ingest.dataset import Dataset
from analysis.present.estimand import Estimand
from analysis.stats.arms import (
    ArmDesign,
    resolve_arms,
)
from analysis.stats.cohort import attribute_kinds
from ui import url
from ui.safe import md

NO_ARMS = "(no arms: one group)"
MAX_ARMS = 8  # an attribute with more levels is a subgroup, not a study arm


def arm_design_sidebar(dataset: Dataset, fingerprint: str) -> ArmDesign:
    """The arm attribute, comparator, pooling and randomisation of a loaded dataset, set in the
    sidebar (and the link); defaults recognised from the data."""
    levels = {
        a: sorted(dataset.attributes[a].dropna().astype(str).unique())
        for a, kind in attribute_kinds(dataset).items()
        if kind == "categorical" and dataset.attributes[a].nunique() <= MAX_ARMS
    }
    return arm_controls(levels, partial(resolve_arms, dataset), fingerprint)


def arm_controls(
    levels: Mapping[str, list[str]], resolve: Callable[..., ArmDesign], fingerprint: str
) -> ArmDesign:
    """The arm controls over candidate attributes (name -> sorted levels); ``resolve(attribute,
    control, randomised, pooled)`` makes the design (resolve_arms for a dataset,
    engine_arm_design for a registry). Stored as session_state["arm_design"]."""
    detected = resolve()
    if not levels:
        st.session_state["arm_design"] = detected
        return detected
    sidebar = st.sidebar
    sidebar.subheader("Arms")
    options = [NO_ARMS, *levels]
    default = options.index(detected.attribute) if detected.attribute in options else 0
    attribute = url.selectbox(
        sidebar, "Arm attribute", options, f"arm_attribute::{fingerprint}", "arm", default,
        help="Every headline is given per arm, with the comparator last and the difference "
        "between arms as the effect estimate.",
    )  # fmt: skip
    if attribute == NO_ARMS:
        design = ArmDesign(None)
        st.session_state["arm_design"] = design
        return design
    recognised = resolve(attribute)
    arms = levels[attribute]
    comparator = url.selectbox(
        sidebar, "Comparator arm", arms, f"arm_control::{fingerprint}::{attribute}", "control",
        arms.index(str(recognised.comparator)) if recognised.comparator in arms else 0,
    )  # fmt: skip
    randomised = url.toggle(
        sidebar, "Patients were randomised to the arms", f"arm_randomised::{fingerprint}",
        "randomised", recognised.randomised,
    )  # fmt: skip
    pooled = url.toggle(
        sidebar, "Pool all arms (not advised)", f"arm_pooled::{fingerprint}", "pooled", False,
        help="Treated and untreated patients mixed in one before/after change.",
    )  # fmt: skip
    design = resolve(attribute, comparator, randomised, pooled)
    if comparator == recognised.comparator and not recognised.comparator_recognised:
        sidebar.caption(
            f"No arm is named like a comparator (placebo, control, standard care, ...): "
            f"{md(comparator)} is assumed. Choose the right one above."
        )
    st.session_state["arm_design"] = design
    return design


def estimand_card(estimand: Estimand, container=st) -> None:
    """The four ICH E9(R1) attributes of the result shown, in a compact box."""
    with container.container(border=True):
        st.markdown("**What this answers** (estimand, ICH E9(R1))")
        for name, text in estimand.rows():
            st.markdown(f"- **{name}:** {md(text)}")
