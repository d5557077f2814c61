"""The dashboard on a registry computed in its database: the Overview shows the per-arm summary
without any row leaving the engine; other pages read one outcome's rows only when asked."""

from __future__ import annotations

from pathlib import Path

import pytest
from stats.test_pushdown import canonical_long, write_duckdb
from streamlit.testing.v1 import AppTest

from analysis.ingest import engine, pipeline
from analysis.ingest.pipeline import load_demo, load_frame
from analysis.present.format import number
from analysis.present.tables import table1_display
from analysis.stats.arms import compare_by_arm, resolve_arms, responders_by_arm, summary_by_arm
from analysis.stats.subgroups import compare_subgroups
from analysis.stats.table1 import table_one
from ui.registry import SOURCE_REGISTRY

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
def registry(tmp_path, monkeypatch):
    dataset = load_demo().dataset
    url = write_duckdb(canonical_long(dataset), tmp_path / "registry.duckdb")
    monkeypatch.setenv("OUTCOMES_REGISTRY_URL", url)
    return dataset


def refuse_rows(monkeypatch) -> None:
    """From here on, reading rows out of the database (or loading any rows) fails the test."""

    def refuse(*args, **kwargs):
        raise AssertionError("rows were read out of the database")

    monkeypatch.setattr(engine, "fetch_rows", refuse)
    monkeypatch.setattr(pipeline, "run_pipeline", refuse)


def _registry_app() -> AppTest:
    at = AppTest.from_file(str(ROOT / "dashboard.py"), default_timeout=120)
    at.run()
    return at.sidebar.radio(key="source").set_value(SOURCE_REGISTRY).run()


def test_overview_is_computed_without_reading_rows(registry, monkeypatch):
    at = _registry_app()
    refuse_rows(monkeypatch)
    at.switch_page("pages/overview.py").run()
    assert not at.exception
    metrics = {m.label: m.value for m in at.metric}
    assert metrics["Patients"] == "150"
    text = "\n".join(m.value for m in at.markdown)
    assert "summarised inside duckdb" in text
    # The between-arm table equals the in-memory computation (tests/stats/test_pushdown.py
    # checks every column; here: what the page shows for pain at m6).
    _, between = summary_by_arm(registry, resolve_arms(registry))
    expected = between.set_index(["outcome", "visit"]).loc[("pain_nrs", "m6")]
    shown = next(d.value for d in at.dataframe if "arm − comparator" in d.value.columns)
    row = shown.loc[shown["outcome"].str.contains("Pain") & (shown["visit"] == "m6")]
    assert len(row) == 1
    shown_difference = row.iloc[0]["difference in mean change (95% CI)"]
    assert shown_difference.startswith(f"{expected['difference']:.2f}".replace("-", "−"))


def test_other_pages_ask_before_reading_rows(registry):
    at = _registry_app().switch_page("pages/compare.py").run()
    assert not at.exception
    assert any("no row has left it" in i.value for i in at.info)
    at.selectbox(key="registry_outcome").set_value("pain_nrs").run()
    at.button(key="registry_read").click().run()
    assert not at.exception
    captions = "\n".join(c.value for c in at.sidebar.caption)
    assert "Rows read for the other pages: pain\\_nrs" in captions
    # The page now works on the rows read: the per-arm comparison of pain.
    assert any(m.label == "Mean change" for m in at.metric)


def test_a_link_opens_the_registry(registry):
    at = AppTest.from_file(str(ROOT / "dashboard.py"), default_timeout=120)
    at.query_params["source"] = "registry"
    at.run()
    assert not at.exception
    assert at.sidebar.radio(key="source").value == SOURCE_REGISTRY
    assert any("summarised inside duckdb" in m.value for m in at.markdown)


def test_compare_is_computed_in_the_database(registry, monkeypatch):
    at = _registry_app()
    refuse_rows(monkeypatch)
    at.switch_page("pages/compare.py").run()
    assert not at.exception
    at.selectbox(key="registry_cmp_outcome").set_value("pain_nrs").run()
    at.selectbox(key="registry_cmp_after").set_value("m6").run()
    assert not at.exception
    # The page's numbers are those of compare_by_arm in memory (tests/stats/
    # test_pushdown_compare.py checks every statistic).
    by_arm = compare_by_arm(registry, resolve_arms(registry), "pain_nrs", "baseline", "m6")
    shown = [m.value for m in at.metric if m.label == "Mean change"]
    expected = [number(c.stats.mean_change) for c in by_arm.per_arm.values()]  # as the page
    assert [value.split(" ")[0] for value in shown] == expected
    assert any("no row left the database" in c.value for c in at.caption)
    # The per-patient charts still need rows: offered, not taken.
    assert any("no row has left it" in i.value for i in at.info)


