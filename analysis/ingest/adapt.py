"""Recognising REDCap longitudinal exports and CDISC ADaM BDS datasets, and reshaping them
into the canonical long layout (patient_id, visit, [day,] outcome, value, attributes...).

REDCap (flat CSV export): ``record_id`` and ``redcap_event_name`` identify the patient and
event; event names map to visits by default as "month_6_arm_1" -> "month 6" (editable);
rows of repeating instruments and the ``*_complete`` form-status fields are set aside and
counted; ``redcap_data_access_group`` becomes the attribute ``site``. A numeric field is an
outcome when it is a registry code or takes values at two or more events for a record;
other fields are per-patient attributes.

ADaM BDS (CDISC ADaM IG v1.3): USUBJID, PARAMCD (or PARAM), AVISIT (ordered by AVISITN),
AVAL, optional ADY (day), ABLFL = "Y" marks the baseline visit. Derived records (DTYPE set)
and records not flagged for analysis (ANL01FL present but not "Y") are set aside; BASE and
CHG are recomputed from AVAL. Other columns (for example TRT01P, SEX, AGEGR1) are attributes.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from analysis.instruments import REGISTRY

REDCAP_KEYS = ("record_id", "redcap_event_name")
ADAM_KEYS = ("usubjid", "avisit", "aval")
_ADAM_STRUCTURAL = {
    "studyid", "usubjid", "subjid", "paramcd", "param", "paramn", "avisit", "avisitn", "aval",
    "avalc", "ablfl", "base", "chg", "pchg", "ady", "adt", "adtm", "aseq", "dtype",
    "anl01fl", "anl02fl", "parcat1", "parcat2", "avalu", "basetype", "atpt", "atptn", "srcdom",
    "srcvar", "srcseq", "crit1", "crit1fl", "visit", "visitnum",
}  # fmt: skip


@dataclass
class Adapted:
    """A table in the long layout, with what adapting it noted."""

    kind: str  # "redcap", "adam" or "" (nothing to adapt)
    frame: pd.DataFrame
    notes: list[str] = field(default_factory=list)
    event_map: dict[str, str] = field(default_factory=dict)  # REDCap event -> visit
    visit_order: list[str] | None = None
    baseline: str | None = None


def _keys(frame: pd.DataFrame) -> dict[str, str]:
    return {str(c).strip().casefold(): c for c in frame.columns}


def detect(frame: pd.DataFrame) -> str:
    """ "redcap", "adam" or "" (neither) from the table's column names."""
    keys = _keys(frame)
    if all(k in keys for k in REDCAP_KEYS):
        return "redcap"
    if all(k in keys for k in ADAM_KEYS) and ("paramcd" in keys or "param" in keys):
        return "adam"
    return ""


def default_event_label(event: str) -> str:
    """'month_6_arm_1' -> 'month 6'; 'baseline_arm_2' -> 'baseline'."""
    label = re.sub(r"_arm_\d+[a-z]?$", "", str(event).strip(), flags=re.I)
    return re.sub(r"_+", " ", label).strip() or str(event)


def adapt(
    frame: pd.DataFrame, event_map: Mapping[str, str] | None, source_rows: np.ndarray
) -> Adapted:
    """Stage 2 of ingest: a REDCap or ADaM table reshaped to the long layout (any other table
    as it is); ``source_rows`` is each row's spreadsheet row (RawTable.row_numbers())."""
    kind = detect(frame)
    if kind not in ("redcap", "adam"):
        return Adapted("", frame)
    rows = _plain_text(frame).assign(_source_row=source_rows)
    if kind == "redcap":
        return _from_redcap(rows, event_map or {})
    return _from_adam(rows)


def _plain_text(frame: pd.DataFrame) -> pd.DataFrame:
    """Categorical columns (text read as dictionaries from CSV or Parquet) as plain text: the
    adapters reshape and fill cells with values a categorical does not list, which pandas 2.x
    refuses. REDCap and ADaM exports are study-sized, so the copy is cheap."""
    categorical = [c for c in frame.columns if isinstance(frame[c].dtype, pd.CategoricalDtype)]
    if not categorical:
        return frame
    return frame.astype({c: object for c in categorical})


def _blank(values: pd.Series) -> pd.Series:
    return values.astype(str).str.strip().isin({"", "nan", "None", "<NA>"})


