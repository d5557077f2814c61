"""The command line gives R's numbers on published data, as strict JSON or plain text."""

import io
import json
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest

from analysis.cli import main
from analysis.ingest.pipeline import DEMO_PATH

ROOT = Path(__file__).resolve().parent.parent
# R datasets::sleep as a hand-written long CSV; "extra_sleep" is not in the registry.
SLEEP_CSV = "patient_id,visit,outcome,value\n" + "".join(
    f"{i + 1:02d},drug1,extra_sleep,{a}\n{i + 1:02d},drug2,extra_sleep,{b}\n"
    for i, (a, b) in enumerate(
        zip(
            [0.7, -1.6, -0.2, -1.2, -0.1, 3.4, 3.7, 0.8, 0.0, 2.0],
            [1.9, 0.8, 1.1, 0.1, -0.1, 4.4, 5.5, 1.6, 4.6, 3.4],
            strict=True,
        )
    )
)
# Hollander & Wolfe depression data (R's ?wilcox.test) as a hand-written wide CSV.
HW_CSV = "patient_id;hamilton__visit 1;hamilton__visit 2\n" + "".join(
    f"H{i};{x};{y}\n".replace(".", ",")
    for i, (x, y) in enumerate(
        zip(
            [1.83, 0.50, 1.62, 2.48, 1.68, 1.88, 1.55, 3.06, 1.30],
            [0.878, 0.647, 0.598, 2.05, 1.06, 1.29, 1.06, 3.14, 1.29],
            strict=True,
        )
    )
)


def _strict(text: str):
    def refuse(constant):
        raise ValueError(f"not strict JSON: {constant}")

    return json.loads(text, parse_constant=refuse)


def _run(capsys, *argv) -> tuple[int, str, str]:
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


@pytest.fixture
def sleep_file(tmp_path):
    path = tmp_path / "sleep.csv"
    path.write_text(SLEEP_CSV)
    return path


def test_compare_json_matches_r_t_test_and_wilcoxon(capsys, sleep_file):
    code, out, _ = _run(
        capsys, "compare", str(sleep_file), "--outcome", "extra_sleep",
        "--before", "drug1", "--after", "drug2", "--json",
    )  # fmt: skip
    assert code == 0
    result = _strict(out)
    # R: t.test(extra[group == 2], extra[group == 1], paired = TRUE): t = 4.0621, df = 9,
    # p-value = 0.002833, 95% CI 0.7001142 2.4598858, mean difference 1.58
    assert result["t_statistic"] == pytest.approx(4.0621, abs=5e-5)
    assert result["df"] == 9
    assert result["p_value_t"] == pytest.approx(0.002833, abs=5e-7)
    assert (result["change_ci_low"], result["change_ci_high"]) == pytest.approx(
        (0.7001142, 2.4598858), abs=5e-8
    )
    assert result["mean_change"] == pytest.approx(1.58)
    # R: wilcox.test(extra[group == 2], extra[group == 1], paired = TRUE): V = 45,
    # p-value = 0.009091 (the reverse order prints V = 0)
    assert result["wilcoxon_v"] == 45
    assert result["p_value_wilcoxon"] == pytest.approx(0.009091, abs=5e-7)
    required = {
        "outcome", "before", "after", "n_pairs", "n_excluded", "mean_before", "mean_after",
        "mean_change", "change_ci_low", "change_ci_high", "t_statistic", "df", "p_value_t",
        "wilcoxon_v", "p_value_wilcoxon", "cohens_dz", "hodges_lehmann", "shapiro_p",
        "recommended_test", "n_improved", "n_worsened", "direction",
    }  # fmt: skip
    assert required <= set(result)
    assert (result["n_pairs"], result["n_excluded"]) == (10, 0)
    # The outcome is not in the registry: nothing is called improvement.
    assert result["direction"] is None
    assert result["n_improved"] is None and result["n_worsened"] is None
    assert "direction of improvement is not known" in result["undefined"]["n_improved"]


