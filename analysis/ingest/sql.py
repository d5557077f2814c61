"""Reading outcome tables from a SQL database (SQLite with no set-up, PostgreSQL by URL).

Only reading: a table chosen by name, or one SELECT (WITH ... SELECT, UNION of SELECTs)
checked by a SQL parser (sqlglot), never by keywords: exactly one statement, no writing clause
anywhere in it (a data-modifying WITH, SELECT INTO, FOR UPDATE) and no function from a deny
list (files, large objects, other servers, sleeping, sequences, settings, extensions). The
result is always fetched through a server-side cursor (PostgreSQL) or one sqlite3 call, so a
second statement the parser might miss is refused by the database itself.

Every read then runs with the database's own protections:

- PostgreSQL: in a READ ONLY transaction with SET LOCAL statement_timeout, and only for an
  account that is not a superuser and not a member of pg_read_server_files,
  pg_write_server_files or pg_execute_server_program (checked on every read);
- SQLite: opened read-only (files) or deserialized into memory (uploads), with an authorizer
  that allows reading only (no ATTACH, no writes, no denied function, no PRAGMA but the
  table-describing ones) and a progress handler that stops a query past the time limit.

The dashboard's SQLite box reads only an uploaded file or a file in the folder named by the
environment variable OUTCOMES_SQLITE_DIR (none by default). A URL "env:" (or None) is read
from OUTCOMES_DATABASE_URL, "env:NAME" from the variable NAME, so a password need not be typed
on a command line.
"""

from __future__ import annotations

import os
import re
import sqlite3
import time
from collections.abc import Callable
from pathlib import Path

import pandas as pd
import sqlalchemy as sa
import sqlglot
from sqlglot import exp

from analysis.ingest import limits

URL_VARIABLE = "OUTCOMES_DATABASE_URL"
SQLITE_DIR_VARIABLE = "OUTCOMES_SQLITE_DIR"
SQLITE_SUFFIXES = (".sqlite", ".sqlite3", ".db")
NOT_AVAILABLE = (
    "No SQLite file by that name is available here. Upload the file instead, or ask the "
    f"administrator to place it in the data folder ({SQLITE_DIR_VARIABLE})."
)
_FETCH_ROWS = 100_000

# Functions a query may not call (compared in lower case, schema prefixes ignored).
DENIED_FUNCTIONS = frozenset(
    {
        # PostgreSQL: files, large objects, other servers, sleeping, sequences, settings,
        # sessions and anything that runs a query given as text
        "pg_read_file", "pg_read_binary_file", "pg_ls_dir", "pg_stat_file", "pg_ls_logdir",
        "pg_ls_waldir", "pg_ls_tmpdir", "pg_ls_archive_statusdir", "pg_ls_logicalsnapdir",
        "pg_ls_logicalmapdir", "pg_ls_replslotdir", "pg_file_write", "pg_file_rename",
        "pg_file_unlink", "pg_file_sync", "pg_logdir_ls", "pg_current_logfile",
        "lo_import", "lo_export", "lo_get", "lo_put", "lo_from_bytea", "lo_open", "lo_create",
        "lo_creat", "lo_unlink", "lo_truncate", "loread", "lowrite",
        "pg_sleep", "pg_sleep_for", "pg_sleep_until", "nextval", "setval", "currval",
        "lastval", "set_config", "pg_reload_conf", "pg_rotate_logfile", "pg_terminate_backend",
        "pg_cancel_backend", "pg_promote", "pg_switch_wal", "pg_create_restore_point",
        "pg_backup_start", "pg_backup_stop", "pg_start_backup", "pg_stop_backup",
        "pg_notify", "pg_logical_emit_message", "pg_import_system_collations",
        "pg_advisory_lock", "pg_advisory_lock_shared", "pg_advisory_xact_lock",
        "pg_advisory_xact_lock_shared", "pg_try_advisory_lock", "pg_try_advisory_xact_lock",
        "query_to_xml", "query_to_xml_and_xmlschema", "query_to_xmlschema", "cursor_to_xml",
        "table_to_xml", "table_to_xml_and_xmlschema", "database_to_xml",
        "database_to_xml_and_xmlschema", "schema_to_xml", "schema_to_xml_and_xmlschema",
        "copy", "txid_current", "pg_current_xact_id",
        # SQLite (and its shell's extensions)
        "load_extension", "readfile", "writefile", "edit", "fts3_tokenizer", "zipfile",
        "sqlar_compress", "sqlar_uncompress", "fsdir", "attach", "detach",
    }
)  # fmt: skip
DENIED_PREFIXES = ("dblink", "lo_", "pg_read_", "pg_ls_", "pg_file_", "pg_advisory", "pg_sleep")
_FORBIDDEN_NODES = tuple(
    getattr(exp, name)
    for name in (
        "Insert", "Update", "Delete", "Merge", "Create", "Drop", "Alter", "AlterTable",
        "Command", "Copy", "Into", "Lock", "Set", "Transaction", "Commit", "Rollback",
        "Attach", "Detach", "Pragma", "Use", "Grant", "Revoke", "TruncateTable", "Analyze",
        "Describe", "Show", "LoadData", "Cache", "Uncache", "Refresh", "Kill", "Execute",
    )
    if hasattr(exp, name)
)  # fmt: skip
_READ_STATEMENTS = (exp.Select, exp.Union, exp.Intersect, exp.Except)
_DIALECTS = {"postgresql": "postgres", "sqlite": "sqlite"}


