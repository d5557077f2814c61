"""The registry source: a database table summarised where it lives (analysis.ingest.engine).

Offered in the sidebar only when the administrator names it (OUTCOMES_REGISTRY_URL, e.g.
duckdb:///registry.duckdb, parquet:/data/registry or postgresql://reader@host/db, with
OUTCOMES_REGISTRY_TABLE naming the table where the database holds several): no path or URL can
be typed in the browser. The Overview is computed in the engine; a page that needs each
patient's values asks before reading one outcome's rows (at most engine.ROWS_CAP_PATIENTS
patients), which then stay in this session's memory only.
"""

from __future__ import annotations

import os
from typing import TYPE_CHECKING

import streamlit as st

from ui import url as link
from ui.safe import md

if TYPE_CHECKING:
    from analysis.ingest.engine import EngineCohort
    from analysis.stats.arms import ArmDesign
    from analysis.stats.pushdown import PushdownSummary

URL_VARIABLE = "OUTCOMES_REGISTRY_URL"
TABLE_VARIABLE = "OUTCOMES_REGISTRY_TABLE"
SOURCE_REGISTRY = "Registry database (computed in place)"


def cohort_identity(cohort: EngineCohort) -> str:
    """What st.cache_data hashes for a registry cohort: its source, baseline and visit mapping
    (the database's content is not hashed: cached results expire after an hour)."""
    return f"{cohort.source.display}|{cohort.baseline}|{sorted(cohort.visit_map.items())}"


# Cached registry results are keyed by the cohort's identity plus their plain arguments (the
# ArmDesign dataclass hashes by value); the type is named as a string so that this module
# does not import the engine (and Ibis) before a registry is used.
CACHE_OPTIONS: dict = {
    "hash_funcs": {"analysis.ingest.engine.EngineCohort": cohort_identity},
    "ttl": 3600,
}


def registry_url() -> str | None:
    """The registry the administrator configured, or None."""
    return os.environ.get(URL_VARIABLE, "").strip() or None


@st.cache_resource(show_spinner="Checking the registry inside its database…", ttl=3600)
def _cohort(url: str, table: str | None, baseline: str | None) -> EngineCohort:
    from analysis.ingest import engine

    return engine.describe(engine.open_source(url, table), baseline=baseline)


def registry_sidebar(sidebar) -> tuple[bytes | None, str]:
    """Describe the configured registry in its engine and keep it in session state; returns
    the rows read for a page that needs them (Parquet bytes in memory, loaded as any source
    is), or None while nothing has been read."""
    from analysis.ingest.engine import EngineError

    url = registry_url()
    st.session_state["engine_cohort"] = None
    if url is None:
        sidebar.error(f"No registry is configured ({URL_VARIABLE}).")
        return None, ""
    table = os.environ.get(TABLE_VARIABLE) or None
    try:
        cohort = _cohort(url, table, None)
    except (EngineError, ValueError) as exc:
        sidebar.error(md(str(exc)))
        return None, ""
    identity = cohort_identity(cohort)
    baseline = link.selectbox(
        sidebar, "Baseline visit", cohort.visits, f"baseline::{identity}", "baseline",
        cohort.visits.index(cohort.baseline),
        help="Detected from the visit labels and days; change it if the detection is wrong.",
    )  # fmt: skip
    cohort = cohort.with_baseline(baseline)
    st.session_state["engine_cohort"] = cohort
    sidebar.caption(
        f"{cohort.n_patients:,} patients · {len(cohort.visits)} visits · "
        f"{len(cohort.outcomes)} outcomes · computed inside {cohort.source.kind}"
    )
    rows = st.session_state.get("registry_rows")
    if rows is not None and rows[0] == cohort.source.display:
        sidebar.caption(f"Rows read for the other pages: {md(rows[2])}.")
        return rows[1], f"{cohort.source.display} ({rows[2]})"
    registry_arm_sidebar(cohort, identity)
    return None, ""


def registry_arm_sidebar(cohort: EngineCohort, fingerprint: str) -> ArmDesign:
    """The arm controls for a registry summarised in its database: candidates and levels come
    from the engine's description, the design from engine_arm_design."""
    from functools import partial

    from analysis.stats.pushdown import engine_arm_design
    from analysis.stats.pushdown_subgroups import categorical_attributes
    from ui.arms import MAX_ARMS, arm_controls

    levels = {
        name: cohort.attribute_levels[name]
        for name in categorical_attributes(cohort)
        if len(cohort.attribute_levels[name]) <= MAX_ARMS
    }
    return arm_controls(levels, partial(engine_arm_design, cohort), fingerprint)


def registry_design() -> ArmDesign:
    """The arm design chosen in the sidebar for the registry."""
    from ui.state import arm_design

    return arm_design()