def test_compare_json_exact_wilcoxon_and_hodges_lehmann(capsys, tmp_path):
    path = tmp_path / "hamilton.csv"
    path.write_text(HW_CSV, encoding="latin-1")
    code, out, _ = _run(
        capsys, "compare", str(path), "--outcome", "hamilton",
        "--before", "visit 1", "--after", "visit 2", "--json",
    )  # fmt: skip
    assert code == 0
    result = _strict(out)
    # R: wilcox.test(y, x, paired = TRUE): V = 5, p-value = 0.03906 (exact);
    # Hollander & Wolfe's estimate of the median difference (x - y) is 0.46
    assert result["wilcoxon_v"] == 5
    assert result["wilcoxon_method"] == "exact"
    assert result["p_value_wilcoxon"] == pytest.approx(0.0390625, abs=5e-8)
    assert result["hodges_lehmann"] == pytest.approx(-0.46)


def test_compare_text_output(capsys, sleep_file):
    code, out, _ = _run(
        capsys, "compare", str(sleep_file), "--outcome", "extra_sleep",
        "--before", "drug1", "--after", "drug2", "--direction", "higher",
    )  # fmt: skip
    assert code == 0
    assert "paired t-test: t = 4.0621, df = 9, p = 0.003" in out
    assert "V = 45.0, p = 0.009" in out
    assert "improved: 9   unchanged: 1   worsened: 0   (higher is better)" in out
    assert "without a control group" in out


def test_compare_defaults_to_the_baseline_and_reports_exclusions(capsys):
    code, out, _ = _run(
        capsys, "compare", str(DEMO_PATH), "--outcome", "pain_nrs", "--after", "m6", "--json"
    )
    result = _strict(out)
    assert code == 0
    assert [arm["arm"] for arm in result["arms"]] == ["MSC", "standard care"]
    assert [arm["n_pairs"] + arm["n_excluded"] for arm in result["arms"]] == [108, 42]
    for arm in result["arms"]:
        assert arm["before"] == "baseline" and arm["direction"] == "lower"
        assert arm["excluded_reasons"] == {"no value at m6": arm["n_excluded"]}
    between = result["between_arms"][0]
    # R: t.test(MSC change, standard-care change) at m6 (tests/stats/test_arms.py)
    assert (between["arm"], between["comparator"]) == ("MSC", "standard care")
    assert between["difference"] == pytest.approx(-0.8333333333, abs=1e-9)
    assert set(result["estimand"]) == {"population", "variable", "missing_data", "summary_measure"}
    assert "MSC (108 patients" in result["estimand"]["population"]


def test_compare_all_patients_pools_on_request_only(capsys):
    code, out, _ = _run(
        capsys, "compare", str(DEMO_PATH), "--outcome", "pain_nrs", "--after", "m6", "--json",
        "--all-patients",
    )  # fmt: skip
    result = _strict(out)
    assert code == 0
    assert result["before"] == "baseline"
    assert result["n_pairs"] + result["n_excluded"] == 150
    assert "pooled at the user's request" in result["estimand"]["population"]


def test_responders_json_is_per_arm_with_itt_within_each_arm(capsys):
    code, out, _ = _run(
        capsys, "responders", str(DEMO_PATH), "--outcome", "pain_nrs", "--visit", "m6", "--json"
    )
    result = _strict(out)
    assert code == 0
    assert [(a["arm"], a["n_itt"]) for a in result["arms"]] == [("MSC", 108), ("standard care", 42)]
    half = next(r for r in result["between_arms"] if r["threshold"] == "≥50% improvement")
    # Newcombe hybrid score interval from R's prop.test Wilson limits (tests/stats/test_arms.py)
    assert half["difference"] == pytest.approx(19.3452381, abs=1e-6)
    assert half["ci_low"] == pytest.approx(0.1803942546, abs=1e-6)
    assert "non-responder imputation" in result["estimand"]["missing_data"]


def test_arm_and_control_flags(capsys, tmp_path):
    rows = ["patient_id,visit,outcome,value,group"]
    for i in range(12):
        group = "cells" if i < 6 else "wait list"
        rows += [
            f"P{i},Baseline,pain_nrs,7,{group}",
            f"P{i},m6,pain_nrs,{4 if i < 6 else 6},{group}",
        ]
    path = tmp_path / "groups.csv"
    path.write_text("\n".join(rows) + "\n")
    code, out, _ = _run(
        capsys, "compare", str(path), "--outcome", "pain_nrs", "--after", "M6",
        "--before", "baseline ", "--arm", "group", "--control", "wait list", "--json",
    )  # fmt: skip
    result = _strict(out)
    assert code == 0
    assert result["design"]["comparator"] == "wait list"
    assert result["design"]["comparator_from"] == "user"
    assert result["between_arms"][0]["difference"] == pytest.approx(-2.0)
    code, _, err = _run(
        capsys, "compare", str(path), "--outcome", "pain_nrs", "--after", "m6",
        "--arm", "group", "--control", "sham",
    )  # fmt: skip
    assert code == 1 and "'sham' is not an arm of 'group'" in err