class QueryRefused(ValueError):
    """The query or the database connection is not allowed; the message says why."""


# ---- the query -----------------------------------------------------------------------------


def check_read_only(query: str, dialect: str = "postgres") -> str:
    """The query as it will run (parsed and checked; trailing semicolons removed), or
    QueryRefused with the reason."""
    text = query.strip()
    if not text.rstrip(";").strip():
        raise QueryRefused("The query is empty.")
    try:
        statements = [s for s in sqlglot.parse(text, read=dialect) if s is not None]
    except sqlglot.errors.SqlglotError as exc:
        first = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        raise QueryRefused(f"The query could not be read as SQL: {first}") from None
    if len(statements) != 1:
        raise QueryRefused("Only one statement is allowed.")
    statement = statements[0]
    if not isinstance(statement, _READ_STATEMENTS):
        raise QueryRefused("Only a read-only SELECT query is allowed.")
    for node in statement.walk():
        if isinstance(node, _FORBIDDEN_NODES):
            raise QueryRefused(
                "Only a read-only SELECT query is allowed (it contains "
                f"{str(getattr(node, 'key', 'a statement')).upper().replace('_', ' ')})."
            )
        name = _function_name(node)
        if name is not None and (name in DENIED_FUNCTIONS or name.startswith(DENIED_PREFIXES)):
            raise QueryRefused(
                f"The query calls {name}(), which this dashboard does not allow (it can reach "
                "files, other servers or settings, wait, or change state)."
            )
    # The text runs as written (written back, it can lose meaning: a recursive CTE's column
    # list, in some sqlglot versions). A second statement the parser missed still cannot
    # run: SQLite runs one statement per call, PostgreSQL one per server-side cursor.
    return re.sub(r"[\s;]+$", "", text)


def _function_name(node: object) -> str | None:
    if isinstance(node, exp.Anonymous):
        return str(node.name).strip('"`[]').lower()
    if isinstance(node, exp.Func):
        return node.sql_name().lower()
    return None


# ---- URLs and engines ----------------------------------------------------------------------


def resolve_url(url: str | None) -> str:
    """``url`` itself, or for None, "" or "env:" the value of OUTCOMES_DATABASE_URL, for
    "env:NAME" the value of NAME (QueryRefused when it is not set)."""
    if url is not None and url.strip() and not url.startswith("env:"):
        return url
    variable = (url or "").removeprefix("env:").strip() or URL_VARIABLE
    value = os.environ.get(variable, "").strip()
    if not value:
        raise QueryRefused(f"No database URL: the environment variable {variable} is not set.")
    return value


def display_url(url: str) -> str:
    """The URL without its password, for messages and names."""
    try:
        return sa.engine.make_url(url).render_as_string(hide_password=True)
    except Exception:
        return url.split("@")[-1]


def engine_for(url: str | None) -> sa.Engine:
    """An engine for the URL (see resolve_url for None and "env:"); SQLite files are opened
    read-only with the read-only authorizer, and plain postgresql:// URLs use the psycopg
    driver that this project installs."""
    url = resolve_url(url)
    if url.startswith(("postgresql://", "postgres://")):
        url = "postgresql+psycopg://" + url.split("://", 1)[1]
    if url.startswith("sqlite:///") and "mode=ro" not in url:
        path = url.removeprefix("sqlite:///")
        engine = sa.create_engine(
            f"sqlite:///file:{path}?mode=ro&uri=true", connect_args={"uri": True}
        )
    else:
        engine = sa.create_engine(url)
    if engine.dialect.name == "sqlite":
        sa.event.listen(engine, "connect", lambda connection, _: _read_only_sqlite(connection))
    return engine


