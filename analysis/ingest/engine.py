"""Outcome tables that stay in their database: DuckDB, Parquet, SQLite, PostgreSQL, Spark (Ibis).

A registry's table is described, validated and summarised by queries that run in its engine;
only counts, sums and value-count histograms come back (analysis.stats.pushdown). The table
must be in the canonical long layout, one row per patient × visit × outcome:

    patient_id, visit, outcome, value[, day][, patient attributes such as arm ...]

Attributes are columns whose value is the same on every row of a patient. Every source goes
through the same checks as a file, run in the engine and said in the report: column names
(PHI guard), value patterns (PHI guard on a bounded sample of rows, plus counts of e-mail
addresses and calendar dates in every text column over all rows), values that are not numbers,
missing values, values outside an instrument's range, repeated patient × visit × outcome rows
(identical: one kept; conflicting: none used, as for files) and attributes that vary within a
patient. Visit labels are normalised and ordered exactly as the file loader does.

Connections are read-only: DuckDB files are opened read-only, Parquet is read through an
in-memory DuckDB, SQLite files are opened read-only and PostgreSQL sessions are made READ ONLY
with a statement timeout, refusing superusers as analysis.ingest.sql does.
"""

from __future__ import annotations

import math
import os
import tempfile
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from analysis.ingest import phi
from analysis.ingest.findings import ValidationReport
from analysis.ingest.sql import QueryRefused, display_url, resolve_url
from analysis.ingest.visits import (
    detect_baseline,
    normalise_label,
    order_visits,
    propose_visit_mapping,
)
from analysis.instruments import lookup

# Canonical columns (lower case) and what each holds.
REQUIRED = ("patient_id", "visit", "outcome", "value")
OPTIONAL = ("day",)
PHI_SAMPLE_ROWS = 10_000  # rows read for the PHI guard's value patterns
MAX_LEVELS = 50  # distinct values an attribute may have to be offered as a subgroup or arm
STATEMENT_TIMEOUT_S = 600
# Whole-table counts of identifier-shaped text (RE2, PostgreSQL and Java syntax alike).
_EMAIL_PATTERN = r"[A-Za-z0-9._%+-]+@[A-Za-z0-9.-]+\.[A-Za-z]{2,}"
_DATE_PATTERN = r"(19|20)[0-9]{2}-[01][0-9]-[0-3][0-9]|[0-3]?[0-9][/.][01]?[0-9][/.](19|20)[0-9]{2}"
# Steps a value may be recorded in, coarsest first (as analysis.stats.summary's grids).
GRID_STEPS = (1.0, 0.5, 0.25, 0.1, 0.05, 0.02, 0.01, 0.005, 0.001)
_GRID_TOLERANCE = 0.25e-12
_MAX_DISTINCT = 200_000  # distinct values fetched to find a grid (scores have few)


class EngineError(ValueError):
    """A database source that cannot be used, with the reason in words."""


@dataclass
class EngineSource:
    """An open, read-only connection and the table holding the outcomes."""

    backend: Any  # an ibis backend
    table_name: str
    kind: str  # duckdb, parquet, sqlite, postgres, pyspark
    display: str  # what to call it in messages and provenance (no password)

    def table(self) -> Any:
        """The outcomes as an Ibis table expression (nothing is read)."""
        if self.kind == "parquet":
            return self.backend.table(self.table_name)
        return self.backend.table(self.table_name)


def is_engine_url(url: str) -> bool:
    """True for the sources computed in their engine (duckdb:, parquet:, spark+parquet:)."""
    return url.startswith(("duckdb:", "parquet:", "spark+parquet:"))


