"""The one-click report: a self-contained HTML file that works offline and prints cleanly.

It leads with the answer: page 1 holds the question, the estimand, the headline per arm and the
between-arm effect with its interval, responder rates, the missing-data statement, one plain
sentence per arm and the caveat that fits the design. Figures and tables follow; the methods
paragraph (written from what actually ran), references, data source with its fingerprint and
software versions close it. plotly.js is embedded once, so the file works offline.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import html
import importlib.metadata
import platform
from dataclasses import dataclass, replace

import pandas as pd
import plotly.graph_objects as go
import plotly.offline

from analysis.ingest.adverse_events import AdverseEvents
from analysis.ingest.dataset import Dataset
from analysis.instruments import lookup
from analysis.present.estimand import Estimand, change_estimand
from analysis.present.figures_followup import lsmeans_over_time, waterfall
from analysis.present.figures_missing import missingness_map_figure
from analysis.present.format import format_p, number
from analysis.present.safety_tables import (
    CELL_NOTE,
    aesi_display,
    log_rank_sentence,
    median_display,
    rates_display,
    summary_display,
)
from analysis.present.tables import (
    mmrm_contrast_table,
    mmrm_lsmeans_table,
    responder_table,
)
from analysis.present.visit_axis import visit_axis
from analysis.present.wording import (
    COVARIANCE_NAMES,
    SYNTHETIC_BANNER,
    design_caveat,
    mmrm_sentence,
    plain_sentence,
)
from analysis.references import REFERENCES
from analysis.stats.adverse_events import SUMMARY_ITEMS, SafetyTables, safety_tables
from analysis.stats.arms import (
    ArmComparison,
    ArmDesign,
    compare_by_arm,
    largest_baseline_smd,
    patients_with_baseline,
    resolve_arms,
    responders_by_arm,
)
from analysis.stats.cohort import SMALL_GROUP_DEFAULT
from analysis.stats.compare import Comparison, compare_visits
from analysis.stats.longitudinal import MMRMSpec, OutcomeModel, fit_outcome_model
from analysis.stats.missingness import missingness_summary
from analysis.stats.responders import ResponderAnalysis, responder_analysis
from analysis.stats.time_to_event import TimeToEvent, time_to_event

# Figure heights (px): the model's means, the waterfall, the missingness map. Small enough
# that the map stays on page 2 and the time-to-response and safety sections fit on 4 A4 pages.
FIGURE_PX = (300, 260, 350)
REPORT_RESPONSE_THRESHOLD = "30%"  # time to first response: IMMPACT moderate improvement
REPORT_RATE_ITEMS = SUMMARY_ITEMS[:1]  # exposure-adjusted rate of any AE (the page: more)
INTERVAL_NOTE_SHORT = (
    "A response is seen only at a visit: each is placed at the visit where it was first seen, "
    "so times are overestimated by up to one visit interval and patients seen at the same "
    "visits share a time (interval censoring)."
)
SAFETY_CAVEAT = (
    "Adverse events are counted as recorded, with the relation to the cells or the procedure "
    "that the investigators gave; a difference in counts between arms does not show that the "
    "treatment caused the events."
)


@dataclass
class ReportInput:
    """What a report is about: data, outcome, visit, source fingerprint, cohort, arm design."""

    dataset: Dataset
    outcome: str
    visit: str
    source_fingerprint: str = "not available"  # SHA-256 of the file's bytes
    cohort_sentence: str = ""
    design: ArmDesign | None = None  # None: recognised from the data
    adverse_events: AdverseEvents | None = None  # the AE table: a safety section when given
    min_cell: int = SMALL_GROUP_DEFAULT  # small-cell suppression of the safety and time tables


def fingerprint(data: bytes | None) -> str:
    """SHA-256 of a file's bytes as hex ('not available' without bytes)."""
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


