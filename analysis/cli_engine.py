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
from analysis.instruments import lookup
from analysis.present.estimand import summary_estimand
from analysis.present.export import numeric_csv
from analysis.present.format import format_p
from analysis.present.numeric_tables import summary_numeric
from analysis.present.wording import UNCONTROLLED_CAVEAT
from analysis.stats import pushdown
from analysis.stats.arms import ARM_CAVEAT, ArmDesign, design_record
from analysis.stats.cohort import SMALL_GROUP_DEFAULT
from analysis.stats.paired import json_safe
from analysis.stats.pushdown import NO_ARM
from analysis.stats.pushdown_compare import pushdown_compare
from analysis.stats.pushdown_responders import POOLED, pushdown_responders
from analysis.stats.pushdown_subgroups import MAX_DISTINCT, check_request, pushdown_subgroups
from analysis.stats.pushdown_table1 import pushdown_table_one

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


def cmd_responders(args: argparse.Namespace) -> int:
    """`python -m analysis responders` on a database table: analysis.cli's output (same JSON
    keys) from pushdown_responders, plus where it was computed and what was suppressed."""
    # The CLI's text and JSON helpers live above analysis.stats: imported here only.
    from analysis import cli
    from analysis.present.estimand import responder_estimand
    from analysis.present.wording import UNCONTROLLED_CAVEAT
    from analysis.stats.arms import ARM_CAVEAT
    from analysis.stats.cohort import SMALL_GROUP_DEFAULT

    cohort = _cohort(args)
    visit = cohort.find_visit(args.visit)
    if visit is None:
        raise EngineExit(
            EXIT_USAGE,
            f"Visit {args.visit!r} is not in the data; visits: {', '.join(cohort.visits)}",
        )
    if args.outcome not in cohort.outcomes:
        raise EngineExit(
            EXIT_UNUSABLE,
            f"Outcome {args.outcome!r} is not in the data; outcomes: {', '.join(cohort.outcomes)}",
        )
    design = _design(args, cohort)
    direction = getattr(args, "direction", None)
    min_cell = SMALL_GROUP_DEFAULT
    try:
        result = pushdown_responders(cohort, design, args.outcome, visit, min_cell, direction)
    except ValueError as exc:
        raise EngineExit(EXIT_USAGE, str(exc)) from exc
    counts = {level: analysis.n_itt for level, analysis in result.per_arm.items()}
    instrument = lookup(args.outcome, direction)
    estimand = responder_estimand(design, instrument, visit, "", counts)
    computed_in = {
        "engine": cohort.source.kind,
        "source": cohort.source.display,
        "rows_left_database": False,
        "small_cells_suppressed": result.n_suppressed,
        "suppression_threshold": min_cell,
    }
    if args.json:
        if design.has_arms:
            payload = cli.per_arm_payload(design, estimand, result.per_arm, result.between)
        elif result.per_arm:
            payload = {**result.per_arm[POOLED].to_dict(), "estimand": estimand.to_dict()}
        else:
            payload = {"estimand": estimand.to_dict()}
        print(cli.strict_json({**payload, "computed_in": computed_in}))
        return EXIT_OK
    for level, analysis in result.per_arm.items():
        if design.has_arms:
            print(f"=== arm: {level} ===")
        cli.print_responders(analysis, visit)
        print()
    if design.has_arms and not result.between.empty:
        print("=== between arms (completers; difference in %, arm minus comparator) ===")
        print(result.between.round(1).to_string(index=False))
        print()
    print(
        f"Computed inside {cohort.source.kind}: only counts and sums left the database; "
        f"{result.n_suppressed} arm(s) with fewer than {min_cell} patients with a baseline "
        "value suppressed."
    )
    print("\n" + (ARM_CAVEAT if design.has_arms else UNCONTROLLED_CAVEAT))
    return EXIT_OK


