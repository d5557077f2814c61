"""The data source in the sidebar, cached loading and cached analysis calls."""

from __future__ import annotations

import argparse
import hashlib
import os
import sys
from dataclasses import replace
from pathlib import Path
from typing import TYPE_CHECKING

import pandas as pd
import streamlit as st

from analysis.ingest.dataset import Dataset
from analysis.ingest.pipeline import DEMO_NAME, DEMO_PATH, LoadResult, load_bytes
from analysis.present.visit_axis import VisitAxis, visit_axis
from analysis.present.wording import SYNTHETIC_BANNER
from analysis.stats.arms import ArmDesign
from analysis.stats.cohort import describe
from ui import registry, url
from ui.filters import cohort_sidebar
from ui.safe import md

if TYPE_CHECKING:
    from collections.abc import Iterable

    from analysis.ingest.adverse_events import AdverseEvents
    from analysis.instruments import Direction
    from analysis.stats.arms import ArmComparison, ArmResponders
    from analysis.stats.compare import Comparison
    from analysis.stats.imputation import SensitivityResult
    from analysis.stats.longitudinal import MMRMSpec, OutcomeModel
    from analysis.stats.missingness import MissingnessSummary
    from analysis.stats.patient import PatientProfile
    from analysis.stats.responders import ResponderAnalysis

# The analyses are imported inside the cached functions that run them: scipy.stats, the MMRM,
# multiple imputation and the SQL source (sqlalchemy, sqlglot) cost about 1.5 s to import, and
# the Overview's first chart needs none of them (tests/ui/test_cold_start.py).

SOURCE_DEMO = "Demo cohort (synthetic)"
SOURCE_UPLOAD = "Upload a file"
SOURCE_START = "File given at start"
SOURCE_DATABASE = "Database (SQL)"
COHORT_HELP = "Set in the sidebar under Cohort filter; the page link keeps it."
UPLOAD_HELP = (
    "CSV (any delimiter; UTF-8, UTF-16 or Latin-1; decimal commas are fine), XLSX or Parquet. "
    "Long layout: patient_id, visit, [day,] outcome, value. Wide layout: patient_id plus one "
    "column per score named <outcome>__<visit>, e.g. pain_nrs__baseline. "
    "For registries (tens of thousands of patients) export Parquet or CSV: Parquet loads "
    "about twice as fast as CSV and is several times smaller. "
    "The file stays in this session's memory only; it is never written to disk."
)


def start_file() -> Path | None:
    """A file named at start: `streamlit run dashboard.py -- --data FILE` or OUTCOMES_DATA."""
    parser = argparse.ArgumentParser(add_help=False)
    parser.add_argument("--data")
    known, _ = parser.parse_known_args(sys.argv[1:])
    value = known.data or os.environ.get("OUTCOMES_DATA")
    return Path(value) if value else None


@st.cache_resource(show_spinner="Reading and checking the data…", max_entries=8, ttl=3600)
def _load(
    _data: bytes,
    digest: str,
    name: str,
    sheet: str | None,
    drop: tuple[str, ...],
    convert_dates: bool,
    events: tuple[tuple[str, str], ...],
    synthetic: bool,
    visits: tuple[tuple[str, str], ...] = (),
) -> LoadResult:
    """Read and validate once per content and choices. Keyed by the content's SHA-256 (not
    by hashing the bytes again on every rerun) and kept as one shared, never-modified object
    (cache_resource): copying a registry-sized cohort on each rerun would cost more than
    the page. Only a session holding the same bytes can reach it."""
    return load_bytes(
        _data,
        name,
        sheet=sheet,
        drop_columns=list(drop) or None,
        convert_dates=convert_dates,
        event_map=dict(events) or None,
        visit_map=dict(visits) or None,
        synthetic=synthetic,
    )


def _linked_upload() -> tuple[str, str] | None:
    """(fingerprint, name) of the uploaded file a link was made on, if the link names one."""
    fingerprint = st.query_params.get("src")
    if not fingerprint:
        return None
    return str(fingerprint), str(st.query_params.get("src_name", "an uploaded file"))