def test_compare_usage_errors(capsys, sleep_file):
    code, _, err = _run(capsys, "compare", str(sleep_file), "--outcome", "pain", "--after", "drug2")
    assert code == 1
    assert "Outcome 'pain' is not in the data" in err
    code, _, err = _run(
        capsys, "compare", str(sleep_file), "--outcome", "extra_sleep", "--after", "week 9"
    )
    assert code == 1 and "Visit 'week 9' is not in the data" in err


def test_validate_exit_codes(capsys, tmp_path):
    code, out, _ = _run(capsys, "validate", str(DEMO_PATH))
    assert code == 0
    assert out.startswith("The file is usable")
    junk = tmp_path / "junk.csv"
    junk.write_bytes(bytes(range(256)) * 10)
    code, out, _ = _run(capsys, "validate", str(junk))
    assert code == 2
    assert "NOT usable" in out and "does not look like a table" in out
    code, out, _ = _run(capsys, "validate", str(tmp_path / "missing.csv"))
    assert code == 2 and "Cannot open" in out


def test_summary_json_and_csv(capsys):
    code, out, _ = _run(capsys, "summary", str(DEMO_PATH), "--json", "--all-patients")
    rows = _strict(out)["rows"]
    assert code == 0
    # 7 outcomes at 4 follow-ups, 2 nerve-conduction outcomes at 2, HbA1c at 3
    assert len(rows) == 7 * 4 + 2 * 2 + 3
    pain_m6 = next(r for r in rows if r["outcome"] == "pain_nrs" and r["visit"] == "m6")
    code, out, _ = _run(
        capsys, "compare", str(DEMO_PATH), "--outcome", "pain_nrs", "--after", "m6", "--json",
        "--all-patients",
    )  # fmt: skip
    single = _strict(out)
    for key in ("n_pairs", "mean_change", "change_ci_low", "p_value_wilcoxon", "hodges_lehmann"):
        assert pain_m6[key] == pytest.approx(single[key])
    code, out, _ = _run(capsys, "summary", str(DEMO_PATH), "--csv", "--all-patients")
    assert out.splitlines()[0].startswith("outcome,label,visit,n,mean_before")
    assert len(out.splitlines()) == 1 + len(rows)


def test_summary_json_is_per_arm_and_matches_compare(capsys):
    code, out, _ = _run(capsys, "summary", str(DEMO_PATH), "--json")
    result = _strict(out)
    assert code == 0
    assert {row["arm"] for row in result["arms"]} == {"MSC", "standard care"}
    assert len(result["arms"]) == 2 * (7 * 4 + 2 * 2 + 3)
    code, out, _ = _run(
        capsys, "compare", str(DEMO_PATH), "--outcome", "pain_nrs", "--after", "m6", "--json"
    )
    compare = _strict(out)
    for arm in compare["arms"]:
        row = next(r for r in result["arms"] if (r["arm"], r["outcome"], r["visit"]) ==
                   (arm["arm"], "pain_nrs", "m6"))  # fmt: skip
        assert row["mean_change"] == pytest.approx(arm["mean_change"])
    between = next(r for r in result["between_arms"]
                   if (r["outcome"], r["visit"]) == ("pain_nrs", "m6"))  # fmt: skip
    assert between["difference"] == pytest.approx(compare["between_arms"][0]["difference"])
    assert between["ci_low"] == pytest.approx(compare["between_arms"][0]["ci_low"])


def test_python_dash_m_entry_point():
    completed = subprocess.run(
        [sys.executable, "-m", "analysis", "summary", str(DEMO_PATH)],
        capture_output=True, text=True, cwd=ROOT, check=False,
    )  # fmt: skip
    assert completed.returncode == 0, completed.stderr
    assert "pain_nrs" in completed.stdout
    assert "Only a comparison between arms" in completed.stdout


