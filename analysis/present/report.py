"""The one-click report: a self-contained HTML file that works offline and prints cleanly.

It holds what the dashboard shows for one outcome and one follow-up visit (tables and plotly
figures, with plotly.js embedded once), the active cohort in words, the data source with a
fingerprint of its content, software versions, the date, a methods paragraph generated from what
actually ran, its references, and the caveats for uncontrolled data.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import html
import importlib.metadata
import platform
from dataclasses import dataclass

import pandas as pd
import plotly.graph_objects as go
import plotly.offline

from analysis.ingest.dataset import Dataset
from analysis.instruments import lookup
from analysis.present.figures import before_after_lines, change_histogram, completeness_bars
from analysis.present.figures_followup import change_over_time, over_time, waterfall
from analysis.present.tables import (
    ancova_table,
    arm_rates_display,
    change_table,
    friedman_sentence,
    mixed_model_table,
    responder_table,
    statistics_table,
    subgroup_group_table,
    summary_display,
)
from analysis.present.wording import SYNTHETIC_BANNER, UNCONTROLLED_CAVEAT, plain_sentence
from analysis.references import REFERENCES
from analysis.stats.arms import ARM_CAVEAT, arm_change, arm_responder_rates
from analysis.stats.compare import Comparison, compare_visits
from analysis.stats.responders import responder_analysis
from analysis.stats.subgroups import arm_attribute
from analysis.stats.summary import cohort_summary
from analysis.stats.trajectory import change_summary, friedman, mixed_model, visit_summary


@dataclass
class ReportInput:
    dataset: Dataset
    outcome: str
    visit: str
    source_fingerprint: str = "not available"  # SHA-256 of the file's bytes
    cohort_sentence: str = ""


def fingerprint(data: bytes | None) -> str:
    return hashlib.sha256(data).hexdigest() if data is not None else "not available"


def _versions() -> dict[str, str]:
    names = ["streamlit", "pandas", "numpy", "scipy", "statsmodels", "plotly"]
    versions = {"python": platform.python_version()}
    for name in names:
        try:
            versions[name] = importlib.metadata.version(name)
        except importlib.metadata.PackageNotFoundError:
            versions[name] = "not installed"
    return versions


def _table(frame: pd.DataFrame) -> str:
    return frame.to_html(index=False, escape=True, na_rep="", border=0, classes="data")


def _figure(fig: go.Figure) -> str:
    return "<div class='figure'>" + fig.to_html(full_html=False, include_plotlyjs=False) + "</div>"


def _p(text: str) -> str:
    return f"<p>{html.escape(text)}</p>"


def methods_paragraph(comparison: Comparison, outcome_label: str, used: dict[str, bool]) -> str:
    """What ran and why, from the results themselves (not a template of everything possible)."""
    s = comparison.stats
    parts = [
        f"{outcome_label} was compared between {comparison.before} and {comparison.after} in the "
        f"{s.n_pairs} patients with values at both visits; {comparison.n_excluded} patients "
        "without both values were excluded from this comparison (complete-case analysis), and "
        "no values were imputed.",
        "Mean change is reported with a t-based 95% confidence interval and a paired t-test "
        "[student1908]; the Wilcoxon signed-rank test was computed as R's wilcox.test does "
        "by default "
        "(zero changes dropped; exact p-value below 50 pairs without ties or zeros, otherwise "
        "the normal approximation with continuity correction) with the Hodges-Lehmann estimate "
        "and its distribution-free interval [hollander2014]. Normality of the changes was assessed "
        "with the Shapiro-Wilk test [royston1995] and the effect size is Cohen's d_z [lakens2013].",
        f"{s.recommended_reason}" if s.recommended_reason else "",
    ]
    if used.get("mcid"):
        parts.append(
            "Improvement is counted in the instrument's direction, and clinically important "
            f"improvement as a change of at least {comparison.instrument.mcid_abs_text()}"
            + (
                f" [{comparison.instrument.mcid_reference}]."
                if comparison.instrument.mcid_reference
                else "."
            )
        )
    if used.get("trajectory"):
        parts.append(
            "Across visits, the Friedman test used patients with a value at every visit "
            "[friedman1937]; a linear mixed model with a random intercept per patient (REML) used "
            "every available value, assuming values are missing at random [laird_ware1982]."
        )
    if used.get("responders"):
        parts.append(
            "Responders were defined by 30% and 50% improvement from baseline [dworkin2008]; "
            "rates are given for completers and for every patient with a baseline value, missing "
            "follow-up counted as non-response, with exact Clopper-Pearson 95% intervals "
            "[clopper1934]."
        )
    benchmark = comparison.instrument.placebo
    if used.get("placebo") and benchmark is not None:
        parts.append(
            f"The result is set beside the pooled placebo arms of {benchmark.n_trials} randomised "
            f"trials in {benchmark.population} [{benchmark.reference}]."
        )
    if used.get("arms"):
        parts.append(
            "Arms were compared by the difference in mean change (Welch's t-test) and by "
            "analysis of covariance of the follow-up value adjusted for baseline [vickers2001]; "
            "responder rates by their difference with Newcombe's interval [newcombe1998]."
        )
    parts.append(
        "Only one outcome and visit are reported here; p-values from the whole-cohort table are "
        "descriptive and not adjusted for multiplicity."
    )
    return " ".join(p for p in parts if p)


def build_report(data: ReportInput, today: dt.date | None = None) -> str:
    """The whole report as one HTML string."""
    ds, outcome, visit = data.dataset, data.outcome, data.visit
    inst = lookup(outcome)
    label = inst.label if inst.known else outcome
    today = today or dt.date.today()
    comparison = compare_visits(ds, outcome, ds.baseline, visit)
    summary = visit_summary(ds, outcome)
    change = change_summary(ds, outcome)
    fr = friedman(ds, outcome, list(summary["visit"]))
    model = mixed_model(ds, outcome)
    responders = responder_analysis(ds, outcome, visit) if inst.direction else None
    arm = arm_attribute(ds)
    used = {
        "mcid": inst.mcid_abs is not None and inst.direction is not None,
        "trajectory": True,
        "responders": responders is not None and not responders.rates.empty,
        "placebo": inst.placebo is not None,
        "arms": arm is not None,
    }
    sections: list[str] = []
    sections.append(
        "<section><h2>Data and cohort</h2>"
        + _p(f"Source: {ds.source_name} ({ds.source_format}).")
        + _p(f"SHA-256 of the file: {data.source_fingerprint}")
        + _p(data.cohort_sentence or f"All {ds.n_patients} patients.")
        + _p(
            f"{ds.n_patients} patients; visits {', '.join(ds.visits)} (baseline {ds.baseline}); "
            f"{len(ds.outcomes)} outcomes."
        )
        + _table(ds.completeness())
        + _figure(completeness_bars(ds.completeness()))
        + "</section>"
    )
    sections.append(
        f"<section><h2>{html.escape(label)}: {html.escape(ds.baseline)} to "
        f"{html.escape(visit)}</h2>"
        + _p(plain_sentence(comparison))
        + _table(statistics_table(comparison))
        + _figure(before_after_lines(comparison))
        + _figure(change_histogram(comparison))
        + "</section>"
    )
    sections.append(
        "<section><h2>Over time</h2>"
        + _figure(over_time(summary, outcome))
        + _table(change_table(change))
        + _figure(change_over_time(change, outcome))
        + _p(friedman_sentence(fr))
        + (_table(mixed_model_table(model)) if not model.estimates.empty else _p(model.reason))
        + "</section>"
    )
    if used["responders"] and responders is not None:
        sections.append(
            f"<section><h2>Responders at {html.escape(visit)}</h2>"
            + _table(responder_table(responders))
            + _figure(waterfall(responders))
            + "</section>"
        )
    if arm is not None:
        between = arm_change(ds, outcome, visit, arm)
        arm_html = _table(subgroup_group_table(between))
        if not between.ancova.empty:
            arm_html += _table(ancova_table(between.ancova))
        if used["responders"]:
            arm_html += _table(arm_rates_display(arm_responder_rates(ds, outcome, visit, arm)))
        sections.append("<section><h2>Between arms</h2>" + _p(ARM_CAVEAT) + arm_html + "</section>")
    sections.append(
        "<section><h2>Every outcome against baseline</h2>"
        + _table(summary_display(cohort_summary(ds)))
        + "</section>"
    )
    methods = methods_paragraph(comparison, label, used)
    cited = [key for key in REFERENCES if f"[{key}]" in methods]
    numbered = {key: i + 1 for i, key in enumerate(cited)}
    for key, number in numbered.items():
        methods = methods.replace(f"[{key}]", f"[{number}]")
    references = "".join(f"<li>{html.escape(REFERENCES[key].text())}</li>" for key in cited)
    versions = ", ".join(f"{k} {v}" for k, v in _versions().items())
    sections.append(
        "<section><h2>Methods</h2>" + _p(methods) + f"<ol class='refs'>{references}</ol>"
        "<h2>Caveats</h2>" + _p(UNCONTROLLED_CAVEAT) + "</section>"
    )
    banner = f"<p class='synthetic'>{html.escape(SYNTHETIC_BANNER)}</p>" if ds.synthetic else ""
    return _PAGE.format(
        title=html.escape(f"{label}: outcome report"),
        date=today.isoformat(),
        versions=html.escape(versions),
        banner=banner,
        body="".join(sections),
        plotly_js=plotly.offline.get_plotlyjs(),
    )


_PAGE = """<!doctype html>
<html lang="en"><head><meta charset="utf-8">
<title>{title}</title>
<style>
body {{ font-family: "Helvetica Neue", Arial, sans-serif; color: #222; max-width: 1100px;
       margin: 2em auto; padding: 0 1em; line-height: 1.45; }}
h1 {{ margin-bottom: 0.2em; }}
.meta {{ color: #555; font-size: 0.9em; }}
.synthetic {{ background: #e8f0fe; padding: 0.5em; border-radius: 4px; }}
table.data {{ border-collapse: collapse; margin: 0.8em 0; font-size: 0.9em; }}
table.data th, table.data td {{ border: 1px solid #ccc; padding: 3px 7px; text-align: left; }}
table.data th {{ background: #f3f3f3; }}
.figure {{ margin: 0.8em 0; }}
section {{ margin-bottom: 2em; }}
@media print {{
  body {{ margin: 0; max-width: none; }}
  section {{ page-break-before: always; }}
  section:first-of-type {{ page-break-before: avoid; }}
  .figure, table.data {{ page-break-inside: avoid; }}
}}
</style>
<script type="text/javascript">{plotly_js}</script>
</head><body>
<h1>{title}</h1>
<p class="meta">Generated {date} · {versions}</p>
{banner}
{body}
</body></html>
"""
