"""Command line: the dashboard's analyses without the UI.

python -m analysis validate FILE            exit 0 usable, 2 unusable
python -m analysis compare FILE --outcome CODE --before VISIT --after VISIT [--json]
python -m analysis summary FILE [--json | --csv]
python -m analysis mmrm FILE --outcome CODE [--visits all] [--arm COLUMN --control LABEL] [--json]
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from collections.abc import Mapping, Sequence
from pathlib import Path

import numpy as np
import pandas as pd

from analysis import cli_engine, cli_safety
from analysis.ingest.dataset import Dataset
from analysis.ingest.pipeline import LoadResult, load_path, load_sql
from analysis.ingest.visits import match_visit
from analysis.instruments import lookup
from analysis.present.estimand import (
    Estimand,
    change_estimand,
    mmrm_estimand,
    responder_estimand,
    summary_estimand,
)
from analysis.present.export import numeric_csv
from analysis.present.format import format_p, number, p_phrase
from analysis.present.missing_text import tipping_sentences
from analysis.present.numeric_tables import (
    between_arms_numeric,
    paired_numeric,
    per_arm_numeric,
    summary_numeric,
)
from analysis.present.report import ReportInput, build_report, fingerprint
from analysis.present.tables import (
    ancova_table,
    subgroup_group_table,
    subgroup_tests_text,
    table1_display,
)
from analysis.present.wording import (
    COVARIANCE_NAMES,
    MISSING_DATA_NOTE,
    MMRM_NOTE,
    UNCONTROLLED_CAVEAT,
    design_caveat,
    mmrm_sentence,
    plain_sentence,
)
from analysis.stats.arms import (
    ARM_CAVEAT,
    ArmDesign,
    compare_by_arm,
    control_level,
    design_record,
    patients_with_baseline,
    resolve_arms,
    responders_by_arm,
    summary_by_arm,
)
from analysis.stats.cohort import SMALL_GROUP_DEFAULT, attribute_kinds
from analysis.stats.compare import Comparison, compare_visits, default_follow_up
from analysis.stats.imputation import sensitivity_analysis
from analysis.stats.longitudinal import MMRMSpec, fit_outcome_model
from analysis.stats.paired import json_safe
from analysis.stats.responders import ResponderAnalysis, responder_analysis
from analysis.stats.subgroups import SUBGROUP_WARNING, arm_attribute, compare_subgroups
from analysis.stats.summary import cohort_summary
from analysis.stats.table1 import NORMALITY_RULE, table_one
from analysis.stats.trajectory import mmrm_record, trajectory_report

EXIT_OK, EXIT_USAGE, EXIT_UNUSABLE = 0, 1, 2


def _source(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "file",
        help="a file, a database URL (sqlite:///x.db, postgresql://...), or env: to read the URL "
        "from OUTCOMES_DATABASE_URL (env:NAME: from NAME), keeping passwords off the command line",
    )
    parser.add_argument("--sheet", help="XLSX sheet name (default: the first)")
    parser.add_argument("--table", help="database table to read (with a database URL)")
    parser.add_argument("--query", help="a read-only SELECT query (with a database URL)")
    parser.add_argument(
        "--in-database",
        action="store_true",
        help="compute inside the database (sqlite/postgresql URL with --table in the long "
        "layout); always so for duckdb:///file.duckdb, parquet:path and spark+parquet:path",
    )


def _arm_options(parser: argparse.ArgumentParser) -> None:
    group = parser.add_argument_group("arms (default: recognised from an 'arm' attribute)")
    group.add_argument("--arm", help="the attribute that holds the arms")
    group.add_argument("--control", help="the comparator arm's label (e.g. placebo)")
    group.add_argument(
        "--all-patients", action="store_true", help="pool every arm into one group (not advised)"
    )
    group.add_argument(
        "--randomised", action="store_true", help="patients were randomised to the arms"
    )


def _read(args) -> LoadResult:
    if cli_engine.wants_engine(args):  # a command that needs rows: only those it uses
        return cli_engine.load_rows(args)
    if "://" in args.file or args.file.startswith("env:"):
        return load_sql(args.file, table=args.table, query=args.query)
    return load_path(args.file, sheet=args.sheet)


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m analysis", description=__doc__.split("\n")[0])
    sub = parser.add_subparsers(dest="command", required=True)
    validate = sub.add_parser("validate", help="print the validation report")
    _source(validate)

    compare = sub.add_parser("compare", help="compare one outcome between two visits")
    _source(compare)
    compare.add_argument("--outcome", required=True)
    compare.add_argument("--before", help="first visit (default: the baseline)")
    compare.add_argument("--after", required=True)
    compare.add_argument("--baseline", help="override the detected baseline visit")
    compare.add_argument("--direction", choices=["lower", "higher"], help="which way is better")
    compare_format = compare.add_mutually_exclusive_group()
    compare_format.add_argument("--json", action="store_true", help="strict JSON output")
    compare_format.add_argument(
        "--csv", action="store_true", help="numbers, one value per column (each arm, then between)"
    )
    _arm_options(compare)

    summary = sub.add_parser("summary", help="every outcome × follow-up visit against baseline")
    _source(summary)
    summary.add_argument("--baseline", help="override the detected baseline visit")
    fmt = summary.add_mutually_exclusive_group()
    fmt.add_argument("--json", action="store_true")
    fmt.add_argument("--csv", action="store_true")
    _arm_options(summary)

    trajectory = sub.add_parser("trajectory", help="one outcome at every visit, tests over time")
    _source(trajectory)
    trajectory.add_argument("--outcome", required=True)
    trajectory.add_argument("--baseline", help="override the detected baseline visit")
    trajectory.add_argument("--json", action="store_true")
    _arm_options(trajectory)

    mmrm = sub.add_parser("mmrm", help="mixed model for repeated measures (as R's mmrm)")
    _source(mmrm)
    mmrm.add_argument("--outcome", required=True)
    mmrm.add_argument(
        "--response",
        choices=["change", "value"],
        default="change",
        help="change from baseline (with baseline as covariate) or the value",
    )
    mmrm.add_argument(
        "--visits",
        help="visits in the model: post-baseline (default), 'all' "
        "(no baseline visit: the baseline is an attribute), or V1,V2,...",
    )
    mmrm.add_argument("--covariates", help="patient attributes to adjust for, comma-separated")
    mmrm.add_argument(
        "--covariance",
        default="us",
        choices=list(COVARIANCE_NAMES),
        help="covariance across visits (mmrm's names; default us = unstructured)",
    )
    mmrm.add_argument("--df", default="satterthwaite", choices=["satterthwaite", "kenward-roger"])
    mmrm.add_argument("--ml", action="store_true", help="maximum likelihood instead of REML")
    mmrm.add_argument("--baseline", help="override the detected baseline visit")
    mmrm.add_argument("--json", action="store_true")
    _arm_options(mmrm)

    cli_safety.add_parsers(sub)

    sensitivity = sub.add_parser(
        "sensitivity", help="missing follow-up: MI under MAR, reference-based, tipping point"
    )
    _source(sensitivity)
    sensitivity.add_argument("--outcome", required=True)
    sensitivity.add_argument("--visit", required=True)
    sensitivity.add_argument(
        "--method",
        choices=["mar", "j2r", "cr", "cir"],
        default="mar",
        help="imputation for the tipping point and MI responder rates",
    )
    sensitivity.add_argument(
        "--deltas",
        help="START:STOP:STEP in the outcome's units, "
        "negative = worse (default: 0 to about -1.5 SD of the change)",
    )
    sensitivity.add_argument("--imputations", type=int, default=100)
    sensitivity.add_argument("--seed", type=int, default=2024)
    sensitivity.add_argument("--covariates", help="patient attributes, comma-separated")
    sensitivity.add_argument("--direction", choices=["lower", "higher"], help="which way is better")
    sensitivity.add_argument("--baseline", help="override the detected baseline visit")
    sensitivity.add_argument("--json", action="store_true")
    _arm_options(sensitivity)

    responders = sub.add_parser("responders", help="responder rates at one follow-up visit")
    _source(responders)
    responders.add_argument("--outcome", required=True)
    responders.add_argument("--visit", required=True)
    responders.add_argument("--baseline", help="override the detected baseline visit")
    responders.add_argument("--direction", choices=["lower", "higher"], help="which way is better")
    responders.add_argument("--json", action="store_true")
    _arm_options(responders)

    subgroups = sub.add_parser("subgroups", help="change at a visit compared between groups")
    _source(subgroups)
    subgroups.add_argument("--outcome", required=True)
    subgroups.add_argument("--visit", required=True)
    subgroups.add_argument("--by", required=True, help="a categorical attribute")
    subgroups.add_argument("--min-group", type=int, default=SMALL_GROUP_DEFAULT)
    subgroups.add_argument("--baseline", help="override the detected baseline visit")
    subgroups.add_argument("--json", action="store_true")

    table1 = sub.add_parser("table1", help="baseline characteristics, overall and by group")
    _source(table1)
    table1.add_argument("--by", help="a categorical attribute")
    table1.add_argument("--p-values", action="store_true", help="add descriptive p-values")
    table1.add_argument("--min-group", type=int, default=SMALL_GROUP_DEFAULT)
    table1.add_argument("--csv", action="store_true")
    table1.add_argument("--baseline", help="override the detected baseline visit")

    report = sub.add_parser("report", help="a self-contained HTML report")
    _source(report)
    report.add_argument("--out", required=True, help="where to write the HTML file")
    report.add_argument("--outcome", help="default: the first outcome in the file")
    report.add_argument("--visit", help="follow-up visit (default: the last one with data)")
    report.add_argument("--baseline", help="override the detected baseline visit")
    report.add_argument("--ae", metavar="AE_FILE", help="adverse-event file: a safety section")
    report.add_argument("--ae-sheet", help="XLSX sheet of the adverse events")
    return parser


class _Exit(Exception):
    """Ends a command with an exit code; the message, if any, goes to standard error."""

    def __init__(self, code: int, message: str = "") -> None:
        super().__init__(message)
        self.code = code


def _load(args) -> Dataset:
    """The dataset to analyse (with ``--baseline`` applied), or _Exit when it is unusable."""
    result = _read(args)
    if result.dataset is None:
        raise _Exit(EXIT_UNUSABLE, result.report.as_text())
    if getattr(args, "baseline", None):
        if match_visit(args.baseline, result.dataset.visits) is None:
            visits = ", ".join(result.dataset.visits)
            raise _Exit(
                EXIT_UNUSABLE, f"Visit {args.baseline!r} is not in the data; visits: {visits}"
            )
        return result.dataset.with_baseline(_visit(result.dataset, args.baseline))
    return result.dataset


def _design(args, dataset: Dataset) -> ArmDesign:
    """The arm design from --arm/--control/--all-patients/--randomised, or _Exit (usage)."""
    try:
        return resolve_arms(
            dataset,
            attribute=getattr(args, "arm", None),
            control=getattr(args, "control", None),
            randomised=True if getattr(args, "randomised", False) else None,
            pooled=getattr(args, "all_patients", False),
        )
    except ValueError as exc:
        raise _Exit(EXIT_USAGE, str(exc)) from exc


def _visit(dataset: Dataset, given: str) -> str:
    """The data's visit that ``given`` names, matched as the loader matches labels."""
    found = match_visit(given, dataset.visits)
    if found is None:
        raise _Exit(
            EXIT_USAGE,
            f"Visit {given!r} is not in the data; visits: {', '.join(dataset.visits)}",
        )
    return found


