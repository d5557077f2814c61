"""Display tables for safety and time to response: formatted text, small cells suppressed.

Small-cell suppression: a count of 1 to ``min_cell`` − 1 patients (or events) in one arm's
cell is shown as "<min_cell" with no percentage, and any difference, rate or ratio computed
from a suppressed cell is hidden too (it would give the count back). Zero is shown: it
identifies nobody. ``show_small`` lifts the suppression (the user's choice, as on the other
pages).
"""

from __future__ import annotations

import pandas as pd

from analysis.present.format import format_p, number
from analysis.references import cite
from analysis.stats.adverse_events import RULE_COLUMNS, SafetyTables, rules_table
from analysis.stats.cohort import SMALL_GROUP_DEFAULT
from analysis.stats.time_to_event import INTERVAL_CENSORING_NOTE, TimeToEvent

SUPPRESSED = "suppressed (small cell)"
DIFFERENCE_NOTE = (
    "treated arm minus comparator in percentage points of patients, with Newcombe's hybrid "
    "score 95% interval."
)
CELL_NOTE = (
    "Each arm's cell: patients with at least one such event, n (% of the arm's patients at "
    "risk) [number of events]."
)
ALL_TERMS = "(all terms)"


def _small(k: int, min_cell: int, show_small: bool) -> bool:
    return not show_small and 0 < k < min_cell


def count_text(k: int, n: int, show_small: bool, min_cell: int = SMALL_GROUP_DEFAULT) -> str:
    """'12 (11.1%)', '0', or '<5' for a small cell."""
    if _small(k, min_cell, show_small):
        return f"<{min_cell}"
    if k == 0:
        return "0"
    return f"{k} ({100 * k / n:.1f}%)" if n else str(k)


def events_text(k: int, show_small: bool, min_cell: int = SMALL_GROUP_DEFAULT) -> str:
    """An event count, or '<5' for a small cell."""
    return f"<{min_cell}" if _small(k, min_cell, show_small) else str(k)


def arm_heading(arm: str, n: int) -> str:
    """'MSC (N=108)': the arm with its number at risk."""
    return f"{arm} (N={n})"


def _interval(low: float | None, high: float | None, digits: int = 1) -> str:
    if low is None or high is None or pd.isna(low) or pd.isna(high):
        return "not estimable"
    return f"{number(low, digits)} to {number(high, digits)}"


def _difference(row: pd.Series | None, show_small: bool, min_cell: int) -> str:
    if row is None:
        return ""
    if _small(int(row["patients_arm"]), min_cell, show_small) or _small(
        int(row["patients_comparator"]), min_cell, show_small
    ):
        return SUPPRESSED
    if row["difference"] is None or pd.isna(row["difference"]):
        return "not estimable"
    return f"{number(row['difference'], 1)} ({_interval(row['ci_low'], row['ci_high'])})"


def _differences(tables: SafetyTables) -> dict[tuple[str, str], pd.Series]:
    if tables.differences.empty:
        return {}
    return {(r["item"], r["arm"]): r for _, r in tables.differences.iterrows()}


def _difference_heading(arm: str, comparator: str) -> str:
    return f"{arm} − {comparator}, % points (95% CI)"


def _per_arm_table(
    tables: SafetyTables,
    frame: pd.DataFrame,
    key: str,
    label: str,
    show_small: bool,
    min_cell: int,
    with_events: bool = True,
    with_difference: bool = True,
) -> pd.DataFrame:
    """One row per ``key`` value: per arm 'patients n (%) [events]' (CELL_NOTE), and the risk
    difference of each treated arm."""
    rows = []
    differences = _differences(tables) if with_difference else {}
    for item, part in frame.groupby(key, sort=False, observed=True):
        row: dict[str, str] = {label: str(item)}
        by_arm = part.set_index("arm")
        for arm in tables.arms:
            k, n = int(by_arm.loc[arm, "patients"]), int(by_arm.loc[arm, "n"])
            heading = arm_heading(arm, tables.n_at_risk[arm])
            text = count_text(k, n, show_small, min_cell)
            if with_events and k and not _small(k, min_cell, show_small):
                text += f" [{events_text(int(by_arm.loc[arm, 'events']), show_small, min_cell)}]"
            row[heading] = text
        if tables.comparator is not None and with_difference:
            for arm in tables.arms:
                if arm == tables.comparator:
                    continue
                row[_difference_heading(arm, tables.comparator)] = _difference(
                    differences.get((str(item), arm)), show_small, min_cell
                )
        rows.append(row)
    return pd.DataFrame(rows)


