"""Benchmark of the MMRM fit on simulated trials (for `make bench`).

Simulates n patients x 6 visits, two arms, one categorical and one numeric covariate and a
baseline, with about 20% monotone dropout by the last visit, and times an unstructured REML fit
with Satterthwaite df (LS means and contrasts included), beside a floor measured in the same run:
one ordinary least-squares fit of the same fixed effects on the same rows (numpy lstsq), the
least any model of these data must do. Run: python -m bench.mmrm [n ...]
"""

from __future__ import annotations

import argparse
import resource
import time
import tracemalloc

import numpy as np
import pandas as pd

from analysis.stats.mmrm.fit import fit_mmrm

VISITS = [f"W{k}" for k in range(1, 7)]


def simulate(n_patients: int, seed: int = 0, dropout: float = 0.2) -> pd.DataFrame:
    """Long data: patient, visit, arm, sex, age, base, y; y missing after monotone dropout."""
    rng = np.random.default_rng(seed)
    m = len(VISITS)
    arm = rng.integers(0, 2, n_patients)
    sex = rng.integers(0, 2, n_patients)
    age = rng.normal(50.0, 10.0, n_patients)
    base = rng.normal(20.0, 4.0, n_patients)
    lag = np.abs(np.subtract.outer(np.arange(m), np.arange(m)))
    sd = np.linspace(3.0, 5.0, m)
    cov = 0.6**lag * np.outer(sd, sd)
    noise = rng.standard_normal((n_patients, m)) @ np.linalg.cholesky(cov).T
    trend = np.linspace(0.0, -4.0, m)
    effect = np.linspace(0.0, -2.0, m)
    y = (
        base[:, None] * 0.5
        + trend[None, :]
        + effect[None, :] * arm[:, None]
        + 0.05 * (age[:, None] - 50.0)
        + 0.8 * sex[:, None]
        + noise
    )
    # monotone dropout: each patient leaves after visit k with a constant hazard
    hazard = 1.0 - (1.0 - dropout) ** (1.0 / (m - 1))
    stay = np.ones((n_patients, m), dtype=bool)
    for k in range(1, m):
        stay[:, k] = stay[:, k - 1] & (rng.random(n_patients) > hazard)
    y = np.where(stay, y, np.nan)
    return pd.DataFrame(
        {
            "patient": np.repeat(np.arange(n_patients), m).astype(str),
            "visit": np.tile(VISITS, n_patients),
            "arm": np.repeat(np.where(arm == 1, "active", "control"), m),
            "sex": np.repeat(np.where(sex == 1, "F", "M"), m),
            "age": np.repeat(age, m),
            "base": np.repeat(base, m),
            "y": y.reshape(-1),
        }
    )


def _fit(data: pd.DataFrame, covariance: str) -> bool:
    result = fit_mmrm(
        data,
        response="y",
        subject="patient",
        visit="visit",
        visit_levels=VISITS,
        arm="arm",
        arm_levels=["control", "active"],
        covariates=["sex", "age"],
        baseline="base",
        covariance=covariance,
    )
    return result.converged


def _ols_floor(data: pd.DataFrame) -> float:
    """Seconds for one least-squares fit of the same fixed effects on the observed rows."""
    t0 = time.perf_counter()
    used = data.dropna(subset=["y"])
    visit = pd.get_dummies(used["visit"], drop_first=True, dtype=float).to_numpy()
    active = (used["arm"] == "active").to_numpy(dtype=float)[:, None]
    x = np.column_stack(
        [
            np.ones(len(used)),
            (used["sex"] == "F").to_numpy(dtype=float),
            used["age"].to_numpy(),
            used["base"].to_numpy(),
            active,
            visit,
            active * visit,
        ]
    )
    np.linalg.lstsq(x, used["y"].to_numpy(), rcond=None)
    return time.perf_counter() - t0


def bench(n_patients: int, covariance: str = "us", seed: int = 0) -> dict[str, object]:
    """Seconds for one fit (data simulated beforehand), the OLS floor on the same rows, and the
    fit's peak traced memory in MB."""
    data = simulate(n_patients, seed)
    floor = _ols_floor(data)
    t0 = time.perf_counter()
    converged = _fit(data, covariance)
    seconds = time.perf_counter() - t0
    # memory in a second run: tracing allocations slows the fit, so it is not timed
    tracemalloc.start()
    _fit(data, covariance)
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    max_rss_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0
    return {
        "n_patients": n_patients,
        "n_values": int(data["y"].notna().sum()),
        "covariance": covariance,
        "seconds": seconds,
        "ols_floor_seconds": floor,
        "vs_floor": seconds / floor if floor > 0 else float("nan"),
        "peak_traced_mb": peak / 2**20,
        "max_rss_mb": max_rss_mb,
        "converged": converged,
    }


def main() -> None:
    """Command line: python -m bench.mmrm [n ...]."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("n", nargs="*", type=int, default=[10_000, 100_000])
    parser.add_argument("--covariance", default="us")
    args = parser.parse_args()
    for n in args.n:
        print(bench(n, args.covariance))


if __name__ == "__main__":
    main()
