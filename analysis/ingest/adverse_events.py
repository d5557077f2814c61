"""Reading and validating an adverse-event (AE) table: one row per event, any of three layouts.

Layouts (recognised from the column names):

- **Plain table**: patient_id, term, optional category (body system), start_day, end_day,
  severity (mild / moderate / severe / life-threatening / fatal) or grade (1-5), serious
  (yes/no), related (to cells / to procedure / not related / unknown), outcome, action.
  Column names are matched by the aliases in ``AE_COLUMNS`` (case, spaces and hyphens ignored).
- **REDCap repeating instrument**: record_id with redcap_repeat_instrument; the rows of the
  adverse-event instrument are the events, every other row (visit data) is set aside and
  counted.
- **CDISC ADaM ADAE**: USUBJID, AEDECOD (or AETERM), AEBODSYS, AESEV / AETOXGR, AESER, AEREL,
  ASTDY, AENDY, AEOUT, AEACN, AESDTH; rows with TRTEMFL present but not "Y" (not
  treatment-emergent) are set aside and counted.

Validation follows the outcome file's rules (``analysis.ingest.findings``): every problem is a
finding located by row (as a spreadsheet numbers it: the header is row 1) and column, and no
row is dropped without being counted and listed. The PHI guard (``analysis.ingest.phi.scan``)
looks at every column, free-text terms first among them: the table is refused, with the rows
that hold the identifier, while any remain. Events starting before day 0 are not
treatment-emergent and are set aside (listed); events of patients not in the outcome file are
set aside (listed).
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from analysis.ingest import phi
from analysis.ingest.codes import COLUMN_ALIASES, column_key
from analysis.ingest.findings import ValidationReport, describe_locations
from analysis.ingest.read import LoadError, RawTable, read_table, typed_table
from analysis.ingest.tidy import parse_numbers

DATA_DIR = Path(__file__).resolve().parents[2] / "data"
DEMO_AE_PATH = DATA_DIR / "demo_adverse_events.csv"
DEMO_AE_NAME = "Demo adverse events (synthetic)"

# role -> column names it goes by (after column_key: casefolded, spaces and hyphens as "_")
AE_COLUMNS: dict[str, tuple[str, ...]] = {
    "patient_id": (*COLUMN_ALIASES["patient_id"], "usubjid", "record_id"),
    "term": (
        "term", "ae_term", "aedecod", "preferred_term", "pt", "adverse_event", "ae", "event",
        "aeterm", "ae_name", "event_term", "reported_term",
    ),
    "verbatim": ("aeterm", "verbatim", "verbatim_term", "reported_term", "ae_verbatim"),
    "category": (
        "category", "body_system", "system_organ_class", "soc", "aebodsys", "aesoc",
        "ae_category", "organ_system", "bodsys",
    ),
    "start_day": (
        "start_day", "astdy", "aestdy", "onset_day", "ae_start_day", "ae_onset_day", "start",
        "day", "study_day", "days_since_treatment",
    ),
    "end_day": (
        "end_day", "aendy", "aeendy", "stop_day", "resolution_day", "ae_end_day", "end",
        "ae_stop_day",
    ),
    "severity": ("severity", "aesev", "asev", "intensity", "ae_severity"),
    "grade": ("grade", "aetoxgr", "atoxgr", "ctcae_grade", "toxicity_grade", "ae_grade"),
    "serious": ("serious", "aeser", "sae", "is_serious", "ae_serious", "seriousness"),
    "related": (
        "related", "relatedness", "aerel", "arel", "relationship", "causality", "relation",
        "attribution", "ae_related", "ae_relationship",
    ),
    "outcome": ("outcome", "aeout", "ae_outcome"),
    "action": ("action", "aeacn", "action_taken", "ae_action"),
    "death": ("aesdth", "death", "fatal", "resulted_in_death"),
}  # fmt: skip
REQUIRED = ("patient_id", "term")
RELATEDNESS = ("cells", "procedure", "cells and procedure", "not related", "unknown")
RELATED_LEVELS = ("cells", "procedure", "cells and procedure")
SEVERITY_WORDS = {1: "mild", 2: "moderate", 3: "severe", 4: "life-threatening", 5: "fatal"}
_SEVERITY_TEXT = {
    "mild": 1, "moderate": 2, "severe": 3, "life-threatening": 4, "life threatening": 4,
    "lifethreatening": 4, "fatal": 5, "death": 5,
}  # fmt: skip
_YES = {"yes", "y", "true", "1", "1.0", "serious", "sae", "x"}
_NO = {"no", "n", "false", "0", "0.0", "non-serious", "nonserious", "not serious", "non serious"}
_BLANK = {"", "nan", "none", "<na>", "na", "n/a", "missing", "."}
# Relatedness in words; negations first ("not related to cells" is not related).
_NOT_RELATED = re.compile(r"\b(not|unrelated|unlikely|none|no|doubtful|improbable)\b")
_PROCEDURE = re.compile(r"procedur|inject|administ|harvest|aspirat|liposuc|infusion|implant")
_CELLS = re.compile(r"cell|msc|product|drug|treatment|\bip\b|investigational")
_RELATED = re.compile(r"relat|probab|possib|definite|certain|likely|suspected|^yes$|^y$")
_UNKNOWN = re.compile(r"unknown|^unk$|assess|undetermined|indetermin")
_DEATH = re.compile(r"fatal|death|died|dead")
_DISCONTINUED = re.compile(r"withdr|discontinu|stopped|permanent|terminat")
EVENT_COLUMNS = [
    "patient_id", "term", "category", "start_day", "end_day", "severity_level", "severity",
    "serious", "related", "outcome", "action", "death", "discontinued", "source_row",
]  # fmt: skip


@dataclass
class AdverseEvents:
    """A validated AE table: one row per event, in ``EVENT_COLUMNS``."""

    events: pd.DataFrame
    source_name: str
    source_format: str  # "table", "REDCap repeating instrument" or "ADaM ADAE"
    scale: str  # "grade" (CTCAE 1-5) or "severity" (mild / moderate / severe)
    columns: dict[str, str]  # role -> the file's column
    synthetic: bool = False
    notes: list[str] = field(default_factory=list)

    @property
    def n_events(self) -> int:
        """Events kept."""
        return len(self.events)

    def for_patient(self, patient_id: str) -> pd.DataFrame:
        """One patient's events, in order of onset."""
        mine = self.events.loc[self.events["patient_id"] == str(patient_id)]
        return mine.sort_values(["start_day", "source_row"], na_position="last")

    def restricted_to(self, patients: Iterable[str]) -> AdverseEvents:
        """The events of ``patients`` only (a cohort filter)."""
        keep = self.events["patient_id"].isin({str(p) for p in patients})
        return AdverseEvents(
            self.events.loc[keep].reset_index(drop=True), self.source_name, self.source_format,
            self.scale, self.columns, self.synthetic, self.notes,
        )  # fmt: skip


