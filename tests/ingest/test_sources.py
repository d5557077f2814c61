"""Real data sources give the same comparison as the equivalent CSV: REDCap, ADaM, SQLite."""

import io
import json
import os
import sqlite3
import uuid

import pandas as pd
import pyreadstat
import pytest

from analysis.cli import main
from analysis.ingest.pipeline import load_bytes, load_sql
from analysis.stats.compare import compare_visits

PAIN = {  # patient: (baseline, month 6)
    "001": (7, 4), "002": (6, 6), "003": (8, 3), "004": (5, 4), "005": (9, 7), "006": (6, 2),
    "007": (7, 5), "008": (4, 5),
}  # fmt: skip
TCSS = {p: (10 + i, 8 + i % 3) for i, p in enumerate(PAIN)}
SEX = {p: "female" if i % 2 else "male" for i, p in enumerate(PAIN)}


def _csv() -> bytes:
    rows = ["patient_id,visit,outcome,value,sex"]
    for p in PAIN:
        for i, visit in enumerate(("baseline", "month 6")):
            rows.append(f"{p},{visit},pain_nrs,{PAIN[p][i]},{SEX[p]}")
            rows.append(f"{p},{visit},tcss,{TCSS[p][i]},{SEX[p]}")
    return "\n".join(rows).encode()


def _stats(dataset, before="baseline", after="month 6"):
    s = compare_visits(dataset, "pain_nrs", before, after).stats
    return (s.n_pairs, s.mean_change, s.p_value_t, s.wilcoxon_v, s.p_value_wilcoxon)


@pytest.fixture(scope="module")
def reference():
    result = load_bytes(_csv(), "equivalent.csv")
    assert result.dataset is not None
    return _stats(result.dataset)


def _redcap() -> bytes:
    header = (
        "record_id,redcap_event_name,redcap_repeat_instrument,redcap_repeat_instance,"
        "redcap_data_access_group,sex,pain_nrs,tcss,demographics_complete,ae_term"
    )
    rows = [header]
    for p in PAIN:
        rows.append(f"{p},baseline_arm_1,,,clinic_a,{SEX[p]},{PAIN[p][0]},{TCSS[p][0]},2,")
        rows.append(f"{p},month_6_arm_1,,,clinic_a,,{PAIN[p][1]},{TCSS[p][1]},2,")
    rows.append("003,month_6_arm_1,adverse_events,1,clinic_a,,,,,injection site bruise")
    return "\n".join(rows).encode()


def test_redcap_export_gives_the_same_comparison(reference):
    result = load_bytes(_redcap(), "redcap_export.csv")
    ds = result.dataset
    assert ds is not None, result.report.as_text()
    assert "redcap layout" in ds.source_format
    assert ds.visits == ["baseline", "month 6"]
    assert ds.event_map == {"baseline_arm_1": "baseline", "month_6_arm_1": "month 6"}
    assert _stats(ds) == pytest.approx(reference)
    assert ds.attributes.loc["001", "sex"] == "male"  # collected at baseline only
    assert ds.attributes.loc["001", "site"] == "clinic_a"
    notes = " ".join(f.message for f in result.report.notes)
    assert "1 row(s) of repeating instruments were set aside" in notes
    assert "demographics_complete" in notes


def test_redcap_event_names_can_be_remapped(reference):
    ds = load_bytes(
        _redcap(), "redcap.csv", event_map={"month_6_arm_1": "m6", "baseline_arm_1": "bl"}
    ).dataset
    assert ds.visits == ["bl", "m6"]
    assert _stats(ds, "bl", "m6") == pytest.approx(reference)


def _adam_frame() -> pd.DataFrame:
    rows = []
    for p in PAIN:
        for code, values in (("PAIN_NRS", PAIN), ("TCSS", TCSS)):
            rows.append(dict(STUDYID="MSC01", USUBJID=f"MSC01-{p}", PARAMCD=code, AVISIT="Baseline",
                             AVISITN=0.0, AVAL=float(values[p][0]), ABLFL="Y", DTYPE="",
                             ANL01FL="Y", TRT01P="MSC", SEX=SEX[p]))  # fmt: skip
            rows.append(dict(STUDYID="MSC01", USUBJID=f"MSC01-{p}", PARAMCD=code, AVISIT="Month 6",
                             AVISITN=6.0, AVAL=float(values[p][1]), ABLFL="", DTYPE="",
                             ANL01FL="Y", TRT01P="MSC", SEX=SEX[p]))  # fmt: skip
    rows.append(dict(STUDYID="MSC01", USUBJID="MSC01-001", PARAMCD="PAIN_NRS", AVISIT="Month 12",
                     AVISITN=12.0, AVAL=4.0, ABLFL="", DTYPE="LOCF", ANL01FL="Y", TRT01P="MSC",
                     SEX="male"))  # fmt: skip
    return pd.DataFrame(rows)


