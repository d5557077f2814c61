"""Safety: adverse events per arm (summary, special interest, body system and term, severity,
exposure-adjusted rates), from an AE table uploaded beside the scores."""

import hashlib

import pandas as pd
import streamlit as st

from analysis.ingest.adverse_events import (
    DEMO_AE_NAME,
    DEMO_AE_PATH,
    AELoadResult,
    map_columns,
    read_adverse_events,
)
from analysis.ingest.dataset import Dataset
from analysis.ingest.findings import ROW_CONVENTION
from analysis.present.figures_safety import aesi_figure
from analysis.present.safety_tables import (
    CELL_NOTE,
    DIFFERENCE_NOTE,
    RULES_HELP,
    aesi_display,
    aesi_numeric,
    by_term_display,
    by_term_numeric,
    rates_display,
    rates_numeric,
    rules_display,
    rules_from_editor,
    safety_methods,
    severity_display,
    severity_numeric,
    summary_display,
    summary_numeric,
)
from analysis.stats.adverse_events import (
    AesiRule,
    SafetyTables,
    rules_from_table,
    safety_tables,
)
from analysis.stats.arms import ArmDesign
from analysis.stats.cohort import SMALL_GROUP_DEFAULT
from ui import url
from ui.entry import ensure_entry
from ui.render import chart, table
from ui.safe import md
from ui.state import arm_design, dataset_fingerprint, require_dataset

ensure_entry()

AE_DEMO = "Demo adverse events (synthetic)"
AE_UPLOAD = "Upload an adverse-event file"
AE_SHEET = "A sheet of the outcome workbook"
AE_HELP = (
    "One row per adverse event: patient_id, term, and optionally category (body system), "
    "start_day, end_day (days since treatment), severity (mild/moderate/severe) or grade "
    "(1-5), serious (yes/no), related (cells / procedure / not related / unknown), outcome, "
    "action. REDCap repeating-instrument exports and ADaM ADAE datasets (AEDECOD, AEBODSYS, "
    "AESEV/AETOXGR, AESER, AEREL, ASTDY) are recognised. CSV, XLSX or Parquet. The file stays "
    "in this session's memory only; it is never written to disk."
)


@st.cache_resource(show_spinner="Reading and checking the adverse events…", max_entries=8,
                   ttl=3600)  # fmt: skip
def _read(
    _data: bytes,
    digest: str,
    name: str,
    sheet: str | None,
    patients: tuple[str, ...],
    drop: tuple[str, ...],
    synthetic: bool,
) -> AELoadResult:
    """read_adverse_events once per content and choices (keyed by the content's SHA-256)."""
    return read_adverse_events(
        _data, name, patients=patients, sheet=sheet, drop_columns=list(drop) or None,
        synthetic=synthetic,
    )  # fmt: skip


@st.cache_data(show_spinner="Counting adverse events…", max_entries=32, ttl=3600,
               hash_funcs={Dataset: dataset_fingerprint})  # fmt: skip
def _tables(
    dataset: Dataset, design: ArmDesign, _result: AELoadResult, key: str, rules: tuple
) -> SafetyTables:
    """safety_tables per cohort, design, AE table (``key``) and matching rules."""
    assert _result.table is not None
    return safety_tables(dataset, design, _result.table, [AesiRule(*r) for r in rules])


st.title("Safety")
dataset = require_dataset()
design = arm_design()
full = st.session_state["load"].dataset  # every patient of the file, before the cohort filter
known = tuple(str(p) for p in (full or dataset).patients)

options = [AE_UPLOAD]
if dataset.synthetic:
    options.insert(0, AE_DEMO)
outcome_upload = st.session_state.get("upload")
workbook = (
    outcome_upload is not None
    and st.session_state.get("source") == "Upload a file"
    and outcome_upload.getvalue()[:4] == b"PK\x03\x04"
)
if workbook:
    options.append(AE_SHEET)
source = st.radio("Adverse-event table", options, horizontal=True, key="ae_source")
data: bytes | None = None
name, synthetic, sheet = "", False, None
if source == AE_DEMO:
    data, name, synthetic = DEMO_AE_PATH.read_bytes(), DEMO_AE_NAME, True
elif source == AE_SHEET and outcome_upload is not None:
    data, name = outcome_upload.getvalue(), outcome_upload.name
else:
    upload = st.file_uploader("Adverse-event file", key="ae_upload", help=AE_HELP)
    if upload is not None:
        data, name = upload.getvalue(), upload.name
if data is None:
    st.info(
        "Upload the adverse-event table (one row per event) to see the safety tables. " + AE_HELP
    )
    st.stop()

digest = hashlib.sha256(data).hexdigest()
fingerprint = digest[:16]
drop = tuple(st.session_state.get(f"ae_drop::{fingerprint}", ()))
if source == AE_SHEET:
    sheets = _read(data, digest, name, None, known, drop, synthetic).sheets
    sheet = st.selectbox("Sheet with the adverse events", sheets, index=min(1, len(sheets) - 1),
                         key=f"ae_sheet::{fingerprint}")  # fmt: skip
