"""The dashboard as a user sees it (streamlit.testing.v1.AppTest): numbers and messages."""

import hashlib
import json
from pathlib import Path

import pytest
from conftest import WIDE_CSV
from streamlit.testing.v1 import AppTest

from analysis.cli import main
from analysis.ingest.pipeline import DEMO_PATH, load_demo
from analysis.present.format import number
from analysis.stats.arms import compare_by_arm, resolve_arms, responders_by_arm
from analysis.stats.compare import compare_visits
from analysis.stats.longitudinal import MMRMSpec, fit_outcome_model
from analysis.stats.responders import responder_analysis
from analysis.stats.trajectory import friedman
from ui.pages import PAGES as PAGE_TABLE
from ui.safe import md

ROOT = Path(__file__).resolve().parents[2]
PAGES = {spec.file: spec.heading for spec in PAGE_TABLE}  # every page of the app


def _app() -> AppTest:
    return AppTest.from_file(str(ROOT / "dashboard.py"), default_timeout=60)


def _metrics(at) -> dict[str, str]:
    return {m.label: m.value for m in at.metric}


def _per_arm(dataset, outcome: str, before: str, after: str) -> list:
    """The paired statistics of each arm (MSC, then standard care), as the page shows them."""
    design = resolve_arms(dataset)
    by_arm = compare_by_arm(dataset, design, outcome, before, after)
    return [comparison.stats for comparison in by_arm.per_arm.values()]


def _means(at) -> list[str]:
    return [m.value for m in at.metric if m.label == "Mean change"]


def _texts(elements) -> str:
    return "\n".join(e.value for e in elements)


def _frame(at, column: str):
    """The first table on the page that has ``column``."""
    for element in at.dataframe:
        if column in element.value.columns:
            return element.value
    raise AssertionError(f"no table with a column {column!r}")


def _upload(at: AppTest, name: str, data: bytes) -> AppTest:
    at.sidebar.radio(key="source").set_value("Upload a file").run()
    at.sidebar.file_uploader(key="upload").set_value((name, data, "text/csv"))
    return at.run()


@pytest.fixture(scope="module")
def demo():
    return load_demo().dataset


def test_overview_on_the_demo_cohort(demo):
    at = _app().run()
    assert not at.exception
    assert at.title[0].value == "Overview"
    assert _metrics(at) == {
        "Patients": "150",
        "Visits": "5",
        "Outcomes": "10",
        "Data warnings": "0",
    }
    caveat = _texts(at.warning)
    assert "The arms were not randomised" in caveat
    assert "standardised mean difference −0\\.49" in caveat  # monofilament, not the dose
    assert "these patients are synthetic" in _texts(at.info)
    assert at.sidebar.radio(key="source").value == "Demo cohort (synthetic)"
    summary = at.dataframe[1].value
    first = summary.iloc[0]
    assert (first["arm"], first["outcome"], first["visit"], first["pairs"]) == (
        "MSC",
        "Pain intensity (NRS 0–10)",
        "m1",
        _per_arm(demo, "pain_nrs", "baseline", "m1")[0].n_pairs,
    )
    between = _frame(at, "difference in mean change (95% CI)")
    assert between.iloc[0]["arm − comparator"] == "MSC − standard care"


@pytest.mark.parametrize(("path", "title"), PAGES.items())
def test_every_page_keeps_the_sidebar(path, title):
    at = _app().run()
    at.switch_page(path).run()
    assert not at.exception
    assert at.title[0].value == title
    assert at.sidebar.radio(key="source").value == "Demo cohort (synthetic)"
    assert at.sidebar.selectbox(key=next(k for k in _keys(at) if k.startswith("baseline::")))


def _keys(at) -> list[str]:
    return [w.key for w in at.sidebar.selectbox]