@dataclass
class AELoadResult:
    """What reading an AE table gives: the events (None when unusable), the report, sheets."""

    table: AdverseEvents | None
    report: ValidationReport
    sheets: list[str] = field(default_factory=list)

    @property
    def identifier_columns(self) -> list[str]:
        """Columns the PHI guard refused."""
        for finding in self.report.errors:
            if finding.code == "identifiers" and finding.locations is not None:
                return list(dict.fromkeys(finding.locations["column"]))
        return []


def find_ae_column(columns: Iterable[object], role: str, taken: Iterable[str] = ()) -> str | None:
    """The column that plays ``role`` (by ``AE_COLUMNS``), skipping columns already ``taken``."""
    used = set(taken)
    keys = {column_key(c): str(c) for c in columns if str(c) not in used}
    for alias in AE_COLUMNS[role]:
        if alias in keys:
            return keys[alias]
    return None


def map_columns(columns: Sequence[object]) -> dict[str, str]:
    """Role -> column, each column used once (term before verbatim: AEDECOD is the term and
    AETERM the verbatim text when both are there)."""
    mapping: dict[str, str] = {}
    for role in AE_COLUMNS:
        found = find_ae_column(columns, role, mapping.values())
        if found is not None:
            mapping[role] = found
    return mapping


def read_adverse_events(
    data: bytes,
    source_name: str,
    *,
    patients: Iterable[str] | None = None,
    sheet: str | None = None,
    drop_columns: Sequence[str] | None = None,
    synthetic: bool = False,
) -> AELoadResult:
    """Read and validate an AE file's bytes (CSV, XLSX sheet, Parquet); ``patients``: the IDs
    of the outcome file, to find events of unknown patients. Never raises on bad input."""
    try:
        raw = read_table(data, source_name, sheet=sheet)
    except LoadError as exc:
        report = ValidationReport()
        report.add("error", "unreadable", str(exc))
        return AELoadResult(None, report)
    result = adverse_events_from_raw(
        raw, patients=patients, drop_columns=drop_columns, synthetic=synthetic
    )
    result.sheets = raw.sheets
    return result