def _figure(fig: go.Figure, height: int = 280) -> str:
    """A figure sized for an A4 page (it must never be cut at a page edge)."""
    fig = go.Figure(fig).update_layout(height=height, width=None, autosize=True)
    return (
        "<div class='figure'>"
        + fig.to_html(full_html=False, include_plotlyjs=False, default_height=f"{height}px")
        + "</div>"
    )


def _p(text: str) -> str:
    return f"<p>{html.escape(text)}</p>"


def methods_paragraph(
    model: OutcomeModel | None,
    comparisons: dict[str, Comparison],
    label: str,
    visit: str,
    used: dict[str, bool],
    time_to_response: TimeToEvent | None = None,
    safety: SafetyTables | None = None,
    min_cell: int = SMALL_GROUP_DEFAULT,
) -> str:
    """What ran and why, from the results themselves (not a template of everything possible)."""
    first = next(iter(comparisons.values()))
    per_arm = len(comparisons) > 1
    parts = [
        f"{label} was analysed "
        + ("in each arm separately" if per_arm else "in all patients as one group")
        + f" from {first.before} to {visit}."
    ]
    if model is not None:
        parts.append(
            "The primary analysis is a mixed model for repeated measures (MMRM) of "
            + (
                "the change from baseline with the baseline value as a covariate, "
                if model.spec.response == "change"
                else "the value at each visit, "
            )
            + "visit"
            + (", arm and arm-by-visit interaction" if model.design.has_arms else "")
            + f", with {COVARIANCE_NAMES.get(model.result.covariance_structure, '')} covariance "
            "between visits, fitted by restricted maximum likelihood with Satterthwaite degrees "
            "of freedom [satterthwaite1946], matching the R package mmrm [mmrm_r]. It uses every "
            "available value and is valid if missing values are missing at random; least-squares "
            "means and between-arm contrasts are reported at each visit."
        )
    parts.append(
        "Completers (patients with values at both visits) were summarised by the mean change "
        "with a t-based 95% confidence interval and a paired t-test [student1908], and by the "
        "Wilcoxon signed-rank test as R's wilcox.test computes it (zero changes dropped; exact "
        "p-value below 50 pairs without ties or zeros, otherwise the normal approximation with "
        "continuity correction; changes rounded to 12 decimals before ranking; patients with no "
        "change left out of the test, the estimate and its interval; with too few pairs for "
        "95% the interval is given at the level reached) with the Hodges-Lehmann estimate and "
        "its interval "
        "[hollander2014]. The primary paired test was chosen from the outcome's scale before "
        "looking at the data, not by a normality pre-test [rochon2012]; the effect size is "
        "Cohen's d_z [lakens2013]."
    )
    mcid_reference = first.instrument.mcid_reference
    if used.get("mcid"):
        parts.append(
            "Improvement is counted in the instrument's direction, and clinically important "
            f"improvement as a change of at least {first.instrument.mcid_abs_text()}"
            + (f" [{mcid_reference}]." if mcid_reference else ".")
        )
    if used.get("responders"):
        parts.append(
            "Responders were defined by 30% and 50% improvement from baseline [dworkin2008]; "
            "rates are given for completers and for every patient with a baseline value, missing "
            "follow-up counted as non-response, with exact Clopper-Pearson 95% intervals "
            "[clopper1934]."
        )
    benchmark = first.instrument.placebo
    if used.get("placebo") and benchmark is not None:
        parts.append(
            f"The result is set beside the pooled placebo arms of {benchmark.n_trials} randomised "
            f"trials in {benchmark.population} [{benchmark.reference}]."
        )
    if used.get("arms"):
        parts.append(
            "Completers' change was compared between arms by the difference in mean change "
            "(Welch's t-test) and by analysis of covariance adjusted for baseline [vickers2001]; "
            "responder rates by their difference with Newcombe's interval [newcombe1998]."
        )
    if time_to_response is not None:
        parts.append(
            f"Time to first response ({time_to_response.rule.label}) was estimated per arm by "
            "Kaplan-Meier [kaplan_meier1958], the median with Brookmeyer and Crowley's interval "
            "[brookmeyer_crowley1982], censored at the last visit with a value, and compared "
            "between arms by the log-rank test [mantel1966] as R's survival package does "
            "[r_survival]; a response is placed at the visit where it was first seen "
            "[lindsey_ryan1998]."
        )
    if safety is not None:
        parts.append(
            "Adverse events: patients with at least one event among those at risk, and events, "
            "per arm [isscr2021]; events of special interest matched by term "
            "[wang2021_msc_safety]"
            + ("; risk differences with Newcombe's interval [newcombe1998]"
               if safety.comparator is not None else "")
            + "; rates per 100 patient-years with exact Poisson intervals [garwood1936]; "
            f"counts of 1 to {min_cell - 1} suppressed."
        )  # fmt: skip
    parts.append(
        "Only one outcome and visit are reported here; p-values are not adjusted for multiplicity."
    )
    return " ".join(p for p in parts if p)


