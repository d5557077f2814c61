"""Figures for follow-up over time, responders and the patient view (plotly, pure).

Over-time charts place visits on a real time axis (``analysis.present.visit_axis``): at the
median recorded day of each visit, else at the time its label names, else evenly spaced.
Every axis of a score or of a change says which way is better.
"""

from __future__ import annotations

import math
import re
from itertools import pairwise, zip_longest

import numpy as np
import pandas as pd
import plotly.graph_objects as go
from plotly.subplots import make_subplots

from analysis.instruments import Direction, lookup
from analysis.present.figures import (
    MAX_PATIENT_MARKS,
    STATUS_COLOURS,
    change_axis_title,
    change_scatter,
    score_axis_title,
)
from analysis.present.visit_axis import VisitAxis, visit_axis
from analysis.stats.cohort import MISSING
from analysis.stats.longitudinal import OutcomeModel
from analysis.stats.responders import IMMPACT_MODERATE, IMMPACT_SUBSTANTIAL, ResponderAnalysis
from analysis.stats.trajectory import BASELINE_NOTE

PALETTE = ["#0072B2", "#D55E00", "#009E73", "#CC79A7", "#E69F00", "#56B4E9", "#F0E442", "#000000"]
HIGHLIGHT = "#000000"  # one patient's line: black, apart from every group colour in use
_LAYOUT = dict(template="plotly_white", font=dict(size=14), margin=dict(l=80, r=50, t=60, b=50))
_LEGEND_BELOW = dict(orientation="h", yanchor="top", y=-0.15, xanchor="left", x=0)
# Above the plot, under the title: below it would collide with tick labels of several lines.
_LEGEND_ABOVE = dict(orientation="h", yanchor="bottom", y=1.0, xanchor="left", x=0)


def _label(outcome: str) -> str:
    inst = lookup(outcome)
    return inst.label if inst.known else outcome


def _direction(outcome: str, direction: Direction | None) -> Direction | None:
    """The user's direction for the outcome if given, else the registry's (None if unknown)."""
    return direction if direction is not None else lookup(outcome).direction


def _visit_order(visits: pd.Series) -> list[str]:
    """The visits present, in visit order when ``visits`` is an ordered categorical."""
    present = set(visits.astype(str))
    labels = visits.cat.categories if isinstance(visits.dtype, pd.CategoricalDtype) else visits
    return [str(v) for v in dict.fromkeys(labels) if str(v) in present]


def _axis_for(visits: list[str], axis: VisitAxis | None) -> VisitAxis:
    """``axis`` limited to ``visits``; from the labels alone when no axis is given or it lacks
    one of them."""
    if axis is None or not set(visits) <= set(axis.visits):
        return visit_axis(visits)
    return axis.only(visits)


def _groups(frame: pd.DataFrame) -> list[tuple[str, pd.DataFrame]]:
    """(group, rows) in sorted group order ('missing' last), or one ('all', frame)."""
    if "group" not in frame:
        return [("all", frame)]
    parts = dict(list(frame.groupby("group", sort=False, observed=True)))
    names = sorted(parts, key=lambda g: (str(g) == MISSING, str(g)))
    return [(str(g), parts[g]) for g in names]


def _dodge(axis: VisitAxis, i: int, n: int) -> float:
    return axis.step() * (i - (n - 1) / 2) if n > 1 else 0.0


def _time_xaxis(
    axis: VisitAxis, counts: list[tuple[str, pd.Series]], pad: float = 0.0, plot_px: float = 560
) -> dict:
    """Visits as ticks at their positions; under each, the number of patients with a value,
    one line per group in the group's colour (a numbers-at-risk row: labels on the points
    collide with the error bars and with each other where groups meet)."""
    lines = []
    for visit in axis.visits:
        text = axis.tick_text(visit)
        for color, n_by_visit in counts:
            n = n_by_visit.get(visit)
            shown = n if isinstance(n, str) else f"n={0 if n is None or pd.isna(n) else int(n)}"
            text += f"<br><span style='color:{color}'>{shown}</span>"
        lines.append(text)
    return dict(
        title=dict(text=axis.title, standoff=8), tickmode="array", tickangle=0,
        tickvals=[axis.positions[v] for v in axis.visits], ticktext=_stagger(axis, lines, plot_px),
        range=axis.range(pad), showgrid=axis.is_time, zeroline=False,
    )  # fmt: skip