def test_compare_page_shows_the_analysis_numbers_per_arm(demo, capsys):
    at = _app().run()
    at.switch_page("pages/compare.py").run()
    assert at.selectbox(key="cmp_outcome").value == "pain_nrs"
    assert at.selectbox(key="cmp_before").value == "baseline"
    assert at.selectbox(key="cmp_after").value == "m12"
    # The page and the command line give the same numbers, arm by arm.
    main(["compare", str(DEMO_PATH), "--outcome", "pain_nrs", "--after", "m12", "--json"])
    cli = json.loads(capsys.readouterr().out)
    means = [m.value for m in at.metric if m.label == "Mean change"]
    assert means == [f"{number(arm['mean_change'])} points" for arm in cli["arms"]]
    improved = [m.value for m in at.metric if m.label == "Improved by ≥ 2 points"]
    assert improved == [
        f"{100 * arm['n_improved_mcid'] / arm['n_pairs']:.0f}%" for arm in cli["arms"]
    ]
    between = cli["between_arms"][0]
    effect = next(m for m in at.metric if m.label == "MSC − standard care")
    assert effect.value == f"{number(between['difference'], 2)} points"
    sentence = _texts(at.info)
    for arm in cli["arms"]:
        assert f"Among the {arm['n_pairs']} patients with Pain intensity" in sentence
    assert "Wilcoxon signed\\-rank test is the primary test because" in sentence
    assert "The arms were not randomised" in _texts(at.caption)
    assert "Population" in _texts(at.markdown) and "MSC \\(108 patients" in _texts(at.markdown)


def test_compare_page_pools_only_on_request(demo):
    at = _app().run()
    at.sidebar.toggle(key=next(t.key for t in at.sidebar.toggle if "pooled" in t.key)).set_value(
        True
    ).run()
    at.switch_page("pages/compare.py").run()
    expected = compare_visits(demo, "pain_nrs", "baseline", "m12").stats
    assert _metrics(at)["Mean change"] == f"{number(expected.mean_change)} points"
    assert "pooled here at your request" in _texts(at.caption)


def test_compare_page_follows_the_selection(demo):
    at = _app().run()
    at.switch_page("pages/compare.py").run()
    at.selectbox(key="cmp_outcome").set_value("tcss").run()
    at.selectbox(key="cmp_after").set_value("m3").run()
    expected = _per_arm(demo, "tcss", "baseline", "m3")
    assert _means(at) == [f"{number(e.mean_change)} points" for e in expected]
    for e in expected:
        assert f"{e.n_pairs} patients with both values" in _texts(at.caption)
    statistics = _frame(at, "how / note")
    assert statistics.iloc[0].tolist()[:2] == [
        "Pairs (patients with both values)",
        str(expected[0].n_pairs),  # the first arm's table (MSC)
    ]


def test_changing_the_baseline_visit_reaches_every_page():
    at = _app().run()
    key = next(k for k in _keys(at) if k.startswith("baseline::"))
    at.sidebar.selectbox(key=key).set_value("m1").run()
    assert "Baseline visit: **m1**" in _texts(at.markdown)
    at.switch_page("pages/compare.py").run()
    assert at.selectbox(key="cmp_before").value == "m1"


def test_uploaded_wide_csv_is_analysed():
    at = _upload(_app().run(), "clinic.csv", WIDE_CSV.encode())
    assert not at.exception
    assert _metrics(at)["Patients"] == "3"
    assert "Synthetic" not in _texts(at.sidebar.info) if at.sidebar.info else True
    at.switch_page("pages/compare.py").run()
    at.selectbox(key="cmp_after").set_value("m3").run()
    assert _metrics(at)["Mean change"] == "−2.0 points"
    # 3 pairs, one unchanged: the signed-rank test on 2 changes cannot reach p < 0.05
    # (smallest two-sided exact p = 2/2^2 = 0.5)
    sentence = _texts(at.info)
    assert (
        "with 2 non\\-zero change\\(s\\) no result of this test could reach p \\< 0\\.05"
        in sentence
    )


def test_uploaded_file_with_problems_shows_rows_and_columns():
    data = (
        b"patient_id,visit,outcome,value\nP1,baseline,pain_nrs,7\nP1,m6,pain_nrs,12\n"
        b"P2,baseline,pain_nrs,6\nP2,m6,pain_nrs,4\n"
    )
    at = _upload(_app().run(), "problems.csv", data)
    at.switch_page("pages/data.py").run()
    warnings = _texts(at.warning)
    assert "outside the valid range 0–10" in warnings
    assert 'row 3, column value \\("12"\\)' in warnings
    locations = at.dataframe[1].value
    assert locations[["row", "column", "value"]].iloc[0].tolist() == [3, "value", "12"]


