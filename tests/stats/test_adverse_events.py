"""Adverse-event tables on hand-made data: counts per arm, special interest, severity, rates
(R's poisson.test beside each value), Newcombe's interval and small-cell suppression."""

import math

import pandas as pd
import pytest
from scipy import stats

from analysis.ingest.adverse_events import read_adverse_events
from analysis.ingest.pipeline import load_bytes
from analysis.present.safety_tables import (
    aesi_display,
    by_term_display,
    rates_display,
    severity_display,
    summary_display,
    suppressed_record,
)
from analysis.stats.adverse_events import (
    AESI_RULES,
    SUMMARY_ITEMS,
    garwood,
    newcombe,
    patient_events,
    patient_visit_days,
    rate_ratio,
    rules_from_table,
    rules_table,
    safety_tables,
)
from analysis.stats.arms import resolve_arms

# Six MSC patients and five under standard care; follow-up (last visit day) 182 days except M6
# (30 days). M1's second fever on day 200 extends M1's follow-up to day 201.
_ARMS = {**{f"M{i}": "MSC" for i in range(1, 7)}, **{f"C{i}": "standard care" for i in range(1, 6)}}
COHORT = "patient_id,visit,day,outcome,value,arm\n" + "".join(
    f"{p},baseline,0,pain_nrs,6,{arm}\n{p},{'m1,30' if p == 'M6' else 'm6,182'},pain_nrs,4,{arm}\n"
    for p, arm in _ARMS.items()
)
EVENTS = """patient_id,term,category,start_day,end_day,grade,serious,related,outcome,action
M1,Pyrexia,General,1,2,1,no,cells,recovered,none
M1,Pyrexia,General,200,201,2,no,cells,recovered,none
M2,Injection site pain,General,0,4,2,no,procedure,recovered,none
M2,Thrombocytopenia,Blood,20,40,3,yes,not related,recovered,none
M3,Deep vein thrombosis,Vascular,60,120,3,yes,not related,recovered,withdrawn from study
M4,Hay fever,Respiratory,90,100,1,no,not related,recovered,none
M4,Urinary tract infection,Infections,50,57,2,no,not related,recovered,none
M5,Myocardial infarction,Cardiac,150,150,5,yes,not related,fatal,none
C1,Injection site reaction,General,10,12,1,no,not related,recovered,none
C2,Hypoglycaemia,Metabolism,15,15,2,no,not related,recovered,none
C2,Hypoglycaemia,Metabolism,80,80,1,no,not related,recovered,none
C2,Headache,Nervous system,5,6,,no,unknown,recovered,none
C3,Basal cell carcinoma,Neoplasms,100,130,2,yes,not related,recovered,none
C3,Benign neoplasm of skin,Neoplasms,100,130,1,no,not related,recovered,none
C4,Nausea,Gastrointestinal,3,4,,no,not related,recovered,none
"""


@pytest.fixture(scope="module")
def cohort():
    result = load_bytes(COHORT.encode(), "cohort.csv")
    assert result.dataset is not None, result.report.as_text()
    return result.dataset


@pytest.fixture(scope="module")
def tables(cohort):
    ae = read_adverse_events(EVENTS.encode(), "ae.csv", patients=cohort.patients)
    assert ae.table is not None, ae.report.as_text()
    return safety_tables(cohort, resolve_arms(cohort), ae.table)


def _counts(frame: pd.DataFrame, key: str) -> dict:
    return {(r[key], r["arm"]): (r["patients"], r["events"]) for _, r in frame.iterrows()}


def test_summary_counts_patients_and_events_per_arm(tables):
    assert tables.arms == ["MSC", "standard care"]
    assert tables.n_at_risk == {"MSC": 6, "standard care": 5}
    counts = _counts(tables.summary, "item")
    expected = {
        "Any adverse event": ((5, 8), (4, 7)),
        "Any serious adverse event": ((3, 3), (1, 1)),
        "Any related adverse event (cells or procedure)": ((2, 3), (0, 0)),
        "Related to the cells": ((1, 2), (0, 0)),
        "Related to the procedure": ((1, 1), (0, 0)),
        "Any severe adverse event (grade 3 or more)": ((3, 3), (0, 0)),
        "Adverse event leading to discontinuation": ((1, 1), (0, 0)),
        "Death (fatal adverse event)": ((1, 1), (0, 0)),
    }
    assert list(expected) == list(SUMMARY_ITEMS)
    for item, (msc, sc) in expected.items():
        assert counts[(item, "MSC")] == msc, item
        assert counts[(item, "standard care")] == sc, item


def test_special_interest_rules_match_by_term(tables):
    counts = _counts(tables.aesi, "aesi")
    assert counts[("Fever", "MSC")] == (1, 2)  # hay fever is excluded
    assert counts[("Injection- or administration-site reaction", "standard care")] == (1, 1)
    assert counts[("Infection", "MSC")] == (1, 1)
    assert counts[("Thromboembolic event", "MSC")] == (2, 2)  # not thrombocytopenia
    assert counts[("Malignancy", "standard care")] == (1, 1)  # not the benign neoplasm
    assert counts[("Hypoglycaemia", "standard care")] == (1, 2)
    terms = tables.aesi.drop_duplicates("aesi").set_index("aesi")["terms"]
    assert terms["Thromboembolic event"] == "Deep vein thrombosis, Myocardial infarction"