def engine_cohort() -> EngineCohort | None:
    """The registry cohort when the registry source is chosen, else None."""
    if st.session_state.get("source") != SOURCE_REGISTRY:
        return None
    return st.session_state.get("engine_cohort")


def registry_without_rows() -> EngineCohort | None:
    """The registry cohort while no rows have been read for the pages (their statistics are
    then computed in the engine where a page can), else None."""
    cohort = engine_cohort()
    return cohort if cohort is not None and st.session_state.get("dataset") is None else None


@st.cache_data(show_spinner="Summarising inside the database…", max_entries=8, **CACHE_OPTIONS)
def cached_pushdown_summary(
    cohort: EngineCohort, design: ArmDesign, min_cell: int
) -> PushdownSummary:
    """The whole-cohort summary computed in the engine, once per registry and design."""
    from analysis.stats.pushdown import pushdown_summary

    return pushdown_summary(cohort, design, min_cell=min_cell)


@st.cache_data(show_spinner=False, max_entries=8, **CACHE_OPTIONS)
def cached_registry_counts(cohort: EngineCohort, design: ArmDesign) -> dict[str, int]:
    """Patients with a baseline value per arm, counted in the engine."""
    from analysis.stats.pushdown import engine_patients_with_baseline

    return engine_patients_with_baseline(cohort, design)


def outcome_picker(container, cohort: EngineCohort, label: str, key: str) -> str:
    """An outcome of the registry by its label, starting from the link's ?outcome= if any."""
    from analysis.instruments import lookup

    linked = st.query_params.get("outcome")
    return container.selectbox(
        label,
        cohort.outcomes,
        index=cohort.outcomes.index(linked) if linked in cohort.outcomes else 0,
        format_func=lambda code: lookup(code).label,
        key=key,
    )


def offer_rows(cohort: EngineCohort) -> None:
    """On a page that needs each patient's values: say so, and read one outcome's rows out of
    the database when the user asks (capped); the rows then serve every page but the
    Overview, which stays computed in the database."""
    import io

    from analysis.ingest import engine

    st.info(
        "This registry is summarised inside its database; no row has left it. What this page "
        "shows beyond that needs each patient's values: read one outcome's rows (at most "
        f"{engine.ROWS_CAP_PATIENTS:,} patients) into this session's memory to see it.",
        icon=":material/database:",
    )
    outcome = outcome_picker(st, cohort, "Outcome to read", "registry_outcome")
    if not st.button(f"Read the rows of {outcome}", key="registry_read"):
        return
    try:
        frame = engine.fetch_rows(cohort, [outcome])
    except engine.EngineError as exc:
        st.error(md(str(exc)))
        return
    buffer = io.BytesIO()
    frame.to_parquet(buffer, index=False)  # in memory, never on disk
    st.session_state["registry_rows"] = (cohort.source.display, buffer.getvalue(), outcome)
    st.rerun()


def registry_overview(cohort: EngineCohort) -> None:
    """The Overview of a registry summarised inside its database: counts, follow-up
    completeness and every outcome against baseline per arm; no row leaves the engine."""
    from analysis.present.estimand import summary_estimand
    from analysis.present.figures import completeness_bars
    from analysis.present.numeric_tables import summary_between_numeric, summary_numeric
    from analysis.present.tables import summary_between_display, summary_display
    from analysis.present.wording import design_caveat
    from analysis.stats.cohort import SMALL_GROUP_DEFAULT
    from ui.render import chart, table

    report = cohort.report
    st.markdown(
        f"**Source:** {md(cohort.source.display)}, summarised inside {md(cohort.source.kind)}: "
        "only counts, sums and histograms of changes left the database.  \n"
        f"**{cohort.n_patients:,} patients**, {len(cohort.visits)} visits "
        f"({md(', '.join(cohort.visits))}; ordered {md(cohort.visit_order_rule)}), "
        f"{len(cohort.outcomes)} outcomes. Baseline visit: **{md(cohort.baseline)}**."
    )
    columns = st.columns(4)
    columns[0].metric("Patients", f"{cohort.n_patients:,}")
    columns[1].metric("Visits", len(cohort.visits))
    columns[2].metric("Outcomes", len(cohort.outcomes))
    columns[3].metric("Data warnings", len(report.warnings))
    for finding in report.warnings:
        st.warning(md(finding.message))
    design = registry_design()
    st.warning(md(design_caveat(design, None)), icon=":material/warning:")
    completeness = _cached_completeness(cohort)
    left, right = st.columns([3, 2])
    with left:
        chart(completeness_bars(completeness), "follow_up_completeness")
    with right:
        st.subheader("Follow-up completeness")
        st.caption("Patients with at least one value at each visit.")
        table(completeness, "follow_up_completeness")
    result = cached_pushdown_summary(cohort, design, SMALL_GROUP_DEFAULT)
    counts = cached_registry_counts(cohort, design)
    estimand = summary_estimand(design, "", counts)
    computed_in = {
        "estimand": estimand,
        "computed_in": cohort.source.kind,
        "source": cohort.source.display,
        "rows_left_database": False,
        "small_cells_suppressed": result.n_suppressed,
    }
    st.subheader("Every outcome against baseline" + (" in each arm" if design.has_arms else ""))
    notes = [
        f"Computed inside {cohort.source.kind}. Cells with fewer than {SMALL_GROUP_DEFAULT} "
        f"patients are suppressed inside the database ({max(result.n_suppressed, 0)} here)."
    ]
    if result.outcomes_off_grid:
        notes.append(
            "Rank statistics (Wilcoxon, Hodges-Lehmann) are left out for outcomes whose values "
            "lie on no recording grid: " + ", ".join(result.outcomes_off_grid) + "."
        )
    st.caption(md(" ".join(notes)))
    shown = summary_display(result.summary)
    table(shown, "every_outcome_against_baseline", numeric=summary_numeric(result.summary),
          provenance=computed_in, height=min(36 * (len(shown) + 1) + 4, 1400))  # fmt: skip
    if design.has_arms:
        st.subheader("Between arms: difference in mean change")
        st.caption(
            "Each arm minus the comparator, with Welch's 95% interval: the comparison that can "
            "separate treatment from placebo response and regression to the mean."
        )
        table(summary_between_display(result.between), "every_outcome_between_arms",
              numeric=summary_between_numeric(result.between), provenance=computed_in)  # fmt: skip