def test_unusable_upload_gets_a_message_not_a_traceback():
    at = _upload(_app().run(), "junk.csv", bytes(range(256)) * 20)
    assert not at.exception
    assert "The data cannot be used" in _texts(at.error)
    assert "does not look like a table" in _texts(at.error)


def test_identifier_columns_are_refused_until_dropped():
    data = (
        b"patient_id,name,visit,outcome,value\n"
        b"P1,Jane Roe,baseline,pain_nrs,7\nP1,Jane Roe,m6,pain_nrs,4\n"
    )
    at = _upload(_app().run(), "with_names.csv", data)
    assert "look like direct identifiers" in _texts(at.error)
    at.sidebar.button(key="drop_identifiers").click().run()
    assert not at.exception
    assert _metrics(at)["Patients"] == "1"
    assert "Jane" not in str([d.value for d in at.dataframe])


def test_unknown_outcome_direction_is_asked_not_guessed():
    data = (
        b"patient_id,visit,outcome,value\n"
        b"P1,baseline,grip,30\nP1,m6,grip,34\nP2,baseline,grip,28\nP2,m6,grip,27\n"
    )
    at = _upload(_app().run(), "grip.csv", data)
    at.switch_page("pages/compare.py").run()
    assert _metrics(at)["Increased / decreased"] == "1 / 1"
    at.radio(key="direction::grip").set_value("higher is better").run()
    assert _metrics(at)["Improved"] == "50%"


def test_data_page_offers_the_cleaned_table():
    at = _app().run()
    at.switch_page("pages/data.py").run()
    assert "usable, with 0 warning(s) and 1 note(s)" in _texts(at.markdown)
    assert any("values used" in str(d.value) for d in at.dataframe)
    instruments = at.dataframe[1].value
    assert "Farrar" in instruments.loc[instruments["code"] == "pain_nrs", "source"].iloc[0]


def test_file_given_at_start_is_the_default_source(tmp_path, monkeypatch):
    path = tmp_path / "clinic_export.csv"
    path.write_text(WIDE_CSV)
    monkeypatch.setenv("OUTCOMES_DATA", str(path))
    at = _app().run()
    assert at.sidebar.radio(key="source").value == "File given at start"
    assert _metrics(at)["Patients"] == "3"
    assert "clinic\\_export\\.csv" in _texts(at.markdown)


def test_html_and_markdown_in_user_strings_are_shown_as_text():
    data = (
        b"patient_id,visit,outcome,value\n"
        b"P1,<b>base</b>,pain_nrs,7\nP1,[click](http://x.test),pain_nrs,4\n"
    )
    at = _upload(_app().run(), "html.csv", data)
    overview = _texts(at.markdown)
    assert "\\<b\\>base\\</b\\>" in overview
    assert "\\[click\\]\\(http\\:" in overview


def test_over_time_page(demo):
    at = _app().run()
    at.switch_page("pages/over_time.py").run()
    assert not at.exception
    assert at.selectbox(key="time_outcome").value == "pain_nrs"
    expected = friedman(demo, "pain_nrs", demo.visits)
    text = _texts(at.markdown)
    assert f"{expected.n_complete} patients used" in text
    assert md(f"Chi-squared = {expected.statistic:.2f}, df = 4") in text
    model = fit_outcome_model(demo, resolve_arms(demo), MMRMSpec("pain_nrs")).result
    assert f"{model.n_patients} patients, {model.n_values} values" in text
    assert "unstructured covariance, REML, Satterthwaite df" in text
    change = _frame(at, "mean change (95% CI)")  # per arm: the arm is the default grouping
    assert change.iloc[0].tolist() == ["MSC", "baseline", 108, "no change (baseline)"]
    contrasts = _frame(at, "difference (95% CI)")
    assert contrasts["visit"].tolist() == ["m1", "m3", "m6", "m12"]
    first = model.contrasts.iloc[0]
    assert contrasts.iloc[0]["difference (95% CI)"] == (
        f"{number(first['estimate'], 2)} ({number(first['ci_low'], 2)} to "
        f"{number(first['ci_high'], 2)})"
    )
    assert "Population" in text and "missing at random" in text


def test_over_time_by_group_and_median():
    at = _app().run()
    at.switch_page("pages/over_time.py").run()
    at.selectbox(key="time_by").set_value("cell_source").run()
    at.radio(key="time_statistic").set_value("median with IQR").run()
    assert not at.exception
    numbers = at.dataframe[0].value
    assert set(numbers["group"]) == {
        "autologous bone marrow",
        "umbilical cord",
        "none (standard care)",
    }


