"""The Cohort explorer on a registry computed in its database: the forest plot of every subgroup
(with every patient's mean change), its table, and Spearman's rho against a numeric attribute
are what memory computes on the same rows, and no row leaves the database."""

from __future__ import annotations

import json

import pytest
from stats.test_pushdown import canonical_long, write_duckdb
from stats.test_pushdown_table1 import long_with_attributes

from analysis.ingest.pipeline import load_frame
from analysis.present.format import number, p_phrase
from analysis.present.tables import forest_display
from analysis.stats.subgroups import continuous_association, forest_table
from analysis.stats.trajectory import change_summary
from tests.ui.test_registry import _registry_app, refuse_rows, registry  # noqa: F401 (fixture)
from ui.safe import md


@pytest.fixture
def attributes_registry(registry, tmp_path, monkeypatch):  # noqa: F811
    """The registry fixture's demo with every patient attribute on each row (its table holds
    the arm only, so it has no numeric attribute)."""
    url = write_duckdb(long_with_attributes(registry), tmp_path / "attributes.duckdb")
    monkeypatch.setenv("OUTCOMES_REGISTRY_URL", url)
    return registry


def _explorer(monkeypatch, outcome: str, visit: str):
    """The registry's Cohort explorer at ``outcome`` and ``visit``, with rows refused."""
    at = _registry_app()
    refuse_rows(monkeypatch)
    at.switch_page("pages/explorer.py").run()
    at.selectbox(key="registry_sub_outcome").set_value(outcome).run()
    at.selectbox(key="registry_sub_visit").set_value(visit).run()
    assert not at.exception
    return at


def _figures(at) -> dict[str, dict]:
    """Each plotly chart's figure by its title."""
    figures = [json.loads(chart.proto.spec) for chart in at.get("plotly_chart")]
    return {figure["layout"]["title"]["text"]: figure for figure in figures}


def _forest_shown(at):
    return next(d.value for d in at.dataframe if "Benjamini-Hochberg" in d.value.columns)


def test_forest_plot_and_table_are_computed_in_the_database(registry, monkeypatch):  # noqa: F811
    same_rows = load_frame(canonical_long(registry), "registry").dataset  # arm only, as stored
    at = _explorer(monkeypatch, "pain_nrs", "m6")
    expected = forest_display(forest_table(same_rows, "pain_nrs", "m6"))
    shown = _forest_shown(at)
    assert shown.astype(str).to_numpy().tolist() == expected.astype(str).to_numpy().tolist()
    assert shown["level"].tolist() == ["MSC", "standard care"]
    # The plot, with every patient's mean change as memory's change_summary gives it.
    overall = change_summary(same_rows, "pain_nrs").set_index("visit").loc["m6", "mean_change"]
    forest = _figures(at)["Mean change from baseline at m6 by subgroup (95% CI)"]
    notes = [a["text"] for a in forest["layout"]["annotations"]]
    assert notes == [f"all patients {overall:.2f}"] and f"{overall:.2f}" == "-1.60"
    assert any("Subgroup findings are exploratory" in w.value for w in at.warning)
    # The subgroups hold both arms, and a registry has no cohort filter: grouping by arm is
    # what compares the arms.
    mixed = next(w.value for w in at.warning if "holds patients of every arm" in w.value)
    assert mixed.endswith("Group by arm to compare the arms\\.") and "filter" not in mixed
    # No numeric attribute in this table: no association section, and no claim that the
    # forest plot needs each patient's values.
    assert "Change against a numeric attribute" not in [s.value for s in at.subheader]
    assert not any("forest plot" in c.value for c in at.caption)


def test_spearman_rho_is_computed_in_the_database(attributes_registry, monkeypatch):
    at = _explorer(monkeypatch, "pain_nrs", "m6")
    at.selectbox(key="registry_num_attribute").set_value("baseline_hba1c").run()
    assert not at.exception
    memory = continuous_association(attributes_registry, "pain_nrs", "m6", "baseline_hba1c")
    assert memory.rho is not None and memory.p_value is not None
    sentence = md(
        f"Spearman's rho = {number(memory.rho, 2)} ({memory.n} patients, "
        f"{p_phrase(memory.p_value)}, t approximation)."
    )
    assert sentence == md("Spearman's rho = −0.14 (116 patients, p = 0.13, t approximation).")
    assert any(c.value.startswith(sentence) for c in at.caption)
    # In place of the scatter: the mean change per range of the attribute, small ones hidden.
    bins = next(d.value for d in at.dataframe if "baseline_hba1c" in d.value.columns)
    assert bins["patients"].sum() == memory.n
    assert bins["baseline_hba1c"].tolist()[0] == "5 to 6"
    assert bins["mean change (95% CI)"].tolist()[-1] == "suppressed (n < 5)"
    assert "Mean change at m6 by baseline_hba1c (95% CI)" in _figures(at)
    # The forest covers every categorical attribute of the registry, as memory's.
    expected = forest_display(forest_table(attributes_registry, "pain_nrs", "m6"))
    key = ["attribute", "level"]
    shown = _forest_shown(at).sort_values(key, ignore_index=True)
    expected = expected.sort_values(key, ignore_index=True)
    assert shown.astype(str).to_numpy().tolist() == expected.astype(str).to_numpy().tolist()


def test_a_small_association_is_suppressed(registry, tmp_path, monkeypatch):  # noqa: F811
    long = long_with_attributes(registry)
    known = long["patient_id"].isin(registry.patients[:4])
    long.loc[~known, "baseline_hba1c"] = None  # four patients have the attribute
    monkeypatch.setenv("OUTCOMES_REGISTRY_URL", write_duckdb(long, tmp_path / "small.duckdb"))
    at = _explorer(monkeypatch, "pain_nrs", "m6")
    at.selectbox(key="registry_num_attribute").set_value("baseline_hba1c").run()
    assert not at.exception
    assert any(
        "Fewer than 5 patients have baseline\\_hba1c" in i.value
        and "nothing was computed" in i.value
        for i in at.info
    )
    assert not any("Spearman" in c.value for c in at.caption)
    assert "Mean change at m6 by baseline_hba1c (95% CI)" not in _figures(at)
