"""Data safety: uploads stay in memory, sessions are isolated, databases are read from the
sidebar, and the server is configured safely by default."""

import sqlite3
import tempfile
import tomllib
from pathlib import Path

import pandas as pd
from streamlit.testing.v1 import AppTest

from ui.pages import PAGES as PAGE_TABLE

ROOT = Path(__file__).resolve().parents[2]
PAGES = [spec.file for spec in PAGE_TABLE]
MARKER = "SECRET-UPLOAD-7741"
UPLOAD = (
    "patient_id,visit,outcome,value,site\n"
    + "".join(
        f"{MARKER}-{i},baseline,pain_nrs,{5 + i % 3},north\n"
        f"{MARKER}-{i},m6,pain_nrs,{3 + i % 2},north\n"
        for i in range(8)
    )
).encode()


def _snapshot(*folders: Path) -> dict[str, float]:
    files = {}
    for folder in folders:
        for path in folder.rglob("*"):
            parts = set(path.parts)
            if {
                ".venv",
                ".git",
                "__pycache__",
                ".pytest_cache",
                ".ruff_cache",
                ".hypothesis",
            } & parts:
                continue
            if path.is_file():
                try:
                    files[str(path)] = path.stat().st_mtime
                except OSError:
                    continue
    return files


def _upload(at: AppTest) -> AppTest:
    at.sidebar.radio(key="source").set_value("Upload a file").run()
    at.sidebar.file_uploader(key="upload").set_value(("clinic.csv", UPLOAD, "text/csv"))
    return at.run()


def test_uploaded_data_is_never_written_to_disk():
    folders = [ROOT, Path(tempfile.gettempdir())]
    before = _snapshot(*folders)
    at = _upload(AppTest.from_file(str(ROOT / "dashboard.py"), default_timeout=90).run())
    assert {m.label: m.value for m in at.metric}["Patients"] == "8"
    for page in PAGES:
        at.switch_page(page).run()
        assert not at.exception, page
    after = _snapshot(*folders)
    new_or_changed = {p for p, t in after.items() if before.get(p) != t}
    written = [p for p in new_or_changed if MARKER.encode() in Path(p).read_bytes()]
    assert written == []
    assert not [p for p in new_or_changed if str(ROOT) in p], new_or_changed


def test_one_session_never_sees_another_sessions_upload():
    first = _upload(AppTest.from_file(str(ROOT / "dashboard.py"), default_timeout=90).run())
    first.switch_page("pages/patient.py").run()
    assert first.selectbox(key="patient_id").value.startswith(MARKER)
    second = AppTest.from_file(str(ROOT / "dashboard.py"), default_timeout=90).run()
    second.switch_page("pages/patient.py").run()
    assert MARKER not in " ".join(second.selectbox(key="patient_id").options)
    assert second.sidebar.radio(key="source").value == "Demo cohort (synthetic)"


def test_database_source_in_the_sidebar(tmp_path, monkeypatch):
    path = tmp_path / "registry.db"
    frame = pd.read_csv(ROOT / "data" / "demo_cohort.csv", dtype={"patient_id": str})
    with sqlite3.connect(path) as connection:
        frame.to_sql("outcomes", connection, index=False)
    # only SQLite files in the configured data folder (or an upload) can be opened
    monkeypatch.setenv("OUTCOMES_SQLITE_DIR", str(tmp_path))
    at = AppTest.from_file(str(ROOT / "dashboard.py"), default_timeout=90).run()
    at.sidebar.radio(key="source").set_value("Database (SQL)").run()
    at.sidebar.radio(key="db_where").set_value("a file in the data folder").run()
    at.sidebar.selectbox(key="db_file").set_value("registry.db").run()
    assert not at.exception
    assert at.sidebar.selectbox(key="db_table").value == "outcomes"
    assert {m.label: m.value for m in at.metric}["Patients"] == "150"
    at.sidebar.radio(key="db_mode").set_value("a query").run()
    at.sidebar.text_area(key="db_query").set_value("DELETE FROM outcomes").run()
    assert "Only a read\\-only SELECT query is allowed" in " ".join(
        e.value for e in at.sidebar.error
    )
    with sqlite3.connect(path) as connection:
        assert connection.execute("select count(*) from outcomes").fetchone()[0] == len(frame)


def test_server_configuration_is_safe_by_default():
    config = tomllib.loads((ROOT / ".streamlit" / "config.toml").read_text())
    assert config["browser"]["gatherUsageStats"] is False
    assert config["server"]["address"] == "localhost"
    assert config["server"]["enableXsrfProtection"] is True
    assert 50 <= config["server"]["maxUploadSize"] <= 1000


def test_sign_in_is_required_when_configured():
    at = AppTest.from_file(str(ROOT / "dashboard.py"), default_timeout=90)
    at.secrets["auth"] = {
        "redirect_uri": "http://localhost:8501/oauth2callback",
        "cookie_secret": "test-secret",
        "client_id": "dashboard",
        "client_secret": "x",
        "server_metadata_url": "https://id.example.test/.well-known/openid-configuration",
    }
    at.run()
    assert not at.exception
    assert [b.label for b in at.button] == ["Sign in"]
    assert not at.metric  # no data before signing in
    at.user = {"is_logged_in": True, "email": "clinician@example.test"}
    at.run()
    assert {m.label: m.value for m in at.metric}["Patients"] == "150"
    assert "Signed in as clinician@example.test" in " ".join(c.value for c in at.sidebar.caption)
