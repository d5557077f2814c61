"""The printable one-page view of one patient (self-contained HTML)."""

from __future__ import annotations

import html

import pandas as pd

from analysis.present.format import number
from analysis.present.wording import UNCONTROLLED_CAVEAT
from analysis.stats.patient import PatientProfile


def patient_html(profile: PatientProfile, figure_html: str, synthetic: bool) -> str:
    """A self-contained, printable page for one patient (figure HTML passed in)."""
    attrs = "".join(
        f"<tr><th>{html.escape(str(k))}</th><td>{html.escape(str(v))}</td></tr>"
        for k, v in profile.attributes.items()
    )
    status = profile.status.copy()
    for column in ("baseline", "last value", "change", "% change"):
        if column in status:
            status[column] = status[column].map(lambda x: "" if pd.isna(x) else number(x, 1))
    banner = (
        "<p class='synthetic'>Synthetic demo data: not a real patient.</p>" if synthetic else ""
    )
    return f"""<!doctype html><html><head><meta charset="utf-8">
<title>Patient {html.escape(profile.patient_id)}</title>
<style>
body {{ font-family: sans-serif; margin: 2em; color: #222; }}
table {{ border-collapse: collapse; margin: 1em 0; }}
th, td {{ border: 1px solid #ccc; padding: 4px 8px; text-align: left; }}
.synthetic {{ background: #e8f0fe; padding: 6px; }}
.caveat {{ font-size: 0.9em; color: #555; }}
@media print {{ body {{ margin: 0; }} .figure {{ page-break-before: always; }} }}
</style></head><body>
<h1>Patient {html.escape(profile.patient_id)}</h1>{banner}
<h2>Attributes</h2><table>{attrs}</table>
<h2>Status at the last follow-up visit</h2>{status.to_html(index=False, na_rep="", escape=True)}
<div class="figure">{figure_html}</div>
<p class="caveat">{html.escape(UNCONTROLLED_CAVEAT)}</p>
</body></html>"""
