"""Entry point: `streamlit run dashboard.py` (or `make run`).

The data-source sidebar is drawn here, once, before the selected page runs, so every page
shares it. Page URL paths deliberately differ from the file names in pages/: Streamlit's
AppTest still auto-discovers pages/ and would otherwise run a page file directly, without
this script and its sidebar (see tests/test_pages.py::test_every_page_keeps_the_sidebar).
"""

import streamlit as st

from ui.state import data_source_sidebar

st.set_page_config(
    page_title="DPN · MSC outcomes",
    page_icon=":material/monitoring:",
    layout="wide",
)

PAGES = [
    st.Page("pages/home.py", title="Overview", url_path="overview", default=True,
            icon=":material/home:"),
    st.Page("pages/compare_visits.py", title="Compare visits", url_path="compare",
            icon=":material/compare_arrows:"),
    st.Page("pages/data_quality.py", title="Data", url_path="data",
            icon=":material/table_view:"),
]  # fmt: skip

navigation = st.navigation(PAGES)
data_source_sidebar()
navigation.run()