def sqlite_engine_for_bytes(data: bytes) -> sa.Engine:
    """An uploaded SQLite file, deserialized into memory: nothing is written to disk."""
    if not data.startswith(b"SQLite format 3\x00"):
        raise QueryRefused("This is not a SQLite database file.")
    if len(data) > limits.UPLOAD_LIMIT_BYTES:
        raise QueryRefused("The database file is larger than the upload limit.")
    connection = sqlite3.connect(":memory:", check_same_thread=False)
    try:
        connection.deserialize(data)
        connection.execute("SELECT count(*) FROM sqlite_master").fetchone()
    except sqlite3.DatabaseError as exc:
        connection.close()
        raise QueryRefused(f"The database file cannot be read: {exc}") from None
    _read_only_sqlite(connection)
    return sa.create_engine("sqlite://", creator=lambda: connection, poolclass=sa.pool.StaticPool)


def sqlite_data_folder() -> Path | None:
    """The folder OUTCOMES_SQLITE_DIR names, if it is set and exists."""
    value = os.environ.get(SQLITE_DIR_VARIABLE, "").strip()
    if not value:
        return None
    folder = Path(value).expanduser().resolve()
    return folder if folder.is_dir() else None


def sqlite_path_in_folder(name: str, folder: Path | None = None) -> Path:
    """The SQLite file ``name`` in the data folder, or QueryRefused with one message for
    anything else (no folder, outside it, missing, not a .sqlite/.db file): the message never
    tells whether a file exists."""
    folder = folder if folder is not None else sqlite_data_folder()
    if folder is None or not name or "\x00" in name:
        raise QueryRefused(NOT_AVAILABLE)
    folder = folder.resolve()
    try:
        path = (folder / name).resolve()
    except (OSError, RuntimeError):
        raise QueryRefused(NOT_AVAILABLE) from None
    inside = path.is_relative_to(folder) and path != folder
    if not inside or path.suffix.lower() not in SQLITE_SUFFIXES or not path.is_file():
        raise QueryRefused(NOT_AVAILABLE)
    return path


def sqlite_files_in_folder(folder: Path | None = None) -> list[str]:
    """The SQLite files in the configured data folder (OUTCOMES_SQLITE_DIR), by name."""
    folder = folder if folder is not None else sqlite_data_folder()
    if folder is None:
        return []
    return sorted(
        p.name for p in folder.iterdir() if p.is_file() and p.suffix.lower() in SQLITE_SUFFIXES
    )


def sqlite_engine_in_folder(name: str, folder: Path | None = None) -> sa.Engine:
    """A read-only engine for one SQLite file of the configured folder, chosen by name."""
    return engine_for(f"sqlite:///{sqlite_path_in_folder(name, folder)}")


# ---- SQLite: reading only --------------------------------------------------------------------

_SQLITE_ALLOWED = {
    sqlite3.SQLITE_SELECT,
    sqlite3.SQLITE_READ,
    sqlite3.SQLITE_FUNCTION,
    sqlite3.SQLITE_RECURSIVE,
    sqlite3.SQLITE_TRANSACTION,
    sqlite3.SQLITE_SAVEPOINT,
    sqlite3.SQLITE_PRAGMA,
}
_SQLITE_PRAGMAS = {
    "table_info", "table_xinfo", "index_list", "index_info", "index_xinfo",
    "foreign_key_list", "database_list", "table_list", "collation_list",
}  # fmt: skip
_SQLITE_READ_PRAGMAS = {"read_uncommitted", "query_only", "foreign_keys", "user_version"}


def _read_only_sqlite(connection: sqlite3.Connection) -> None:
    """Reading only, whatever the SQL: the authorizer denies every other action."""

    def authorize(action: int, first: str | None, second: str | None, *_) -> int:
        if action not in _SQLITE_ALLOWED:
            return sqlite3.SQLITE_DENY
        if action == sqlite3.SQLITE_PRAGMA:
            pragma = (first or "").lower()
            described = pragma in _SQLITE_PRAGMAS  # these describe tables: any argument
            if not described and not (pragma in _SQLITE_READ_PRAGMAS and second is None):
                return sqlite3.SQLITE_DENY
        if action == sqlite3.SQLITE_FUNCTION:
            name = (second or "").lower()
            if name in DENIED_FUNCTIONS or name.startswith(DENIED_PREFIXES):
                return sqlite3.SQLITE_DENY
        return sqlite3.SQLITE_OK

    connection.execute("PRAGMA query_only = ON")
    connection.set_authorizer(authorize)


# ---- reading -------------------------------------------------------------------------------