def summary_display(
    tables: SafetyTables, show_small: bool = False, min_cell: int = SMALL_GROUP_DEFAULT
) -> pd.DataFrame:
    """The AE summary: patients n (%) and events per arm, and the risk difference (Newcombe)."""
    return _per_arm_table(tables, tables.summary, "item", "", show_small, min_cell)


def aesi_display(
    tables: SafetyTables, show_small: bool = False, min_cell: int = SMALL_GROUP_DEFAULT
) -> pd.DataFrame:
    """Adverse events of special interest per arm, with the terms each rule matched."""
    shown = _per_arm_table(
        tables, tables.aesi, "aesi", "event of special interest", show_small, min_cell
    )
    terms = tables.aesi.drop_duplicates("aesi").set_index("aesi")["terms"]
    shown["terms matched"] = shown["event of special interest"].map(terms).replace("", "none")
    return shown


def by_term_display(
    tables: SafetyTables, show_small: bool = False, min_cell: int = SMALL_GROUP_DEFAULT
) -> pd.DataFrame:
    """Each body system (term "all terms"), then its terms; most patients first."""
    frame = tables.by_term
    if frame.empty:
        return pd.DataFrame(columns=["body system", "term"])
    labelled = frame.assign(term=frame["term"].where(frame["level"] == "term", ALL_TERMS))
    labelled["key"] = labelled["level"] + "|" + labelled["category"] + "|" + labelled["term"]
    shown = _per_arm_table(
        tables, labelled, "key", "key", show_small, min_cell, with_difference=False
    )
    first = labelled.drop_duplicates("key")
    shown.insert(0, "term", first["term"].to_numpy())
    shown.insert(0, "body system", first["category"].to_numpy())
    return shown.drop(columns="key")


def severity_display(
    tables: SafetyTables, show_small: bool = False, min_cell: int = SMALL_GROUP_DEFAULT
) -> pd.DataFrame:
    """Patients by the worst severity of their adverse events."""
    return _per_arm_table(
        tables, tables.by_severity, "severity", "maximum " + tables.scale, show_small, min_cell,
        with_events=False, with_difference=False,
    )  # fmt: skip


def rates_display(
    tables: SafetyTables, show_small: bool = False, min_cell: int = SMALL_GROUP_DEFAULT
) -> pd.DataFrame:
    """Events per 100 patient-years with exact Poisson CIs per arm, and the rate ratio."""
    rows = []
    ratios = {(r["item"], r["arm"]): r for _, r in tables.rate_ratios.iterrows()}
    for item, part in tables.rates.groupby("item", sort=False, observed=True):
        row: dict[str, str] = {"": str(item)}
        by_arm = part.set_index("arm")
        small = False
        for arm in tables.arms:
            k = int(by_arm.loc[arm, "events"])
            heading = f"{arm} ({number(tables.patient_years[arm], 1)} patient-years)"
            if _small(k, min_cell, show_small):
                row[heading] = f"<{min_cell} events"
                small = True
                continue
            rate = by_arm.loc[arm, "rate"]
            row[heading] = (
                "no follow-up"
                if rate is None or pd.isna(rate)
                else f"{k} events; {number(rate, 1)} "
                f"({_interval(by_arm.loc[arm, 'ci_low'], by_arm.loc[arm, 'ci_high'])})"
            )
        for arm in tables.arms:
            ratio = ratios.get((str(item), arm))
            if ratio is None:
                continue
            heading = f"rate ratio {arm} / {ratio['comparator']} (95% CI)"
            if small:
                row[heading] = SUPPRESSED
            elif ratio["ratio"] is None or pd.isna(ratio["ratio"]):
                row[heading] = "not estimable (0 events in the comparator)"
            else:
                row[heading] = (
                    f"{number(ratio['ratio'], 2)} "
                    f"({_interval(ratio['ci_low'], ratio['ci_high'], 2)}), "
                    f"p {format_p(ratio['p_value'])}"
                )
        rows.append(row)
    return pd.DataFrame(rows)


