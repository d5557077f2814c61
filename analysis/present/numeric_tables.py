"""Numeric versions of the result tables, for CSV and XLSX exports: numbers as numbers.

Each builder returns one row per estimate with one value per column, so a spreadsheet or
``pandas.read_csv`` gets numbers it can compute with:

- ``estimate``, ``ci_low``, ``ci_high`` (with ``ci_level``, 0.95 unless fewer pairs allow less),
  ``p_value`` (a float; the ``test`` column names the test), ``n`` (patients or values used);
- ``unit`` in its own column ('points', '%', 'percentage points', '' for statistics);
- text columns (arm, outcome, visit, test) in plain ASCII: differences are written with
  separate ``arm`` and ``comparator`` columns, never as 'MSC − standard care'.

Nothing is rounded or formatted here; ``analysis.present.tables`` keeps the readable versions.
Undefined numbers are empty (NaN), never the word 'undefined'.
"""

from __future__ import annotations

from collections.abc import Iterable

import numpy as np
import pandas as pd

from analysis.instruments import Instrument, lookup
from analysis.stats.arms import ArmComparison, ArmResponders
from analysis.stats.compare import Comparison
from analysis.stats.longitudinal import OutcomeModel
from analysis.stats.paired import CONF_LEVEL, PairedResult
from analysis.stats.responders import ResponderAnalysis

MINUS = "\u2212"
# Columns that always hold numbers (floats; counts as nullable integers) in every builder.
FLOAT_COLUMNS = (
    "estimate", "ci_low", "ci_high", "ci_level", "p_value", "se", "df", "t",
    "mean_before", "mean_after", "p_value_t", "wilcoxon_v", "p_value_wilcoxon",
    "hodges_lehmann", "hl_ci_low", "hl_ci_high", "hl_ci_level", "pct_improved",
    "pct_improved_mcid",
)  # fmt: skip
COUNT_COLUMNS = (
    "n", "n_arm", "n_comparator", "responders", "responders_arm", "responders_comparator",
    "wilcoxon_n_zero", "n_improved", "n_worsened", "n_improved_mcid",
)  # fmt: skip
TEXT_COLUMNS = (
    "arm", "comparator", "outcome", "label", "visit", "before", "after", "statistic",
    "description", "test", "unit", "threshold", "population", "ci_method", "wilcoxon_method",
    "direction", "effect", "response", "covariance", "df_method", "term",
)  # fmt: skip
PAIRED_COLUMNS = [
    "outcome", "before", "after", "statistic", "description", "estimate", "ci_low", "ci_high",
    "ci_level", "p_value", "test", "n", "unit",
]  # fmt: skip
BETWEEN_COLUMNS = [
    "outcome", "before", "after", "arm", "comparator", "effect", "estimate", "ci_low", "ci_high",
    "ci_level", "p_value", "test", "df", "n_arm", "n_comparator", "n", "unit",
]  # fmt: skip
RATE_COLUMNS = [
    "outcome", "visit", "threshold", "population", "responders", "n", "estimate", "ci_low",
    "ci_high", "ci_level", "ci_method", "p_value", "test", "unit",
]  # fmt: skip
RATE_BETWEEN_COLUMNS = [
    "outcome", "visit", "threshold", "arm", "comparator", "responders_arm", "n_arm",
    "responders_comparator", "n_comparator", "n", "estimate", "ci_low", "ci_high", "ci_level",
    "ci_method", "p_value", "test", "unit",
]  # fmt: skip
SUMMARY_COLUMNS = [
    "outcome", "label", "visit", "n", "mean_before", "mean_after", "estimate", "ci_low",
    "ci_high", "ci_level", "p_value", "test", "p_value_t", "wilcoxon_v", "p_value_wilcoxon",
    "wilcoxon_method", "wilcoxon_n_zero", "hodges_lehmann", "hl_ci_low", "hl_ci_high",
    "hl_ci_level", "n_improved", "n_worsened", "pct_improved", "n_improved_mcid",
    "pct_improved_mcid", "direction", "unit",
]  # fmt: skip
SUMMARY_BETWEEN_COLUMNS = [
    "outcome", "label", "visit", "arm", "comparator", "n_arm", "n_comparator", "n", "estimate",
    "ci_low", "ci_high", "ci_level", "p_value", "test", "df", "unit",
]  # fmt: skip

