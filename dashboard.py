"""Entry point: `streamlit run dashboard.py` (or `make run`).

The data-source sidebar is drawn here, once, before the selected page runs, so every page
shares it. Pages begin with ``ensure_entry()`` (ui/entry.py), which runs this script when
Streamlit starts a page file on its own (AppTest, or a fresh server's first deep link).
"""

import streamlit as st

from ui.auth import require_sign_in
from ui.entry import entered
from ui.pages import PAGES as PAGE_TABLE
from ui.settings import settings_sidebar
from ui.state import data_source_sidebar

st.set_page_config(
    page_title="DPN · MSC outcomes",
    page_icon=":material/monitoring:",
    layout="wide",
)

PAGES = [
    st.Page(
        spec.file,
        title=spec.title,
        icon=spec.icon,
        url_path=spec.url_path or None,
        default=spec.url_path == "",
    )
    for spec in PAGE_TABLE
]

require_sign_in()

with entered():
    navigation = st.navigation(PAGES)
    data_source_sidebar()
    settings_sidebar()
    navigation.run()