# Tick labels: about 7.5 px per character at font size 14, 8 px between neighbouring labels.
_CHAR_PX, _GAP_PX = 7.5, 8.0


def _rows(tick: str) -> list[tuple[str, float]]:
    """The lines of a tick label as (text without markup, relative font size)."""
    rows = []
    for line in tick.split("<br>"):
        scale = 0.85 if "font-size:0.85em" in line else 1.0
        rows.append((re.sub(r"<[^>]+>", "", line), scale))
    return rows


def _stagger(axis: VisitAxis, lines: list[str], plot_px: float) -> list[str]:
    """Tick labels of a visit too close to the one before it (their texts would overlap on a
    plot ``plot_px`` wide, the narrowest the chart is expected to be shown at) moved a block
    of lines lower, so that visits a few days apart keep readable labels."""
    if not axis.is_time or len(axis.visits) < 2:
        return lines
    ticks = dict(zip(axis.visits, lines, strict=True))
    low, high = axis.range()
    px_per_unit = plot_px / (high - low)
    order = sorted(axis.visits, key=lambda v: axis.positions[v])
    lowered: set[str] = set()
    for before, visit in pairwise(order):
        if before in lowered:
            continue
        need = max(
            (len(a) * sa + len(b) * sb) / 2 * _CHAR_PX + _GAP_PX
            for (a, sa), (b, sb) in zip_longest(
                _rows(ticks[before]), _rows(ticks[visit]), fillvalue=("", 1.0)
            )
        )
        if (axis.positions[visit] - axis.positions[before]) * px_per_unit < need:
            lowered.add(visit)
    depth = max(len(_rows(text)) for text in lines)
    return ["<br>" * depth + ticks[v] if v in lowered else ticks[v] for v in axis.visits]


def over_time(
    summary: pd.DataFrame,
    outcome: str,
    statistic: str = "mean",
    *,
    axis: VisitAxis | None = None,
    direction: Direction | None = None,
) -> go.Figure:
    """Mean with 95% CI (or median with IQR) at every visit, visits at their time on ``axis``
    (``visit_axis(dataset.visits, dataset.long)``; from the labels when not given); groups
    side by side at each visit (dodged so that their bars do not overlap), patients per visit
    under the axis."""
    fig = go.Figure()
    axis = _axis_for(_visit_order(summary["visit"]), axis)
    groups = _groups(summary)
    counts = []
    for i, (name, part) in enumerate(groups):
        color = PALETTE[i % len(PALETTE)] if len(groups) > 1 else "#333"
        if statistic == "median":
            y, low, high = part["median"], part["q1"], part["q3"]
        else:
            y, low, high = part["mean"], part["ci_low"], part["ci_high"]
        visit = part["visit"].astype(str)
        fig.add_trace(
            go.Scatter(
                x=axis.x(visit) + _dodge(axis, i, len(groups)),
                y=y,
                mode="lines+markers",
                name=str(name),
                customdata=np.column_stack(
                    [visit, part["n"], [axis.position_text(v) for v in visit]]
                ),
                line=dict(color=PALETTE[i % len(PALETTE)], width=3),
                error_y=dict(type="data", symmetric=False, array=high - y, arrayminus=y - low),
                hovertemplate="%{customdata[0]} %{customdata[2]}: %{y:.2f} (n=%{customdata[1]})"
                "<extra>" + str(name) + "</extra>",
            )
        )
        counts.append((color, part.set_index(visit)["n"]))
    band = "95% CI" if statistic == "mean" else "interquartile range"
    fig.update_layout(
        **_LAYOUT,
        title=f"{statistic.capitalize()} at each visit (bars: {band})",
        yaxis_title=score_axis_title(_label(outcome), _direction(outcome, direction)),
        xaxis=_time_xaxis(axis, counts, pad=axis.step() * len(groups) / 2),
        legend=_LEGEND_ABOVE,
        showlegend="group" in summary,
        height=480 + 18 * max(len(groups) - 1, 0),
    )
    if "group" in summary:
        fig.update_layout(margin_t=90)  # room for the legend between the title and the plot
    return fig