def _require(problem: str) -> None:
    """_Exit with a usage error when ``problem`` (from _check) is not empty."""
    if problem:
        raise _Exit(EXIT_USAGE, problem)


def strict_json(payload) -> str:
    """JSON that refuses NaN and infinity (RFC 8259), indented, non-ASCII kept."""
    return json.dumps(payload, indent=2, allow_nan=False, ensure_ascii=False)


def _cmd_validate(args) -> int:
    result = _read(args)
    print(result.report.as_text())
    return EXIT_OK if result.dataset is not None else EXIT_UNUSABLE


def _cmd_compare(args) -> int:
    dataset = _load(args)
    before = _visit(dataset, args.before) if args.before else dataset.baseline
    after = _visit(dataset, args.after)
    design = _design(args, dataset)
    counts = patients_with_baseline(dataset, design, args.outcome)
    estimand = change_estimand(
        design, lookup(args.outcome, args.direction), before, after, "", counts
    )
    try:
        if design.has_arms:
            by_arm = compare_by_arm(dataset, design, args.outcome, before, after, args.direction)
        else:
            comparison = compare_visits(dataset, args.outcome, before, after, args.direction)
    except ValueError as exc:
        raise _Exit(EXIT_USAGE, str(exc)) from exc
    if args.csv:
        numeric = (
            pd.concat([per_arm_numeric(by_arm), between_arms_numeric(by_arm)], ignore_index=True)
            if design.has_arms
            else paired_numeric(comparison)
        )
        sys.stdout.write(numeric_csv(numeric).decode("utf-8"))
        return EXIT_OK
    if design.has_arms:
        if args.json:
            print(strict_json(per_arm_payload(design, estimand, by_arm.per_arm, by_arm.between)))
            return EXIT_OK
        for level, result in by_arm.per_arm.items():
            print(f"=== arm: {level} ===")
            print(comparison_text(result, before, after))
            print()
        print("=== between arms (difference in mean change, arm minus comparator) ===")
        print(by_arm.between.round(4).to_string(index=False))
        print("\n" + ARM_CAVEAT)
        return EXIT_OK
    if args.json:
        print(strict_json({**comparison.to_dict(), "estimand": estimand.to_dict()}))
        return EXIT_OK
    print(comparison_text(comparison, before, after))
    print("\n" + UNCONTROLLED_CAVEAT)
    return EXIT_OK


