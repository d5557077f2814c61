"""The vectorised whole-cohort summary equals the per-cell paired statistics, cell by cell,
on the histogram path (large cells on a grid) and on the per-cell path."""

import numpy as np
import pandas as pd
import pytest

from analysis.ingest.pipeline import load_bytes, load_demo
from analysis.stats.compare import outcome_scale
from analysis.stats.paired import paired_statistics
from analysis.stats.summary import SUMMARY_COLUMNS, cohort_summary

NUMERIC = [c for c in SUMMARY_COLUMNS if c not in ("outcome", "label", "visit", "recommended_test",
                                                     "direction")]  # fmt: skip


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
    assert fast[["outcome", "visit", "recommended_test"]].equals(
        reference[["outcome", "visit", "recommended_test"]]
    )
    for column in NUMERIC:
        a = pd.to_numeric(fast[column], errors="coerce").to_numpy(dtype=float)
        b = pd.to_numeric(reference[column], errors="coerce").to_numpy(dtype=float)
        assert a == pytest.approx(b, rel=1e-9, abs=1e-12, nan_ok=True), column


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