def change_over_time(
    change: pd.DataFrame,
    outcome: str,
    *,
    axis: VisitAxis | None = None,
    direction: Direction | None = None,
    by: str | None = None,
) -> go.Figure:
    """Mean change from baseline with 95% CI at each visit on ``axis``; the baseline has no
    change, so no point. With a ``group`` column (``change_summary_by``), one line per group,
    dodged; ``by`` names the attribute in the title. Patients with a change under each visit,
    one line per group."""
    visits = list(dict.fromkeys(str(v) for v in change["visit"]))
    axis = _axis_for(visits, axis)
    groups = _groups(change)
    fig = go.Figure()
    counts = []
    for i, (name, part) in enumerate(groups):
        color = PALETTE[i % len(PALETTE)]
        follow = part.loc[part["mean_change"].notna()]
        visit = follow["visit"].astype(str)
        fig.add_trace(
            go.Scatter(
                x=axis.x(visit) + _dodge(axis, i, len(groups)),
                y=follow["mean_change"],
                mode="lines+markers",
                name=str(name),
                customdata=np.column_stack(
                    [visit, follow["n"], [axis.position_text(v) for v in visit]]
                ),
                line=dict(color=color, width=3),
                error_y=dict(
                    type="data",
                    symmetric=False,
                    array=(follow["ci_high"] - follow["mean_change"]).fillna(0),
                    arrayminus=(follow["mean_change"] - follow["ci_low"]).fillna(0),
                ),
                hovertemplate="%{customdata[0]} %{customdata[2]}: %{y:.2f} (n=%{customdata[1]})"
                "<extra>" + ("" if name == "all" else str(name)) + "</extra>",
            )
        )
        n_with_change = pd.Series(
            np.where(part["note"] == BASELINE_NOTE, "reference", part["n"].astype(object)),
            index=part["visit"].astype(str),
        )
        counts.append((color if len(groups) > 1 else "#333", n_with_change))
    fig.add_hline(y=0, line=dict(color="#333", width=1))
    per_group = "group" in change
    fig.update_layout(
        **_LAYOUT,
        title="Mean change from baseline"
        + (f" by {by}" if per_group and by else "")
        + " (bars: 95% CI)",
        yaxis_title=change_axis_title(
            f"Change from baseline<br>{_label(outcome)}", _direction(outcome, direction)
        ),
        # Shown beside its table (two fifths of the page): expect a narrow plot.
        xaxis=_time_xaxis(axis, counts, pad=axis.step() * len(groups) / 2, plot_px=500),
        legend=_LEGEND_ABOVE,
        showlegend=per_group,
        height=440 + 18 * max(len(groups) - 1, 0),
    )
    if per_group:
        fig.update_layout(margin_t=90)
    return fig


def _band(
    x, low, high, name: str, opacity: float, show_legend: bool = True, hoverinfo: str | None = None
) -> list[go.Scatter]:
    """A shaded band between ``low`` and ``high``: an invisible upper edge, then the lower edge
    filled up to it (plotly's 'tonexty')."""
    return [
        go.Scatter(
            x=x, y=high, mode="lines", line=dict(width=0), showlegend=False, hoverinfo=hoverinfo
        ),
        go.Scatter(
            x=x, y=low, mode="lines", fill="tonexty", fillcolor=f"rgba(0,114,178,{opacity})",
            line=dict(width=0), name=name, showlegend=show_legend, hoverinfo=hoverinfo,
        ),
    ]  # fmt: skip


