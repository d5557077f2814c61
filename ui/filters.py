"""The cohort filter in the sidebar, kept in the page URL so a reload or a link restores it."""

from __future__ import annotations

import numpy as np
import streamlit as st

from analysis.ingest.dataset import Dataset
from analysis.stats.cohort import (
    CohortFilter,
    apply_filter,
    attribute_kinds,
    from_query_params,
    levels,
    to_query_params,
)
from ui.safe import md


def _widget_key(fingerprint: str, attribute: str) -> str:
    return f"flt::{fingerprint}::{attribute}"


def _bounds(dataset: Dataset, attribute: str) -> tuple[float, float, float]:
    values = dataset.attributes[attribute].dropna().to_numpy(dtype=float)
    step = 1.0 if np.all(values == np.round(values)) else 0.1
    return float(values.min()), float(values.max()), step


def _restore_from_url(dataset: Dataset, fingerprint: str) -> None:
    """Once per session and data file: widget values from the URL's filter parameters."""
    marker = f"flt_restored::{fingerprint}"
    if st.session_state.get(marker):
        return
    params = {name: st.query_params.get_all(name) for name in st.query_params}
    cohort, notes = from_query_params(dataset, params)
    for attribute, chosen in cohort.categorical.items():
        st.session_state[_widget_key(fingerprint, attribute)] = list(chosen)
    for attribute, (low, high) in cohort.numeric.items():
        lo, hi, _ = _bounds(dataset, attribute)
        st.session_state[_widget_key(fingerprint, attribute)] = (
            min(max(low, lo), hi),
            max(min(high, hi), lo),
        )
    st.session_state["filter_notes"] = notes
    st.session_state[f"flt_active::{fingerprint}"] = cohort.active
    st.session_state[marker] = True


def _loaded_fingerprint(dataset: Dataset) -> str:
    if not dataset.fingerprint:
        raise ValueError("cohort_sidebar needs a dataset that carries its fingerprint")
    return dataset.fingerprint


# cache_resource, not cache_data: the filtered cohort is shared, not copied, across reruns.
# Keyed by the unfiltered data's fingerprint and the filter (a dataclass, hashed by value).
@st.cache_resource(show_spinner=False, max_entries=16, hash_funcs={Dataset: _loaded_fingerprint})
def _filtered(dataset: Dataset, cohort: CohortFilter) -> Dataset:
    """The filtered cohort, made once per data and filter and shared across reruns."""
    return apply_filter(dataset, cohort)


def cohort_sidebar(dataset: Dataset, fingerprint: str) -> tuple[Dataset, CohortFilter]:
    """Render the filter widgets; return the filtered dataset and the filter. The dataset's
    own fingerprint names it exactly (content, loading choices and baseline)."""
    kinds = attribute_kinds(dataset)
    _restore_from_url(dataset, fingerprint)
    categorical: dict[str, tuple[str, ...]] = {}
    numeric: dict[str, tuple[float, float]] = {}
    active_key = f"flt_active::{fingerprint}"
    with st.sidebar.expander(
        "Cohort filter",
        expanded=bool(st.session_state.get(active_key)),
        icon=":material/filter_alt:",
    ):
        st.caption("Empty = everyone. Every page and statistic uses the filtered cohort.")
        for attribute, kind in kinds.items():
            key = _widget_key(fingerprint, attribute)
            if kind == "categorical":
                # labels render markdown: an attribute named like a link must stay text
                chosen = st.multiselect(md(attribute), levels(dataset, attribute), key=key,
                                        placeholder="all")  # fmt: skip
                if chosen:
                    categorical[attribute] = tuple(chosen)
            else:
                low, high, step = _bounds(dataset, attribute)
                if key not in st.session_state:
                    st.session_state[key] = (low, high)
                # A (low, high) value in session state makes this a range slider.
                value: tuple[float, float] = st.slider(  # type: ignore[assignment]
                    md(attribute), low, high, step=step, key=key
                )
                if tuple(value) != (low, high):
                    numeric[attribute] = (float(value[0]), float(value[1]))
    cohort = CohortFilter(categorical, numeric)
    st.session_state[active_key] = cohort.active
    _write_url(cohort)
    if not cohort.active:
        return dataset, cohort
    return _filtered(dataset, cohort), cohort


def _write_url(cohort: CohortFilter) -> None:
    wanted = to_query_params(cohort)
    for name in list(st.query_params):
        if name.startswith(("f.", "r.")) and name not in wanted:
            del st.query_params[name]
    for name, value in wanted.items():
        if st.query_params.get_all(name) != (value if isinstance(value, list) else [value]):
            st.query_params[name] = value
