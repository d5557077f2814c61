"""The database boxes read only: a SQL parser decides what may run, SQLite files come only from
an upload (read in memory) or the configured data folder, PostgreSQL reads run in a read-only
transaction with a time limit and never as a superuser. The PostgreSQL tests need the server
`make test` starts (OUTCOMES_TEST_PG_URL) and are skipped without it."""

import os
import sqlite3
import uuid

import pandas as pd
import pytest
import sqlalchemy as sa

from analysis.ingest import limits, sql
from analysis.ingest.pipeline import load_sql
from analysis.ingest.sql import QueryRefused, check_read_only

OUTCOMES = pd.DataFrame(
    {
        "patient_id": ["P1", "P1", "P2", "P2"],
        "visit": ["baseline", "m6", "baseline", "m6"],
        "outcome": "pain_nrs",
        "value": [7, 4, 6, 5],
    }
)


@pytest.mark.parametrize(
    "query",
    [
        "SELECT replace(a, 'x', 'y') FROM t",
        "SELECT ';' AS s",
        "select 'DROP TABLE t; DELETE FROM t' as s from t",
        "WITH x AS (SELECT 1 AS a) SELECT * FROM x",
        "WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 3) "
        "SELECT * FROM n",
        "SELECT a FROM t UNION SELECT a FROM u",
        "SELECT * FROM t WHERE created > now() - interval '1 day';",
        "SELECT upper(visit), count(*) FROM t GROUP BY 1",
    ],
)
def test_the_parser_accepts_read_only_selects(query):
    assert check_read_only(query).upper().startswith(("SELECT", "WITH"))


@pytest.mark.parametrize(
    ("query", "message"),
    [
        ("SELECT 1; DROP TABLE t", "one statement"),
        ("SELECT 1; SELECT 2", "one statement"),
        ("INSERT INTO t VALUES (1)", "read-only SELECT"),
        ("UPDATE t SET a = 1", "read-only SELECT"),
        ("DELETE FROM t", "read-only SELECT"),
        ("DROP TABLE t", "read-only SELECT"),
        ("COPY t TO '/tmp/x'", "read-only SELECT"),
        ("WITH d AS (DELETE FROM t RETURNING *) SELECT * FROM d", "read-only SELECT"),
        ("SELECT * INTO copy_of_t FROM t", "read-only SELECT"),
        ("SELECT * FROM t FOR UPDATE", "read-only SELECT"),
        ("SELECT pg_read_file('/etc/passwd')", "pg_read_file"),
        ("select PG_READ_FILE('/etc/passwd')", "pg_read_file"),
        ("SELECT \"pg_read_file\"('/etc/passwd')", "pg_read_file"),
        ("SELECT pg_catalog.pg_read_binary_file('/etc/passwd')", "pg_read_binary_file"),
        ("SELECT * FROM pg_ls_dir('/')", "pg_ls_dir"),
        ("SELECT lo_import('/etc/passwd')", "lo_import"),
        ("SELECT lo_export(1, '/tmp/x')", "lo_export"),
        ("SELECT * FROM dblink('host=x', 'SELECT 1') AS t(a int)", "dblink"),
        ("SELECT pg_sleep(20)", "pg_sleep"),
        ("SELECT a FROM t WHERE a = (SELECT PG_SLEEP(20))", "pg_sleep"),
        ("SELECT nextval('s')", "nextval"),
        ("SELECT setval('s', 1)", "setval"),
        ("SELECT set_config('statement_timeout', '0', true)", "set_config"),
        ("SELECT query_to_xml('DELETE FROM t', true, true, '')", "query_to_xml"),
        ("SELECT upper(load_extension('x'))", "load_extension"),
        ("SELECT readfile('/etc/passwd')", "readfile"),
        ("SELECT writefile('/tmp/x', 'y')", "writefile"),
        ("", "empty"),
        (";", "empty"),
    ],
)
def test_the_parser_refuses_writes_and_denied_functions(query, message):
    with pytest.raises(QueryRefused, match=message):
        check_read_only(query)


def test_attach_is_refused_for_sqlite():
    with pytest.raises(QueryRefused):
        check_read_only("ATTACH DATABASE '/etc/x.db' AS x", "sqlite")


@pytest.fixture
def registry(tmp_path):
    path = tmp_path / "registry.db"
    with sqlite3.connect(path) as connection:
        OUTCOMES.to_sql("outcomes", connection, index=False)
    return path


def test_sqlite_queries_with_replace_and_semicolons_in_strings_run(registry):
    engine = sql.engine_for(f"sqlite:///{registry}")
    frame = sql.read_sql_source(
        engine, query="SELECT replace(visit, 'm6', 'month 6') AS v, ';' AS s FROM outcomes"
    )
    assert frame["v"].tolist() == ["baseline", "month 6", "baseline", "month 6"]
    assert set(frame["s"]) == {";"}


