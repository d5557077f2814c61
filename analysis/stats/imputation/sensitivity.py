"""One entry point for the missing-data analyses of an outcome at a visit.

Primary (valid under missing at random, MAR; NRC 2010; EMA 2010): the MMRM contrast at the visit
and multiple imputation from the same MMRM (change from baseline with baseline-by-visit, arm by
visit, covariates; unstructured covariance), analysed by ANCOVA and pooled by Rubin's rules.
Sensitivity (missing not at random, MNAR): reference-based imputation (J2R, CR, CIR; Carpenter,
Roger & Kenward 2013), delta adjustment with the tipping point (Ratitch et al. 2013), LOCF and
BOCF (labelled, never primary), the complete-case analysis, and responder rates from the
imputations beside non-responder imputation (Gewandter et al. 2014, Pain 155:1871).
"""

from __future__ import annotations

import math
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd
from numpy.typing import NDArray

from analysis.ingest.dataset import Dataset
from analysis.instruments import Direction, lookup
from analysis.stats.arms import ArmDesign, responders_by_arm
from analysis.stats.imputation.analysis import ANCOVA, analysis_model
from analysis.stats.imputation.data import REASON_NO_VALUE, REASONS, build_imputation_data
from analysis.stats.imputation.draws import GLSCells, draw_parameters
from analysis.stats.imputation.engine import Progress, impute_visit
from analysis.stats.imputation.reference_based import MAR, METHODS, REFERENCE_METHODS
from analysis.stats.imputation.responders_mi import mi_responder_rates
from analysis.stats.imputation.results import (
    Estimate,
    estimates_frame,
    json_ready,
    pooled_estimates,
)
from analysis.stats.imputation.rubin import pool
from analysis.stats.imputation.single import BOCF, LOCF, complete_case, single_imputation
from analysis.stats.imputation.tipping import TippingAnalysis, delta_grid, tipping_points
from analysis.stats.longitudinal import ARM, MMRMSpec, fit_outcome_mmrm, mmrm_frame
from analysis.stats.mmrm import MMRMResult
from analysis.stats.responders import responder_analysis

Array = NDArray[np.float64]

# Short codes for the assumptions behind the numbers (analysis.present.missing_text words them).
A_MAR_PRIMARY = "mar_primary"
A_MODEL = "imputation_model_mmrm_change_baseline_by_visit"
A_DRAWS = "parameter_draws_approximate_bayesian_normal_theta"
A_THETA_FIXED = "covariance_fixed_at_estimate"
A_ANCOVA = "analysis_ancova_change_baseline_arm"
A_MEAN = "analysis_mean_change"
A_RUBIN = "rubin_rules_barnard_rubin_df"
A_REFERENCE = "reference_based_after_last_observed_visit_common_covariance"
A_REFERENCE_VARIANCE = "reference_based_rubin_variance_information_anchored"
A_DELTA_TREATED = "delta_added_to_imputed_values_treated_arms"
A_DELTA_ALL = "delta_added_to_all_imputed_values"
A_DELTA_DIRECTION = "delta_worse_direction_from_instrument"
A_DELTA_DIRECTION_ASSUMED = "delta_worse_direction_assumed_towards_no_effect"
A_TIP_CI = "tipping_when_ci_includes_0"
A_TIP_PLACEBO = "tipping_when_mean_change_reaches_placebo_response"
A_RESP_SCALE = "responders_mi_proportion_scale_wald_rubin"
A_NRI = "responders_nri_missing_counted_as_non_response"
A_SINGLE = "locf_bocf_single_imputation_sensitivity_only"
A_CC = "complete_case_valid_only_if_mcar"
A_NOT_RANDOMISED = "arms_not_randomised"
A_COVARIATES = "covariates_shared_across_visits_in_imputation_model"