def rules_display() -> pd.DataFrame:
    """The default rules for adverse events of special interest (an editable table)."""
    return rules_table()


RULES_HELP = (
    "Each adverse event's term is matched, case-insensitively, against the pattern (a regular "
    "expression: | separates alternatives, \\b marks a word boundary) unless it also matches "
    "the exception. Edit a pattern, add a row or delete one; the tables follow."
)
RULE_NAMES = RULE_COLUMNS


def safety_methods(tables: SafetyTables) -> str:
    """How the safety tables were made, with the works they rest on."""
    return (
        "Every patient of the cohort is at risk (treatment-emergent adverse events: onset on or "
        "after day 0); each patient is counted once per row however many events they had, and "
        "events are counted separately. Relation to the cells and to the procedure and "
        "severity are as recorded. Adverse events of special interest are matched by term with "
        "the rules shown. Risk difference: treated arm minus comparator in percentage points, "
        "Newcombe's hybrid score interval. Event rates: events per 100 patient-years of "
        "follow-up (day 0 to the last visit or adverse-event day), exact Poisson interval; "
        "rate ratio with the exact interval conditional on the total number of events. Counts "
        f"of 1 to {SMALL_GROUP_DEFAULT - 1} are suppressed unless small groups are shown. "
        f"Sources: {cite('isscr2021')} {cite('wang2021_msc_safety')} {cite('newcombe1998')} "
        f"{cite('garwood1936')}"
    )


# ---- time to response ------------------------------------------------------------------------


def _days(x: float | None) -> str:
    return "not reached" if x is None or pd.isna(x) else f"{x:.0f}"


def median_display(
    analysis: TimeToEvent, hidden: set[str] | frozenset[str] = frozenset()
) -> pd.DataFrame:
    """Patients, events and the median time with R's 95% CI, per arm."""
    what = "first response" if analysis.endpoint == "response" else "loss of response"
    rows = []
    for record in analysis.medians.to_dict("records"):
        arm = str(record["arm"])
        if arm in hidden:
            rows.append({"arm": arm, "patients": SUPPRESSED})
            continue
        ci = (
            "not estimable"
            if record["ci_low"] is None or pd.isna(record["ci_low"])
            else f"{_days(record['ci_low'])} to {_days(record['ci_high'])}"
        )
        rows.append(
            {"arm": arm, "patients": str(record["n"]), f"events ({what})": str(record["events"]),
             "censored": str(record["censored"]), "median (days)": _days(record["median"]),
             "95% CI (days)": ci}
        )  # fmt: skip
    return pd.DataFrame(rows)


def landmark_display(
    analysis: TimeToEvent, hidden: set[str] | frozenset[str] = frozenset()
) -> pd.DataFrame:
    """One row per chosen day, one column per arm: the share with a response (1 − S) or still
    responding (S) with its 95% CI, and the patients still at risk."""
    response = analysis.endpoint == "response"
    rows: dict[str, dict[str, str]] = {}
    for record in analysis.landmarks.to_dict("records"):
        arm = str(record["arm"])
        if arm in hidden:
            continue
        s, low, high = record["survival"], record["ci_low"], record["ci_high"]
        if s is None or pd.isna(s):
            shown = "beyond follow-up"
        else:
            if response:
                s, low, high = (
                    1 - s,
                    None if high is None else 1 - high,
                    None if low is None else 1 - low,
                )
            shown = (
                f"{100 * s:.0f}% ({_interval(_pct(low), _pct(high), 0)}); "
                f"{record['n_risk']} at risk"
            )
        day = f"{record['time']:.0f}"
        rows.setdefault(day, {"day": day})[arm] = shown
    return pd.DataFrame(list(rows.values()))


