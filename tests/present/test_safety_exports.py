"""Safety and time-to-response exports on hand-made data: counts as integers (a suppressed
small cell empty, flagged), shares, rates and intervals as floats; a patient's AE list; the
AESI rules read from the project's registry."""

import pandas as pd
import pytest

from analysis.ingest.adverse_events import read_adverse_events
from analysis.ingest.pipeline import load_bytes
from analysis.instruments import AESI_DEFINITIONS
from analysis.present.safety_tables import (
    aesi_numeric,
    median_numeric,
    patient_events_display,
    patient_events_numeric,
    rates_numeric,
    severity_numeric,
    summary_numeric,
)
from analysis.references import REFERENCES
from analysis.stats.adverse_events import AESI_RULES, patient_events, safety_tables
from analysis.stats.arms import resolve_arms
from analysis.stats.time_to_event import time_to_event

# Four MSC and three standard-care patients, every one followed to day 182 (0.498 years).
_ARMS = {**{f"M{i}": "MSC" for i in range(1, 5)}, **{f"C{i}": "standard care" for i in range(1, 4)}}
COHORT = "patient_id,visit,day,outcome,value,arm\n" + "".join(
    f"{p},baseline,0,pain_nrs,6,{a}\n{p},m3,91,pain_nrs,{3 if p in {'M1', 'M2', 'C1'} else 6},{a}\n"
    f"{p},m6,182,pain_nrs,{2 if p != 'C3' else 6},{a}\n"
    for p, a in _ARMS.items()
)
EVENTS = """patient_id,term,category,start_day,end_day,grade,serious,related,outcome
M1,Pyrexia,General,1,2,1,no,cells,recovered
M2,Pyrexia,General,2,3,2,no,cells,recovered
M2,Headache,Nervous system,5,,1,no,not related,not recovered
M3,Cellulitis,Infections,40,60,3,yes,not related,recovered
C1,Nausea,Gastrointestinal,3,4,1,no,not related,recovered
"""


@pytest.fixture(scope="module")
def cohort():
    result = load_bytes(COHORT.encode(), "cohort.csv")
    assert result.dataset is not None, result.report.as_text()
    return result.dataset


@pytest.fixture(scope="module")
def ae(cohort):
    loaded = read_adverse_events(EVENTS.encode(), "ae.csv", patients=cohort.patients)
    assert loaded.table is not None, loaded.report.as_text()
    return loaded.table


@pytest.fixture(scope="module")
def tables(cohort, ae):
    return safety_tables(cohort, resolve_arms(cohort), ae)


def _per_arm(frame: pd.DataFrame, item: str) -> pd.DataFrame:
    """The per-arm rows of ``item`` (not the risk differences), indexed by arm."""
    rows = frame.loc[(frame["item"] == item) & frame["comparator"].eq("")]
    return rows.set_index("arm")


def test_summary_export_has_integer_counts_and_float_shares(tables):
    shown = summary_numeric(tables, show_small=True)
    assert str(shown["patients"].dtype) == "Int64" and str(shown["events"].dtype) == "Int64"
    assert shown["estimate"].dtype == "float64" and shown["ci_low"].dtype == "float64"
    any_ae = _per_arm(shown, "Any adverse event")
    assert any_ae.loc["MSC", "patients"] == 3 and any_ae.loc["MSC", "events"] == 4
    assert any_ae.loc["MSC", "n"] == 4 and any_ae.loc["MSC", "estimate"] == pytest.approx(75.0)
    assert any_ae.loc["standard care", "patients"] == 1
    difference = shown.loc[shown["statistic"].str.startswith("risk difference")
                           & (shown["item"] == "Any adverse event")].iloc[0]  # fmt: skip
    assert difference["comparator"] == "standard care"
    assert difference["estimate"] == pytest.approx(100 * (3 / 4 - 1 / 3))
    assert difference["ci_low"] < difference["estimate"] < difference["ci_high"]
    assert difference["unit"] == "percentage points"


def test_small_cells_are_empty_and_flagged_in_the_export(tables):
    hidden = summary_numeric(tables, show_small=False, min_cell=5)
    any_ae = _per_arm(hidden, "Any adverse event")
    assert any_ae.loc["MSC", "suppressed"] and pd.isna(any_ae.loc["MSC", "patients"])
    assert pd.isna(any_ae.loc["MSC", "estimate"]) and any_ae.loc["MSC", "n"] == 4
    zero = _per_arm(hidden, "Death (fatal adverse event)")
    assert zero.loc["MSC", "patients"] == 0 and not zero.loc["MSC", "suppressed"]
    assert hidden.loc[hidden["suppressed"], "ci_low"].isna().all()


