"""Benchmarks (`make bench`): how the cost of loading and analysing grows with cohort size.

A seeded generator writes cohorts of N patients × 8 outcomes × 5 visits (long layout, with
two per-patient attributes on every row) as Parquet files in build/bench/. Each size is then
measured in a fresh process, so its peak memory is its own: reading, validation, the
whole-cohort summary (every outcome × follow-up visit against baseline: n, means, mean change
with CI, t-test, Wilcoxon, Hodges-Lehmann), the subgroup table (every outcome at the last visit
by cell source) and the responder table (every outcome at the last visit). Side by side in the
same process: one pandas groupby-mean pass over the same rows (the floor) and the
straightforward approach (pivot, then scipy.stats per outcome × visit cell); in a separate,
memory-capped process: pingouin's per-cell functions, where they finish. Up to 100k patients
the same cohort is also loaded from CSV (as a clinic's export), in its own process. Then the
dashboard is timed in chromium (bench.browser). Prints tables and writes
build/bench.csv and build/bench_browser.csv. Not part of the test suite: no test asserts a time.

    python -m bench.bench [--sizes 1000,10000,100000,1000000] [--no-browser]
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import resource
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
from scipy import stats

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
CELL_SOURCES = ["umbilical cord", "bone marrow", "adipose"]
SOURCE_EFFECT = np.array([1.0, 0.8, 0.9])  # share of the mean change, by cell source
GENERATOR_VERSION = 3  # in the file name: a changed generator writes new files
BENCH_DIR = Path("build") / "bench"
PINGOUIN_MEMORY_CAP = 6 * 1024**3  # bytes of address space for the pingouin process
PUSHDOWN_SIZES = [1_000_000, 10_000_000]  # patients generated in DuckDB (bench.pushdown)
CSV_MAX_PATIENTS = 100_000  # CSV load timed up to here; a larger registry should export Parquet


def synthetic_cohort(n_patients: int, seed: int = 7) -> pd.DataFrame:
    """Long table, vectorised: N × 8 outcomes × 5 visits, 10% of follow-up values missing,
    values on each instrument's usual grid (0.1), cell source and baseline HbA1c on each row.
    Text columns are categorical, so the Parquet file stores them as dictionaries."""
    rng = np.random.default_rng(seed)
    width = max(6, len(str(n_patients)))
    ids = pd.Index(np.char.add("P", np.char.zfill(np.arange(1, n_patients + 1).astype(str), width)))
    source = rng.choice(len(CELL_SOURCES), n_patients, p=[0.5, 0.35, 0.15]).astype(np.int8)
    hba1c = np.round(rng.normal(7.8, 1.2, n_patients).clip(5, 14), 1)
    patients, visits, outcomes, values = [], [], [], []
    for o, (mean, sd, low, high, change) in enumerate(OUTCOMES.values()):
        base = rng.normal(mean, sd, n_patients)
        for v in range(len(VISITS)):
            shift = change * SOURCE_EFFECT[source] if v else 0.0
            value = base if v == 0 else base + shift + rng.normal(0, sd * 0.6, n_patients)
            keep = np.flatnonzero(rng.random(n_patients) > (0.1 if v else 0.0)).astype(np.int32)
            patients.append(keep)
            visits.append(np.full(len(keep), v, np.int8))
            outcomes.append(np.full(len(keep), o, np.int8))
            values.append(np.round(value.clip(low, high), 1)[keep])
    p = np.concatenate(patients)
    return pd.DataFrame(
        {
            "patient_id": pd.Categorical.from_codes(p, categories=ids),
            "visit": pd.Categorical.from_codes(np.concatenate(visits), categories=VISITS),
            "outcome": pd.Categorical.from_codes(np.concatenate(outcomes), list(OUTCOMES)),
            "value": np.concatenate(values),
            "cell_source": pd.Categorical.from_codes(source[p], categories=CELL_SOURCES),
            "hba1c_baseline": hba1c[p],
        }
    )


def cohort_file(n_patients: int, directory: Path = BENCH_DIR) -> Path:
    """The Parquet file for ``n_patients`` (written once; the generator is seeded)."""
    path = directory / f"cohort_{n_patients}_v{GENERATOR_VERSION}.parquet"
    if not path.exists():
        directory.mkdir(parents=True, exist_ok=True)
        partial = path.with_suffix(".partial")
        table = pa.Table.from_pandas(synthetic_cohort(n_patients), preserve_index=False)
        # Patient IDs as plain text, as a registry export writes them (visit and outcome
        # labels stay dictionary-encoded, as Parquet writers do for few distinct values).
        table = table.set_column(0, "patient_id", table.column(0).cast(pa.string()))
        pq.write_table(table.replace_schema_metadata(None), partial)
        partial.rename(path)
    return path


def cohort_csv_file(n_patients: int, directory: Path = BENCH_DIR) -> Path:
    """The same cohort as CSV, as a clinic's export would be (written once)."""
    parquet = cohort_file(n_patients, directory)
    path = parquet.with_suffix(".csv")
    if not path.exists():
        partial = path.with_name(path.name + ".partial")
        pd.read_parquet(parquet).to_csv(partial, index=False)
        partial.rename(path)
    return path


