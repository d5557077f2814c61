"""Fixed-effects design matrix as R's model.matrix builds it with treatment contrasts.

Formula: covariates + baseline (+ baseline:visit) + arm * visit (or covariates + baseline +
visit without an arm).  Terms are ordered as R's terms() orders them (all main effects in
formula order, then the two-way interactions), an interaction lists its variables in their
order of first appearance in the formula, factor columns are named "<variable><level>" for
every level but the first, and interaction columns vary the first factor fastest (Chambers &
Hastie 1992, Statistical Models in S, ch. 2).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from itertools import product

import numpy as np
import pandas as pd
from numpy.typing import NDArray

Array = NDArray[np.float64]
IntArray = NDArray[np.int64]


@dataclass(frozen=True)
class Variable:
    """A model variable: a factor (with its levels, first = reference) or a numeric covariate."""

    name: str
    levels: tuple[object, ...] | None = None  # None: numeric

    @property
    def is_factor(self) -> bool:
        """Whether the variable is categorical."""
        return self.levels is not None

    def encode(self, values: pd.Series | np.ndarray | Sequence[object]) -> Array:
        """Factor: one-hot (n, n_levels) of the given values; numeric: (n, 1) values."""
        if self.levels is None:
            return np.asarray(pd.to_numeric(pd.Series(values)), dtype=float).reshape(-1, 1)
        codes = level_codes(values, self.levels)
        if np.any(codes < 0):
            bad = sorted({str(v) for v, c in zip(values, codes, strict=True) if c < 0})
            raise ValueError(f"{self.name}: values not among the model's levels: {bad[:5]}")
        out = np.zeros((len(codes), len(self.levels)))
        out[np.arange(len(codes)), codes] = 1.0
        return out


def level_codes(
    values: pd.Series | np.ndarray | Sequence[object], levels: Sequence[object]
) -> IntArray:
    """Index of each value in `levels` (-1 if absent or missing).

    Values are factorised first, so only the distinct values are looked up; a value matches a
    level if equal to it or, failing that, if their string labels agree (CSV round trips).
    """
    codes, uniques = pd.factorize(pd.Series(values), sort=False)
    lookup = {lvl: i for i, lvl in enumerate(levels)}
    str_lookup = {str(lvl): i for i, lvl in enumerate(levels)}
    lut = np.full(len(uniques) + 1, -1, dtype=np.int64)  # last entry: missing values
    for j, u in enumerate(uniques):
        try:
            hit = lookup.get(u)
        except TypeError:  # unhashable
            hit = None
        if hit is None:
            hit = str_lookup.get(str(u))
        if hit is not None:
            lut[j] = hit
    return lut[np.where(codes < 0, len(uniques), codes)]


@dataclass(frozen=True)
class Term:
    """A model term: one variable (main effect) or a product of variables (interaction)."""

    variables: tuple[str, ...]


@dataclass(frozen=True)
class Design:
    """Column layout of the fixed effects; builds X for observed or hypothetical rows."""

    variables: Mapping[str, Variable]
    terms: tuple[Term, ...]
    columns: tuple[str, ...]
    numeric_means: Mapping[str, float]  # over the observations used in the fit (emmeans' at)

    @property
    def n_columns(self) -> int:
        """Number of columns of X (including aliased ones)."""
        return len(self.columns)

    def _term_columns(self, parts: Sequence[Array], term: Term) -> Array:
        """Columns of one term from per-variable encodings (products, first variable fastest)."""
        blocks = []
        for name, enc in zip(term.variables, parts, strict=True):
            var = self.variables[name]
            blocks.append(enc[:, 1:] if var.is_factor else enc)
        out = blocks[0]
        for b in blocks[1:]:
            # column order: first factor varies fastest, as in R
            out = (out[:, None, :] * b[:, :, None]).reshape(out.shape[0], -1)
        return out

    def matrix_from_encodings(self, enc: Mapping[str, Array]) -> Array:
        """X from per-variable encodings: factors as (n, n_levels) weights, numerics (n, 1)."""
        n = next(iter(enc.values())).shape[0] if enc else 1
        cols = [np.ones((n, 1))]
        for term in self.terms:
            cols.append(self._term_columns([enc[v] for v in term.variables], term))
        return np.hstack(cols)

    def matrix_from_codes(
        self,
        codes: Mapping[str, IntArray],
        numerics: Mapping[str, Array],
        out: Array | None = None,
    ) -> Array:
        """X from integer level codes of the factors and values of the numeric variables.

        Each term contributes at most one non-zero column per row, so X is written in place
        (no one-hot intermediates): the column is the mixed-radix index of the non-reference
        levels, first variable fastest, and the value the product of the numeric variables.
        """
        n = len(next(iter(codes.values()))) if codes else len(next(iter(numerics.values())))
        x = np.zeros((n, self.n_columns)) if out is None else out
        if out is not None:
            x[...] = 0.0
        x[:, 0] = 1.0
        rows = np.arange(n)
        col = 1
        for term in self.terms:
            idx = np.zeros(n, dtype=np.int64)
            val = np.ones(n)
            stride = 1
            for v in term.variables:
                var = self.variables[v]
                if var.levels is None:
                    val = val * numerics[v]
                    continue
                c = np.asarray(codes[v], dtype=np.int64) - 1  # reference level: no column
                val = val * (c >= 0)
                idx += stride * np.maximum(c, 0)
                stride *= len(var.levels) - 1
            if stride > 0:  # a factor with a single level contributes no column
                x[rows, col + idx] = val
            col += stride
        return x

    def matrix(self, frame: pd.DataFrame) -> Array:
        """X for the rows of `frame` (needs every model variable as a column).

        Use it to build rows for visits a patient did not attend (multiple imputation).
        """
        codes: dict[str, IntArray] = {}
        numerics: dict[str, Array] = {}
        for name, var in self.variables.items():
            if var.levels is None:
                numerics[name] = np.asarray(pd.to_numeric(frame[name]), dtype=float)
            else:
                c = level_codes(frame[name], var.levels)
                if np.any(c < 0):
                    bad = sorted({str(v) for v in frame[name][c < 0]})[:5]
                    raise ValueError(f"{name}: values not among the model's levels: {bad}")
                codes[name] = c
        if not codes and not numerics:
            return np.ones((len(frame), 1))
        return self.matrix_from_codes(codes, numerics)

    def reference_rows(self, fixed: Sequence[Mapping[str, object]]) -> Array:
        """Rows of the emmeans reference grid averaged over non-fixed factors.

        Each mapping fixes some factors to a level; other factors are averaged with equal
        weights over their levels, numeric covariates are set to their mean over the
        observations used (emmeans' defaults; Searle, Speed & Milliken 1980, Am Stat 34:216).
        Averaging a product of distinct variables over an equal-weight grid equals the product
        of the per-variable averages, so each variable is encoded by its level weights.
        """
        n = len(fixed)
        enc: dict[str, Array] = {}
        for name, var in self.variables.items():
            if var.levels is None:
                enc[name] = np.full((n, 1), self.numeric_means[name])
                continue
            k = len(var.levels)
            e = np.full((n, k), 1.0 / k)
            for i, fx in enumerate(fixed):
                if name in fx:
                    e[i] = var.encode([fx[name]])[0]
            enc[name] = e
        if not enc:
            return np.ones((n, 1))
        return self.matrix_from_encodings(enc)


def column_names(variables: Mapping[str, Variable], terms: Sequence[Term]) -> tuple[str, ...]:
    """R's model.matrix column names for the given terms (with intercept)."""
    names = ["(Intercept)"]
    for term in terms:
        per_var = []
        for v in term.variables:
            var = variables[v]
            if var.levels is None:
                per_var.append([v])
            else:
                per_var.append([f"{v}{lvl}" for lvl in var.levels[1:]])
        # product with the first variable varying fastest
        for combo in product(*reversed(per_var)):
            names.append(":".join(reversed(combo)))
    return tuple(names)


def infer_levels(values: pd.Series, given: Sequence[object] | None = None) -> tuple[object, ...]:
    """Factor levels: as given, else pandas categories, else sorted unique values."""
    if given is not None:
        return tuple(given)
    if isinstance(values.dtype, pd.CategoricalDtype):
        return tuple(values.cat.categories)
    uniq = pd.unique(values.dropna())
    try:
        return tuple(sorted(uniq))
    except TypeError:
        return tuple(sorted(uniq, key=str))


def is_categorical(values: pd.Series) -> bool:
    """Categorical if not a (non-boolean) numeric column."""
    if isinstance(values.dtype, pd.CategoricalDtype):
        return True
    return not (pd.api.types.is_numeric_dtype(values) and not pd.api.types.is_bool_dtype(values))


def build_design(
    *,
    visit: str,
    visit_levels: Sequence[object],
    arm: str | None,
    arm_levels: Sequence[object] | None,
    covariates: Sequence[str],
    covariate_levels: Mapping[str, Sequence[object]],
    baseline: str | None,
    baseline_by_visit: bool,
    numeric_means: Mapping[str, float],
) -> Design:
    """Design for `covariates + baseline (+ baseline:visit) + arm * visit` on the used rows."""
    variables: dict[str, Variable] = {}
    main: list[Term] = []
    inter: list[Term] = []
    for c in covariates:
        if c in covariate_levels:
            variables[c] = Variable(c, tuple(covariate_levels[c]))
        else:
            variables[c] = Variable(c)
        main.append(Term((c,)))
    if baseline is not None:
        variables[baseline] = Variable(baseline)
        main.append(Term((baseline,)))
    if arm is not None:
        assert arm_levels is not None
        variables[arm] = Variable(arm, tuple(arm_levels))
        main.append(Term((arm,)))
    variables[visit] = Variable(visit, tuple(visit_levels))
    main.append(Term((visit,)))
    if baseline is not None and baseline_by_visit:
        inter.append(Term((baseline, visit)))
    if arm is not None:
        # R lists an interaction's variables in their order of first appearance in the formula,
        # so after baseline:visit the arm-by-visit term is visit:arm (visit varying fastest)
        inter.append(
            Term((visit, arm) if baseline is not None and baseline_by_visit else (arm, visit))
        )
    terms = tuple(main + inter)
    means = {
        name: float(numeric_means[name]) for name, var in variables.items() if not var.is_factor
    }
    return Design(variables, terms, column_names(variables, terms), means)