PAIRED_T = "paired t-test"
WELCH = "Welch t-test"
ANCOVA = "ANCOVA (adjusted for the first visit's value)"
CLOPPER_PEARSON = "Clopper-Pearson exact"
NEWCOMBE = "Newcombe hybrid score (method 10)"


def _unit(instrument: Instrument) -> str:
    return instrument.unit or ""


def ascii_text(value: object) -> object:
    """Text with the typographic minus as ASCII '-'; other values unchanged."""
    return value.replace(MINUS, "-") if isinstance(value, str) else value


def _text(value: object) -> str:
    if value is None or (isinstance(value, float) and np.isnan(value)) or value is pd.NA:
        return ""
    return str(ascii_text(value))


def finish(frame: pd.DataFrame, columns: Iterable[str] | None = None) -> pd.DataFrame:
    """Columns in order, numbers as float64 (counts as nullable Int64), text as ASCII text."""
    if columns is not None:
        frame = frame.reindex(columns=list(columns))
    out = frame.copy()
    for column in out.columns:
        name = str(column)
        values = out[column]
        if name in COUNT_COLUMNS:
            numbers = pd.to_numeric(values, errors="coerce").astype("float64")
            out[column] = numbers.round().astype("Int64")
        elif name in FLOAT_COLUMNS or (
            name not in TEXT_COLUMNS and pd.api.types.is_float_dtype(values)
        ):
            out[column] = pd.to_numeric(values, errors="coerce").astype("float64")
        elif name in TEXT_COLUMNS or not (
            pd.api.types.is_bool_dtype(values) or pd.api.types.is_numeric_dtype(values)
        ):
            out[column] = pd.Series([_text(v) for v in values], index=out.index, dtype=object)
    return out.reset_index(drop=True)


def _with_arm(frame: pd.DataFrame, arm: str | None) -> pd.DataFrame:
    if arm:
        frame.insert(0, "arm", arm)
    return frame


# -- paired statistics (Compare visits) -------------------------------------------------------