def per_arm_payload(
    design: ArmDesign, estimand: Estimand, per_arm: Mapping, between: pd.DataFrame
) -> dict:
    """The --json of a per-arm result: design, estimand, one entry per arm, between arms."""
    return {
        "design": design_record(design),
        "estimand": estimand.to_dict(),
        "arms": [{"arm": level, **result.to_dict()} for level, result in per_arm.items()],
        "between_arms": _records(between),
    }


def comparison_text(comparison: Comparison, before: str, after: str) -> str:
    """The plain-text block of one comparison (the CLI's compare output)."""
    args_after = after
    s = comparison.stats
    lines = [
        f"{comparison.instrument.label}: {before} → {args_after}",
        f"pairs: {s.n_pairs}   excluded: {comparison.n_excluded}"
        + (f" ({comparison.exclusion_counts()})" if comparison.n_excluded else ""),
        f"mean (SD) {before}: {number(s.mean_before, 2)} ({number(s.sd_before, 2)})   "
        f"{args_after}: {number(s.mean_after, 2)} ({number(s.sd_after, 2)})",
        f"median [IQR] {before}: {number(s.median_before, 2)} [{number(s.q1_before, 2)}, "
        f"{number(s.q3_before, 2)}]   {args_after}: {number(s.median_after, 2)} "
        f"[{number(s.q1_after, 2)}, {number(s.q3_after, 2)}]",
        f"mean change: {number(s.mean_change, 3)} (95% CI {number(s.change_ci_low, 3)} to "
        f"{number(s.change_ci_high, 3)})",
        f"paired t-test: t = {number(s.t_statistic, 4)}, df = {s.df}, {p_phrase(s.p_value_t)}",
        f"Wilcoxon signed-rank ({s.wilcoxon_method or 'undefined'}): V = "
        f"{number(s.wilcoxon_v, 1)}, {p_phrase(s.p_value_wilcoxon)}",
        f"Hodges-Lehmann estimate: {number(s.hodges_lehmann, 3)} ({s.hl_ci_label()} "
        f"{number(s.hl_ci_low, 3)} to {number(s.hl_ci_high, 3)})",
        f"Shapiro-Wilk on changes: W = {number(s.shapiro_w, 4)}, {p_phrase(s.shapiro_p)}",
        f"Cohen's d_z: {number(s.cohens_dz, 3)}   pre-post r: {number(s.pre_post_r, 3)}",
        f"improved: {s.n_improved if s.n_improved is not None else 'undefined'}   unchanged: "
        f"{s.n_unchanged}   worsened: {s.n_worsened if s.n_worsened is not None else 'undefined'}"
        f"   ({comparison.instrument.direction_text()})",
        "",
        plain_sentence(comparison),
    ]
    if s.undefined:
        lines += ["", "Undefined:"] + [f"  {k}: {v}" for k, v in s.undefined.items()]
    if s.warnings:
        lines += ["", "Warnings:"] + [f"  - {w['message']}" for w in s.warnings]
    return "\n".join(lines)


