"""The project's data as a mixed model for repeated measures (MMRM): which values, visits, arm
and covariates enter ``analysis.stats.mmrm.fit_mmrm``, built from a Dataset.

The usual model in a trial: change from baseline at every post-baseline visit, with the
baseline value as a covariate, arm, visit and arm x visit, unstructured covariance, REML and
Satterthwaite degrees of freedom (Mallinckrodt et al. 2008, Drug Inf J 42:303). Patients
contribute every visit they have; visits they missed are simply absent (valid under missing at
random).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal

import numpy as np
import pandas as pd

from analysis.ingest.dataset import Dataset
from analysis.stats.arms import ArmDesign
from analysis.stats.mmrm import STRUCTURES, MMRMResult, compare_covariances, fit_mmrm

Response = Literal["change", "value"]
SUBJECT, VISIT, ARM, BASELINE = "patient_id", "visit", "arm", "baseline_value"


@dataclass(frozen=True)
class MMRMSpec:
    """What to fit: outcome, response, visits, covariates and the model's options."""

    outcome: str
    response: Response = "change"
    visits: tuple[str, ...] | None = None  # None: every visit after the baseline
    covariates: tuple[str, ...] = ()  # patient attributes (categorical or numeric)
    covariance: str = "us"
    df_method: str = "satterthwaite"
    reml: bool = True
    baseline_by_visit: bool = False
    group_covariance: bool = False

    def model_visits(self, dataset: Dataset) -> list[str]:
        """The visits that enter the model, in time order."""
        if self.visits is None:
            return [v for v in dataset.follow_up_visits]
        return [v for v in dataset.visits if v in set(self.visits)]

    @property
    def adjusts_for_baseline(self) -> bool:
        """Change from baseline is modelled with the baseline value as a covariate."""
        return self.response == "change"


def mmrm_frame(dataset: Dataset, design: ArmDesign, spec: MMRMSpec) -> pd.DataFrame:
    """One row per patient and model visit: patient_id, visit, the response, the baseline
    value, the arm and the covariates (missing where not recorded: fit_mmrm counts them)."""
    table = dataset.wide(spec.outcome)
    visits = [v for v in spec.model_visits(dataset) if v in table.columns]
    if not visits:
        raise ValueError(f"{spec.outcome!r} has no value at the model's visits.")
    long = table[visits].stack(future_stack=True).rename("value").reset_index()
    long.columns = [SUBJECT, VISIT, "value"]
    base = (
        table[dataset.baseline]
        if dataset.baseline in table.columns
        else pd.Series(np.nan, index=table.index)
    )
    long[BASELINE] = base.reindex(long[SUBJECT]).to_numpy()
    long["change"] = long["value"] - long[BASELINE]
    attributes = dataset.attributes.copy()
    attributes.index = attributes.index.astype(str)
    if design.has_arms:
        assert design.attribute is not None
        arms = attributes[design.attribute].astype(object)
        long[ARM] = arms.reindex(long[SUBJECT].astype(str)).astype(object).to_numpy()
    for covariate in spec.covariates:
        if covariate not in attributes.columns:
            raise ValueError(f"There is no attribute {covariate!r} to adjust for.")
        long[covariate] = attributes[covariate].reindex(long[SUBJECT].astype(str)).to_numpy()
    long[VISIT] = long[VISIT].astype(str)
    return long


def fit_outcome_mmrm(dataset: Dataset, design: ArmDesign, spec: MMRMSpec) -> MMRMResult:
    """The MMRM of ``spec`` on ``dataset``, per arm when the design has arms (comparator as
    the reference level, so contrasts are each arm minus the comparator)."""
    frame, arguments = _fit_arguments(dataset, design, spec)
    return fit_mmrm(frame, **arguments)


def compare_structures(dataset: Dataset, design: ArmDesign, spec: MMRMSpec) -> pd.DataFrame:
    """AIC/BIC of the nine covariance structures for the model of ``spec`` (REML fits of the
    same fixed effects, so the criteria are comparable)."""
    frame, arguments = _fit_arguments(dataset, design, spec)
    arguments.pop("covariance")
    return compare_covariances(frame, STRUCTURES, **arguments)


def _fit_arguments(
    dataset: Dataset, design: ArmDesign, spec: MMRMSpec
) -> tuple[pd.DataFrame, dict[str, Any]]:
    """The frame and the keyword arguments of fit_mmrm for ``spec``."""
    frame = mmrm_frame(dataset, design, spec)
    visits = [v for v in spec.model_visits(dataset) if v in set(frame[VISIT])]
    arm_levels = None
    if design.has_arms:
        arm_levels = [design.comparator, *design.treated]
        frame = frame.loc[frame[ARM].isin(arm_levels) | frame[ARM].isna()]
    return frame, dict(
        response=spec.response,
        subject=SUBJECT,
        visit=VISIT,
        visit_levels=visits,
        arm=ARM if design.has_arms else None,
        arm_levels=arm_levels,
        covariates=list(spec.covariates),
        baseline=BASELINE if spec.adjusts_for_baseline else None,
        baseline_by_visit=spec.baseline_by_visit and spec.adjusts_for_baseline,
        covariance=spec.covariance,
        reml=spec.reml,
        df_method=spec.df_method,
        group_covariance=spec.group_covariance and design.has_arms,
    )


@dataclass(frozen=True, eq=False)
class OutcomeModel:
    """An MMRM of one outcome with what it was asked and how many values it used per visit."""

    spec: MMRMSpec
    design: ArmDesign
    result: MMRMResult
    counts: pd.DataFrame  # arm (or "all"), visit, n: values used at each model visit


def fit_outcome_model(dataset: Dataset, design: ArmDesign, spec: MMRMSpec) -> OutcomeModel:
    """fit_outcome_mmrm, with the number of values used at each visit in each arm."""
    result = fit_outcome_mmrm(dataset, design, spec)
    frame = mmrm_frame(dataset, design, spec)
    needed = [spec.response, *spec.covariates]
    if spec.adjusts_for_baseline:
        needed.append(BASELINE)
    if design.has_arms:
        needed.append(ARM)
    used = frame.dropna(subset=needed)
    group = used[ARM].astype(str) if design.has_arms else pd.Series("all", index=used.index)
    counts = (
        used.assign(arm=group.to_numpy())
        .groupby(["arm", VISIT], observed=True, sort=False)
        .size()
        .rename("n")
        .reset_index()
    )
    order = {visit: i for i, visit in enumerate(result.visits)}
    counts = counts.sort_values(
        ["arm", VISIT], key=lambda c: c.astype(str).map(order) if c.name == VISIT else c
    )
    return OutcomeModel(spec, design, result, counts.reset_index(drop=True))