def open_source(url: str, table: str | None = None) -> EngineSource:
    """A read-only connection for ``url``: duckdb:///file.duckdb, parquet:file_or_folder,
    sqlite:///file.db, postgresql://..., spark+parquet:file_or_folder, or env:NAME."""
    import ibis

    url = resolve_url(url) if url.startswith("env:") else url
    if url.startswith("duckdb:"):
        path = _path_of(url, "duckdb:")
        if not path.is_file():
            raise EngineError(f"There is no DuckDB file {path}.")
        backend = ibis.duckdb.connect(str(path), read_only=True, **_duckdb_config())
        return EngineSource(backend, _table_in(backend, table, url), "duckdb", f"duckdb:{path}")
    if url.startswith(("parquet:", "spark+parquet:")):
        spark = url.startswith("spark+")
        path = _path_of(url, "spark+parquet:" if spark else "parquet:")
        files = _parquet_files(path)
        if spark:
            return _spark_source(path)
        backend = ibis.duckdb.connect(**_duckdb_config())
        backend.read_parquet(files, table_name="outcomes")
        return EngineSource(backend, "outcomes", "parquet", f"parquet:{path}")
    if url.startswith("sqlite:"):
        path = _path_of(url, "sqlite:")
        if not path.is_file():
            raise EngineError(f"There is no SQLite file {path}.")
        backend = ibis.sqlite.connect(f"file:{path}?mode=ro")
        return EngineSource(backend, _table_in(backend, table, url), "sqlite", f"sqlite:{path}")
    if url.startswith(("postgresql", "postgres:")):
        plain = "postgresql://" + url.split("://", 1)[1]
        backend = ibis.connect(plain)
        _postgres_read_only(backend)
        return EngineSource(backend, _table_in(backend, table, url), "postgres", display_url(url))
    raise EngineError(
        "Unknown database URL: use duckdb:///file.duckdb, parquet:path, sqlite:///file.db or "
        "postgresql://user@host/db (or env:NAME for a URL kept in an environment variable)."
    )


def _duckdb_config() -> dict[str, str]:
    """DuckDB's memory cap (OUTCOMES_ENGINE_MEMORY, default 800MB; past it DuckDB spills to a
    private temporary folder, removed when the process ends) and its thread count
    (OUTCOMES_ENGINE_THREADS, default: every core)."""
    global _SPILL_DIR
    if _SPILL_DIR is None:
        _SPILL_DIR = tempfile.TemporaryDirectory(prefix="dpn-msc-engine-")
    config = {
        "memory_limit": os.environ.get("OUTCOMES_ENGINE_MEMORY", "800MB"),
        "temp_directory": _SPILL_DIR.name,
        "preserve_insertion_order": "false",
    }
    if os.environ.get("OUTCOMES_ENGINE_THREADS"):
        config["threads"] = os.environ["OUTCOMES_ENGINE_THREADS"]
    return config


_SPILL_DIR: tempfile.TemporaryDirectory | None = None


def _path_of(url: str, prefix: str) -> Path:
    rest = url.removeprefix(prefix)
    # As SQLAlchemy's sqlite URLs: duckdb:///relative.duckdb, duckdb:////absolute.duckdb.
    return Path(rest[3:] if rest.startswith("///") else rest)


def _parquet_files(path: Path) -> list[str]:
    if path.is_file():
        return [str(path)]
    if path.is_dir():
        files = sorted(str(p) for p in path.rglob("*.parquet"))
        if files:
            return files
        raise EngineError(f"The folder {path} holds no .parquet files.")
    raise EngineError(f"There is no Parquet file or folder {path}.")


def _table_in(backend: Any, table: str | None, url: str) -> str:
    tables = list(backend.list_tables())
    if table is None:
        if len(tables) == 1:
            return str(tables[0])
        raise EngineError(
            f"Name the table with the outcomes (--table); {display_url(url)} holds: "
            + (", ".join(tables) if tables else "no tables")
            + "."
        )
    if table not in tables:
        raise EngineError(
            f"There is no table {table!r}; tables: " + (", ".join(tables) or "none") + "."
        )
    return table


def _postgres_read_only(backend: Any) -> None:
    """READ ONLY session with a statement timeout; superusers refused (as analysis.ingest.sql)."""
    backend.raw_sql("SET SESSION CHARACTERISTICS AS TRANSACTION READ ONLY").close()
    backend.raw_sql(f"SET statement_timeout = {STATEMENT_TIMEOUT_S * 1000}").close()
    cursor = backend.raw_sql("SELECT current_setting('is_superuser')")
    superuser = cursor.fetchone()[0]
    cursor.close()
    if superuser == "on":
        raise QueryRefused(
            "The database account is a superuser, which can read or write files on the "
            "server. Connect with a read-only account (see the README)."
        )