def _cmd_summary(args) -> int:
    dataset = _load(args)
    design = _design(args, dataset)
    estimand = summary_estimand(design, "", patients_with_baseline(dataset, design))
    if design.has_arms:
        table, between = summary_by_arm(dataset, design)
        if args.json:
            payload = {
                "design": design_record(design),
                "estimand": estimand.to_dict(),
                "arms": _records(table),
                "between_arms": _records(between),
            }
            print(strict_json(payload))
            return EXIT_OK
        if args.csv:
            sys.stdout.write(numeric_csv(summary_numeric(table)).decode("utf-8"))
            return EXIT_OK
        with pd.option_context("display.width", 200, "display.max_columns", 30):
            shown = between[["outcome", "visit", "arm", "comparator", "n_arm", "n_comparator",
                             "difference", "ci_low", "ci_high", "p_value"]].copy()  # fmt: skip
            shown["p_value"] = shown["p_value"].map(format_p)
            print("Difference in mean change from baseline, each arm minus the comparator")
            print(shown.round(2).to_string(index=False))
        print("\n" + ARM_CAVEAT)
        return EXIT_OK
    table = cohort_summary(dataset)
    if args.json:
        print(strict_json({"estimand": estimand.to_dict(), "rows": _records(table)}))
    elif args.csv:
        sys.stdout.write(numeric_csv(summary_numeric(table)).decode("utf-8"))
    else:
        with pd.option_context("display.width", 200, "display.max_columns", 30):
            shown = table[
                ["outcome", "visit", "n_pairs", "mean_before", "mean_after", "mean_change",
                 "change_ci_low", "change_ci_high", "recommended_test", "p_value_recommended"]
            ].copy()  # fmt: skip
            shown["p_value_recommended"] = shown["p_value_recommended"].map(format_p)
            print(shown.round(2).to_string(index=False))
        print("\n" + UNCONTROLLED_CAVEAT)
    return EXIT_OK


