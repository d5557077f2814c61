"""The CLI on tables analysed in their database gives the in-memory numbers (R-checked there)."""

from __future__ import annotations

import json

import pandas as pd
import pytest
from stats.test_pushdown import canonical_long, write_duckdb

from analysis.cli import main
from analysis.ingest import engine
from analysis.ingest.pipeline import load_demo
from analysis.stats.arms import resolve_arms, summary_by_arm


@pytest.fixture(scope="module")
def demo_db(tmp_path_factory):
    dataset = load_demo().dataset
    path = tmp_path_factory.mktemp("db") / "registry.duckdb"
    return dataset, write_duckdb(canonical_long(dataset), path)


def test_summary_json_from_duckdb_equals_memory(demo_db, capsys):
    dataset, url = demo_db
    assert main(["summary", url, "--table", "outcomes", "--json"]) == 0
    payload = json.loads(capsys.readouterr().out)
    _, between = summary_by_arm(dataset, resolve_arms(dataset))
    assert payload["design"]["comparator"] == "standard care"
    assert payload["computed_in"]["engine"] == "duckdb"
    assert payload["computed_in"]["rows_left_database"] is False
    pushed = pd.DataFrame(payload["between_arms"]).set_index(["outcome", "visit"]).sort_index()
    expected = between.set_index(["outcome", "visit"]).sort_index()
    assert pushed["n_arm"].tolist() == expected["n_arm"].tolist()
    assert pushed["difference"].to_numpy() == pytest.approx(expected["difference"], rel=1e-9)
    assert pushed["p_value"].to_numpy() == pytest.approx(expected["p_value"], rel=1e-9)
    assert "MSC (108 patients with a baseline value)" in payload["estimand"]["population"]


def test_validate_reports_where_it_ran(demo_db, capsys):
    _, url = demo_db
    assert main(["validate", url]) == 0
    out = capsys.readouterr().out
    assert "Checked and summarised inside duckdb" in out
    assert "150 patients, 10 outcomes" in out


def test_commands_needing_rows_read_only_their_outcome(demo_db, capsys):
    _, url = demo_db
    assert main(["trajectory", url, "--outcome", "pain_nrs"]) == 0
    captured = capsys.readouterr()
    assert "Read 150 patients' pain_nrs out of duckdb:" in captured.err


def test_row_cap_is_stated(demo_db, capsys, monkeypatch):
    _, url = demo_db
    monkeypatch.setattr(engine, "ROWS_CAP_PATIENTS", 100)
    monkeypatch.setattr(engine.fetch_rows, "__defaults__", (None, 100))
    assert main(["mmrm", url, "--outcome", "pain_nrs"]) == 2
    assert "150 patients are more than the 100 it reads" in capsys.readouterr().err


def test_unknown_source_is_a_message(capsys):
    assert main(["summary", "parquet:/no/such/folder"]) == 2
    assert "There is no Parquet file or folder" in capsys.readouterr().err