def paired_numeric(comparison: Comparison, arm: str | None = None) -> pd.DataFrame:
    """Every statistic of a before/after comparison, one row each (``statistic`` is the field
    name of ``PairedResult``; ``description`` says what it is)."""
    s: PairedResult = comparison.stats
    b, a = comparison.before, comparison.after
    unit = _unit(comparison.instrument)
    n = s.n_pairs
    rank_n = s.wilcoxon_n
    rows: list[dict[str, object]] = []

    def add(statistic: str, description: str, estimate=None, **values: object) -> None:
        row: dict[str, object] = {
            "statistic": statistic, "description": description, "estimate": estimate,
            "n": n, "unit": unit, "test": "",
        }  # fmt: skip
        row.update(values)
        rows.append(row)

    add("n_excluded", f"patients without a value at both {b} and {a}", comparison.n_excluded,
        unit="patients")  # fmt: skip
    for when, label in (("before", b), ("after", a)):
        add(f"mean_{when}", f"mean at {label}", getattr(s, f"mean_{when}"))
        add(f"sd_{when}", f"SD at {label}", getattr(s, f"sd_{when}"))
        add(f"median_{when}", f"median at {label}", getattr(s, f"median_{when}"))
        add(f"q1_{when}", f"first quartile at {label}", getattr(s, f"q1_{when}"))
        add(f"q3_{when}", f"third quartile at {label}", getattr(s, f"q3_{when}"))
    add(
        "mean_change", f"mean change, {a} minus {b}, with the t-based interval", s.mean_change,
        ci_low=s.change_ci_low, ci_high=s.change_ci_high,
        ci_level=CONF_LEVEL if s.change_ci_low is not None else None,
        p_value=s.p_value_t, test=PAIRED_T,
    )  # fmt: skip
    add("sd_change", "SD of the changes", s.sd_change)
    add("median_change", "median change", s.median_change)
    add("t_statistic", "paired t statistic", s.t_statistic, p_value=s.p_value_t, test=PAIRED_T,
        unit="")  # fmt: skip
    add("df", "degrees of freedom of the paired t-test", s.df, unit="")
    wilcoxon = f"Wilcoxon signed-rank test ({s.wilcoxon_method})" if s.wilcoxon_method else ""
    add("wilcoxon_v", "Wilcoxon signed-rank statistic V (zero changes left out, as R)",
        s.wilcoxon_v, p_value=s.p_value_wilcoxon, test=wilcoxon, n=rank_n, unit="")  # fmt: skip
    add("wilcoxon_n_zero", "zero changes left out of the rank test", s.wilcoxon_n_zero,
        unit="patients")  # fmt: skip
    add(
        "hodges_lehmann", "Hodges-Lehmann estimate of the change, with its interval",
        s.hodges_lehmann, ci_low=s.hl_ci_low, ci_high=s.hl_ci_high, ci_level=s.hl_ci_level,
        p_value=s.p_value_wilcoxon, test=wilcoxon, n=rank_n,
    )  # fmt: skip
    add("shapiro_w", "Shapiro-Wilk W on the changes", s.shapiro_w, p_value=s.shapiro_p,
        test="Shapiro-Wilk" if s.shapiro_w is not None else "", unit="")  # fmt: skip
    add("cohens_dz", "Cohen's d_z: mean change / SD of the changes", s.cohens_dz, unit="")
    add("pre_post_r", "Pearson correlation of the two visits' values", s.pre_post_r, unit="")
    if s.direction is None:
        add("n_increased", "patients whose value increased", s.n_increased, unit="patients")
        add("n_unchanged", "patients whose value did not change", s.n_unchanged,
            unit="patients")  # fmt: skip
        add("n_decreased", "patients whose value decreased", s.n_decreased, unit="patients")
    else:
        better = comparison.instrument.direction_text()
        add("n_improved", f"patients who improved ({better})", s.n_improved, unit="patients")
        add("n_unchanged", "patients whose value did not change", s.n_unchanged,
            unit="patients")  # fmt: skip
        add("n_worsened", "patients who worsened", s.n_worsened, unit="patients")
        add("pct_improved", "percent of patients who improved", s.pct_improved, unit="%")
        add("pct_worsened", "percent of patients who worsened", s.pct_worsened, unit="%")
        if s.mcid is not None:
            add("mcid", "clinically important difference", s.mcid)
            add("n_improved_mcid", "patients who improved by at least it", s.n_improved_mcid,
                unit="patients")  # fmt: skip
            add("n_worsened_mcid", "patients who worsened by at least it", s.n_worsened_mcid,
                unit="patients")  # fmt: skip
            add("pct_improved_mcid", "percent who improved by at least it", s.pct_improved_mcid,
                unit="%")  # fmt: skip
    add(
        "primary_test", f"primary test chosen from the scale: {s.recommended_reason}".strip(),
        None, p_value=s.p_value_recommended, test=s.recommended_test or "", unit="",
    )  # fmt: skip
    frame = pd.DataFrame(rows)
    frame["outcome"], frame["before"], frame["after"] = comparison.outcome, b, a
    return finish(_with_arm(finish(frame, PAIRED_COLUMNS), arm))


def per_arm_numeric(by_arm: ArmComparison) -> pd.DataFrame:
    """paired_numeric for every arm (an ``arm`` column first), treated arms first."""
    frames = [paired_numeric(c, arm) for arm, c in by_arm.per_arm.items()]
    return finish(pd.concat(frames, ignore_index=True))


