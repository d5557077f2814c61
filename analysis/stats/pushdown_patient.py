"""The Patient view of a registry: one patient's rows read out of the database, the cohort
beside them computed inside it.

- ``engine_patient``: one count query says whether the typed ID is in the validated table (and
  how many rows it holds: a placeholder ID shared by millions of rows is refused before
  anything is read, past PATIENT_ROWS_CAP), then that one patient's validated rows (every
  outcome and visit) and their attributes are read; nobody else's row leaves the database.
- ``engine_cohort_bands``: what analysis.stats.patient shows of the cohort beside the patient,
  visit_summary's n, median and quartiles of each outcome at each visit, exact: per outcome ×
  visit the value-count histogram is built in the engine with each value's cumulative count
  (a window), and only the few values at the ranks the quantiles need leave it; the linear
  rule of np.percentile / pandas' quantile (Hyndman & Fan 1996, definition 7) then gives each
  quantile from those values. Never an engine's approximate quantile. Cells with fewer than
  ``min_cell`` values keep their count but no quantile leaves the engine.
- ``pushdown_patient_profile``: analysis.stats.patient.patient_profile from those parts
  (patient.profile_from_parts, the builder the in-memory path uses too).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import pandas as pd

from analysis.ingest.engine import EngineCohort, EngineError
from analysis.stats.patient import BAND_COLUMNS, PatientProfile, profile_from_parts

# A patient has one row per visit × outcome: 10,000 is far above any real schedule (40 visits
# × 60 outcomes is 2,400); an ID holding more is a placeholder, not a person.
PATIENT_ROWS_CAP = 10_000
_PERCENTS = (25, 50, 75)  # q1, median, q3 as visit_summary computes them
BAND_NAMES = {25: "q1", 50: "median", 75: "q3"}


class UnknownPatient(ValueError):
    """A typed patient ID that is not in the registry's validated table."""


@dataclass
class PatientRows:
    """One patient read out of the database: validated rows and attributes."""

    patient_id: str
    rows: pd.DataFrame  # patient_id, visit, day, outcome, value, attributes (as fetch_rows)
    attributes: dict[str, object]  # every attribute column with a value for this patient


def _text_id(table: Any, cohort: EngineCohort) -> Any:
    """The raw table's patient ID as engine.describe reads it (text; stripped where stored
    padded or stored as a number), so that the typed ID matches exactly what the cohort holds."""
    name = cohort.columns["patient_id"]
    column = table[name]
    if not column.type().is_string():
        return column.cast("string").strip()
    return column.strip() if name in cohort.padded else column


def engine_patient(
    cohort: EngineCohort, patient_id: str, cap: int = PATIENT_ROWS_CAP
) -> PatientRows:
    """One patient's validated rows and attributes (patient_profile's inputs for one ID); the
    ID is matched as text, exactly, after removing surrounding spaces. UnknownPatient when no
    validated row has it; EngineError past ``cap`` rows, before any row is read."""
    import ibis

    wanted = patient_id.strip()
    clean = cohort.clean()
    mine = clean.filter(clean.patient_id == ibis.literal(wanted, "string"))
    n_rows = int(mine.count().to_pyarrow().as_py())
    if n_rows == 0:
        raise UnknownPatient(f"Patient {wanted!r} is not in the data.")
    if n_rows > cap:
        raise EngineError(
            f"The ID {wanted!r} holds {n_rows:,} rows in the registry, more than the {cap:,} "
            "one patient's view reads out of the database: it looks like a placeholder shared "
            "by many records, not one person. Check the registry's IDs."
        )
    rows = mine.rename(value="v").to_pandas()
    rows = rows[["patient_id", "visit", "day", "outcome", "value", *cohort.attribute_levels]]
    order = {v: i for i, v in enumerate(cohort.visits)}
    rows = rows.sort_values(
        ["outcome", "visit"], key=lambda s: s.map(order) if s.name == "visit" else s,
        kind="stable", ignore_index=True,
    )  # fmt: skip
    return PatientRows(wanted, rows, _attributes(cohort, wanted, cap))


def _attributes(cohort: EngineCohort, patient_id: str, cap: int) -> dict[str, object]:
    """Every attribute column of the patient's rows in the raw table (the validated table keeps
    only those with few levels; age or HbA1c at baseline are attributes too): numbers as
    floats and text stripped, as the file loader reads them. A table has no row order, so an
    attribute that differs between the patient's rows shows every value, sorted, joined by
    " / " (the file loader keeps the first recorded)."""
    if not cohort.attributes:
        return {}
    table = cohort.source.table()
    found = (
        table.filter(_text_id(table, cohort) == patient_id)
        .select(*cohort.attributes)
        .distinct()
        .limit(cap)
        .to_pandas()
    )
    attributes: dict[str, object] = {}
    for name in cohort.attributes:
        numeric = table[name].type().is_numeric()
        values: list[Any] = []
        for value in found[name]:
            if pd.isna(value):
                continue
            value = float(value) if numeric else str(value).strip()
            if value != "" and value not in values:
                values.append(value)
        if len(values) == 1:
            attributes[name] = values[0]
        elif values:
            attributes[name] = " / ".join(_shown(v) for v in sorted(values))
    return attributes


def _shown(value: object) -> str:
    return f"{value:g}" if isinstance(value, float) else str(value)


