"""Visit labels that name the same time point become one visit (shown, and editable as a
visit map), rare near-identical labels are flagged as probable typos, visits typed on the
command line or in a link are matched as the loader matches labels, and the default
follow-up visit is one most patients reached."""

import pytest
from conftest import LONG_CSV, load_text

from analysis.ingest.visits import match_visit, probable_typos, propose_visit_mapping

HEADER = "patient_id,visit,outcome,value\n"


def _finding(result, code):
    matches = [f for f in result.report.findings if f.code == code]
    assert matches, f"no finding {code!r}; have {result.report.codes()}"
    return matches[0]


def _rows(patients: int, visits: tuple[str, ...], value: float = 5) -> list[str]:
    return [f"P{i},{v},pain_nrs,{value}" for i in range(1, patients + 1) for v in visits]


def _typo_file() -> str:
    """Six patients at baseline, m3 and m6, except that P6's month-6 score says '6 months'."""
    rows = _rows(5, ("baseline", "m3", "m6"))
    rows += ["P6,baseline,pain_nrs,7", "P6,m3,pain_nrs,6", "P6,6 months,pain_nrs,3"]
    return HEADER + "\n".join(rows) + "\n"


# --- which labels are one visit ---------------------------------------------------------


def test_month_spellings_become_the_label_holding_most_values():
    mapping = propose_visit_mapping(
        {"baseline": 10, "m6": 7, "6 months": 1, "Month 06": 2, "M6": 1, "6 mo": 1, "6m": 1}
    )
    assert {label: mapping[label] for label in ("6 months", "Month 06", "M6", "6 mo", "6m")} == {
        "6 months": "m6", "Month 06": "m6", "M6": "m6", "6 mo": "m6", "6m": "m6",
    }  # fmt: skip
    assert mapping["m6"] == "m6" and mapping["baseline"] == "baseline"


def test_across_units_the_unit_most_values_use_wins():
    weeks = propose_visit_mapping({"week 0": 9, "week 12": 9, "week 26": 8, "6 months": 1})
    assert weeks["6 months"] == "week 26"
    months = propose_visit_mapping({"baseline": 9, "m3": 9, "m6": 8, "week 26": 1})
    assert months["week 26"] == "m6"


def test_conservative_cases_stay_apart():
    mapping = propose_visit_mapping(
        {"baseline": 9, "screening": 9, "m3": 9, "week 12": 1, "week 26": 5, "week 27": 4}
    )
    assert mapping["screening"] == "screening"  # a visit before baseline, not the same
    assert mapping["week 12"] == "week 12"  # 84 days is not 3 months (91.3 days)
    assert mapping["week 27"] == "week 27"  # one unit: different numbers, different visits
    tied = propose_visit_mapping({"m6": 3, "week 26": 3})  # units used equally: no guess
    assert tied == {"m6": "m6", "week 26": "week 26"}


def test_same_time_in_other_words():
    mapping = propose_visit_mapping(
        {"Baseline": 9, "day 0": 1, "year 1": 5, "12 months": 4, "VIS3": 6, "Visit 3": 2}
    )
    assert mapping["day 0"] == "Baseline"
    assert mapping["12 months"] == "year 1"  # 365.25 days both, by definition
    assert mapping["Visit 3"] == "VIS3"
    assert propose_visit_mapping({"follow-up": 2, "Follow up": 3})["follow-up"] == "Follow up"


# --- the loader applies the mapping -----------------------------------------------------


def test_case_and_space_variants_merge_and_a_typed_visit_finds_them():
    text = HEADER + (
        "P1,Baseline,pain_nrs,7\nP1,m6,pain_nrs,4\nP2,baseline ,pain_nrs,6\nP2,m6,pain_nrs,5\n"
    )
    result = load_text(text)
    dataset = result.dataset
    assert dataset.visits == ["Baseline", "m6"]
    assert dataset.visit_map == {"Baseline": "Baseline", "m6": "m6", "baseline": "Baseline"}
    assert "'Baseline', 'baseline' → 'Baseline'" in _finding(result, "visit_spellings").message
    assert dataset.find_visit("baseline") == "Baseline"
    assert dataset.find_visit(" BASELINE ") == "Baseline"
    assert dataset.find_visit("month 6") == "m6"


