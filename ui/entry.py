"""Making sure every page runs inside the entry script (dashboard.py).

Streamlit still auto-discovers a folder named pages/ in two places: AppTest (on every run)
and a fresh server (on its very first run, before any st.navigation call). There a page file
is executed directly, without dashboard.py, so the shared sidebar and navigation would be
missing (and a deep link would show "Page not found"). Each page therefore starts with
``ensure_entry()``: when the page was started on its own, it runs dashboard.py, which draws the
sidebar and navigation and runs the page inside them, and then stops the outer run.
"""

from __future__ import annotations

import contextlib
import runpy
from collections.abc import Iterator
from contextvars import ContextVar
from pathlib import Path

import streamlit as st

ENTRY_SCRIPT = Path(__file__).resolve().parent.parent / "dashboard.py"
_inside_entry: ContextVar[bool] = ContextVar("inside_entry", default=False)


@contextlib.contextmanager
def entered() -> Iterator[None]:
    """Mark the body as running inside the entry script (used by dashboard.py)."""
    token = _inside_entry.set(True)
    try:
        yield
    finally:
        _inside_entry.reset(token)


def ensure_entry() -> None:
    """Call first in every page: run the entry script if this page was started without it."""
    if _inside_entry.get():
        return
    runpy.run_path(str(ENTRY_SCRIPT), run_name="__main__")
    st.stop()