def test_responders_page_per_arm_with_placebo_footnote(demo):
    at = _app().run()
    at.switch_page("pages/responders.py").run()
    assert not at.exception
    visit = at.selectbox(key="resp_visit").value
    assert visit == "m12"
    by_arm = responders_by_arm(demo, resolve_arms(demo), "pain_nrs", "m12")
    assert [m.value for m in at.metric if m.label == "Patients with a baseline value"] == [
        "108",
        "42",
    ]
    halves = [m.value for m in at.metric if m.label == "≥50% improvement (completers)"]
    assert halves == [
        f"{r.rates.set_index('threshold').loc['≥50% improvement', 'rate_completers']:.0f}%"
        for r in by_arm.per_arm.values()
    ]
    table = at.dataframe[0].value  # the MSC arm's table
    assert table.columns.tolist()[1:] == [
        "completers only (95% CI)",
        "everyone with a baseline, missing = non-responder (95% CI)",
    ]
    half = by_arm.per_arm["MSC"].rates.set_index("threshold").loc["≥50% improvement"]
    row = table.set_index("responder definition").loc["≥50% improvement"]
    assert row["everyone with a baseline, missing = non-responder (95% CI)"] == (
        f"{int(half['responders'])}/{int(half['n_itt'])} = {half['rate_itt']:.0f}% "
        f"({half['ci_low_itt']:.0f}% to {half['ci_high_itt']:.0f}%)"
    )
    between = _frame(at, "difference (points of %)")
    assert list(between["arm"].unique()) == ["MSC"]
    # with a comparator the placebo benchmark is a footnote to the treated arm, not a verdict
    assert "placebo arms of 21 randomised trials" not in _texts(at.info)
    footnotes = _texts(at.caption)
    assert "Footnote: In the placebo arms of 21 randomised trials" in footnotes
    assert "−1\\.54 points" in footnotes
    assert "regression to the mean" in _texts(at.markdown)


def test_responders_page_without_arms_shows_the_placebo_box(demo):
    at = _app().run()
    key = next(k for k in _keys(at) if k.startswith("arm_attribute::"))
    at.sidebar.selectbox(key=key).set_value("(no arms: one group)").run()
    at.switch_page("pages/responders.py").run()
    expected = responder_analysis(demo, "pain_nrs", "m12").rates.set_index("threshold")
    assert _metrics(at)["≥50% improvement (completers)"] == (
        f"{expected.loc['≥50% improvement', 'rate_completers']:.0f}%"
    )
    assert "placebo arms of 21 randomised trials" in _texts(at.info)
    assert "without a control group" in _texts(at.caption)


def test_responders_page_other_outcome_has_no_placebo_box():
    at = _app().run()
    at.switch_page("pages/responders.py").run()
    at.selectbox(key="resp_outcome").set_value("tcss").run()
    assert not at.exception
    assert "placebo arms" not in _texts(at.info)
    assert at.dataframe[0].value["responder definition"].tolist() == [
        "≥30% improvement",
        "≥50% improvement",
    ]


def test_patient_page(demo):
    at = _app().run()
    at.switch_page("pages/patient.py").run()
    assert not at.exception
    at.selectbox(key="patient_id").set_value("SYN-007").run()
    attributes = at.dataframe[0].value
    assert "cell_source" in attributes["attribute"].tolist()
    status = at.dataframe[1].value
    assert status["outcome"].iloc[0] == "Pain intensity (NRS 0–10)"
    own = demo.long.loc[
        (demo.long["patient_id"] == "SYN-007") & (demo.long["outcome"] == "pain_nrs")
    ]
    assert status["baseline"].iloc[0] == own.loc[own["visit"] == "baseline", "value"].iloc[0]
    assert at.get("download_button")


def test_outcome_choice_follows_the_user_across_pages():
    at = _app().run()
    at.switch_page("pages/compare.py").run()
    at.selectbox(key="cmp_outcome").set_value("tcss").run()
    at.switch_page("pages/over_time.py").run()
    assert at.selectbox(key="time_outcome").value == "tcss"