def data_source_sidebar() -> None:
    """Render the data-source controls and put the loaded cohort in session state."""
    sidebar = st.sidebar
    sidebar.header("Data")
    options = [SOURCE_DEMO, SOURCE_UPLOAD, SOURCE_DATABASE]
    if registry.registry_url() is not None:  # named by the administrator, never typed here
        options.append(registry.SOURCE_REGISTRY)
    start = start_file()
    if start is not None:
        options.insert(0, SOURCE_START)
    linked = _linked_upload()
    if linked is not None and "source" not in st.session_state:
        # A link made on an uploaded file opens on the upload box, never silently on the demo.
        st.session_state["source"] = SOURCE_UPLOAD
    registry_linked = st.query_params.get("source") == "registry"
    if registry_linked and registry.SOURCE_REGISTRY in options and "source" not in st.session_state:
        st.session_state["source"] = registry.SOURCE_REGISTRY  # a link made on the registry
    choice = sidebar.radio("Data source", options, key="source")
    if choice == registry.SOURCE_REGISTRY:
        st.query_params["source"] = "registry"
    elif "source" in st.query_params:
        del st.query_params["source"]
    data: bytes | None = None
    name = ""
    synthetic = False
    if choice == SOURCE_DEMO:
        data, name, synthetic = DEMO_PATH.read_bytes(), DEMO_NAME, True
    elif choice == SOURCE_START and start is not None:
        try:
            data, name = start.read_bytes(), start.name
        except OSError as exc:
            sidebar.error(f"Cannot open the start file: {md(exc.strerror or exc)}")
    elif choice == registry.SOURCE_REGISTRY:
        data, name = registry.registry_sidebar(sidebar)
    elif choice == SOURCE_DATABASE:
        from ui.database import database_source  # sqlalchemy and sqlglot: only for SQL

        data, name = database_source(sidebar)
    else:
        upload = sidebar.file_uploader("Outcome file", key="upload", help=UPLOAD_HELP)
        if upload is not None:
            data, name = upload.getvalue(), upload.name
    digest = hashlib.sha256(data).hexdigest() if data is not None else ""  # once per rerun
    if linked is not None and digest[:12] != linked[0]:
        st.warning(
            f"This link was made on an uploaded file, {md(linked[1])}, fingerprint "
            f"{md(linked[0])}. Upload it again to see the same view.",
            icon=":material/link_off:",
        )
    if data is None:
        st.session_state["load"] = None
        st.session_state["dataset"] = None
        return
    if choice == SOURCE_UPLOAD:
        st.query_params["src"] = digest[:12]
        st.query_params["src_name"] = name
    else:
        for param in ("src", "src_name"):
            if param in st.query_params:
                del st.query_params[param]

    fingerprint = digest[:16]
    st.session_state["source_sha256"] = digest
    drop_key, dates_key = f"drop::{fingerprint}", f"dates::{fingerprint}"
    drop = tuple(st.session_state.get(drop_key, ()))
    convert = bool(st.session_state.get(dates_key, False))
    sheet = st.session_state.get(f"sheet::{fingerprint}")
    events_key = f"events::{fingerprint}"
    events = tuple(st.session_state.get(events_key, {}).items())
    visits_key = f"visits::{fingerprint}"
    visits = tuple(st.session_state.get(visits_key, {}).items())
    result = _load(data, digest, name, sheet, drop, convert, events, synthetic, visits)
    load_key = f"{digest}|{name}|{sheet}|{drop}|{convert}|{events}|{synthetic}|{visits}"
    if len(result.sheets) > 1:
        sidebar.selectbox("Sheet", result.sheets, key=f"sheet::{fingerprint}")
    if result.identifier_columns:
        sidebar.error("This file has identifier columns and was not loaded (details on the page).")
        flagged = tuple(result.identifier_columns)
        if sidebar.button("Drop those columns and load", key="drop_identifiers"):
            st.session_state[drop_key] = drop + flagged
            st.rerun()
        if result.can_convert_dates and sidebar.button(
            "Turn dates into days since treatment, drop the rest", key="convert_dates"
        ):
            others = tuple(c for c in flagged if c not in result.date_columns)
            st.session_state[drop_key] = drop + others
            st.session_state[dates_key] = True
            st.rerun()
    dataset = result.dataset
    if dataset is not None and dataset.event_map:
        from ui.database import event_map_editor

        event_map_editor(sidebar, dataset.event_map, events_key)
    if dataset is not None:
        visit_map_editor(sidebar, dataset, visits_key)
    if dataset is not None:
        baseline = url.selectbox(
            sidebar, "Baseline visit", dataset.visits, f"baseline::{fingerprint}", "baseline",
            dataset.visits.index(dataset.baseline),
            help="Detected from the visit labels and days; change it if the detection is wrong.",
        )  # fmt: skip
        dataset = dataset.with_baseline(baseline)
        sidebar.caption(
            f"{dataset.n_patients} patients · {len(dataset.visits)} visits · "
            f"{len(dataset.outcomes)} outcomes"
        )
        n_total = dataset.n_patients
        loaded = hashlib.sha256(f"{load_key}|{baseline}".encode()).hexdigest()
        dataset, cohort = cohort_sidebar(replace(dataset, fingerprint=loaded), fingerprint)
        st.session_state["cohort_sentence"] = describe(cohort, dataset.n_patients, n_total)
        st.session_state["cohort"] = cohort
        # A shallow copy (no table is copied) carrying what this cohort is: every load option,
        # the baseline and the filter. Cached analyses are keyed by it.
        spec = f"{load_key}|{baseline}|{cohort.key()}"
        dataset = replace(dataset, fingerprint=hashlib.sha256(spec.encode()).hexdigest())
        from ui.arms import arm_design_sidebar  # ui.arms imports this module

        arm_design_sidebar(dataset, fingerprint)
    if synthetic:
        sidebar.info("Synthetic demo data: not real patients.")
    sidebar.radio(
        "Charts download as",
        ["PNG", "SVG"],
        horizontal=True,
        key="chart_format",
        help="The camera button in each chart's toolbar saves it in this format.",
    )
    st.session_state["load"] = result
    st.session_state["dataset"] = dataset


