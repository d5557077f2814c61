"""Command-line subcommands for safety and time to response (registered by analysis.cli).

python -m analysis safety FILE --ae AE_FILE [--arm COLUMN] [--show-small] [--json]
python -m analysis time-to-response FILE --outcome CODE --threshold 30% [--arm COLUMN]
    [--endpoint response|loss] [--covariates A,B] [--days 30,91,182,365] [--json]

Exit codes as the other subcommands: 0 done, 1 usage (an unknown outcome, arm or threshold),
2 a file that cannot be used (its validation report goes to standard error).
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from collections.abc import Callable
from pathlib import Path

import pandas as pd

from analysis.ingest.adverse_events import AELoadResult, read_adverse_events
from analysis.ingest.dataset import Dataset
from analysis.ingest.pipeline import LoadResult, load_path, load_sql
from analysis.present.safety_tables import (
    aesi_display,
    by_term_display,
    cox_display,
    landmark_display,
    log_rank_sentence,
    median_display,
    rates_display,
    safety_methods,
    severity_display,
    summary_display,
    suppressed_record,
    time_to_event_methods,
)
from analysis.stats.adverse_events import safety_tables
from analysis.stats.arms import ArmDesign, design_record, resolve_arms
from analysis.stats.cohort import SMALL_GROUP_DEFAULT
from analysis.stats.time_to_event import time_to_event

EXIT_OK, EXIT_USAGE, EXIT_UNUSABLE = 0, 1, 2


class _Stop(Exception):
    """Ends a command with an exit code and a message for standard error."""

    def __init__(self, code: int, message: str = "") -> None:
        super().__init__(message)
        self.code = code


def _source(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("file", help="the outcome file, or a database URL (sqlite:///x.db, ...)")
    parser.add_argument("--sheet", help="XLSX sheet name (default: the first)")
    parser.add_argument("--table", help="database table to read (with a database URL)")
    parser.add_argument("--query", help="a read-only SELECT query (with a database URL)")
    parser.add_argument("--baseline", help="override the detected baseline visit")


def _arms(parser: argparse.ArgumentParser) -> None:
    group = parser.add_argument_group("arms (default: recognised from an 'arm' attribute)")
    group.add_argument("--arm", help="the attribute that holds the arms")
    group.add_argument("--control", help="the comparator arm's label (e.g. standard care)")
    group.add_argument("--all-patients", action="store_true", help="pool every arm (not advised)")


def add_parsers(subparsers: argparse._SubParsersAction) -> None:
    """Add the ``safety`` and ``time-to-response`` subcommands (each sets ``handler``)."""
    safety = subparsers.add_parser("safety", help="adverse events per arm (AE table beside)")
    _source(safety)
    safety.add_argument("--ae", required=True, help="the adverse-event file (CSV, XLSX, Parquet)")
    safety.add_argument("--ae-sheet", help="XLSX sheet of the adverse events")
    safety.add_argument(
        "--show-small", action="store_true",
        help=f"show counts below --min-cell (default {SMALL_GROUP_DEFAULT}) instead of '<N'",
    )  # fmt: skip
    safety.add_argument("--min-cell", type=int, default=SMALL_GROUP_DEFAULT)
    safety.add_argument("--json", action="store_true", help="strict JSON output")
    _arms(safety)
    safety.set_defaults(handler=cmd_safety)

    ttr = subparsers.add_parser(
        "time-to-response", help="time to first response or to its loss (Kaplan-Meier, Cox)"
    )
    _source(ttr)
    ttr.add_argument("--outcome", required=True)
    ttr.add_argument(
        "--threshold", default="30%",
        help="30%%, 50%%, another percent, 'mcid' (clinically important difference) or 'N points'",
    )  # fmt: skip
    ttr.add_argument("--endpoint", choices=["response", "loss"], default="response",
                     help="time to first response (default) or to loss of response")  # fmt: skip
    ttr.add_argument(
        "--origin",
        choices=["response", "treatment"],
        default="response",
        help="loss of response: time from the first response or from day 0",
    )
    ttr.add_argument("--direction", choices=["lower", "higher"], help="which way is better")
    ttr.add_argument("--covariates", help="patient attributes for the Cox model, comma-separated")
    ttr.add_argument("--days", help="days for the event-free shares, comma-separated")
    ttr.add_argument("--json", action="store_true", help="strict JSON output")
    _arms(ttr)
    ttr.set_defaults(handler=cmd_time_to_response)


def _read(args: argparse.Namespace) -> LoadResult:
    if "://" in args.file:
        return load_sql(args.file, table=args.table, query=args.query)
    return load_path(args.file, sheet=args.sheet)


def _load(args: argparse.Namespace) -> Dataset:
    result = _read(args)
    if result.dataset is None:
        raise _Stop(EXIT_UNUSABLE, result.report.as_text())
    dataset = result.dataset
    if args.baseline:
        visit = dataset.find_visit(args.baseline)
        if visit is None:
            raise _Stop(EXIT_USAGE, f"Visit {args.baseline!r} is not in the data; visits: "
                        + ", ".join(dataset.visits))  # fmt: skip
        dataset = dataset.with_baseline(visit)
    return dataset


def _design(args: argparse.Namespace, dataset: Dataset) -> ArmDesign:
    try:
        return resolve_arms(
            dataset, attribute=args.arm, control=args.control, pooled=args.all_patients
        )
    except ValueError as exc:
        raise _Stop(EXIT_USAGE, str(exc)) from exc


def _json(payload: object) -> str:
    return json.dumps(payload, indent=2, allow_nan=False, ensure_ascii=False)


def _print(title: str, frame: pd.DataFrame) -> None:
    print(f"\n{title}")
    with pd.option_context("display.width", 250, "display.max_columns", 30,
                           "display.max_colwidth", 60):  # fmt: skip
        print(frame.to_string(index=False) if len(frame) else "(none)")


def _run(body: Callable[[argparse.Namespace], int], args: argparse.Namespace) -> int:
    try:
        code = body(args)
        sys.stdout.flush()
        return code
    except _Stop as stop:
        if str(stop):
            print(stop, file=sys.stderr)
        return stop.code
    except BrokenPipeError:  # the reader went away (`... | head`): stop quietly
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        return EXIT_OK


def cmd_safety(args: argparse.Namespace) -> int:
    """``safety``: the AE tables per arm; exit 2 when either file cannot be used."""
    return _run(_safety, args)


def _safety(args: argparse.Namespace) -> int:
    dataset = _load(args)
    design = _design(args, dataset)
    try:
        data = Path(args.ae).read_bytes()
    except OSError as exc:
        raise _Stop(EXIT_UNUSABLE, f"Cannot open {args.ae}: {exc.strerror or exc}.") from exc
    loaded: AELoadResult = read_adverse_events(
        data, Path(args.ae).name, patients=dataset.patients, sheet=args.ae_sheet
    )
    if loaded.table is None:
        raise _Stop(EXIT_UNUSABLE, loaded.report.as_text())
    tables = safety_tables(dataset, design, loaded.table)
    show, cell = args.show_small, args.min_cell
    if args.json:
        payload = {
            "design": design_record(design),
            "adverse_event_file": {
                "name": loaded.table.source_name,
                "layout": loaded.table.source_format,
                "events_kept": loaded.table.n_events,
                "warnings": [f.message for f in loaded.report.warnings],
            },
            **suppressed_record(tables, show, cell),
        }
        print(_json(payload))
        return EXIT_OK
    print(loaded.report.as_text())
    at_risk = ", ".join(f"{a}: {n}" for a, n in tables.n_at_risk.items())
    print(f"\nPatients at risk: {at_risk}")
    _print("Summary", summary_display(tables, show, cell))
    _print("Adverse events of special interest", aesi_display(tables, show, cell))
    _print("By body system and term", by_term_display(tables, show, cell))
    _print(f"By maximum {tables.scale}", severity_display(tables, show, cell))
    _print("Events per 100 patient-years (exact Poisson 95% CI)", rates_display(tables, show, cell))
    print("\n" + safety_methods(tables))
    return EXIT_OK


def cmd_time_to_response(args: argparse.Namespace) -> int:
    """``time-to-response``: Kaplan-Meier per arm, log-rank and Cox for one outcome."""
    return _run(_time_to_response, args)


def _time_to_response(args: argparse.Namespace) -> int:
    dataset = _load(args)
    if args.outcome not in dataset.outcomes:
        raise _Stop(EXIT_USAGE, f"Outcome {args.outcome!r} is not in the data; outcomes: "
                    + ", ".join(dataset.outcomes))  # fmt: skip
    design = _design(args, dataset)
    covariates = [c.strip() for c in (args.covariates or "").split(",") if c.strip()]
    try:
        days = [float(d) for d in args.days.split(",")] if args.days else None
    except ValueError as exc:
        raise _Stop(EXIT_USAGE, f"--days takes numbers: {args.days!r}") from exc
    try:
        analysis = time_to_event(
            dataset, args.outcome, args.threshold, design,
            endpoint="response" if args.endpoint == "response" else "loss of response",
            direction=args.direction, covariates=covariates, landmarks=days, origin=args.origin,
        )  # fmt: skip
    except ValueError as exc:
        raise _Stop(EXIT_USAGE, str(exc)) from exc
    if args.json:
        print(_json({"design": design_record(design), **analysis.to_dict()}))
        return EXIT_OK
    what = "first response" if analysis.endpoint == "response" else "loss of response"
    print(f"{analysis.instrument.label}: time to {what} ({analysis.rule.label})")
    _print("Median time (days, 95% CI as R's survfit)", median_display(analysis))
    _print("At chosen days", landmark_display(analysis))
    print("\n" + log_rank_sentence(analysis))
    if analysis.cox is not None:
        _print("Cox model (Efron ties)", cox_display(analysis))
    if analysis.cox_note:
        print(analysis.cox_note)
    if len(analysis.excluded):
        counts = analysis.excluded.groupby("reason", observed=True).size()
        print("\nLeft out: " + "; ".join(f"{r}: {n}" for r, n in counts.items()))
    print("\n" + time_to_event_methods(analysis))
    return EXIT_OK


HANDLERS: dict[str, Callable[[argparse.Namespace], int]] = {
    "safety": cmd_safety,
    "time-to-response": cmd_time_to_response,
}