def headline_rows(
    comparisons: dict[str, Comparison],
    model: OutcomeModel | None,
    responders: dict[str, ResponderAnalysis],
    visit: str,
) -> pd.DataFrame:
    """One row per arm: patients, the model's change, completers' change, responder rates."""
    rows = []
    lsmeans = None
    if model is not None and model.result.converged and model.spec.response == "change":
        lsmeans = model.result.lsmeans.copy()
        lsmeans["visit"] = lsmeans["visit"].astype(str)
        if "arm" not in lsmeans:
            lsmeans["arm"] = ""
        lsmeans["arm"] = lsmeans["arm"].astype(str)
    for arm, comparison in comparisons.items():
        s = comparison.stats
        row: dict[str, object] = {"arm": arm or "all patients"}
        analysis = responders.get(arm)
        row["with a baseline value"] = analysis.n_itt if analysis is not None else ""
        row[f"seen at {visit}"] = s.n_pairs
        if lsmeans is not None:
            found = lsmeans.loc[(lsmeans["arm"] == (arm if arm else "")) &
                                (lsmeans["visit"] == visit)]  # fmt: skip
            if len(found):
                e = found.iloc[0]
                row["change, all visits used (MMRM)"] = (
                    f"{number(e['estimate'], 2)} ({number(e['ci_low'], 2)} to "
                    f"{number(e['ci_high'], 2)})"
                )
        row["change, completers"] = (
            f"{number(s.mean_change, 2)} ({number(s.change_ci_low, 2)} to "
            f"{number(s.change_ci_high, 2)})"
            if s.change_ci_low is not None
            else number(s.mean_change, 2)
        )
        if analysis is not None and not analysis.rates.empty:
            half = analysis.rates.set_index("threshold").iloc[1]
            row[f"{half.name}: completers / all"] = (
                f"{half['rate_completers']:.0f}% / {half['rate_itt']:.0f}%"
                if half["rate_completers"] is not None
                else "undefined"
            )
        rows.append(row)
    return pd.DataFrame(rows)


def effect_rows(
    model: OutcomeModel | None, by_arm: ArmComparison | None, rates: pd.DataFrame, visit: str
) -> pd.DataFrame:
    """The between-arm effect estimates at the visit: model contrast, completers, responders."""
    rows = []
    if model is not None and model.result.converged and not model.result.contrasts.empty:
        contrasts = model.result.contrasts
        for c in contrasts.loc[contrasts["visit"].astype(str) == visit].to_dict("records"):
            rows.append({
                "comparison": f"{c['arm']} − {c['comparator']}",
                "estimate": "difference in change, all visits used (MMRM)",
                "value (95% CI)": f"{number(c['estimate'], 2)} ({number(c['ci_low'], 2)} to "
                f"{number(c['ci_high'], 2)})",
                "p": format_p(c["p"]),
            })  # fmt: skip
    if by_arm is not None:
        for b in by_arm.between.to_dict("records"):
            if b.get("difference") is None:
                continue
            rows.append({
                "comparison": f"{b['arm']} − {b['comparator']}",
                "estimate": "difference in change, completers (Welch)",
                "value (95% CI)": f"{number(b['difference'], 2)} ({number(b['ci_low'], 2)} to "
                f"{number(b['ci_high'], 2)})",
                "p": format_p(b["p_value"]),
            })  # fmt: skip
    for r in rates.to_dict("records"):
        if r.get("difference") is None or "50%" not in str(r["threshold"]):
            continue
        rows.append({
            "comparison": f"{r['arm']} − {r['comparator']}",
            "estimate": f"difference in {r['threshold']} responders (completers, % points)",
            "value (95% CI)": f"{number(r['difference'], 1)} ({number(r['ci_low'], 1)} to "
            f"{number(r['ci_high'], 1)})",
            "p": "",
        })  # fmt: skip
    return pd.DataFrame(rows)


