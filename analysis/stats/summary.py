"""Whole-cohort summary: every outcome x follow-up visit against baseline, vectorised.

The same numbers as analysis.stats.paired.paired_statistics cell by cell (tested), computed without
sorting the rows: patients, outcomes and visits become integer codes, each follow-up value finds
its baseline by array indexing, and moments come from np.bincount per cell. When the changes lie
on a grid (whole points, 0.5, 0.1, ... as scores and rounded measurements do), each cell's
histogram of changes gives the Wilcoxon signed-rank statistic with its tie correction (average
ranks of |d| from cumulative counts), and the histogram's self-convolution gives the multiset of
Walsh averages, hence the Hodges-Lehmann estimate and its interval. Cells that need the exact
signed-rank distribution (n < 50, no ties, no zeros), Shapiro-Wilk (3..5000 pairs), or changes
not on a grid are computed by the per-cell functions.
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
from scipy import stats

from analysis.ingest.codes import codes_of, label_codes
from analysis.ingest.dataset import Dataset
from analysis.instruments import Direction, Scale, lookup
from analysis.stats.compare import outcome_scale
from analysis.stats.paired import SHAPIRO_MAX, paired_statistics, primary_test

SUMMARY_COLUMNS = [
    "outcome", "label", "visit", "n_pairs", "mean_before", "mean_after", "mean_change",
    "change_ci_low", "change_ci_high", "p_value_t", "wilcoxon_v", "p_value_wilcoxon",
    "hodges_lehmann", "recommended_test", "p_value_recommended", "n_improved", "n_worsened",
    "pct_improved", "n_improved_mcid", "pct_improved_mcid", "direction",
]  # fmt: skip
_GRIDS = (1.0, 0.5, 0.25, 0.1, 0.05, 0.02, 0.01, 0.005, 0.001)
_MAX_SPAN = 20_000


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
    """``d`` in whole steps (int64) when every value is one to rounding error, else None."""
    q = d / step
    rounded = np.rint(q)
    q -= rounded
    np.abs(q, out=q)
    if q.max() >= 1e-6 or np.ptp(rounded) >= _MAX_SPAN:
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


def _order_statistic(cum: np.ndarray, values: np.ndarray, k: int) -> float:
    return float(values[np.searchsorted(cum, k)])


def _grid_cell(hist: np.ndarray, low: int, step: float) -> dict:
    """Wilcoxon (normal approximation) and Hodges-Lehmann from one cell's histogram of integer
    changes q (hist[i] = number of patients with q = low + i)."""
    n = int(hist.sum())
    top = low + len(hist) - 1
    zeros = int(hist[-low]) if low <= 0 <= top else 0
    nonzero = n - zeros
    span = max(abs(low), abs(top)) + 1
    positive = np.zeros(span, dtype=np.int64)
    negative = np.zeros(span, dtype=np.int64)
    values = np.arange(low, top + 1)
    positive[values[values > 0]] = hist[values > 0]
    negative[-values[values < 0]] = hist[values < 0]
    absolute = positive + negative
    absolute[0] = 0
    average_rank = np.cumsum(absolute) - absolute + (absolute + 1) / 2
    v_stat = float((positive * average_rank).sum())
    out = {"v": v_stat, "p_wilcoxon": None}  # large cells: the normal approximation, as R
    if nonzero:
        mean = nonzero * (nonzero + 1) / 4
        sigma = math.sqrt(
            nonzero * (nonzero + 1) * (2 * nonzero + 1) / 24
            - float((absolute.astype(float) ** 3 - absolute).sum()) / 48
        )
        z = v_stat - mean
        z = (z - math.copysign(0.5, z) if z else 0.0) / sigma if sigma > 0 else 0.0
        out["p_wilcoxon"] = min(1.0, 2 * float(stats.norm.sf(abs(z))))
    # Walsh sums over the grid: ordered pairs by self-convolution, plus i = j, halved.
    hist_f = hist.astype(float)
    if len(hist) <= 4000:
        conv = np.convolve(hist_f, hist_f)
    else:
        from scipy import signal  # 0.2 s to import: only for very wide histograms

        conv = signal.fftconvolve(hist_f, hist_f)
    diagonal = np.zeros(len(conv))
    diagonal[::2] = hist_f
    cum = np.cumsum((np.rint(conv) + diagonal) / 2)
    sums = (2 * low + np.arange(len(conv))) * step / 2
    total = n * (n + 1) // 2
    if total % 2:
        out["hodges_lehmann"] = _order_statistic(cum, sums, (total + 1) // 2)
    else:
        out["hodges_lehmann"] = (
            _order_statistic(cum, sums, total // 2) + _order_statistic(cum, sums, total // 2 + 1)
        ) / 2
    return out


def cohort_summary(
    dataset: Dataset, directions: dict[str, Direction] | None = None
) -> pd.DataFrame:
    """Every outcome x every follow-up visit against baseline, one row each."""
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
        ranks = _grid_cell(cell_hist, cell_low, step)
        row = _moments_row(c, n, mean_b, mean_a, mean_d, sd, half, p_t)
        row.update(outcome=outcome, label=instrument.label, visit=visit)
        row.update(wilcoxon_v=ranks["v"], p_value_wilcoxon=ranks["p_wilcoxon"],
                   hodges_lehmann=ranks["hodges_lehmann"])  # fmt: skip
        _recommend_large(row, scales[outcome])
        _direction_counts(row, cell_hist, cell_low, step, instrument.direction, instrument.mcid_abs)
        rows.append({k: row.get(k) for k in SUMMARY_COLUMNS})
    return pd.DataFrame(rows, columns=SUMMARY_COLUMNS)


def _finite(x) -> float | None:
    return float(x) if np.isfinite(x) else None


def _moments_row(c, n, mean_b, mean_a, mean_d, sd, half, p_t) -> dict:
    varies = bool(sd[c] > 1e-9 * max(1.0, abs(mean_d[c])))  # as paired_statistics
    return {
        "n_pairs": int(n[c]),
        "mean_before": float(mean_b[c]),
        "mean_after": float(mean_a[c]),
        "mean_change": float(mean_d[c]),
        "change_ci_low": _finite(mean_d[c] - half[c]) if varies else None,
        "change_ci_high": _finite(mean_d[c] + half[c]) if varies else None,
        "p_value_t": _finite(p_t[c]) if varies else None,
    }


def _recommend_large(row: dict, scale: Scale) -> None:
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


def _direction_counts(row: dict, hist, low: int, step: float, direction, mcid) -> None:
    """Improved / worsened counts from the cell's histogram of changes."""
    row["direction"] = direction
    if direction is None:
        return
    changes = (low + np.arange(len(hist))) * step
    better = -changes if direction == "lower" else changes
    n = int(hist.sum())
    row["n_improved"] = int(hist[better > 0].sum())
    row["n_worsened"] = int(hist[better < 0].sum())
    row["pct_improved"] = 100 * row["n_improved"] / n
    if mcid is not None:
        row["n_improved_mcid"] = int(hist[better >= mcid - 1e-9].sum())
        row["pct_improved_mcid"] = 100 * row["n_improved_mcid"] / n
