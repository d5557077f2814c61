"""Selecting and encoding the values an MMRM uses, and recording what was left out and why.

Rows are kept when patient, visit (among the analysed visits), arm, response and every
covariate are present; unused factor levels are dropped (as mmrm does), and every factor is
carried as integer codes so that large data sets are encoded once, vectorised.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd
from numpy.typing import NDArray

from analysis.stats.mmrm.design import infer_levels, is_categorical, level_codes

Array = NDArray[np.float64]
IntArray = NDArray[np.int64]

REASON_SUBJECT = "missing patient id"
REASON_VISIT = "visit not among the analysed visits"
REASON_ARM = "missing or unknown arm"
REASON_RESPONSE = "missing response"
REASON_COVARIATE = "missing covariate"
_REASONS = (REASON_SUBJECT, REASON_VISIT, REASON_ARM, REASON_RESPONSE, REASON_COVARIATE)


@dataclass(frozen=True)
class Prepared:
    """Encoded rows used in the fit and the bookkeeping of what was left out."""

    y: Array
    patient: IntArray  # per row, 0..n_patients-1 (order of first appearance)
    visit: IntArray  # per row, index into `visits`
    codes: dict[str, IntArray]  # factor variables (visit, arm, categorical covariates)
    numerics: dict[str, Array]  # numeric covariates and baseline
    patient_ids: NDArray[Any]
    patient_group: IntArray  # per patient, covariance group index
    visits: tuple[object, ...]
    arms: tuple[object, ...] | None
    groups: tuple[object, ...] | None
    covariate_levels: dict[str, tuple[object, ...]]
    exclusions: dict[str, int]
    excluded_patients: pd.DataFrame  # subject, reason
    notes: tuple[str, ...]

    @property
    def numeric_means(self) -> dict[str, float]:
        """Means of the numeric variables over the values used (emmeans' covariate values)."""
        return {k: float(np.mean(v)) for k, v in self.numerics.items()}


def _check_arguments(
    data: pd.DataFrame,
    response: str,
    subject: str,
    visit: str,
    visit_levels: Sequence[object],
    arm: str | None,
    covariates: Sequence[str],
    baseline: str | None,
    group_covariance: bool,
) -> None:
    """Fail early, with a clear message, on arguments that cannot define a model."""
    needed = [response, subject, visit, *covariates]
    needed += [c for c in (arm, baseline) if c is not None]
    missing_cols = [c for c in dict.fromkeys(needed) if c not in data.columns]
    if missing_cols:
        raise ValueError(f"columns not in the data: {missing_cols}")
    roles = [response, subject, visit, arm, baseline]
    if len(set(covariates)) != len(covariates) or any(c in roles for c in covariates):
        raise ValueError("covariates must be distinct from each other and from the model roles")
    if group_covariance and arm is None:
        raise ValueError("a covariance per group needs an arm")
    if len(visit_levels) == 0 or len(set(map(str, visit_levels))) != len(visit_levels):
        raise ValueError("visit_levels must be a non-empty list of distinct visits")
    if not pd.api.types.is_numeric_dtype(data[response]) or pd.api.types.is_bool_dtype(
        data[response]
    ):
        raise ValueError(f"response {response!r} must be numeric")
    if baseline is not None and is_categorical(data[baseline]):
        raise ValueError(f"baseline {baseline!r} must be numeric")


def prepare(
    data: pd.DataFrame,
    *,
    response: str,
    subject: str,
    visit: str,
    visit_levels: Sequence[object],
    arm: str | None,
    arm_levels: Sequence[object] | None,
    covariates: Sequence[str],
    baseline: str | None,
    group_covariance: bool,
) -> Prepared:
    """Select the usable rows, record why others were left out, and encode ids and levels."""
    _check_arguments(
        data, response, subject, visit, visit_levels, arm, covariates, baseline, group_covariance
    )
    n_rows = len(data)
    # reason code per row: 0 = used, i = _REASONS[i - 1]; the first reason in order wins
    reason = np.zeros(n_rows, dtype=np.int64)

    def flag(bad: NDArray[np.bool_], why: str) -> None:
        reason[bad & (reason == 0)] = _REASONS.index(why) + 1

    subj_all, subj_uniques = pd.factorize(data[subject], sort=False)
    flag(subj_all < 0, REASON_SUBJECT)
    visit_code = level_codes(data[visit], list(visit_levels))
    flag(visit_code < 0, REASON_VISIT)
    arms: tuple[object, ...] | None = None
    arm_code = np.zeros(n_rows, dtype=np.int64)
    if arm is not None:
        arms = infer_levels(data[arm], arm_levels)
        if not arms:
            raise ValueError(f"no arm levels found in {arm!r}")
        arm_code = level_codes(data[arm], list(arms))
        flag(arm_code < 0, REASON_ARM)
    y_all = data[response].to_numpy(dtype=float, na_value=np.nan)
    flag(~np.isfinite(y_all), REASON_RESPONSE)
    factor_cols = [c for c in covariates if is_categorical(data[c])]
    numeric_cols = [c for c in covariates if c not in factor_cols]
    if baseline is not None:
        numeric_cols.append(baseline)
    raw_codes: dict[str, IntArray] = {}
    cov_levels_all: dict[str, tuple[object, ...]] = {}
    for c in factor_cols:
        cov_levels_all[c] = infer_levels(data[c])
        raw_codes[c] = level_codes(data[c], list(cov_levels_all[c]))
        flag(raw_codes[c] < 0, REASON_COVARIATE)
    raw_num: dict[str, Array] = {}
    for c in numeric_cols:
        raw_num[c] = pd.to_numeric(data[c], errors="coerce").to_numpy(dtype=float, na_value=np.nan)
        flag(~np.isfinite(raw_num[c]), REASON_COVARIATE)

    used = reason == 0
    if not np.any(used):
        raise ValueError(
            "no usable values: every row misses the response, visit, arm or a covariate"
        )
    counts = np.bincount(reason[~used], minlength=len(_REASONS) + 1)
    exclusions = {why: int(counts[i + 1]) for i, why in enumerate(_REASONS) if counts[i + 1]}

    # patients: codes in order of first appearance among the used rows
    n_all = len(subj_uniques)
    used_per_patient = np.bincount(subj_all[used], minlength=n_all)
    excluded_codes = np.flatnonzero(used_per_patient == 0)
    ex_rows = np.flatnonzero(np.isin(subj_all, excluded_codes))
    excluded = (
        pd.DataFrame(
            {
                "subject": np.asarray(subj_uniques)[subj_all[ex_rows]],
                "reason": np.asarray(_REASONS, dtype=object)[reason[ex_rows] - 1],
            }
        )
        .groupby("subject", sort=True, observed=True)["reason"]
        .agg(lambda s: "; ".join(sorted(set(map(str, s)))))
        .reset_index()
    )
    subj_used = subj_all[used]
    first_pos = np.full(n_all, np.iinfo(np.int64).max, dtype=np.int64)
    np.minimum.at(first_pos, subj_used, np.arange(len(subj_used), dtype=np.int64))
    present_patients = np.flatnonzero(used_per_patient > 0)
    order = present_patients[np.argsort(first_pos[present_patients], kind="stable")]
    remap = np.full(n_all, -1, dtype=np.int64)
    remap[order] = np.arange(len(order))
    patient = remap[subj_used]
    patient_ids = np.asarray(subj_uniques)[order]
    n_patients = len(order)

    # one value per patient and visit
    vcode = visit_code[used]
    key = patient * len(visit_levels) + vcode
    if np.any(np.bincount(key) > 1):
        dup_key = pd.Series(key).duplicated(keep=False).to_numpy()
        sample = sorted(
            {
                (str(patient_ids[p]), str(visit_levels[v]))
                for p, v in zip(patient[dup_key], vcode[dup_key], strict=True)
            }
        )[:3]
        raise ValueError(f"more than one value per patient and visit, e.g. {sample}")

    notes: list[str] = []
    present = np.flatnonzero(np.bincount(vcode, minlength=len(visit_levels)))
    visits = tuple(visit_levels[int(i)] for i in present)
    if len(visits) < len(visit_levels):
        dropped = [v for i, v in enumerate(visit_levels) if i not in set(present.tolist())]
        notes.append(f"visits without any value left out: {dropped}")
    vmap = np.full(len(visit_levels), -1, dtype=np.int64)
    vmap[present] = np.arange(len(present))
    vcode = vmap[vcode]
    codes: dict[str, IntArray] = {visit: vcode}

    patient_group = np.zeros(n_patients, dtype=np.int64)
    groups: tuple[object, ...] | None = None
    if arm is not None:
        assert arms is not None
        acode = arm_code[used]
        observed = set(np.flatnonzero(np.bincount(acode, minlength=len(arms))).tolist())
        unobserved = [a for i, a in enumerate(arms) if i not in observed]
        if unobserved:
            raise ValueError(f"arm levels without any usable value: {unobserved}")
        codes[arm] = acode
        if group_covariance:
            first = np.empty(n_patients, dtype=np.int64)
            first[patient[::-1]] = acode[::-1]
            if np.any(first[patient] != acode):
                raise ValueError("a covariance per arm needs each patient to stay in one arm")
            patient_group = first
            groups = arms

    covariate_levels: dict[str, tuple[object, ...]] = {}
    for c in factor_cols:
        cc = raw_codes[c][used]
        levels = cov_levels_all[c]
        present_l = np.flatnonzero(np.bincount(cc, minlength=len(levels)))
        if len(present_l) < len(levels):
            notes.append(f"levels of {c} without any value dropped")
        lmap = np.full(len(levels), -1, dtype=np.int64)
        lmap[present_l] = np.arange(len(present_l))
        covariate_levels[c] = tuple(levels[i] for i in present_l)
        codes[c] = lmap[cc]
    numerics = {c: raw_num[c][used] for c in numeric_cols}

    return Prepared(
        y=y_all[used],
        patient=patient,
        visit=vcode,
        codes=codes,
        numerics=numerics,
        patient_ids=patient_ids,
        patient_group=patient_group,
        visits=visits,
        arms=arms,
        groups=groups,
        covariate_levels=covariate_levels,
        exclusions=exclusions,
        excluded_patients=excluded,
        notes=tuple(notes),
    )