def _timed(function):
    start = time.perf_counter()
    result = function()
    return result, time.perf_counter() - start


def _cell_pairs(long: pd.DataFrame, baseline: str) -> Iterator[tuple[pd.Series, pd.Series]]:
    """(before, after) for every outcome × follow-up visit cell, the straightforward way: pivot
    each outcome, then drop patients missing either value."""
    for _, group in long.groupby("outcome", observed=True):
        table = group.pivot(index="patient_id", columns="visit", values="value")
        for visit in [v for v in table.columns if v != baseline]:
            pair = table[[baseline, visit]].dropna()
            yield pair[baseline], pair[visit]


def _scipy_loop(long: pd.DataFrame, baseline: str) -> int:
    """The straightforward approach: scipy per outcome × visit cell."""
    cells = 0
    for before, after in _cell_pairs(long, baseline):
        stats.ttest_rel(after, before)
        stats.wilcoxon(after - before, correction=True, method="asymptotic")
        cells += 1
    return cells


def _peak_rss_mb() -> int:
    return round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024)


def measure(path: Path) -> dict:
    """Time every step on one cohort file (run in a fresh process: peak memory is its own)."""
    from analysis.ingest.pipeline import build_dataset
    from analysis.ingest.read import read_table
    from analysis.stats.rank_tests import wilcoxon_signed_rank
    from analysis.stats.responders import responder_analysis
    from analysis.stats.subgroups import compare_subgroups
    from analysis.stats.summary import cohort_summary

    start = time.perf_counter()
    data = path.read_bytes()
    t_file = time.perf_counter() - start
    raw = read_table(data, path.name)
    t_read = time.perf_counter() - start - t_file
    del data
    dataset, report = build_dataset(raw)
    t_validate = time.perf_counter() - start - t_file - t_read
    del raw
    assert dataset is not None, report.as_text()
    summary, t_summary = _timed(lambda: cohort_summary(dataset))
    rss_after_summary = _peak_rss_mb()
    last = dataset.visits[-1]
    _, t_subgroups = _timed(
        lambda: [compare_subgroups(dataset, o, last, "cell_source") for o in dataset.outcomes]
    )
    _, t_responders = _timed(
        lambda: [responder_analysis(dataset, o, last) for o in dataset.outcomes]
    )
    long = dataset.long
    _, t_floor = _timed(lambda: long.groupby(["outcome", "visit"], observed=True)["value"].mean())
    _, t_loop = _timed(lambda: _scipy_loop(long, dataset.baseline))
    pain = dataset.wide("pain_nrs").dropna(subset=[dataset.baseline, last])
    changes = (pain[last] - pain[dataset.baseline]).to_numpy()
    _, t_hl = _timed(lambda: wilcoxon_signed_rank(changes))
    return {
        "patients": dataset.n_patients,
        "rows": len(long),
        "read_file_s": round(t_file, 3),
        "parse_s": round(t_read, 3),
        "validate_s": round(t_validate, 3),
        "load_s": round(t_file + t_read + t_validate, 3),
        "summary_s": round(t_summary, 3),
        "load_plus_summary_s": round(t_file + t_read + t_validate + t_summary, 2),
        "peak_rss_load_summary_mb": rss_after_summary,
        "summary_cells": len(summary),
        "groupby_floor_s": round(t_floor, 4),
        "summary_vs_floor": round(t_summary / t_floor, 1),
        "scipy_loop_s": round(t_loop, 3),
        "subgroup_table_s": round(t_subgroups, 3),
        "responder_table_s": round(t_responders, 3),
        "hodges_lehmann_pairs": len(changes),
        "hodges_lehmann_s": round(t_hl, 3),
        "peak_rss_mb": _peak_rss_mb(),
    }