def between_arms_numeric(by_arm: ArmComparison) -> pd.DataFrame:
    """Each treated arm minus the comparator: difference in mean change (Welch) and the
    difference adjusted for the first visit's value (ANCOVA), one row each."""
    first = next(iter(by_arm.per_arm.values()))
    unit = _unit(first.instrument)
    rows = []
    for b in by_arm.between.to_dict("records"):
        common = {
            "outcome": first.outcome, "before": first.before, "after": first.after,
            "arm": b["arm"], "comparator": b["comparator"], "n_arm": b["n_arm"],
            "n_comparator": b["n_comparator"], "n": b["n_arm"] + b["n_comparator"], "unit": unit,
        }  # fmt: skip
        rows.append(
            common | {
                "effect": "difference in mean change", "estimate": b.get("difference"),
                "ci_low": b.get("ci_low"), "ci_high": b.get("ci_high"), "ci_level": CONF_LEVEL,
                "p_value": b.get("p_value"), "test": WELCH, "df": b.get("df"),
            }
        )  # fmt: skip
        if b.get("adjusted_difference") is not None and pd.notna(b.get("adjusted_difference")):
            rows.append(
                common | {
                    "effect": "difference in mean change adjusted for baseline",
                    "estimate": b["adjusted_difference"], "ci_low": b.get("adjusted_ci_low"),
                    "ci_high": b.get("adjusted_ci_high"), "ci_level": CONF_LEVEL,
                    "p_value": b.get("adjusted_p_value"), "test": ANCOVA,
                }
            )  # fmt: skip
    return finish(pd.DataFrame(rows), BETWEEN_COLUMNS)


# -- responders ---------------------------------------------------------------------------------


def responder_rates_numeric(analysis: ResponderAnalysis, arm: str | None = None) -> pd.DataFrame:
    """Responder rates per threshold, two rows each: completers, and everyone with a baseline
    value (missing follow-up = non-responder). Rates in percent with exact 95% intervals."""
    rows = []
    for r in analysis.rates.to_dict("records"):
        for population, suffix, n in (
            ("completers", "completers", r["n_completers"]),
            ("everyone with a baseline value, missing = non-responder", "itt", r["n_itt"]),
        ):
            rows.append({
                "outcome": analysis.outcome, "visit": analysis.visit,
                "threshold": r["threshold"], "population": population,
                "responders": r["responders"], "n": n, "estimate": r[f"rate_{suffix}"],
                "ci_low": r[f"ci_low_{suffix}"], "ci_high": r[f"ci_high_{suffix}"],
                "ci_level": CONF_LEVEL, "ci_method": CLOPPER_PEARSON, "p_value": None,
                "test": "", "unit": "%",
            })  # fmt: skip
    return finish(_with_arm(finish(pd.DataFrame(rows), RATE_COLUMNS), arm))


def arm_responder_rates_numeric(by_arm: ArmResponders) -> pd.DataFrame:
    """responder_rates_numeric for every arm (an ``arm`` column first)."""
    frames = [responder_rates_numeric(a, arm) for arm, a in by_arm.per_arm.items()]
    return finish(pd.concat(frames, ignore_index=True))


def responders_between_numeric(by_arm: ArmResponders) -> pd.DataFrame:
    """Difference in responder rates (completers), each treated arm minus the comparator, in
    percentage points with Newcombe's 95% interval."""
    first = next(iter(by_arm.per_arm.values()))
    frame = by_arm.between.copy()
    if frame.empty:
        return finish(pd.DataFrame(), RATE_BETWEEN_COLUMNS)
    frame = frame.rename(columns={"difference": "estimate"})
    frame["outcome"], frame["visit"] = first.outcome, first.visit
    frame["n"] = frame["n_arm"] + frame["n_comparator"]
    frame["ci_level"], frame["ci_method"] = CONF_LEVEL, NEWCOMBE
    frame["p_value"], frame["test"], frame["unit"] = np.nan, "", "percentage points"
    return finish(frame, RATE_BETWEEN_COLUMNS)


# -- the whole-cohort summary (Overview) -------------------------------------------------------


def summary_numeric(summary: pd.DataFrame) -> pd.DataFrame:
    """``cohort_summary`` (or ``summary_by_arm``'s first frame, with its ``arm`` column) in the
    export schema: ``estimate`` is the mean change with its t interval, ``p_value`` the
    primary test's, named in ``test``."""
    frame = summary.rename(
        columns={
            "n_pairs": "n", "mean_change": "estimate", "change_ci_low": "ci_low",
            "change_ci_high": "ci_high", "p_value_recommended": "p_value",
            "recommended_test": "test",
        }
    )  # fmt: skip
    frame["ci_level"] = np.where(pd.notna(frame.get("ci_low")), CONF_LEVEL, np.nan)
    frame["unit"] = [_unit(lookup(o)) for o in frame["outcome"]]
    columns = (["arm"] if "arm" in frame else []) + SUMMARY_COLUMNS
    return finish(frame, columns)


