"""The arrays multiple imputation works on, built from the MMRM's long frame and its fit.

One row per patient of the analysis set: the response (change from baseline) at every model
visit (NaN where missing), the baseline value, the arm (0 = comparator), the covariates encoded
for the analysis model, and the MMRM's design rows for every visit, once with the patient's own
arm and once with the comparator's (reference-based imputation). The analysis set is every
patient with a baseline value, a known arm and the covariates; patients without any follow-up
value are in it (their visits are all imputed), which is why it is larger than the MMRM's.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field, replace

import numpy as np
import pandas as pd
from numpy.typing import NDArray

from analysis.stats.longitudinal import ARM, BASELINE, SUBJECT, VISIT
from analysis.stats.mmrm import MMRMResult
from analysis.stats.mmrm.design import level_codes

Array = NDArray[np.float64]
IntArray = NDArray[np.int64]
BoolArray = NDArray[np.bool_]

REASON_NO_VALUE = "no value of the outcome"
REASON_NO_BASELINE = "no baseline value"
REASON_ARM = "missing or unknown arm"
REASON_COVARIATE = "missing covariate"
REASON_LEVEL = "covariate level not in the imputation model"
REASONS = (REASON_NO_VALUE, REASON_NO_BASELINE, REASON_ARM, REASON_COVARIATE, REASON_LEVEL)


@dataclass(frozen=True, eq=False)
class ImputationData:
    """Analysis-set patients as arrays (rows in order of first appearance in the frame)."""

    patient_ids: NDArray[np.object_]
    visits: tuple[str, ...]
    y: Array  # (n, T) change from baseline at the model visits, NaN where missing
    baseline: Array  # (n,)
    arm: IntArray  # (n,) index into `arms`; 0 is the comparator; all 0 without arms
    arms: tuple[str, ...] | None
    x_own: Array  # (n, T, p) MMRM design rows (estimable columns), the patient's own arm
    x_ref: Array | None  # (n, T, p) the same with the arm set to the comparator
    group: IntArray  # (n,) covariance group
    n_groups: int
    covariates: Array  # (n, c) covariates encoded for the analysis model (dummies, numerics)
    covariate_names: tuple[str, ...]
    # (reason, patients) for patients of the frame left out, in the order of REASONS
    left_out: tuple[tuple[str, int], ...] = ()
    left_out_patients: pd.DataFrame = field(
        default_factory=lambda: pd.DataFrame(columns=["patient_id", "reason"])
    )

    @property
    def n(self) -> int:
        """Patients in the analysis set."""
        return int(self.y.shape[0])

    @property
    def observed(self) -> BoolArray:
        """(n, T) value present."""
        return ~np.isnan(self.y)

    @property
    def last_observed(self) -> IntArray:
        """(n,) index of the last visit with a value, -1 for none (dropout after baseline)."""
        obs = self.observed
        t = obs.shape[1]
        last = t - 1 - np.argmax(obs[:, ::-1], axis=1)
        return np.where(obs.any(axis=1), last, -1).astype(np.int64)

    @property
    def treated(self) -> BoolArray:
        """(n,) in a treated arm (not the comparator); all False without arms."""
        return self.arm > 0

    def subset(self, rows: BoolArray) -> ImputationData:
        """The same data for some patients only (e.g. those observed at a visit)."""
        return replace(
            self,
            patient_ids=self.patient_ids[rows],
            y=self.y[rows],
            baseline=self.baseline[rows],
            arm=self.arm[rows],
            x_own=self.x_own[rows],
            x_ref=self.x_ref[rows] if self.x_ref is not None else None,
            group=self.group[rows],
            covariates=self.covariates[rows],
        )

    def visit_index(self, visit: str) -> int:
        """Position of a model visit."""
        labels = [str(v) for v in self.visits]
        if str(visit) not in labels:
            raise ValueError(f"{visit!r} is not a visit of the model; visits: {', '.join(labels)}")
        return labels.index(str(visit))


def _first_per_patient(frame: pd.DataFrame, subject: str, columns: list[str]) -> pd.DataFrame:
    """Patient-level attributes (constant within a patient): the first row of each patient,
    gaps filled from the patient's other rows when that row lacks one."""
    first = frame.drop_duplicates(subject).set_index(subject)[columns]
    if columns and first.isna().to_numpy().any():
        first = first.fillna(frame.groupby(subject, sort=False, observed=True)[columns].first())
    return first