def adverse_events_from_frame(
    frame: pd.DataFrame,
    source_name: str,
    *,
    patients: Iterable[str] | None = None,
    drop_columns: Sequence[str] | None = None,
) -> AELoadResult:
    """An AE table already in memory, read as if it were a file's cells."""
    raw = typed_table(frame.copy(), source_name, "table in memory")
    return adverse_events_from_raw(raw, patients=patients, drop_columns=drop_columns)


def load_demo_adverse_events(patients: Iterable[str] | None = None) -> AELoadResult:
    """The synthetic demo AE table (data/demo_adverse_events.csv)."""
    return read_adverse_events(
        DEMO_AE_PATH.read_bytes(), DEMO_AE_NAME, patients=patients, synthetic=True
    )


def adverse_events_from_raw(
    raw: RawTable,
    *,
    patients: Iterable[str] | None = None,
    drop_columns: Sequence[str] | None = None,
    synthetic: bool = False,
) -> AELoadResult:
    """The stages for an AE table: layout, PHI guard, columns, values, consistency."""
    report = ValidationReport()
    try:
        return _stages(raw, report, patients, drop_columns, synthetic)
    except Exception as exc:  # a last guard: a user sees a message, not a traceback
        report.add(
            "error",
            "unexpected",
            f"{raw.source_name} could not be processed ({type(exc).__name__}: {exc}).",
        )
        return AELoadResult(None, report)


def _stages(
    raw: RawTable,
    report: ValidationReport,
    patients: Iterable[str] | None,
    drop_columns: Sequence[str] | None,
    synthetic: bool,
) -> AELoadResult:
    frame = raw.frame.copy()
    for column in frame.columns:
        if isinstance(frame[column].dtype, pd.CategoricalDtype):
            frame[column] = frame[column].astype(object)
    frame["_source_row"] = raw.row_numbers()
    n_read = len(frame)
    if n_read == 0:
        report.add("error", "no_rows", f"{raw.source_name} has column names but no data rows.")
        return AELoadResult(None, report)
    frame, layout = _layout(frame, report)
    if drop_columns:
        frame = frame.drop(columns=[c for c in drop_columns if c in frame.columns])
        report.add(
            "note", "columns_dropped", "Dropped at your request: " + ", ".join(drop_columns) + "."
        )
    columns = map_columns([c for c in frame.columns if c != "_source_row"])
    missing = [role for role in REQUIRED if role not in columns]
    if missing:
        report.add(
            "error",
            "missing_columns",
            "The adverse-event table needs a patient ID and a term column; not found: "
            + ", ".join(missing)
            + ". Recognised names: "
            + "; ".join(f"{role}: {', '.join(AE_COLUMNS[role][:4])}, ..." for role in missing)
            + ".",
        )
        return AELoadResult(None, report)
    if not _phi_passes(frame, columns["patient_id"], report):
        return AELoadResult(None, report)
    events, scale = _events(frame, columns, report)
    events = _set_aside(events, frame, columns, report, patients)
    _consistency(events, columns, report)
    report.accounting = {
        "rows read": n_read,
        "adverse events kept": len(events),
        "rows set aside (each listed in the findings)": n_read - len(events),
    }
    table = AdverseEvents(
        events=events.reset_index(drop=True),
        source_name=raw.source_name,
        source_format=layout,
        scale=scale,
        columns=columns,
        synthetic=synthetic,
    )
    return AELoadResult(table, report)