def _records(frame: pd.DataFrame) -> list[dict]:
    """Rows as JSON-safe dicts at full precision (NaN becomes None)."""
    return [json_safe(row) for row in frame.to_dict("records")]


def _cmd_trajectory(args) -> int:
    dataset = _load(args)
    _require(_check(dataset, outcome=args.outcome))
    design = _design(args, dataset)
    result = trajectory_report(dataset, args.outcome, design)
    if args.json:
        print(strict_json(result))
        return EXIT_OK
    per_visit = pd.DataFrame(result["visits"])
    with pd.option_context("display.width", 200, "display.max_columns", 20):
        print(f"{result['outcome_label']} at every visit (baseline {dataset.baseline!r})")
        print(per_visit.round(3).to_string(index=False))
    fr = result["friedman"]
    print(
        f"\nFriedman test across {', '.join(fr['visits'])}: "
        + (
            f"chi-squared = {fr['statistic']:.3f}, df = {fr['df']}, {p_phrase(fr['p_value'])}"
            if fr["statistic"] is not None
            else f"not computed ({fr['reason']})"
        )
        + f"; {fr['n_complete']} patients complete at every visit, {fr['n_excluded']} left out"
    )
    mm = result["mmrm"]
    if "error" in mm:
        print(f"\nMixed model for repeated measures: not fitted ({mm['error']})")
    else:
        print(
            "\nMixed model for repeated measures (change from baseline, "
            f"{mm['covariance_structure']} covariance, REML, Satterthwaite df): "
            f"{mm['n_patients']} patients, "
            f"{mm['n_values']} values" + ("" if mm["converged"] else f"; {mm['message']}")
        )
        _print_frame(pd.DataFrame(mm["lsmeans"]))
        if mm["contrasts"]:
            _print_frame(pd.DataFrame(mm["contrasts"]))
    print("\n" + design_caveat(design))
    return EXIT_OK