def test_adam_xpt_gives_the_same_comparison(reference, tmp_path):
    path = tmp_path / "adqs.xpt"
    pyreadstat.write_xport(_adam_frame(), str(path), table_name="ADQS", file_format_version=5)
    result = load_bytes(path.read_bytes(), "adqs.xpt")
    ds = result.dataset
    assert ds is not None, result.report.as_text()
    assert ds.source_format.startswith("SAS transport (XPT)")
    assert ds.visits == ["Baseline", "Month 6"]  # the LOCF record was set aside
    assert ds.baseline == "Baseline"
    assert _stats(ds, "Baseline", "Month 6") == pytest.approx(reference)
    assert ds.attributes.loc["MSC01-001", "TRT01P"] == "MSC"
    assert "1 derived record(s) (DTYPE set) were set aside" in result.report.as_text()


def test_adam_csv_uses_ablfl_for_the_baseline():
    frame = _adam_frame()
    frame["AVISIT"] = frame["AVISIT"].replace({"Baseline": "Day 1"})
    ds = load_bytes(frame.to_csv(index=False).encode(), "adqs.csv").dataset
    assert ds.baseline == "Day 1"
    assert ds.visits == ["Day 1", "Month 6"]


@pytest.fixture
def sqlite_url(tmp_path):
    path = tmp_path / "registry.db"
    frame = pd.read_csv(io.BytesIO(_csv()), dtype={"patient_id": str})
    with sqlite3.connect(path) as connection:
        frame.to_sql("outcomes", connection, index=False)
    return f"sqlite:///{path}"


def test_sqlite_table_and_query_give_the_same_comparison(reference, sqlite_url):
    table = load_sql(sqlite_url, table="outcomes")
    assert _stats(table.dataset) == pytest.approx(reference)
    query = load_sql(sqlite_url, query="SELECT * FROM outcomes WHERE outcome = 'pain_nrs'")
    assert _stats(query.dataset) == pytest.approx(reference)
    assert query.dataset.outcomes == ["pain_nrs"]


@pytest.mark.parametrize(
    ("query", "message"),
    [
        ("DELETE FROM outcomes", "read-only SELECT"),
        ("SELECT 1; DROP TABLE outcomes", "one statement"),
        ("", "empty"),
    ],
)
def test_only_read_only_queries_run(sqlite_url, query, message):
    result = load_sql(sqlite_url, query=query)
    assert result.dataset is None
    assert message in result.report.errors[0].message
    assert load_sql(sqlite_url, table="outcomes").dataset is not None  # nothing was changed


def test_cli_reads_a_database(reference, sqlite_url, capsys):
    code = main(["compare", sqlite_url, "--table", "outcomes", "--outcome", "pain_nrs",
                 "--after", "month 6", "--json"])  # fmt: skip
    result = json.loads(capsys.readouterr().out)
    assert code == 0
    assert result["n_pairs"] == reference[0]
    assert result["mean_change"] == pytest.approx(reference[1])


def test_unreachable_database_gives_a_message():
    result = load_sql("postgresql://nobody@127.0.0.1:1/none", table="outcomes")
    assert result.dataset is None
    assert result.report.errors[0].message.startswith("The database could not be read")


def test_postgresql_table_gives_the_same_comparison(reference):
    url = os.environ.get("OUTCOMES_TEST_PG_URL")
    if not url:
        pytest.skip("no PostgreSQL server: make test starts one when PostgreSQL is installed")
    import sqlalchemy as sa

    table = f"outcomes_{uuid.uuid4().hex[:8]}"
    frame = pd.read_csv(io.BytesIO(_csv()), dtype={"patient_id": str})
    engine = sa.create_engine(url)
    frame.to_sql(table, engine, index=False)
    # the dashboard refuses superusers: read as a role that may only select this table
    role = f"reader_{uuid.uuid4().hex[:8]}"
    with engine.begin() as connection:
        connection.execute(sa.text(f"CREATE ROLE {role} LOGIN PASSWORD 'p'"))
        connection.execute(sa.text(f"GRANT SELECT ON {table} TO {role}"))
    reader = sa.engine.make_url(url).set(username=role, password="p")
    url = reader.render_as_string(hide_password=False)
    try:
        plain_url = url.replace("postgresql+psycopg://", "postgresql://")
        result = load_sql(plain_url, table=table)
        assert result.dataset is not None, result.report.as_text()
        assert _stats(result.dataset) == pytest.approx(reference)
        refused = load_sql(url, query=f"DROP TABLE {table}")
        assert refused.dataset is None
        query = load_sql(url, query=f"SELECT * FROM {table} WHERE sex = 'female'")
        assert query.dataset.n_patients == 4
    finally:
        with engine.begin() as connection:
            connection.execute(sa.text(f"DROP TABLE {table}"))
            connection.execute(sa.text(f"DROP ROLE {role}"))