def measure_csv(path: Path) -> dict:
    """Reading and validating the CSV copy of a cohort (run in a fresh process)."""
    from analysis.ingest.pipeline import build_dataset
    from analysis.ingest.read import read_table

    start = time.perf_counter()
    dataset, report = build_dataset(read_table(path.read_bytes(), path.name))
    assert dataset is not None, report.as_text()
    return {
        "csv_mb": round(path.stat().st_size / 1e6),
        "csv_load_s": round(time.perf_counter() - start, 3),
        "csv_peak_rss_mb": _peak_rss_mb(),
    }


def measure_pingouin(path: Path) -> dict:
    """pingouin's paired t-test and Wilcoxon per outcome × visit cell (its Wilcoxon builds an
    n × n array for the common-language effect size, so it stops being possible with size)."""
    import pingouin

    long = pd.read_parquet(path)
    start = time.perf_counter()
    for before, after in _cell_pairs(long, "baseline"):
        pingouin.ttest(after, before, paired=True)
        pingouin.wilcoxon(after, before)
    return {"pingouin_loop_s": round(time.perf_counter() - start, 3)}


def _child(kind: str, path: Path, timeout: float) -> dict:
    """Run ``measure``/``measure_pingouin`` in a fresh interpreter; a failure becomes text."""
    command = [sys.executable, "-m", "bench.bench", f"--{kind}", str(path)]
    try:
        done = subprocess.run(command, capture_output=True, text=True, timeout=timeout)
    except subprocess.TimeoutExpired:
        return {"error": f"did not finish within {timeout:.0f} s"}
    if done.returncode != 0:
        last = (done.stderr.strip().splitlines() or ["exited with an error"])[-1]
        return {"error": last[:120]}
    return json.loads(done.stdout.strip().splitlines()[-1])


def run(sizes: list[int], pingouin_timeout: float = 300) -> pd.DataFrame:
    rows = []
    for n in sizes:
        path, t_generate = _timed(lambda n=n: cohort_file(n))
        row = {"patients_requested": n, "generate_s": round(t_generate, 1)}
        measured = _child("measure", path, timeout=1800)
        if "error" in measured:
            row["error"] = measured["error"]
        row.update(measured)
        if n <= CSV_MAX_PATIENTS:
            from_csv = _child("csv", cohort_csv_file(n), timeout=1800)
            row.update(from_csv if "error" not in from_csv else {"csv_load_s": from_csv["error"]})
        pingouin_result = _child("pingouin", path, timeout=pingouin_timeout)
        row["pingouin_loop_s"] = pingouin_result.get(
            "pingouin_loop_s", f"not finished: {pingouin_result.get('error', '')}"
        )
        rows.append(row)
        print(pd.DataFrame([row]).T.to_string(header=False), "\n", flush=True)
    return pd.DataFrame(rows)