def _print_frame(frame: pd.DataFrame) -> None:
    """A result table rounded for the terminal, p-values as journals print them."""
    shown = frame.copy()
    if "p" in shown:
        shown["p"] = shown["p"].map(format_p)
    with pd.option_context("display.width", 200, "display.max_columns", 20):
        print(shown.round(4).to_string(index=False))


def _deltas(text: str | None) -> np.ndarray | None:
    """'-3:0:0.25' -> the grid from -3 to 0 in steps of 0.25 (both ends included)."""
    if not text:
        return None
    try:
        start, stop, step = (float(part) for part in text.split(":"))
    except ValueError as exc:
        raise _Exit(EXIT_USAGE, f"--deltas takes START:STOP:STEP, not {text!r}") from exc
    if step <= 0 or stop < start:
        raise _Exit(EXIT_USAGE, "--deltas needs START <= STOP and a positive STEP")
    return np.round(np.arange(start, stop + step / 2, step), 10)


def _cmd_sensitivity(args) -> int:
    dataset = _load(args)
    design = _design(args, dataset)
    _require(_check(dataset, outcome=args.outcome))
    visit = _visit(dataset, args.visit)
    if args.method != "mar" and not design.has_arms:
        raise _Exit(EXIT_USAGE, f"--method {args.method} needs arms (a comparator to refer to).")
    covariates = tuple(c.strip() for c in args.covariates.split(",")) if args.covariates else ()
    try:
        result = sensitivity_analysis(
            dataset, design, args.outcome, visit, method=args.method,
            deltas=_deltas(args.deltas), n_imputations=args.imputations, seed=args.seed,
            covariates=covariates, direction=args.direction,
        )  # fmt: skip
    except ValueError as exc:
        raise _Exit(EXIT_USAGE, str(exc)) from exc
    if args.json:
        print(strict_json(result.to_dict()))
        return EXIT_OK
    print(f"{lookup(args.outcome).label} at {visit}: {result.n.n_used} of "
          f"{result.n.n_patients} patients; {args.imputations} imputations, "
          f"seed {args.seed}")  # fmt: skip
    _print_frame(result.estimates()[["analysis", "arm", "comparator", "estimate", "se", "df",
                                     "ci_low", "ci_high", "p", "n", "n_imputed"]])  # fmt: skip
    print()
    for sentence in tipping_sentences(result):
        print(sentence)
    print("\n" + MISSING_DATA_NOTE)
    return EXIT_OK


def _cmd_mmrm(args) -> int:
    dataset = _load(args)
    design = _design(args, dataset)
    _require(_check(dataset, outcome=args.outcome))
    if args.visits in (None, "", "post-baseline"):
        visits = None
    elif args.visits == "all":
        visits = tuple(dataset.visits)
    else:
        visits = tuple(_visit(dataset, v.strip()) for v in args.visits.split(","))
    covariates = tuple(c.strip() for c in args.covariates.split(",")) if args.covariates else ()
    if args.response == "change" and visits is not None and dataset.baseline in visits:
        raise _Exit(
            EXIT_USAGE,
            "The change from baseline is not defined at the baseline visit: leave it out of "
            "--visits, or model the value (--response value).",
        )
    spec = MMRMSpec(
        args.outcome,
        response=args.response,
        visits=visits,
        covariates=covariates,
        covariance=args.covariance,
        df_method=args.df,
        reml=not args.ml,
    )
    try:
        model = fit_outcome_model(dataset, design, spec)
    except ValueError as exc:
        raise _Exit(EXIT_USAGE, str(exc)) from exc
    inst = lookup(args.outcome)
    label = inst.label if inst.known else args.outcome
    record = mmrm_record(model.result)
    record["model"] = mmrm_sentence(model, label)
    record["values_per_visit"] = _records(model.counts)
    record["design"] = design_record(design)
    record["estimand"] = mmrm_estimand(
        design, inst, [str(v) for v in model.result.visits], spec.response, "",
        patients_with_baseline(dataset, design, args.outcome),
    ).to_dict()  # fmt: skip
    if args.json:
        print(strict_json(record))
        return EXIT_OK if model.result.converged else EXIT_UNUSABLE
    print(record["model"])
    if not model.result.converged:
        print(f"NOT CONVERGED: {model.result.message}")
        return EXIT_UNUSABLE
    print(f"log-likelihood {model.result.log_likelihood:.4f}   AIC {model.result.aic:.4f}   "
          f"BIC {model.result.bic:.4f}")  # fmt: skip
    print("\nLeast-squares means")
    _print_frame(model.result.lsmeans)
    if not model.result.contrasts.empty:
        print("\nEach arm minus the comparator")
        _print_frame(model.result.contrasts)
    print("\nCoefficients")
    _print_frame(model.result.coefficients)
    print("\n" + MMRM_NOTE)
    return EXIT_OK


