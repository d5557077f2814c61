"""Display tables built from results: formatted text a clinician can read, no computation."""

from __future__ import annotations

import math
from typing import TYPE_CHECKING

import pandas as pd

from analysis.instruments import lookup
from analysis.present.format import bin_label, format_p, number, p_phrase
from analysis.stats.compare import Comparison
from analysis.stats.paired import CONF_LEVEL, PairedResult, zero_changes_phrase
from analysis.stats.rank_tests import METHOD_EXACT

if TYPE_CHECKING:  # types only: importing the MMRM and imputation costs start-up time
    from analysis.stats.imputation import SensitivityResult
    from analysis.stats.longitudinal import OutcomeModel
    from analysis.stats.pushdown_association import ChangeBins


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
            f"t = {_value(s, 't_statistic', 3)}, df = {_value(s, 'df')}, {p_phrase(s.p_value_t)}",
            "as R t.test(paired = TRUE)",
        ),
        (
            "Wilcoxon signed-rank test",
            f"V = {_value(s, 'wilcoxon_v', 1)}, {p_phrase(s.p_value_wilcoxon)}",
            f"{s.wilcoxon_method or 'not computed'}; {s.wilcoxon_n} non-zero changes; as R "
            f"wilcox.test{_zero_changes(s)}",
        ),
        (
            "Hodges-Lehmann estimate"
            + (f" ({s.hl_ci_label()})" if s.hl_ci_level is not None else ""),
            *_hodges_lehmann(s),
        ),
        (
            "Shapiro-Wilk on changes",
            f"W = {_value(s, 'shapiro_w', 3)}, {p_phrase(s.shapiro_p)}",
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


def _zero_changes(s: PairedResult) -> str:
    """'; 3 patients with no change left out of the rank test, as R does', or ''."""
    if not s.wilcoxon_n_zero:
        return ""
    return "; " + zero_changes_phrase(s.wilcoxon_n_zero)


def _hodges_lehmann(s: PairedResult) -> tuple[str, str]:
    """The estimate with its interval, and how they were computed, with the interval's level
    when 95% is not reachable with these pairs."""
    if s.hodges_lehmann is None:
        return _value(s, "hodges_lehmann"), "as R wilcox.test(conf.int = TRUE)"
    if s.hl_ci_low is None:
        value = f"{_value(s, 'hodges_lehmann')}; no interval ({s.undefined.get('hl_ci_low', '')})"
    else:
        value = (
            f"{_value(s, 'hodges_lehmann')} ({_value(s, 'hl_ci_low')} to {_value(s, 'hl_ci_high')})"
        )
    if s.wilcoxon_method == METHOD_EXACT:
        how = "median of the Walsh averages, interval from their order statistics"
    else:
        how = (
            "the shift at which the normal-approximation statistic is 0, the interval ends "
            "where it reaches the normal quantiles (with continuity correction), found as R's "
            "uniroot finds them"
        )
    notes = [f"{how}; as R wilcox.test(conf.int = TRUE) (Hollander, Wolfe & Chicken)"]
    level, coverage = s.hl_ci_level, s.hl_ci_coverage
    if level is not None and level < CONF_LEVEL:
        notes.append(
            f"{100 * CONF_LEVEL:.0f}% is not reachable with {s.wilcoxon_n} non-zero changes, "
            f"so this is the {100 * level:.4g}% interval R gives"
        )
    elif level is not None and coverage is not None and coverage < level - 1e-9:
        notes.append(
            f"its exact coverage is {100 * coverage:.4g}% with {s.wilcoxon_n} non-zero changes "
            f"(R keeps the {100 * level:.4g}% label, within its tolerance)"
        )
    if s.wilcoxon_n_zero:
        notes.append(f"from the {s.wilcoxon_n} non-zero changes")
    return value, "; ".join(notes)


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

    arm = {"arm": summary["arm"]} if "arm" in summary else {}
    return pd.DataFrame(
        {
            **arm,
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


def _fmt(x, digits: int = 2) -> str:
    return "" if x is None or pd.isna(x) else number(float(x), digits)


def visit_table(summary: pd.DataFrame) -> pd.DataFrame:
    """Per-visit numbers as text: n, mean (95% CI), SD, median [IQR]."""
    table = pd.DataFrame(
        {
            "visit": summary["visit"],
            "patients": summary["n"].astype(int),
            "mean (95% CI)": [
                f"{_fmt(m)} ({_fmt(lo)} to {_fmt(hi)})" if pd.notna(lo) else _fmt(m)
                for m, lo, hi in zip(
                    summary["mean"], summary["ci_low"], summary["ci_high"], strict=True
                )
            ],
            "SD": summary["sd"].map(_fmt),
            "median [IQR]": [
                f"{_fmt(m)} [{_fmt(a)}, {_fmt(b)}]"
                for m, a, b in zip(summary["median"], summary["q1"], summary["q3"], strict=True)
            ],
        }
    )
    if "group" in summary:
        table.insert(0, "group", summary["group"])
    return table


def change_by_visit_display(change: pd.DataFrame) -> pd.DataFrame:
    """Change from baseline by visit; the baseline row says 'no change (baseline)'."""
    text = []
    for row in change.itertuples():
        if row.note.startswith("baseline"):
            text.append("no change (baseline)")
        elif pd.isna(row.mean_change):
            text.append("undefined: " + row.note)
        elif pd.isna(row.ci_low):
            text.append(_fmt(row.mean_change))
        else:
            text.append(f"{_fmt(row.mean_change)} ({_fmt(row.ci_low)} to {_fmt(row.ci_high)})")
    shown = pd.DataFrame(
        {"visit": change["visit"], "patients": change["n"], "mean change (95% CI)": text}
    )
    if "group" in change:
        shown.insert(0, "group", change["group"].to_numpy())
    return shown


def friedman_sentence(result) -> str:
    """The Friedman result in plain words, with which patients it used."""
    visits = ", ".join(result.visits) if result.visits else "no visits"
    if result.statistic is None:
        return f"Friedman test across {visits}: not computed, because {result.reason}."
    verdict = (
        "values differ across these visits more than chance alone would usually produce"
        if result.p_value < 0.05
        else "the data are compatible with no change across these visits"
    )
    return (
        f"Friedman test across {visits} (ranks each patient's values, so it needs patients "
        f"with a value at every visit): {result.n_complete} patients used, "
        f"{result.n_excluded} left out for a missing visit. Chi-squared = "
        f"{result.statistic:.2f}, df = {result.df}, {p_phrase(result.p_value)}: {verdict}."
    )


def responder_table(analysis) -> pd.DataFrame:
    """Responder rates both ways, with exact 95% CIs, as text. Where percent change is undefined
    (baseline 0 or below) for some patients with a follow-up value, each cell says how many and
    where they went: left out of the completers, non-responders among everyone."""
    r = analysis.rates
    undefined = _undefined_per_threshold(analysis)

    def rates(denominator: str, suffix: str) -> list[str]:
        """'k/n = p% (lo% to hi%)' per threshold, over completers or everyone with a baseline."""
        columns = zip(
            r["responders"], r[denominator], r[f"rate_{suffix}"], r[f"ci_low_{suffix}"],
            r[f"ci_high_{suffix}"], undefined, strict=True,
        )  # fmt: skip
        cells = []
        for k, n, pct, lo, hi, left_out in columns:
            text = (
                "undefined (no patients)"
                if pct is None or pd.isna(pct)
                else f"{k}/{n} = {pct:.0f}% ({lo:.0f}% to {hi:.0f}%)"
            )
            if left_out and suffix == "completers":
                text += f"; {left_out} more with a baseline ≤ 0 left out (percent change undefined)"
            elif left_out:
                text += f"; {left_out} with a baseline ≤ 0 counted as non-responders"
            cells.append(text)
        return cells

    return pd.DataFrame(
        {
            "responder definition": r["threshold"],
            "completers only (95% CI)": rates("n_completers", "completers"),
            "everyone with a baseline, missing = non-responder (95% CI)": rates("n_itt", "itt"),
        }
    )


def _undefined_per_threshold(analysis) -> list[int]:
    """Per threshold: patients with a follow-up value whose responder status is undefined."""
    patients = analysis.patients
    evaluable = patients["value"].notna()
    counts = []
    for threshold in analysis.rates["threshold"]:
        flag = patients.get(f"responder: {threshold}")
        counts.append(0 if flag is None else int((evaluable & flag.isna()).sum()))
    return counts


def suppressed_text(min_group: int) -> str:
    """The note shown where a group is hidden for being smaller than ``min_group``."""
    return f"suppressed (n < {min_group})"


def subgroup_group_table(comparison, show_small: bool = False, min_group: int = 5) -> pd.DataFrame:
    """Each group's change from baseline; groups below the threshold suppressed unless asked."""
    g = comparison.groups
    rows = []
    for r in g.itertuples():
        hide = r.small and not show_small
        ci = f"{_fmt(r.mean_change)} ({_fmt(r.ci_low)} to {_fmt(r.ci_high)})"
        rows.append(
            {
                "group": r.group,
                "patients": r.n,
                "mean change (95% CI)": suppressed_text(min_group) if hide else ci,
                "median change": "" if hide else _fmt(r.median_change),
            }
        )
    return pd.DataFrame(rows)


def subgroup_tests_text(comparison) -> list[str]:
    """One plain line per test that ran, and why a test did not run."""
    lines = []
    t = comparison.tests
    if "welch" in t:
        w = t["welch"]
        lines.append(
            f"Difference in mean change ({w['comparison']}): {_fmt(w['difference'])} (95% CI "
            f"{_fmt(w['ci_low'])} to {_fmt(w['ci_high'])}); Welch's t-test t = "
            f"{w['statistic']:.2f}, df = {w['df']:.1f}, {p_phrase(w['p_value'])}."
        )
        m = t["mann_whitney"]
        method = m.get("method")
        how = f", {method}" if method else ""
        lines.append(
            f"Mann-Whitney U test (Wilcoxon rank-sum{how}, as R's wilcox.test): "
            f"W = {m['statistic']:g}, {p_phrase(m['p_value'])}."
        )
    if "anova" in t:
        a = t["anova"]
        lines.append(
            f"One-way ANOVA: F({a['df'][0]}, {a['df'][1]}) = {a['statistic']:.2f}, "
            f"{p_phrase(a['p_value'])}."
        )
        k = t["kruskal"]
        lines.append(
            f"Kruskal-Wallis test: H = {k['statistic']:.2f}, df = {k['df']}, "
            f"{p_phrase(k['p_value'])}."
        )
    if comparison.reason:
        lines.append(f"Groups not tested: {comparison.reason}.")
    if comparison.suppressed:
        lines.append(
            "Small groups left out of the tests and hidden: "
            + ", ".join(comparison.suppressed)
            + "."
        )
    return lines


def ancova_table(ancova: pd.DataFrame) -> pd.DataFrame:
    """ANCOVA-adjusted differences from the reference group, as read on a page."""
    if ancova.empty:
        return pd.DataFrame()
    return pd.DataFrame(
        {
            "group": ancova["group"],
            "compared with": ancova["reference"],
            "adjusted difference (95% CI)": [
                f"{_fmt(d)} ({_fmt(lo)} to {_fmt(hi)})"
                for d, lo, hi in zip(
                    ancova["adjusted_difference"], ancova["ci_low"], ancova["ci_high"], strict=True
                )
            ],
            "p": ancova["p_value"].map(format_p),
        }
    )


def forest_display(
    table: pd.DataFrame, show_small: bool = False, min_group: int = 5
) -> pd.DataFrame:
    """The forest table (every subgroup's mean change and adjusted p-values) for a page."""
    rows = []
    for r in table.itertuples():
        hide = r.small and not show_small
        rows.append(
            {
                "attribute": r.attribute,
                "level": r.level,
                "patients": r.n,
                "mean change (95% CI)": suppressed_text(min_group) if hide else
                f"{_fmt(r.mean_change)} ({_fmt(r.ci_low)} to {_fmt(r.ci_high)})",
                "p (attribute)": format_p(r.p_value),
                "Holm": format_p(r.p_holm),
                "Benjamini-Hochberg": format_p(r.p_bh),
                "test": r.test,
            }
        )  # fmt: skip
    return pd.DataFrame(rows)


def table1_display(table: pd.DataFrame) -> pd.DataFrame:
    """Table 1 as tableone prints it: SMD to 3 decimals, p-values as journals print them."""
    shown = table.copy()
    if "SMD" in shown:
        shown["SMD"] = shown["SMD"].map(lambda v: "" if pd.isna(v) else f"{v:.3f}")
    if "p-value" in shown:
        shown["p-value"] = shown["p-value"].map(lambda v: "" if pd.isna(v) else format_p(v))
    return shown


def arm_difference_display(between: pd.DataFrame) -> pd.DataFrame:
    """Between-arm responder differences as read on a page: 'k/n (p%)' per arm, the difference
    in percentage points with its interval."""

    def share(k: int, n: int) -> str:
        return f"{k}/{n} ({100 * k / n:.0f}%)" if n else "no patients"

    rows = []
    for row in between.to_dict("records"):
        difference = row.get("difference")
        rows.append(
            {
                "threshold": row["threshold"],
                "arm": row["arm"],
                "responders in arm": share(row["responders_arm"], row["n_arm"]),
                "comparator": row["comparator"],
                "responders in comparator": share(
                    row["responders_comparator"], row["n_comparator"]
                ),
                "difference (points of %)": "undefined" if difference is None
                else f"{number(difference, 1)} ({number(row['ci_low'], 1)} to "
                f"{number(row['ci_high'], 1)})",
            }
        )  # fmt: skip
    return pd.DataFrame(rows)


def summary_between_display(between: pd.DataFrame) -> pd.DataFrame:
    """Between-arm differences in mean change per outcome and visit, as read on a page."""
    if between.empty:
        return pd.DataFrame(columns=["outcome", "visit", "arm", "difference (95% CI)", "p"])
    return pd.DataFrame(
        {
            "outcome": [lookup(o).label for o in between["outcome"]],
            "visit": between["visit"],
            "arm − comparator": between["arm"] + " − " + between["comparator"],
            "patients": between["n_arm"].astype(str) + " / " + between["n_comparator"].astype(str),
            "difference in mean change (95% CI)": [
                "undefined" if d is None or pd.isna(d)
                else f"{number(d, 2)} ({number(lo, 2)} to {number(hi, 2)})"
                for d, lo, hi in zip(
                    between["difference"], between["ci_low"], between["ci_high"], strict=True
                )
            ],
            "p (Welch)": between["p_value"].map(format_p),
        }
    )  # fmt: skip


def mmrm_lsmeans_table(model: OutcomeModel) -> pd.DataFrame:
    """LS means per arm and visit with the values used there, as read on a page."""
    frame = model.result.lsmeans.copy()
    frame["visit"] = frame["visit"].astype(str)
    if "arm" in frame and model.design.has_arms:
        # treated arms first, the comparator last, as every headline
        rank = {level: i for i, level in enumerate(model.design.levels)}
        frame = frame.sort_values("arm", key=lambda a: a.astype(str).map(rank), kind="stable")
    counts = model.counts.copy()
    if "arm" in frame:
        frame["arm"] = frame["arm"].astype(str)
        frame = frame.merge(counts, on=["arm", "visit"], how="left")
    else:
        frame = frame.merge(counts.drop(columns="arm"), on="visit", how="left")
    shown = pd.DataFrame({"visit": frame["visit"]})
    if "arm" in frame:
        shown.insert(0, "arm", frame["arm"])
    shown["values used"] = frame["n"].fillna(0).astype(int)
    shown["LS mean (95% CI)"] = [
        f"{number(e, 2)} ({number(lo, 2)} to {number(hi, 2)})"
        for e, lo, hi in zip(frame["estimate"], frame["ci_low"], frame["ci_high"], strict=True)
    ]
    shown["df"] = frame["df"].map(lambda d: number(d, 1))
    return shown


def mmrm_contrast_table(model: OutcomeModel) -> pd.DataFrame:
    """Each arm minus the comparator at every visit (the model's effect estimates)."""
    frame = model.result.contrasts
    if frame.empty:
        return pd.DataFrame()
    return pd.DataFrame(
        {
            "visit": frame["visit"].astype(str),
            "arm − comparator": frame["arm"].astype(str) + " − " + frame["comparator"].astype(str),
            "difference (95% CI)": [
                f"{number(e, 2)} ({number(lo, 2)} to {number(hi, 2)})"
                for e, lo, hi in zip(
                    frame["estimate"], frame["ci_low"], frame["ci_high"], strict=True
                )
            ],
            "SE": frame["se"].map(lambda v: number(v, 3)),
            "df": frame["df"].map(lambda v: number(v, 1)),
            "p": frame["p"].map(format_p),
        }
    )


def structure_comparison_table(table: pd.DataFrame) -> pd.DataFrame:
    """AIC/BIC of the covariance structures tried, best first, as read on a page."""
    shown = table.sort_values("aic", na_position="last")
    return pd.DataFrame(
        {
            "covariance": shown["covariance"],
            "parameters": shown["n_theta"],
            "AIC": shown["aic"].map(lambda v: number(v, 1)),
            "BIC": shown["bic"].map(lambda v: number(v, 1)),
            "converged": shown["converged"].map({True: "yes", False: "no"}),
            "note": shown["message"].fillna(""),
        }
    )


SENSITIVITY_NAMES = {
    "mmrm": "MMRM (all visits, missing at random)",
    "mi_mar": "multiple imputation, missing at random (primary)",
    "mi_j2r": "multiple imputation, jump to reference",
    "mi_cr": "multiple imputation, copy reference",
    "mi_cir": "multiple imputation, copy increments in reference",
    "complete_case": "completers only (sensitivity)",
    "locf": "last value carried forward (sensitivity)",
    "bocf": "baseline value carried forward (sensitivity)",
}


def sensitivity_display(result: SensitivityResult) -> pd.DataFrame:
    """Every estimate at the visit under each way of handling missing values, as read on a page."""
    frame = result.estimates()
    if frame.empty:
        return pd.DataFrame()
    between = "comparator" in frame and frame["comparator"].notna().any()
    shown = pd.DataFrame(
        {"analysis": frame["analysis"].map(lambda a: SENSITIVITY_NAMES.get(str(a), str(a)))}
    )
    if between:
        shown["comparison"] = frame["arm"].astype(str) + " − " + frame["comparator"].astype(str)
    elif "arm" in frame:
        shown["group"] = frame["arm"].fillna("all").astype(str)
    shown["estimate (95% CI)"] = [
        f"{number(e, 2)} ({number(lo, 2)} to {number(hi, 2)})"
        for e, lo, hi in zip(frame["estimate"], frame["ci_low"], frame["ci_high"], strict=True)
    ]
    shown["p"] = frame["p"].map(lambda p: format_p(None if pd.isna(p) else float(p)))
    shown["patients"] = frame["n"].astype("Int64")
    shown["values imputed"] = frame["n_imputed"].astype("Int64")
    return shown


def mi_responders_display(rates: pd.DataFrame) -> pd.DataFrame:
    """Responder rates from the multiply imputed data (and between-arm differences)."""
    if rates.empty:
        return pd.DataFrame()
    group = [
        f"{a} − {c}" if isinstance(c, str) else str(a)
        for a, c in zip(rates["arm"], rates["comparator"], strict=True)
    ]
    return pd.DataFrame(
        {
            "threshold": rates["threshold"],
            "arm or difference": group,
            "patients": rates["n"].astype("Int64"),
            "rate or difference, % (95% CI)": [
                f"{number(e, 1)} ({number(lo, 1)} to {number(hi, 1)})"
                for e, lo, hi in zip(
                    rates["estimate"], rates["ci_low"], rates["ci_high"], strict=True
                )
            ],
        }
    )


def between_arms_display(between: pd.DataFrame) -> pd.DataFrame:
    """Completers' between-arm differences in change (Welch and ANCOVA), as read on a page."""
    rows = []
    for row in between.to_dict("records"):

        def interval(estimate, low, high) -> str:
            if estimate is None or pd.isna(estimate):
                return "undefined"
            return f"{number(estimate, 2)} ({number(low, 2)} to {number(high, 2)})"

        rows.append(
            {
                "arm − comparator": f"{row['arm']} − {row['comparator']}",
                "patients": f"{row['n_arm']} / {row['n_comparator']}",
                "difference in mean change (95% CI)": interval(
                    row.get("difference"), row.get("ci_low"), row.get("ci_high")
                ),
                "p (Welch)": format_p(row.get("p_value")),
                "adjusted for the first visit (95% CI)": interval(
                    row.get("adjusted_difference"),
                    row.get("adjusted_ci_low"),
                    row.get("adjusted_ci_high"),
                ),
                "p (ANCOVA)": format_p(row.get("adjusted_p_value")),
            }
        )
    return pd.DataFrame(rows)


def change_bins_display(bins: ChangeBins) -> pd.DataFrame:
    """The mean change per bin of a numeric attribute as read on a page: the range, its
    patients, and the mean change with its 95% CI (suppressed bins say so)."""

    def mean_ci(row) -> str:
        if row.small:
            return suppressed_text(bins.min_group)
        if math.isnan(row.ci_low):  # one patient, or no spread: no interval
            return number(row.mean_change, 2)
        return f"{number(row.mean_change, 2)} ({number(row.ci_low, 2)} to {number(row.ci_high, 2)})"

    rows = list(bins.table.itertuples())
    return pd.DataFrame(
        {
            bins.attribute: [bin_label(r.low, r.high, bins.digits) for r in rows],
            "patients": bins.table["n"].to_numpy(),
            "mean change (95% CI)": [mean_ci(r) for r in rows],
        }
    )
