"""Missing data: multiple imputation from the MMRM under MAR, reference-based imputation (J2R,
CR, CIR), delta adjustment with the tipping point, LOCF/BOCF as labelled sensitivity analyses,
and Rubin's rules with Barnard-Rubin degrees of freedom. Numbers only.

Entry point: `sensitivity_analysis(dataset, design, outcome, visit, ...) -> SensitivityResult`.
The building blocks work on arrays (`build_imputation_data` from an MMRM frame and fit), so they
can be tested and simulated without a Dataset.
"""

from analysis.stats.imputation.analysis import AnalysisModel, analysis_model
from analysis.stats.imputation.data import ImputationData, build_imputation_data
from analysis.stats.imputation.draws import (
    DrawSummary,
    GLSCells,
    ParameterDraw,
    draw_parameters,
    estimate_draw,
)
from analysis.stats.imputation.engine import VisitImputations, impute_visit
from analysis.stats.imputation.reference_based import CIR, CR, J2R, MAR, METHODS, joint_means
from analysis.stats.imputation.responders_mi import mi_responder_rates
from analysis.stats.imputation.results import Estimate, estimates_frame, json_ready
from analysis.stats.imputation.rubin import Pooled, RubinResult, barnard_rubin_df, pool, rubin
from analysis.stats.imputation.sensitivity import (
    NAnalysed,
    SensitivityResult,
    default_deltas,
    sensitivity_analysis,
)
from analysis.stats.imputation.single import carried_forward, complete_case, single_imputation
from analysis.stats.imputation.tipping import (
    TippingAnalysis,
    TippingPoint,
    delta_grid,
    tipping_points,
)

__all__ = [
    "CIR",
    "CR",
    "J2R",
    "MAR",
    "METHODS",
    "AnalysisModel",
    "DrawSummary",
    "Estimate",
    "GLSCells",
    "ImputationData",
    "NAnalysed",
    "ParameterDraw",
    "Pooled",
    "RubinResult",
    "SensitivityResult",
    "TippingAnalysis",
    "TippingPoint",
    "VisitImputations",
    "analysis_model",
    "barnard_rubin_df",
    "build_imputation_data",
    "carried_forward",
    "complete_case",
    "default_deltas",
    "delta_grid",
    "draw_parameters",
    "estimate_draw",
    "estimates_frame",
    "impute_visit",
    "joint_means",
    "json_ready",
    "mi_responder_rates",
    "pool",
    "rubin",
    "sensitivity_analysis",
    "single_imputation",
    "tipping_points",
]