def list_tables(engine: sa.Engine) -> list[str]:
    """The tables a database connection can see."""
    return sorted(sa.inspect(engine).get_table_names())


def read_sql_source(
    engine: sa.Engine,
    table: str | None = None,
    query: str | None = None,
    *,
    timeout_seconds: float | None = None,
    max_rows: int | None = None,
) -> pd.DataFrame:
    """A whole table (quoted safely by name) or the result of one read-only query, read with
    the database's read-only protections and a time limit (limits.STATEMENT_TIMEOUT_SECONDS)."""
    timeout = limits.STATEMENT_TIMEOUT_SECONDS if timeout_seconds is None else timeout_seconds
    max_rows = limits.MAX_QUERY_ROWS if max_rows is None else max_rows
    dialect = engine.dialect.name
    if table is not None:
        if table not in list_tables(engine):
            raise QueryRefused(f"There is no table named {table!r}.")
        names = [c["name"] for c in sa.inspect(engine).get_columns(table)]
        statement: sa.Executable = sa.select(sa.table(table, *[sa.column(n) for n in names]))
    elif query is None:
        raise QueryRefused("Give a table name or a query.")
    else:
        statement = sa.text(check_read_only(query, _DIALECTS.get(dialect, dialect)))
    with engine.connect() as connection:
        if dialect == "postgresql":
            _postgres_guard(connection, timeout)
            return _fetch(connection, statement, max_rows)
        if dialect == "sqlite":
            with _SqliteDeadline(connection, timeout):
                return _fetch(connection, statement, max_rows)
        raise QueryRefused(f"Reading from {dialect} databases is not supported.")


def _postgres_guard(connection: sa.Connection, timeout: float) -> None:
    """READ ONLY transaction, statement and lock timeouts, and no superuser."""
    connection.exec_driver_sql("SET TRANSACTION READ ONLY")
    milliseconds = max(1, int(timeout * 1000))
    connection.exec_driver_sql(f"SET LOCAL statement_timeout = {milliseconds}")
    connection.exec_driver_sql(f"SET LOCAL lock_timeout = {milliseconds}")
    superuser = connection.exec_driver_sql("SELECT current_setting('is_superuser')").scalar()
    powerful = connection.exec_driver_sql(
        "SELECT string_agg(rolname, ', ') FROM pg_roles WHERE rolname IN "
        "('pg_read_server_files', 'pg_write_server_files', 'pg_execute_server_program') "
        "AND pg_has_role(current_user, oid, 'USAGE')"
    ).scalar()
    if superuser == "on" or powerful:
        what = "is a superuser" if superuser == "on" else f"may use {powerful}"
        raise QueryRefused(
            f"The database account {what}, which can read or write files on the server. "
            "Connect with a read-only account (see the README: a role with LOGIN and SELECT "
            "on the outcome tables only)."
        )


class _SqliteDeadline:
    """Stops a SQLite query that runs past the time limit (SQLite has no statement timeout)."""

    def __init__(self, connection: sa.Connection, timeout: float) -> None:
        self.raw = connection.connection.dbapi_connection
        self.deadline = time.monotonic() + timeout

    def __enter__(self) -> None:
        handler: Callable[[], int] = lambda: int(time.monotonic() > self.deadline)  # noqa: E731
        if self.raw is not None:
            self.raw.set_progress_handler(handler, 10_000)

    def __exit__(self, *exc) -> None:
        if self.raw is not None:
            self.raw.set_progress_handler(None, 0)


def _fetch(connection: sa.Connection, statement: sa.Executable, max_rows: int) -> pd.DataFrame:
    """The result in chunks, refused once it passes ``max_rows`` (never all held first)."""
    try:
        result = connection.execution_options(stream_results=True).execute(statement)
        columns = list(result.keys())
        frames = []
        total = 0
        while chunk := result.fetchmany(_FETCH_ROWS):
            total += len(chunk)
            if total > max_rows:
                raise QueryRefused(
                    f"The query returns more than {max_rows:,} rows; this dashboard reads at "
                    "most that many. Select the outcomes or patients you need."
                )
            frames.append(pd.DataFrame.from_records(chunk, columns=columns, coerce_float=True))
    except sa.exc.OperationalError as exc:
        text = str(exc.orig) if exc.orig is not None else str(exc)
        if "interrupted" in text or "statement timeout" in text or "canceling statement" in text:
            raise QueryRefused(
                "The query ran past the time limit and was stopped. Narrow it down."
            ) from None
        raise
    if not frames:
        return pd.DataFrame(columns=columns)
    return pd.concat(frames, ignore_index=True) if len(frames) > 1 else frames[0]