def _spark_source(path: Path) -> EngineSource:
    """Spark in local mode reading the Parquet files (make test-spark installs pyspark)."""
    try:
        import ibis
        from pyspark.sql import SparkSession
    except ImportError as exc:  # an optional engine: say how to get it
        raise EngineError(
            "Spark is not installed here: `make test-spark` installs pyspark and Java."
        ) from exc
    session = (
        SparkSession.builder.master("local[2]")
        .appName("dpn-msc-outcomes")
        .config("spark.ui.enabled", "false")
        .config("spark.sql.session.timeZone", "UTC")
        .config("spark.ui.showConsoleProgress", "false")
        .getOrCreate()
    )
    session.sparkContext.setLogLevel("ERROR")
    backend = ibis.pyspark.connect(session)
    backend.read_parquet(str(path), table_name="outcomes")
    return EngineSource(backend, "outcomes", "pyspark", f"spark+parquet:{path}")


# ---- the cohort, described and validated in the engine -----------------------------------


@dataclass
class OutcomeProfile:
    """What the engine knows about one outcome: counts, range and the grid its values lie on."""

    code: str
    n_values: int
    low: float | None
    high: float | None
    step: float | None  # values (hence changes) lie on multiples of step; None: no grid
    step_declared: bool  # the step is the registry's recording resolution


@dataclass
class EngineCohort:
    """A cohort described by queries in its engine; rows stay there."""

    source: EngineSource
    columns: dict[str, str]  # canonical name -> column in the table
    attributes: list[str]
    visits: list[str]
    visit_order_rule: str
    baseline: str
    visit_map: dict[str, str]  # label in the table -> visit
    outcomes: list[str]
    profiles: dict[str, OutcomeProfile]
    n_patients: int
    n_rows: int
    report: ValidationReport
    attribute_levels: dict[str, list[str]] = field(default_factory=dict)
    varying_attributes: list[str] = field(default_factory=list)
    has_duplicates: bool = False
    padded: set[str] = field(default_factory=set)  # text columns with surrounding spaces
    out_of_range: list[str] = field(default_factory=list)  # outcomes with values out of range

    @property
    def follow_up_visits(self) -> list[str]:
        """Every visit but the baseline, in time order."""
        return [v for v in self.visits if v != self.baseline]

    def clean(self) -> Any:
        """The validated long table as an Ibis expression: canonical columns, visits mapped,
        missing, non-numeric and out-of-range values left out, repeated rows resolved."""
        return _clean(self)

    def with_baseline(self, visit: str) -> EngineCohort:
        """The same cohort measured against another baseline visit (nothing is re-read)."""
        if visit not in self.visits:
            raise EngineError(
                f"Visit {visit!r} is not in the data; visits: {', '.join(self.visits)}."
            )
        return replace(self, baseline=visit)

    def find_visit(self, given: str) -> str | None:
        """The visit a name typed on the command line means (as Dataset.find_visit)."""
        from analysis.ingest.visits import match_visit

        return match_visit(given, self.visits)