def bands_expression(cohort: EngineCohort, min_cell: int = 0) -> Any:
    """The Ibis expression of engine_cohort_bands' query: per outcome × visit, the histogram
    rows holding a rank that a quartile needs (value v, count k, values below it, cell n);
    a cell with fewer than ``min_cell`` values gives one row, its count, with no value."""
    import ibis

    rows = cohort.clean()
    cell = ["outcome", "visit"]
    hist = rows.group_by([*cell, "v"]).aggregate(k=rows.count())
    upto = hist.k.sum().over(ibis.cumulative_window(group_by=cell, order_by="v"))
    hist = hist.mutate(
        upto=upto.cast("int64"),  # PostgreSQL's SUM of integers is NUMERIC
        n=hist.k.sum().over(group_by=cell).cast("int64"),
        is_first=ibis.row_number().over(group_by=cell, order_by="v") == 0,
    )
    below = hist.upto - hist.k
    holds = ibis.literal(False)
    for percent in _PERCENTS:
        # The bin holds rank r = floor(x / 100), x = (n - 1) p, when below <= r < upto, and
        # rank r + 1 when below <= r + 1 < upto: in integers, without a division.
        x = (hist.n - 1) * percent
        holds |= (below * 100 <= x) & (x < hist.upto * 100)
        holds |= ((below - 1) * 100 <= x) & (x < (hist.upto - 1) * 100)
    small = hist.n < min_cell
    kept = hist.filter((holds & ~small) | (small & hist.is_first))
    # A suppressed cell's value never leaves the engine: only its count does.
    value = (kept.n < min_cell).ifelse(ibis.null("float64"), kept.v)
    return kept.select("outcome", "visit", "n", "upto", below=kept.upto - kept.k, v=value)


def engine_cohort_bands(cohort: EngineCohort, min_cell: int = 0) -> pd.DataFrame:
    """visit_summary's n, median, q1 and q3 of every outcome at every visit, computed in the
    engine (one query; exact, see the module docstring): columns outcome, visit, n, median,
    q1, q3, outcomes as cohort.outcomes and visits in time order. Quantiles are NaN in cells
    with fewer than ``min_cell`` values (suppressed in the engine)."""
    found = bands_expression(cohort, min_cell).to_pandas()
    order = {v: i for i, v in enumerate(cohort.visits)}
    outcome_order = {o: i for i, o in enumerate(cohort.outcomes)}
    records = []
    for (outcome, visit), part in found.groupby(["outcome", "visit"], sort=False, observed=True):
        n = int(part["n"].iloc[0])
        record: dict[str, object] = {"outcome": str(outcome), "visit": str(visit), "n": n}
        part = part.sort_values("below")
        if part["v"].isna().any():
            record.update({name: math.nan for name in BAND_NAMES.values()})
        else:
            for percent, name in BAND_NAMES.items():
                record[name] = _quantile(part, n, percent)
        records.append(record)
    bands = pd.DataFrame(records, columns=["outcome", "visit", "n", *BAND_NAMES.values()])
    bands = bands.astype({"n": "int64", "median": float, "q1": float, "q3": float})
    bands = bands.sort_values(
        ["outcome", "visit"],
        key=lambda s: s.map(outcome_order if s.name == "outcome" else order),
        ignore_index=True,
    )
    return bands[["outcome", "visit", "n", "median", "q1", "q3"]]


def _quantile(part: pd.DataFrame, n: int, percent: int) -> float:
    """The linear-rule quantile (np.percentile's default) of a cell from the histogram rows
    holding ranks floor(h) and floor(h) + 1, h = (n - 1) p / 100 (Hyndman & Fan 1996, def. 7)."""
    low, remainder = divmod((n - 1) * percent, 100)
    x0 = _value_at(part, low)
    x1 = _value_at(part, min(low + 1, n - 1))
    return x0 + (remainder / 100) * (x1 - x0)


def _value_at(part: pd.DataFrame, rank: int) -> float:
    """The value at 0-based ``rank`` in the sorted cell: the bin with below <= rank < upto."""
    hit = part.loc[(part["below"] <= rank) & (rank < part["upto"]), "v"]
    if hit.empty:  # the query keeps every bin holding a needed rank
        raise AssertionError(f"rank {rank} was not returned by the engine")
    return float(hit.iloc[0])


def pushdown_patient_profile(
    cohort: EngineCohort,
    patient_id: str,
    bands: pd.DataFrame | None = None,
    min_cell: int = 0,
    cap: int = PATIENT_ROWS_CAP,
) -> PatientProfile:
    """analysis.stats.patient.patient_profile for a registry: the patient's rows read out of
    the database (engine_patient), the cohort's bands computed in it (engine_cohort_bands, or
    ``bands`` already computed: they are the same for every patient)."""
    patient = engine_patient(cohort, patient_id, cap)
    if bands is None:
        bands = engine_cohort_bands(cohort, min_cell)
    held = set(patient.rows["outcome"])
    outcomes = [o for o in cohort.outcomes if o in held]
    per_outcome = {
        outcome: part[BAND_COLUMNS].reset_index(drop=True)
        for outcome, part in bands.groupby("outcome", sort=False, observed=True)
        if outcome in held
    }
    return profile_from_parts(
        patient.patient_id,
        patient.rows,
        per_outcome,
        outcomes,
        cohort.baseline,
        cohort.follow_up_visits,
        patient.attributes,
    )
