"""Figures for safety and time to response (plotly, pure: results in, figures out).

- ``km_figure``: Kaplan-Meier curves per arm (Kaplan & Meier 1958) as steps with their 95%
  bands, censored patients marked on the curve, and the number at risk under the plot in one
  row per arm, aligned with the time axis (the layout CONSORT-style reports use).
- ``aesi_figure``: the share of patients with each adverse event of special interest per arm.
- ``patient_ae_timeline``: one patient's adverse events as bars over days since treatment,
  with the visits marked (for the Patient page, beside the scores).

Colours are Okabe-Ito, as in the other figures; arms are also named in the legend and in the
number-at-risk rows, never shown by colour alone.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np
import pandas as pd
import plotly.graph_objects as go
from plotly.subplots import make_subplots

from analysis.stats.adverse_events import SafetyTables
from analysis.stats.survival import step_curve
from analysis.stats.time_to_event import TimeToEvent

PALETTE = ["#0072B2", "#D55E00", "#009E73", "#CC79A7", "#E69F00", "#56B4E9", "#000000"]
SEVERITY_COLOURS = {1: "#56B4E9", 2: "#E69F00", 3: "#D55E00", 4: "#CC79A7", 5: "#000000"}
_FONT = dict(size=14)


def _rgba(hex_colour: str, alpha: float) -> str:
    h = hex_colour.lstrip("#")
    r, g, b = (int(h[i : i + 2], 16) for i in (0, 2, 4))
    return f"rgba({r},{g},{b},{alpha})"


def risk_times(analysis: TimeToEvent, n: int = 6) -> list[float]:
    """Times for the number-at-risk row: 0 and the chosen landmark days, continued at the
    last landmark spacing to the end of follow-up; else even steps."""
    longest = max((f.last_time or 0.0 for f in analysis.fits.values()), default=0.0)
    if longest <= 0:
        return [0.0]
    days: list[float] = []
    if not analysis.landmarks.empty:
        days = sorted({float(t) for t in analysis.landmarks["time"] if 0 < t <= longest})
    if not days:
        step = float(np.ceil(longest / n / 30) * 30) or 1.0
        return [float(t) for t in np.arange(0, longest + step / 2, step)]
    times = [0.0, *days]
    step = max(times[-1] - times[-2], longest / (2 * n))
    while times[-1] + step <= longest:
        times.append(round(times[-1] + step))
    return times


def km_figure(
    analysis: TimeToEvent,
    cumulative: bool | None = None,
    hidden: Sequence[str] = (),
    times: Sequence[float] | None = None,
) -> go.Figure:
    """Kaplan-Meier curves per arm with 95% bands and censor marks, the number at risk under
    the time axis. ``cumulative``: plot 1 − S (share with the event; the default for time to
    response) instead of S (the default for loss of response: share still responding)."""
    if cumulative is None:
        cumulative = analysis.endpoint == "response"
    arms = [a for a in analysis.fits if a not in set(hidden)]
    times = list(times) if times is not None else risk_times(analysis)
    n_rows = max(len(arms), 1)
    risk_share = min(0.12 + 0.05 * n_rows, 0.35)
    fig = make_subplots(
        rows=2, cols=1, shared_xaxes=True, row_heights=[1 - risk_share, risk_share],
        vertical_spacing=0.1,
    )  # fmt: skip
    for i, arm in enumerate(arms):
        fit = analysis.fits[arm]
        colour = PALETTE[i % len(PALETTE)]
        curve = step_curve(fit)
        y = 1 - curve["survival"] if cumulative else curve["survival"]
        low = 1 - curve["ci_high"] if cumulative else curve["ci_low"]
        high = 1 - curve["ci_low"] if cumulative else curve["ci_high"]
        x = curve["time"].to_numpy()
        fig.add_trace(
            go.Scatter(x=x, y=100 * high, mode="lines", line=dict(width=0, shape="hv"),
                       hoverinfo="skip", showlegend=False, legendgroup=arm),
            row=1, col=1,
        )  # fmt: skip
        fig.add_trace(
            go.Scatter(x=x, y=100 * low, mode="lines", line=dict(width=0, shape="hv"),
                       fill="tonexty", fillcolor=_rgba(colour, 0.15), hoverinfo="skip",
                       name=f"{arm}: 95% CI", showlegend=False, legendgroup=arm),
            row=1, col=1,
        )  # fmt: skip
        fig.add_trace(
            go.Scatter(
                x=x, y=100 * y, mode="lines", line=dict(color=colour, width=3, shape="hv"),
                name=f"{arm} (n={fit.n}, events={fit.n_events})", legendgroup=arm,
                hovertemplate="day %{x:.0f}: %{y:.0f}%<extra>" + arm + "</extra>",
            ),
            row=1, col=1,
        )  # fmt: skip
        censored = fit.table.loc[fit.table["n_censor"] > 0]
        if len(censored):
            s = censored["survival"].to_numpy()
            fig.add_trace(
                go.Scatter(
                    x=censored["time"], y=100 * (1 - s if cumulative else s), mode="markers",
                    marker=dict(symbol="line-ns-open", size=11, color=colour,
                                line=dict(width=2, color=colour)),
                    name=f"{arm}: censored", legendgroup=arm, showlegend=False,
                    customdata=censored["n_censor"],
                    hovertemplate="censored at day %{x:.0f}: %{customdata}<extra>" + arm
                    + "</extra>",
                ),
                row=1, col=1,
            )  # fmt: skip
        counts = fit.n_at_risk(times)
        fig.add_trace(
            go.Scatter(
                x=times, y=[arm] * len(times), mode="text", text=[str(c) for c in counts],
                textfont=dict(color=colour, size=14), showlegend=False,
                hovertemplate="%{text} at risk at day %{x:.0f}<extra>" + arm + "</extra>",
            ),
            row=2, col=1,
        )  # fmt: skip
    response = analysis.endpoint == "response"
    if cumulative:
        y_title = "Patients with a first response (%)" if response else "Patients who lost it (%)"
    else:
        y_title = "Patients without a response (%)" if response else "Still responding (%)"
    origin = (
        "Days since treatment"
        if response or analysis.origin == "treatment"
        else "Days since the first response"
    )
    what = "first response" if response else "loss of response"
    longest = max(
        times[-1] if times else 0.0,
        max((f.last_time or 0.0 for f in analysis.fits.values()), default=0.0),
    )
    x_range = [-0.03 * longest, longest * 1.03 if longest else 1.0]
    fig.update_xaxes(range=x_range, tickvals=times, showticklabels=False, row=1, col=1)
    fig.update_xaxes(
        range=x_range, tickvals=times, ticktext=[f"{t:.0f}" for t in times],
        title=dict(text=origin, standoff=6), row=2, col=1, showgrid=False, zeroline=False,
    )  # fmt: skip
    fig.update_yaxes(title=y_title, range=[-2, 102], row=1, col=1)
    fig.update_yaxes(
        type="category", categoryorder="array", categoryarray=list(reversed(arms)),
        range=[-0.7, len(arms) - 0.3], title=dict(text="At risk", standoff=6), showgrid=False,
        row=2, col=1, tickfont=dict(size=13), fixedrange=True,
    )  # fmt: skip
    fig.update_layout(
        template="plotly_white",
        font=_FONT,
        title=(
            f"Time to {what}: {analysis.instrument.short_label}, "
            f"{analysis.rule.label} (Kaplan-Meier, 95% CI; | censored)"
        ),
        height=560 + 30 * n_rows,
        margin=dict(l=80, r=30, t=100, b=60),
        legend=dict(orientation="h", yanchor="bottom", y=1.0, xanchor="left", x=0),
        hovermode="closest",
    )
    return fig


def aesi_figure(tables: SafetyTables, show_small: bool = False, min_cell: int = 5) -> go.Figure:
    """Percent of patients with each adverse event of special interest, one row per event and
    one dot per arm (arms side by side in the row, the count beside each dot); a small cell is
    an open circle at 0 labelled '<5' unless small groups are shown."""
    fig = go.Figure()
    names = list(dict.fromkeys(tables.aesi["aesi"]))
    positions = np.arange(len(names), dtype=float)
    n_arms = len(tables.arms)
    hidden_any = False
    for i, arm in enumerate(tables.arms):
        part = tables.aesi.loc[tables.aesi["arm"] == arm].set_index("aesi").reindex(names)
        k = part["patients"].astype(int)
        n = part["n"].astype(int)
        small = (~show_small) & (k > 0) & (k < min_cell)
        hidden_any |= bool(small.any())
        share = (100 * k / n.where(n > 0)).where(~small, 0.0).fillna(0.0)
        text = [f"<{min_cell}" if s else f"{c}/{m}" for s, c, m in zip(small, k, n, strict=True)]
        offset = (i - (n_arms - 1) / 2) * min(0.25, 0.6 / max(n_arms, 1))
        fig.add_trace(
            go.Scatter(
                x=share, y=positions + offset, mode="markers+text", text=text,
                textposition="middle right", name=f"{arm} (N={tables.n_at_risk[arm]})",
                legendgroup=arm, showlegend=False,
                marker=dict(size=12, color=PALETTE[i % len(PALETTE)],
                            symbol=["circle-open" if s else "circle" for s in small],
                            line=dict(width=2, color=PALETTE[i % len(PALETTE)])),
                customdata=names,
                hovertemplate="%{customdata}: %{x:.1f}% (%{text})<extra>" + arm + "</extra>",
            )
        )  # fmt: skip
        fig.add_trace(  # the legend's entry: a filled dot whatever the first row shows
            go.Scatter(
                x=[None], y=[None], mode="markers", name=f"{arm} (N={tables.n_at_risk[arm]})",
                legendgroup=arm, marker=dict(size=12, color=PALETTE[i % len(PALETTE)]),
            )
        )  # fmt: skip
    shares = 100 * tables.aesi["patients"] / tables.aesi["n"].where(tables.aesi["n"] > 0)
    top = float(shares.max()) if shares.notna().any() else 0.0
    fig.update_layout(
        template="plotly_white",
        font=_FONT,
        title="Adverse events of special interest: patients with at least one"
        + (
            f"<br><sup>open circle at 0: fewer than {min_cell} patients, not drawn</sup>"
            if hidden_any
            else ""
        ),
        xaxis=dict(title="Patients (%)", range=[-0.5, max(10.0, top * 1.3)]),
        yaxis=dict(
            tickvals=positions,
            ticktext=names,
            autorange="reversed",
            showgrid=False,
            zeroline=False,
        ),
        height=160 + 60 * len(names),
        margin=dict(l=300, r=40, t=100, b=60),
        legend=dict(orientation="h", yanchor="bottom", y=1.0, xanchor="left", x=0),
    )
    return fig


def patient_ae_timeline(
    events: pd.DataFrame,
    patient_id: str,
    visit_days: Mapping[str, float] | None = None,
    scores: pd.DataFrame | None = None,
    score_label: str = "",
) -> go.Figure:
    """One patient's adverse events as bars from onset to end over days since treatment
    (an arrow to the last visit when still ongoing), coloured and labelled by severity, with
    the visits as dotted lines; ``events`` from ``analysis.stats.adverse_events.patient_events``
    and ``visit_days`` from ``analysis.stats.adverse_events.patient_visit_days``. With
    ``scores`` (visit, value and optionally cohort_median: the Patient page's values of one
    outcome) the outcome is drawn above the events on the same day axis."""
    visit_days = dict(visit_days or {})
    with_scores = scores is not None and len(scores) > 0 and bool(visit_days)
    n_events = int(events["start_day"].notna().sum()) if len(events) else 0
    bar_rows = max(n_events, 1)
    if with_scores:
        score_px, bars_px = 230, 40 + 34 * bar_rows
        fig = make_subplots(
            rows=2, cols=1, shared_xaxes=True, vertical_spacing=0.06,
            row_heights=[score_px / (score_px + bars_px), bars_px / (score_px + bars_px)],
        )  # fmt: skip
        height = 190 + score_px + bars_px
    else:
        fig = go.Figure()
        height = 200 + 36 * bar_rows
    where = dict(row=2, col=1) if with_scores else {}
    last = max([0.0, *visit_days.values(), *events["start_day"].dropna(),
                *events["end_day"].dropna()])  # fmt: skip
    labels = []
    for i, row in enumerate(events.itertuples()):
        start = row.start_day if pd.notna(row.start_day) else None
        if start is None:
            continue
        ongoing = pd.isna(row.end_day)
        end = last if ongoing else float(row.end_day)
        width = max(end - start, 0.8)
        level = int(row.severity_level) if pd.notna(row.severity_level) else None
        colour = SEVERITY_COLOURS.get(level or 0, "#7F7F7F")
        label = f"{i + 1}. {row.term}"
        labels.append(label)
        flags = [row.severity if pd.notna(row.severity) else "severity not recorded"]
        if row.serious is True:
            flags.append("serious")
        if pd.notna(row.related) and row.related != "not related":
            flags.append(f"related: {row.related}")
        fig.add_trace(
            go.Bar(
                x=[width], y=[label], base=[start], orientation="h",
                marker=dict(color=colour, line=dict(color="#333", width=1),
                            pattern=dict(shape="/" if ongoing else "")),
                text=[", ".join(str(f) for f in flags)], textposition="outside",
                cliponaxis=False, showlegend=False,
                hovertemplate=(
                    f"{row.term}<br>day {start:g} to "
                    + ("ongoing" if ongoing else f"{end:g}")
                    + f"<br>{', '.join(str(f) for f in flags)}<extra></extra>"
                ),
            ),
            **where,
        )  # fmt: skip
    if with_scores:
        assert scores is not None
        _score_traces(fig, scores, visit_days, patient_id, score_label)
    for visit, day in visit_days.items():
        fig.add_shape(
            type="line", x0=day, x1=day, xref="x", yref="paper", y0=0, y1=1,
            line=dict(color="#555", dash="dot", width=1),
        )  # fmt: skip
        fig.add_annotation(
            x=day, y=1, xref="x", yref="paper", text=str(visit), showarrow=False,
            textangle=-90, xanchor="center", yanchor="bottom", font=dict(size=11, color="#555"),
        )  # fmt: skip
    fig.add_shape(
        type="line", x0=0, x1=0, xref="x", yref="paper", y0=0, y1=1,
        line=dict(color="#000", width=2),
    )  # fmt: skip
    x_range = [min(0.0, *visit_days.values()) - 5, last * 1.25 + 10]
    fig.update_xaxes(range=x_range)
    fig.update_xaxes(title="Days since treatment", **where)
    fig.update_yaxes(autorange="reversed", categoryorder="array", categoryarray=labels, **where)
    title = (
        f"Patient {patient_id}: {score_label.split('<br>')[0]} and adverse events"
        if with_scores
        else f"Adverse events of patient {patient_id}"
    )
    fig.update_layout(
        template="plotly_white",
        font=_FONT,
        title=dict(
            text=title + "<br><sup>on days since treatment; bars: adverse events, coloured by "
            "severity; hatched: ongoing at the last contact; dotted lines: visits</sup>",
            y=0.98,
            yanchor="top",
        ),
        height=height,
        margin=dict(l=260, r=40, t=150, b=50),
        barmode="overlay",
        legend=dict(
            orientation="h", yanchor="bottom", y=1.0 + 45 / (height - 200), xanchor="left", x=0
        ),  # above the visit labels
    )
    if not labels:
        fig.add_annotation(
            text="No adverse event with a start day recorded", showarrow=False,
            xref="x domain" if not with_scores else "x2 domain",
            yref="y domain" if not with_scores else "y2 domain", x=0.5, y=0.5,
        )  # fmt: skip
    return fig


def _score_traces(
    fig: go.Figure,
    scores: pd.DataFrame,
    visit_days: Mapping[str, float],
    patient_id: str,
    label: str,
) -> None:
    """The outcome of one patient (and the cohort median) at the patient's visit days, in the
    timeline's first row."""
    frame = scores.assign(day=scores["visit"].astype(str).map(dict(visit_days)))
    frame = frame.loc[frame["day"].notna()].sort_values("day")
    if "cohort_median" in frame:
        fig.add_trace(
            go.Scatter(
                x=frame["day"], y=frame["cohort_median"], mode="lines",
                line=dict(color="#0072B2", dash="dash"), name="cohort median",
                customdata=frame["visit"],
                hovertemplate="%{customdata} (day %{x:.0f}): %{y}<extra>cohort median</extra>",
            ),
            row=1, col=1,
        )  # fmt: skip
    mine = frame.loc[frame["value"].notna()]
    fig.add_trace(
        go.Scatter(
            x=mine["day"], y=mine["value"], mode="lines+markers",
            line=dict(color="#D55E00", width=3), marker=dict(size=9),
            name=f"patient {patient_id}", customdata=mine["visit"],
            hovertemplate="%{customdata} (day %{x:.0f}): %{y}<extra>" + str(patient_id)
            + "</extra>",
        ),
        row=1, col=1,
    )  # fmt: skip
    fig.update_yaxes(title=dict(text=label, standoff=4), row=1, col=1)