def _cmd_responders(args) -> int:
    dataset = _load(args)
    visit = _visit(dataset, args.visit)
    design = _design(args, dataset)
    counts = patients_with_baseline(dataset, design, args.outcome)
    estimand = responder_estimand(design, lookup(args.outcome, args.direction), visit, "", counts)
    try:
        if design.has_arms:
            by_arm = responders_by_arm(dataset, design, args.outcome, visit, args.direction)
        else:
            analysis = responder_analysis(dataset, args.outcome, visit, args.direction)
    except ValueError as exc:
        raise _Exit(EXIT_USAGE, str(exc)) from exc
    if design.has_arms:
        if args.json:
            print(strict_json(per_arm_payload(design, estimand, by_arm.per_arm, by_arm.between)))
            return EXIT_OK
        for level, result in by_arm.per_arm.items():
            print(f"=== arm: {level} ===")
            print_responders(result, visit)
            print()
        print("=== between arms (completers; difference in %, arm minus comparator) ===")
        print(by_arm.between.round(1).to_string(index=False))
        print("\n" + ARM_CAVEAT)
        return EXIT_OK
    if args.json:
        print(strict_json({**analysis.to_dict(), "estimand": estimand.to_dict()}))
        return EXIT_OK
    print_responders(analysis, visit)
    print("\n" + UNCONTROLLED_CAVEAT)
    return EXIT_OK


def print_responders(analysis: ResponderAnalysis, visit: str) -> None:
    """The plain-text block of one responder analysis."""
    print(f"{analysis.instrument.label}: responders at {visit} "
          f"({analysis.instrument.direction_text()})")  # fmt: skip
    print(f"with a baseline value: {analysis.n_itt}   evaluable: {analysis.n_evaluable}   "
          f"percent change undefined (baseline ≤ 0): {analysis.n_percent_undefined}")  # fmt: skip
    if analysis.rates.empty:
        print("No responder thresholds: the direction of improvement is unknown.")
    else:
        print(analysis.rates.round(1).to_string(index=False))


def _cmd_subgroups(args) -> int:
    dataset = _load(args)
    _require(_check(dataset, outcome=args.outcome, visit=args.visit, attribute=args.by))
    reference = control_level(dataset, args.by) if args.by == arm_attribute(dataset) else None
    comparison = compare_subgroups(
        dataset, args.outcome, args.visit, args.by, args.min_group, reference
    )
    groups = comparison.groups.copy()
    if not groups.empty:
        hidden = groups["small"]
        groups.loc[hidden, ["mean_change", "sd", "ci_low", "ci_high", "median_change"]] = None
    if args.json:
        print(strict_json(json_safe({
            "outcome": args.outcome, "visit": args.visit, "by": args.by,
            "min_group": args.min_group, "suppressed": comparison.suppressed,
            "groups": groups.to_dict("records"), "tests": comparison.tests,
            "reference": comparison.reference, "ancova": comparison.ancova.to_dict("records"),
            "reason": comparison.reason,
        })))  # fmt: skip
        return EXIT_OK
    print(f"Change from {dataset.baseline} to {args.visit} in {args.outcome}, by {args.by}")
    print(subgroup_group_table(comparison, min_group=args.min_group).to_string(index=False))
    for line in subgroup_tests_text(comparison):
        print(f"- {line}")
    if not comparison.ancova.empty:
        print("\nANCOVA (value at the visit adjusted for baseline):")
        print(ancova_table(comparison.ancova).to_string(index=False))
    print("\n" + SUBGROUP_WARNING)
    return EXIT_OK


