"""Showing user-supplied text (column names, codes, IDs, visit labels) as text, never markup."""

from __future__ import annotations

import re

_MARKDOWN_SPECIAL = re.compile(r"([\\`*_{}\[\]()#+\-.!|<>~$:&])")


def md(text: object) -> str:
    """Escape every character Streamlit's markdown would interpret (links, HTML, LaTeX,
    colour directives, emoji shortcodes), so the text shows exactly as written."""
    return _MARKDOWN_SPECIAL.sub(r"\\\1", str(text))
