"""Widgets whose value lives in the page URL, so a reload or a shared link restores the view.

A value in the link is applied once per session (before the widget is drawn); after that the
widget's current value is written back to the link on every run. A value that does not fit the
data (an outcome or visit that is not there, a malformed number) falls back to the default with
a note, never an exception.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import streamlit as st

from analysis.present.figures import MAX_PATIENT_MARKS
from ui.safe import md


def _note(param: str, raw: object) -> None:
    st.info(
        f"The link's setting {md(param)}={md(raw)} does not fit this data, so the default is "
        "shown.",
        icon=":material/link_off:",
    )


def _restore(key: str, param: str, accept: Callable[[Any], Any], multi: bool = False) -> None:
    marker = f"url_done::{key}"
    if st.session_state.get(marker):
        return
    st.session_state[marker] = True
    if param not in st.query_params:
        return
    raw = st.query_params.get_all(param) if multi else st.query_params[param]
    try:
        value = accept(raw)
    except (TypeError, ValueError):
        value = None
    if value is None:
        _note(param, raw)
        return
    st.session_state[key] = value


def _keep(param: str, value: object) -> None:
    if isinstance(value, (list, tuple)):
        wanted = [str(v) for v in value]
        if st.query_params.get_all(param) != wanted:
            st.query_params[param] = wanted
        return
    text = str(value).lower() if isinstance(value, bool) else str(value)
    if st.query_params.get(param) != text:
        st.query_params[param] = text


def selectbox(container, label: str, options: Sequence[str], key: str, param: str,
              default: int = 0, **kwargs) -> str:  # fmt: skip
    options = list(options)
    _restore(key, param, lambda raw: raw if raw in options else None)
    if st.session_state.get(key) not in options:
        st.session_state.pop(key, None)
        st.session_state[key] = options[min(default, len(options) - 1)]
    value = container.selectbox(label, options, key=key, **kwargs)
    _keep(param, value)
    return value


def radio(container, label: str, options: Sequence[str], key: str, param: str,
          default: int = 0, **kwargs) -> str:  # fmt: skip
    options = list(options)
    _restore(key, param, lambda raw: raw if raw in options else None)
    if st.session_state.get(key) not in options:
        st.session_state[key] = options[default]
    value = container.radio(label, options, key=key, **kwargs)
    _keep(param, value)
    return value


def multiselect(container, label: str, options: Sequence[str], key: str, param: str,
                default: Sequence[str] = (), **kwargs) -> list[str]:  # fmt: skip
    options = list(options)

    def accept(raw: list[str]) -> list[str] | None:
        chosen = [v for v in raw if v in options]
        return chosen if chosen and len(chosen) == len(raw) else None

    _restore(key, param, accept, multi=True)
    if key not in st.session_state or any(v not in options for v in st.session_state[key]):
        st.session_state[key] = [v for v in default if v in options]
    value = container.multiselect(label, options, key=key, **kwargs)
    _keep(param, value)
    return value


def toggle(container, label: str, key: str, param: str, default: bool = False, **kwargs) -> bool:
    _restore(key, param, lambda raw: {"true": True, "false": False}.get(raw))
    if key not in st.session_state:
        st.session_state[key] = default
    value = container.toggle(label, key=key, **kwargs)
    _keep(param, value)
    return value


def integer(container, label: str, key: str, param: str, default: int, low: int, high: int,
            **kwargs) -> int:  # fmt: skip
    def accept(raw: str) -> int | None:
        number = int(raw)
        return number if low <= number <= high else None

    _restore(key, param, accept)
    if key not in st.session_state:
        st.session_state[key] = default
    value = container.number_input(label, min_value=low, max_value=high, key=key, **kwargs)
    _keep(param, int(value))
    return int(value)


def patient(container, label: str, patients: Sequence[str], key: str, param: str,
            allow_none: bool = False, **kwargs) -> str | None:  # fmt: skip
    """A patient picker: a list to choose from, or, past MAX_PATIENT_MARKS patients (a list
    too long to scroll and to send to the browser), a box to type the pseudonymous ID into.
    Returns None for '(none)' (with ``allow_none``), an empty box, or an ID that is not in
    the data."""
    if len(patients) <= MAX_PATIENT_MARKS:
        options = ["(none)", *patients] if allow_none else list(patients)
        chosen = selectbox(container, label, options, key, param, **kwargs)
        return None if chosen == "(none)" else chosen
    known = set(patients)
    _restore(key, param, lambda raw: raw if raw in known else None)
    typed = container.text_input(
        label, key=key, placeholder=f"type one of the {len(patients):,} patient IDs", **kwargs
    ).strip()
    if not typed:
        return None
    if typed not in known:
        container.warning(f"No patient {md(typed)} in this data (IDs are case-sensitive).")
        return None
    _keep(param, typed)
    return typed


def text_box(container, label: str, key: str, param: str, **kwargs) -> str:
    """A text box restored from the link (``param``); returns the stripped text. The caller
    keeps an accepted value in the link with keep_text() once it has checked it."""
    _restore(key, param, lambda raw: raw.strip() or None)
    return container.text_input(label, key=key, **kwargs).strip()


def keep_text(param: str, value: str) -> None:
    """Put an accepted text value into the link."""
    _keep(param, value)
