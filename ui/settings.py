"""Save and restore a view: the settings of what is shown, as a small JSON file.

The app keeps every view setting in the page link's query parameters (ui/url.py, the cohort
filter in ui/filters.py): outcome, visits, baseline, arm and comparator, thresholds, filters.
Saving writes all of them, with the data source's SHA-256, its name and the app version.
Restoring puts them back in the link and clears the once-per-session markers, so the next run
applies them exactly as a shared link would be applied; settings that do not fit the data
fall back to their defaults with the usual note. When the data loaded now is not the data the
settings were saved on (another SHA-256), the view is restored as far as it fits, and a
message says so.
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Mapping
from typing import Any

import streamlit as st

from analysis.present.provenance import SOFTWARE, software_version, stamp
from ui.safe import md

FORMAT = "dpn-msc-outcomes view settings"
FORMAT_VERSION = 1
MAX_BYTES = 256 * 1024  # a settings file is a few hundred bytes
_NOTICE = "settings_notice"
_UPLOAD_ROUND = "settings_upload_round"
_PREPARED = "settings_prepared"
# Session-state keys whose value a link (or a restored file) sets once per session: the markers
# (cleared, so the link is applied again) and the widgets they belong to (dropped, so a setting
# missing from the file goes back to its default rather than keeping the current value).
_MARKERS = ("url_done::", "flt_restored::")
_WIDGET_PREFIXES = ("flt::", "flt_active::", "direction::")


def settings_record(
    query_params: Mapping[str, list[str]],
    *,
    source_sha256: str | None,
    source_name: str | None,
    directions: Mapping[str, str] | None = None,
    saved: dt.datetime | None = None,
) -> dict[str, Any]:
    """The saved view as a JSON-ready record."""
    return {
        "format": FORMAT,
        "format_version": FORMAT_VERSION,
        "software": SOFTWARE,
        "software_version": software_version(),
        "saved_utc": stamp(saved or dt.datetime.now(dt.UTC)),
        "source_name": source_name or "",
        "source_sha256": source_sha256 or "",
        "query_params": {str(k): [str(v) for v in values] for k, values in query_params.items()},
        "directions": dict(directions or {}),
    }


def settings_json(record: Mapping[str, Any]) -> bytes:
    return (json.dumps(record, indent=2, ensure_ascii=False) + "\n").encode("utf-8")


def parse_settings(data: bytes) -> dict[str, Any]:
    """A settings file read and checked; ValueError (with what is wrong) when it is not one."""
    if len(data) > MAX_BYTES:
        raise ValueError("the file is too large to be a settings file")
    try:
        record = json.loads(data.decode("utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise ValueError(f"it is not a JSON file ({exc})") from None
    if not isinstance(record, dict) or record.get("format") != FORMAT:
        raise ValueError("it is not a settings file saved by this dashboard")
    params = record.get("query_params")
    if not isinstance(params, dict) or not all(
        isinstance(k, str) and isinstance(v, list) and all(isinstance(x, str) for x in v)
        for k, v in params.items()
    ):
        raise ValueError("its settings are not in the expected form")
    directions = record.get("directions") or {}
    if not isinstance(directions, dict) or not all(
        isinstance(k, str) and v in ("lower", "higher") for k, v in directions.items()
    ):
        raise ValueError("its directions of improvement are not in the expected form")
    record["directions"] = directions
    return record


def mismatch_message(record: Mapping[str, Any], current_sha256: str | None) -> str | None:
    """What to say when the settings were saved on other data (None when they match)."""
    saved = str(record.get("source_sha256") or "")
    if not saved or saved == (current_sha256 or ""):
        return None
    name = record.get("source_name") or "another file"
    now = f"{current_sha256[:12]}" if current_sha256 else "none loaded"
    return (
        f"These settings were saved on other data: {name} (fingerprint {saved[:12]}); the data "
        f"loaded now has fingerprint {now}. The view was restored as far as it fits this "
        "data; settings that do not fit are shown at their defaults. Load the same data file to "
        "see the view exactly as it was saved."
    )


def _current_params() -> dict[str, list[str]]:
    return {name: st.query_params.get_all(name) for name in st.query_params}


def _restore(record: Mapping[str, Any]) -> None:
    """Apply a parsed settings record (runs in a widget callback, before any widget is drawn)."""
    state = st.session_state
    for key in list(state.keys()):
        name = str(key)
        if name.startswith(_MARKERS):
            widget = name.split("::", 1)[1] if name.startswith("url_done::") else None
            del state[key]
            if widget is not None and widget in state:
                del state[widget]
        elif name.startswith(_WIDGET_PREFIXES):
            del state[key]
    state["directions"] = dict(record.get("directions") or {})
    st.query_params.clear()
    st.query_params.from_dict(record["query_params"])
    mismatch = mismatch_message(record, state.get("source_sha256"))
    saved = record.get("saved_utc", "")
    if mismatch:
        state[_NOTICE] = ("warning", mismatch)
    else:
        state[_NOTICE] = ("success", f"The view saved {saved} was restored.")


def _on_upload(key: str) -> None:
    upload = st.session_state.get(key)
    st.session_state[_UPLOAD_ROUND] = st.session_state.get(_UPLOAD_ROUND, 0) + 1  # a new box
    if upload is None:
        return
    try:
        record = parse_settings(upload.getvalue())
    except ValueError as exc:
        st.session_state[_NOTICE] = ("error", f"This file cannot restore a view: {exc}.")
        return
    _restore(record)


def _prepare() -> None:
    st.session_state[_PREPARED] = True


def settings_sidebar() -> None:
    """The 'Save or restore this view' expander in the sidebar. Call it after the data source
    sidebar (dashboard.py), before the page runs."""
    notice = st.session_state.pop(_NOTICE, None)
    if notice is not None:
        kind, text = notice
        {"success": st.success, "warning": st.warning, "error": st.error}[kind](
            md(text), icon=":material/settings_backup_restore:"
        )
    prepared = bool(st.session_state.pop(_PREPARED, False))
    with st.sidebar.expander(
        "Save or restore this view", expanded=prepared, icon=":material/bookmark:"
    ):
        st.caption(
            "The settings of this view (outcome, visits, baseline, arms, thresholds, cohort "
            "filter) with the data's fingerprint, as a small JSON file. Loading it with the "
            "same data restores the view."
        )
        if prepared:
            # Prepared in the run after the click: the link then holds every setting of the
            # page as it is shown (a page writes its settings to the link as it runs).
            dataset = st.session_state.get("dataset")
            record = settings_record(
                _current_params(),
                source_sha256=st.session_state.get("source_sha256"),
                source_name=getattr(dataset, "source_name", None),
                directions=st.session_state.get("directions"),
            )
            st.download_button(
                "Download the settings (JSON)",
                settings_json(record),
                f"view_settings_{record['saved_utc'][:10]}.json",
                "application/json",
                key="settings_download",
                type="primary",
            )
        else:
            st.button("Save this view…", key="settings_save", on_click=_prepare)
        key = f"settings_upload::{st.session_state.get(_UPLOAD_ROUND, 0)}"
        st.file_uploader(
            "Restore a saved view",
            type=["json"],
            key=key,
            on_change=_on_upload,
            args=(key,),
            help="A settings file saved here. The data it was saved on must be loaded to see "
            "the same view.",
        )