def require_dataset() -> Dataset:
    """The loaded cohort, or a clear message (and stop) when there is none."""
    result: LoadResult | None = st.session_state.get("load")
    dataset: Dataset | None = st.session_state.get("dataset")
    if result is None:
        cohort = registry.engine_cohort()
        if cohort is not None:  # a registry summarised in place: rows only when asked
            registry.offer_rows(cohort)
            st.stop()
        st.info("Choose the demo cohort or upload a file in the sidebar to begin.")
        st.stop()
    if dataset is None:
        st.error("The data cannot be used. What is wrong and where:")
        for finding in result.report.errors:
            st.error(md(finding.message))
        st.stop()
    if dataset.synthetic:
        st.info(SYNTHETIC_BANNER, icon=":material/science:")
    st.caption(md(st.session_state.get("cohort_sentence", "")), help=COHORT_HELP)
    notes = st.session_state.pop("filter_notes", None)
    if notes:
        st.info("Some filter settings in the link were ignored: " + md("; ".join(notes)) + ".")
    if dataset.n_patients == 0:
        st.warning("No patient matches the cohort filter. Widen it in the sidebar.")
        st.stop()
    return dataset


def directions() -> dict[str, str]:
    """Directions of improvement the user set for outcomes the registry does not know."""
    return st.session_state.setdefault("directions", {})


def dataset_fingerprint(dataset: Dataset) -> str:
    """What st.cache_data hashes for a Dataset argument: its fingerprint (load specification,
    baseline and cohort filter), or its content when it was built without one (tests)."""
    if dataset.fingerprint:
        return dataset.fingerprint
    content = pd.util.hash_pandas_object(dataset.long, index=False).to_numpy()
    return hashlib.sha256(
        content.tobytes() + repr((dataset.visits, dataset.baseline)).encode()
    ).hexdigest()


# Every cached analysis is keyed by the dataset's fingerprint plus its plain arguments; entries
# expire after an hour so a long-running server does not keep old cohorts' results.
_CACHE_OPTIONS: dict = {"hash_funcs": {Dataset: dataset_fingerprint}, "ttl": 3600}


@st.cache_data(show_spinner=False, max_entries=256, **_CACHE_OPTIONS)
def cached_compare(
    dataset: Dataset, outcome: str, before: str, after: str, direction: Direction | None
) -> Comparison:
    """compare_visits, cached per cohort and choice."""
    from analysis.stats.compare import compare_visits

    return compare_visits(dataset, outcome, before, after, direction)


@st.cache_data(show_spinner="Summarising every outcome…", max_entries=32, **_CACHE_OPTIONS)
def cached_summary(dataset: Dataset, directions_items: tuple) -> pd.DataFrame:
    """cohort_summary, cached per cohort and user-set directions."""
    from analysis.stats.summary import cohort_summary

    return cohort_summary(dataset, dict(directions_items))