def summary_between_numeric(between: pd.DataFrame) -> pd.DataFrame:
    """``summary_by_arm``'s second frame: each treated arm minus the comparator, difference in
    mean change per outcome and visit with Welch's interval from the arms' summaries."""
    if between.empty:
        return finish(pd.DataFrame(), SUMMARY_BETWEEN_COLUMNS)
    frame = between.rename(columns={"difference": "estimate"})
    frame["n"] = frame["n_arm"] + frame["n_comparator"]
    frame["ci_level"] = np.where(pd.notna(frame["ci_low"]), CONF_LEVEL, np.nan)
    frame["test"] = WELCH
    frame["unit"] = [_unit(lookup(o)) for o in frame["outcome"]]
    return finish(frame, SUMMARY_BETWEEN_COLUMNS)


# -- the mixed model (Over time) ---------------------------------------------------------------


def _model_common(model: OutcomeModel) -> dict[str, object]:
    inst = lookup(model.spec.outcome)
    result = model.result
    return {
        "outcome": model.spec.outcome,
        "response": "change from baseline" if model.spec.response == "change" else "value",
        "covariance": result.covariance_structure,
        "df_method": result.df_method,
        "unit": _unit(inst),
    }


def _test_name(model: OutcomeModel) -> str:
    return f"t-test, {model.result.df_method.replace('-', ' ').title()} df"


def mmrm_lsmeans_numeric(model: OutcomeModel) -> pd.DataFrame:
    """Least-squares means per arm and visit with their 95% intervals and the values used."""
    frame = model.result.lsmeans.copy()
    frame["visit"] = frame["visit"].astype(str)
    counts = model.counts.copy()
    counts["visit"] = counts["visit"].astype(str)
    if "arm" in frame:
        frame["arm"] = frame["arm"].astype(str)
        counts["arm"] = counts["arm"].astype(str)
        frame = frame.merge(counts, on=["arm", "visit"], how="left")
    else:
        frame = frame.merge(counts.drop(columns="arm"), on="visit", how="left")
    frame["ci_level"] = CONF_LEVEL
    for key, value in _model_common(model).items():
        frame[key] = value
    columns = ["outcome", "response"] + (["arm"] if "arm" in frame else [])
    columns += ["visit", "estimate", "se", "df", "ci_low", "ci_high", "ci_level", "n", "unit",
                "covariance", "df_method"]  # fmt: skip
    return finish(frame, columns)


def mmrm_contrasts_numeric(model: OutcomeModel) -> pd.DataFrame:
    """Each arm minus the comparator at every visit: the model's effect estimates."""
    columns = [
        "outcome", "response", "visit", "arm", "comparator", "estimate", "se", "df", "t",
        "ci_low", "ci_high", "ci_level", "p_value", "test", "unit", "covariance", "df_method",
    ]  # fmt: skip
    frame = model.result.contrasts.copy()
    if frame.empty:
        return finish(pd.DataFrame(), columns)
    frame = frame.rename(columns={"p": "p_value"})
    for column in ("visit", "arm", "comparator"):
        frame[column] = frame[column].astype(str)
    frame["ci_level"], frame["test"] = CONF_LEVEL, _test_name(model)
    for key, value in _model_common(model).items():
        frame[key] = value
    return finish(frame, columns)


def mmrm_coefficients_numeric(model: OutcomeModel) -> pd.DataFrame:
    """The model's fixed-effect coefficients with their t tests and 95% intervals."""
    frame = model.result.coefficients.rename(columns={"name": "term", "p": "p_value"}).copy()
    frame["ci_level"], frame["test"] = CONF_LEVEL, _test_name(model)
    for key, value in _model_common(model).items():
        frame[key] = value
    columns = [
        "outcome", "response", "term", "estimate", "se", "df", "t", "ci_low", "ci_high",
        "ci_level", "p_value", "test", "unit", "covariance", "df_method",
    ]  # fmt: skip
    return finish(frame, columns)