def _filter_widget(at, label: str):
    return next(w for w in at.sidebar.multiselect if w.label == label)


def test_filter_set_on_one_page_holds_on_every_page_and_in_the_url(demo):
    n_msc = int((demo.attributes["arm"] == "MSC").sum())
    sentence = f"Showing {n_msc} of 150 patients\\: arm MSC\\."
    at = _app().run()
    at.switch_page("pages/compare.py").run()
    _filter_widget(at, "arm").set_value(["MSC"]).run()
    assert sentence in _texts(at.caption)
    assert at.query_params["f.arm"] == ["MSC"] or at.query_params["f.arm"] == "MSC"
    for page in ("pages/over_time.py", "pages/responders.py", "pages/overview.py"):
        at.switch_page(page).run()
        assert not at.exception
        assert sentence in _texts(at.caption), page
    assert _metrics(at)["Patients"] == str(n_msc)


def test_filter_is_restored_from_the_link(demo):
    at = _app()
    at.query_params["f.arm"] = "standard care"
    at.query_params["r.baseline_hba1c"] = "7..9"
    at.run()
    expected = demo.attributes.loc[
        (demo.attributes["arm"] == "standard care")
        & demo.attributes["baseline_hba1c"].between(7, 9)
    ]
    assert _metrics(at)["Patients"] == str(len(expected))
    assert _filter_widget(at, "arm").value == ["standard care"]
    assert "baseline\\_hba1c 7 to 9" in _texts(at.caption)


def test_explorer_page(demo):
    at = _app().run()
    at.switch_page("pages/explorer.py").run()
    assert not at.exception
    table1 = _frame(at, "SMD")
    assert table1.columns.tolist()[3:6] == ["overall", "MSC", "standard care"]
    groups = _frame(at, "median change")
    assert groups["group"].tolist() == ["MSC", "standard care"]
    text = _texts(at.markdown)
    assert "MSC minus standard care" in text
    assert "exploratory" in _texts(at.warning)
    forest = _frame(at, "Benjamini-Hochberg")
    assert {"arm", "cell_source", "sex"} <= set(forest["attribute"])


def test_explorer_says_its_subgroups_mix_the_arms_until_one_arm_is_kept():
    at = _app().run()
    at.switch_page("pages/explorer.py").run()
    caveat = "Each subgroup below holds patients of every arm \\(MSC, standard care\\)"
    assert caveat in _texts(at.warning)
    assert "filter the cohort to one arm" in _texts(at.warning)
    # The cohort filtered to the MSC arm: the subgroups are within one arm, no caveat.
    _filter_widget(at, "arm").set_value(["MSC"]).run()
    assert not at.exception
    assert "Showing 108 of 150 patients\\: arm MSC\\." in _texts(at.caption)
    assert _frame(at, "Benjamini-Hochberg") is not None  # the forest is still drawn
    assert caveat not in _texts(at.warning)


def test_explorer_hides_a_group_of_three():
    rows = ["patient_id,visit,outcome,value,site"]
    for site, n in (("north", 6), ("south", 7), ("island", 3)):
        for i in range(n):
            rows += [
                f"{site}{i},baseline,pain_nrs,{6 + i % 3}",
                f"{site}{i},m6,pain_nrs,{4 + i % 2}",
            ]
    rows = [
        r if r.startswith("patient") else f"{r},{r.split(',')[0].rstrip('0123456789')}"
        for r in rows
    ]
    at = _upload(_app().run(), "sites.csv", "\n".join(rows).encode())
    at.switch_page("pages/explorer.py").run()
    groups = _frame(at, "median change").set_index("group")
    assert groups.loc["island", "mean change (95% CI)"] == "suppressed (n < 5)"
    assert "Small groups left out of the tests and hidden\\: island" in _texts(at.markdown)
    at.toggle(key="show_small").set_value(True).run()
    groups = _frame(at, "median change").set_index("group")
    assert groups.loc["island", "mean change (95% CI)"] != "suppressed (n < 5)"


def test_over_time_hides_a_group_of_three():
    rows = ["patient_id,visit,outcome,value,site"]
    for site, n in (("north", 6), ("island", 3)):
        for i in range(n):
            rows += [f"{site}{i},baseline,pain_nrs,6,{site}", f"{site}{i},m6,pain_nrs,4,{site}"]
    at = _upload(_app().run(), "sites.csv", "\n".join(rows).encode())
    at.switch_page("pages/over_time.py").run()
    at.selectbox(key="time_by").set_value("site").run()
    assert set(_frame(at, "median [IQR]")["group"]) == {"north"}
    assert "hidden (small-cell suppression" in _texts(at.caption)