def missing_statement(
    comparisons: dict[str, Comparison], responders: dict[str, ResponderAnalysis], visit: str
) -> str:
    """How many had no value at the visit, per arm, and how each estimate handles it."""
    parts = []
    for arm, analysis in responders.items():
        missing = analysis.n_itt - analysis.n_evaluable
        share = 100 * missing / analysis.n_itt if analysis.n_itt else 0
        parts.append(
            f"{arm + ': ' if arm else ''}{missing} of {analysis.n_itt} ({share:.0f}%) with a "
            f"baseline value have no value at {visit}"
        )
    return (
        "; ".join(parts)
        + ". The model estimates use every visit these patients attended and assume the "
        "missing values are missing at random; completers' figures leave them out; the "
        "'all' responder rate counts them as non-responders. How much the answer depends on "
        "these assumptions is shown on the dashboard's sensitivity analyses."
    )


@dataclass
class ReportParts:
    """What the report shows, computed once for the HTML and the Word report."""

    title: str
    label: str
    design: ArmDesign
    comparisons: dict[str, Comparison]
    by_arm: ArmComparison | None
    responders: dict[str, ResponderAnalysis]
    rates: pd.DataFrame
    model: OutcomeModel | None
    estimand: Estimand
    question: str
    used: dict[str, bool]
    time_to_response: TimeToEvent | None = None  # time to first response (30%), per arm
    safety: SafetyTables | None = None  # with an AE table
    adverse_events: AdverseEvents | None = None
    min_cell: int = SMALL_GROUP_DEFAULT

    def methods(self, visit: str) -> str:
        """The methods paragraph of this report (citation keys in brackets)."""
        return methods_paragraph(
            self.model, self.comparisons, self.label, visit, self.used,
            self.time_to_response, self.safety, self.min_cell,
        )  # fmt: skip

    def hidden_arms(self) -> set[str]:
        """Arms of the time-to-response analysis smaller than ``min_cell`` (suppressed)."""
        if self.time_to_response is None:
            return set()
        return {a for a, f in self.time_to_response.fits.items() if f.n < self.min_cell}


