"""PHI guard: find HIPAA Safe Harbor identifiers (45 CFR 164.514(b)(2)) before anything is shown.

Column names and values are both scanned. A column is flagged when its name says it holds an
identifier (name, address, ZIP code, dates, phone, fax, e-mail, social security, medical record,
health plan, account, licence, device, URL, IP address) or when enough of its values look like
one (e-mail addresses, phone numbers, social security numbers, URLs, IP addresses, street
addresses, calendar dates). The file is not loaded while flagged columns remain; the user can
drop them, and calendar dates can be turned into days since treatment instead.
Patient IDs that look like real record numbers are flagged as a warning.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

import pandas as pd

_NAME_RULES: list[tuple[str, re.Pattern[str]]] = [
    ("a person's name", re.compile(
        r"^(patient_?)?(first|last|middle|given|family|full|sur)?_?name$|^surname$|^initials$")),
    ("a date of birth", re.compile(r"^(dob|date_?of_?birth|birth_?date|birthdate|birth_?day)$")),
    ("a street address", re.compile(r"address|^street|^city$|^town$|^county$")),
    ("a ZIP or postal code", re.compile(r"^zip|post_?code|postal")),
    ("a phone or fax number", re.compile(r"phone|^tel(ephone)?$|mobile|^cell$|^fax")),
    ("an e-mail address", re.compile(r"e_?mail")),
    ("a social security number", re.compile(r"^ssn$|social_?security|^sin$|^nino$")),
    ("a medical record number", re.compile(
        r"^mrn$|medical_?record|^nhs_?(no|number)$|^hospital_?(no|number|id)$")),
    ("a health plan or account number", re.compile(r"health_?plan|insurance|^account|^policy")),
    ("a licence, vehicle or device number", re.compile(
        r"licen[cs]e|^vin$|vehicle|serial|device_?(id|number|serial)")),
    ("a URL or IP address", re.compile(r"^url$|website|^ip(_?address)?$")),
    ("a calendar date", re.compile(r"(^|_)date($|_)|_dt$|^dt_|timestamp|datetime")),
]  # fmt: skip

_VALUE_RULES: list[tuple[str, re.Pattern[str]]] = [
    ("e-mail addresses", re.compile(r"^[\w.+-]+@[\w-]+\.[\w.-]+$")),
    ("URLs", re.compile(r"^(https?://|www\.)\S+$", re.I)),
    ("IP addresses", re.compile(r"^(\d{1,3}\.){3}\d{1,3}$")),
    ("social security numbers", re.compile(r"^\d{3}-\d{2}-\d{4}$")),
    ("phone numbers", re.compile(
        r"^\+?\(?\d{1,4}\)?[\s.-]?\(?\d{2,4}\)?[\s.-]\d{3,4}[\s.-]?\d{3,4}$")),
    ("street addresses", re.compile(
        r"^\d{1,5}\s+\w+(\s\w+)*\s(street|st|avenue|ave|road|rd|lane|ln|drive|dr|boulevard|blvd"
        r"|court|ct|way|place|pl)\.?$", re.I)),
    ("calendar dates", re.compile(
        r"^(\d{4}-\d{1,2}-\d{1,2}([ T]\d{1,2}:\d{2}(:\d{2})?)?|\d{1,2}[./-]\d{1,2}[./-]\d{2,4})$")),
]  # fmt: skip
_VALUE_SHARE = 0.3  # flag a column when at least this share of its non-empty values match
_RECORD_NUMBER = re.compile(r"^(\d{7,}|\d{3}-\d{2}-\d{4}|\d{3} ?\d{3} ?\d{4})$")


@dataclass(frozen=True)
class Flag:
    column: str
    reason: str
    is_date: bool = False


def _key(name: str) -> str:
    return re.sub(r"[\s\-]+", "_", str(name).strip()).casefold()


def scan(frame: pd.DataFrame, id_column: str | None = None, sample: int = 2000) -> list[Flag]:
    """Columns that look like direct identifiers, with the reason for each."""
    flags: list[Flag] = []
    for column in frame.columns:
        if column == id_column:
            continue
        key = _key(column)
        hit = next((reason for reason, rule in _NAME_RULES if rule.search(key)), None)
        if hit:
            flags.append(Flag(column, f"its name suggests {hit}", hit == "a calendar date"))
            continue
        cells = frame[column].head(sample)
        if pd.api.types.is_numeric_dtype(cells):
            continue
        text = cells.astype(str).str.strip()
        text = text[text.ne("") & ~text.str.casefold().isin({"nan", "none", "na", "n/a"})]
        if text.empty:
            continue
        for reason, rule in _VALUE_RULES:
            share = text.str.match(rule).mean()
            if share >= _VALUE_SHARE:
                flags.append(
                    Flag(column, f"{share:.0%} of its values look like {reason}",
                         reason == "calendar dates")
                )  # fmt: skip
                break
    return flags


def record_number_ids(ids: pd.Series) -> int:
    """How many distinct patient IDs look like real record numbers (7+ digits, SSN or phone
    shapes). Checked once per distinct ID: a long file repeats each ID on many rows."""
    distinct = pd.Series(pd.unique(ids), dtype=object).astype(str).str.strip().drop_duplicates()
    return int(distinct.str.match(_RECORD_NUMBER).sum())


def dates_to_days(
    frame: pd.DataFrame, id_column: str, date_columns: list[str], treatment_column: str
) -> tuple[pd.DataFrame, list[str]]:
    """Replace calendar dates by days since each patient's treatment date; drop the dates.

    Returns the new frame and notes. The first date column that is not the treatment date
    becomes ``day`` (days since treatment); other date columns become ``<name>_day``."""
    notes = []
    treatment = pd.to_datetime(frame[treatment_column], errors="coerce", dayfirst=False)
    per_patient = treatment.groupby(frame[id_column], observed=True).transform("first")
    result = frame.drop(columns=date_columns)
    others = [c for c in date_columns if c != treatment_column]
    for i, column in enumerate(others):
        dates = pd.to_datetime(frame[column], errors="coerce")
        days = (dates - per_patient).dt.days
        name = "day" if i == 0 and "day" not in result.columns else f"{column}_day"
        result[name] = days.astype("Float64").astype(object).where(days.notna(), "")
        unreadable = int((dates.isna() & frame[column].astype(str).str.strip().ne("")).sum())
        notes.append(
            f"{column!r} became {name!r} (days since {treatment_column!r})"
            + (f"; {unreadable} value(s) could not be read as dates" if unreadable else "")
        )
    notes.append(f"The calendar dates themselves were removed: {', '.join(date_columns)}.")
    return result, notes


def treatment_date_column(date_columns: list[str]) -> str | None:
    """The date column that records treatment (injection, infusion, procedure), if any."""
    for column in date_columns:
        if re.search(r"treat|inject|infus|transplant|procedure|implant|dosing", _key(column)):
            return column
    return None