def _open(page: str, **params) -> AppTest:
    """Open a page from a link with query parameters, as a browser would."""
    at = _app()
    for name, value in params.items():
        at.query_params[name] = value
    at.run()
    return at.switch_page(page).run()


def test_link_restores_the_compare_view(demo):
    at = _open("pages/compare.py", outcome="tcss", before="m1", after="m6")
    assert not at.exception
    assert at.selectbox(key="cmp_outcome").value == "tcss"
    assert (at.selectbox(key="cmp_before").value, at.selectbox(key="cmp_after").value) == (
        "m1",
        "m6",
    )
    expected = _per_arm(demo, "tcss", "m1", "m6")
    assert _means(at) == [f"{number(e.mean_change)} points" for e in expected]


def test_widget_changes_are_written_to_the_link():
    at = _app().run()
    at.switch_page("pages/responders.py").run()
    at.selectbox(key="resp_visit").set_value("m3").run()
    at.radio(key="resp_scale").set_value("points").run()
    assert at.query_params["visit"] in ("m3", ["m3"])
    assert at.query_params["scale"] in ("points", ["points"])


def test_links_restore_over_time_explorer_and_patient_views():
    at = _open("pages/over_time.py", outcome="vpt", stat="median with IQR", lines="sex")
    assert at.radio(key="time_statistic").value == "median with IQR"
    assert set(_frame(at, "median [IQR]")["group"]) == {"female", "male"}
    at = _open("pages/explorer.py", t1_by="sex", pvalues="true", min_group="12")
    assert at.number_input(key="min_group").value == 12
    assert "p-value" in _frame(at, "SMD").columns
    at = _open("pages/patient.py", patient="SYN-042")
    assert at.selectbox(key="patient_id").value == "SYN-042"


def test_stale_link_falls_back_with_a_note():
    at = _open("pages/compare.py", outcome="grip_strength", after="week 99")
    assert not at.exception
    assert at.selectbox(key="cmp_outcome").value == "pain_nrs"
    notes = _texts(at.info)
    assert "outcome=grip\\_strength does not fit this data" in notes
    assert "after=week 99 does not fit this data" in notes
    at = _open("pages/explorer.py", min_group="many")
    assert at.number_input(key="min_group").value == 5
    assert "min\\_group=many does not fit" in _texts(at.info)


def test_link_to_an_uploaded_file_says_so_and_reupload_restores_it():
    digest = hashlib.sha256(WIDE_CSV.encode()).hexdigest()[:12]
    at = _app()
    at.query_params["src"] = digest
    at.query_params["src_name"] = "clinic.csv"
    at.query_params["outcome"] = "pain_nrs"
    at.run()
    assert at.sidebar.radio(key="source").value == "Upload a file"  # not the demo, silently
    message = _texts(at.warning)
    assert f"This link was made on an uploaded file, clinic\\.csv, fingerprint {digest}" in message
    at.sidebar.file_uploader(key="upload").set_value(("clinic.csv", WIDE_CSV.encode(), "text/csv"))
    at.run()
    assert "This link was made on an uploaded file" not in _texts(at.warning)
    assert _metrics(at)["Patients"] == "3"


def test_visit_choice_follows_the_user_across_pages():
    at = _app().run()
    at.switch_page("pages/compare.py").run()
    at.selectbox(key="cmp_after").set_value("m6").run()
    at.switch_page("pages/responders.py").run()
    assert at.selectbox(key="resp_visit").value == "m6"
    at.switch_page("pages/report.py").run()
    assert at.selectbox(key="report_visit").value == "m6"


TYPO_CSV = "patient_id,visit,outcome,value\n" + "".join(
    f"P{i},baseline,pain_nrs,7\nP{i},m3,pain_nrs,6\n"
    + (f"P{i},m6,pain_nrs,5\n" if i != 0 else "P0,6 months,pain_nrs,5\n")
    for i in range(12)
)