def cmd_compare(args: argparse.Namespace) -> int:
    """`compare` on a table analysed in its database: analysis.cli's output from aggregates."""
    import sys

    # Imported here: the command line sits above analysis.stats (docs/architecture.md).
    from analysis.cli import comparison_text
    from analysis.present.estimand import change_estimand
    from analysis.present.export import numeric_csv
    from analysis.present.format import format_p, number
    from analysis.present.numeric_tables import (
        between_arms_numeric,
        paired_numeric,
        per_arm_numeric,
    )
    from analysis.present.wording import UNCONTROLLED_CAVEAT
    from analysis.stats.arms import ARM_CAVEAT, ArmComparison, design_record
    from analysis.stats.cohort import SMALL_GROUP_DEFAULT
    from analysis.stats.paired import json_safe
    from analysis.stats.pushdown import engine_patients_with_baseline

    cohort = _cohort(args)
    visits = []
    for given in (args.before, args.after):
        found = cohort.find_visit(given) if given else cohort.baseline
        if found is None:
            raise EngineExit(
                EXIT_USAGE,
                f"Visit {given!r} is not in the data; visits: {', '.join(cohort.visits)}",
            )
        visits.append(found)
    before, after = visits
    design = _design(args, cohort)
    direction = getattr(args, "direction", None)
    min_cell = SMALL_GROUP_DEFAULT
    try:
        result = pushdown_compare(
            cohort, design, args.outcome, before, after, min_cell=min_cell, direction=direction
        )
    except ValueError as exc:
        raise EngineExit(EXIT_USAGE, str(exc)) from exc
    counts = engine_patients_with_baseline(cohort, design, args.outcome)
    estimand = change_estimand(design, lookup(args.outcome, direction), before, after, "", counts)
    computed_in = {
        "engine": cohort.source.kind,
        "source": cohort.source.display,
        "rows_left_database": False,
        "small_cells_suppressed": len(result.suppressed_arms),
        "suppressed_arms": result.suppressed_arms,
        "suppression_threshold": min_cell,
        "rank_statistics_not_computed_for": [] if result.exact_ranks else [args.outcome],
    }
    by_arm = ArmComparison(design, dict(result.per_arm), result.between)
    if getattr(args, "csv", False):
        numeric = (
            pd.concat([per_arm_numeric(by_arm), between_arms_numeric(by_arm)], ignore_index=True)
            if design.has_arms
            else paired_numeric(result.per_arm[NO_ARM])
            if NO_ARM in result.per_arm
            else pd.DataFrame()
        )
        sys.stdout.write(numeric_csv(numeric).decode("utf-8"))
        return EXIT_OK
    if args.json:
        if design.has_arms:
            payload: dict[str, object] = {
                "design": design_record(design),
                "estimand": estimand.to_dict(),
                "arms": [{"arm": level, **c.to_dict()} for level, c in result.per_arm.items()],
                "between_arms": [json_safe(r) for r in result.between.to_dict("records")],
            }
        else:
            single = result.per_arm.get(NO_ARM)
            payload = {**(single.to_dict() if single else {}), "estimand": estimand.to_dict()}
        payload["computed_in"] = computed_in
        print(json.dumps(payload, indent=2, allow_nan=False, ensure_ascii=False))
        return EXIT_OK
    for level, comparison in result.per_arm.items():
        if design.has_arms:
            print(f"=== arm: {level} ===")
        print(comparison_text(comparison, before, after))
        if design.has_arms:
            print()
    if design.has_arms:
        print("=== between arms (difference in mean change, arm minus comparator) ===")
        shown = result.between.copy()
        for column in shown.columns:
            if column.startswith("n_") or column in ("arm", "comparator"):
                continue
            p_value = column.endswith("p_value")
            shown[column] = [
                format_p(x) if p_value else number(None if pd.isna(x) else float(x), 4)
                for x in shown[column]
            ]
        print(shown.to_string(index=False))
    print(
        f"\nComputed inside {cohort.source.kind}: only aggregates left the database; "
        f"{len(result.suppressed_arms)} arm(s) with fewer than {min_cell} pairs suppressed"
        + (f" ({', '.join(result.suppressed_arms)})." if result.suppressed_arms else ".")
    )
    if not result.exact_ranks:
        print(
            f"Rank statistics, medians and Shapiro-Wilk not computed: {args.outcome}'s changes "
            "lie on no recording grid (they need each patient's values)."
        )
    print("\n" + (ARM_CAVEAT if design.has_arms else UNCONTROLLED_CAVEAT))
    return EXIT_OK


