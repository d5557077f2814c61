"""Where the numbers in an export come from: one record that goes with every file.

The record names the data source and its SHA-256, the cohort filter in words and as the page
link's query, the baseline and visits, the arms and comparator, the estimand of the result (when
the table has one), this software's name and version, the versions of Python and of the
libraries that computed the numbers, and the date and time (UTC, ISO 8601).

It is a plain, JSON-ready mapping (nested only for ``estimand`` and ``versions``). Spreadsheets
and Word files show it as ``key: value`` rows (``provenance_rows``), with nested keys dotted
(``estimand.population``, ``versions.scipy``).
"""

from __future__ import annotations

import datetime as dt
import functools
import importlib.metadata
import json
import platform
import tomllib
import urllib.parse
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import pandas as pd

from analysis.ingest.dataset import Dataset
from analysis.present.estimand import Estimand
from analysis.stats.arms import ArmDesign, design_record
from analysis.stats.cohort import CohortFilter, to_query_params

SOFTWARE = "dpn-msc-outcomes"
LIBRARIES = ("pandas", "numpy", "scipy", "statsmodels", "plotly")
NO_ESTIMAND = "not stated for this table"
_PYPROJECT = Path(__file__).resolve().parents[2] / "pyproject.toml"

Provenance = dict[str, Any]


@functools.lru_cache(maxsize=1)
def software_version() -> str:
    """This project's version: pyproject.toml's [project] version, else the installed
    distribution's, else 'unknown'."""
    try:
        with _PYPROJECT.open("rb") as handle:
            return str(tomllib.load(handle)["project"]["version"])
    except (OSError, KeyError, tomllib.TOMLDecodeError):
        pass
    try:
        return importlib.metadata.version(SOFTWARE)
    except importlib.metadata.PackageNotFoundError:
        return "unknown"


@functools.lru_cache(maxsize=1)
def library_versions() -> dict[str, str]:
    """Python's version and the versions of the libraries that compute and draw the numbers."""
    versions = {"python": platform.python_version()}
    for name in LIBRARIES:
        try:
            versions[name] = importlib.metadata.version(name)
        except importlib.metadata.PackageNotFoundError:
            versions[name] = "not installed"
    return versions


def utc_now() -> str:
    """The current date and time in UTC, ISO 8601 to the second ('2026-05-04T09:30:00Z')."""
    return stamp(dt.datetime.now(dt.UTC))


def stamp(moment: dt.datetime) -> str:
    """A datetime as ISO 8601 UTC to the second (a naive datetime is taken as UTC)."""
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=dt.UTC)
    return moment.astimezone(dt.UTC).replace(microsecond=0).isoformat().replace("+00:00", "Z")


def cohort_query(cohort: CohortFilter | None) -> str:
    """The cohort filter as the page link's query ('f.arm=MSC&r.age=40..60'; '' for none)."""
    if cohort is None or not cohort.active:
        return ""
    return urllib.parse.urlencode(to_query_params(cohort), doseq=True)


def _plain(value: object) -> object:
    """JSON-ready: an Estimand becomes its four attributes, tuples become lists."""
    if isinstance(value, Estimand):
        return value.to_dict()
    if isinstance(value, Mapping):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_plain(v) for v in value]
    if hasattr(value, "item") and callable(value.item):  # numpy scalars
        return value.item()
    return value


def build_provenance(
    dataset: Dataset | None = None,
    *,
    source_sha256: str | None = None,
    cohort: CohortFilter | None = None,
    cohort_sentence: str | None = None,
    design: ArmDesign | None = None,
    estimand: Estimand | Mapping[str, str] | None = None,
    table: str | None = None,
    extra: Mapping[str, object] | None = None,
    created: dt.datetime | str | None = None,
) -> Provenance:
    """The provenance record of one export. Everything is optional: what is not known is said
    to be not known, never left out, so every file has the same keys. ``created`` defaults to
    now (UTC); pass ``created=""`` to leave the time for ``with_time`` to fill in when the
    file is written."""
    record: Provenance = {}
    if table:
        record["table"] = table
    record["software"] = SOFTWARE
    record["software_version"] = software_version()
    if isinstance(created, dt.datetime):
        record["created_utc"] = stamp(created)
    else:
        record["created_utc"] = utc_now() if created is None else created
    if dataset is not None:
        record["source_name"] = dataset.source_name
        record["source_format"] = dataset.source_format
        record["synthetic_data"] = bool(dataset.synthetic)
    else:
        record["source_name"] = "not available"
    record["source_sha256"] = source_sha256 or "not available"
    record["cohort_filter"] = cohort_sentence or (
        "no filter" if cohort is None or not cohort.active else "filtered (see the query)"
    )
    record["cohort_filter_query"] = cohort_query(cohort)
    if dataset is not None:
        record["patients_in_cohort"] = int(dataset.n_patients)
        record["baseline_visit"] = dataset.baseline
        record["visits"] = list(dataset.visits)
    if design is not None:
        arms = design_record(design)
        record.update(
            arm_attribute=arms["arm_attribute"] or "none (one group)",
            comparator=arms["comparator"] or "none",
            treated_arms=arms["treated_arms"],
            comparator_from=arms["comparator_from"] or "not applicable",
            randomised=arms["randomised"],
            arms_pooled=arms["arms_pooled"],
        )
    else:
        record["arm_attribute"] = "not stated"
    record["estimand"] = _plain(estimand) if estimand is not None else NO_ESTIMAND
    for key, value in (extra or {}).items():
        record[str(key)] = _plain(value)
    record["versions"] = dict(library_versions())
    return record


def with_time(record: Mapping[str, object], created: dt.datetime | None = None) -> Provenance:
    """A copy with ``created_utc`` set (now, UTC, unless given) where it is empty."""
    out = dict(record)
    if not out.get("created_utc"):
        out["created_utc"] = stamp(created) if created is not None else utc_now()
    return out


def _text(value: object) -> str:
    if value is None:
        return "none"
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, (list, tuple)):
        return ", ".join(_text(v) for v in value)
    return str(value)


def provenance_rows(record: Mapping[str, object]) -> list[tuple[str, str]]:
    """(key, value) text rows, nested keys dotted ('estimand.population')."""
    rows: list[tuple[str, str]] = []
    for key, value in record.items():
        if isinstance(value, Mapping):
            rows.extend((f"{key}.{k}", _text(v)) for k, v in value.items())
        else:
            rows.append((str(key), _text(value)))
    return rows


def provenance_frame(record: Mapping[str, object]) -> pd.DataFrame:
    """The rows as a two-column table (key, value): the XLSX 'provenance' sheet."""
    return pd.DataFrame(provenance_rows(record), columns=["key", "value"])


def provenance_lines(record: Mapping[str, object]) -> list[str]:
    """'key: value' lines, for a Word file or a printed page."""
    return [f"{key}: {value}" for key, value in provenance_rows(record)]


def provenance_json(record: Mapping[str, object]) -> bytes:
    """The record as indented UTF-8 JSON (the CSV's sidecar file)."""
    return (json.dumps(_plain(record), indent=2, ensure_ascii=False) + "\n").encode("utf-8")