def test_special_interest_severity_and_rates_exports(tables):
    aesi = aesi_numeric(tables, show_small=True)
    aesi = aesi.loc[aesi["comparator"] == ""].set_index(["item", "arm"])
    assert aesi.loc[("Fever", "MSC"), "patients"] == 2
    assert aesi.loc[("Infection", "MSC"), "events"] == 1
    severity = severity_numeric(tables, show_small=True).set_index(["item", "arm"])
    assert severity.loc[("grade 2", "MSC"), "patients"] == 1  # M2: grades 2 and 1
    assert severity.loc[("no adverse event", "MSC"), "patients"] == 1
    rates = rates_numeric(tables, show_small=True)
    row = rates.loc[(rates["item"] == "Any adverse event") & (rates["arm"] == "MSC")].iloc[0]
    years = 4 * 182 / 365.25
    assert row["events"] == 4 and row["patient_years"] == pytest.approx(years)
    assert row["estimate"] == pytest.approx(100 * 4 / years)
    # R: poisson.test(4, 4 * 182 / 365.25)$conf.int * 100: 54.6804 513.8379
    assert (row["ci_low"], row["ci_high"]) == pytest.approx((54.6804, 513.8379), rel=1e-5)
    ratio = rates.loc[rates["statistic"].str.startswith("rate ratio")
                      & (rates["item"] == "Any adverse event")].iloc[0]  # fmt: skip
    assert ratio["estimate"] == pytest.approx((4 / years) / (1 / (3 * 182 / 365.25)))
    assert 0 <= ratio["p_value"] <= 1


def test_median_export_matches_the_analysis(cohort):
    analysis = time_to_event(cohort, "pain_nrs", "30%", resolve_arms(cohort), landmarks=[])
    shown = median_numeric(analysis).set_index("arm")
    # R: t <- c(91, 91, 182, 182, 91, 182, 182); e <- c(1, 1, 1, 1, 1, 1, 0)
    # a <- c(1, 1, 1, 1, 0, 0, 0); summary(survfit(Surv(t, e) ~ a))$table: median 136.5
    # (MSC: S = 0.5 from day 91 to 182, the midpoint), 0.95LCL 91, UCL NA; standard care 182.
    assert shown.loc["MSC", "estimate"] == pytest.approx(136.5)
    assert shown.loc["MSC", "ci_low"] == pytest.approx(91.0) and pd.isna(
        shown.loc["MSC", "ci_high"]
    )
    assert shown.loc["standard care", "estimate"] == pytest.approx(182.0)
    assert shown.loc["MSC", "n"] == 4 and shown.loc["MSC", "n_events"] == 4
    assert shown.loc["standard care", "censored"] == 1
    # R: survdiff(Surv(t, e) ~ a): chisq 0.8344827586, p 0.3609794872
    assert shown["p_value"].iloc[0] == pytest.approx(0.3609794872, rel=1e-6)
    assert shown["test"].iloc[0] == "log-rank (R survdiff)"
    hidden = median_numeric(analysis, {"standard care"}).set_index("arm")
    assert hidden.loc["standard care", "suppressed"]
    assert pd.isna(hidden.loc["standard care", "estimate"])


def test_one_patients_adverse_events(ae):
    events = patient_events(ae, "M2")
    shown = patient_events_display(events, ae.scale)
    assert shown["term"].tolist() == ["Pyrexia", "Headache"]
    assert shown["end day"].tolist() == ["3", "ongoing"]
    assert shown["grade"].tolist() == ["grade 2", "grade 1"]
    assert shown["special interest"].tolist() == ["Fever", ""]
    numbers = patient_events_numeric(events)
    assert numbers["start_day"].tolist() == [2.0, 5.0] and pd.isna(numbers["end_day"].iloc[1])
    assert str(numbers["severity_level"].dtype) == "Int64"
    assert numbers["serious"].tolist() == [False, False]


def test_aesi_rules_come_from_the_registry_with_known_references():
    assert [r.name for r in AESI_RULES] == [d.name for d in AESI_DEFINITIONS]
    assert [r.pattern for r in AESI_RULES] == [d.pattern for d in AESI_DEFINITIONS]
    for definition in AESI_DEFINITIONS:
        assert all(key in REFERENCES for key in definition.references), definition.name
    fever = AESI_DEFINITIONS[0]
    assert fever.name == "Fever" and "Wang Y, Yi H, Song Y." in fever.sources()