def spaghetti(
    trajectories: pd.DataFrame,
    visits: list[str],
    outcome: str,
    highlight: str | None = None,
    *,
    by: pd.Series | None = None,
    axis: VisitAxis | None = None,
    direction: Direction | None = None,
) -> go.Figure:
    """Every patient's trajectory as a faint line with the median at each visit emphasised and
    one patient highlighted; visits at their time on ``axis``. With ``by`` (an attribute:
    values indexed by patient_id, e.g. ``dataset.attributes["arm"]``), one panel per level.
    Past MAX_PATIENT_MARKS patients, a 10-90% band instead of the lines."""
    shown = [v for v in visits if v in set(trajectories["visit"].astype(str))] or list(visits)
    axis = _axis_for([str(v) for v in shown], axis)
    data = trajectories.assign(
        patient_id=trajectories["patient_id"].astype(str),
        x=axis.x(trajectories["visit"]),
    )
    data = data.loc[data["x"].notna()].sort_values(["patient_id", "x"])
    if by is not None:
        levels = by.astype(object)
        levels = levels.where(levels.notna(), MISSING).astype(str)
        levels.index = levels.index.astype(str)
        data = data.assign(group=data["patient_id"].map(levels).fillna(MISSING))
    panels = _groups(data)
    n_patients = data["patient_id"].nunique()
    many = n_patients > MAX_PATIENT_MARKS
    cols = min(len(panels), 3)
    rows = math.ceil(len(panels) / cols)
    titles = [
        f"{by.name if by is not None and by.name else 'group'}: {name} "
        f"(n = {part['patient_id'].nunique():,})"
        for name, part in panels
    ]
    fig = make_subplots(
        rows=rows, cols=cols, shared_xaxes="all", shared_yaxes="all",
        subplot_titles=titles if by is not None else None,
        horizontal_spacing=0.07, vertical_spacing=0.18 / rows,
    )  # fmt: skip
    for i, (name, part) in enumerate(panels):
        row, col = i // cols + 1, i % cols + 1
        median_color = "#0072B2"  # the same in every panel: one legend entry for the median
        q = part.groupby("x", observed=True)["value"].quantile([0.1, 0.5, 0.9]).unstack()
        if many:
            for trace in _band(q.index, q[0.1], q[0.9], "10th-90th percentile", 0.2, i == 0):
                trace.update(legendgroup="band")
                fig.add_trace(trace, row=row, col=col)
        else:
            x, y = _with_gaps(part)
            fig.add_trace(
                go.Scattergl(
                    x=x, y=y, mode="lines", name="each patient", legendgroup="each",
                    showlegend=i == 0, line=dict(color="rgba(90,90,90,0.22)", width=1),
                    hoverinfo="skip",
                ),
                row=row, col=col,
            )  # fmt: skip
        fig.add_trace(
            go.Scatter(
                x=q.index, y=q[0.5], mode="lines+markers", name="median",
                legendgroup="median", showlegend=i == 0,
                line=dict(color=median_color, width=4), marker=dict(size=9),
                hovertemplate="median %{y:.2f}<extra>" + str(name) + "</extra>",
            ),
            row=row, col=col,
        )  # fmt: skip
        if highlight is not None and str(highlight) in set(part["patient_id"]):
            mine = part.loc[part["patient_id"] == str(highlight)]
            fig.add_trace(
                go.Scatter(
                    x=mine["x"], y=mine["value"], mode="lines+markers",
                    name=f"patient {highlight}", line=dict(color=HIGHLIGHT, width=3, dash="dot"),
                    marker=dict(size=9, symbol="diamond"),
                ),
                row=row, col=col,
            )  # fmt: skip
    title = "Each patient's values over time" + (
        f", one panel per {by.name}" if by is not None else ""
    )
    if many:
        title += (
            f"<br><sup>n = {n_patients:,}: too many for one line each, shown as the median and "
            "a 10th-90th percentile band</sup>"
        )
    ticks = _stagger(axis, [axis.tick_text(v) for v in axis.visits], 1000 / cols)
    fig.update_xaxes(
        tickmode="array", tickvals=[axis.positions[v] for v in axis.visits], ticktext=ticks,
        tickangle=0, range=axis.range(), showgrid=axis.is_time, zeroline=False,
        automargin=True, title_standoff=10,
    )  # fmt: skip
    for c in range(1, cols + 1):
        fig.update_xaxes(
            title_text=axis.title if cols == 1 else _short_title(axis), row=rows, col=c
        )
    low, high = float(data["value"].min()), float(data["value"].max())
    pad = 0.05 * (high - low) or 0.5
    # An explicit range: WebGL lines in panels that share axes do not autorange reliably.
    fig.update_yaxes(range=[low - pad, high + pad])
    fig.update_yaxes(
        title_text=score_axis_title(_label(outcome), _direction(outcome, direction)), col=1
    )
    fig.update_layout(
        **_LAYOUT,
        title=dict(text=title, y=1, yref="container", yanchor="top", pad=dict(t=16)),
        # Above the panels, under the title: below, it would collide with the visit labels.
        legend=dict(orientation="h", yanchor="bottom", y=1.0 + 0.1 / rows, xanchor="left", x=0),
        height=520 + 380 * (rows - 1),
    )
    fig.update_layout(margin_t=130 if many else 110)
    return fig