def report_parts(data: ReportInput) -> ReportParts:
    """The report's results: per-arm comparisons, responders, the MMRM and the estimand."""
    ds, outcome, visit = data.dataset, data.outcome, data.visit
    inst = lookup(outcome)
    label = inst.label if inst.known else outcome
    design = data.design if data.design is not None else resolve_arms(ds)
    by_arm = None
    if design.has_arms:
        by_arm = compare_by_arm(ds, design, outcome, ds.baseline, visit)
        comparisons = by_arm.per_arm
    else:
        comparisons = {"": compare_visits(ds, outcome, ds.baseline, visit)}
    responders: dict[str, ResponderAnalysis] = {}
    rates = pd.DataFrame()
    if inst.direction:
        if design.has_arms:
            by_arm_rates = responders_by_arm(ds, design, outcome, visit)
            responders, rates = dict(by_arm_rates.per_arm), by_arm_rates.between
        else:
            responders = {"": responder_analysis(ds, outcome, visit)}
    try:
        model: OutcomeModel | None = fit_outcome_model(ds, design, MMRMSpec(outcome))
    except ValueError:
        model = None
    used = {
        "mcid": inst.mcid_abs is not None and inst.direction is not None,
        "responders": any(not r.rates.empty for r in responders.values()),
        "placebo": inst.placebo is not None,
        "arms": design.has_arms,
    }
    counts = patients_with_baseline(ds, design, outcome)
    estimand = change_estimand(design, inst, ds.baseline, visit, data.cohort_sentence, counts)
    if model is not None and model.result.converged:
        estimand = replace(
            estimand,
            missing_data=(
                "Two estimates, both shown. The model (MMRM) uses every visit each patient "
                "attended and assumes missing values are missing at random; completers' "
                f"figures leave out patients without a value at {visit}. Nothing is imputed."
            ),
            summary_measure="Least-squares mean change at the visit (MMRM) and completers' "
            "mean change, each with its 95% interval"
            + ("; between arms, their differences (each arm minus the comparator)."
               if design.has_arms else "."),
        )  # fmt: skip
    arms_text = (
        " and ".join([*design.treated, str(design.comparator)]) if design.has_arms else
        "all patients"
    )  # fmt: skip
    ttr = None
    if inst.direction is not None:
        try:
            ttr = time_to_event(ds, outcome, REPORT_RESPONSE_THRESHOLD, design, landmarks=[])
        except ValueError:
            ttr = None
    ae = data.adverse_events
    safety = safety_tables(ds, design, ae) if ae is not None else None
    return ReportParts(
        title=f"{label}: {ds.baseline} to {visit}",
        label=label,
        design=design,
        comparisons=comparisons,
        by_arm=by_arm,
        responders=responders,
        rates=rates,
        model=model,
        estimand=estimand,
        question=f"Question: how did {label} change from {ds.baseline} to {visit} in {arms_text}?",
        used=used,
        time_to_response=ttr,
        safety=safety,
        adverse_events=ae,
        min_cell=data.min_cell,
    )


def time_to_response_table(parts: ReportParts) -> pd.DataFrame:
    """Per arm: patients, first responses, censored, median days with its 95% CI (small arms
    suppressed)."""
    assert parts.time_to_response is not None
    return median_display(parts.time_to_response, parts.hidden_arms())


def time_to_response_heading(parts: ReportParts) -> str:
    """'Time to first response (≥30% improvement)'."""
    assert parts.time_to_response is not None
    return f"Time to first response ({parts.time_to_response.rule.label})"


def time_to_response_text(parts: ReportParts) -> str:
    """The log-rank sentence (or why there is none) and the short interval-censoring note."""
    analysis = parts.time_to_response
    assert analysis is not None
    test = log_rank_sentence(analysis) if not parts.hidden_arms() else (
        "No log-rank test shown: an arm is smaller than the small-group threshold."
    )  # fmt: skip
    return f"Kaplan-Meier estimates, days since treatment; 95% CI as R's survfit. {test} " + (
        INTERVAL_NOTE_SHORT
    )


def safety_intro(parts: ReportParts) -> str:
    """Where the adverse events come from, the patients at risk and their follow-up."""
    tables, ae = parts.safety, parts.adverse_events
    assert tables is not None and ae is not None
    at_risk = "; ".join(
        f"{arm}: {tables.n_at_risk[arm]} patients, {number(tables.patient_years[arm], 1)} "
        "patient-years"
        for arm in tables.arms
    )
    outside = (
        f" {tables.n_events_outside} event(s) of patients outside the cohort are not counted."
        if tables.n_events_outside
        else ""
    )
    return (
        f"Adverse events from {ae.source_name}"
        + (" (synthetic: not real patients)" if ae.synthetic and "synthetic" not in
           ae.source_name.lower() else "")
        + f": {len(tables.events)} events counted. At risk: {at_risk}.{outside}"
    )  # fmt: skip