def test_the_sqlite_authorizer_refuses_what_the_parser_would(registry):
    engine = sql.engine_for(f"sqlite:///{registry}")
    with engine.connect() as connection, pytest.raises(sa.exc.DatabaseError):
        connection.exec_driver_sql("ATTACH DATABASE ':memory:' AS other")
    with engine.connect() as connection, pytest.raises(sa.exc.DatabaseError):
        connection.exec_driver_sql("DELETE FROM outcomes")
    assert len(sql.read_sql_source(engine, table="outcomes")) == 4


def test_a_slow_sqlite_query_is_stopped(registry):
    engine = sql.engine_for(f"sqlite:///{registry}")
    slow = "WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n) SELECT count(*) FROM n"
    with pytest.raises(QueryRefused, match="time limit"):
        sql.read_sql_source(engine, query=slow, timeout_seconds=0.3)


def test_a_query_returning_too_many_rows_is_refused(registry):
    engine = sql.engine_for(f"sqlite:///{registry}")
    with pytest.raises(QueryRefused, match="more than 3 rows"):
        sql.read_sql_source(engine, table="outcomes", max_rows=3)


def test_an_uploaded_sqlite_file_is_read_in_memory(registry, tmp_path):
    data = registry.read_bytes()
    registry.unlink()  # nothing on disk any more
    engine = sql.sqlite_engine_for_bytes(data)
    assert sql.list_tables(engine) == ["outcomes"]
    frame = sql.read_sql_source(engine, query="SELECT * FROM outcomes WHERE value > 5")
    assert frame["value"].tolist() == [7, 6]
    assert list(tmp_path.iterdir()) == []
    with pytest.raises(QueryRefused, match="not a SQLite"):
        sql.sqlite_engine_for_bytes(b"patient_id,visit\n")


def test_sqlite_files_only_from_the_data_folder_with_one_message(registry, tmp_path, monkeypatch):
    folder = tmp_path / "data"
    folder.mkdir()
    (folder / "cohort.sqlite").write_bytes(registry.read_bytes())
    (folder / "notes.txt").write_text("x")
    outside = [
        str(registry),  # an absolute path outside the folder, that exists
        "../registry.db",  # climbing out, exists
        "/etc/passwd",  # exists, not SQLite
        "missing.sqlite",  # does not exist
        "../nothing.db",
        "notes.txt",  # in the folder, not a SQLite name
        "",
    ]
    monkeypatch.delenv(sql.SQLITE_DIR_VARIABLE, raising=False)
    with pytest.raises(QueryRefused) as no_folder:
        sql.sqlite_path_in_folder("cohort.sqlite")
    messages = {str(no_folder.value)}
    monkeypatch.setenv(sql.SQLITE_DIR_VARIABLE, str(folder))
    for name in outside:
        with pytest.raises(QueryRefused) as refused:
            sql.sqlite_engine_in_folder(name)
        messages.add(str(refused.value))
    assert messages == {sql.NOT_AVAILABLE}
    assert sql.sqlite_files_in_folder() == ["cohort.sqlite"]
    engine = sql.sqlite_engine_in_folder("cohort.sqlite")
    assert len(sql.read_sql_source(engine, table="outcomes")) == 4


def test_a_symlink_out_of_the_data_folder_is_refused(registry, tmp_path):
    folder = tmp_path / "data"
    folder.mkdir()
    (folder / "link.db").symlink_to(registry)
    with pytest.raises(QueryRefused, match="No SQLite file by that name"):
        sql.sqlite_path_in_folder("link.db", folder)


def test_the_url_can_come_from_the_environment(registry, monkeypatch):
    monkeypatch.setenv(sql.URL_VARIABLE, f"sqlite:///{registry}")
    monkeypatch.setenv("OTHER_DB_URL", f"sqlite:///{registry}")
    for url in (None, "", "env:", "env:OTHER_DB_URL"):
        assert sql.list_tables(sql.engine_for(url)) == ["outcomes"]
    assert load_sql("env:", table="outcomes").dataset is not None
    monkeypatch.delenv(sql.URL_VARIABLE)
    with pytest.raises(QueryRefused, match="OUTCOMES_DATABASE_URL is not set"):
        sql.engine_for("env:")
    assert sql.display_url("postgresql://reader:s3cret@db:5432/x") == (
        "postgresql://reader:***@db:5432/x"
    )


# ---- PostgreSQL ------------------------------------------------------------------------------