def _from_redcap(rows: pd.DataFrame, event_map: Mapping[str, str]) -> Adapted:
    keys = _keys(rows)
    record, event = keys["record_id"], keys["redcap_event_name"]
    notes = ["Recognised a REDCap longitudinal export."]
    repeat = keys.get("redcap_repeat_instrument")
    if repeat is not None:
        repeating = ~_blank(rows[repeat])
        if repeating.any():
            notes.append(
                f"{int(repeating.sum())} row(s) of repeating instruments were set aside "
                "(they are not visit scores)."
            )
        rows = rows.loc[~repeating]
    status = [c for c in rows.columns if str(c).casefold().endswith("_complete")]
    if status:
        notes.append("Form-status fields were set aside: " + ", ".join(map(str, status)) + ".")
    skip = {record, event, repeat, keys.get("redcap_repeat_instance"), *status, "_source_row"}
    dag = keys.get("redcap_data_access_group")
    events = list(dict.fromkeys(rows[event].astype(str)))
    mapping = {e: event_map.get(e) or default_event_label(e) for e in events}
    fields = [c for c in rows.columns if c not in skip and c != dag]
    outcomes, attributes = [], []
    for column in fields:
        values = pd.to_numeric(
            rows[column].astype(str).str.replace(",", ".", regex=False), errors="coerce"
        )
        filled = ~_blank(rows[column])
        events_per_record = rows.loc[filled].groupby(record, observed=True)[event].nunique()
        numeric = values[filled].notna().mean() >= 0.5 if filled.any() else False
        repeated = bool((events_per_record >= 2).any())
        if str(column).strip().casefold() in REGISTRY or (numeric and repeated):
            outcomes.append(column)
        else:
            attributes.append(column)
    parts = []
    for column in outcomes:
        part = pd.DataFrame(
            {
                "patient_id": rows[record].astype(str),
                "visit": rows[event].astype(str).map(mapping),
                "outcome": str(column),
                "value": rows[column],
                "_source_row": rows["_source_row"],
                "_source_column": str(column),
            }
        )
        parts.append(part.loc[~_blank(part["value"])])
    long = pd.concat(parts, ignore_index=True) if parts else pd.DataFrame(
        columns=["patient_id", "visit", "outcome", "value", "_source_row", "_source_column"]
    )  # fmt: skip
    per_event = rows.set_index([rows[record].astype(str), rows[event].astype(str).map(mapping)])
    for column in attributes:
        lookup = per_event[column].astype(str).where(~_blank(per_event[column]), "")
        first = lookup[lookup.ne("")].groupby(level=0, observed=True).first()
        # Event-level fields (e.g. visit dates) keep their event's value; others are per patient.
        by_event = lookup[lookup.ne("")]
        by_event = by_event[~by_event.index.duplicated()]
        keyed = pd.MultiIndex.from_arrays([long["patient_id"], long["visit"]])
        value = pd.Series(by_event.reindex(keyed).to_numpy(), index=long.index)
        value = value.where(value.notna(), long["patient_id"].map(first))
        long[str(column)] = value.where(value.notna(), "")
    if dag is not None:
        sites = rows.groupby(rows[record].astype(str), observed=True)[dag].first()
        long["site"] = long["patient_id"].map(sites).fillna("")
        notes.append("The data access group became the attribute 'site'.")
    notes.append(
        "Events became visits: " + "; ".join(f"{e} → {v}" for e, v in mapping.items()) + "."
    )
    return Adapted("redcap", long.reset_index(drop=True), notes, mapping)


def _from_adam(rows: pd.DataFrame) -> Adapted:
    keys = _keys(rows)
    notes = ["Recognised a CDISC ADaM BDS dataset."]
    if "dtype" in keys:
        derived = ~_blank(rows[keys["dtype"]])
        if derived.any():
            notes.append(f"{int(derived.sum())} derived record(s) (DTYPE set) were set aside.")
        rows = rows.loc[~derived]
    if "anl01fl" in keys:
        flagged = rows[keys["anl01fl"]].astype(str).str.strip().str.upper().eq("Y")
        if (~flagged).any():
            notes.append(f"{int((~flagged).sum())} record(s) without ANL01FL = 'Y' were set aside.")
        rows = rows.loc[flagged]
    param = keys.get("paramcd") or keys["param"]
    long = pd.DataFrame(
        {
            "patient_id": rows[keys["usubjid"]].astype(str).str.strip(),
            "visit": rows[keys["avisit"]].astype(str).str.strip(),
            "outcome": rows[param].astype(str).str.strip().str.lower(),
            "value": rows[keys["aval"]],
            "_source_row": rows["_source_row"],
            "_source_column": str(keys["aval"]),
        }
    )
    if "ady" in keys:
        long["day"] = rows[keys["ady"]]
    order = None
    if "avisitn" in keys:
        ranks = pd.to_numeric(rows[keys["avisitn"]], errors="coerce")
        by_visit = ranks.groupby(long["visit"], observed=True).median().sort_values()
        if by_visit.notna().all():
            order = list(by_visit.index)
    baseline = None
    if "ablfl" in keys:
        flagged = rows[keys["ablfl"]].astype(str).str.strip().str.upper().eq("Y")
        if flagged.any():
            baseline = long.loc[flagged, "visit"].mode().iloc[0]
            notes.append(f"ABLFL = 'Y' marks the baseline visit: {baseline!r}.")
    if "base" in keys or "chg" in keys:
        notes.append("BASE and CHG were recomputed from AVAL (the file's values are not used).")
    for key, column in keys.items():
        if key not in _ADAM_STRUCTURAL and column != "_source_row":
            long[str(column)] = rows[column].to_numpy()
    return Adapted("adam", long.reset_index(drop=True), notes, visit_order=order, baseline=baseline)
