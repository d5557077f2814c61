"""Plain sentences for the missing-data analyses: the tipping point, and the assumption codes
of analysis.stats.imputation in words."""

from __future__ import annotations

from analysis.instruments import lookup
from analysis.present.format import number
from analysis.stats.imputation import SensitivityResult, TippingPoint
from analysis.stats.imputation.tipping import (
    BETTER_THAN_PLACEBO,
    NOT_BETTER,
    NOT_SIGNIFICANT,
    SIGNIFICANT_HARM,
)

ASSUMPTIONS: dict[str, str] = {
    "mar_primary": "Primary analysis assumes values are missing at random (MAR): patients who "
    "left would have continued like similar patients in their arm who stayed, given their "
    "earlier scores.",
    "imputation_model_mmrm_change_baseline_by_visit": "Missing values are drawn from the mixed "
    "model for repeated measures (change from baseline, baseline and arm at every visit, "
    "unstructured covariance).",
    "parameter_draws_approximate_bayesian_normal_theta": "Each imputation first draws the "
    "model's parameters from their estimated uncertainty, so the pooled result carries it.",
    "covariance_fixed_at_estimate": "The covariance could not be drawn (its uncertainty is not "
    "estimable); only the mean parameters were drawn, so intervals may be slightly too narrow.",
    "analysis_ancova_change_baseline_arm": "Each completed data set is analysed by ANCOVA of the "
    "change on the baseline value and the arm.",
    "analysis_mean_change": "Each completed data set gives the mean change at the visit.",
    "rubin_rules_barnard_rubin_df": "Results are combined by Rubin's rules with Barnard-Rubin "
    "degrees of freedom.",
    "covariates_shared_across_visits_in_imputation_model": "Covariates have one effect across "
    "visits in the imputation model, so the MMRM and the imputation estimates differ slightly.",
    "reference_based_after_last_observed_visit_common_covariance": "Reference-based analyses "
    "assume treated patients who left behave like the comparator arm after their last visit "
    "(J2R: at once; CIR: changing as the comparator changed; CR: as if always in the "
    "comparator arm).",
    "reference_based_rubin_variance_information_anchored": "For reference-based imputation "
    "Rubin's variance is larger than the variance over repeated trials; it keeps the share of "
    "information lost to missing values as under MAR (information-anchored), which is why it "
    "is used here (Cro et al. 2020; Seaman et al. 2014 discuss the difference).",
    "delta_added_to_imputed_values_treated_arms": "The tipping-point analysis makes the imputed "
    "values of treated patients worse by a chosen amount; observed values are not changed.",
    "delta_added_to_all_imputed_values": "The tipping-point analysis makes every imputed value "
    "worse by a chosen amount; observed values are not changed.",
    "delta_worse_direction_from_instrument": "Worse means the instrument's worse direction.",
    "delta_worse_direction_assumed_towards_no_effect": "The instrument's direction is unknown: "
    "worse is taken as the direction that shrinks the estimated effect.",
    "tipping_when_ci_includes_0": "The conclusion changes when the 95% CI includes 0.",
    "tipping_when_mean_change_reaches_placebo_response": "The conclusion changes when the mean "
    "change is no better than the published placebo response.",
    "responders_mi_proportion_scale_wald_rubin": "Responder rates from the imputations are "
    "combined on the percentage scale (Wald variance, Rubin's rules).",
    "responders_nri_missing_counted_as_non_response": "Non-responder imputation counts every "
    "patient without a value as a non-responder (conservative for the rate, not for the "
    "difference between arms).",
    "locf_bocf_single_imputation_sensitivity_only": "LOCF and BOCF are shown only as "
    "sensitivity results: they freeze a patient's score and understate uncertainty.",
    "complete_case_valid_only_if_mcar": "Completers-only results are valid only if missing "
    "values are unrelated to the outcome (MCAR).",
    "arms_not_randomised": "Patients were not randomised to the arms: arm differences may also "
    "reflect who received which treatment.",
}


def assumption_text(codes: tuple[str, ...] | list[str]) -> list[str]:
    """The assumptions in words, in the given order (unknown codes are kept as they are)."""
    return [ASSUMPTIONS.get(c, c) for c in codes]


def _points(x: float, unit: str) -> str:
    """'1.8 points', '0.38 points', '1 point': one decimal from 1 up, two below."""
    text = number(abs(x), 1 if abs(x) >= 1 else 2)
    if unit == "points" and text == "1.0":
        return "1 point"
    return f"{text} {unit}".strip()


def tipping_sentence(point: TippingPoint, outcome: str, visit: str, unit: str | None = None) -> str:
    """One plain sentence on how robust the result is to patients with missing values doing
    worse than assumed ("the result holds unless ... did at least 1.8 points worse ...")."""
    inst = lookup(outcome)
    unit = unit if unit is not None else (inst.unit or "units")
    name = inst.short_label if inst.known else outcome
    who = f"{point.arm} patients" if point.comparator else "patients"
    worst = _points(point.worst_delta, unit)
    if point.criterion == BETTER_THAN_PLACEBO:
        benchmark = f"the published placebo response ({number(point.reference_value, 2)} {unit})"
        if point.conclusion_at_0 == NOT_BETTER:
            return (
                f"Even if patients without a {visit} value did as well as similar patients who "
                f"stayed, the mean change in {name} is no better than {benchmark}."
            )
        if point.tipping_delta is None:
            return (
                f"The mean change in {name} at {visit} stays better than {benchmark} even if "
                f"patients without a value did {worst} worse than similar patients who stayed."
            )
        return (
            f"The mean change in {name} at {visit} stays better than {benchmark} unless patients "
            f"without a value did at least {_points(point.tipping_delta, unit)} worse than "
            "similar patients who stayed."
        )
    subject = (
        f"The difference in {name} at {visit} between {point.arm} and {point.comparator}"
        if point.comparator
        else f"The mean change in {name} at {visit}"
    )
    if point.conclusion_at_0 == NOT_SIGNIFICANT:
        return (
            f"{subject} is not statistically significant even if patients with missing values "
            "did like similar patients who stayed, so there is no conclusion for worse "
            "assumptions to overturn."
        )
    if point.conclusion_at_0 == SIGNIFICANT_HARM:
        return (
            f"{subject} favours {point.comparator or 'no change'}; assuming that {who} with "
            "missing values did worse only strengthens that."
        )
    if point.tipping_delta is None:
        return (
            f"{subject} stays statistically significant even if {who} with missing values did "
            f"{worst} worse than similar patients who stayed (the largest shift examined)."
        )
    return (
        f"{subject} stays statistically significant unless {who} with missing values did at "
        f"least {_points(point.tipping_delta, unit)} worse than similar patients who stayed."
    )


def tipping_sentences(result: SensitivityResult) -> list[str]:
    """tipping_sentence for each treated arm (or the one mean change)."""
    return [tipping_sentence(p, result.outcome, result.visit) for p in result.tipping.points]