@pytest.fixture
def pg():
    url = os.environ.get("OUTCOMES_TEST_PG_URL")
    if not url:
        pytest.skip("no PostgreSQL server: make test starts one when PostgreSQL is installed")
    admin = sa.create_engine(url)
    suffix = uuid.uuid4().hex[:8]
    table, role, sequence = f"outcomes_{suffix}", f"reader_{suffix}", f"seq_{suffix}"
    password = uuid.uuid4().hex
    with admin.begin() as connection:
        OUTCOMES.to_sql(table, connection, index=False)
        connection.exec_driver_sql(f"CREATE SEQUENCE {sequence}")
        # The least-privilege role the README describes.
        connection.exec_driver_sql(f"CREATE ROLE {role} LOGIN PASSWORD '{password}'")
        connection.exec_driver_sql(f"GRANT SELECT ON {table} TO {role}")
        connection.exec_driver_sql(f"GRANT USAGE, SELECT ON SEQUENCE {sequence} TO {role}")
    reader_url = sa.engine.make_url(url).set(username=role, password=password)
    try:
        yield {
            "admin": sql.engine_for(url),
            "reader": sql.engine_for(reader_url.render_as_string(hide_password=False)),
            "table": table,
            "sequence": sequence,
            "raw_admin": admin,
        }
    finally:
        with admin.begin() as connection:
            connection.exec_driver_sql(f"DROP TABLE IF EXISTS {table}")
            connection.exec_driver_sql(f"DROP SEQUENCE IF EXISTS {sequence}")
            connection.exec_driver_sql(f"DROP ROLE IF EXISTS {role}")
        admin.dispose()


def test_postgresql_superuser_connections_are_refused(pg):
    with pytest.raises(QueryRefused, match="superuser"):
        sql.read_sql_source(pg["admin"], table=pg["table"])
    with pytest.raises(QueryRefused, match="superuser"):
        sql.read_sql_source(pg["admin"], query="SELECT 1 AS a")


def test_postgresql_least_privilege_role_reads(pg):
    frame = sql.read_sql_source(pg["reader"], table=pg["table"])
    assert frame["value"].tolist() == [7, 4, 6, 5]
    query = f"SELECT replace(visit, 'm6', 'month 6') AS v, ';' AS s FROM {pg['table']}"
    assert sql.read_sql_source(pg["reader"], query=query)["v"].tolist()[1] == "month 6"


def test_postgresql_reads_run_in_a_read_only_transaction(pg, monkeypatch):
    # Past the parser (as a parser bug would be), the database itself refuses to write.
    monkeypatch.setattr(sql, "check_read_only", lambda query, dialect: query)
    with pytest.raises(sa.exc.DBAPIError, match="read-only transaction"):
        sql.read_sql_source(pg["reader"], query=f"SELECT nextval('{pg['sequence']}')")
    with pg["raw_admin"].connect() as connection:
        last = connection.exec_driver_sql(f"SELECT last_value, is_called FROM {pg['sequence']}")
        assert last.one() == (1, False)  # the sequence never advanced


def test_postgresql_nextval_and_sleep_are_refused_by_the_parser(pg):
    for query in (f"SELECT nextval('{pg['sequence']}')", "SELECT pg_sleep(20)"):
        with pytest.raises(QueryRefused):
            sql.read_sql_source(pg["reader"], query=query)


def test_postgresql_a_slow_query_is_stopped_by_the_statement_timeout(pg, monkeypatch):
    slow = "SELECT count(*) FROM generate_series(1, 200000000) AS a"
    with pytest.raises(QueryRefused, match="time limit"):
        sql.read_sql_source(pg["reader"], query=slow, timeout_seconds=0.5)
    monkeypatch.setattr(limits, "STATEMENT_TIMEOUT_SECONDS", 0.5)
    result = load_sql(pg["reader"].url.render_as_string(hide_password=False), query=slow)
    assert result.dataset is None and "time limit" in result.report.errors[0].message


def test_a_second_statement_the_parser_missed_cannot_run_in_sqlite(registry, monkeypatch):
    monkeypatch.setattr(sql, "check_read_only", lambda query, dialect: query)
    engine = sql.engine_for(f"sqlite:///{registry}")
    with pytest.raises(sa.exc.DBAPIError):  # sqlite3 runs one statement per call
        sql.read_sql_source(engine, query="SELECT 1; DROP TABLE outcomes")
    assert len(sql.read_sql_source(engine, table="outcomes")) == 4


def test_postgresql_a_second_statement_the_parser_missed_cannot_run(pg, monkeypatch):
    monkeypatch.setattr(sql, "check_read_only", lambda query, dialect: query)
    with pytest.raises(sa.exc.DBAPIError, match="multiple commands"):
        sql.read_sql_source(pg["reader"], query="SELECT 1 AS a; COMMIT; SELECT 2 AS b")