def cmd_table1(args: argparse.Namespace) -> int:
    """`python -m analysis table1` on a database table: analysis.cli's output from
    pushdown_table_one, plus where it was computed and what was suppressed."""
    import json
    import sys

    # The command line sits above analysis.stats (docs/architecture.md): imported here only.
    from analysis.present.export import numeric_csv
    from analysis.present.tables import table1_display
    from analysis.stats.paired import json_safe
    from analysis.stats.table1 import NORMALITY_RULE

    cohort = _cohort(args)
    min_group = getattr(args, "min_group", SMALL_GROUP_DEFAULT)
    try:
        result = pushdown_table_one(
            cohort, args.by, p_values=bool(args.p_values), min_group=min_group
        )
    except ValueError as exc:
        raise EngineExit(EXIT_USAGE, str(exc)) from exc
    computed_in = {
        "engine": cohort.source.kind,
        "source": cohort.source.display,
        "rows_left_database": False,
        "groups_suppressed": result.suppressed,
        "suppression_threshold": min_group,
        "left_out": result.left_out,
    }
    if getattr(args, "csv", False):
        sys.stdout.write(numeric_csv(result.table).decode("utf-8"))
        return EXIT_OK
    if getattr(args, "json", False):
        payload = {
            "by": result.by,
            "groups": result.groups,
            "suppressed": result.suppressed,
            "rows": [json_safe(r) for r in result.table.to_dict("records")],
            "normality_rule": NORMALITY_RULE,
            "computed_in": computed_in,
        }
        print(json.dumps(payload, indent=2, allow_nan=False, ensure_ascii=False))
        return EXIT_OK
    with pd.option_context("display.width", 250, "display.max_columns", 30):
        print(table1_display(result.table).to_string(index=False))
    print("\n" + NORMALITY_RULE)
    print(
        f"\nComputed inside {cohort.source.kind}: only group sizes and per-group value counts "
        f"left the database; {len(result.suppressed)} group(s) with fewer than {min_group} "
        "patients suppressed"
        + (f" ({', '.join(result.suppressed)})." if result.suppressed else ".")
    )
    for name, why in result.left_out.items():
        print(f"Not shown: {name} ({why}).")
    return EXIT_OK


def cmd_subgroups(args: argparse.Namespace) -> int:
    """`python -m analysis subgroups` on a database table: analysis.cli's output (same JSON
    keys) from pushdown_subgroups, plus where it was computed and what was suppressed."""
    # The command line sits above analysis.stats (docs/architecture.md): imported here only.
    from analysis.present.tables import ancova_table, subgroup_group_table, subgroup_tests_text
    from analysis.stats.paired import json_safe
    from analysis.stats.pushdown import engine_arm_design
    from analysis.stats.subgroups import SUBGROUP_WARNING

    cohort = _cohort(args)
    visit = cohort.find_visit(args.visit) or args.visit
    min_group = getattr(args, "min_group", SMALL_GROUP_DEFAULT)
    try:
        check_request(cohort, args.outcome, visit, args.by)
        design = engine_arm_design(cohort)
        reference = design.comparator if design.attribute == args.by else None
        result = pushdown_subgroups(cohort, args.outcome, visit, args.by, min_group, reference)
    except ValueError as exc:
        raise EngineExit(EXIT_USAGE, str(exc)) from exc
    groups = result.groups.copy()
    if not groups.empty:
        hidden = groups["small"]
        groups.loc[hidden, ["mean_change", "sd", "ci_low", "ci_high", "median_change"]] = None
    computed_in = {
        "engine": cohort.source.kind,
        "source": cohort.source.display,
        "rows_left_database": False,
        "groups_suppressed": result.suppressed,
        "suppression_threshold": min_group,
        "rank_statistics_not_computed_for": result.ranks_left_out,
    }
    if getattr(args, "json", False):
        import json

        print(json.dumps(json_safe({
            "outcome": args.outcome, "visit": visit, "by": args.by,
            "min_group": min_group, "suppressed": result.suppressed,
            "groups": groups.to_dict("records"), "tests": result.tests,
            "reference": result.reference, "ancova": result.ancova.to_dict("records"),
            "reason": result.reason, "computed_in": computed_in,
        }), indent=2, allow_nan=False, ensure_ascii=False))  # fmt: skip
        return EXIT_OK
    print(f"Change from {cohort.baseline} to {visit} in {args.outcome}, by {args.by}")
    print(subgroup_group_table(result, min_group=min_group).to_string(index=False))
    for line in subgroup_tests_text(result):
        print(f"- {line}")
    if not result.ancova.empty:
        print("\nANCOVA (value at the visit adjusted for baseline):")
        print(ancova_table(result.ancova).to_string(index=False))
    print(
        f"\nComputed inside {cohort.source.kind}: only group sizes, sums and per-group counts "
        f"of each change left the database; {len(result.suppressed)} group(s) with fewer than "
        f"{min_group} patients suppressed"
        + (f" ({', '.join(result.suppressed)})." if result.suppressed else ".")
    )
    if result.ranks_left_out:
        print(
            f"Medians and rank tests not computed (more than {MAX_DISTINCT:,} distinct changes): "
            + ", ".join(result.ranks_left_out)
            + "."
        )
    print("\n" + SUBGROUP_WARNING)
    return EXIT_OK


HANDLERS = {
    "validate": cmd_validate,
    "summary": cmd_summary,
    "compare": cmd_compare,
    "responders": cmd_responders,
    "table1": cmd_table1,
    "subgroups": cmd_subgroups,
}