def test_responders_are_counted_in_the_database(registry, monkeypatch):
    at = _registry_app()
    refuse_rows(monkeypatch)
    at.switch_page("pages/responders.py").run()
    at.selectbox(key="registry_resp_outcome").set_value("pain_nrs").run()
    at.selectbox(key="registry_resp_visit").set_value("m6").run()
    assert not at.exception
    # Patients with a baseline value per arm, as responders_by_arm counts them in memory.
    by_arm = responders_by_arm(registry, resolve_arms(registry), "pain_nrs", "m6")
    shown = [m.value for m in at.metric if m.label == "Patients with a baseline value"]
    assert shown == [f"{a.n_itt:,}" for a in by_arm.per_arm.values()]
    between = next(d.value for d in at.dataframe if "responders in comparator" in d.value.columns)
    assert len(between) == len(by_arm.between)


def test_explorer_is_computed_in_the_database(registry, monkeypatch):
    same_rows = load_frame(canonical_long(registry), "registry").dataset  # arm only, as stored

    at = _registry_app()
    refuse_rows(monkeypatch)
    at.switch_page("pages/explorer.py").run()
    assert not at.exception
    # Table 1 by arm (the default) and the subgroup table by arm, as in memory.
    expected = table1_display(table_one(same_rows, "arm", min_group=5).table)
    shown = at.dataframe[0].value
    assert shown.shape == expected.shape
    # Same rows; a database has no first appearance, so outcomes come in alphabetical order.
    rows = sorted(shown.astype(str).to_numpy().tolist())
    assert rows == sorted(expected.astype(str).to_numpy().tolist())
    at.selectbox(key="registry_sub_outcome").set_value("pain_nrs").run()
    at.selectbox(key="registry_sub_visit").set_value("m6").run()
    assert not at.exception
    groups = compare_subgroups(registry, "pain_nrs", "m6", "arm", 5, "standard care").groups
    table = next(d.value for d in at.dataframe[1:] if len(d.value) == len(groups))
    assert table.shape[0] == 2


def test_the_sidebar_sets_the_registry_baseline_and_arms(registry, monkeypatch):
    at = _registry_app()
    refuse_rows(monkeypatch)
    # Detected as for a file: arms from 'arm' with standard care as the comparator.
    assert at.sidebar.selectbox(key=next(k for k in _keys(at) if k.startswith("arm_attribute"))
                                ).value == "arm"  # fmt: skip
    at.switch_page("pages/compare.py").run()
    at.selectbox(key="registry_cmp_outcome").set_value("pain_nrs").run()
    at.selectbox(key="registry_cmp_after").set_value("m6").run()
    # Comparator chosen in the sidebar: MSC. The page's between-arm sentence and the numbers
    # are those of compare_by_arm in memory with the same choice.
    control = next(k for k in _keys(at) if k.startswith("arm_control"))
    at.sidebar.selectbox(key=control).set_value("MSC").run()
    assert not at.exception
    assert at.query_params["control"] == "MSC"
    design = resolve_arms(registry, "arm", "MSC")
    by_arm = compare_by_arm(registry, design, "pain_nrs", "baseline", "m6")
    assert list(by_arm.per_arm) == ["standard care", "MSC"]  # comparator last
    shown = [m.value.split(" ")[0] for m in at.metric if m.label == "Mean change"]
    assert shown == [number(c.stats.mean_change) for c in by_arm.per_arm.values()]
    # Baseline m1: the comparison starts from m1 and the Overview says so.
    baseline = next(k for k in _keys(at) if k.startswith("baseline::"))
    at.sidebar.selectbox(key=baseline).set_value("m1").run()
    at.switch_page("pages/overview.py").run()
    assert not at.exception
    assert any("Baseline visit: **m1**" in m.value for m in at.markdown)
    # "No arms" gives one group: no between-arm table.
    at.sidebar.selectbox(key=next(k for k in _keys(at) if k.startswith("arm_attribute"))
                         ).set_value("(no arms: one group)").run()  # fmt: skip
    assert not at.exception
    assert not any("arm − comparator" in d.value.columns for d in at.dataframe)


def _keys(at: AppTest) -> list[str]:
    return [w.key for w in at.sidebar.selectbox if w.key]