def test_a_lone_label_for_a_common_visit_is_merged_and_flagged():
    result = load_text(_typo_file())
    dataset = result.dataset
    assert dataset.visits == ["baseline", "m3", "m6"]
    assert dataset.visit_map["6 months"] == "m6"
    assert dataset.wide("pain_nrs").loc["P6", "m6"] == 3
    merged = _finding(result, "visit_labels_merged")
    assert merged.severity == "warning"
    assert "'6 months' → 'm6'" in merged.message
    typo = _finding(result, "probable_visit_typo")
    assert typo.severity == "warning"
    assert "'6 months' is held by 1 patient(s) while 'm6' is held by 5 of 6" in typo.message
    assert "It was merged into 'm6'" in typo.message
    assert typo.locations[["row", "column", "value"]].values.tolist() == [[19, "visit", "6 months"]]
    assert dataset.default_follow_up_visit("pain_nrs") == "m6"


def test_a_user_edited_visit_map_is_honoured():
    kept = load_text(_typo_file(), visit_map={"6 months": "6 months"})
    dataset = kept.dataset
    assert dataset.visits == ["baseline", "m3", "m6", "6 months"]
    assert dataset.visit_map["6 months"] == "6 months"
    assert "visit_labels_merged" not in kept.report.codes()
    typo = _finding(kept, "probable_visit_typo")
    assert "kept as a visit of its own" in typo.message
    # the label held by one patient is never the default follow-up, though it sorts last
    assert dataset.default_follow_up_visit("pain_nrs") == "m6"

    renamed = load_text(_typo_file(), visit_map={" 6 MONTHS ": "Month 6", "m6": "Month 6"})
    assert renamed.dataset.visits == ["baseline", "m3", "Month 6"]
    assert renamed.dataset.wide("pain_nrs")["Month 6"].notna().sum() == 6
    assert "'m6', '6 months' → 'Month 6'" in _finding(renamed, "visit_map_applied").message
    assert "probable_visit_typo" not in renamed.report.codes()  # the user has settled it


def test_renaming_a_visit_carries_the_labels_merged_into_it():
    result = load_text(_typo_file(), visit_map={"m6": "Month 6"})
    assert result.dataset.visits == ["baseline", "m3", "Month 6"]
    assert result.dataset.visit_map["6 months"] == "Month 6"


def test_labels_one_patient_holds_side_by_side_are_not_merged():
    text = HEADER + "\n".join(
        f"P{i},{visit},pain_nrs,{j}"
        for i in range(1, 5)
        for j, visit in enumerate(("baseline", "day 0", "m6"))
    )
    result = load_text(text)
    assert result.dataset.visits == ["baseline", "day 0", "m6"]
    assert result.report.accounting["left out: conflicting duplicates"] == 0
    note = _finding(result, "visit_labels_kept_apart")
    assert "'day 0' and 'baseline' (4 patient(s))" in note.message


def test_a_misspelt_label_is_flagged_not_merged():
    text = (
        "patient_id,pain_nrs__baseline,pain_nrs__m6,pain_nrs__basline\n"
        + "\n".join(f"P{i},5,4," for i in range(1, 10))
        + "\nP10,,3,6\n"
    )
    result = load_text(text)
    assert result.dataset.visits == ["baseline", "m6", "basline"]
    typo = _finding(result, "probable_visit_typo")
    assert "'basline' is held by 1 patient(s) while 'baseline' is held by 9 of 10" in typo.message
    assert typo.locations[["row", "column"]].values.tolist() == [[11, "pain_nrs__basline"]]
    fixed = load_text(text, visit_map={"basline": "baseline"})
    assert fixed.dataset.visits == ["baseline", "m6"]
    assert fixed.dataset.wide("pain_nrs").loc["P10", "baseline"] == 6