def test_trajectory_json(capsys):
    code, out, _ = _run(capsys, "trajectory", str(DEMO_PATH), "--outcome", "tcss", "--json")
    report = _strict(out)
    assert code == 0
    assert [v["visit"] for v in report["visits"]] == ["baseline", "m1", "m3", "m6", "m12"]
    assert report["visits"][0]["mean_change"] is None  # baseline: no change, not 0
    assert report["friedman"]["df"] == 4
    mmrm = report["mmrm"]
    assert {"n_patients", "lsmeans", "contrasts", "aic", "covariance"} <= set(mmrm)
    assert [row["visit"] for row in mmrm["lsmeans"]] == ["m1"] * 2 + ["m3"] * 2 + ["m6"] * 2 + [
        "m12"
    ] * 2
    assert {row["arm"] for row in mmrm["contrasts"]} == {"MSC"}


def test_trajectory_text(capsys):
    code, out, _ = _run(capsys, "trajectory", str(DEMO_PATH), "--outcome", "pain_nrs")
    assert code == 0
    assert "Friedman test across baseline, m1, m3, m6, m12" in out
    assert "Mixed model for repeated measures (change from baseline, us covariance" in out
    assert "149 patients" in out


def test_responders_json(capsys, tmp_path):
    path = tmp_path / "r.csv"
    path.write_text(
        "patient_id,visit,outcome,value\n"
        "P1,baseline,pain_nrs,8\nP1,m6,pain_nrs,2\nP2,baseline,pain_nrs,6\nP2,m6,pain_nrs,4\n"
        "P3,baseline,pain_nrs,5\nP3,m6,pain_nrs,5\nP4,baseline,pain_nrs,7\n"
    )
    code, out, _ = _run(
        capsys, "responders", str(path), "--outcome", "pain_nrs", "--visit", "m6", "--json"
    )
    result = _strict(out)
    assert code == 0
    assert (result["n_itt"], result["n_evaluable"], result["n_missing_follow_up"]) == (4, 3, 1)
    moderate = result["rates"][0]
    assert moderate["threshold"] == "≥30% improvement"
    assert (moderate["responders"], moderate["rate_itt"]) == (2, 50.0)
    # R: binom.test(2, 3)$conf.int = 0.09429932 0.99159624
    assert moderate["ci_low_completers"] == pytest.approx(9.429932, abs=5e-6)
    assert moderate["ci_high_completers"] == pytest.approx(99.159624, abs=5e-6)


def test_responders_rejects_the_baseline(capsys):
    code, _, err = _run(
        capsys, "responders", str(DEMO_PATH), "--outcome", "pain_nrs", "--visit", "baseline"
    )
    assert code == 1 and "follow-up visit" in err


FEV = ROOT.parent / "shared" / "reference" / "mmrm"


@pytest.mark.skipif(not FEV.exists(), reason="../shared/reference/mmrm is not beside the checkout")
def test_mmrm_command_reproduces_r_mmrm_on_fev_data(capsys):
    """R 4.2.2, mmrm 0.3.18, emmeans 1.8.4-1 (../shared/reference/mmrm/fev_expected.json):
    mmrm(FEV1 ~ RACE + SEX + ARMCD * AVISIT + us(AVISIT | USUBJID), data = fev_data) and
    pairs(emmeans(fit, ~ ARMCD | AVISIT), reverse = TRUE)."""
    expected = json.loads((FEV / "fev_expected.json").read_text())["fits"]["us_satt_reml"]
    code, out, _ = _run(
        capsys, "mmrm", str(FEV / "fev_long.csv"), "--outcome", "fev1", "--visits", "all",
        "--response", "value", "--arm", "arm", "--control", "PBO", "--covariates", "race,sex",
        "--json",
    )  # fmt: skip
    result = _strict(out)
    assert code == 0 and result["converged"]
    assert (result["n_patients"], result["n_values"]) == (197, 537)
    # mmrm's optimiser stops early (gradient ~1e-2): ours reaches a log-likelihood at least as
    # high, so values agree to its tolerance (tests/stats/mmrm has the full comparison)
    assert result["log_likelihood"] == pytest.approx(expected["logLik"], abs=0.01)
    assert result["aic"] == pytest.approx(expected["AIC"], abs=0.01)
    for ours, theirs in zip(result["contrasts"], expected["contrasts"], strict=True):
        assert ours["visit"] == theirs["AVISIT"]
        assert ours["estimate"] == pytest.approx(
            theirs["estimate"], rel=1e-4, abs=5e-4 * theirs["se"]
        )
        assert ours["se"] == pytest.approx(theirs["se"], rel=1e-4)
        assert ours["df"] == pytest.approx(theirs["df"], rel=1e-3)
    for ours, theirs in zip(result["lsmeans"], expected["lsmeans"], strict=True):
        assert (ours["arm"], ours["visit"]) == (theirs["ARMCD"], theirs["AVISIT"])
        assert ours["estimate"] == pytest.approx(theirs["estimate"], rel=1e-4)
    assert result["covariance"]["visits"] == ["VIS1", "VIS2", "VIS3", "VIS4"]
    assert "fev1 ~ race + sex + arm × visit, unstructured covariance" in result["model"]
    assert "missing at random" in result["estimand"]["missing_data"]