def safety_report_tables(parts: ReportParts) -> list[tuple[str, pd.DataFrame]]:
    """The report's safety tables with their captions: the summary, the events of special
    interest (without the matched terms) and the exposure-adjusted rate of any adverse event;
    small cells suppressed."""
    tables = parts.safety
    assert tables is not None
    cell = parts.min_cell
    aesi = aesi_display(tables, False, cell).drop(columns="terms matched")
    rates = rates_display(tables, False, cell)
    rates = rates.loc[rates[""].isin(REPORT_RATE_ITEMS)].reset_index(drop=True)
    return [
        ("Adverse events per arm", summary_display(tables, False, cell)),
        ("Adverse events of special interest", aesi),
        ("Adverse events per 100 patient-years (exact 95% CI)", rates),
    ]


def safety_notes(parts: ReportParts) -> str:
    """The cell note and the caveat under the safety tables."""
    return (
        CELL_NOTE
        + f" Counts of 1 to {parts.min_cell - 1} are shown as <{parts.min_cell}. "
        + SAFETY_CAVEAT
    )


def build_report(data: ReportInput, today: dt.date | None = None) -> str:
    """The whole report as one HTML string."""
    ds, outcome, visit = data.dataset, data.outcome, data.visit
    today = today or dt.date.today()
    parts = report_parts(data)
    label, design, comparisons = parts.label, parts.design, parts.comparisons
    by_arm, responders, rates, model = parts.by_arm, parts.responders, parts.rates, parts.model
    estimand = parts.estimand
    answer = (
        "<section class='answer'><h2>The answer</h2>"
        + _p(parts.question)
        + _p(data.cohort_sentence or f"All {ds.n_patients} patients.")
        + "<h3>What this answers (estimand)</h3>"
        + _table(pd.DataFrame(estimand.rows(), columns=["attribute", "definition"]))
        + "<h3>Result"
        + (" in each arm" if design.has_arms else "")
        + "</h3>"
        + _table(headline_rows(comparisons, model, responders, visit))
    )
    if design.has_arms:
        answer += "<h3>Between arms: the effect estimate</h3>" + _table(
            effect_rows(model, by_arm, rates, visit)
        )
    if responders:
        answer += _p(missing_statement(comparisons, responders, visit))
    for arm, comparison in comparisons.items():
        answer += _p((f"{arm}: " if arm else "") + plain_sentence(comparison))
    largest = largest_baseline_smd(ds, design) if design.has_arms else None
    answer += "<p class='caveat'>" + html.escape(design_caveat(design, largest)) + "</p>"
    answer += "</section>"

    figures = "<section class='figures'><h2>Figures</h2>"
    if model is not None and model.result.converged:
        figures += _p(mmrm_sentence(model, label)) + _figure(
            lsmeans_over_time(model, axis=visit_axis(ds.visits, ds.long)), height=FIGURE_PX[0]
        )
    shown_arm = next(iter(comparisons))
    if shown_arm in responders and not responders[shown_arm].rates.empty:
        figures += _figure(waterfall(responders[shown_arm]), height=FIGURE_PX[1])
    if shown_arm:
        figures += _p(f"The waterfall shows the {shown_arm} arm.")
    gaps = missingness_summary(ds, outcome, design)
    figures += _figure(missingness_map_figure(gaps.map), height=FIGURE_PX[2])
    figures += "</section>"

    tables = "<section class='tables'><h2>Tables</h2>"
    for arm, analysis in responders.items():
        if not analysis.rates.empty:
            where = f"{visit} · {arm}" if arm else visit
            tables += f"<h3>Responders at {html.escape(where)}</h3>"
            tables += _table(responder_table(analysis))
    if model is not None and model.result.converged:
        tables += "<h3>Model estimates at each visit</h3>" + _table(mmrm_lsmeans_table(model))
        if design.has_arms:
            tables += _table(mmrm_contrast_table(model))
    tables += "<h3>Data</h3>" + _table(ds.completeness())
    tables += "</section>"
    tables += _time_and_safety_html(parts)

    methods = parts.methods(visit)
    cited = [key for key in REFERENCES if f"[{key}]" in methods]
    numbered = {key: i + 1 for i, key in enumerate(cited)}
    for key, n in numbered.items():
        methods = methods.replace(f"[{key}]", f"[{n}]")
    references = "".join(f"<li>{html.escape(REFERENCES[key].text())}</li>" for key in cited)
    versions = ", ".join(f"{k} {v}" for k, v in _versions().items())
    closing = (
        "<section class='methods'><h2>Methods</h2>" + _p(methods)
        + f"<ol class='refs'>{references}</ol>"
        + "<h2>Data source</h2>"
        + _p(f"Source: {ds.source_name} ({ds.source_format}).")
        + _p(f"SHA-256 of the file: {data.source_fingerprint}")
        + _p(f"{ds.n_patients} patients; visits {', '.join(ds.visits)}, of which "
             f"'{ds.baseline}' is the baseline; {len(ds.outcomes)} outcomes.")
        + _p(f"Software: {versions}.")
        + "</section>"
    )  # fmt: skip
    banner = f"<p class='synthetic'>{html.escape(SYNTHETIC_BANNER)}</p>" if ds.synthetic else ""
    return _PAGE.format(
        title=html.escape(f"{label}: {ds.baseline} to {visit}"),
        date=today.isoformat(),
        versions=html.escape(versions),
        banner=banner,
        body=answer + figures + tables + closing,
        plotly_js=plotly.offline.get_plotlyjs(),
    )