def landmark_heading(analysis: TimeToEvent) -> str:
    """What the landmark table's cells are."""
    if analysis.endpoint == "response":
        return "Share of patients with a first response by each day (Kaplan-Meier, 95% CI)"
    return "Share of responders still responding at each day (Kaplan-Meier, 95% CI)"


def _pct(x: float | None) -> float | None:
    return None if x is None or pd.isna(x) else 100 * x


def cox_display(analysis: TimeToEvent) -> pd.DataFrame:
    """Hazard ratios with 95% CIs and p (Wald), as R's summary(coxph(...)) gives them."""
    if analysis.cox is None:
        return pd.DataFrame()
    rows = []
    for record in analysis.cox.coefficients.to_dict("records"):
        rows.append(
            {"term": record["term"], "hazard ratio": number(record["hazard_ratio"], 2),
             "95% CI": _interval(record["ci_low"], record["ci_high"], 2),
             "p (Wald)": format_p(record["p_value"])}
        )  # fmt: skip
    return pd.DataFrame(rows)


def log_rank_sentence(analysis: TimeToEvent) -> str:
    """'Log-rank test: chi-square 3.40 on 1 df, p = 0.065.' (or why there is none)."""
    test = analysis.log_rank
    if test is None:
        return "No log-rank test: it needs two or more arms with events."
    p = format_p(test.p_value)
    return (
        f"Log-rank test between arms: chi-square {test.chisq:.2f} on {test.df} df, "
        f"p {p if p.startswith('<') else '= ' + p}."
    )


def time_to_event_methods(analysis: TimeToEvent) -> str:
    """How the times were defined and analysed, the interval-censoring assumption included."""
    response = analysis.endpoint == "response"
    origin = (
        "from treatment (day 0)"
        if response or analysis.origin == "treatment"
        else "from the first response"
    )
    event = (
        f"the first follow-up visit where {analysis.instrument.short_label} had improved from "
        f"baseline by at least {analysis.rule.amount}"
        if response
        else "the first later visit where a responder no longer met the threshold "
        f"({analysis.rule.label})"
    )
    return (
        f"Event: {event}. Time {origin}, in days, from {analysis.time_source}. Patients "
        "without the event are censored at their last visit with a value. Kaplan-Meier "
        "estimate with Greenwood's variance and log-transformed 95% intervals; median with "
        "the interval of Brookmeyer and Crowley as R's survfit computes it; log-rank test; "
        "Cox model with Efron's method for tied times, hazard ratios with Wald intervals "
        "(R's coxph defaults; checked against R's survival package). "
        + INTERVAL_CENSORING_NOTE
        + f" Sources: {cite('kaplan_meier1958')} {cite('brookmeyer_crowley1982')} "
        f"{cite('mantel1966')} {cite('cox1972')} {cite('efron1977')} {cite('lindsey_ryan1998')}"
    )


def rules_from_editor(frame: pd.DataFrame) -> pd.DataFrame:
    """The editor's rows with the expected column names (missing ones blank)."""
    out = frame.copy()
    for column in RULE_COLUMNS.values():
        if column not in out:
            out[column] = ""
    return out[list(RULE_COLUMNS.values())].fillna("")


