"""Mixed model for repeated measures (MMRM) in numpy/scipy, matching the R package mmrm.

`fit_mmrm` fits y_i ~ N(X_i beta, Sigma_i) by REML or ML with one of nine covariance structures,
Satterthwaite or Kenward-Roger degrees of freedom, and emmeans-style LS means and contrasts.
"""

from analysis.stats.mmrm.covariance import STRUCTURES, CovarianceStructure
from analysis.stats.mmrm.design import Design
from analysis.stats.mmrm.fit import DF_METHODS, fit_mmrm
from analysis.stats.mmrm.result import ContrastResult, FTestResult, MMRMResult
from analysis.stats.mmrm.selection import compare_covariances, fit_structures, structure_table

__all__ = [
    "DF_METHODS",
    "STRUCTURES",
    "ContrastResult",
    "CovarianceStructure",
    "Design",
    "FTestResult",
    "MMRMResult",
    "compare_covariances",
    "fit_mmrm",
    "fit_structures",
    "structure_table",
]