def test_maximum_severity_counts_each_patient_once(tables):
    order = list(dict.fromkeys(tables.by_severity["severity"]))
    table = tables.by_severity.pivot(index="severity", columns="arm", values="patients")
    table = table.reindex(order)
    assert list(table.index) == [
        "grade 1",
        "grade 2",
        "grade 3",
        "grade 5",
        "not recorded",
        "no adverse event",
    ]  # fmt: skip  (grade 4 is empty in both arms)
    assert table["MSC"].tolist() == [0, 2, 2, 1, 0, 1]
    assert table["standard care"].tolist() == [1, 2, 0, 0, 1, 1]


def test_body_systems_and_terms_are_sorted_by_patients(tables):
    shown = by_term_display(tables, show_small=True)
    systems = shown.loc[shown["term"] == "(all terms)", "body system"].tolist()
    # General: 3 patients; every other body system 1 patient, then alphabetical
    assert systems == [
        "General", "Blood", "Cardiac", "Gastrointestinal", "Infections", "Metabolism",
        "Neoplasms", "Nervous system", "Respiratory", "Vascular",
    ]  # fmt: skip
    general = shown.loc[(shown["body system"] == "General") & (shown["term"] != "(all terms)")]
    assert general["term"].tolist()[0] == "Injection site pain"  # ties: alphabetical
    row = shown.loc[shown["term"] == "Pyrexia"].iloc[0]
    assert row["MSC (N=6)"] == "1 (16.7%) [2]"  # patients (%) [events]


def test_exposure_adjusted_rates_match_poisson_test(tables):
    # Follow-up: MSC 201 + 4 x 182 + 30 = 959 days, standard care 5 x 182 = 910 days.
    assert tables.patient_years["MSC"] == pytest.approx(959 / 365.25)
    rates = tables.rates.set_index(["item", "arm"])
    any_msc = rates.loc[("Any adverse event", "MSC")]
    # R: poisson.test(8, 959/365.25)$conf.int * 100: 131.544546669 600.365470561
    assert any_msc["events"] == 8
    assert any_msc["rate"] == pytest.approx(800 / (959 / 365.25))
    assert (any_msc["ci_low"], any_msc["ci_high"]) == pytest.approx(
        (131.544546669, 600.365470561), rel=1e-9
    )
    any_sc = rates.loc[("Any adverse event", "standard care")]
    # R: poisson.test(7, 910/365.25)$conf.int * 100: 112.961110392 578.888151194
    assert (any_sc["ci_low"], any_sc["ci_high"]) == pytest.approx(
        (112.961110392, 578.888151194), rel=1e-9
    )
    ratio = tables.rate_ratios.set_index("item").loc["Any adverse event"]
    # R: poisson.test(c(8, 7), c(959, 910)/365.25): 1.084462982273 (0.343636981804,
    #    3.513029823323), p = 1
    assert ratio["ratio"] == pytest.approx(1.084462982273, rel=1e-9)
    assert (ratio["ci_low"], ratio["ci_high"]) == pytest.approx(
        (0.343636981804, 3.513029823323), rel=1e-9
    )
    assert ratio["p_value"] == pytest.approx(1.0)


def test_garwood_and_rate_ratio_match_r():
    # R: poisson.test(7, 2.5)$conf.int: 1.12574522061 5.76907014468
    assert garwood(7, 2.5) == pytest.approx((1.12574522061, 5.76907014468), rel=1e-9)
    # R: poisson.test(0, 3)$conf.int: 0 1.2296264847
    assert garwood(0, 3) == pytest.approx((0.0, 1.2296264847), rel=1e-9)
    # R: poisson.test(c(12, 3), c(80.5, 30.25)): 1.50310559006 (0.405640374594,
    #    8.300256877723), p = 0.772682522585
    ratio, low, high, p = rate_ratio(12, 80.5, 3, 30.25)
    assert (ratio, low, high, p) == pytest.approx(
        (1.50310559006, 0.405640374594, 8.300256877723, 0.772682522585), rel=1e-9
    )
    # R: poisson.test(c(2, 0), c(959, 910)/365.25): Inf (0.178213024826, Inf), p 0.500343671534
    ratio, low, high, p = rate_ratio(2, 959 / 365.25, 0, 910 / 365.25)
    assert ratio is None and high is None
    assert low == pytest.approx(0.178213024826, rel=1e-9)
    assert p == pytest.approx(0.500343671534, rel=1e-9)


def _wilson(k: int, n: int) -> tuple[float, float]:
    z = stats.norm.ppf(0.975)
    centre = (k + z * z / 2) / (n + z * z)
    half = z * math.sqrt(k * (n - k) / n + z * z / 4) / (n + z * z)
    return centre - half, centre + half