def _short_title(axis: VisitAxis) -> str:
    """The axis title without its explanation (small panels have no room for it)."""
    return axis.title.split(" (")[0]


def _with_gaps(data: pd.DataFrame) -> tuple[np.ndarray, np.ndarray]:
    """x and y of all patients in one trace, a NaN gap after each patient (sorted by patient)."""
    last = data["patient_id"].ne(data["patient_id"].shift(-1)).to_numpy()
    position = np.arange(len(data)) + np.concatenate([[0], np.cumsum(last)[:-1]])
    x = np.full(len(data) + int(last.sum()), np.nan)
    y = x.copy()
    x[position] = data["x"].to_numpy()
    y[position] = data["value"].to_numpy()
    return x, y


def attrition_bars(attrition: pd.DataFrame) -> go.Figure:
    """Patients seen at each visit as bars, with the share of those seen at baseline."""
    fig = go.Figure(
        go.Bar(
            x=attrition["visit"],
            y=attrition["patients"],
            text=[f"{n}" for n in attrition["patients"]],
            textposition="outside",
            marker_color="#7F7F7F",
            hovertemplate="%{x}: %{y} patients<extra></extra>",
        )
    )
    fig.update_layout(
        **_LAYOUT,
        title="Patients remaining",
        yaxis=dict(title="patients", range=[0, float(attrition["patients"].max() or 1) * 1.2]),
        xaxis=dict(type="category"),
        height=460,
    )
    return fig