def test_visit_label_typo_is_flagged_merged_and_editable():
    at = _upload(_app().run(), "typo.csv", TYPO_CSV.encode())
    assert not at.exception
    assert _metrics(at)["Visits"] == "3"  # '6 months' joined m6, not a fourth visit
    editor = next(e for e in at.sidebar.expander if e.label == "Visit labels → visits")
    assert "look like typos" in _texts(editor.caption)
    at.switch_page("pages/compare.py").run()
    assert at.selectbox(key="cmp_after").value == "m6"  # never the label one patient holds
    at.switch_page("pages/data.py").run()
    assert "6 months" in _texts(at.error) + _texts(at.warning) + _texts(at.markdown)
    # the user keeps the label apart: the data reload with four visits
    fingerprint = hashlib.sha256(TYPO_CSV.encode()).hexdigest()[:16]
    kept_apart = {"baseline": "baseline", "m3": "m3", "m6": "m6", "6 months": "6 months"}
    at.session_state[f"visits::{fingerprint}"] = kept_apart
    at.switch_page("pages/overview.py").run()
    assert _metrics(at)["Visits"] == "4"


def test_visit_label_editor_is_drawn_only_while_open():
    # Closed (the demo's labels need nothing): no table editor is sent, so no page loads its
    # JavaScript before its first chart. Open (labels merged): the editor is there.
    demo = _app().run()
    closed = next(e for e in demo.sidebar.expander if e.label == "Visit labels → visits")
    assert list(closed.children.values()) == []
    typo = _upload(_app().run(), "typo.csv", TYPO_CSV.encode())
    opened = next(e for e in typo.sidebar.expander if e.label == "Visit labels → visits")
    assert [type(c).__name__ for c in opened.children.values()].count("Dataframe") == 1


def test_missing_data_page_on_the_demo():
    at = _app().run()
    at.switch_page("pages/missing_data.py").run()
    assert not at.exception
    assert at.title[0].value == "Missing follow-up"
    patterns = _frame(at, "pattern")
    assert set(patterns["arm"]) >= {"MSC", "standard care"}
    msc = patterns.loc[patterns["arm"] == "MSC"]
    assert int(msc["n"].sum()) == 108  # every MSC patient in exactly one pattern
    estimates = _frame(at, "values imputed")
    assert estimates.iloc[0]["analysis"].startswith("MMRM")
    assert "multiple imputation, missing at random (primary)" in set(estimates["analysis"])
    assert "statistically significant" in _texts(at.info)


LINK = "[click](https://x.test)"


def _everything_shown(at) -> list[str]:
    """Every text a person sees as markdown: elements and widget labels."""
    texts = []
    for kind in ("markdown", "caption", "info", "warning", "error", "title", "subheader"):
        texts += [element.value for element in getattr(at, kind)]
    for kind in ("selectbox", "multiselect", "slider", "radio", "toggle", "number_input"):
        texts += [widget.label for widget in getattr(at, kind)]
        texts += [widget.label for widget in getattr(at.sidebar, kind)]
    return texts


def test_link_shaped_names_stay_text_on_every_page():
    rows = ["patient_id,visit,outcome,value," + LINK]
    for i in range(8):
        group = "a" if i < 4 else "b"
        rows += [f"P{i},baseline,pain_nrs,7,{group}", f"P{i},{LINK},pain_nrs,4,{group}"]
    at = _upload(_app().run(), "links.csv", ("\n".join(rows) + "\n").encode())
    assert not at.exception
    for spec in PAGE_TABLE:
        at.switch_page(spec.file).run()
        assert not at.exception, spec.file
        shown = _everything_shown(at)
        assert not [text for text in shown if LINK in text], spec.file  # escaped, never a link


def test_link_shaped_arm_names_stay_text():
    rows = ["patient_id,visit,outcome,value,arm"]
    for i in range(10):
        arm = LINK if i < 5 else "placebo"
        rows += [f"P{i},baseline,pain_nrs,7,{arm}", f"P{i},m6,pain_nrs,{4 + i % 3},{arm}"]
    at = _upload(_app().run(), "arms.csv", ("\n".join(rows) + "\n").encode())
    for page in ("pages/compare.py", "pages/responders.py", "pages/over_time.py"):
        at.switch_page(page).run()
        assert not at.exception, page
        assert not [text for text in _everything_shown(at) if LINK in text], page