@pytest.mark.parametrize(
    ("k1", "n1", "k0", "n0", "published"),
    [
        # Newcombe 1998, Stat Med 17:873, Table II, method 10 (examples a, c, g)
        (56, 70, 48, 80, (0.0524, 0.3339)),
        (9, 10, 3, 10, (0.1705, 0.8090)),
        (5, 56, 0, 29, (-0.0381, 0.1926)),
    ],
)
def test_newcombe_matches_the_paper_and_its_formula(k1, n1, k0, n0, published):
    low, high = newcombe(k1, n1, k0, n0)
    assert (low / 100, high / 100) == pytest.approx(published, abs=5e-5)
    (l1, u1), (l0, u0) = _wilson(k1, n1), _wilson(k0, n0)
    p1, p0 = k1 / n1, k0 / n0
    assert low / 100 == pytest.approx(p1 - p0 - math.hypot(p1 - l1, u0 - p0), abs=1e-12)
    assert high / 100 == pytest.approx(p1 - p0 + math.hypot(u1 - p1, p0 - l0), abs=1e-12)


def test_risk_differences_use_patients_and_newcombe(tables):
    row = tables.differences.set_index("item").loc["Any adverse event"]
    assert (row["patients_arm"], row["n_arm"], row["patients_comparator"]) == (5, 6, 4)
    assert row["difference"] == pytest.approx(100 * (5 / 6 - 4 / 5))
    assert (row["ci_low"], row["ci_high"]) == pytest.approx(newcombe(5, 6, 4, 5))


def test_small_cells_are_suppressed_unless_shown(tables):
    hidden = summary_display(tables)
    assert set(hidden["MSC (N=6)"]) <= {"<5", "0", "5 (83.3%) [8]"}
    assert hidden.iloc[0]["MSC (N=6)"] == "5 (83.3%) [8]"
    assert hidden.iloc[1]["MSC (N=6)"] == "<5"
    difference = "MSC − standard care, % points (95% CI)"
    assert hidden.iloc[0][difference] == "suppressed (small cell)"  # standard care: 4 < 5
    shown = summary_display(tables, show_small=True)
    assert shown.iloc[1]["MSC (N=6)"] == "3 (50.0%) [3]"
    assert shown.iloc[0][difference].startswith("3.3 (")
    assert severity_display(tables).iloc[1]["MSC (N=6)"] == "<5"
    assert "<5 events" in rates_display(tables).iloc[1].tolist()
    assert aesi_display(tables, min_cell=2).iloc[0]["MSC (N=6)"] == "<2"
    assert aesi_display(tables, show_small=True).iloc[0]["MSC (N=6)"] == "1 (16.7%) [2]"
    record = suppressed_record(tables)
    standard_care_any = record["summary"][1]  # 4 patients: a small cell
    assert standard_care_any["arm"] == "standard care"
    assert standard_care_any["patients"] is None and standard_care_any["suppressed"] is True
    assert record["summary"][0]["patients"] == 5
    assert record["risk_differences"][0]["difference"] is None
    assert suppressed_record(tables, show_small=True)["summary"][1]["patients"] == 4


def test_edited_rules(cohort):
    table = rules_table()
    assert len(table) == len(AESI_RULES)
    extra = pd.DataFrame(
        [{table.columns[0]: "Headache", table.columns[1]: r"headache|migraine",
          table.columns[2]: ""},
         {table.columns[0]: "Broken", table.columns[1]: r"(unclosed", table.columns[2]: ""}]
    )  # fmt: skip
    rules, problems = rules_from_table(pd.concat([table, extra], ignore_index=True))
    assert [r.name for r in rules][-1] == "Headache"
    assert problems == ["Row 8 (Broken): '(unclosed' is not a valid regular expression."]
    ae = read_adverse_events(EVENTS.encode(), "ae.csv", patients=cohort.patients).table
    result = safety_tables(cohort, resolve_arms(cohort), ae, rules)
    headache = result.aesi.loc[result.aesi["aesi"] == "Headache"].set_index("arm")
    assert headache.loc["standard care", "patients"] == 1


def test_patient_events_and_visit_days(cohort):
    ae = read_adverse_events(EVENTS.encode(), "ae.csv", patients=cohort.patients).table
    mine = patient_events(ae, "M2")
    assert mine["term"].tolist() == ["Injection site pain", "Thrombocytopenia"]
    assert mine["special interest"].tolist() == ["Injection- or administration-site reaction", ""]
    assert patient_visit_days(cohort, "M6") == {"baseline": 0.0, "m1": 30.0}


def test_a_cohort_without_arms_has_one_column():
    cohort = load_bytes(COHORT.replace(",arm\n", ",site\n").encode(), "c.csv").dataset
    ae = read_adverse_events(EVENTS.encode(), "ae.csv", patients=cohort.patients).table
    result = safety_tables(cohort, resolve_arms(cohort), ae)
    assert result.arms == ["all patients"] and result.differences.empty
    assert _counts(result.summary, "item")[("Any adverse event", "all patients")] == (9, 15)
