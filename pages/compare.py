"""Compare visits: one outcome, two visits, every patient shown, the right test explained."""

import streamlit as st

from analysis.present.estimand import change_estimand
from analysis.present.figures import before_after_lines, change_histogram, visit_distributions
from analysis.present.format import number, p_phrase
from analysis.present.numeric_tables import between_arms_numeric, paired_numeric
from analysis.present.tables import between_arms_display, statistics_table
from analysis.present.wording import between_arms_sentence, design_caveat, plain_sentence
from analysis.stats.arms import patients_with_baseline
from analysis.stats.compare import Comparison
from ui import url
from ui.arms import estimand_card
from ui.entry import ensure_entry
from ui.registry import registry_compare, registry_without_rows
from ui.render import chart, table
from ui.safe import md
from ui.state import (
    arm_design,
    cached_compare,
    cached_compare_by_arm,
    cached_largest_smd,
    require_dataset,
)
from ui.widgets import direction_for, follow_up_picker, outcome_picker

ensure_entry()

st.title("Compare two visits")
if (registry_cohort := registry_without_rows()) is not None:
    registry_compare(registry_cohort)  # computed inside the registry's database
dataset = require_dataset()

pick = st.columns(3)
outcome = outcome_picker(dataset, "cmp_outcome", pick[0])
before = url.selectbox(
    pick[1], "First visit", dataset.visits, "cmp_before", "before",
    default=dataset.visits.index(dataset.baseline),
)  # fmt: skip
with_data = set(dataset.wide(outcome).columns)
after_options = [v for v in dataset.visits if v != before]
after = follow_up_picker(
    dataset, outcome, after_options, "cmp_after", "after", pick[2], "Second visit"
)

direction = direction_for(outcome)
design = arm_design()
if design.has_arms:
    by_arm = cached_compare_by_arm(dataset, design, outcome, before, after, direction)
    comparisons = by_arm.per_arm
else:
    comparisons = {"": cached_compare(dataset, outcome, before, after, direction)}
first = next(iter(comparisons.values()))
inst = first.instrument
unit = f" {inst.unit}" if inst.unit else ""

estimand = change_estimand(
    design, inst, before, after, st.session_state.get("cohort_sentence", ""),
    patients_with_baseline(dataset, design, outcome),
)  # fmt: skip
estimand_card(estimand)


def result_card(comparison: Comparison) -> None:
    """Four numbers for one group: mean change, primary test, effect size, improved."""
    s = comparison.stats
    card = st.columns(4)
    card[0].metric(
        "Mean change",
        f"{number(s.mean_change)}{unit}",
        help=f"{after} minus {before}; {inst.direction_text()}",
    )
    card[0].caption(
        f"95% CI {number(s.change_ci_low)} to {number(s.change_ci_high)}"
        if s.change_ci_low is not None
        else f"95% CI undefined: {s.undefined.get('change_ci_low', '')}"
    )
    card[1].metric(
        "Test result",
        p_phrase(s.p_value_recommended) if s.recommended_test else "no test",
        help="From the primary test for this scale; the reason is in the sentence below.",
    )
    card[1].caption(s.recommended_test or s.recommended_reason)
    card[2].metric(
        "Effect size (Cohen's d_z)",
        number(s.cohens_dz, 2),
        help="Mean change divided by the SD of the changes (Lakens 2013).",
    )
    card[2].caption(f"{s.n_pairs} patients with both values; {comparison.n_excluded} without")
    if s.pct_improved_mcid is not None:
        card[3].metric(
            f"Improved by ≥ {inst.mcid_abs_text()}",
            f"{s.pct_improved_mcid:.0f}%",
            help=f"The clinically important difference for this instrument ({inst.source}).",
        )
        card[3].caption(f"{s.n_improved_mcid} of {s.n_pairs} patients")
    elif s.pct_improved is not None:
        card[3].metric("Improved", f"{s.pct_improved:.0f}%")
        card[3].caption(
            f"{s.n_improved} of {s.n_pairs}; no established clinically important difference"
        )
    else:
        card[3].metric("Increased / decreased", f"{s.n_increased} / {s.n_decreased}")
        card[3].caption("direction of improvement unknown")


st.subheader("Result" if not design.has_arms else "Result in each arm")
if all(c.stats.n_pairs == 0 for c in comparisons.values()):
    st.error(md(plain_sentence(first)))
    st.stop()
for arm, comparison in comparisons.items():
    if arm:
        st.markdown(f"**{md(arm)}**" + (" (comparator)" if arm == design.comparator else ""))
    if comparison.stats.n_pairs == 0:
        st.warning(md(plain_sentence(comparison)))
        continue
    result_card(comparison)
    st.info(md(plain_sentence(comparison)), icon=":material/record_voice_over:")

if design.has_arms:
    st.subheader("Between arms: the effect estimate")
    for row in by_arm.between.to_dict("records"):
        difference = row.get("difference")
        cols = st.columns([1, 3])
        cols[0].metric(
            f"{row['arm']} − {row['comparator']}",
            f"{number(difference, 2)}{unit}" if difference is not None else "undefined",
            help="Difference in mean change between the arms (Welch's t interval).",
        )
        cols[1].markdown(md(between_arms_sentence(row, inst.unit, before, after)))
    table(
        between_arms_display(by_arm.between),
        f"{outcome}_{before}_to_{after}_between_arms",
        numeric=between_arms_numeric(by_arm),
        provenance=estimand,
    )
st.caption(md(design_caveat(design, cached_largest_smd(dataset, design))))

shown_arm = next(iter(comparisons))
if design.has_arms:
    shown_arm = st.radio(
        "Patients shown in the charts", list(comparisons), horizontal=True, key="cmp_chart_arm"
    )
comparison = comparisons[shown_arm]
s = comparison.stats
stem = f"{outcome}_{before}_to_{after}" + (f"_{shown_arm}" if shown_arm else "")
charts = st.columns(2)
chart(before_after_lines(comparison), f"{stem}_patients", charts[0])
chart(visit_distributions(comparison), f"{stem}_distributions", charts[1])
chart(change_histogram(comparison), f"{stem}_changes")

if s.warnings:
    st.warning(
        "**About these numbers**\n\n" + "\n".join(f"- {md(w['message'])}" for w in s.warnings)
    )

for arm, result in comparisons.items():
    suffix = f" · {arm}" if arm else ""
    with st.expander(f"All statistics, and how each was computed{suffix}"):
        table(
            statistics_table(result),
            f"{stem}_statistics{suffix}",
            numeric=paired_numeric(result, arm or None),
            provenance=estimand,
        )
    with st.expander(f"Patients not included ({result.n_excluded}){suffix}"):
        table(result.excluded, f"{stem}_not_included{suffix}")
