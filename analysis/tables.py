"""Display tables built from results: formatted text a clinician can read, no computation."""

from __future__ import annotations

import pandas as pd

from analysis.compare import Comparison
from analysis.instruments import lookup
from analysis.paired import format_p
from analysis.wording import number


def _value(result, name: str, digits: int = 2) -> str:
    value = getattr(result, name)
    if value is None:
        reason = result.undefined.get(name)
        return f"undefined ({reason})" if reason else "undefined"
    if isinstance(value, int):
        return str(value)
    return number(value, digits)


def statistics_table(comparison: Comparison) -> pd.DataFrame:
    """Every statistic of a comparison, with what it is and how it was computed."""
    s = comparison.stats
    b, a = comparison.before, comparison.after
    rows = [
        ("Pairs (patients with both values)", str(s.n_pairs), ""),
        ("Excluded patients", str(comparison.n_excluded), _exclusions(comparison)),
        (f"Mean (SD) at {b}", f"{_value(s, 'mean_before')} ({_value(s, 'sd_before')})", ""),
        (f"Mean (SD) at {a}", f"{_value(s, 'mean_after')} ({_value(s, 'sd_after')})", ""),
        (
            f"Median [IQR] at {b}",
            f"{_value(s, 'median_before')} [{_value(s, 'q1_before')}, {_value(s, 'q3_before')}]",
            "",
        ),
        (
            f"Median [IQR] at {a}",
            f"{_value(s, 'median_after')} [{_value(s, 'q1_after')}, {_value(s, 'q3_after')}]",
            "",
        ),
        (
            "Mean change (95% CI)",
            f"{_value(s, 'mean_change')} ({_value(s, 'change_ci_low')} to "
            f"{_value(s, 'change_ci_high')})",
            f"{a} − {b}; t-based interval",
        ),
        ("SD of change", _value(s, "sd_change"), ""),
        (
            "Paired t-test",
            f"t = {_value(s, 't_statistic', 3)}, df = {_value(s, 'df')}, "
            f"p = {format_p(s.p_value_t)}",
            "as R t.test(paired = TRUE)",
        ),
        (
            "Wilcoxon signed-rank test",
            f"V = {_value(s, 'wilcoxon_v', 1)}, p = {format_p(s.p_value_wilcoxon)}",
            f"{s.wilcoxon_method or ''}; {s.wilcoxon_n} non-zero changes; as R wilcox.test "
            "(zero changes dropped)",
        ),
        (
            "Hodges-Lehmann estimate (95% CI)",
            f"{_value(s, 'hodges_lehmann')} ({_value(s, 'hl_ci_low')} to "
            f"{_value(s, 'hl_ci_high')})",
            "median of Walsh averages of the changes (Hollander & Wolfe)",
        ),
        (
            "Shapiro-Wilk on changes",
            f"W = {_value(s, 'shapiro_w', 3)}, p = {format_p(s.shapiro_p)}",
            "p < 0.05 suggests the changes are not normally distributed",
        ),
        ("Cohen's d_z", _value(s, "cohens_dz"), "mean change / SD of change (Lakens 2013)"),
        ("Pre-post correlation (Pearson r)", _value(s, "pre_post_r"), ""),
    ]
    if s.direction is None:
        rows.append(
            (
                "Increased / unchanged / decreased",
                f"{s.n_increased} / {s.n_unchanged} / {s.n_decreased}",
                "direction of improvement unknown",
            )
        )
    else:
        rows.append(
            (
                "Improved / unchanged / worsened",
                f"{s.n_improved} / {s.n_unchanged} / {s.n_worsened}",
                comparison.instrument.direction_text(),
            )
        )
        rows.append(
            (
                "Improved / worsened by ≥ the clinically important difference",
                f"{_value(s, 'n_improved_mcid')} / {_value(s, 'n_worsened_mcid')}",
                comparison.instrument.mcid_abs_text(),
            )
        )
    rows.append(("Recommended test", s.recommended_test or "none", s.recommended_reason))
    return pd.DataFrame(rows, columns=["statistic", "value", "how / note"])


def _exclusions(comparison: Comparison) -> str:
    counts = comparison.exclusion_counts()
    return "; ".join(f"{n} {reason}" for reason, n in counts.items())


def summary_display(summary: pd.DataFrame) -> pd.DataFrame:
    """The whole-cohort summary as readable text columns."""
    if summary.empty:
        return pd.DataFrame(columns=["outcome", "visit", "pairs", "mean change (95% CI)", "p"])

    def change(row) -> str:
        if row["change_ci_low"] is None or pd.isna(row["change_ci_low"]):
            return number(row["mean_change"], 2)
        return (
            f"{number(row['mean_change'], 2)} ({number(row['change_ci_low'], 2)} to "
            f"{number(row['change_ci_high'], 2)})"
        )

    def test(row) -> str:
        name = {"paired t-test": "t-test", "Wilcoxon signed-rank test": "Wilcoxon"}.get(
            row["recommended_test"], "none"
        )
        return f"{format_p(row['p_value_recommended'])} ({name})"

    def improved(row) -> str:
        if row["n_improved"] is None or pd.isna(row["n_improved"]):
            return "direction unknown"
        return f"{int(row['n_improved'])} ({row['pct_improved']:.0f}%)"

    return pd.DataFrame(
        {
            "outcome": [lookup(o).label for o in summary["outcome"]],
            "visit": summary["visit"],
            "pairs": summary["n_pairs"].astype(int),
            "mean at baseline": summary["mean_before"].map(lambda x: number(x, 2)),
            "mean at visit": summary["mean_after"].map(lambda x: number(x, 2)),
            "mean change (95% CI)": summary.apply(change, axis=1),
            "improved": summary.apply(improved, axis=1),
            "p (test)": summary.apply(test, axis=1),
        }
    )