def suppressed_record(
    tables: SafetyTables, show_small: bool = False, min_cell: int = SMALL_GROUP_DEFAULT
) -> dict:
    """``tables.to_dict()`` with small cells suppressed for export: counts of 1 to
    ``min_cell`` − 1 become None (``"suppressed": true``), and so do the rates, ratios and
    differences computed from them."""
    record = tables.to_dict()
    record["small_cells_suppressed"] = not show_small
    record["min_cell"] = min_cell
    if show_small:
        return record

    def small(k: object) -> bool:
        return isinstance(k, int) and 0 < k < min_cell

    for key in ("summary", "by_term", "by_maximum_severity", "special_interest"):
        for row in record[key]:
            hide = small(row.get("patients")) or small(row.get("events"))
            row["suppressed"] = hide
            if hide:
                row["patients"] = None
                if "events" in row:
                    row["events"] = None
    hidden_rates = set()
    for row in record["rates_per_100_patient_years"]:
        hide = small(row["events"])
        row["suppressed"] = hide
        if hide:
            hidden_rates.add(row["item"])
            row.update(events=None, rate=None, ci_low=None, ci_high=None)
    for row in record["rate_ratios"]:
        row["suppressed"] = row["item"] in hidden_rates
        if row["suppressed"]:
            row.update(ratio=None, ci_low=None, ci_high=None, p_value=None)
    for row in record["risk_differences"]:
        hide = small(row["patients_arm"]) or small(row["patients_comparator"])
        row["suppressed"] = hide
        if hide:
            row.update(
                patients_arm=None, patients_comparator=None, risk_arm=None,
                risk_comparator=None, difference=None, ci_low=None, ci_high=None,
            )  # fmt: skip
    return record


# ---- numeric versions, for CSV and XLSX exports ---------------------------------------------
# Counts are integers (nullable: a suppressed small cell is empty, with ``suppressed`` true),
# shares, rates, ratios and intervals are floats; text is ASCII (numeric_tables.finish).

AE_COUNT_COLUMNS = ("patients", "n", "events", "patients_comparator", "n_comparator", "n_risk",
                    "censored", "n_events")  # fmt: skip
NEWCOMBE_METHOD = "Newcombe hybrid score (method 10)"
GARWOOD_METHOD = "exact Poisson (Garwood)"
RATE_RATIO_TEST = "exact conditional (binomial) test of two Poisson rates"


def _finish_counts(frame: pd.DataFrame, columns: list[str]) -> pd.DataFrame:
    """``finish`` with the AE counts as nullable integers."""
    from analysis.present.numeric_tables import finish

    frame = frame.reindex(columns=columns)
    for column in AE_COUNT_COLUMNS:
        if column in frame:
            numbers = pd.to_numeric(frame[column], errors="coerce").astype("float64")
            frame[column] = numbers.round().astype("Int64")
    if "suppressed" in frame:
        frame["suppressed"] = frame["suppressed"].fillna(False).astype(bool)
    return finish(frame, columns)


_PER_ARM_COLUMNS = [
    "item", "category", "arm", "comparator", "statistic", "patients", "n", "events",
    "patients_comparator", "n_comparator", "estimate", "ci_low", "ci_high", "ci_level",
    "ci_method", "unit", "suppressed",
]  # fmt: skip


def _per_arm_numeric(
    tables: SafetyTables,
    frame: pd.DataFrame,
    key: str,
    show_small: bool,
    min_cell: int,
    with_difference: bool = True,
    statistic: str = "patients with at least one event (% of patients at risk)",
) -> pd.DataFrame:
    """Per item and arm: patients with the event, patients at risk, events and the share (%);
    then, per treated arm, the risk difference with Newcombe's interval (percentage points)."""
    rows: list[dict[str, object]] = []
    for record in frame.to_dict("records"):
        k, n = int(record["patients"]), int(record["n"])
        events = record.get("events")
        hide = _small(k, min_cell, show_small) or (
            events is not None and not pd.isna(events) and _small(int(events), min_cell, show_small)
        )
        rows.append({
            "item": record[key], "category": record.get("category", ""), "arm": record["arm"],
            "statistic": statistic, "patients": None if hide else k, "n": n,
            "events": None if hide or events is None or pd.isna(events) else int(events),
            "estimate": None if hide or not n else 100 * k / n, "unit": "%", "suppressed": hide,
        })  # fmt: skip
    if with_difference and tables.comparator is not None and not tables.differences.empty:
        keys = set(frame[key].astype(str))
        for d in tables.differences.to_dict("records"):
            if str(d["item"]) not in keys:
                continue
            hide = _small(int(d["patients_arm"]), min_cell, show_small) or _small(
                int(d["patients_comparator"]), min_cell, show_small
            )
            rows.append({
                "item": d["item"], "arm": d["arm"], "comparator": d["comparator"],
                "statistic": "risk difference (arm minus comparator)",
                "patients": None if hide else d["patients_arm"], "n": d["n_arm"],
                "patients_comparator": None if hide else d["patients_comparator"],
                "n_comparator": d["n_comparator"],
                "estimate": None if hide else d["difference"],
                "ci_low": None if hide else d["ci_low"], "ci_high": None if hide else d["ci_high"],
                "ci_level": 0.95, "ci_method": NEWCOMBE_METHOD, "unit": "percentage points",
                "suppressed": hide,
            })  # fmt: skip
    columns = [c for c in _PER_ARM_COLUMNS if c != "category" or key == "key"]
    return _finish_counts(pd.DataFrame(rows), columns)


