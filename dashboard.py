"""Entry point: `streamlit run dashboard.py` (or `make run`).

The data-source sidebar is drawn here, once, before the selected page runs, so every page
shares it. Pages begin with ``ensure_entry()`` (ui/entry.py), which runs this script when
Streamlit starts a page file on its own (AppTest, or a fresh server's first deep link).
"""

import streamlit as st

from ui.auth import require_sign_in
from ui.entry import entered
from ui.state import data_source_sidebar

st.set_page_config(
    page_title="DPN · MSC outcomes",
    page_icon=":material/monitoring:",
    layout="wide",
)

PAGES = [
    st.Page("pages/overview.py", title="Overview", default=True, icon=":material/home:"),
    st.Page("pages/compare.py", title="Compare visits", icon=":material/compare_arrows:"),
    st.Page("pages/over_time.py", title="Over time", icon=":material/timeline:"),
    st.Page("pages/responders.py", title="Responders", icon=":material/groups:"),
    st.Page("pages/patient.py", title="Patient", icon=":material/person:"),
    st.Page("pages/explorer.py", title="Cohort explorer", icon=":material/query_stats:"),
    st.Page("pages/report.py", title="Report", icon=":material/description:"),
    st.Page("pages/data.py", title="Data", icon=":material/table_view:"),
]

require_sign_in()

with entered():
    navigation = st.navigation(PAGES)
    data_source_sidebar()
    navigation.run()
