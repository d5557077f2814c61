"""Benchmarks (`make bench`): how loading and the whole-cohort summary grow with cohort size.

Synthetic cohorts of N patients × 8 outcomes × 5 visits are written as Parquet by a seeded
generator, then timed in one run: load + validation, the whole-cohort summary, and beside it
the floor (one pandas groupby-mean over the same rows) and the straightforward approach (a loop
calling scipy.stats per outcome × visit cell). Prints a table and writes build/bench.csv.
Not part of the test suite: no test asserts a time.

    python -m analysis.bench [--sizes 1000,10000,100000]
"""

from __future__ import annotations

import argparse
import io
import platform
import resource
import time
from pathlib import Path

import numpy as np
import pandas as pd
from scipy import stats

from analysis.paired import hodges_lehmann
from analysis.source import load_bytes
from analysis.summary import cohort_summary

OUTCOMES = {  # code: (baseline mean, SD, low, high, mean change per follow-up)
    "pain_nrs": (6.0, 1.6, 0, 10, -1.8),
    "sleep_interference": (5.4, 2.0, 0, 10, -1.3),
    "tcss": (12.6, 2.2, 0, 19, -3.5),
    "mnsi_exam": (5.6, 1.5, 0, 10, -0.8),
    "monofilament": (5.2, 2.0, 0, 10, 0.8),
    "vpt": (28.0, 8.0, 0, 50, -2.0),
    "peroneal_mcv": (38.2, 4.0, 0, 100, 2.0),
    "norfolk_qol": (46.0, 15.0, -4, 136, -8.0),
}
VISITS = ["baseline", "m1", "m3", "m6", "m12"]


def synthetic_cohort(n_patients: int, seed: int = 7) -> pd.DataFrame:
    """Long table, vectorised: N × 8 outcomes × 5 visits with 10% of follow-up values missing."""
    rng = np.random.default_rng(seed)
    ids = np.char.add("P", np.arange(n_patients).astype(str))
    frames = []
    for code, (mean, sd, low, high, change) in OUTCOMES.items():
        base = rng.normal(mean, sd, n_patients)
        for i, visit in enumerate(VISITS):
            values = base if i == 0 else base + change + rng.normal(0, sd * 0.6, n_patients)
            keep = np.ones(n_patients, bool) if i == 0 else rng.random(n_patients) > 0.1
            frames.append(
                pd.DataFrame(
                    {
                        "patient_id": ids[keep],
                        "visit": visit,
                        "outcome": code,
                        "value": np.round(values.clip(low, high), 1)[keep],
                    }
                )
            )
    return pd.concat(frames, ignore_index=True)


def _timed(function):
    start = time.perf_counter()
    result = function()
    return result, time.perf_counter() - start


def _loop_baseline(long: pd.DataFrame) -> int:
    """The straightforward approach: pivot and call scipy per outcome × visit cell."""
    cells = 0
    for _, group in long.groupby("outcome"):
        table = group.pivot(index="patient_id", columns="visit", values="value")
        for visit in VISITS[1:]:
            pair = table[["baseline", visit]].dropna()
            stats.ttest_rel(pair[visit], pair["baseline"])
            stats.wilcoxon(pair[visit] - pair["baseline"], correction=True, method="asymptotic")
            cells += 1
    return cells


def run(sizes: list[int]) -> pd.DataFrame:
    rows = []
    for n in sizes:
        long = synthetic_cohort(n)
        buffer = io.BytesIO()
        long.to_parquet(buffer, index=False)
        data = buffer.getvalue()
        loaded, t_load = _timed(lambda data=data: load_bytes(data, "bench.parquet"))
        dataset = loaded.dataset
        _, t_summary = _timed(lambda dataset=dataset: cohort_summary(dataset))
        _, t_floor = _timed(lambda long=long: long.groupby(["outcome", "visit"])["value"].mean())
        _, t_loop = _timed(lambda long=long: _loop_baseline(long))
        changes = np.round(np.random.default_rng(1).normal(-1, 2, n), 1)
        _, t_hl = _timed(lambda changes=changes: hodges_lehmann(changes, exact=False))
        rows.append(
            {
                "patients": n,
                "rows": len(long),
                "load_s": round(t_load, 3),
                "summary_s": round(t_summary, 3),
                "groupby_floor_s": round(t_floor, 4),
                "scipy_loop_s": round(t_loop, 3),
                "summary_vs_floor": round(t_summary / t_floor, 1),
                "hodges_lehmann_s": round(t_hl, 3),
                "peak_rss_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024),
            }
        )
        print(pd.DataFrame(rows[-1:]).to_string(index=False, header=len(rows) == 1), flush=True)
    return pd.DataFrame(rows)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--sizes", default="1000,10000,100000")
    args = parser.parse_args()
    sizes = [int(s) for s in args.sizes.split(",")]
    print(f"machine: {platform.machine()}, {platform.processor() or 'cpu'}, "
          f"python {platform.python_version()}, pandas {pd.__version__}")  # fmt: skip
    table = run(sizes)
    out = Path("build")
    out.mkdir(exist_ok=True)
    table.to_csv(out / "bench.csv", index=False)
    print(f"\nwritten: {out / 'bench.csv'}")


if __name__ == "__main__":
    main()