def describe(
    source: EngineSource,
    baseline: str | None = None,
    visit_map: Mapping[str, str] | None = None,
) -> EngineCohort:
    """Check the table's layout, guard against identifiers and validate it, all in the engine;
    EngineError when it cannot be analysed."""
    import ibis

    table = source.table()
    columns = _canonical_columns(list(table.columns))
    report = ValidationReport()
    _guard_identifiers(source, table, columns, report)
    attributes = [c for c in table.columns if c not in columns.values()]
    padded = _padded_columns(table, [columns["patient_id"], columns["outcome"], *attributes])
    t = table.select(
        patient_id=text_column(table, columns["patient_id"], padded),
        visit=table[columns["visit"]].cast("string"),
        outcome=text_column(table, columns["outcome"], padded),
        raw=table[columns["value"]],
        **({"day": table[columns["day"]].cast("float64")} if "day" in columns else {}),
    )
    value = t.raw.cast("float64") if t.raw.type().is_numeric() else t.raw.try_cast("float64")
    counts = (
        t.aggregate(
            n_rows=t.count(),
            n_patients=t.patient_id.nunique(),
            n_missing=t.raw.isnull().ifelse(1, 0).sum(),
            n_not_number=(t.raw.notnull() & value.isnull()).ifelse(1, 0).sum(),
        )
        .to_pyarrow()
        .to_pylist()[0]
    )
    n_rows = int(counts["n_rows"])
    if n_rows == 0:
        raise EngineError(f"The table {source.table_name!r} has no rows.")
    visits_found = (
        t.group_by("visit")
        .aggregate(n=t.count(), first_day=(t.day.min() if "day" in columns else ibis.null()))
        .to_pandas()
    )
    raw_counts = {
        str(v): int(n) for v, n in zip(visits_found["visit"], visits_found["n"], strict=True)
    }
    mapping = _visit_mapping(raw_counts)
    if visit_map:
        mapping = {raw: visit_map.get(raw, visit_map.get(v, v)) for raw, v in mapping.items()}
    median_day = _median_days(t, mapping) if "day" in columns else None
    canonical = list(dict.fromkeys(mapping[raw] for raw in sorted(raw_counts)))
    visits, rule = order_visits(canonical, median_day)
    chosen = detect_baseline(visits, median_day) if baseline is None else baseline
    if chosen not in visits:
        raise EngineError(f"Visit {baseline!r} is not in the data; visits: {', '.join(visits)}.")
    cohort = EngineCohort(
        source=source,
        columns=columns,
        attributes=attributes,
        padded=padded,
        visits=visits,
        visit_order_rule=rule,
        baseline=chosen,
        visit_map={k: v for k, v in mapping.items() if k != v},
        outcomes=[],
        profiles={},
        n_patients=int(counts["n_patients"]),
        n_rows=n_rows,
        report=report,
    )
    _profile_outcomes(cohort, t, value)
    _check_duplicates(cohort)
    _check_attributes(cohort, table)
    report.accounting.update(
        {"rows in the table": n_rows, "missing values": int(counts["n_missing"])}
    )
    if counts["n_not_number"]:
        report.add(
            "warning",
            "not_a_number",
            f"{int(counts['n_not_number'])} value(s) are not numbers and were left out.",
        )
    report.add(
        "note",
        "computed_in_engine",
        f"Checked and summarised inside {source.kind} ({source.display}): only counts, sums "
        "and value-count histograms left the database; the identifier guard read column "
        f"names, the first {PHI_SAMPLE_ROWS:,} rows and pattern counts over every row.",
    )
    return cohort


def _padded_columns(table: Any, names: list[str]) -> set[str]:
    """Text columns where some value has surrounding spaces (only those are stripped: a
    registry's IDs rarely need it, and stripping every row costs a pass over the strings)."""
    text = [n for n in names if table[n].type().is_string()]
    if not text:
        return set()
    found = (
        table.aggregate(
            **{
                f"c{i}": (table[n] != table[n].strip()).ifelse(1, 0).max()
                for i, n in enumerate(text)
            }
        )
        .to_pyarrow()
        .to_pylist()[0]
    )
    return {n for i, n in enumerate(text) if found[f"c{i}"]}


def text_column(table: Any, name: str, padded: set[str]) -> Any:
    """A column as text, stripped where its values need it (as the file loader strips them)."""
    column = table[name] if table[name].type().is_string() else table[name].cast("string")
    return column.strip() if name in padded or not table[name].type().is_string() else column


def _canonical_columns(names: list[str]) -> dict[str, str]:
    by_key = {str(n).strip().lower(): str(n) for n in names}
    missing = [c for c in REQUIRED if c not in by_key]
    if missing:
        raise EngineError(
            "A database table is analysed in place only in the long layout: one row per "
            "patient × visit × outcome with columns patient_id, visit, outcome and value "
            f"(and optionally day). Missing: {', '.join(missing)}. Columns found: "
            + ", ".join(map(str, names))
            + ". A wide table can be loaded into memory instead (without push-down)."
        )
    return {c: by_key[c] for c in (*REQUIRED, *OPTIONAL) if c in by_key}


