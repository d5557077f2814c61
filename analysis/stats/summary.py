"""Whole-cohort summary: every outcome x follow-up visit against baseline, vectorised.

The same numbers as analysis.stats.paired.paired_statistics cell by cell (tested), computed without
sorting the rows: patients, outcomes and visits become integer codes, each follow-up value finds
its baseline by array indexing, and moments come from np.bincount per cell.

Cells with more than 5000 pairs whose changes lie on a grid (whole points, 0.5, 0.1, ... as
scores and rounded measurements do) take the histogram path. There R's wilcox.test uses the
normal approximation, and its statistic, estimate and interval depend on the changes only
through the distinct values and their counts, so they come from the cell's histogram:
- the grid is accepted only when every change is within 0.25e-12 of it, so each bin holds one
  double, the one paired_statistics ranks (after - before rounded to 12 decimals);
- V, its tie correction and p from the ranks of the distinct values, weighted by their counts;
- the Hodges-Lehmann estimate and interval as R finds them, by the same root searches
  (R's uniroot, run by analysis.stats.rank_tests) over the same function of the shift d. That
  function is evaluated from the histogram: where 2d is not within 1e-6 grid steps of a grid
  point (no change equals d and no two changes lie at the same distance from it), V is the
  number of Walsh averages above d, read from the histogram's self-convolution, and the tie
  correction is that of the histogram; anywhere else the ranks of |x - d| are computed as
  rank_tests computes them, per distinct value. Both give the double rank_tests gives, so the
  roots are the same.
Other cells (fewer pairs, where Shapiro-Wilk and the exact test apply, or changes off a grid)
are computed by paired_statistics itself.
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd

from analysis.ingest.codes import codes_of, label_codes
from analysis.ingest.dataset import Dataset
from analysis.instruments import Direction, Scale, lookup
from analysis.stats import rank_tests as rt
from analysis.stats.compare import outcome_scale
from analysis.stats.paired import (
    CHANGE_DECIMALS,
    CONF_LEVEL,
    SHAPIRO_MAX,
    hodges_lehmann_values,
    paired_statistics,
    primary_test,
)

SUMMARY_COLUMNS = [
    "outcome", "label", "visit", "n_pairs", "mean_before", "mean_after", "mean_change",
    "change_ci_low", "change_ci_high", "p_value_t", "wilcoxon_v", "p_value_wilcoxon",
    "wilcoxon_method", "wilcoxon_n_zero", "hodges_lehmann", "hl_ci_low", "hl_ci_high",
    "hl_ci_level", "recommended_test", "p_value_recommended", "n_improved", "n_worsened",
    "pct_improved", "n_improved_mcid", "pct_improved_mcid", "direction",
]  # fmt: skip
COUNT_COLUMNS = ["n_pairs", "wilcoxon_n_zero", "n_improved", "n_worsened", "n_improved_mcid"]
_GRIDS = (1.0, 0.5, 0.25, 0.1, 0.05, 0.02, 0.01, 0.005, 0.001)
_MAX_SPAN = 20_000
# A change within this distance of a grid point rounds (to 12 decimals) to the same double as
# the grid point does, for changes below _MAX_VALUE in size (float error there < 1.2e-13).
GRID_TOLERANCE = 0.25 * 10.0**-CHANGE_DECIMALS
_MAX_VALUE = 1000.0
# Shifts d with 2d/step this close to a whole number are evaluated rank by rank.
_MARGIN = 1e-6


def _grid(d: np.ndarray) -> tuple[float, np.ndarray] | None:
    """The coarsest step that every change is a whole multiple of (to rounding error), with
    the changes in steps (integers), or None."""
    if d.size == 0:
        return None
    sample = d[:: max(1, d.size // 10_000)]  # rules out coarse steps cheaply
    for step in _GRIDS:
        if _on_grid(sample, step) is None:
            continue
        steps = _on_grid(d, step)
        if steps is not None:
            return step, steps
    return None


def _on_grid(d: np.ndarray, step: float) -> np.ndarray | None:
    """``d`` in whole steps (int64) when every value is within GRID_TOLERANCE of one, else
    None."""
    q = d / step
    rounded = np.rint(q)
    q -= rounded
    np.abs(q, out=q)
    if q.max() * step >= GRID_TOLERANCE:
        return None
    low, high = float(rounded.min()), float(rounded.max())
    if high - low >= _MAX_SPAN or max(-low, high) * step >= _MAX_VALUE:
        return None
    return rounded.astype(np.int64)


def _pairs(dataset: Dataset, outcomes: list[str]):
    """Arrays for every (patient, outcome) with a baseline and a follow-up value."""
    long = dataset.long
    visits = dataset.visits
    o = codes_of(long["outcome"], outcomes)
    v = codes_of(long["visit"], visits)
    p, patients = label_codes(long["patient_id"])
    x = long["value"].to_numpy(dtype=float)
    n_o, n_v = len(outcomes), len(visits)
    # 32-bit keys when they fit: half the memory traffic over tens of millions of rows.
    wide = np.int32 if (len(patients) + 1) * n_o < 2**31 else np.int64
    key = p.astype(wide, copy=False) * np.asarray(n_o, dtype=wide) + o
    at_base = v == visits.index(dataset.baseline)
    base = np.full((len(patients) + 1) * n_o, np.nan)
    base[key[at_base]] = x[at_base]
    before = base[key]  # every row's baseline value (NaN when the patient has none)
    del key, base
    keep = ~np.isnan(before) & ~at_base
    cell = o.astype(np.int32)[keep] * n_v + v[keep]
    return cell, before[keep], x[keep], n_o * n_v


class GridRanks:
    """R's signed-rank statistic of x - d for the non-zero changes of one cell, given as their
    distinct values on a grid (step x q, q ascending) and counts."""

    def __init__(self, q: np.ndarray, counts: np.ndarray, step: float) -> None:
        self.values = np.round(q * step, CHANGE_DECIMALS)  # the doubles paired_statistics ranks
        self.counts = counts
        self.n = int(counts.sum())
        self.step = step
        self.q_low = int(q[0])
        hist = np.zeros(int(q[-1]) - self.q_low + 1)
        hist[q - self.q_low] = counts
        # Walsh averages (x_i + x_j) / 2, i <= j, on the grid: ordered pairs by
        # self-convolution, plus i = j, halved; above[k] counts those with q_i + q_j >= 2 q_low + k.
        if len(hist) <= 4000:
            conv = np.convolve(hist, hist)
        else:
            from scipy import signal  # imported when used: start-up stays light

            conv = signal.fftconvolve(hist, hist)
        diagonal = np.zeros(len(conv))
        diagonal[::2] = hist
        walsh = (np.rint(conv) + diagonal) / 2
        self._above = [*np.cumsum(walsh[::-1])[::-1].tolist(), 0.0]
        self.tie_correction_sum = rt.tie_correction_sum(counts)
        # Off the jump points the ranks follow from the grid (float error far below the gaps),
        # and the tie sum is exact in any order while sum(t^3) < 2^53.
        largest = float(np.abs(self.values).max())
        self._from_grid = self.n**3 < 2**53 and largest < step * 1e8
        self._evaluated: dict[float, tuple[float, int, float]] = {}  # the ends, searched twice

    def z(self, d: float, corrected: bool) -> float:
        """The standardised statistic of x - d, as rank_tests computes it."""
        v, n, tie_sum = self.parts(d)
        return rt.signed_rank_z(v, n, tie_sum, corrected)[0]

    def parts(self, d: float) -> tuple[float, int, float]:
        """V, n and tie sum of x - d with zeros dropped (rank_tests._signed_rank_parts)."""
        if self._from_grid:
            t = 2 * d / self.step
            if abs(t - round(t)) > _MARGIN:  # no zero, no tie across signs: V counts Walsh
                k = math.floor(t) + 1 - 2 * self.q_low  # averages above d (Tukey)
                v = self._above[min(max(k, 0), len(self._above) - 1)]
                return v, self.n, self.tie_correction_sum
        parts = self._evaluated.get(d)
        if parts is None:
            parts = self._evaluated[d] = self.exact_parts(d)
        return parts

    def exact_parts(self, d: float) -> tuple[float, int, float]:
        """The ranks of |x - d| per distinct value, in rank_tests' operations and order."""
        a = self.values - d
        first_zero = int(np.searchsorted(a, 0.0, side="left"))
        after_zero = int(np.searchsorted(a, 0.0, side="right"))
        magnitudes = np.concatenate((-a[:first_zero][::-1], a[after_zero:]))
        if len(magnitudes) == 0:
            return 0.0, 0, 0.0
        counts = np.concatenate((self.counts[:first_zero][::-1], self.counts[after_zero:]))
        order = np.argsort(magnitudes, kind="stable")
        ordered = magnitudes[order]
        new = np.empty(len(ordered), dtype=bool)
        new[0] = True
        np.not_equal(ordered[1:], ordered[:-1], out=new[1:])
        starts = np.flatnonzero(new)
        weights = counts[order]
        sizes = np.add.reduceat(weights, starts)
        positives = np.add.reduceat(weights * (order >= first_zero), starts)
        ranks_before = np.cumsum(sizes) - sizes
        v = float((positives * (ranks_before + (sizes + 1) / 2)).sum())
        return v, int(sizes.sum()), rt.tie_correction_sum(sizes)

    def median(self) -> float:
        """np.median of the changes."""
        cumulative = np.cumsum(self.counts)
        lower = self.values[np.searchsorted(cumulative, (self.n + 1) // 2)]
        upper = self.values[np.searchsorted(cumulative, self.n // 2 + 1)]
        return float((lower + upper) / 2)


def grid_normal_ci(ranks: GridRanks, conf_level: float) -> tuple[float, float, float, float]:
    """rank_tests._signed_rank_normal_ci (R's wilcox.test, correct = TRUE) on a GridRanks:
    the same steps, the same root searches, the same function values."""
    tol, warnings = rt.TOL_ROOT, list[str]()  # R's warnings: not reported by the summary
    w = ranks.z
    mumin, mumax = float(ranks.values[0]), float(ranks.values[-1])
    w_min = w(mumin, True)
    w_max = w(mumax, True) if math.isfinite(w_min) else math.nan
    if not math.isfinite(w_max):
        return (mumin + mumax) / 2, math.nan, math.nan, 0.0
    alpha = 1 - conf_level
    level = conf_level
    while w_min - rt.z_upper(alpha / 2) < 0 or w_max - rt.z_lower(alpha / 2) > 0:
        alpha *= 2
    if alpha >= 1 or 1 - conf_level < alpha * 0.75:
        level = 1 - min(1.0, alpha)

    def root(zq: float) -> float:
        return rt.uniroot(
            lambda d: w(d, True) - zq, mumin, mumax, w_min - zq, w_max - zq, tol, warnings
        )

    try:
        if alpha < 1:
            low, high = root(rt.z_upper(alpha / 2)), root(rt.z_lower(alpha / 2))
        else:
            low = high = ranks.median()
    except rt.NoRootError:
        low = high = math.nan
    try:
        estimate = rt.uniroot(
            lambda d: w(d, False), mumin, mumax, w(mumin, False), w(mumax, False), tol, warnings
        )
    except rt.NoRootError:
        estimate = math.nan
    return estimate, low, high, level


def grid_cell(hist: np.ndarray, low: int, step: float) -> dict:
    """Wilcoxon test and Hodges-Lehmann estimate/interval of one cell from its histogram of
    changes in grid steps (hist[i] = number of patients with q = low + i), as paired_statistics
    gives them."""
    bins = np.flatnonzero(hist)
    q = low + bins
    counts = hist[bins].astype(np.int64)
    zero = q == 0
    n_zero = int(counts[zero].sum())
    q, counts = q[~zero], counts[~zero]
    n_used = int(counts.sum())
    out: dict = {"wilcoxon_n_zero": n_zero}
    if n_used == 0:
        return out | dict.fromkeys(
            ("wilcoxon_v", "p_value_wilcoxon", "wilcoxon_method", "hodges_lehmann", "hl_ci_low",
             "hl_ci_high", "hl_ci_level")
        )  # fmt: skip
    if n_used < rt.EXACT_LIMIT:  # the exact test may apply: rank_tests on the values
        values = np.round(np.append(q, 0) * step, CHANGE_DECIMALS)
        test = rt.wilcoxon_signed_rank(np.repeat(values, [*counts, n_zero]), conf_level=CONF_LEVEL)
        v, p, method = test.v, test.p_value, test.method
        interval = (test.estimate, test.ci_low, test.ci_high, test.ci_level_achieved)
        coverage = test.ci_coverage
    else:
        ranks = GridRanks(q, counts, step)
        v, n, tie_sum = ranks.exact_parts(0.0)
        p = rt.two_sided_normal_p(rt.signed_rank_z(v, n, tie_sum, True)[0])
        method = rt.METHOD_NORMAL_CC
        interval, coverage = grid_normal_ci(ranks, CONF_LEVEL), None
    hodges_lehmann, _ = hodges_lehmann_values(*interval, coverage, n_used)
    return (
        out | hodges_lehmann | {"wilcoxon_v": v, "p_value_wilcoxon": p, "wilcoxon_method": method}
    )


def cohort_summary(
    dataset: Dataset, directions: dict[str, Direction] | None = None
) -> pd.DataFrame:
    """Every outcome x every follow-up visit against baseline, one row each."""
    from scipy import stats  # imported when used: start-up stays light

    directions = directions or {}
    outcomes = dataset.outcomes
    cell, before, after, n_cells = _pairs(dataset, outcomes)
    d = after - before
    n = np.bincount(cell, minlength=n_cells)
    with np.errstate(invalid="ignore", divide="ignore"):
        mean_b = np.bincount(cell, before, n_cells) / n
        mean_a = np.bincount(cell, after, n_cells) / n
        mean_d = np.bincount(cell, d, n_cells) / n
        ss = np.bincount(cell, (d - mean_d[cell]) ** 2, n_cells)
        sd = np.sqrt(ss / (n - 1))
        se = sd / np.sqrt(n)
        t = mean_d / se
        df = n - 1
        p_t = 2 * stats.t.sf(np.abs(t), df)
        half = stats.t.ppf(0.975, df) * se
    on_grid = _grid(d)
    step, q = on_grid if on_grid is not None else (None, None)
    # Large cells on a grid: everything from one 2-D histogram, no sort. Others: per cell.
    quick = (n > SHAPIRO_MAX) if step is not None else np.zeros(n_cells, dtype=bool)
    hist2d: np.ndarray | None = None
    low = 0
    if quick.any():
        assert q is not None and step is not None  # quick cells exist only on a grid
        cell_q = cell
        if not quick.all():
            rows_q = quick[cell]
            q, cell_q = q[rows_q], cell[rows_q]
        low = int(q.min())
        width = int(q.max()) - low + 1
        q -= low
        q += cell_q.astype(np.int64) * width  # one bincount over (cell, change) pairs
        hist2d = np.bincount(q, minlength=n_cells * width).reshape(n_cells, width)
        del q
    slow_rows = np.flatnonzero(~quick[cell])
    slow_rows = slow_rows[np.argsort(cell[slow_rows], kind="stable")]
    slow_starts = np.concatenate([[0], np.cumsum(np.where(quick, 0, n))])
    n_v = len(dataset.visits)
    scales = {o: outcome_scale(dataset, o) for o in outcomes}
    rows = []
    for c in np.flatnonzero(n):
        outcome = outcomes[c // n_v]
        visit = dataset.visits[c % n_v]
        if visit == dataset.baseline:
            continue
        instrument = lookup(outcome, directions.get(outcome))
        if not quick[c]:
            index = slow_rows[slow_starts[c] : slow_starts[c + 1]]
            result = paired_statistics(
                before[index],
                after[index],
                instrument.direction,
                instrument.mcid_abs,
                scales[outcome],
            ).to_dict()
            result.update(outcome=outcome, label=instrument.label, visit=visit)
            rows.append({k: result.get(k) for k in SUMMARY_COLUMNS})
            continue
        assert hist2d is not None and step is not None  # quick cells exist only on a grid
        hist = hist2d[c]
        nonempty = np.flatnonzero(hist)
        cell_hist = hist[nonempty[0] : nonempty[-1] + 1]
        cell_low = low + int(nonempty[0])
        row = moments_row(n[c], mean_b[c], mean_a[c], mean_d[c], sd[c], half[c], p_t[c])
        row.update(outcome=outcome, label=instrument.label, visit=visit)
        row.update(grid_cell(cell_hist, cell_low, step))
        recommend_large(row, scales[outcome])
        direction_counts(row, cell_hist, cell_low, step, instrument.direction, instrument.mcid_abs)
        rows.append({k: row.get(k) for k in SUMMARY_COLUMNS})
    frame = pd.DataFrame(rows, columns=SUMMARY_COLUMNS)
    # Counts stay integers where some rows have none (unknown direction): nullable integers,
    # which to_dict gives as int or None (never 5711.0).
    return frame.astype({column: "Int64" for column in COUNT_COLUMNS})


def _finite(x) -> float | None:
    return float(x) if np.isfinite(x) else None


def moments_row(
    n: int, mean_b: float, mean_a: float, mean_d: float, sd: float, half: float, p_t: float
) -> dict:
    """The mean-based columns of one cell (t interval and p only where the change varies)."""
    varies = bool(sd > 1e-9 * max(1.0, abs(mean_d)))  # as paired_statistics
    return {
        "n_pairs": int(n),
        "mean_before": float(mean_b),
        "mean_after": float(mean_a),
        "mean_change": float(mean_d),
        "change_ci_low": _finite(mean_d - half) if varies else None,
        "change_ci_high": _finite(mean_d + half) if varies else None,
        "p_value_t": _finite(p_t) if varies else None,
    }


def recommend_large(row: dict, scale: Scale) -> None:
    """The primary test of a large cell, by the same rule as paired_statistics."""
    choice = primary_test(
        scale, row["p_value_t"] is not None, row.get("p_value_wilcoxon") is not None
    )
    if choice is None:
        test, p = None, None
    elif choice == "wilcoxon":
        test, p = ("Wilcoxon signed-rank test", row["p_value_wilcoxon"])
    else:
        test, p = ("paired t-test", row["p_value_t"])
    row["recommended_test"], row["p_value_recommended"] = test, p


def direction_counts(row: dict, hist, low: int, step: float, direction, mcid) -> None:
    """Improved / worsened counts from the cell's histogram of changes."""
    row["direction"] = direction
    if direction is None:
        return
    changes = np.round((low + np.arange(len(hist))) * step, CHANGE_DECIMALS)
    better = -changes if direction == "lower" else changes
    n = int(hist.sum())
    row["n_improved"] = int(hist[better > 0].sum())
    row["n_worsened"] = int(hist[better < 0].sum())
    row["pct_improved"] = 100 * row["n_improved"] / n
    if mcid is not None:
        row["n_improved_mcid"] = int(hist[better >= mcid - 1e-9].sum())
        row["pct_improved_mcid"] = 100 * row["n_improved_mcid"] / n