@dataclass(frozen=True, eq=False)
class NAnalysed:
    """Patients used and left out (with why), and per arm how many values were imputed."""

    n_patients: int  # patients in the data
    n_used: int  # in the analysis set (baseline value, known arm, covariates)
    n_left_out: int
    left_out: tuple[tuple[str, int], ...]  # (reason, patients)
    per_arm: pd.DataFrame  # arm, n_used, n_observed, n_imputed (at the visit)
    left_out_patients: pd.DataFrame  # patient_id, reason

    def to_dict(self) -> dict[str, object]:
        """Strict-JSON-safe record (patients left out by id are not included)."""
        return json_ready(
            {
                "n_patients": self.n_patients,
                "n_used": self.n_used,
                "n_left_out": self.n_left_out,
                "left_out": [{"reason": r, "n": n} for r, n in self.left_out],
                "per_arm": self.per_arm,
            }
        )


@dataclass(frozen=True, eq=False)
class SensitivityResult:
    """Everything the missing-data page, the CLI and the report show for one outcome and visit."""

    outcome: str
    visit: str
    method: str  # imputation the delta grid and responders use (mar, j2r, cr, cir)
    n_imputations: int
    seed: int
    direction: Direction | None
    improve_sign: float  # +1 higher is better, -1 lower is better (assumed if direction unknown)
    arm_attribute: str | None
    comparator: str | None
    treated: tuple[str, ...]
    n: NAnalysed
    mmrm: tuple[Estimate, ...]  # the MMRM at the visit (contrast per treated arm, or LS mean)
    mmrm_fit: MMRMResult
    mi: Mapping[str, tuple[Estimate, ...]]  # mar (and j2r, cr, cir with arms)
    tipping: TippingAnalysis
    placebo_change: float | None  # the instrument's published placebo change (no-arm yardstick)
    complete_case: tuple[Estimate, ...]
    locf: tuple[Estimate, ...]
    bocf: tuple[Estimate, ...]
    responders_mi: pd.DataFrame  # threshold, kind, arm, comparator, n, estimate (%), CI, p, fmi
    responders_nri: pd.DataFrame  # threshold, arm, completers and NRI rates with exact CIs
    responders_nri_between: pd.DataFrame  # completers' difference per threshold (Newcombe)
    assumptions: tuple[str, ...]
    theta_drawn: bool
    draws_rejected: int
    elapsed_seconds: float

    @property
    def primary(self) -> tuple[Estimate, ...]:
        """The primary MI estimates (MAR)."""
        return self.mi[MAR]

    def estimates(self) -> pd.DataFrame:
        """Every estimate at the visit, one row each: MMRM, MI (MAR, J2R, CR, CIR), complete
        case, LOCF, BOCF."""
        rows: list[Estimate] = [*self.mmrm]
        for method in METHODS:
            rows.extend(self.mi.get(method, ()))
        rows.extend([*self.complete_case, *self.locf, *self.bocf])
        return estimates_frame(rows)

    def to_dict(self) -> dict[str, object]:
        """Strict-JSON-safe summary (NaN and infinities as null)."""
        return json_ready(
            {
                "outcome": self.outcome,
                "visit": self.visit,
                "method": self.method,
                "n_imputations": self.n_imputations,
                "seed": self.seed,
                "direction": self.direction,
                "improve_sign": self.improve_sign,
                "arms": {
                    "attribute": self.arm_attribute,
                    "comparator": self.comparator,
                    "treated": list(self.treated),
                },
                "n": self.n.to_dict(),
                "mmrm": {
                    "estimates": [e.to_dict() for e in self.mmrm],
                    "n_patients": self.mmrm_fit.n_patients,
                    "n_patients_excluded": self.mmrm_fit.n_patients_excluded,
                    "values_excluded": dict(self.mmrm_fit.exclusions),
                    "converged": self.mmrm_fit.converged,
                    "message": self.mmrm_fit.message,
                },
                "mi": {k: [e.to_dict() for e in v] for k, v in self.mi.items()},
                "tipping": self.tipping.to_dict(),
                "placebo_change": self.placebo_change,
                "complete_case": [e.to_dict() for e in self.complete_case],
                "locf": [e.to_dict() for e in self.locf],
                "bocf": [e.to_dict() for e in self.bocf],
                "responders_mi": self.responders_mi,
                "responders_nri": self.responders_nri,
                "responders_nri_between": self.responders_nri_between,
                "assumptions": list(self.assumptions),
                "theta_drawn": self.theta_drawn,
                "draws_rejected": self.draws_rejected,
                "elapsed_seconds": self.elapsed_seconds,
            }
        )