def _layout(frame: pd.DataFrame, report: ValidationReport) -> tuple[pd.DataFrame, str]:
    """REDCap and ADaM ADAE rows to keep, with notes; the layout's name."""
    keys = {column_key(c): c for c in frame.columns}
    if "record_id" in keys and "redcap_repeat_instrument" in keys:
        instrument = frame[keys["redcap_repeat_instrument"]].astype(str).str.strip()
        names = sorted({v for v in instrument if v.casefold() not in _BLANK})
        chosen = [n for n in names if re.search(r"adverse|(^|_)aes?(_|$)", n, re.I)] or names
        keep = instrument.isin(chosen)
        if (~keep).any():
            report.add(
                "note",
                "redcap_rows_set_aside",
                f"Recognised a REDCap export; {int((~keep).sum())} row(s) that are not of the "
                f"adverse-event instrument ({', '.join(chosen) or 'none found'}) were set aside.",
            )
        structural = [
            keys[k] for k in ("redcap_event_name", "redcap_repeat_instrument",
                              "redcap_repeat_instance") if k in keys
        ]  # fmt: skip
        return frame.loc[keep].drop(columns=structural), "REDCap repeating instrument"
    if "usubjid" in keys and ("aedecod" in keys or "aeterm" in keys):
        layout = "ADaM ADAE"
        if "trtemfl" in keys:
            flag = frame[keys["trtemfl"]].astype(str).str.strip().str.upper()
            keep = flag.eq("Y")
            if (~keep).any():
                rows = frame.loc[~keep, "_source_row"].to_numpy()
                report.add(
                    "warning",
                    "not_treatment_emergent",
                    f"{int((~keep).sum())} row(s) are not treatment-emergent (TRTEMFL is not "
                    "\"Y\") and were set aside: "
                    + describe_locations(pd.DataFrame({"row": rows, "column": keys["trtemfl"]}))
                    + ".",
                    pd.DataFrame({"row": rows, "column": keys["trtemfl"],
                                  "value": flag[~keep].to_numpy()}),
                )  # fmt: skip
            frame = frame.loc[keep]
        return frame, layout
    return frame, "table"


def _phi_passes(frame: pd.DataFrame, id_column: str, report: ValidationReport) -> bool:
    """The PHI guard on every column; refused (False) with each flagged row located."""
    rows = frame["_source_row"].to_numpy()
    flags = phi.scan(frame, id_column, rows=rows)
    if not flags:
        return True
    located = []
    for flag in flags:
        found = _flagged_rows(frame, flag.column, id_column)
        if found.empty:
            found = pd.DataFrame({"row": [_example_row(flag.reason)], "column": [flag.column],
                                  "value": [""]})  # fmt: skip
        found["reason"] = flag.reason
        found["is_date"] = flag.is_date
        located.append(found)
    locations = pd.concat(located, ignore_index=True)
    report.add(
        "error",
        "identifiers",
        "The adverse-event table was not loaded because some cells look like direct "
        "identifiers: "
        + "; ".join(f"{f.column!r} ({f.reason})" for f in flags)
        + ". Rows: "
        + describe_locations(locations)
        + ". Free-text terms must not name a person, a date or a place: correct those cells "
        "(or drop the column if the analysis does not need it) and load the table again.",
        locations,
    )
    return False


def _example_row(reason: str) -> int | None:
    match = re.search(r"row (\d+)", reason)
    return int(match.group(1)) if match else None


def _flagged_rows(
    frame: pd.DataFrame, column: str, id_column: str, limit: int = 2000
) -> pd.DataFrame:
    """Rows whose own value in ``column`` the guard flags when looked at alone."""
    values = frame[column].astype(str)
    distinct = [v for v in pd.unique(values) if v.strip()][:limit]
    flagged = []
    for value in distinct:
        one = (
            pd.DataFrame({id_column: ["P1"], column: [value]})
            if column != id_column
            else (pd.DataFrame({column: [value]}))
        )
        if phi.scan(one, id_column if column != id_column else None):
            flagged.append(value)
    hit = values.isin(flagged).to_numpy()
    return pd.DataFrame(
        {"row": frame.loc[hit, "_source_row"].to_numpy(), "column": column,
         "value": values[hit].to_numpy()}
    )  # fmt: skip


def _text(frame: pd.DataFrame, column: str | None) -> pd.Series:
    """A column as stripped text ('' where blank), or all '' when the column is absent."""
    if column is None:
        return pd.Series("", index=frame.index, dtype=object)
    text = frame[column].astype(object).where(frame[column].notna(), "").astype(str).str.strip()
    return text.where(~text.str.casefold().isin(_BLANK), "")


