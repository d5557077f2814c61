"""The Database source: an uploaded SQLite file (read in memory), a SQLite file from the data
folder the administrator named (environment variable OUTCOMES_SQLITE_DIR; none by default),
or the database configured in .streamlit/secrets.toml ([connections.sql] url = "postgresql://...").

No path on the server can be typed: only a file name inside the data folder, and anything
else (outside it, missing, not a .sqlite/.db file) gets one message that never says whether
a file exists. The chosen table or read-only query is handed on as Parquet bytes in memory, so
it goes through the same checks (PHI guard, validation) and caches as a file; nothing is
written to disk. Reading itself is guarded in analysis/ingest/sql.py (parser, read-only
transaction or authorizer, time limit, no superuser)."""

from __future__ import annotations

import hashlib
import io

import pandas as pd
import sqlalchemy as sa
import streamlit as st

from analysis.ingest.sql import (
    QueryRefused,
    list_tables,
    read_sql_source,
    sqlite_data_folder,
    sqlite_engine_for_bytes,
    sqlite_engine_in_folder,
    sqlite_files_in_folder,
)
from ui.safe import md

_UPLOADED = "an uploaded SQLite file"
_FOLDER = "a file in the data folder"


def _configured() -> bool:
    try:
        return "sql" in st.secrets.get("connections", {})
    except (FileNotFoundError, KeyError, AttributeError):
        return False
    except Exception:  # no secrets file at all
        return False


@st.cache_data(ttl=300, show_spinner="Reading the database…", max_entries=8)
def _read(_engine, connection_name: str, table: str | None, query: str | None) -> bytes:
    frame = read_sql_source(_engine, table=table, query=query)
    buffer = io.BytesIO()
    frame.to_parquet(buffer, index=False)
    return buffer.getvalue()


@st.cache_resource(max_entries=4, show_spinner=False)
def _uploaded_engine(digest: str, _data: bytes) -> sa.Engine:
    """The uploaded file deserialized into memory, once per content (keyed by its SHA-256)."""
    return sqlite_engine_for_bytes(_data)


def _sqlite_source(sidebar) -> tuple[sa.Engine | None, str]:
    folder = sqlite_data_folder()
    choices = [_UPLOADED] + ([_FOLDER] if folder is not None else [])
    where = sidebar.radio("SQLite", choices, horizontal=True, key="db_where")
    if where == _FOLDER:
        files = sqlite_files_in_folder(folder)
        name = sidebar.selectbox("SQLite file", files, index=None, key="db_file")
        if not name:
            return None, ""
        try:
            return sqlite_engine_in_folder(name, folder), name
        except QueryRefused as exc:
            sidebar.error(md(str(exc)))
            return None, ""
    upload = sidebar.file_uploader(
        "SQLite file (.sqlite, .db)",
        type=["sqlite", "sqlite3", "db"],
        key="db_upload",
        help="Read in memory only. PostgreSQL or another server: set [connections.sql] url "
        "in .streamlit/secrets.toml (see the README).",
    )
    if upload is None:
        return None, ""
    data = upload.getvalue()
    digest = hashlib.sha256(data).hexdigest()
    try:
        return _uploaded_engine(digest, data), f"{upload.name} ({digest[:12]})"
    except QueryRefused as exc:
        sidebar.error(md(str(exc)))
        return None, ""


def database_source(sidebar) -> tuple[bytes | None, str]:
    """Render the database controls; return (Parquet bytes, source name) or (None, "")."""
    engine: sa.Engine | None
    if _configured():
        engine = st.connection("sql", type="sql").engine
        name = "the configured database"
    else:
        engine, name = _sqlite_source(sidebar)
    if engine is None:
        return None, ""
    try:
        tables = list_tables(engine)
    except Exception as exc:  # connection refused, not a database file, ...
        sidebar.error(f"The database could not be opened: {md(str(exc).splitlines()[0])}")
        return None, ""
    mode = sidebar.radio("Read", ["a table", "a query"], horizontal=True, key="db_mode")
    table = query = None
    if mode == "a table":
        if not tables:
            sidebar.warning("The database has no tables.")
            return None, ""
        table = sidebar.selectbox("Table", tables, key="db_table")
    else:
        query = sidebar.text_area("Read-only SELECT query", key="db_query") or None
        if query is None:
            return None, ""
    try:
        data = _read(engine, name, table, query)
    except QueryRefused as exc:
        sidebar.error(md(str(exc)))
        return None, ""
    except Exception as exc:  # bad SQL, missing column, ...
        sidebar.error(f"The query failed: {md(str(exc).splitlines()[0])}")
        return None, ""
    return data, f"{table or 'query'} in {name}"


def event_map_editor(sidebar, event_map: dict[str, str], key: str) -> None:
    """REDCap events and the visits they became; edits are kept for this file and reloaded."""
    with sidebar.expander("REDCap events → visits"):
        frame = pd.DataFrame({"event": list(event_map), "visit": list(event_map.values())})
        edited = st.data_editor(
            frame, hide_index=True, disabled=["event"], key=f"editor::{key}", width="stretch"
        )
        mapping = {
            e: str(v).strip() or e for e, v in zip(edited["event"], edited["visit"], strict=True)
        }
        if mapping != event_map:
            st.session_state[key] = mapping
            st.rerun()
