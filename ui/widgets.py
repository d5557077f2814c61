"""Widgets shared by several pages."""

from __future__ import annotations

import streamlit as st

from analysis.ingest.dataset import Dataset
from analysis.instruments import lookup
from ui import url
from ui.safe import md
from ui.state import directions

_DIRECTION_CHOICES = {
    "direction unknown": None,
    "lower is better": "lower",
    "higher is better": "higher",
}


def outcome_picker(dataset: Dataset, key: str, container=st) -> str:
    """Outcome selectbox showing instrument labels; the choice is shared across pages."""
    outcomes = dataset.outcomes
    current = st.session_state.get("outcome")
    index = outcomes.index(current) if current in outcomes else 0
    outcome = url.selectbox(
        container, "Outcome", outcomes, key, "outcome", index,
        format_func=lambda c: lookup(c).label,
    )  # fmt: skip
    st.session_state["outcome"] = outcome
    return outcome


def direction_for(outcome: str) -> str | None:
    """The direction of improvement: the registry's, or asked of the user for unknown codes."""
    if lookup(outcome).known:
        return None  # the registry's own direction applies
    stored = directions().get(outcome)
    labels = list(_DIRECTION_CHOICES)
    choice = st.radio(
        f"Which way is better for {md(outcome)}? It is not in the instrument registry.",
        labels,
        index=list(_DIRECTION_CHOICES.values()).index(stored),
        horizontal=True,
        key=f"direction::{outcome}",
    )
    direction = _DIRECTION_CHOICES[choice]
    if direction:
        directions()[outcome] = direction
    else:
        directions().pop(outcome, None)
    return direction


def follow_up_picker(
    dataset: Dataset,
    outcome: str,
    options: list[str],
    key: str,
    param: str,
    container=st,
    label: str = "Follow-up visit",
) -> str:
    """A follow-up visit shared across pages: the one chosen last on any page if it fits,
    else the latest visit at least half of the baseline patients reached."""
    shared = st.session_state.get("visit")
    default = shared if shared in options else dataset.default_follow_up_visit(outcome)
    index = options.index(default) if default in options else len(options) - 1
    visit = url.selectbox(container, label, options, key, param, index)
    st.session_state["visit"] = visit
    return visit
