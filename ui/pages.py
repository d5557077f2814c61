"""The one table of pages: file, navigation title, heading, icon and URL path.

dashboard.py builds the navigation from it, the page tests open every entry, and the browser
benchmark and end-to-end tests visit every URL path. Add a page here and all three follow.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class PageSpec:
    file: str  # relative to the project root
    title: str  # in the navigation
    heading: str  # the page's st.title
    icon: str
    url_path: str  # "" for the default page


PAGES: tuple[PageSpec, ...] = (
    PageSpec("pages/overview.py", "Overview", "Overview", ":material/home:", ""),
    PageSpec(
        "pages/compare.py",
        "Compare visits",
        "Compare two visits",
        ":material/compare_arrows:",
        "compare",
    ),
    PageSpec("pages/over_time.py", "Over time", "Over time", ":material/timeline:", "over_time"),
    PageSpec("pages/responders.py", "Responders", "Responders", ":material/groups:", "responders"),
    PageSpec(
        "pages/missing_data.py",
        "Missing data",
        "Missing follow-up",
        ":material/rule:",
        "missing_data",
    ),
    PageSpec("pages/patient.py", "Patient", "Patient", ":material/person:", "patient"),
    PageSpec(
        "pages/time_to_response.py",
        "Time to response",
        "Time to response",
        ":material/schedule:",
        "time_to_response",
    ),
    PageSpec("pages/safety.py", "Safety", "Safety", ":material/health_and_safety:", "safety"),
    PageSpec(
        "pages/explorer.py",
        "Cohort explorer",
        "Cohort explorer",
        ":material/query_stats:",
        "explorer",
    ),
    PageSpec("pages/report.py", "Report", "Report", ":material/description:", "report"),
    PageSpec("pages/data.py", "Data", "Data", ":material/table_view:", "data"),
)