@st.cache_data(show_spinner=False, max_entries=8, **CACHE_OPTIONS)
def _cached_completeness(cohort: EngineCohort):
    from analysis.stats.pushdown import engine_completeness

    return engine_completeness(cohort)


@st.cache_data(
    show_spinner="Comparing the visits inside the database…", max_entries=16, **CACHE_OPTIONS
)
def cached_pushdown_compare(
    cohort: EngineCohort, design: ArmDesign, outcome: str, before: str, after: str
):
    """Compare visits per arm computed in the engine (analysis.stats.pushdown_compare)."""
    from analysis.stats.cohort import SMALL_GROUP_DEFAULT
    from analysis.stats.pushdown_compare import pushdown_compare

    return pushdown_compare(cohort, design, outcome, before, after, min_cell=SMALL_GROUP_DEFAULT)


def registry_compare(cohort: EngineCohort) -> None:
    """Compare visits for a registry summarised in its database: the per-arm statistics and
    the between-arm effect computed in the engine; the per-patient charts need rows."""
    from analysis.instruments import lookup
    from analysis.present.estimand import change_estimand
    from analysis.present.format import number
    from analysis.present.numeric_tables import between_arms_numeric, paired_numeric
    from analysis.present.tables import between_arms_display, statistics_table
    from analysis.present.wording import between_arms_sentence, design_caveat, plain_sentence
    from analysis.stats.arms import ArmComparison
    from ui.render import table

    pick = st.columns(3)
    outcome = outcome_picker(pick[0], cohort, "Outcome", "registry_cmp_outcome")
    before = pick[1].selectbox(
        "First visit", cohort.visits, index=cohort.visits.index(cohort.baseline),
        key="registry_cmp_before",
    )  # fmt: skip
    after_options = [v for v in cohort.visits if v != before]
    after = pick[2].selectbox(
        "Second visit", after_options, index=len(after_options) - 1, key="registry_cmp_after"
    )
    design = registry_design()
    result = cached_pushdown_compare(cohort, design, outcome, before, after)
    counts = cached_registry_counts(cohort, design)
    inst = lookup(outcome)
    estimand = change_estimand(design, inst, before, after, "", counts)
    provenance = {
        "estimand": estimand,
        "computed_in": cohort.source.kind,
        "source": cohort.source.display,
        "rows_left_database": False,
        "suppressed_arms": result.suppressed_arms,
    }
    st.caption(
        md(
            f"Computed inside {cohort.source.kind}: no row left the database. Arms with fewer "
            f"than {result.min_cell} patients are suppressed there"
            + (f" ({', '.join(result.suppressed_arms)})" if result.suppressed_arms else "")
            + "."
            + (
                ""
                if result.exact_ranks
                else " The values lie on no recording grid: rank statistics need each patient's "
                "values and are not shown."
            )
        )
    )
    unit = f" {inst.unit}" if inst.unit else ""
    st.subheader("Result in each arm" if design.has_arms else "Result")
    for arm, comparison in result.per_arm.items():
        s = comparison.stats
        if arm:
            st.markdown(f"**{md(arm)}**" + (" (comparator)" if arm == design.comparator else ""))
        if s.n_pairs == 0:
            st.warning(md(plain_sentence(comparison)))
            continue
        card = st.columns(3)
        card[0].metric("Mean change", f"{number(s.mean_change)}{unit}")
        card[0].caption(f"95% CI {number(s.change_ci_low)} to {number(s.change_ci_high)}")
        card[1].metric("Patients with both values", f"{s.n_pairs:,}")
        card[1].caption(f"{comparison.n_excluded:,} without")
        if s.pct_improved is not None:
            card[2].metric("Improved", f"{s.pct_improved:.0f}%")
        st.info(md(plain_sentence(comparison)), icon=":material/record_voice_over:")
    if design.has_arms and not result.between.empty:
        st.subheader("Between arms: the effect estimate")
        for row in result.between.to_dict("records"):
            st.markdown(md(between_arms_sentence(row, inst.unit, before, after)))
        by_arm = ArmComparison(design, dict(result.per_arm), result.between)
        table(between_arms_display(result.between), f"{outcome}_{before}_to_{after}_between_arms",
              numeric=between_arms_numeric(by_arm), provenance=provenance)  # fmt: skip
    st.caption(md(design_caveat(design, None)))
    for arm, comparison in result.per_arm.items():
        suffix = f" · {arm}" if arm else ""
        with st.expander(f"All statistics, and how each was computed{suffix}"):
            stem = f"{outcome}_{before}_to_{after}_statistics{suffix}"
            numeric = paired_numeric(comparison, arm or None)
            table(statistics_table(comparison), stem, numeric=numeric, provenance=provenance)
    st.divider()