def summary_numeric(
    tables: SafetyTables, show_small: bool = False, min_cell: int = SMALL_GROUP_DEFAULT
) -> pd.DataFrame:
    """The AE summary as numbers: per item and arm, then the risk differences."""
    return _per_arm_numeric(tables, tables.summary, "item", show_small, min_cell)


def aesi_numeric(
    tables: SafetyTables, show_small: bool = False, min_cell: int = SMALL_GROUP_DEFAULT
) -> pd.DataFrame:
    """Adverse events of special interest as numbers: per event and arm, then the differences."""
    return _per_arm_numeric(tables, tables.aesi, "aesi", show_small, min_cell)


def by_term_numeric(
    tables: SafetyTables, show_small: bool = False, min_cell: int = SMALL_GROUP_DEFAULT
) -> pd.DataFrame:
    """Body systems and terms as numbers (``item`` is the term, or '(all terms)')."""
    frame = tables.by_term.copy()
    if frame.empty:
        return _per_arm_numeric(tables, frame.assign(key=[]), "key", show_small, min_cell, False)
    frame["key"] = frame["term"].where(frame["level"] == "term", ALL_TERMS)
    return _per_arm_numeric(tables, frame, "key", show_small, min_cell, with_difference=False)


def severity_numeric(
    tables: SafetyTables, show_small: bool = False, min_cell: int = SMALL_GROUP_DEFAULT
) -> pd.DataFrame:
    """Patients by their worst severity, as numbers (``item`` is the severity)."""
    frame = tables.by_severity.rename(columns={"severity": "item"})
    shown = _per_arm_numeric(
        tables, frame, "item", show_small, min_cell, with_difference=False,
        statistic=f"patients by their worst {tables.scale} (% of patients at risk)",
    )  # fmt: skip
    return shown.drop(columns="events")


def rates_numeric(
    tables: SafetyTables, show_small: bool = False, min_cell: int = SMALL_GROUP_DEFAULT
) -> pd.DataFrame:
    """Events per 100 patient-years with exact Poisson intervals per arm, then each treated
    arm's rate ratio to the comparator with its exact interval and p-value."""
    rows: list[dict[str, object]] = []
    hidden: set[str] = set()
    for r in tables.rates.to_dict("records"):
        hide = _small(int(r["events"]), min_cell, show_small)
        if hide:
            hidden.add(str(r["item"]))
        rows.append({
            "item": r["item"], "arm": r["arm"], "statistic": "events per 100 patient-years",
            "events": None if hide else r["events"], "patient_years": r["patient_years"],
            "estimate": None if hide else r["rate"], "ci_low": None if hide else r["ci_low"],
            "ci_high": None if hide else r["ci_high"], "ci_level": 0.95,
            "ci_method": GARWOOD_METHOD, "unit": "per 100 patient-years", "suppressed": hide,
        })  # fmt: skip
    for r in tables.rate_ratios.to_dict("records"):
        hide = str(r["item"]) in hidden
        rows.append({
            "item": r["item"], "arm": r["arm"], "comparator": r["comparator"],
            "statistic": "rate ratio (arm / comparator)",
            "estimate": None if hide else r["ratio"], "ci_low": None if hide else r["ci_low"],
            "ci_high": None if hide else r["ci_high"], "ci_level": 0.95,
            "ci_method": RATE_RATIO_TEST, "p_value": None if hide else r["p_value"],
            "test": RATE_RATIO_TEST, "unit": "ratio", "suppressed": hide,
        })  # fmt: skip
    columns = ["item", "arm", "comparator", "statistic", "events", "patient_years", "estimate",
               "ci_low", "ci_high", "ci_level", "ci_method", "p_value", "test", "unit",
               "suppressed"]  # fmt: skip
    out = _finish_counts(pd.DataFrame(rows), columns)
    out["patient_years"] = pd.to_numeric(out["patient_years"], errors="coerce").astype(float)
    return out