@st.cache_data(show_spinner=False, max_entries=128, **_CACHE_OPTIONS)
def cached_responders(
    dataset: Dataset, outcome: str, visit: str, direction: Direction | None
) -> ResponderAnalysis:
    """responder_analysis, cached per cohort and choice."""
    from analysis.stats.responders import responder_analysis

    return responder_analysis(dataset, outcome, visit, direction)


@st.cache_data(show_spinner=False, max_entries=64, **_CACHE_OPTIONS)
def cached_patient(dataset: Dataset, patient_id: str) -> PatientProfile:
    """patient_profile, cached per cohort and patient."""
    from analysis.stats.patient import patient_profile

    return patient_profile(dataset, patient_id)


@st.cache_data(show_spinner="Building the report…", max_entries=16, **_CACHE_OPTIONS)
def cached_report(
    dataset: Dataset, design: ArmDesign, outcome: str, visit: str, sentence: str, digest: str
) -> str:
    """The HTML report, cached per cohort, outcome and visit."""
    from analysis.present.report import ReportInput, build_report  # only the Report page

    return build_report(ReportInput(dataset, outcome, visit, digest, sentence, design))


def arm_design() -> ArmDesign:
    """The arm design chosen in the sidebar (no arms when there is no dataset)."""
    design = st.session_state.get("arm_design")
    return design if isinstance(design, ArmDesign) else ArmDesign(None)


@st.cache_data(show_spinner=False, max_entries=128, **_CACHE_OPTIONS)
def cached_compare_by_arm(
    dataset: Dataset,
    design: ArmDesign,
    outcome: str,
    before: str,
    after: str,
    direction: Direction | None,
) -> ArmComparison:
    """compare_by_arm, cached per cohort, design and choice."""
    from analysis.stats.arms import compare_by_arm

    return compare_by_arm(dataset, design, outcome, before, after, direction)


@st.cache_data(show_spinner=False, max_entries=128, **_CACHE_OPTIONS)
def cached_responders_by_arm(
    dataset: Dataset, design: ArmDesign, outcome: str, visit: str, direction: Direction | None
) -> ArmResponders:
    """responders_by_arm, cached per cohort, design and choice."""
    from analysis.stats.arms import responders_by_arm

    return responders_by_arm(dataset, design, outcome, visit, direction)


@st.cache_data(show_spinner="Summarising every outcome in each arm…", max_entries=32,
               **_CACHE_OPTIONS)  # fmt: skip