def default_deltas(change_sd: float, points: int = 13) -> Array:
    """0 down to about -1.5 SD of the observed change in `points` equal steps, the step rounded
    to 1, 2, 2.5 or 5 x 10^k (pain NRS, SD near 2: 0 to -3 in steps of 0.25)."""
    if not math.isfinite(change_sd) or change_sd <= 0:
        change_sd = 1.0
    raw = 1.5 * change_sd / (points - 1)
    power = 10.0 ** math.floor(math.log10(raw))
    step = min((1.0, 2.0, 2.5, 5.0, 10.0), key=lambda f: abs(math.log(f * power / raw))) * power
    return -step * np.arange(points, dtype=float) + 0.0


def _mmrm_estimates(fit: MMRMResult, visit: str) -> tuple[Estimate, ...]:
    """The MMRM's contrast(s) at the visit, or its LS mean without arms."""
    out = []
    if fit.arms is not None and not fit.contrasts.empty:
        rows = fit.contrasts.loc[fit.contrasts["visit"].astype(str) == visit]
        for r in rows.itertuples():
            out.append(
                Estimate("mmrm", str(r.arm), str(r.comparator), r.estimate, r.se, r.df,
                         r.ci_low, r.ci_high, r.p, fit.n_patients, 0)
            )  # fmt: skip
        return tuple(out)
    rows = fit.lsmeans.loc[fit.lsmeans["visit"].astype(str) == visit]
    for r in rows.itertuples():
        t = r.estimate / r.se if r.se > 0 else float("nan")
        from scipy import stats

        p = float(2 * stats.t.sf(abs(t), r.df)) if math.isfinite(t) else float("nan")
        out.append(
            Estimate("mmrm", "all", None, r.estimate, r.se, r.df, r.ci_low, r.ci_high, p,
                     fit.n_patients, 0)
        )  # fmt: skip
    return tuple(out)


def _all_patients(dataset: Dataset) -> pd.Index:
    ids = pd.Index(dataset.long["patient_id"].astype(str).unique())
    return ids.union(pd.Index(dataset.attributes.index.astype(str)), sort=False)