def median_numeric(
    analysis: TimeToEvent, hidden: set[str] | frozenset[str] = frozenset()
) -> pd.DataFrame:
    """Median time to the event per arm with R's 95% interval (days) and the log-rank p."""
    test = analysis.log_rank
    rows = []
    for r in analysis.medians.to_dict("records"):
        hide = str(r["arm"]) in hidden
        rows.append({
            "outcome": analysis.outcome, "endpoint": analysis.endpoint,
            "threshold": analysis.rule.label, "arm": r["arm"], "n": None if hide else r["n"],
            "n_events": None if hide else r["events"],
            "censored": None if hide else r["censored"],
            "estimate": None if hide else r["median"], "ci_low": None if hide else r["ci_low"],
            "ci_high": None if hide else r["ci_high"], "ci_level": 0.95,
            "ci_method": "Brookmeyer-Crowley, log transform (R survfit)",
            "p_value": None if test is None else test.p_value,
            "test": "" if test is None else "log-rank (R survdiff)", "unit": "days",
            "suppressed": hide,
        })  # fmt: skip
    columns = ["outcome", "endpoint", "threshold", "arm", "n", "n_events", "censored",
               "estimate", "ci_low", "ci_high", "ci_level", "ci_method", "p_value", "test",
               "unit", "suppressed"]  # fmt: skip
    return _finish_counts(pd.DataFrame(rows), columns)


def landmark_numeric(
    analysis: TimeToEvent, hidden: set[str] | frozenset[str] = frozenset()
) -> pd.DataFrame:
    """The share with a first response (1 − S) or still responding (S) at each day, in %,
    with its 95% interval and the patients still at risk."""
    response = analysis.endpoint == "response"
    rows = []
    for r in analysis.landmarks.to_dict("records"):
        if str(r["arm"]) in hidden:
            continue
        s, low, high = r["survival"], r["ci_low"], r["ci_high"]
        if response:
            s, low, high = (None if x is None or pd.isna(x) else 1 - x for x in (s, high, low))
        rows.append({
            "outcome": analysis.outcome, "endpoint": analysis.endpoint, "arm": r["arm"],
            "day": r["time"], "n_risk": r["n_risk"],
            "statistic": "share with a first response" if response else "share still responding",
            "estimate": _pct(s), "ci_low": _pct(low), "ci_high": _pct(high), "ci_level": 0.95,
            "ci_method": "Kaplan-Meier, Greenwood variance, log transform", "unit": "%",
        })  # fmt: skip
    columns = ["outcome", "endpoint", "arm", "day", "n_risk", "statistic", "estimate", "ci_low",
               "ci_high", "ci_level", "ci_method", "unit"]  # fmt: skip
    out = _finish_counts(pd.DataFrame(rows), columns)
    out["day"] = pd.to_numeric(out["day"], errors="coerce").astype(float)
    return out