@st.cache_data(
    show_spinner="Counting responders inside the database…", max_entries=16, **CACHE_OPTIONS
)
def cached_pushdown_responders(cohort: EngineCohort, design: ArmDesign, outcome: str, visit: str):
    """Responders per arm computed in the engine (analysis.stats.pushdown_responders)."""
    from analysis.stats.cohort import SMALL_GROUP_DEFAULT
    from analysis.stats.pushdown_responders import pushdown_responders

    return pushdown_responders(cohort, design, outcome, visit, min_cell=SMALL_GROUP_DEFAULT)


def registry_responders(cohort: EngineCohort) -> None:
    """Responders for a registry summarised in its database: rates per arm with exact
    intervals and the between-arm differences computed in the engine; the waterfall needs rows."""
    from analysis.instruments import lookup
    from analysis.present.estimand import responder_estimand
    from analysis.present.numeric_tables import (
        responder_rates_numeric,
        responders_between_numeric,
    )
    from analysis.present.tables import arm_difference_display, responder_table
    from analysis.present.wording import design_caveat
    from ui.render import table

    pick = st.columns(2)
    outcome = outcome_picker(pick[0], cohort, "Outcome", "registry_resp_outcome")
    follow = cohort.follow_up_visits
    visit = pick[1].selectbox(
        "Follow-up visit", follow, index=len(follow) - 1, key="registry_resp_visit"
    )
    design = registry_design()
    result = cached_pushdown_responders(cohort, design, outcome, visit)
    counts = cached_registry_counts(cohort, design)
    inst = lookup(outcome)
    estimand = responder_estimand(design, inst, visit, "", counts)
    provenance = {
        "estimand": estimand,
        "computed_in": cohort.source.kind,
        "source": cohort.source.display,
        "rows_left_database": False,
        "arms_suppressed": result.n_suppressed,
    }
    st.caption(
        md(
            f"Computed inside {cohort.source.kind}: no row left the database. Arms with fewer "
            f"than {result.min_cell} patients are suppressed there ({result.n_suppressed} here)."
        )
    )
    for arm, analysis in result.per_arm.items():
        if design.has_arms:
            st.subheader(md(arm) + (" (comparator)" if arm == design.comparator else ""))
        cards = st.columns(2)
        cards[0].metric("Patients with a baseline value", f"{analysis.n_itt:,}")
        cards[1].metric(f"Evaluable at {visit}", f"{analysis.n_evaluable:,}")
        if analysis.rates.empty:
            st.info("Responder rates need a direction of improvement.")
            continue
        numeric = responder_rates_numeric(analysis, arm or None)
        stem = f"responders_{outcome}_{visit}_{arm}".rstrip("_")
        table(responder_table(analysis), stem, numeric=numeric, provenance=provenance)
    if design.has_arms and not result.between.empty:
        st.subheader("Between arms: the effect estimate")
        table(arm_difference_display(result.between), f"responders_between_arms_{outcome}_{visit}",
              numeric=responders_between_numeric(result), provenance=provenance)  # fmt: skip
        st.caption("Completers; difference in percentage points with Newcombe's 95% interval.")
    st.caption(md(design_caveat(design, None)))
    st.divider()
