"""Property-based tests: random tables never crash loading or the paired analysis, and every
value read is accounted for."""

import json

import numpy as np
import pandas as pd
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from analysis.ingest.pipeline import load_bytes
from analysis.stats.paired import paired_statistics

cells = st.one_of(
    st.integers(-5, 150).map(str),
    st.floats(-5, 150, allow_nan=False).map(lambda x: f"{x:.2f}"),
    st.sampled_from(["", "n/a", "NA", "-", "seven", "7,5", "=1+1", "<b>x</b>", " 3 "]),
)
ids = st.sampled_from(["001", "1", "01", "P7", "", " 2 "])
visits = st.sampled_from(["baseline", "Baseline", "m3", " M6 ", "week 4", "", "end"])
outcomes = st.sampled_from(["pain_nrs", "tcss", "vpt", "PAIN_NRS", "mystery", ""])


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(st.tuples(ids, visits, outcomes, cells), min_size=1, max_size=40))
def test_random_long_tables_load_without_crash_and_lose_nothing(rows):
    frame = pd.DataFrame(rows, columns=["patient_id", "visit", "outcome", "value"])
    result = load_bytes(frame.to_csv(index=False).encode(), "random.csv")
    report = result.report
    assert report.findings, "every load reports at least a note or an error"
    if result.dataset is None:
        assert report.errors
        return
    acc = report.accounting
    accounted = sum(v for k, v in acc.items() if k not in ("values read", "values used"))
    assert acc["values read"] == accounted + acc["values used"]
    assert acc["values used"] == len(result.dataset.long)
    assert np.isfinite(result.dataset.long["value"]).all()


finite = st.floats(-50, 50, allow_nan=False, allow_infinity=False)


@settings(max_examples=80, deadline=None)
@given(
    st.lists(st.tuples(finite, finite), min_size=0, max_size=60),
    st.sampled_from([None, "lower", "higher"]),
)
def test_paired_statistics_never_crash_and_are_strict_json(pairs, direction):
    before = np.array([p[0] for p in pairs])
    after = np.array([p[1] for p in pairs])
    result = paired_statistics(before, after, direction=direction, mcid=2.0)
    payload = json.dumps(result.to_dict(), allow_nan=False)
    assert json.loads(payload)["n_pairs"] == len(pairs)
    for name, reason in result.undefined.items():
        assert getattr(result, name) is None and reason
    if result.hodges_lehmann is not None and len(pairs):
        change = after - before
        assert change.min() - 1e-9 <= result.hodges_lehmann <= change.max() + 1e-9
    if result.hl_ci_level is not None:  # the level reached: 95%, or less with few pairs
        assert 0 < result.hl_ci_level <= 0.95
        assert result.hl_ci_low is not None and result.hl_ci_high is not None
        assert result.hl_ci_low <= result.hl_ci_high
    else:
        assert result.hl_ci_low is None and result.hl_ci_high is None
    if result.wilcoxon_n is not None and result.n_unchanged is not None:
        assert result.wilcoxon_n + result.wilcoxon_n_zero == len(pairs)
        assert result.wilcoxon_n_zero == result.n_unchanged