def build_imputation_data(
    frame: pd.DataFrame,
    fit: MMRMResult,
    *,
    response: str = "change",
    subject: str = SUBJECT,
    visit: str = VISIT,
    arm: str | None = ARM,
    baseline: str = BASELINE,
    covariates: Sequence[str] = (),
) -> ImputationData:
    """Arrays for imputation from the MMRM's long frame (one row per patient and visit; the
    response is the change from baseline, modelled with the baseline as covariate) and its fit.
    """
    if baseline not in fit.design.variables:
        raise ValueError("multiple imputation needs the baseline value as a model covariate")
    use_arm = arm if fit.arms is not None else None
    covariates = list(covariates)
    frame = frame.loc[frame[subject].notna()]
    attrs = [baseline, *([use_arm] if use_arm else []), *covariates]
    per_patient = _first_per_patient(frame, subject, list(dict.fromkeys(attrs)))
    visits = tuple(str(v) for v in fit.visits)
    at_visits = frame.loc[frame[visit].astype(str).isin(visits)]
    # patients x visits by integer codes (one value per patient and visit, as the MMRM needs)
    row = per_patient.index.get_indexer(at_visits[subject])
    col = level_codes(at_visits[visit].astype(str), list(visits))
    values = pd.to_numeric(at_visits[response]).to_numpy(dtype=float)
    wide_values = np.full((len(per_patient), len(visits)), np.nan)
    present = ~np.isnan(values)
    wide_values[row[present], col[present]] = values[present]

    reason = np.zeros(len(per_patient), dtype=np.int64)

    def flag(bad: BoolArray, why: str) -> None:
        reason[bad & (reason == 0)] = REASONS.index(why) + 1

    flag(per_patient[baseline].isna().to_numpy(), REASON_NO_BASELINE)
    arm_code = np.zeros(len(per_patient), dtype=np.int64)
    if use_arm is not None:
        assert fit.arms is not None
        arm_code = level_codes(per_patient[use_arm], list(fit.arms))
        flag(arm_code < 0, REASON_ARM)
    for c in covariates:
        flag(per_patient[c].isna().to_numpy(), REASON_COVARIATE)
        var = fit.design.variables[c]
        if var.levels is not None:
            level = level_codes(per_patient[c], list(var.levels))
            flag((level < 0) & per_patient[c].notna().to_numpy(), REASON_LEVEL)
    keep = reason == 0
    left = pd.DataFrame(
        {
            "patient_id": per_patient.index[~keep].astype(str),
            "reason": np.asarray(REASONS, dtype=object)[reason[~keep] - 1],
        }
    )
    tally = np.bincount(reason, minlength=len(REASONS) + 1)
    counts = tuple((why, int(tally[i + 1])) for i, why in enumerate(REASONS) if tally[i + 1])

    kept = per_patient.loc[keep]
    y = wide_values[keep]
    n, t = y.shape
    arm_code = arm_code[keep]
    arms = tuple(str(a) for a in fit.arms) if fit.arms is not None else None

    # design rows for every patient x visit (patient-major), own arm and comparator arm, from
    # integer level codes (no per-row label lookups)
    codes: dict[str, IntArray] = {visit: np.tile(np.arange(t, dtype=np.int64), n)}
    numerics: dict[str, Array] = {baseline: np.repeat(kept[baseline].to_numpy(dtype=float), t)}
    for c in covariates:
        var = fit.design.variables[c]
        if var.levels is None:
            numerics[c] = np.repeat(pd.to_numeric(kept[c]).to_numpy(dtype=float), t)
        else:
            codes[c] = np.repeat(level_codes(kept[c], list(var.levels)), t)
    estimable = np.flatnonzero(np.isfinite(fit.beta))
    x_ref = None
    if use_arm is not None:
        codes[use_arm] = np.repeat(arm_code, t)
        ref_codes = {**codes, use_arm: np.zeros(n * t, dtype=np.int64)}
        x_ref = fit.design.matrix_from_codes(ref_codes, numerics)[:, estimable].reshape(n, t, -1)
    x_own = fit.design.matrix_from_codes(codes, numerics)[:, estimable].reshape(n, t, -1)

    if fit.group_covariance and fit.groups is not None:
        group_of_arm = level_codes(pd.Series(arms, dtype=object), list(fit.groups))
        group = group_of_arm[arm_code]
        n_groups = len(fit.groups)
    else:
        group = np.zeros(n, dtype=np.int64)
        n_groups = 1

    cov_cols: list[Array] = []
    cov_names: list[str] = []
    for c in covariates:
        var = fit.design.variables[c]
        if var.levels is None:
            cov_cols.append(pd.to_numeric(kept[c]).to_numpy(dtype=float))
            cov_names.append(c)
        else:
            level = level_codes(kept[c], list(var.levels))
            for j, lvl in enumerate(var.levels[1:], start=1):
                cov_cols.append((level == j).astype(float))
                cov_names.append(f"{c}{lvl}")
    cov = np.column_stack(cov_cols) if cov_cols else np.zeros((n, 0))

    return ImputationData(
        patient_ids=np.asarray(kept.index.astype(str), dtype=object),
        visits=visits,
        y=y,
        baseline=kept[baseline].to_numpy(dtype=float),
        arm=arm_code.astype(np.int64),
        arms=arms,
        x_own=x_own,
        x_ref=x_ref,
        group=group.astype(np.int64),
        n_groups=n_groups,
        covariates=cov,
        covariate_names=tuple(cov_names),
        left_out=counts,
        left_out_patients=left,
    )
