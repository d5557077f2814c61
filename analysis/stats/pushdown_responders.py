"""Responders per arm computed inside the database: only per-arm counts and sums leave it.

analysis.stats.arms.responders_by_arm for an EngineCohort (issue #19). One engine query pairs
each patient's follow-up value with their baseline value (a left join, so everyone with a
baseline value is in the ITT denominator) and returns, per arm, conditional counts for every
responder threshold of analysis.stats.responders (IMMPACT 30% and 50% improvement, the
instrument's MCID; Dworkin et al. 2008), the counts of baselines at or below zero, and the
centred second moments of baseline and change (the engine's covar_samp / var_samp, which DuckDB
and PostgreSQL compute by stable one-pass updates, not from raw sums of squares) for the
regression-to-the-mean fit. Rates get Clopper-Pearson intervals and between-arm differences
Newcombe's hybrid score interval (Newcombe 1998, method 10), from those counts, exactly as in
memory.

Arms with fewer than ``min_cell`` patients with a baseline value are dropped inside the engine
(HAVING on the per-arm count), before anything leaves it; how many were suppressed is returned.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from analysis.ingest.engine import EngineCohort
from analysis.instruments import Direction, Instrument, lookup
from analysis.stats.arms import ArmDesign, ArmResponders, responders_between
from analysis.stats.responders import ResponderAnalysis, clopper_pearson, responder_thresholds

POOLED = "all"  # the key of the one group when the design has no arms
# The per-patient columns of ResponderAnalysis.patients (empty here: no row leaves the engine).
PATIENT_COLUMNS = ["patient_id", "base", "value", "chg", "pchg", "improvement_pct",
                   "improvement_abs"]  # fmt: skip
_TOLERANCE = 1e-9  # responder_analysis: ``>= limit - 1e-9``


@dataclass
class EngineResponderAnalysis(ResponderAnalysis):
    """ResponderAnalysis from engine aggregates: ``patients`` is empty (rows stay in the
    database), the mean change is the engine's."""

    engine_mean_change: float | None = None

    @property
    def mean_change(self) -> float | None:
        """Mean change among patients with both values, computed in the engine."""
        return self.engine_mean_change


@dataclass
class PushdownResponders(ArmResponders):
    """responders_by_arm computed in the engine; suppressed arms are absent from per_arm.
    Without arms, per_arm holds one entry under POOLED and between is empty."""

    n_suppressed: int  # arms with fewer than min_cell patients with a baseline value
    min_cell: int


def responders_expression(
    cohort: EngineCohort,
    design: ArmDesign,
    outcome: str,
    visit: str,
    instrument: Instrument,
    min_cell: int = 0,
) -> Any:
    """The Ibis expression of pushdown_responders' query: one row of counts and sums per arm."""
    import ibis

    rows = cohort.clean()
    rows = rows.filter(rows.outcome == outcome)
    arm = design.attribute if design.has_arms else None
    base = rows.filter(rows.visit == cohort.baseline)
    base = base.select(
        "patient_id", before=base.v, arm=base[arm] if arm is not None else ibis.literal(POOLED)
    )
    if arm is not None:
        every_level = set(design.levels) == set(cohort.attribute_levels.get(arm, []))
        base = base.filter(base.arm.notnull() if every_level else base.arm.isin(design.levels))
    follow = rows.filter(rows.visit == visit)
    follow = follow.select(pid=follow.patient_id, after=follow.v)
    pairs = base.left_join(follow, base.patient_id == follow.pid)
    evaluable = pairs.after.notnull()
    chg = pairs.after - pairs.before
    pairs = pairs.mutate(chg=chg)
    sign = -1.0 if instrument.direction == "lower" else 1.0  # no direction: no thresholds
    # Same floating-point operations as responder_analysis: 100 × change, then / baseline.
    percent_defined = evaluable & (pairs.before > 0)
    improvement_pct = (sign * ((100 * pairs.chg) / pairs.before)).name("improvement_pct")
    improvement_abs = sign * pairs.chg
    aggregates: dict[str, Any] = {
        "n_itt": pairs.count(),
        "n_evaluable": evaluable.sum(),
        "n_zero_baseline": (evaluable & (pairs.before == 0)).sum(),
        "n_negative_baseline": (evaluable & (pairs.before < 0)).sum(),
        "mean_change": pairs.chg.mean(where=evaluable),
        "mean_before": pairs.before.mean(where=evaluable),
        "n_distinct_before": pairs.before.nunique(where=evaluable),
        "n_distinct_change": pairs.chg.nunique(where=evaluable),
        "cov_before_change": pairs.before.cov(pairs.chg, where=evaluable),
        "var_before": pairs.before.var(where=evaluable),
        "var_change": pairs.chg.var(where=evaluable),
    }
    for i, (_, column, limit) in enumerate(responder_thresholds(instrument)):
        defined = percent_defined if column == "improvement_pct" else evaluable
        value = improvement_pct if column == "improvement_pct" else improvement_abs
        aggregates[f"k{i}"] = (
            defined & (value >= ibis.literal(limit - _TOLERANCE, type="float64"))
        ).sum()
        aggregates[f"n{i}"] = defined.sum()
    grouped = pairs.group_by("arm").aggregate(**aggregates)
    # Suppression inside the engine (HAVING): a small arm's counts never leave it.
    return grouped.filter(grouped.n_itt >= min_cell) if min_cell > 0 else grouped