def _time_and_safety_html(parts: ReportParts) -> str:
    """The time-to-response and safety sections (compact: tables and a few sentences)."""
    out = ""
    if parts.time_to_response is not None:
        out += (
            "<section class='compact'><h3>" + html.escape(time_to_response_heading(parts))
            + "</h3>" + _table(time_to_response_table(parts))
            + f"<p class='note'>{html.escape(time_to_response_text(parts))}</p></section>"
        )  # fmt: skip
    if parts.safety is not None:
        out += "<section class='compact safety'><h2>Safety</h2>" + _p(safety_intro(parts))
        for caption, frame in safety_report_tables(parts):
            out += f"<h3>{html.escape(caption)}</h3>" + _table(frame)
        out += f"<p class='note'>{html.escape(safety_notes(parts))}</p></section>"
    return out


_PAGE = """<!doctype html>
<html lang="en"><head><meta charset="utf-8">
<title>{title}</title>
<style>
body {{ font-family: "Helvetica Neue", Arial, sans-serif; color: #222; max-width: 1000px;
       margin: 1.5em auto; padding: 0 1em; line-height: 1.35; font-size: 14px; }}
h1 {{ margin-bottom: 0.1em; font-size: 1.5em; }}
h2 {{ font-size: 1.25em; margin: 0.8em 0 0.3em; }}
h3 {{ font-size: 1.02em; margin: 0.7em 0 0.2em; }}
p {{ margin: 0.35em 0; }}
.meta {{ color: #555; font-size: 0.85em; }}
.synthetic {{ background: #e8f0fe; padding: 0.4em; border-radius: 4px; }}
.caveat {{ background: #fff4e5; padding: 0.4em; border-radius: 4px; }}
table.data {{ border-collapse: collapse; margin: 0.4em 0; font-size: 0.85em; }}
table.data th, table.data td {{ border: 1px solid #ccc; padding: 2px 6px; text-align: left;
                                vertical-align: top; }}
table.data th {{ background: #f3f3f3; }}
.figure {{ margin: 0.4em 0; }}
.note {{ color: #444; font-size: 0.85em; }}
section.compact table.data {{ font-size: 0.8em; }}
@page {{ size: A4; margin: 12mm; }}
@media print {{
  body {{ margin: 0; max-width: none; font-size: 11px; }}
  section.figures {{ page-break-before: always; }}
  .figure, table.data, h3 {{ page-break-inside: avoid; }}
  ol.refs {{ columns: 2; column-gap: 1.5em; font-size: 0.8em; padding-left: 1.6em; }}
  ol.refs li {{ break-inside: avoid; }}
  h2, h3 {{ page-break-after: avoid; }}
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