result = _read(data, digest, name, sheet, known, drop, synthetic)
report = result.report
if result.table is None:
    st.error("The adverse-event table cannot be used. What is wrong and where:")
    for finding in report.errors:
        st.error(md(finding.message))
    locations = report.locations_table()
    if len(locations):
        st.caption(ROW_CONVENTION)
        st.dataframe(locations, hide_index=True, width="stretch")
    flagged = [c for c in result.identifier_columns if c not in drop]
    # Columns the analysis needs (patient, term) cannot be dropped: their cells must be fixed.
    droppable = [c for c in flagged if not set(map_columns([c])) & {"patient_id", "term"}]
    if droppable and st.button(
        "Drop " + ", ".join(droppable) + " and load", key=f"ae_drop_button::{fingerprint}"
    ):
        st.session_state[f"ae_drop::{fingerprint}"] = drop + tuple(droppable)
        st.rerun()
    st.stop()

ae = result.table
st.session_state["adverse_events"] = ae  # the Patient page's timeline reads it
if ae.synthetic:
    st.caption("Synthetic adverse events of the synthetic demo patients: not real patients.")
st.markdown(
    f"**{md(ae.source_name)}** ({md(ae.source_format)}): {ae.n_events} adverse events kept; "
    f"{len(report.warnings)} warning(s)."
)
if report.warnings or report.notes:
    with st.expander(f"Checks of the adverse-event table ({len(report.warnings)} warning(s))"):
        for finding in report.warnings:
            st.warning(md(finding.message))
        for finding in report.notes:
            st.info(md(finding.message))
        locations = report.locations_table()
        if len(locations):
            st.caption(ROW_CONVENTION)
            st.dataframe(locations, hide_index=True, width="stretch")

settings = st.columns([1, 2])
show_small = url.toggle(settings[0], "Show small groups anyway", "show_small", "small")
min_cell = int(st.session_state.get("min_group", SMALL_GROUP_DEFAULT))
settings[1].caption(
    f"Counts of 1 to {min_cell - 1} patients or events in an arm are shown as <{min_cell} "
    "(small-cell suppression; the threshold is set on the Cohort explorer), with the "
    "percentages and differences that would give them back."
    if not show_small
    else "Small cells are shown: do not share these tables outside the study team."
)

# Laid out first, filled once the tables are counted: the rules editor sits under the
# special-interest table it changes, but its rules are needed to count every table.
metrics_box = st.container()
st.subheader("Summary")
summary_box = st.container()
st.subheader("Adverse events of special interest")
aesi_box = st.container()
with st.expander("Matching rules for the events of special interest (editable)"):
    st.caption(RULES_HELP)
    edited = st.data_editor(
        rules_display(), num_rows="dynamic", hide_index=True, width="stretch", key="aesi_rules"
    )
    rules, problems = rules_from_table(rules_from_editor(pd.DataFrame(edited)))
    for problem in problems:
        st.error(md(problem))

rule_key = tuple((r.name, r.pattern, r.exclude, r.why) for r in rules)
tables = _tables(dataset, design, result, f"{digest}|{sheet}|{drop}", rule_key)
with metrics_box:
    columns = st.columns(len(tables.arms) + 1)
    for column, arm in zip(columns, tables.arms, strict=False):
        column.metric(
            f"{arm}: patients at risk",
            tables.n_at_risk[arm],
            help=f"{tables.patient_years[arm]:.1f} patient-years of follow-up.",
        )
    columns[-1].metric("Adverse events counted", len(tables.events))
    if tables.n_events_outside:
        st.caption(
            f"{tables.n_events_outside} adverse event(s) belong to patients outside the cohort "
            "filter (or without an arm) and are not counted here."
        )
exports = {
    "adverse_event_source": ae.source_name,
    "adverse_event_layout": ae.source_format,
    "adverse_event_sha256": digest,
    "adverse_event_sheet": sheet or "",
    "synthetic_adverse_events": ae.synthetic,
    "severity_scale": tables.scale,
    "patients_at_risk": tables.n_at_risk,
    "patient_years": tables.patient_years,
    "small_cells_suppressed": not show_small,
    "min_cell": min_cell,
    "aesi_rules": [f"{r.name}: {r.pattern}" + (f" (except {r.exclude})" if r.exclude else "")
                   for r in tables.rules],
}  # fmt: skip
with summary_box:
    table(summary_display(tables, show_small, min_cell), "safety_summary",
          numeric=summary_numeric(tables, show_small, min_cell), provenance=exports)  # fmt: skip
    st.caption(CELL_NOTE + " Differences: " + DIFFERENCE_NOTE)
with aesi_box:
    table(aesi_display(tables, show_small, min_cell), "safety_special_interest",
          numeric=aesi_numeric(tables, show_small, min_cell), provenance=exports)  # fmt: skip
    chart(aesi_figure(tables, show_small, min_cell), "safety_special_interest")
st.subheader("By body system and term")
table(by_term_display(tables, show_small, min_cell), "safety_by_term",
      numeric=by_term_numeric(tables, show_small, min_cell), provenance=exports)  # fmt: skip
st.caption(CELL_NOTE)
st.subheader(f"By maximum {tables.scale}")
table(severity_display(tables, show_small, min_cell), "safety_by_maximum_severity",
      numeric=severity_numeric(tables, show_small, min_cell), provenance=exports)  # fmt: skip
st.caption("Each patient counted once, at the worst severity among their adverse events.")
st.subheader("Exposure-adjusted event rates (per 100 patient-years)")
table(rates_display(tables, show_small, min_cell), "safety_rates",
      numeric=rates_numeric(tables, show_small, min_cell), provenance=exports)  # fmt: skip
st.caption(md(safety_methods(tables)))