def test_redcap_events_from_two_arms_meet_in_one_visit():
    rows = ["record_id,redcap_event_name,pain_nrs"]
    for i in range(1, 5):
        rows += [f"{i},baseline_arm_1,7", f"{i},month_6_arm_1,4"]
    for i in range(5, 7):
        rows += [f"{i},baseline_arm_2,6", f"{i},6_months_arm_2,5"]
    result = load_text("\n".join(rows) + "\n", "redcap.csv")
    dataset = result.dataset
    assert dataset.event_map["6_months_arm_2"] == "6 months"
    assert dataset.visits == ["baseline", "month 6"]
    assert dataset.visit_map == {
        "baseline": "baseline",
        "month 6": "month 6",
        "6 months": "month 6",
    }
    assert "'6 months' → 'month 6'" in _finding(result, "visit_labels_merged").message


def test_ordinary_files_have_no_visit_findings():
    for text in (LONG_CSV, HEADER + "\n".join(_rows(3, ("baseline", "m3", "m6", "m9")))):
        codes = load_text(text).report.codes()
        assert not {"visit_labels_merged", "probable_visit_typo", "visit_spellings"} & set(codes)


def test_probable_typos_rule():
    held = {"baseline": 40, "basline": 1, "m3": 39, "m6": 38, "m9": 1, "6 months": 2}
    assert probable_typos(held, 40) == [("basline", "baseline"), ("6 months", "m6")]
    # held by 3 of 6 patients is not rare; m3 and m6 name different times
    assert probable_typos({"baseline": 6, "basline": 3, "m3": 6, "m6": 2}, 6) == []


# --- a visit typed on the command line or in a link -------------------------------------


@pytest.mark.parametrize(
    ("given", "visits", "expected"),
    [
        ("baseline", ["Baseline", "m6"], "Baseline"),
        ("BASELINE ", ["Baseline", "m6"], "Baseline"),
        ("6 months", ["baseline", "m3", "m6"], "m6"),
        ("Month 06", ["baseline", "m3", "m6"], "m6"),
        ("week 26", ["baseline", "m3", "m6"], "m6"),
        ("6 months", ["week 0", "week 12", "week 26"], "week 26"),
        ("visit 3", ["VIS1", "VIS2", "VIS3"], "VIS3"),
        ("m6", ["baseline", "m6"], "m6"),
        ("week 12", ["baseline", "m3", "m6"], None),
        ("m9", ["baseline", "m3", "m6"], None),
        ("month 6", ["m6", "6 months"], None),  # two visits name it: not a guess
    ],
)
def test_match_visit(given, visits, expected):
    assert match_visit(given, visits) == expected


# --- the default follow-up visit --------------------------------------------------------


def test_default_follow_up_is_the_latest_visit_half_the_baseline_patients_reached():
    rows = _rows(10, ("baseline", "m3"))
    rows += _rows(6, ("m6",))  # 6 of 10 baseline patients reached m6
    rows += _rows(4, ("m12",))  # 4 of 10 did not reach half
    rows += ["P1,m24,pain_nrs,5"]  # one patient: never the default
    dataset = load_text(HEADER + "\n".join(rows)).dataset
    assert dataset.visits == ["baseline", "m3", "m6", "m12", "m24"]
    assert dataset.default_follow_up_visit("pain_nrs") == "m6"
    assert dataset.default_follow_up_visit("tcss") is None


def test_default_follow_up_when_no_visit_reaches_half():
    rows = _rows(10, ("baseline",)) + _rows(3, ("m3",)) + _rows(2, ("m6",)) + ["P1,m12,pain_nrs,5"]
    dataset = load_text(HEADER + "\n".join(rows)).dataset
    assert dataset.default_follow_up_visit("pain_nrs") == "m3"  # reached by the most
    single = load_text(HEADER + "P1,baseline,pain_nrs,7\nP1,m3,pain_nrs,5\nP1,m6,pain_nrs,4\n")
    assert single.dataset.default_follow_up_visit("pain_nrs") == "m6"  # one patient in all