def _nri_tables(
    dataset: Dataset, design: ArmDesign, outcome: str, visit: str, direction: Direction | None
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Completers and non-responder-imputation rates per arm (analysis.stats.responders)."""
    keep = ["threshold", "responders", "n_completers", "rate_completers", "ci_low_completers",
            "ci_high_completers", "n_itt", "rate_itt", "ci_low_itt", "ci_high_itt"]  # fmt: skip
    if lookup(outcome, direction).direction is None:
        # no direction, no responder (and responders_by_arm cannot index an empty rate table)
        return pd.DataFrame(columns=["arm", *keep]), pd.DataFrame()
    if design.has_arms:
        by_arm = responders_by_arm(dataset, design, outcome, visit, direction)
        frames = [
            a.rates.reindex(columns=keep).assign(arm=level) for level, a in by_arm.per_arm.items()
        ]
        rates = pd.concat(frames, ignore_index=True) if frames else pd.DataFrame()
        return rates.reindex(columns=["arm", *keep]), by_arm.between
    single = responder_analysis(dataset, outcome, visit, direction)
    rates = single.rates.reindex(columns=keep).assign(arm="all")
    return rates.reindex(columns=["arm", *keep]), pd.DataFrame()


def sensitivity_analysis(
    dataset: Dataset,
    design: ArmDesign,
    outcome: str,
    visit: str,
    *,
    method: str = MAR,
    deltas: Sequence[float] | NDArray[np.floating] | None = None,
    n_imputations: int = 100,
    seed: int = 2024,
    covariates: Sequence[str] = (),
    direction: Direction | None = None,
    covariance: str = "us",
    progress: Progress | None = None,
) -> SensitivityResult:
    """MMRM, multiple imputation under MAR, reference-based imputation, delta/tipping point,
    LOCF/BOCF and responders for `outcome` at `visit` (see the module docstring).

    method: the imputation the delta grid and the MI responder rates use ("mar", or with arms
    "j2r", "cr", "cir"). deltas: on the improvement scale (negative = worse, outcome units); None
    chooses 0 to about -1.5 SD of the observed change. direction: overrides the instrument's.
    progress(done, total) is called after each imputation.
    """
    started = time.perf_counter()
    method = method.lower()
    if method not in METHODS:
        raise ValueError(f"method must be one of {', '.join(METHODS)}")
    if method in REFERENCE_METHODS and not design.has_arms:
        raise ValueError(f"{method.upper()} imputation needs a comparator arm")
    if n_imputations < 2:
        raise ValueError("multiple imputation needs at least 2 imputations")
    if visit == dataset.baseline or visit not in dataset.follow_up_visits:
        raise ValueError(f"{visit!r} is not a follow-up visit of the data")
    instrument = lookup(outcome, direction)
    spec = MMRMSpec(
        outcome, "change", covariates=tuple(covariates), covariance=covariance,
        baseline_by_visit=True,
    )  # fmt: skip
    fit = fit_outcome_mmrm(dataset, design, spec)
    if not fit.converged:
        raise ValueError(f"The imputation model (MMRM) did not converge: {fit.message}")
    if visit not in [str(v) for v in fit.visits]:
        raise ValueError(f"{outcome!r} has no value at {visit!r} to model")
    frame = mmrm_frame(dataset, design, spec)
    data = build_imputation_data(
        frame, fit, arm=ARM if design.has_arms else None, covariates=list(covariates)
    )
    t = data.visit_index(visit)

    # who is used and who is left out
    everyone = _all_patients(dataset)
    in_frame = pd.Index(frame["patient_id"].astype(str).unique())
    no_value = everyone.difference(in_frame)
    left = dict(data.left_out)
    if len(no_value):
        left[REASON_NO_VALUE] = len(no_value)
    left_out = tuple((r, int(left[r])) for r in REASONS if r in left)
    left_patients = pd.concat(
        [pd.DataFrame({"patient_id": no_value.astype(str), "reason": REASON_NO_VALUE}),
         data.left_out_patients],
        ignore_index=True,
    )  # fmt: skip
    labels = data.arms if data.arms is not None else ("all",)
    observed_t = data.observed[:, t]
    per_arm = pd.DataFrame(
        [
            {
                "arm": label,
                "n_used": int(np.sum(data.arm == j)),
                "n_observed": int(np.sum((data.arm == j) & observed_t)),
                "n_imputed": int(np.sum((data.arm == j) & ~observed_t)),
            }
            for j, label in enumerate(labels)
        ]
    )
    n_info = NAnalysed(
        n_patients=len(everyone),
        n_used=data.n,
        n_left_out=sum(n for _, n in left_out),
        left_out=left_out,
        per_arm=per_arm,
        left_out_patients=left_patients,
    )

    # draws and imputations: separate streams, so adding assumptions never changes MAR's numbers
    draw_seq, impute_seq = np.random.SeedSequence(seed).spawn(2)
    summary = draw_parameters(
        fit, GLSCells.from_data(data), np.random.default_rng(draw_seq), n_imputations
    )
    methods = METHODS if design.has_arms else (MAR,)
    imps = impute_visit(
        data, summary.draws, visit, np.random.default_rng(impute_seq), methods, progress=progress
    )
    model = analysis_model(data)
    n_imputed = int(imps.imputed.sum())
    mi: dict[str, tuple[Estimate, ...]] = {}
    for name in methods:
        est, var = model.fit(imps.values[name])
        pooled = pool(est, var, float(model.df_complete))
        mi[name] = pooled_estimates(
            f"mi_{name}", pooled, model.labels, model.comparator, data.n, n_imputed
        )

    # delta adjustment and tipping point
    assumptions = [A_MAR_PRIMARY, A_MODEL, A_DRAWS if summary.theta_drawn else A_THETA_FIXED]
    assumptions += [A_ANCOVA if model.kind == ANCOVA else A_MEAN, A_RUBIN]
    if covariates:
        assumptions.append(A_COVARIATES)
    if instrument.direction is not None:
        improve_sign = 1.0 if instrument.direction == "higher" else -1.0
        assumptions.append(A_DELTA_DIRECTION)
    else:
        first = mi[MAR][0].estimate if mi[MAR] else 0.0
        improve_sign = -1.0 if first < 0 else 1.0
        assumptions.append(A_DELTA_DIRECTION_ASSUMED)
    if deltas is None:
        observed_change = data.y[observed_t, t]
        sd = float(np.std(observed_change, ddof=1)) if len(observed_change) > 1 else 1.0
        grid_deltas = default_deltas(sd)
    else:
        grid_deltas = np.asarray(deltas, dtype=float).reshape(-1)
    grid_deltas = np.unique(np.concatenate([grid_deltas, [0.0]]) + 0.0)[::-1]  # best first
    target = data.treated if design.has_arms else np.ones(data.n, dtype=bool)
    grid = delta_grid(model, imps.values[method], imps.imputed, target, grid_deltas, improve_sign)
    placebo = (
        instrument.placebo.mean_change
        if instrument.placebo is not None and instrument.direction is not None
        else None
    )
    points = tipping_points(grid, improve_sign, None if design.has_arms else placebo,
                            design.has_arms)  # fmt: skip
    tipping = TippingAnalysis(method, improve_sign, instrument.direction is None, grid, points)
    assumptions.append(A_DELTA_TREATED if design.has_arms else A_DELTA_ALL)
    uses_placebo = not design.has_arms and placebo is not None
    assumptions.append(A_TIP_PLACEBO if uses_placebo else A_TIP_CI)
    if design.has_arms:
        assumptions += [A_REFERENCE, A_REFERENCE_VARIANCE]
        if not design.randomised:
            assumptions.append(A_NOT_RANDOMISED)

    # responders: from the imputations, and as today (completers; missing = non-responder)
    responders_mi = mi_responder_rates(
        imps.values[method], data.baseline, data.arm, data.arms, instrument
    )
    nri, nri_between = _nri_tables(dataset, design, outcome, visit, direction)
    assumptions += [A_RESP_SCALE, A_NRI, A_SINGLE, A_CC]

    return SensitivityResult(
        outcome=outcome,
        visit=str(visit),
        method=method,
        n_imputations=n_imputations,
        seed=seed,
        direction=instrument.direction,
        improve_sign=improve_sign,
        arm_attribute=design.attribute if design.has_arms else None,
        comparator=design.comparator if design.has_arms else None,
        treated=tuple(design.treated) if design.has_arms else (),
        n=n_info,
        mmrm=_mmrm_estimates(fit, str(visit)),
        mmrm_fit=fit,
        mi=mi,
        tipping=tipping,
        placebo_change=placebo,
        complete_case=complete_case(data, visit),
        locf=single_imputation(data, visit, LOCF),
        bocf=single_imputation(data, visit, BOCF),
        responders_mi=responders_mi,
        responders_nri=nri,
        responders_nri_between=nri_between,
        assumptions=tuple(assumptions),
        theta_drawn=summary.theta_drawn,
        draws_rejected=summary.rejected,
        elapsed_seconds=time.perf_counter() - started,
    )