def _locations(
    frame: pd.DataFrame, mask: pd.Series, column: str, values: pd.Series
) -> pd.DataFrame:
    mask = mask.to_numpy(dtype=bool)
    return pd.DataFrame(
        {"row": frame.loc[mask, "_source_row"].to_numpy(), "column": column,
         "value": values[mask].astype(str).to_numpy()}
    )  # fmt: skip


def _warn(report: ValidationReport, code: str, text: str, locations: pd.DataFrame) -> None:
    if len(locations):
        report.add("warning", code, f"{text}: {describe_locations(locations)}.", locations)


def _events(
    frame: pd.DataFrame, columns: dict[str, str], report: ValidationReport
) -> tuple[pd.DataFrame, str]:
    """Every row as an event with parsed values; what could not be read is reported."""
    get = columns.get
    events = pd.DataFrame(index=frame.index)
    events["patient_id"] = _text(frame, get("patient_id"))
    term = _text(frame, get("term"))
    if "verbatim" in columns:
        term = term.where(term != "", _text(frame, get("verbatim")))
    no_term = term == ""
    _warn(
        report,
        "term_missing",
        f"{int(no_term.sum())} adverse event(s) have no term and are "
        "counted as '(term not recorded)'",
        _locations(frame, no_term, columns["term"], term),
    )
    events["term"] = term.where(~no_term, "(term not recorded)")
    category = _text(frame, get("category"))
    events["category"] = category.where(category != "", "(not recorded)")
    for role in ("start_day", "end_day"):
        column = get(role)
        if column is None:
            events[role] = np.nan
            continue
        values, status = parse_numbers(frame[column], decimal_comma=False)
        if (status == "text").any():
            values2, status2 = parse_numbers(frame[column], decimal_comma=True)
            values, status = (
                values.where(status != "text", values2),
                status2.where(status == "text", status),
            )
        bad = status.astype(str).eq("text")
        _warn(report, f"{role}_unreadable", f"{int(bad.sum())} {role.replace('_', ' ')} value(s) "
              "are not numbers (days since treatment) and were left blank",
              _locations(frame, bad, column, frame[column]))  # fmt: skip
        events[role] = values.to_numpy(dtype=float)
    level, scale = _severity(frame, columns, report)
    events["severity_level"] = level
    events["severity"] = level.map(lambda g: _severity_label(g, scale))
    events["serious"] = _serious(frame, columns, report)
    events["related"] = _related(frame, columns, report)
    events["outcome"] = _text(frame, get("outcome"))
    events["action"] = _text(frame, get("action"))
    death_flag = _text(frame, get("death")).str.casefold().isin(_YES)
    events["death"] = (
        death_flag | events["outcome"].str.casefold().str.contains(_DEATH) | (level == 5)
    )
    events["discontinued"] = events["action"].str.casefold().str.contains(_DISCONTINUED)
    events["source_row"] = frame["_source_row"].to_numpy()
    return events[EVENT_COLUMNS], scale


def _severity_label(level: float, scale: str) -> str:
    if pd.isna(level):
        return "not recorded"
    if scale == "grade":
        return f"grade {int(level)}"
    return SEVERITY_WORDS[int(level)]


def _parse_grade(text: str) -> float | None:
    """1-5 from '3', '3.0', 'grade 3', 'G3', 'Grade III' (None otherwise)."""
    t = text.casefold().strip()
    roman = {"i": 1, "ii": 2, "iii": 3, "iv": 4, "v": 5}
    match = re.fullmatch(r"(?:ctcae\s*)?(?:grade|gr|g)?\s*\.?\s*([0-9]+(?:\.0+)?|i{1,3}|iv|v)", t)
    if match is None:
        return None
    token = match.group(1)
    value = float(roman[token]) if token in roman else float(token)
    return value if value in {1.0, 2.0, 3.0, 4.0, 5.0} else None