def machine() -> str:
    cpus = os.cpu_count()
    memory_gb = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 1024**3
    return (
        f"{platform.machine()}, {cpus} CPU(s), {memory_gb:.0f} GB RAM, "
        f"Python {platform.python_version()}, pandas {pd.__version__}, numpy {np.__version__}"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--sizes", default="1000,10000,100000,1000000")
    parser.add_argument("--no-browser", action="store_true", help="skip the chromium timings")
    parser.add_argument("--browser-only", action="store_true", help="only the chromium timings")
    parser.add_argument("--measure", type=Path, help=argparse.SUPPRESS)
    parser.add_argument("--pingouin", type=Path, help=argparse.SUPPRESS)
    parser.add_argument("--csv", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.measure:
        print(json.dumps(measure(args.measure)))
        return
    if args.csv:
        print(json.dumps(measure_csv(args.csv)))
        return
    if args.pingouin:
        resource.setrlimit(resource.RLIMIT_AS, (PINGOUIN_MEMORY_CAP, PINGOUIN_MEMORY_CAP))
        print(json.dumps(measure_pingouin(args.pingouin)))
        return
    print(f"machine: {machine()}\n", flush=True)
    if args.browser_only:
        from bench import browser

        browser.main(cohort_file(100_000))
        return
    table = run([int(s) for s in args.sizes.split(",")])
    out = Path("build")
    out.mkdir(exist_ok=True)
    table.to_csv(out / "bench.csv", index=False)
    columns = [c for c in SUMMARY_VIEW if c in table.columns]
    print(table[columns].to_string(index=False))
    print(f"\nwritten: {out / 'bench.csv'}")
    mmrm_section()
    phi_section()
    from bench import pushdown

    pushdown.section(PUSHDOWN_SIZES)
    if not args.no_browser:
        from bench import browser

        browser.main(cohort_file(100_000))


# R's mmrm (compiled, TMB) on the same design, 2-core machine like ours (issue #15): seconds.
R_MMRM_SECONDS = {10_000: 4.2, 100_000: 60.0}


def mmrm_section() -> None:
    """The MMRM fit at 10,000 and 100,000 patients x 6 visits, 20% monotone dropout, beside
    the OLS floor measured in the same run and R's mmrm time (peak traced memory per fit)."""
    from bench.mmrm import bench as mmrm_bench

    print("\nMMRM (unstructured, REML, Satterthwaite; 6 visits, 20% monotone dropout)")
    rows = []
    for n in (10_000, 100_000):
        result = mmrm_bench(n)
        result["r_mmrm_seconds"] = R_MMRM_SECONDS.get(n)
        rows.append(result)
    print(pd.DataFrame(rows).round(3).to_string(index=False))


SUMMARY_VIEW = [
    "patients", "rows", "load_s", "csv_load_s", "summary_s", "load_plus_summary_s", "peak_rss_mb",
    "groupby_floor_s", "summary_vs_floor", "scipy_loop_s", "pingouin_loop_s",
    "subgroup_table_s", "responder_table_s", "hodges_lehmann_s",
]  # fmt: skip

if __name__ == "__main__":
    main()


def phi_section() -> None:
    """The PHI guard's scan of a 1M-row long table (best of three) beside the floor of the
    same run: one pass of pandas' unique() over its text columns, the least a scan of every
    distinct value must do."""
    import numpy as np

    from analysis.ingest.phi import bench_phi_scan

    seconds = bench_phi_scan(1_000_000)
    rng = np.random.default_rng(0)
    frame = pd.DataFrame(
        {"patient_id": rng.integers(0, 25_000, 1_000_000).astype(str),
         "note": rng.choice(["ok", "mild", "none"], 1_000_000)}
    ).astype("category")  # fmt: skip
    start = time.perf_counter()
    for column in frame.columns:
        frame[column].unique()
    floor = time.perf_counter() - start
    print(f"\nPHI guard scan, 1,000,000 rows: {seconds:.2f} s (floor: unique values of the "
          f"text columns {floor:.3f} s)")  # fmt: skip