def waterfall(analysis: ResponderAnalysis, scale: str = "percent") -> go.Figure:
    """Each patient's change at the visit, sorted, with the responder thresholds marked."""
    inst = analysis.instrument
    column = "pchg" if scale == "percent" else "chg"
    data = analysis.patients.loc[analysis.patients[column].notna()]
    n = len(data)
    sign = -1 if inst.direction == "lower" else 1
    data = data.sort_values(column, ascending=inst.direction != "lower")
    many = len(data) > MAX_PATIENT_MARKS
    if many:  # 1,000 evenly spaced patients of the sorted order: the same shape, 1,000 bars
        data = data.iloc[np.linspace(0, len(data) - 1, 1000).round().astype(int)]
    better = sign * data[column]
    colours = np.where(better > 0, STATUS_COLOURS["improved"], STATUS_COLOURS["worsened"])
    colours = np.where(better == 0, STATUS_COLOURS["unchanged"], colours)
    fig = go.Figure(
        go.Bar(
            x=list(range(len(data))),
            y=data[column],
            marker_color=colours,
            marker_line_width=0 if many else None,  # 1,000 thin bars: outlines would pale them
            customdata=data["patient_id"],
            hovertemplate="patient %{customdata}<br>%{y:.1f}<extra></extra>",
        )
    )
    if inst.direction is not None:
        if scale == "percent":
            for limit, name in ((IMMPACT_MODERATE, "30%"), (IMMPACT_SUBSTANTIAL, "50%")):
                fig.add_hline(
                    y=sign * limit,
                    line=dict(color="#333", dash="dash"),
                    annotation_text=f"{name} improvement (IMMPACT)",
                    annotation_position="bottom left",
                )
        elif inst.mcid_abs is not None:
            fig.add_hline(
                y=sign * inst.mcid_abs,
                line=dict(color="#333", dash="dash"),
                annotation_text=f"clinically important improvement ({inst.mcid_abs_text()})",
                annotation_position="bottom left",
            )
    unit = "%" if scale == "percent" else (inst.unit or "")
    name = inst.label if inst.known else analysis.outcome
    fig.update_layout(
        **_LAYOUT,
        title=(
            f"Change from baseline at {analysis.visit}, patients sorted"
            f"<br><sup>n = {n:,}; each bar is one of 1,000 evenly spaced patients</sup>"
            if many
            else f"Change from baseline at {analysis.visit}, one bar per patient (n = {n})"
        ),
        yaxis_title=change_axis_title(
            f"Change from baseline ({unit})<br>{name}"
            if unit
            else f"Change from baseline<br>{name}",
            inst.direction,
        ),
        xaxis=dict(title="patients, sorted", showticklabels=False),
        bargap=0.1,
        height=460,
    )
    return fig


def regression_to_mean(analysis: ResponderAnalysis) -> go.Figure:
    """Change against baseline value: the signature of regression to the mean."""
    data = analysis.patients.loc[analysis.patients["chg"].notna()]
    r = "undefined" if analysis.rtm_r is None else f"{analysis.rtm_r:.2f}"
    intercept, slope = analysis.rtm_intercept, analysis.rtm_slope
    line = None if intercept is None or slope is None else (intercept, slope)
    return change_scatter(
        data["base"],
        data["chg"],
        data["patient_id"],
        line,
        f"Change against baseline value (r = {r})",
        score_axis_title(
            f"{_label(analysis.outcome)} at baseline",
            analysis.instrument.direction,
            horizontal=True,
        ),
        change_axis_title(
            f"Change from baseline to {analysis.visit}", analysis.instrument.direction
        ),
    )


def _panel_title(outcome: str) -> str:
    """An outcome's name with which way is better, small, on a second line."""
    better = {"lower": "lower is better ↓", "higher": "higher is better ↑"}.get(
        lookup(outcome).direction or ""
    )
    return _label(outcome) + (f"<br><sup>{better}</sup>" if better else "")