def _guard_identifiers(
    source: EngineSource, table: Any, columns: dict[str, str], report: ValidationReport
) -> None:
    """The PHI guard on column names and the first rows, plus whole-table pattern counts."""
    sample = table.limit(PHI_SAMPLE_ROWS).to_pandas()
    flags = phi.scan(sample, id_column=columns["patient_id"])
    text_columns = [
        c
        for c in table.columns
        if table[c].type().is_string() and c not in (columns["visit"], columns["outcome"])
    ]
    flagged = {f.column for f in flags}
    for c in text_columns:  # each distinct value once, in the engine
        values = table.select(x=table[c]).distinct()
        hits = (
            values.aggregate(
                email=values.x.re_search(_EMAIL_PATTERN).fill_null(False).ifelse(1, 0).sum(),
                date=values.x.re_search(_DATE_PATTERN).fill_null(False).ifelse(1, 0).sum(),
            )
            .to_pyarrow()
            .to_pylist()[0]
        )
        for kind, reason in (("email", "an e-mail address"), ("date", "a calendar date")):
            if hits[kind] and c not in flagged:
                flags.append(phi.Flag(c, f"{int(hits[kind])} of its distinct values hold {reason}"))
                flagged.add(c)
    if flags:
        detail = "; ".join(f"{f.column}: {f.reason}" for f in flags)
        raise EngineError(
            "The table holds what look like direct identifiers, which this tool does not "
            f"accept: {detail}. Give it a view without those columns (for example with "
            "dates as days since treatment)."
        )


def _visit_mapping(raw_counts: Mapping[str, int]) -> dict[str, str]:
    """Each label as stored -> its visit, as the file loader maps them: labels differing only in
    case or spaces are one visit (spelled as the one holding most rows; a table has no file
    order), then labels naming the same time point are merged (propose_visit_mapping)."""
    groups: dict[str, list[str]] = {}
    for raw in sorted(raw_counts, key=lambda r: (-raw_counts[r], r)):
        groups.setdefault(normalise_label(raw), []).append(raw)
    spelling = {raw: " ".join(group[0].split()) for group in groups.values() for raw in group}
    held: dict[str, int] = {}
    for raw, count in raw_counts.items():
        held[spelling[raw]] = held.get(spelling[raw], 0) + count
    proposed = propose_visit_mapping(held)
    return {raw: proposed[spelling[raw]] for raw in raw_counts}


