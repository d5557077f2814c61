"""Outcome analysis for MSC therapy in diabetic peripheral neuropathy: pure functions over pandas.

No Streamlit here: the dashboard's pages and the command line (`python -m analysis`) both call
this package and show the same numbers.
"""
