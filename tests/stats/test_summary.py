"""The vectorised whole-cohort summary equals the per-cell paired statistics, cell by cell,
on the histogram path (large cells on a grid) and on the per-cell path. The rank statistics
(R's wilcox.test: V, p, Hodges-Lehmann estimate and interval) are equal to the last bit: the
histogram path runs R's root searches over the same function values."""

import numpy as np
import pandas as pd
import pytest

from analysis.ingest.pipeline import load_bytes, load_demo
from analysis.stats.compare import outcome_scale
from analysis.stats.paired import paired_statistics
from analysis.stats.summary import (
    COUNT_COLUMNS,
    SUMMARY_COLUMNS,
    _on_grid,
    cohort_summary,
    grid_cell,
)

TEXT = ("outcome", "label", "visit", "recommended_test", "wilcoxon_method", "direction")
NUMERIC = [c for c in SUMMARY_COLUMNS if c not in TEXT]
RANKS = ["wilcoxon_v", "p_value_wilcoxon", "wilcoxon_n_zero", "hodges_lehmann", "hl_ci_low",
         "hl_ci_high", "hl_ci_level"]  # fmt: skip


def _reference(dataset) -> pd.DataFrame:
    rows = []
    for outcome in dataset.outcomes:
        table = dataset.wide(outcome)
        from analysis.instruments import lookup

        inst = lookup(outcome)
        for visit in dataset.follow_up_visits:
            if visit not in table:
                continue
            both = table[[dataset.baseline, visit]].dropna()
            if both.empty:
                continue
            r = paired_statistics(both.iloc[:, 0].to_numpy(), both.iloc[:, 1].to_numpy(),
                                  inst.direction, inst.mcid_abs,
                                  outcome_scale(dataset, outcome)).to_dict()  # fmt: skip
            r.update(outcome=outcome, label=inst.label, visit=visit)
            rows.append({k: r.get(k) for k in SUMMARY_COLUMNS})
    return pd.DataFrame(rows, columns=SUMMARY_COLUMNS)


def _assert_same(fast: pd.DataFrame, reference: pd.DataFrame) -> None:
    columns = ["outcome", "visit", "recommended_test", "wilcoxon_method"]
    assert fast[columns].equals(reference[columns])
    for column in NUMERIC:
        a = pd.to_numeric(fast[column], errors="coerce").to_numpy(dtype=float)
        b = pd.to_numeric(reference[column], errors="coerce").to_numpy(dtype=float)
        assert a == pytest.approx(b, rel=1e-9, abs=1e-12, nan_ok=True), column
        if column in RANKS:
            assert np.array_equal(a, b, equal_nan=True), column
    for column in COUNT_COLUMNS:
        assert str(fast[column].dtype) == "Int64", column


def _registry(n: int, seed: int, decimals: int | None) -> bytes:
    rng = np.random.default_rng(seed)
    ids = np.char.add("R", np.arange(n).astype(str))
    frames = []
    for outcome, mean, sd, step in (("pain_nrs", 6, 1.6, -1.8), ("vpt", 28, 8, -2.0),
                                    ("peroneal_mcv", 38, 4, 1.5)):  # fmt: skip
        base = rng.normal(mean, sd, n)
        for i, visit in enumerate(("baseline", "m3", "m12")):
            value = base if i == 0 else base + step + rng.normal(0, sd * 0.6, n)
            low, high = {"pain_nrs": (0, 10), "vpt": (0, 50), "peroneal_mcv": (0, 100)}[outcome]
            value = value.clip(low, high)
            places = 0 if outcome == "pain_nrs" else decimals
            value = np.round(value, places) if places is not None else value
            keep = rng.random(n) > (0.05 * i)
            frames.append(pd.DataFrame({"patient_id": ids[keep], "visit": visit,
                                        "outcome": outcome, "value": value[keep]}))  # fmt: skip
    return pd.concat(frames).to_csv(index=False).encode()


def test_histogram_path_equals_per_cell_statistics():
    ds = load_bytes(_registry(6200, seed=1, decimals=1), "registry.csv").dataset
    fast = cohort_summary(ds)
    assert (fast["n_pairs"] > 5000).all()  # every cell takes the histogram path
    _assert_same(fast, _reference(ds))


def test_continuous_values_fall_back_to_the_per_cell_path():
    ds = load_bytes(_registry(5200, seed=2, decimals=None), "continuous.csv").dataset
    _assert_same(cohort_summary(ds), _reference(ds))


def test_demo_summary_equals_per_cell_statistics():
    ds = load_demo().dataset
    _assert_same(cohort_summary(ds), _reference(ds))


def test_histogram_path_with_zero_changes_and_ties():
    # pain scores in whole points: many zero changes and heavy ties in every cell
    ds = load_bytes(_registry(5600, seed=3, decimals=0), "whole.csv").dataset
    fast = cohort_summary(ds)
    assert (fast["n_pairs"] > 5000).all() and (fast["wilcoxon_n_zero"] > 0).all()
    _assert_same(fast, _reference(ds))


@pytest.mark.parametrize("seed", range(12))
def test_histogram_cell_equals_paired_statistics(seed):
    """Random cells on random grids, skewed, tied, with zeros, at the size where the histogram
    path meets R's exact rule (< 50 non-zero changes) and above it."""
    rng = np.random.default_rng(seed)
    step = [1.0, 0.5, 0.1, 0.01, 0.001][seed % 5]
    for n in (30, 55, 400):
        shift, spread = rng.normal(0, 4), rng.uniform(0.5, 25)
        q = np.rint(rng.normal(shift, spread, n)).astype(np.int64)
        if seed % 3 == 0:
            q = np.rint(rng.exponential(spread, n) * rng.choice([-1, 1])).astype(np.int64)
        before = np.round(rng.uniform(0, 100, n), 3)
        after = before + q * step
        steps = _on_grid(after - before, step)
        assert steps is not None
        low = int(steps.min())
        fast = grid_cell(np.bincount(steps - low), low, step)
        reference = paired_statistics(before, after).to_dict()
        for key in ["wilcoxon_method", *RANKS]:
            assert fast[key] == reference[key], (n, key)


def test_changes_near_but_not_on_the_grid_take_the_per_cell_path():
    # float32 values: 27.3f - 25.1f is 2.1999988555908203, within 1e-6 of the 0.1 grid but
    # not within 0.25e-12, so the rounded changes are not the grid's: ranked as they are.
    d = np.float32([27.3, 5.1, 8.8]).astype(float) - np.float32([25.1, 3.2, 6.1]).astype(float)
    assert _on_grid(d, 0.1) is None
    assert _on_grid(np.array([27.3, 5.1]) - np.array([25.1, 3.2]), 0.1) is not None
