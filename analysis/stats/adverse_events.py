"""Adverse-event counts per arm: numbers only (analysis.present.safety_tables formats them).

- **Safety population**: every patient of the cohort (with an arm, when there are arms); the
  number at risk of each arm is its patient count. Follow-up of a patient runs from day 0 to
  the last day known (last visit with any value, its recorded day or else the time its label
  names, or a later adverse-event day).
- **Summary**: patients with any AE, any serious AE, any AE related to the cells or to the
  procedure, any grade ≥ 3 (severe) AE, AEs leading to discontinuation, deaths; patients and
  events per arm, as the ISSCR Guidelines (2021, recommendation 3.4.3.2) ask.
- **By body system and term** (sorted by the number of patients), **by maximum severity**
  (each patient counted once, at the worst severity recorded).
- **Adverse events of special interest** for cell therapy (``AESI_RULES``, from the registry's
  ``analysis.instruments.AESI_DEFINITIONS``): matched by term with regular expressions that
  are shown and can be edited.
- **Exposure-adjusted event rates**: events per 100 patient-years of follow-up with exact
  Poisson CIs (Garwood 1936; R: poisson.test(k, T)), and the rate ratio of each treated arm
  to the comparator with its exact conditional CI (R: poisson.test(c(k1, k0), c(T1, T0))).
- **Risk difference** (treated minus comparator, patients with the event) with Newcombe's
  hybrid score interval (Newcombe 1998, method 10; statsmodels
  confint_proportions_2indep(method="newcomb")).
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass

import pandas as pd
from scipy import stats

from analysis.ingest.adverse_events import RELATED_LEVELS, AdverseEvents
from analysis.ingest.dataset import Dataset
from analysis.ingest.visits import nominal_day
from analysis.instruments import AESI_DEFINITIONS
from analysis.stats.arms import ArmDesign

ALL = "all patients"
DAYS_PER_YEAR = 365.25
ANY_AE = "Any adverse event"
SUMMARY_ITEMS = (
    ANY_AE,
    "Any serious adverse event",
    "Any related adverse event (cells or procedure)",
    "Related to the cells",
    "Related to the procedure",
    "Any severe adverse event (grade 3 or more)",
    "Adverse event leading to discontinuation",
    "Death (fatal adverse event)",
)


@dataclass(frozen=True)
class AesiRule:
    """An adverse event of special interest: terms matching ``pattern`` and not ``exclude``
    (regular expressions, case-insensitive)."""

    name: str
    pattern: str
    exclude: str = ""
    why: str = ""

    def matches(self, terms: pd.Series) -> pd.Series:
        """True for each term this rule matches."""
        pattern = re.compile(self.pattern, re.IGNORECASE)
        exclude = re.compile(self.exclude, re.IGNORECASE) if self.exclude else None
        return (
            terms.astype(str)
            .map(lambda t: bool(pattern.search(t)) and not (exclude and exclude.search(t)))
            .astype(bool)
        )


# The rules of the project's registry (analysis.instruments, AESI_DEFINITIONS), as matchers.
AESI_RULES: tuple[AesiRule, ...] = tuple(
    AesiRule(d.name, d.pattern, d.exclude, d.why) for d in AESI_DEFINITIONS
)
RULE_COLUMNS = {
    "name": "event of special interest",
    "pattern": "matches (regular expression)",
    "exclude": "except (regular expression)",
}


def rules_table(rules: Sequence[AesiRule] = AESI_RULES) -> pd.DataFrame:
    """The rules as an editable table (name, pattern, exception)."""
    return pd.DataFrame(
        [{RULE_COLUMNS["name"]: r.name, RULE_COLUMNS["pattern"]: r.pattern,
          RULE_COLUMNS["exclude"]: r.exclude} for r in rules]
    )  # fmt: skip


def rules_from_table(frame: pd.DataFrame) -> tuple[list[AesiRule], list[str]]:
    """Rules from an edited table, and a message for each row that cannot be used."""
    rules, problems = [], []
    why = {r.name: r.why for r in AESI_RULES}
    for i, row in enumerate(frame.to_dict("records"), start=1):
        name = str(row.get(RULE_COLUMNS["name"]) or "").strip()
        pattern = str(row.get(RULE_COLUMNS["pattern"]) or "").strip()
        exclude = str(row.get(RULE_COLUMNS["exclude"]) or "").strip()
        if not name and not pattern:
            continue
        if not name or not pattern:
            problems.append(f"Row {i}: give both a name and a pattern.")
            continue
        bad = [p for p in (pattern, exclude) if p and not _compiles(p)]
        if bad:
            problems.append(f"Row {i} ({name}): {bad[0]!r} is not a valid regular expression.")
            continue
        rules.append(AesiRule(name, pattern, exclude, why.get(name, "")))
    return rules, problems


def _compiles(pattern: str) -> bool:
    try:
        re.compile(pattern)
    except re.error:
        return False
    return True


def safety_population(dataset: Dataset, design: ArmDesign, ae: AdverseEvents) -> pd.DataFrame:
    """patient_id, arm and follow-up days of every patient of the cohort (the number at risk),
    patients without an arm left out when there are arms."""
    long = dataset.long
    day = pd.to_numeric(long["day"], errors="coerce").astype(float)
    nominal = {v: nominal_day(v) for v in dataset.visits}
    named = long["visit"].astype(str).map(lambda v: nominal.get(v)).astype(float)
    when = day.where(day.notna(), named)
    last_visit = when.groupby(long["patient_id"].astype(str).to_numpy(), observed=True).max()
    ids = [str(p) for p in dataset.patients]
    population = pd.DataFrame({"patient_id": ids})
    population["last_visit_day"] = population["patient_id"].map(last_visit).astype(float)
    events = ae.events
    ae_last = (
        pd.concat([events["start_day"], events["end_day"]])
        .groupby(pd.concat([events["patient_id"], events["patient_id"]]).to_numpy(), observed=True)
        .max()
        if len(events)
        else pd.Series(dtype=float)
    )
    population["last_ae_day"] = population["patient_id"].map(ae_last).astype(float)
    population["follow_up_days"] = (
        population[["last_visit_day", "last_ae_day"]].max(axis=1).fillna(0.0).clip(lower=0.0)
    )
    if design.has_arms:
        assert design.attribute is not None
        arms = dataset.attributes[design.attribute].astype(object)
        arms.index = arms.index.astype(str)
        population.insert(1, "arm", population["patient_id"].map(arms))
        population = population.loc[population["arm"].notna()]
        population["arm"] = population["arm"].astype(str)
    else:
        population.insert(1, "arm", ALL)
    return population.reset_index(drop=True)


@dataclass
class SafetyTables:
    """Every AE table of one cohort, as numbers (tidy: one row per item and arm)."""

    arms: list[str]  # treated arms first, then the comparator (or [ALL])
    comparator: str | None
    n_at_risk: dict[str, int]
    patient_years: dict[str, float]
    summary: pd.DataFrame  # item, arm, patients, n, events
    by_term: pd.DataFrame  # category, term, arm, patients, n, events (level: category/term)
    by_severity: pd.DataFrame  # severity, arm, patients, n
    aesi: pd.DataFrame  # aesi, arm, patients, n, events, terms
    rates: pd.DataFrame  # item, arm, events, patient_years, rate, ci_low, ci_high (per 100 PY)
    rate_ratios: pd.DataFrame  # item, arm, comparator, ratio, ci_low, ci_high, p_value
    differences: pd.DataFrame  # item, arm, comparator, risk_arm, risk_comparator, difference,
    # ci_low, ci_high (percentage points)
    events: pd.DataFrame  # the events analysed, with the arm and matched AESI
    rules: list[AesiRule]
    scale: str
    n_events_outside: int  # events of patients outside the cohort (filtered out) or armless

    def to_dict(self) -> dict:
        """JSON-ready record of every table."""
        from analysis.stats.paired import json_safe

        return json_safe(
            {
                "arms": self.arms,
                "comparator": self.comparator,
                "patients_at_risk": self.n_at_risk,
                "patient_years": self.patient_years,
                "summary": self.summary.to_dict("records"),
                "by_term": self.by_term.to_dict("records"),
                "by_maximum_severity": self.by_severity.to_dict("records"),
                "special_interest": self.aesi.to_dict("records"),
                "rates_per_100_patient_years": self.rates.to_dict("records"),
                "rate_ratios": self.rate_ratios.to_dict("records"),
                "risk_differences": self.differences.to_dict("records"),
                "aesi_rules": [
                    {"name": r.name, "pattern": r.pattern, "exclude": r.exclude} for r in self.rules
                ],
                "severity_scale": self.scale,
                "events_outside_cohort": self.n_events_outside,
            }
        )


def garwood(k: int, exposure: float, level: float = 0.95) -> tuple[float, float]:
    """Exact Poisson CI for a rate of k events in ``exposure`` (Garwood 1936; R:
    poisson.test(k, exposure)$conf.int)."""
    alpha = 1 - level
    low = 0.0 if k == 0 else float(stats.chi2.ppf(alpha / 2, 2 * k)) / 2
    high = float(stats.chi2.ppf(1 - alpha / 2, 2 * k + 2)) / 2
    return low / exposure, high / exposure


def rate_ratio(
    k1: int, t1: float, k0: int, t0: float, level: float = 0.95
) -> tuple[float | None, float | None, float | None, float | None]:
    """(ratio, low, high, p) of two Poisson rates, exact conditional on k1 + k0 (R:
    poisson.test(c(k1, k0), c(t1, t0))); None where undefined."""
    n = k1 + k0
    if n == 0 or t1 <= 0 or t0 <= 0:
        return None, None, None, None
    test = stats.binomtest(k1, n, t1 / (t1 + t0))
    ci = test.proportion_ci(confidence_level=level, method="exact")
    scale = t0 / t1
    ratio = None if k0 == 0 else (k1 / t1) / (k0 / t0)
    low = ci.low / (1 - ci.low) * scale if ci.low < 1 else None
    high = ci.high / (1 - ci.high) * scale if ci.high < 1 else None
    return ratio, low, high, float(test.pvalue)


def newcombe(k1: int, n1: int, k0: int, n0: int) -> tuple[float | None, float | None]:
    """Newcombe's hybrid score CI for p1 − p0, in percentage points (Newcombe 1998, method
    10; statsmodels confint_proportions_2indep(method="newcomb"))."""
    if n1 == 0 or n0 == 0:
        return None, None
    from statsmodels.stats.proportion import confint_proportions_2indep

    low, high = confint_proportions_2indep(k1, n1, k0, n0, method="newcomb", compare="diff")
    return 100 * float(low), 100 * float(high)


def _flags(events: pd.DataFrame) -> dict[str, pd.Series]:
    """Each summary item as a mask over the events."""
    related = events["related"].isin(RELATED_LEVELS)
    return {
        SUMMARY_ITEMS[0]: pd.Series(True, index=events.index),
        SUMMARY_ITEMS[1]: events["serious"].fillna(False).astype(bool),
        SUMMARY_ITEMS[2]: related,
        SUMMARY_ITEMS[3]: events["related"].isin(["cells", "cells and procedure"]),
        SUMMARY_ITEMS[4]: events["related"].isin(["procedure", "cells and procedure"]),
        SUMMARY_ITEMS[5]: events["severity_level"] >= 3,
        SUMMARY_ITEMS[6]: events["discontinued"].astype(bool),
        SUMMARY_ITEMS[7]: events["death"].astype(bool),
    }


def _count(
    events: pd.DataFrame, mask: pd.Series, arms: list[str], n_at_risk: dict[str, int]
) -> list[dict]:
    chosen = events.loc[mask.to_numpy(dtype=bool)]
    rows = []
    for arm in arms:
        mine = chosen.loc[chosen["arm"] == arm]
        rows.append(
            {"arm": arm, "patients": int(mine["patient_id"].nunique()), "n": n_at_risk[arm],
             "events": len(mine)}
        )  # fmt: skip
    return rows


def safety_tables(
    dataset: Dataset,
    design: ArmDesign,
    ae: AdverseEvents,
    rules: Sequence[AesiRule] = AESI_RULES,
) -> SafetyTables:
    """Every AE table per arm for the cohort in ``dataset`` (its cohort filter applies)."""
    population = safety_population(dataset, design, ae)
    arms = list(design.levels) if design.has_arms else [ALL]
    comparator = design.comparator if design.has_arms else None
    n_at_risk = {arm: int((population["arm"] == arm).sum()) for arm in arms}
    years = population.groupby("arm", observed=True)["follow_up_days"].sum() / DAYS_PER_YEAR
    patient_years = {arm: float(years.get(arm, 0.0)) for arm in arms}
    arm_of = population.set_index("patient_id")["arm"]
    events = ae.events.copy()
    events["arm"] = events["patient_id"].map(arm_of)
    outside = int(events["arm"].isna().sum())
    events = events.loc[events["arm"].notna()].reset_index(drop=True)
    rules = list(rules)
    for rule in rules:
        events[f"aesi: {rule.name}"] = rule.matches(events["term"])

    summary = []
    flags = _flags(events)
    for item, mask in flags.items():
        summary += [{"item": item, **row} for row in _count(events, mask, arms, n_at_risk)]
    aesi = []
    for rule in rules:
        mask = events[f"aesi: {rule.name}"]
        terms = ", ".join(sorted(set(events.loc[mask, "term"]), key=str.casefold))
        aesi += [
            {"aesi": rule.name, **row, "terms": terms}
            for row in _count(events, mask, arms, n_at_risk)
        ]
    summary_frame = pd.DataFrame(summary, columns=["item", "arm", "patients", "n", "events"])
    aesi_frame = pd.DataFrame(aesi, columns=["aesi", "arm", "patients", "n", "events", "terms"])

    rate_items = {
        ANY_AE: flags[ANY_AE], SUMMARY_ITEMS[1]: flags[SUMMARY_ITEMS[1]],
        SUMMARY_ITEMS[2]: flags[SUMMARY_ITEMS[2]],
        **{rule.name: events[f"aesi: {rule.name}"] for rule in rules},
    }  # fmt: skip
    rates, ratios = [], []
    for item, mask in rate_items.items():
        counts = {arm: int((mask & (events["arm"] == arm)).sum()) for arm in arms}
        for arm in arms:
            exposure = patient_years[arm]
            low, high = garwood(counts[arm], exposure) if exposure > 0 else (None, None)
            rates.append(
                {"item": item, "arm": arm, "events": counts[arm], "patient_years": exposure,
                 "rate": 100 * counts[arm] / exposure if exposure > 0 else None,
                 "ci_low": None if low is None else 100 * low,
                 "ci_high": None if high is None else 100 * high}
            )  # fmt: skip
        if comparator is not None:
            for arm in design.treated:
                ratio, low, high, p = rate_ratio(
                    counts[arm], patient_years[arm], counts[comparator], patient_years[comparator]
                )
                ratios.append(
                    {"item": item, "arm": arm, "comparator": comparator, "ratio": ratio,
                     "ci_low": low, "ci_high": high, "p_value": p}
                )  # fmt: skip

    differences = []
    if comparator is not None:
        keyed = pd.concat(
            [summary_frame.rename(columns={"item": "key"}),
             aesi_frame.rename(columns={"aesi": "key"}).drop(columns="terms")]
        ).set_index(["key", "arm"])  # fmt: skip
        for key in [*flags, *(rule.name for rule in rules)]:
            k0, n0 = (int(keyed.loc[(key, comparator), c]) for c in ("patients", "n"))
            for arm in design.treated:
                k1, n1 = (int(keyed.loc[(key, arm), c]) for c in ("patients", "n"))
                low, high = newcombe(k1, n1, k0, n0)
                differences.append(
                    {"item": key, "arm": arm, "comparator": comparator,
                     "patients_arm": k1, "n_arm": n1, "patients_comparator": k0,
                     "n_comparator": n0,
                     "risk_arm": 100 * k1 / n1 if n1 else None,
                     "risk_comparator": 100 * k0 / n0 if n0 else None,
                     "difference": 100 * (k1 / n1 - k0 / n0) if n1 and n0 else None,
                     "ci_low": low, "ci_high": high}
                )  # fmt: skip

    return SafetyTables(
        arms=arms,
        comparator=comparator,
        n_at_risk=n_at_risk,
        patient_years=patient_years,
        summary=summary_frame,
        by_term=_by_term(events, arms, n_at_risk),
        by_severity=_by_severity(events, population, arms, n_at_risk, ae.scale),
        aesi=aesi_frame,
        rates=pd.DataFrame(rates),
        rate_ratios=pd.DataFrame(
            ratios, columns=["item", "arm", "comparator", "ratio", "ci_low", "ci_high", "p_value"]
        ),
        differences=pd.DataFrame(differences),
        events=events,
        rules=rules,
        scale=ae.scale,
        n_events_outside=outside,
    )


def _by_term(events: pd.DataFrame, arms: list[str], n_at_risk: dict[str, int]) -> pd.DataFrame:
    """Patients and events per body system and term, body systems and terms in order of the
    number of patients (all arms together), then alphabetically."""
    columns = ["level", "category", "term", "arm", "patients", "n", "events", "order"]
    if events.empty:
        return pd.DataFrame(columns=columns)
    events = events.assign(
        term_key=events["term"].str.casefold(), category_key=events["category"].str.casefold()
    )
    shown_term = events.groupby("term_key", observed=True)["term"].first()
    shown_category = events.groupby("category_key", observed=True)["category"].first()
    category_total = events.groupby("category_key", observed=True)["patient_id"].nunique()
    rows = []
    categories = sorted(category_total.index, key=lambda c: (-category_total[c], c))
    for order, category in enumerate(categories):
        mine = events.loc[events["category_key"] == category]
        for row in _count(mine, pd.Series(True, index=mine.index), arms, n_at_risk):
            rows.append({"level": "category", "category": shown_category[category],
                         "term": "", **row, "order": order})  # fmt: skip
        totals = mine.groupby("term_key", observed=True)["patient_id"].nunique()
        for term in sorted(totals.index, key=lambda t: (-totals[t], t)):
            part = mine.loc[mine["term_key"] == term]
            for row in _count(part, pd.Series(True, index=part.index), arms, n_at_risk):
                rows.append({"level": "term", "category": shown_category[category],
                             "term": shown_term[term], **row, "order": order})  # fmt: skip
    return pd.DataFrame(rows, columns=columns)


def severity_labels(scale: str) -> list[str]:
    """The rows of the maximum-severity table, mildest first."""
    if scale == "grade":
        return [f"grade {g}" for g in range(1, 6)]
    return ["mild", "moderate", "severe", "life-threatening", "fatal"]


def _by_severity(
    events: pd.DataFrame,
    population: pd.DataFrame,
    arms: list[str],
    n_at_risk: dict[str, int],
    scale: str,
) -> pd.DataFrame:
    """Each patient once, at the worst severity recorded; 'not recorded' when none of the
    patient's events has one; 'no adverse event' for the rest of the arm."""
    labels = severity_labels(scale)
    worst = events.groupby("patient_id", observed=True)["severity_level"].max()
    with_events = set(events["patient_id"])
    rows = []
    for arm in arms:
        ids = population.loc[population["arm"] == arm, "patient_id"]
        mine = worst.reindex([p for p in ids if p in with_events])
        counts = {label: int((mine == level).sum()) for level, label in enumerate(labels, 1)}
        counts["not recorded"] = int(mine.isna().sum())
        counts["no adverse event"] = int(len(ids) - len(mine))
        for label, k in counts.items():
            rows.append({"severity": label, "arm": arm, "patients": k, "n": n_at_risk[arm]})
    frame = pd.DataFrame(rows, columns=["severity", "arm", "patients", "n"])
    present = frame.groupby("severity", sort=False, observed=True)["patients"].sum()
    keep = [s for s in present.index if present[s] > 0 or s in labels[:3]]
    return frame.loc[frame["severity"].isin(keep)].reset_index(drop=True)


def patient_events(ae: AdverseEvents, patient_id: str) -> pd.DataFrame:
    """One patient's events in order of onset, with the AESI each matches (the Patient page)."""
    mine = ae.for_patient(patient_id).copy()
    mine["special interest"] = [
        ", ".join(rule.name for rule in AESI_RULES if rule.matches(pd.Series([t])).iloc[0])
        for t in mine["term"]
    ]
    return mine.reset_index(drop=True)


def patient_visit_days(dataset: Dataset, patient_id: str) -> dict[str, float]:
    """Each of the patient's visits at its recorded day (median over outcomes), else at the
    time its label names; visits with neither are left out (the Patient page's AE timeline)."""
    long = dataset.long
    mine = long.loc[long["patient_id"].astype(str) == str(patient_id)]
    days = (
        pd.to_numeric(mine["day"], errors="coerce")
        .groupby(mine["visit"].astype(str).to_numpy(), observed=True)
        .median()
    )
    out = {}
    for visit in dataset.visits:
        if visit not in days.index:
            continue
        day = days[visit]
        day = nominal_day(visit) if pd.isna(day) else float(day)
        if day is not None:
            out[visit] = float(day)
    return out
