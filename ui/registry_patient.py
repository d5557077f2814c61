"""The Patient page for a registry summarised inside its database (ui.registry): the typed ID
is looked up in the engine and only that patient's rows are read out; the cohort's median and
quartiles beside them are computed in the engine (analysis.stats.pushdown_patient)."""

from __future__ import annotations

from typing import TYPE_CHECKING

import streamlit as st

from ui import url
from ui.registry import CACHE_OPTIONS, cohort_identity
from ui.safe import md

if TYPE_CHECKING:
    import pandas as pd

    from analysis.ingest.engine import EngineCohort
    from analysis.stats.patient import PatientProfile

ID_KEY = "registry_patient_id"
ID_PARAM = "patient"  # as the in-memory Patient page: a link names the patient the same way
_LOOKUP_KEY = "registry_patient_lookup"


@st.cache_data(
    show_spinner="Computing the cohort's medians inside the database…", max_entries=8,
    **CACHE_OPTIONS,
)  # fmt: skip
def cached_cohort_bands(cohort: EngineCohort, min_cell: int) -> pd.DataFrame:
    """The cohort's n, median and quartiles per outcome × visit, computed in the engine once per
    registry (aggregates only: the same for every patient; analysis.stats.pushdown_patient)."""
    from analysis.stats.pushdown_patient import engine_cohort_bands

    return engine_cohort_bands(cohort, min_cell)


def _lookup(cohort: EngineCohort, patient_id: str, bands: pd.DataFrame) -> PatientProfile | str:
    """The patient's profile, or the message saying why there is none. Kept in this session's
    state only (one patient at a time), never in the server-wide cache: a person's rows stay in
    the session that read them, as the rows read for the other pages do (ui.registry)."""
    from analysis.ingest.engine import EngineError
    from analysis.stats.pushdown_patient import UnknownPatient, pushdown_patient_profile

    key = (cohort_identity(cohort), patient_id)
    kept = st.session_state.get(_LOOKUP_KEY)
    if kept is not None and kept[0] == key:
        return kept[1]
    result: PatientProfile | str
    try:
        with st.spinner("Reading this patient's rows from the database…"):
            result = pushdown_patient_profile(cohort, patient_id, bands)
    except UnknownPatient:
        result = (
            f"No patient {md(patient_id)} in this registry. IDs are matched exactly, as text "
            "(case-sensitive; 007 and 7 are different IDs)."
        )
    except EngineError as exc:
        result = md(str(exc))
    st.session_state[_LOOKUP_KEY] = (key, result)
    return result


def registry_patient(cohort: EngineCohort) -> None:
    """The Patient page of a registry: the ID typed (and kept in the link), its attributes,
    status at the last follow-up, the panels against the cohort and the printable view, with
    only this patient's rows read out of the database."""
    from analysis.present.figures_followup import patient_panels
    from analysis.present.patient_printout import patient_html
    from analysis.stats.cohort import SMALL_GROUP_DEFAULT
    from analysis.stats.pushdown_patient import PATIENT_ROWS_CAP
    from ui.render import chart, table
    from ui.state import directions

    # A registry's IDs cannot be listed (millions): a box to type one in, checked in the engine.
    typed = url.text_box(
        st, "Patient ID (pseudonymous)", ID_KEY, ID_PARAM,
        placeholder=f"type one of the {cohort.n_patients:,} patient IDs",
        help="Looked up in the registry's database: only this patient's rows are read out.",
    )  # fmt: skip
    if not typed:
        st.info("Type a patient ID above to see that patient's values.")
        return
    bands = cached_cohort_bands(cohort, SMALL_GROUP_DEFAULT)
    found = _lookup(cohort, typed, bands)
    if isinstance(found, str):
        st.warning(found, icon=":material/person_search:")
        return
    profile = found
    url.keep_text(ID_PARAM, typed)

    left, right = st.columns([1, 2])
    left.subheader("Attributes")
    attributes = [{"attribute": k, "value": str(v)} for k, v in profile.attributes.items()]
    # Tall enough for every attribute: a registry may hold more than the ten shown unscrolled.
    height = min(36 * (len(attributes) + 1) + 4, 1400)
    left.dataframe(attributes, hide_index=True, width="stretch", height=height)
    right.subheader("At the last follow-up visit")
    one_decimal = st.column_config.NumberColumn(format="%.1f")  # as the in-memory page
    provenance = {
        "computed_in": cohort.source.kind,
        "source": cohort.source.display,
        "rows_left_database": "this patient's only",
    }
    table(
        profile.status,
        f"patient_{typed}_status",
        right,
        column_config={c: one_decimal for c in ("baseline", "last value", "change", "% change")},
        provenance=provenance,
    )
    right.caption(
        "Status compares the last follow-up value with this patient's baseline: 30% and 50% "
        "improvement (IMMPACT) and the instrument's clinically important difference."
    )
    chart(patient_panels(profile.values, cohort.visits, typed), f"patient_{typed}")
    n_values = int(profile.values["value"].notna().sum())
    suppressed = int((profile.values["cohort_median"].isna()).sum())
    st.caption(
        md(
            f"Only this patient's rows were read from the database ({n_values} values; at most "
            f"{PATIENT_ROWS_CAP:,} rows for one ID). The cohort's median and quartiles at each "
            f"visit were computed inside {cohort.source.kind}, exactly, from counts of each "
            "value over every patient with a value there; visits with fewer than "
            f"{SMALL_GROUP_DEFAULT} values show no band"
            + (f" ({suppressed} here)." if suppressed else ".")
        )
    )
    st.caption("No adverse events are shown for a registry: its table holds outcomes only.")
    visits, source_name = list(cohort.visits), f"{cohort.source.display} (registry)"
    user_directions = dict(directions())
    st.download_button(
        "Printable view (HTML)",
        # Built when clicked: it embeds the charting library (a few MB) so it works offline.
        data=lambda: patient_html(
            profile,
            visits,
            source_name=source_name,
            source_sha256="not a file",  # a registry is read in place: no file to hash
            synthetic=False,
            directions=user_directions,
            adverse_events=None,
        ),
        file_name=f"patient_{typed}.html",
        mime="text/html",
        help="One A4 page (two at most) to print or file: open it in a browser and print. It "
        "carries the pseudonymous ID, the data source and the date printed.",
    )
