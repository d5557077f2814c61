"""One patient's profile (analysis.stats.patient): the status table's shape."""

from __future__ import annotations

from analysis.ingest.pipeline import load_bytes
from analysis.stats.patient import STATUS_COLUMNS, patient_profile


def test_status_columns_do_not_depend_on_the_first_outcome():
    # Pain has no follow-up for this patient, TCSS has: the columns stay in their order
    # (taken from the first row they put "status" before "last value").
    data = (
        "patient_id,visit,outcome,value\n"
        "p1,baseline,pain_nrs,7\n"
        "p1,baseline,tcss,12\np1,m6,tcss,9\n"
        "p2,baseline,pain_nrs,6\np2,m6,pain_nrs,4\n"
        "p2,baseline,tcss,10\np2,m6,tcss,8\n"
    )
    profile = patient_profile(load_bytes(data.encode(), "p.csv").dataset, "p1")
    assert list(profile.status.columns) == STATUS_COLUMNS
    pain, tcss = profile.status.to_dict("records")
    assert pain["status"] == "no baseline or no follow-up"
    assert (tcss["last visit"], tcss["last value"], tcss["change"]) == ("m6", 9, -3)