def _cmd_table1(args) -> int:
    dataset = _load(args)
    if args.by:
        _require(_check(dataset, attribute=args.by))
    result = table_one(dataset, args.by, p_values=args.p_values, min_group=args.min_group)
    if args.csv:
        sys.stdout.write(numeric_csv(result.table).decode("utf-8"))
        return EXIT_OK
    with pd.option_context("display.width", 250, "display.max_columns", 30):
        print(table1_display(result.table).to_string(index=False))
    print("\n" + NORMALITY_RULE)
    return EXIT_OK


def _check(dataset, outcome=None, visit=None, attribute=None) -> str:
    """A usage message when a named outcome, visit or attribute is not in the data."""
    if outcome is not None and outcome not in dataset.outcomes:
        return f"Outcome {outcome!r} is not in the data; outcomes: {', '.join(dataset.outcomes)}"
    if visit is not None and visit not in dataset.follow_up_visits:
        visits = ", ".join(dataset.follow_up_visits)
        return f"Visit {visit!r} is not a follow-up visit; visits: {visits}"
    if attribute is not None and attribute_kinds(dataset).get(attribute) != "categorical":
        names = [a for a, k in attribute_kinds(dataset).items() if k == "categorical"]
        return f"{attribute!r} is not a categorical attribute; choose one of: {', '.join(names)}"
    return ""


def _cmd_report(args) -> int:
    dataset = _load(args)
    outcome = args.outcome or dataset.outcomes[0]
    visit = _visit(dataset, args.visit) if args.visit else default_follow_up(dataset, outcome)
    if visit is None:
        raise _Exit(EXIT_USAGE, "No follow-up visit.")
    _require(_check(dataset, outcome=outcome, visit=visit))
    is_file = "://" not in args.file and not args.file.startswith("env:")
    digest = fingerprint(Path(args.file).read_bytes()) if is_file else "database"
    adverse_events = None
    if args.ae:
        from analysis.ingest.adverse_events import DEMO_AE_PATH, read_adverse_events

        try:
            ae_bytes = Path(args.ae).read_bytes()
        except OSError as exc:
            raise _Exit(EXIT_UNUSABLE, f"Cannot open {args.ae}: {exc.strerror or exc}.") from exc
        demo_ae = Path(args.ae).resolve() == DEMO_AE_PATH.resolve()
        loaded = read_adverse_events(ae_bytes, Path(args.ae).name, patients=dataset.patients,
                                     sheet=args.ae_sheet, synthetic=demo_ae)  # fmt: skip
        if loaded.table is None:
            raise _Exit(EXIT_UNUSABLE, loaded.report.as_text())
        adverse_events = loaded.table
    inputs = ReportInput(dataset, outcome, visit, digest, adverse_events=adverse_events)
    html_text = build_report(inputs)
    Path(args.out).write_text(html_text, encoding="utf-8")
    print(
        f"wrote {args.out} ({len(html_text) // 1024} KiB): {outcome}, {dataset.baseline} to {visit}"
    )
    return EXIT_OK


def main(argv: Sequence[str] | None = None) -> int:
    """Run one command; returns the exit code (0 done, 1 usage error, 2 unusable data)."""
    args = _parser().parse_args(argv)
    handler = {
        "validate": _cmd_validate,
        "compare": _cmd_compare,
        "summary": _cmd_summary,
        "trajectory": _cmd_trajectory,
        "mmrm": _cmd_mmrm,
        "sensitivity": _cmd_sensitivity,
        **cli_safety.HANDLERS,
        "responders": _cmd_responders,
        "subgroups": _cmd_subgroups,
        "table1": _cmd_table1,
        "report": _cmd_report,
    }
    try:
        if cli_engine.wants_engine(args) and args.command in cli_engine.HANDLERS:
            return cli_engine.HANDLERS[args.command](args)
        code = handler[args.command](args)
        sys.stdout.flush()
        return code
    except cli_engine.EngineExit as stop:
        print(stop, file=sys.stderr)
        return stop.code
    except _Exit as stop:
        if str(stop):
            print(stop, file=sys.stderr)
        return stop.code
    except BrokenPipeError:
        # The reader went away (`... | head`): stop quietly, and keep Python's exit-time flush
        # from writing to the closed pipe again.
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        return EXIT_OK
