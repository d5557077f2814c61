"""Reading outcome tables from a SQL database (SQLite with no set-up, PostgreSQL by URL).

Only reading: a table chosen by name, or one SELECT (or WITH ... SELECT) statement. SQLite files
are opened read-only. The dashboard reaches the same engine through st.connection("sql").
"""

from __future__ import annotations

import re

import pandas as pd
import sqlalchemy as sa

_READ_ONLY = re.compile(r"^\s*(select|with)\b", re.I)
_WRITE_WORDS = re.compile(
    r"\b(insert|update|delete|drop|alter|create|replace|truncate|attach|detach|pragma|grant|"
    r"revoke|vacuum|copy)\b",
    re.I,
)


class QueryRefused(ValueError):
    """The query is not a single read-only SELECT."""


def check_read_only(query: str) -> str:
    """The query stripped of a trailing semicolon, or QueryRefused with the reason."""
    text = query.strip().rstrip(";").strip()
    if not text:
        raise QueryRefused("The query is empty.")
    if ";" in text:
        raise QueryRefused("Only one statement is allowed.")
    if not _READ_ONLY.match(text) or _WRITE_WORDS.search(text):
        raise QueryRefused("Only a read-only SELECT query is allowed.")
    return text


def engine_for(url: str) -> sa.Engine:
    """An engine for the URL; SQLite files are opened read-only, and plain postgresql:// URLs
    use the psycopg driver that this project installs."""
    if url.startswith(("postgresql://", "postgres://")):
        url = "postgresql+psycopg://" + url.split("://", 1)[1]
    if url.startswith("sqlite:///") and "mode=ro" not in url:
        path = url.removeprefix("sqlite:///")
        return sa.create_engine(
            f"sqlite:///file:{path}?mode=ro&uri=true", connect_args={"uri": True}
        )
    return sa.create_engine(url)


def list_tables(engine: sa.Engine) -> list[str]:
    return sorted(sa.inspect(engine).get_table_names())


def read_table(
    engine: sa.Engine, table: str | None = None, query: str | None = None
) -> pd.DataFrame:
    """A whole table (quoted safely by name) or the result of one read-only query."""
    if table is not None:
        if table not in list_tables(engine):
            raise QueryRefused(f"There is no table named {table!r}.")
        statement = sa.select(sa.table(table, *[sa.column(c["name"])
                              for c in sa.inspect(engine).get_columns(table)]))  # fmt: skip
        with engine.connect() as connection:
            return pd.read_sql(statement, connection)
    if query is None:
        raise QueryRefused("Give a table name or a query.")
    with engine.connect() as connection:
        return pd.read_sql(sa.text(check_read_only(query)), connection)