def _severity(
    frame: pd.DataFrame, columns: dict[str, str], report: ValidationReport
) -> tuple[pd.Series, str]:
    """Severity levels 1-5 from the grade column, else the severity words; the scale's name."""
    grade_text = _text(frame, columns.get("grade"))
    words = _text(frame, columns.get("severity"))
    grade = grade_text.map(lambda t: _parse_grade(t) if t else None).astype(float)
    from_words = words.map(
        lambda t: _SEVERITY_TEXT.get(t.casefold()) or _parse_grade(t) if t else None
    ).astype(float)
    scale = "grade" if grade.notna().any() else "severity"
    for role, text, parsed in (("grade", grade_text, grade), ("severity", words, from_words)):
        if role in columns:
            bad = (text != "") & parsed.isna()
            _warn(report, f"{role}_unreadable", f"{int(bad.sum())} {role} value(s) are not "
                  + ("grades 1-5" if role == "grade" else
                     "mild, moderate, severe, life-threatening or fatal (or a grade 1-5)")
                  + " and count as not recorded",
                  _locations(frame, bad, columns[role], text))  # fmt: skip
    level = grade.where(grade.notna(), from_words)
    if scale == "grade" and "severity" in columns and (grade.isna() & from_words.notna()).any():
        report.add(
            "note",
            "severity_as_grade",
            "Where no grade was given the severity words were read as grades (mild = 1, "
            "moderate = 2, severe = 3, life-threatening = 4, fatal = 5).",
        )
    absent = level.isna()
    column = columns.get("grade") or columns.get("severity")
    if column is None:
        report.add(
            "warning",
            "severity_missing",
            "The table has no severity or grade column: every event counts as severity not "
            "recorded.",
        )
    else:
        _warn(
            report,
            "severity_missing",
            f"{int(absent.sum())} adverse event(s) have no "
            "severity or grade and count as 'not recorded' in the severity table",
            _locations(frame, absent, column, grade_text.where(grade_text != "", words)),
        )
    return level, scale


def _serious(frame: pd.DataFrame, columns: dict[str, str], report: ValidationReport) -> pd.Series:
    """True / False / missing from yes-no answers."""
    column = columns.get("serious")
    text = _text(frame, column).str.casefold()
    value = pd.Series(pd.NA, index=frame.index, dtype="boolean")
    value[text.isin(_YES)] = True
    value[text.isin(_NO)] = False
    if column is not None:
        bad = (text != "") & value.isna()
        _warn(
            report,
            "serious_unreadable",
            f"{int(bad.sum())} 'serious' value(s) are not yes or no and count as not recorded",
            _locations(frame, bad, column, text),
        )
        blank = text == ""
        _warn(report, "serious_missing", f"{int(blank.sum())} adverse event(s) do not say "
              "whether they were serious (counted as not known to be serious)",
              _locations(frame, blank, column, text))  # fmt: skip
    return value


def relatedness(text: str) -> str | None:
    """One of RELATEDNESS from an answer in words (None when it cannot be read)."""
    t = text.casefold().strip()
    if not t:
        return "unknown"
    if _UNKNOWN.search(t):
        return "unknown"
    if _NOT_RELATED.search(t):
        return "not related"
    procedure = bool(_PROCEDURE.search(t))
    cells = bool(_CELLS.search(t))
    if procedure and (cells or "both" in t):
        return "cells and procedure"
    if t == "both":
        return "cells and procedure"
    if procedure:
        return "procedure"
    if cells or _RELATED.search(t):
        return "cells"
    return None


def _related(frame: pd.DataFrame, columns: dict[str, str], report: ValidationReport) -> pd.Series:
    column = columns.get("related")
    text = _text(frame, column)
    mapped = text.map(relatedness)
    if column is not None:
        bad = mapped.isna()
        _warn(report, "related_unreadable", f"{int(bad.sum())} relatedness value(s) could not be "
              "read (expected: cells, procedure, not related, unknown) and count as unknown",
              _locations(frame, bad, column, text))  # fmt: skip
        generic = text.str.casefold().str.fullmatch(
            r"(related|yes|y|possibl[ey]( related)?|probabl[ey]( related)?|definite(ly)?"
            r"( related)?|likely|suspected)"
        )
        if generic.any():
            report.add(
                "note",
                "related_generic",
                f"{int(generic.sum())} event(s) say 'related' without saying to what; they were "
                "read as related to the cells (the investigational product).",
            )
        blank = text == ""
        if blank.any():
            report.add(
                "note",
                "related_missing",
                f"{int(blank.sum())} event(s) do not say whether they were related; counted as "
                "relation unknown.",
            )
    return mapped.fillna("unknown")


