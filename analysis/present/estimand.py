"""The estimand of a result, in the four attributes of ICH E9(R1): population, variable, how
missing follow-up (and other intercurrent events) is handled, and the population-level summary.

Every headline carries one, on the page, in the report and as ``estimand`` in ``--json``
output, so a reader knows which question the number answers.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

from analysis.instruments import Instrument
from analysis.stats.arms import ArmDesign


@dataclass(frozen=True)
class Estimand:
    """ICH E9(R1) attributes of an estimand, as plain sentences."""

    population: str
    variable: str
    missing_data: str
    summary_measure: str

    def to_dict(self) -> dict[str, str]:
        """JSON-ready mapping of the four attributes."""
        return asdict(self)

    def rows(self) -> list[tuple[str, str]]:
        """(attribute, text) pairs for a card or a table."""
        return [
            ("Population", self.population),
            ("Variable", self.variable),
            ("Missing follow-up", self.missing_data),
            ("Summary measure", self.summary_measure),
        ]


def _direction(instrument: Instrument) -> str:
    return (
        instrument.direction_text()
        if instrument.known or instrument.direction
        else ("direction unknown")
    )


def population_text(design: ArmDesign, cohort_sentence: str, counts: dict[str, int]) -> str:
    """'Arm MSC (108 patients with a baseline value) against standard care (42). Showing …'"""
    cohort = f" {cohort_sentence}" if cohort_sentence else ""
    if not design.has_arms:
        total = sum(counts.values())
        pooled = " Arms pooled at the user's request." if design.pooled else ""
        return f"All {total} patients with a baseline value, as one group.{pooled}{cohort}"
    parts = [f"{level} ({counts.get(level, 0)} patients with a baseline value)"
             for level in design.treated]  # fmt: skip
    comparator = f"{design.comparator} ({counts.get(str(design.comparator), 0)})"
    how = "randomised" if design.randomised else "not randomised (as far as the data say)"
    return (
        f"Each arm separately: {', '.join(parts)}; comparator {comparator}. Arms from the "
        f"attribute '{design.attribute}', {how}.{cohort}"
    )


def change_estimand(
    design: ArmDesign,
    instrument: Instrument,
    before: str,
    after: str,
    cohort_sentence: str,
    counts: dict[str, int],
) -> Estimand:
    """The estimand of a before/after comparison (completers), per arm and between arms."""
    name = instrument.label if instrument.known else instrument.code
    measure = (
        "Mean change with its 95% t interval (primary test chosen from the scale); median "
        "change and the Hodges-Lehmann estimate beside it."
    )
    if design.has_arms:
        measure += (
            " Between arms: difference in mean change, each arm minus the comparator, with "
            "Welch's 95% interval, and adjusted for the first visit's value (ANCOVA)."
        )
    return Estimand(
        population=population_text(design, cohort_sentence, counts),
        variable=f"Change in {name} from {before} to {after} ({_direction(instrument)}).",
        missing_data=(
            f"Completers: patients without a value at both {before} and {after} are left out "
            "(counted on the page); nothing is imputed. Valid if those left out do not differ "
            "from those seen; see Over time for the model that uses every visit."
        ),
        summary_measure=measure,
    )


def responder_estimand(
    design: ArmDesign,
    instrument: Instrument,
    visit: str,
    cohort_sentence: str,
    counts: dict[str, int],
) -> Estimand:
    """The estimand of responder rates at one visit, both ways of handling missing follow-up."""
    name = instrument.label if instrument.known else instrument.code
    measure = "Proportion of patients who responded, with exact (Clopper-Pearson) 95% intervals."
    if design.has_arms:
        measure += (
            " Between arms: difference in proportions (completers), each arm minus the "
            "comparator, with Newcombe's 95% interval."
        )
    return Estimand(
        population=population_text(design, cohort_sentence, counts),
        variable=(
            f"Response at {visit}: {name} improved from baseline by at least the threshold "
            f"shown ({_direction(instrument)})."
        ),
        missing_data=(
            "Two ways, both shown: completers only (patients seen at the visit), and every "
            "patient with a baseline value in the arm with missing follow-up counted as not "
            "responding (non-responder imputation)."
        ),
        summary_measure=measure,
    )


def summary_estimand(design: ArmDesign, cohort_sentence: str, counts: dict[str, int]) -> Estimand:
    """The estimand of the whole-cohort table (every outcome x follow-up visit)."""
    measure = "Mean change from baseline per outcome and visit, with the primary test's p-value."
    if design.has_arms:
        measure += (
            " Between arms: difference in mean change, each arm minus the comparator, with "
            "Welch's 95% interval."
        )
    return Estimand(
        population=population_text(design, cohort_sentence, counts),
        variable="Change from baseline in every outcome at every follow-up visit.",
        missing_data=(
            "Completers for each outcome and visit: patients without both values are left out; "
            "nothing is imputed."
        ),
        summary_measure=measure,
    )


def mmrm_estimand(
    design: ArmDesign,
    instrument: Instrument,
    visits: list[str],
    response: str,
    cohort_sentence: str,
    counts: dict[str, int],
) -> Estimand:
    """The estimand of the mixed model for repeated measures (all visits, missing at random)."""
    name = instrument.label if instrument.known else instrument.code
    what = f"change in {name} from baseline" if response == "change" else name
    measure = "Least-squares mean at each visit with its 95% interval (Satterthwaite df)."
    if design.has_arms:
        measure += (
            " Between arms: difference in least-squares means at each visit, each arm minus "
            "the comparator."
        )
    return Estimand(
        population=population_text(design, cohort_sentence, counts),
        variable=f"{what[:1].upper()}{what[1:]} at {', '.join(visits)} ({_direction(instrument)}).",
        missing_data=(
            "Every value a patient has enters the model; missing visits are not imputed. "
            "Valid if, given their earlier values and arm, patients who missed a visit would "
            "have been like those who came (missing at random)."
        ),
        summary_measure=measure,
    )