def cached_summary_by_arm(
    dataset: Dataset, design: ArmDesign, directions_items: tuple
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """summary_by_arm, cached per cohort, design and user-set directions."""
    from analysis.stats.arms import summary_by_arm

    return summary_by_arm(dataset, design, dict(directions_items))


@st.cache_data(show_spinner=False, max_entries=32, **_CACHE_OPTIONS)
def cached_largest_smd(dataset: Dataset, design: ArmDesign) -> tuple[str, float] | None:
    """largest_baseline_smd, cached per cohort and design."""
    from analysis.stats.arms import largest_baseline_smd

    return largest_baseline_smd(dataset, design)


@st.cache_data(show_spinner=False, max_entries=32, **_CACHE_OPTIONS)
def cached_visit_axis(dataset: Dataset) -> VisitAxis:
    """Each visit's place on the time axis (median day or nominal time), per cohort."""
    return visit_axis(dataset.visits, dataset.long)


@st.cache_data(show_spinner="Fitting the mixed model for repeated measures…", max_entries=64,
               **_CACHE_OPTIONS)  # fmt: skip
def cached_outcome_model(dataset: Dataset, design: ArmDesign, spec: MMRMSpec) -> OutcomeModel:
    """fit_outcome_model (the MMRM), cached per cohort, design and model specification."""
    from analysis.stats.longitudinal import fit_outcome_model

    return fit_outcome_model(dataset, design, spec)


@st.cache_data(show_spinner="Fitting every covariance structure…", max_entries=16,
               **_CACHE_OPTIONS)  # fmt: skip
def cached_structure_comparison(
    dataset: Dataset, design: ArmDesign, spec: MMRMSpec
) -> pd.DataFrame:
    """compare_structures (AIC/BIC of the nine structures), cached."""
    from analysis.stats.longitudinal import compare_structures

    return compare_structures(dataset, design, spec)


def visit_map_editor(sidebar, dataset: Dataset, key: str) -> None:
    """The visit labels of the file and the visit each became (merged spellings, same time
    points, probable typos), editable; shown open when labels were merged or flagged."""
    mapping = dict(getattr(dataset, "visit_map", {}) or {})
    if not mapping:
        return
    flagged = {"visit_labels_merged", "probable_visit_typo", "visit_spellings"}
    merged = any(label != visit for label, visit in mapping.items())
    noted = any(finding.code in flagged for finding in dataset.report.findings)
    # Drawn only while open (a lazy expander): the table editor's JavaScript is large, and a
    # closed editor on every page would load it before the page's first chart.
    box = sidebar.expander(
        "Visit labels → visits", expanded=merged or noted, key=f"visit_labels::{key}",
        on_change="rerun",
    )  # fmt: skip
    if not box.open:
        return
    with box:
        if noted:
            st.caption(
                "Some labels were merged or look like typos (details on the Data page). Edit "
                "the visit a label belongs to; the data reload with your mapping."
            )
        frame = pd.DataFrame({"label in the file": list(mapping), "visit": list(mapping.values())})
        edited = st.data_editor(
            frame,
            hide_index=True,
            disabled=["label in the file"],
            key=f"editor::{key}",
            width="stretch",
        )
        chosen = {
            label: str(visit).strip() or label
            for label, visit in zip(edited["label in the file"], edited["visit"], strict=True)
        }
        if chosen != mapping:
            st.session_state[key] = chosen
            st.rerun()


@st.cache_data(show_spinner=False, max_entries=32, **_CACHE_OPTIONS)
def cached_missingness(dataset: Dataset, design: ArmDesign, outcome: str) -> MissingnessSummary:
    """missingness_summary (map, patterns, retention, reasons), cached."""
    from analysis.stats.missingness import missingness_summary

    return missingness_summary(dataset, outcome, design)


def sensitivity_with_progress(
    dataset: Dataset,
    design: ArmDesign,
    outcome: str,
    visit: str,
    method: str,
    n_imputations: int,
    direction: Direction | None,
) -> SensitivityResult:
    """sensitivity_analysis with a progress bar, kept per session for the same inputs.

    Not st.cache_data: a cached function may not update a progress bar drawn outside it, and
    the bar is what tells a user that 100 imputations are under way."""
    key = ("sensitivity", dataset_fingerprint(dataset), design, outcome, visit, method,
           n_imputations, direction)  # fmt: skip
    store: dict = st.session_state.setdefault("sensitivity_results", {})
    if key not in store:
        from analysis.stats.imputation import sensitivity_analysis

        bar = st.progress(0.0, text=f"Imputing the missing values {n_imputations} times…")

        def advance(done: int, total: int) -> None:
            bar.progress(done / total)

        store.clear()  # one result per session: they can be large at registry scale
        store[key] = sensitivity_analysis(
            dataset, design, outcome, visit, method=method, n_imputations=n_imputations,
            direction=direction, progress=advance,
        )  # fmt: skip
        bar.empty()
    return store[key]


@st.cache_resource(show_spinner=False, max_entries=2)
def _demo_adverse_events(patients: tuple[str, ...]) -> AdverseEvents | None:
    """The synthetic demo AE table, read once per set of patients."""
    from analysis.ingest.adverse_events import load_demo_adverse_events

    return load_demo_adverse_events(patients).table


def current_adverse_events(synthetic: bool, patients: Iterable[str]) -> AdverseEvents | None:
    """The AE table loaded on the Safety page, else the demo's with the demo cohort; None when
    there is none or it belongs to other patients (another data source)."""
    from analysis.ingest.adverse_events import AdverseEvents

    known = {str(p) for p in patients}
    loaded = st.session_state.get("adverse_events")
    if (
        isinstance(loaded, AdverseEvents)
        and (not loaded.synthetic or synthetic)
        and set(loaded.events["patient_id"]) & known
    ):
        return loaded
    if synthetic:
        full = st.session_state["load"].dataset if "load" in st.session_state else None
        everyone = tuple(str(p) for p in (full.patients if full is not None else sorted(known)))
        return _demo_adverse_events(everyone)
    return None