def patient_panels(values: pd.DataFrame, visits: list[str], patient_id: str) -> go.Figure:
    """One small chart per outcome: the patient against the cohort median and IQR band."""
    outcomes = list(dict.fromkeys(values["outcome"]))
    cols = 2
    rows = max(1, math.ceil(len(outcomes) / cols))
    fig = make_subplots(
        rows=rows,
        cols=cols,
        subplot_titles=[_panel_title(o) for o in outcomes],
        vertical_spacing=0.12 / max(1, rows / 3),
        horizontal_spacing=0.08,
    )
    for i, outcome in enumerate(outcomes):
        part = values.loc[values["outcome"] == outcome].set_index("visit").reindex(visits)
        part = part.loc[part["cohort_n"].notna()]
        row, col = i // cols + 1, i % cols + 1
        first = i == 0
        band = _band(
            list(part.index), part["cohort_q1"], part["cohort_q3"], "cohort interquartile range",
            0.15, show_legend=first, hoverinfo="skip",
        )  # fmt: skip
        for trace in band:
            fig.add_trace(trace, row=row, col=col)
        fig.add_trace(
            go.Scatter(
                x=list(part.index),
                y=part["cohort_median"],
                mode="lines",
                line=dict(color="#0072B2", dash="dash"),
                name="cohort median",
                showlegend=first,
            ),
            row=row,
            col=col,
        )
        mine = part["value"].dropna()
        fig.add_trace(
            go.Scatter(
                x=list(mine.index),
                y=mine,
                mode="lines+markers",
                line=dict(color="#D55E00", width=3),
                marker=dict(size=9),
                name=f"patient {patient_id}",
                showlegend=first,
            ),
            row=row,
            col=col,
        )
    fig.update_xaxes(type="category", categoryorder="array", categoryarray=visits)
    fig.update_layout(
        template="plotly_white",
        font=dict(size=13),
        height=300 * rows + 80,
        margin=dict(l=50, r=30, t=60, b=40),
        legend=dict(orientation="h", yanchor="bottom", y=1.0 + 0.12 / rows, x=0),
    )
    return fig


def lsmeans_over_time(
    model: OutcomeModel, *, axis: VisitAxis | None = None, direction: Direction | None = None
) -> go.Figure:
    """The MMRM's least-squares means per arm and visit with 95% CIs, on the time axis, values
    used per visit under it (the over-time chart of the model rather than of the data)."""
    result, outcome = model.result, model.spec.outcome
    lsmeans = result.lsmeans.rename(columns={"estimate": "mean"}).copy()
    lsmeans["visit"] = lsmeans["visit"].astype(str)
    counts = model.counts.rename(columns={"arm": "group"})
    if "arm" in lsmeans:
        lsmeans = lsmeans.rename(columns={"arm": "group"})
        lsmeans["group"] = lsmeans["group"].astype(str)
        lsmeans = lsmeans.merge(counts, on=["group", "visit"], how="left")
    else:
        lsmeans = lsmeans.merge(counts.drop(columns="group"), on="visit", how="left")
    lsmeans["n"] = lsmeans["n"].fillna(0).astype(int)
    visits = [str(v) for v in result.visits]
    fig = over_time(lsmeans, outcome, "mean", axis=_axis_for(visits, axis), direction=direction)
    what = "change from baseline" if model.spec.response == "change" else "value"
    fig.update_layout(
        title=f"Model-estimated mean {what} at each visit (LS means; bars: 95% CI)",
        yaxis_title=(
            change_axis_title(_label(outcome), _direction(outcome, direction))
            if model.spec.response == "change"
            else score_axis_title(_label(outcome), _direction(outcome, direction))
        ),
    )
    return fig


def correlation_heatmap(model: OutcomeModel) -> go.Figure:
    """The MMRM's estimated correlation of values between visits, as a small heat map."""
    visits = [str(v) for v in model.result.visits]
    correlation = np.asarray(model.result.correlation, dtype=float)
    fig = go.Figure(
        go.Heatmap(
            z=correlation,
            x=visits,
            y=visits,
            zmin=-1,
            zmax=1,
            colorscale="RdBu",
            reversescale=True,
            text=np.round(correlation, 2),
            texttemplate="%{text}",
            hovertemplate="%{y} with %{x}: %{z:.2f}<extra></extra>",
            colorbar=dict(title="r", thickness=12),
        )
    )
    fig.update_layout(
        **{**_LAYOUT, "margin": dict(l=60, r=30, t=60, b=40)},
        title="Correlation between visits (estimated)",
        yaxis=dict(autorange="reversed"),
        height=340,
    )
    return fig
