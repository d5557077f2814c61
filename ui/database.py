"""The Database source: st.connection("sql") to a SQLite file (no set-up) or to the database
configured in .streamlit/secrets.toml ([connections.sql] url = "postgresql://...").

The chosen table or read-only query is handed on as Parquet bytes in memory, so it goes through
the same checks (PHI guard, validation) and caches as a file; nothing is written to disk."""

from __future__ import annotations

import io
from pathlib import Path

import pandas as pd
import streamlit as st

from analysis.ingest.sql import QueryRefused, list_tables, read_table
from ui.safe import md


def _configured() -> bool:
    try:
        return "sql" in st.secrets.get("connections", {})
    except (FileNotFoundError, KeyError, AttributeError):
        return False
    except Exception:  # no secrets file at all
        return False


@st.cache_data(ttl=300, show_spinner="Reading the database…", max_entries=8)
def _read(_engine, connection_name: str, table: str | None, query: str | None) -> bytes:
    frame = read_table(_engine, table=table, query=query)
    buffer = io.BytesIO()
    frame.to_parquet(buffer, index=False)
    return buffer.getvalue()


def database_source(sidebar) -> tuple[bytes | None, str]:
    """Render the database controls; return (Parquet bytes, source name) or (None, "")."""
    if _configured():
        connection = st.connection("sql", type="sql")
        name = "the configured database"
    else:
        path = sidebar.text_input(
            "SQLite file on this server",
            key="db_path",
            help="PostgreSQL or another server: set [connections.sql] url in "
            ".streamlit/secrets.toml (see the README).",
        )
        if not path:
            return None, ""
        if not Path(path).is_file():
            sidebar.error(f"No file at {md(path)}.")
            return None, ""
        url = f"sqlite:///file:{Path(path).resolve()}?mode=ro&uri=true"
        connection = st.connection(f"sqlite::{Path(path).resolve()}", type="sql", url=url)
        name = Path(path).name
    try:
        tables = list_tables(connection.engine)
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
        data = _read(connection.engine, name, table, query)
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
