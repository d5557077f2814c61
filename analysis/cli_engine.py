"""The CLI's commands on a table analysed inside its database (analysis.stats.pushdown).

Used for duckdb:, parquet: and spark+parquet: sources, and for sqlite:/postgresql: URLs with
--in-database. Each command prints what its in-memory twin prints (same columns, same JSON
keys), plus where the numbers were computed and what was suppressed.
"""

from __future__ import annotations

import argparse
import json
import sys

import pandas as pd

from analysis.ingest import engine
from analysis.ingest.pipeline import LoadResult, load_frame
from analysis.present.estimand import summary_estimand
from analysis.present.export import numeric_csv
from analysis.present.format import format_p
from analysis.present.numeric_tables import summary_numeric
from analysis.present.wording import UNCONTROLLED_CAVEAT
from analysis.stats import pushdown
from analysis.stats.arms import ARM_CAVEAT, ArmDesign, design_record
from analysis.stats.cohort import SMALL_GROUP_DEFAULT
from analysis.stats.paired import json_safe

EXIT_OK, EXIT_USAGE, EXIT_UNUSABLE = 0, 1, 2


class EngineExit(Exception):
    """Ends a command with an exit code and a message for standard error."""

    def __init__(self, code: int, message: str) -> None:
        super().__init__(message)
        self.code = code


def wants_engine(args: argparse.Namespace) -> bool:
    """True when the command's source is analysed in its database."""
    source = str(getattr(args, "file", ""))
    return engine.is_engine_url(source) or bool(getattr(args, "in_database", False))


def _cohort(args: argparse.Namespace) -> engine.EngineCohort:
    if getattr(args, "query", None):
        raise EngineExit(EXIT_USAGE, "--in-database analyses a table (--table), not a --query.")
    try:
        cohort = engine.describe(engine.open_source(args.file, getattr(args, "table", None)))
    except (engine.EngineError, ValueError) as exc:
        raise EngineExit(EXIT_UNUSABLE, str(exc)) from exc
    if getattr(args, "baseline", None):
        found = cohort.find_visit(args.baseline)
        if found is None:
            raise EngineExit(
                EXIT_UNUSABLE,
                f"Visit {args.baseline!r} is not in the data; visits: {', '.join(cohort.visits)}",
            )
        cohort.baseline = found
    return cohort


def _design(args: argparse.Namespace, cohort: engine.EngineCohort) -> ArmDesign:
    try:
        return pushdown.engine_arm_design(
            cohort,
            attribute=getattr(args, "arm", None),
            control=getattr(args, "control", None),
            randomised=bool(getattr(args, "randomised", False)),
            pooled=bool(getattr(args, "all_patients", False)),
        )
    except ValueError as exc:
        raise EngineExit(EXIT_USAGE, str(exc)) from exc


def _computed_in(cohort: engine.EngineCohort, result: pushdown.PushdownSummary) -> dict:
    return {
        "engine": cohort.source.kind,
        "source": cohort.source.display,
        "rows_left_database": False,
        "small_cells_suppressed": result.n_suppressed,
        "suppression_threshold": result.min_cell,
        "rank_statistics_not_computed_for": result.outcomes_off_grid,
    }


def cmd_validate(args: argparse.Namespace) -> int:
    """Validation report of a database table, computed in the engine."""
    cohort = _cohort(args)
    print(cohort.report.as_text())
    print(
        f"\n{cohort.n_patients} patients, {len(cohort.outcomes)} outcomes, visits "
        f"{', '.join(cohort.visits)} (baseline {cohort.baseline}; {cohort.visit_order_rule})."
    )
    return EXIT_OK if cohort.report.usable else EXIT_UNUSABLE


def cmd_summary(args: argparse.Namespace) -> int:
    """The whole-cohort summary per arm, computed in the engine."""
    cohort = _cohort(args)
    design = _design(args, cohort)
    min_cell = SMALL_GROUP_DEFAULT
    result = pushdown.pushdown_summary(cohort, design, min_cell=min_cell)
    counts = pushdown.engine_patients_with_baseline(cohort, design)
    estimand = summary_estimand(design, "", counts)
    table = result.summary
    if args.json:
        payload: dict[str, object] = {"estimand": estimand.to_dict()}
        if design.has_arms:
            payload |= {
                "design": design_record(design),
                "arms": _records(table),
                "between_arms": _records(result.between),
            }
        else:
            payload["rows"] = _records(table)
        payload["computed_in"] = _computed_in(cohort, result)
        print(json.dumps(payload, indent=2, allow_nan=False, ensure_ascii=False))
        return EXIT_OK
    if args.csv:
        sys.stdout.write(numeric_csv(summary_numeric(table)).decode("utf-8"))
        return EXIT_OK
    with pd.option_context("display.width", 200, "display.max_columns", 30):
        if design.has_arms:
            shown = result.between[["outcome", "visit", "arm", "comparator", "n_arm",
                                    "n_comparator", "difference", "ci_low", "ci_high",
                                    "p_value"]].copy()  # fmt: skip
            shown["p_value"] = shown["p_value"].map(format_p)
            print("Difference in mean change from baseline, each arm minus the comparator")
        else:
            shown = table[["outcome", "visit", "n_pairs", "mean_before", "mean_after",
                           "mean_change", "change_ci_low", "change_ci_high", "recommended_test",
                           "p_value_recommended"]].copy()  # fmt: skip
            shown["p_value_recommended"] = shown["p_value_recommended"].map(format_p)
        print(shown.round(2).to_string(index=False))
    print(
        f"\nComputed inside {cohort.source.kind}: only aggregates left the database; "
        f"{result.n_suppressed} cell(s) with fewer than {min_cell} patients suppressed."
    )
    if result.outcomes_off_grid:
        print(
            "Rank statistics not computed for values on no recording grid: "
            + ", ".join(result.outcomes_off_grid)
            + "."
        )
    print("\n" + (ARM_CAVEAT if design.has_arms else UNCONTROLLED_CAVEAT))
    return EXIT_OK


def load_rows(args: argparse.Namespace) -> LoadResult:
    """For commands that need each patient's values (MMRM, trajectories, responders per
    patient, ...): the rows of the command's outcome (all outcomes without --outcome), read
    out of the database up to engine.ROWS_CAP_PATIENTS patients and loaded like a file."""
    cohort = _cohort(args)
    outcome = getattr(args, "outcome", None)
    try:
        frame = engine.fetch_rows(cohort, [outcome] if outcome else None)
    except engine.EngineError as exc:
        raise EngineExit(EXIT_UNUSABLE, str(exc)) from exc
    print(
        f"Read {frame['patient_id'].nunique():,} patients' {outcome or 'values'} out of "
        f"{cohort.source.display} (this command needs each patient's values).",
        file=sys.stderr,
    )
    return load_frame(frame, cohort.source.display)


def _records(frame: pd.DataFrame) -> list[dict]:
    return [json_safe(row) for row in frame.to_dict("records")]


HANDLERS = {"validate": cmd_validate, "summary": cmd_summary}