def test_mmrm_command_usage_errors(capsys):
    code, _, err = _run(
        capsys, "mmrm", str(DEMO_PATH), "--outcome", "pain_nrs", "--visits", "baseline,m6"
    )
    assert code == 1 and "not defined at the baseline visit" in err
    code, _, err = _run(
        capsys, "mmrm", str(DEMO_PATH), "--outcome", "pain_nrs", "--covariates", "height"
    )
    assert code == 1 and "no attribute 'height'" in err


def test_piping_into_head_exits_quietly():
    completed = subprocess.run(
        f"{sys.executable} -m analysis summary {DEMO_PATH} --csv | head -1",
        shell=True, capture_output=True, text=True, cwd=ROOT, check=False,
    )  # fmt: skip
    assert completed.stdout.startswith("arm,outcome")
    assert "Traceback" not in completed.stderr and "BrokenPipe" not in completed.stderr


def test_sensitivity_command_json(capsys):
    code, out, _ = _run(
        capsys, "sensitivity", str(DEMO_PATH), "--outcome", "pain_nrs", "--visit", "m6",
        "--imputations", "20", "--deltas=-3:0:0.5", "--method", "j2r", "--json",
    )  # fmt: skip
    result = _strict(out)
    assert code == 0
    assert (result["method"], result["n_imputations"], result["seed"]) == ("j2r", 20, 2024)
    assert [row["delta"] for row in result["tipping"]["grid"]][:2] in ([0.0, -0.5], [-3.0, -2.5])
    assert {"mar", "j2r"} <= set(result["mi"])
    # the MMRM row is the model's MSC - standard care contrast at m6 (tests/stats/test_imputation)
    assert result["mmrm"]["estimates"][0]["estimate"] == pytest.approx(-0.8454, abs=5e-4)
    assert result["tipping"]["points"], "a tipping criterion is always evaluated"
    code, _, err = _run(
        capsys, "sensitivity", str(DEMO_PATH), "--outcome", "pain_nrs", "--visit", "m6",
        "--deltas=3:0:1",
    )  # fmt: skip
    assert code == 1 and "START <= STOP" in err


@pytest.mark.parametrize(
    "command",
    [
        ["summary", str(DEMO_PATH), "--csv"],
        ["summary", str(DEMO_PATH), "--csv", "--all-patients"],
        ["compare", str(DEMO_PATH), "--outcome", "pain_nrs", "--after", "m6", "--csv"],
        ["compare", str(DEMO_PATH), "--outcome", "pain_nrs", "--after", "m6", "--csv",
         "--all-patients"],
        ["table1", str(DEMO_PATH), "--by", "arm", "--p-values", "--csv"],
    ],
)  # fmt: skip
def test_csv_exports_keep_numbers_numeric(capsys, command):
    code, out, _ = _run(capsys, *command)
    assert code == 0
    frame = pd.read_csv(io.StringIO(out))
    numeric = {"estimate", "ci_low", "ci_high", "p_value", "n", "SMD", "p-value"} & set(frame)
    assert numeric, frame.columns.tolist()
    for column in numeric:
        assert pd.api.types.is_numeric_dtype(frame[column]), column
    assert "−" not in out  # ASCII minus in exports
    assert not any(str(v).startswith("'-") for v in frame.astype(str).to_numpy().ravel())
