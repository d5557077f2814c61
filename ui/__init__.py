"""Streamlit glue shared by the entry script and the pages: data source, caching, safe text.

Nothing here computes a statistic; it calls ``analysis`` and renders."""