def _set_aside(
    events: pd.DataFrame,
    frame: pd.DataFrame,
    columns: dict[str, str],
    report: ValidationReport,
    patients: Iterable[str] | None,
) -> pd.DataFrame:
    """Events without a patient, of patients not in the outcome file, or before day 0: set
    aside, each listed."""
    id_column = columns["patient_id"]
    blank = events["patient_id"] == ""
    _warn(
        report,
        "patient_missing",
        f"{int(blank.sum())} row(s) have no patient ID and were set aside",
        _locations(frame, blank, id_column, events["patient_id"]),
    )
    keep = ~blank
    if patients is not None:
        known = {str(p).strip() for p in patients}
        unknown = keep & ~events["patient_id"].isin(known)
        ids = sorted(set(events.loc[unknown, "patient_id"]))
        _warn(report, "unknown_patients", f"{int(unknown.sum())} row(s) of {len(ids)} patient "
              f"ID(s) not in the outcome file ({', '.join(ids[:5])}"
              f"{', ...' if len(ids) > 5 else ''}) were set aside",
              _locations(frame, unknown, id_column, events["patient_id"]))  # fmt: skip
        keep &= ~unknown
    if "start_day" in columns:
        before = keep & (events["start_day"] < 0)
        _warn(
            report,
            "before_treatment",
            f"{int(before.sum())} event(s) started before day 0 "
            "(before treatment: not treatment-emergent) and were set aside",
            _locations(frame, before, columns["start_day"], events["start_day"]),
        )
        keep &= ~before
    else:
        report.add(
            "warning",
            "start_day_missing",
            "The table has no start day: every event is taken as treatment-emergent, and "
            "follow-up time comes from the visits alone.",
        )
    return events.loc[keep]


def _consistency(events: pd.DataFrame, columns: dict[str, str], report: ValidationReport) -> None:
    """End before start (end left blank), the same term overlapping in time in one patient
    (possible duplicates: both counted), and rows repeated exactly."""
    if "end_day" in columns:
        reversed_ = events["end_day"] < events["start_day"]
        if reversed_.any():
            located = pd.DataFrame(
                {"row": events.loc[reversed_, "source_row"].to_numpy(),
                 "column": columns["end_day"],
                 "value": [f"start {s:g}, end {e:g}" for s, e in
                           events.loc[reversed_, ["start_day", "end_day"]].to_numpy()]}
            )  # fmt: skip
            _warn(
                report,
                "end_before_start",
                f"{int(reversed_.sum())} event(s) end before they "
                "start; their end day was left blank",
                located,
            )
            events.loc[reversed_, "end_day"] = np.nan
    overlap_rows: list[tuple[int, int, str, str]] = []
    dated = events.loc[events["start_day"].notna()].copy()
    dated["key"] = dated["term"].str.casefold()
    for (_, _), group in dated.groupby(["patient_id", "key"], sort=False, observed=True):
        if len(group) < 2:
            continue
        ordered = group.sort_values("start_day")
        starts = ordered["start_day"].to_numpy()
        ends = ordered["end_day"].fillna(np.inf).to_numpy()  # no end: still ongoing
        rows = ordered["source_row"].to_numpy()
        for i in range(1, len(ordered)):
            if starts[i] <= np.max(ends[:i]):
                earlier = int(rows[int(np.argmax(ends[:i] >= starts[i]))])
                overlap_rows.append(
                    (int(rows[i]), earlier, str(ordered["patient_id"].iloc[i]),
                     str(ordered["term"].iloc[i]))
                )  # fmt: skip
    if overlap_rows:
        located = pd.DataFrame(
            {"row": [r for r, _, _, _ in overlap_rows],
             "column": columns.get("start_day", "start_day"),
             "value": [f"{p}, {t}: overlaps row {e}" for _, e, p, t in overlap_rows]}
        )  # fmt: skip
        _warn(
            report,
            "overlapping_events",
            f"{len(overlap_rows)} event(s) overlap in time an "
            "event with the same term in the same patient (a possible duplicate entry; both "
            "are counted — check the file)",
            located,
        )
    content = [c for c in EVENT_COLUMNS if c != "source_row"]
    repeated = events.duplicated(subset=content, keep="first")
    if repeated.any():
        located = pd.DataFrame(
            {"row": events.loc[repeated, "source_row"].to_numpy(), "column": "(whole row)",
             "value": events.loc[repeated, "term"].to_numpy()}
        )  # fmt: skip
        _warn(
            report,
            "repeated_rows",
            f"{int(repeated.sum())} row(s) repeat an earlier row "
            "exactly (counted as separate events — check the file)",
            located,
        )
