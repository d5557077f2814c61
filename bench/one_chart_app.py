"""The browser benchmark's floor: a Streamlit app that draws one small plotly bar chart and
nothing else (`streamlit run bench/one_chart_app.py`). Its time to the chart is the least any
page of the dashboard can take on the same machine and browser."""

import plotly.graph_objects as go
import streamlit as st

st.title("One chart")
st.plotly_chart(
    go.Figure(go.Bar(x=["baseline", "m1", "m3", "m6", "m12"], y=[150, 141, 138, 131, 124]))
)