def pushdown_responders(
    cohort: EngineCohort,
    design: ArmDesign,
    outcome: str,
    visit: str,
    min_cell: int = 0,
    direction: Direction | None = None,
) -> PushdownResponders:
    """responders_by_arm from one engine query: Clopper-Pearson rates per arm, Newcombe's
    interval between arms, regression to the mean from centred moments (scipy linregress's
    formulas); each ResponderAnalysis.patients is an empty frame with PATIENT_COLUMNS."""
    instrument = lookup(outcome, direction)
    if outcome not in cohort.outcomes:
        raise ValueError(f"Outcome {outcome!r} is not in the data; outcomes: "
                         f"{', '.join(cohort.outcomes)}")  # fmt: skip
    if visit == cohort.baseline:
        raise ValueError("Choose a follow-up visit: the baseline cannot be compared with itself.")
    if visit not in cohort.visits:
        raise ValueError(f"Visit {visit!r} is not in the data; visits: {', '.join(cohort.visits)}")
    query = responders_expression(cohort, design, outcome, visit, instrument, min_cell)
    found = {str(row["arm"]): row for row in query.to_pandas().to_dict("records")}
    levels = design.levels if design.has_arms else (POOLED,)
    per_arm: dict[str, ResponderAnalysis] = {}
    for level in levels:
        row = found.get(level)
        if row is None and min_cell > 0:
            continue  # fewer than min_cell (possibly none) with a baseline value: suppressed
        per_arm[level] = _analysis(row or {}, instrument, outcome, visit)
    n_suppressed = len(levels) - len(per_arm)
    between = responders_between(design, per_arm) if design.has_arms else pd.DataFrame()
    return PushdownResponders(design, per_arm, between, n_suppressed, min_cell)


def _count(row: dict, key: str) -> int:
    value = row.get(key)
    return 0 if value is None or pd.isna(value) else int(value)


def _number(row: dict, key: str) -> float | None:
    value = row.get(key)
    return None if value is None or pd.isna(value) else float(value)


def _analysis(row: dict, instrument: Instrument, outcome: str, visit: str) -> ResponderAnalysis:
    """One arm's ResponderAnalysis from its row of engine aggregates (responder_analysis)."""
    thresholds = responder_thresholds(instrument)
    n_itt = _count(row, "n_itt")
    rates = []
    for i, (name, _, _) in enumerate(thresholds):
        responders, n_comp = _count(row, f"k{i}"), _count(row, f"n{i}")
        low_c, high_c = clopper_pearson(responders, n_comp)
        low_t, high_t = clopper_pearson(responders, n_itt)
        rates.append(
            dict(
                threshold=name,
                responders=responders,
                n_completers=n_comp,
                rate_completers=100 * responders / n_comp if n_comp else None,
                ci_low_completers=low_c,
                ci_high_completers=high_c,
                n_itt=n_itt,
                rate_itt=100 * responders / n_itt if n_itt else None,
                ci_low_itt=low_t,
                ci_high_itt=high_t,
            )
        )
    n_evaluable = _count(row, "n_evaluable")
    r = slope = intercept = None
    if (
        n_evaluable >= 3
        and _count(row, "n_distinct_before") > 1
        and _count(row, "n_distinct_change") > 1
    ):
        r, slope, intercept = regression_to_mean(
            float(row["cov_before_change"]),
            float(row["var_before"]),
            float(row["var_change"]),
            float(row["mean_before"]),
            float(row["mean_change"]),
        )
    columns = PATIENT_COLUMNS + [f"responder: {name}" for name, _, _ in thresholds]
    return EngineResponderAnalysis(
        outcome=outcome,
        instrument=instrument,
        visit=visit,
        patients=pd.DataFrame(
            {c: pd.Series(dtype=object if c == "patient_id" else float) for c in columns}
        ),
        n_itt=n_itt,
        n_evaluable=n_evaluable,
        n_zero_baseline=_count(row, "n_zero_baseline"),
        n_negative_baseline=_count(row, "n_negative_baseline"),
        rates=pd.DataFrame(rates),
        rtm_r=r,
        rtm_slope=slope,
        rtm_intercept=intercept,
        engine_mean_change=_number(row, "mean_change") if n_evaluable else None,
    )


def regression_to_mean(
    cov_xy: float, var_x: float, var_y: float, mean_x: float, mean_y: float
) -> tuple[float, float, float]:
    """r, slope and intercept of change on baseline from centred moments (as
    scipy.stats.linregress: slope = s_xy / s_xx, r = s_xy / sqrt(s_xx s_yy) clipped to ±1)."""
    slope = cov_xy / var_x
    r = float(np.clip(cov_xy / math.sqrt(var_x * var_y), -1.0, 1.0))
    return r, slope, mean_y - slope * mean_x