def cox_numeric(analysis: TimeToEvent) -> pd.DataFrame:
    """Hazard ratios with Wald 95% intervals and p-values (R's coxph, Efron ties)."""
    columns = ["outcome", "endpoint", "term", "estimate", "ci_low", "ci_high", "ci_level",
               "p_value", "test", "n", "n_events", "unit"]  # fmt: skip
    if analysis.cox is None:
        return _finish_counts(pd.DataFrame(), columns)
    rows = [
        {"outcome": analysis.outcome, "endpoint": analysis.endpoint, "term": r["term"],
         "estimate": r["hazard_ratio"], "ci_low": r["ci_low"], "ci_high": r["ci_high"],
         "ci_level": 0.95, "p_value": r["p_value"], "test": "Wald (Cox model, Efron ties)",
         "n": analysis.cox.n, "n_events": analysis.cox.n_events, "unit": "hazard ratio"}
        for r in analysis.cox.coefficients.to_dict("records")
    ]  # fmt: skip
    return _finish_counts(pd.DataFrame(rows), columns)


def time_to_event_provenance(analysis: TimeToEvent) -> dict[str, object]:
    """What a time-to-event export's provenance adds: outcome, endpoint, threshold, times."""
    return {
        "outcome": analysis.outcome,
        "endpoint": analysis.endpoint,
        "response_threshold": analysis.rule.label,
        "time_origin": "treatment (day 0)"
        if analysis.endpoint == "response" or analysis.origin == "treatment"
        else "first response",
        "time_source": analysis.time_source,
        "cox_covariates": list(analysis.covariates),
        "interval_censoring": INTERVAL_CENSORING_NOTE,
    }


# ---- one patient's adverse events (the Patient page and its printable view) -----------------

PATIENT_AE_COLUMNS = ["term", "category", "start day", "end day", "severity", "serious",
                      "related", "outcome", "special interest"]  # fmt: skip


def _day_text(x: object) -> str:
    return "" if x is None or pd.isna(x) else number(float(x), 0)  # type: ignore[arg-type]


def patient_events_display(events: pd.DataFrame, scale: str = "severity") -> pd.DataFrame:
    """One patient's adverse events as shown: term, body system, start and end day (ongoing
    when there is no end), severity or grade, serious, related, outcome, special interest."""
    if events.empty:
        return pd.DataFrame(columns=PATIENT_AE_COLUMNS)
    severity = events["severity"].where(events["severity"].notna(), "not recorded")
    if scale == "grade":
        severity = [
            f"grade {int(level)}" if pd.notna(level) else "not recorded"
            for level in events["severity_level"]
        ]
    return pd.DataFrame({
        "term": events["term"].astype(str),
        "category": events["category"].fillna("").astype(str),
        "start day": events["start_day"].map(_day_text),
        "end day": [
            "ongoing" if pd.isna(end) else _day_text(end) for end in events["end_day"]
        ],
        "severity": list(severity),
        "serious": events["serious"].map(
            lambda s: "not recorded" if s is None or pd.isna(s) else ("yes" if s else "no")
        ),
        "related": events["related"].fillna("not recorded").astype(str),
        "outcome": events["outcome"].fillna("").astype(str),
        "special interest": (
            events["special interest"].astype(str) if "special interest" in events else ""
        ),
    }).rename(columns={"severity": "grade" if scale == "grade" else "severity"})  # fmt: skip


def patient_events_numeric(events: pd.DataFrame) -> pd.DataFrame:
    """One patient's adverse events as numbers: days as floats, severity level as an integer,
    serious as true/false."""
    from analysis.present.numeric_tables import finish

    columns = [
        "patient_id", "term", "category", "start_day", "end_day", "severity_level", "severity",
        "serious", "related", "outcome", "action", "special interest",
    ]  # fmt: skip
    frame = events.reindex(columns=columns).copy()
    for column in ("start_day", "end_day"):
        frame[column] = pd.to_numeric(frame[column], errors="coerce").astype(float)
    frame["severity_level"] = (
        pd.to_numeric(frame["severity_level"], errors="coerce").round().astype("Int64")
    )
    frame["serious"] = frame["serious"].astype("boolean")
    return finish(frame, columns)
