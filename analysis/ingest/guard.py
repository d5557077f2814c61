"""Stage 3 of ingest, the PHI guard: no table with direct identifiers goes further.

The user's answers to an earlier refusal are applied first: the columns they dropped go, and
calendar dates become days since treatment when they asked for it (and the file names a
treatment date). Then ``phi.scan`` looks for identifiers in the names and values of what
is left; any found refuse the file with an ``identifiers`` error that lists them (the
``LoadResult`` offers them to drop). Patient IDs that look like real record numbers load
with a warning.
"""

from __future__ import annotations

from collections.abc import Sequence

import pandas as pd

from analysis.ingest import phi
from analysis.ingest.codes import find_column
from analysis.ingest.findings import ValidationReport


def guard(
    frame: pd.DataFrame,
    report: ValidationReport,
    *,
    drop_columns: Sequence[str] | None = None,
    convert_dates: bool = False,
) -> pd.DataFrame | None:
    """The table with the user's choices applied, or None (refused in the report) while it
    still has direct identifiers."""
    if drop_columns:
        frame = frame.drop(columns=[c for c in drop_columns if c in frame.columns])
        report.add(
            "note",
            "columns_dropped",
            "Dropped at your request before loading: " + ", ".join(drop_columns) + ".",
        )
    id_column = find_column(frame.columns, "patient_id")
    flags = phi.scan(frame, id_column)
    dates = [f.column for f in flags if f.is_date]
    if convert_dates and dates and id_column is not None:
        treatment = phi.treatment_date_column(dates)
        if treatment is not None:
            frame, notes = phi.dates_to_days(frame, id_column, dates, treatment)
            report.add("note", "dates_converted", "Dates turned into days: " + "; ".join(notes))
            flags = [f for f in flags if not f.is_date]
    if flags:
        report.add(
            "error",
            "identifiers",
            "The file was not loaded because some columns look like direct identifiers: "
            + "; ".join(f"{f.column!r} ({f.reason})" for f in flags)
            + ". This dashboard takes de-identified data only: drop these columns (or turn "
            "calendar dates into days since treatment) and use pseudonymous patient IDs.",
            pd.DataFrame(
                {
                    "row": 1,
                    "column": [f.column for f in flags],
                    "value": [f.reason for f in flags],
                    "is_date": [f.is_date for f in flags],
                }
            ),
        )
        return None
    if id_column is not None:
        suspicious = phi.record_number_ids(frame[id_column])
        if suspicious:
            report.add(
                "warning",
                "record_number_ids",
                f"{suspicious} patient ID(s) look like real record numbers (7 or more digits, "
                "or the shape of a social security or phone number). Use pseudonymous study "
                "IDs that cannot be traced back outside the study.",
            )
    return frame