def _median_days(t: Any, mapping: Mapping[str, str]) -> dict[str, float] | None:
    """Median day of each visit, exact: from each visit's count of each distinct day."""
    with_day = t.filter(t.day.notnull())
    days = with_day.group_by(["visit", "day"]).aggregate(n=with_day.count()).to_pandas()
    if days.empty:
        return None
    days["visit"] = days["visit"].astype(str).map(mapping)
    medians: dict[str, float] = {}
    for visit, group in days.groupby("visit", sort=False, observed=True):
        ordered = group.groupby("day", observed=True)["n"].sum().sort_index()
        cumulative = ordered.cumsum().to_numpy()
        total = int(cumulative[-1])
        lower = ordered.index[int((cumulative >= (total + 1) // 2).argmax())]
        upper = ordered.index[int((cumulative >= total // 2 + 1).argmax())]
        medians[str(visit)] = float((lower + upper) / 2)
    return medians


def _profile_outcomes(cohort: EngineCohort, t: Any, value: Any) -> None:
    """Per outcome: counts, out-of-range values and the coarsest grid every value lies on,
    from each outcome's count of each distinct value (one cheap query for scores and rounded
    measurements); for values with too many distinct values, by residuals in the engine."""
    import ibis

    numbers = t.mutate(v=value).filter(ibis._.v.notnull())
    distinct = (
        numbers.group_by(["outcome", "v"])
        .aggregate(n=ibis._.count())
        .limit(_MAX_DISTINCT + 1)
        .to_pandas()
    )
    if len(distinct) > _MAX_DISTINCT:
        residual = {
            f"off_{i}": ((numbers.v / step) - (numbers.v / step).round()).abs().max()
            for i, step in enumerate(GRID_STEPS)
        }
        frame = (
            numbers.group_by("outcome")
            .aggregate(n=ibis._.count(), low=ibis._.v.min(), high=ibis._.v.max(), **residual)
            .to_pandas()
        )
        off = {
            str(row.outcome): [getattr(row, f"off_{i}") for i in range(len(GRID_STEPS))]
            for row in frame.itertuples(index=False)
        }
        removed = _report_out_of_range(cohort, t, value, [str(c) for c in frame["outcome"]])
    else:
        removed = {}
        frame = distinct.groupby("outcome", as_index=False, observed=True).agg(
            n=("n", "sum"), low=("v", "min"), high=("v", "max")
        )
        off = {}
        for code, group in distinct.groupby("outcome", observed=True):
            values = group["v"].to_numpy(dtype=float)
            off[str(code)] = [
                float(np.abs(values / step - np.rint(values / step)).max()) for step in GRID_STEPS
            ]
            removed[str(code)] = _report_out_of_range_counts(
                cohort, str(code), values, group["n"].to_numpy()
            )
    frame = frame.sort_values("outcome", kind="stable")
    for row in frame.itertuples(index=False):
        code = str(row.outcome)
        inst = lookup(code)
        step, declared = None, False
        for candidate, residual_steps in zip(GRID_STEPS, off[code], strict=True):
            span = max(abs(row.low), abs(row.high)) / candidate
            fits = residual_steps is not None and residual_steps * candidate < _GRID_TOLERANCE / 4
            if fits and span < 1e6:
                step = candidate
                break
        # The registry's resolution when the data bear it out (finer data: their own grid).
        if inst.resolution is not None and step is not None and _multiple(step, inst.resolution):
            step, declared = inst.resolution, True
        cohort.profiles[code] = OutcomeProfile(
            code, int(row.n) - removed.get(code, 0), float(row.low), float(row.high), step, declared
        )
    cohort.outcomes = [str(c) for c in frame["outcome"]]
    cohort.out_of_range = [code for code, n in removed.items() if n]


def _report_out_of_range_counts(
    cohort: EngineCohort, code: str, values: np.ndarray, counts: np.ndarray
) -> int:
    """The out-of-range warning of one outcome from its distinct values and their counts;
    returns how many values were out of range."""
    inst = lookup(code)
    if inst.low is None or inst.high is None:
        return 0
    n_bad = int(counts[(values < inst.low) | (values > inst.high)].sum())
    if n_bad:
        cohort.report.add(
            "warning",
            "out_of_range",
            f"{n_bad} {inst.short_label} value(s) are outside the valid range "
            f"{inst.range_text()} and were left out of the analysis.",
        )
    return n_bad


def _multiple(step: float, resolution: float) -> bool:
    ratio = step / resolution
    return abs(ratio - round(ratio)) < 1e-9 and round(ratio) >= 1


def _range_condition(t: Any, value: Any, codes: list[str]) -> Any:
    """True where a value lies outside its instrument's registry range (``codes``: the
    outcomes in the table; one CASE on the outcome, not a test per registry entry)."""
    import ibis

    bounds = [
        (code, float(inst.low), float(inst.high))
        for code, inst in zip(codes, map(lookup, codes), strict=True)
        if inst.low is not None and inst.high is not None
    ]
    if not bounds:
        return ibis.literal(False)
    low = t.outcome.cases(*((code, lo) for code, lo, _ in bounds), else_=-math.inf)
    high = t.outcome.cases(*((code, hi) for code, _, hi in bounds), else_=math.inf)
    return (value < low) | (value > high)


def _report_out_of_range(
    cohort: EngineCohort, t: Any, value: Any, codes: list[str]
) -> dict[str, int]:
    """The out-of-range warnings counted in the engine; returns the count per outcome."""
    import ibis

    bad = (
        t.mutate(v=value)
        .filter(_range_condition(t, value, codes))
        .group_by("outcome")
        .aggregate(n=ibis._.count())
        .to_pandas()
    )
    removed: dict[str, int] = {}
    for row in bad.itertuples(index=False):
        inst = lookup(str(row.outcome))
        removed[str(row.outcome)] = int(row.n)
        cohort.report.add(
            "warning",
            "out_of_range",
            f"{int(row.n)} {inst.short_label} value(s) are outside the valid range "
            f"{inst.range_text()} and were left out of the analysis.",
        )
    return removed


def _check_duplicates(cohort: EngineCohort) -> None:
    """Repeated patient × visit × outcome rows: identical copies merged, conflicts left out."""
    import ibis
    from ibis.common.exceptions import OperationNotDefinedError

    keyed = _valid_rows(cohort)
    try:
        suspects = _patients_with_repeats(cohort, keyed)
    except OperationNotDefinedError:  # no bitwise OR aggregate (Spark in Ibis 12): every key
        cohort.report.add(
            "note",
            "engine_fallback",
            f"{cohort.source.kind} has no bitwise-OR aggregate in Ibis: repeated rows were "
            "looked for by grouping every patient × visit × outcome (slower, same answer).",
        )
    else:
        if suspects is None:
            return
        keyed = keyed.filter(keyed.patient_id.isin(suspects.patient_id))
    # min == max says "one value" without a DISTINCT aggregate (values are not null here).
    groups = keyed.group_by(["patient_id", "visit", "outcome"]).aggregate(
        n=keyed.count(), low=keyed.v.min(), high=keyed.v.max()
    )
    repeated = groups.filter(groups.n > 1).mutate(n_values=(ibis._.low == ibis._.high).ifelse(1, 2))
    found = (
        repeated.aggregate(
            identical=(repeated.n_values == 1).ifelse(repeated.n - 1, 0).sum(),
            conflicting=(repeated.n_values > 1).ifelse(repeated.n, 0).sum(),
        )
        .to_pyarrow()
        .to_pylist()[0]
    )
    identical, conflicting = int(found["identical"] or 0), int(found["conflicting"] or 0)
    cohort.has_duplicates = bool(identical or conflicting)
    if identical:
        cohort.report.add(
            "warning",
            "duplicate_identical",
            f"{identical} row(s) repeat a patient × visit × outcome with the same value; one "
            "copy was kept.",
        )
    if conflicting:
        cohort.report.add(
            "warning",
            "duplicate_conflicting",
            f"{conflicting} values belong to a patient × visit × outcome that appears more "
            "than once with different values. Choosing one would be a guess, so none of them "
            "was used.",
        )


_BITS_PER_WORD = 31  # 2^30 at most per row: a patient's sum stays far inside int64


def _patients_with_repeats(cohort: EngineCohort, keyed: Any) -> Any | None:
    """The patients holding some visit × outcome more than once (an Ibis table), or None when
    no patient does, found by one group-by over patients instead of one over every row's key:
    each visit × outcome of a patient is one bit of a word (a word per visit and block of 31
    outcomes), and a patient repeats none exactly when, in every word, the sum of its rows'
    bits equals their bitwise OR (distinct powers of two add without carrying)."""
    outcome_index = {code: i for i, code in enumerate(cohort.outcomes)}
    blocks = (len(cohort.outcomes) + _BITS_PER_WORD - 1) // _BITS_PER_WORD
    n_words = len(cohort.visits) * blocks
    visit_index = keyed.visit.cases(*((v, i) for i, v in enumerate(cohort.visits)), else_=-1)
    block = keyed.outcome.cases(
        *((code, i // _BITS_PER_WORD) for code, i in outcome_index.items()), else_=0
    )
    bit = keyed.outcome.cases(
        *((code, 2 ** (i % _BITS_PER_WORD)) for code, i in outcome_index.items()), else_=0
    )
    word = visit_index * blocks + block
    tagged = keyed.mutate(word=word, bit=bit.cast("int64"))
    per_patient = tagged.group_by("patient_id").aggregate(
        **{f"s{w}": (tagged.word == w).ifelse(tagged.bit, 0).sum() for w in range(n_words)},
        **{f"o{w}": (tagged.word == w).ifelse(tagged.bit, 0).bit_or() for w in range(n_words)},
    )
    repeats = per_patient["s0"] != per_patient["o0"]
    for w in range(1, n_words):
        repeats |= per_patient[f"s{w}"] != per_patient[f"o{w}"]
    suspects = per_patient.filter(repeats).select("patient_id")
    if int(suspects.count().to_pyarrow().as_py()) == 0:
        return None
    return suspects


def _check_attributes(cohort: EngineCohort, table: Any) -> None:
    """Levels of each attribute with few values, and attributes that vary within a patient."""
    if not cohort.attributes:
        return
    as_text = {name: text_column(table, name, cohort.padded) for name in cohort.attributes}
    n_levels = (
        table.aggregate(**{f"a{i}": as_text[n].nunique() for i, n in enumerate(cohort.attributes)})
        .to_pyarrow()
        .to_pylist()[0]
    )
    few = [n for i, n in enumerate(cohort.attributes) if n_levels[f"a{i}"] <= MAX_LEVELS]
    if not few:
        return
    id_column = cohort.columns["patient_id"]
    # min < max within a patient: the attribute varies (no DISTINCT aggregate needed).
    per_patient = table.group_by(id_column).aggregate(
        **{f"lo{i}": as_text[n].min() for i, n in enumerate(few)},
        **{f"hi{i}": as_text[n].max() for i, n in enumerate(few)},
    )
    varying_counts = (
        per_patient.aggregate(
            **{
                f"v{i}": (per_patient[f"lo{i}"] != per_patient[f"hi{i}"]).ifelse(1, 0).sum()
                for i in range(len(few))
            }
        )
        .to_pyarrow()
        .to_pylist()[0]
    )
    for i, name in enumerate(few):
        varying = int(varying_counts[f"v{i}"] or 0)
        if varying:
            cohort.varying_attributes.append(name)
            cohort.report.add(
                "warning",
                "attribute_varies",
                f"{name!r} differs between rows of {varying} patient(s); it is not used as "
                "a patient attribute (arm or subgroup).",
            )
            continue
        levels = as_text[name].name("level").as_table().distinct().to_pandas()
        cohort.attribute_levels[name] = sorted(
            str(v) for v in levels["level"] if v is not None and str(v) != ""
        )


def _valid_rows(cohort: EngineCohort) -> Any:
    """Canonical rows with a number in range (before repeated rows are resolved)."""
    import ibis

    table = cohort.source.table()
    cols = cohort.columns
    raw = table[cols["value"]]
    value = raw.cast("float64") if raw.type().is_numeric() else raw.try_cast("float64")
    visit = table[cols["visit"]].cast("string")
    if cohort.visit_map:
        visit = visit.cases(*cohort.visit_map.items(), else_=visit)
    t = table.select(
        patient_id=text_column(table, cols["patient_id"], cohort.padded),
        visit=visit,
        outcome=text_column(table, cols["outcome"], cohort.padded),
        v=value,
        day=table[cols["day"]].cast("float64") if "day" in cols else ibis.null("float64"),
        **{a: text_column(table, a, cohort.padded) for a in cohort.attribute_levels},
    )
    # Only outcomes found with out-of-range values need the range test on every row.
    return t.filter(t.v.notnull() & ~_range_condition(t, t.v, cohort.out_of_range))


def _clean(cohort: EngineCohort) -> Any:
    rows = _valid_rows(cohort)
    if not cohort.has_duplicates:
        return rows
    keys = ["patient_id", "visit", "outcome", *cohort.attribute_levels]
    merged = rows.group_by(keys).aggregate(v=rows.v.max(), day=rows.day.min(), low=rows.v.min())
    return merged.filter(merged.low == merged.v).drop("low")


def finite(x: float | None) -> float | None:
    """x, or None when it is missing or not finite."""
    return None if x is None or not math.isfinite(x) else float(x)


def preview(cohort: EngineCohort, n: int = 20) -> pd.DataFrame:
    """The first ``n`` validated rows (for the Data page)."""
    return cohort.clean().limit(n).to_pandas()


# Rows leave the database only for the views that need a person's values (patient view, MMRM,
# multiple imputation, trajectories): one outcome's rows, at most this many patients.
ROWS_CAP_PATIENTS = 200_000


def fetch_rows(
    cohort: EngineCohort, outcomes: list[str] | None = None, cap: int = ROWS_CAP_PATIENTS
) -> pd.DataFrame:
    """The validated rows of ``outcomes`` (all when None) in the canonical long layout, with
    the patient attributes; EngineError past ``cap`` patients, before any row is read."""
    rows = cohort.clean()
    if outcomes is not None:
        unknown = [o for o in outcomes if o not in cohort.outcomes]
        if unknown:
            raise EngineError(
                f"Outcome {unknown[0]!r} is not in the data; outcomes: {', '.join(cohort.outcomes)}"
            )
        rows = rows.filter(rows.outcome.isin(outcomes))
    n_patients = int(rows.patient_id.nunique().to_pyarrow().as_py())
    if n_patients > cap:
        raise EngineError(
            f"This view needs each patient's values, and {n_patients:,} patients are more than "
            f"the {cap:,} it reads out of the database. Narrow the cohort in the database (a "
            "view of one site or period) or use the views computed in the database "
            "(summary, validate)."
        )
    frame = rows.rename(value="v").to_pandas()
    return frame[["patient_id", "visit", "day", "outcome", "value", *cohort.attribute_levels]]
