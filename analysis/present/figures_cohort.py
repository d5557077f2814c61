"""Figures for the cohort explorer: forest plot of subgroups, change against a numeric attribute."""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np
import pandas as pd
import plotly.graph_objects as go

from analysis.instruments import Direction, lookup
from analysis.present.figures import change_axis_title, change_scatter
from analysis.present.format import bin_label
from analysis.stats.subgroups import Association

if TYPE_CHECKING:  # the push-down module imports the engine: only its type is needed here
    from analysis.stats.pushdown_association import ChangeBins

_LAYOUT = dict(template="plotly_white", font=dict(size=14), margin=dict(l=60, r=40, t=60, b=50))


def forest_plot(
    table: pd.DataFrame,
    outcome: str,
    visit: str,
    overall: float | None,
    *,
    direction: Direction | None = None,
) -> go.Figure:
    """Mean change with 95% CI for every level of every attribute, n per row; small groups
    are listed but not drawn (suppressed). ``direction``: the user's, for an outcome the
    registry does not know (which way is better is stated on the axis)."""
    rows = table.iloc[::-1]  # plotly draws bottom-up; keep the table's order top-down
    labels = [
        f"{r.attribute}: {r.level} (n={r.n})" + (" – suppressed" if r.small else "")
        for r in rows.itertuples()
    ]
    shown = ~rows["small"].to_numpy()
    x = np.where(shown, rows["mean_change"], np.nan)
    fig = go.Figure(
        go.Scatter(
            x=x,
            y=labels,
            mode="markers",
            marker=dict(color="#0072B2", size=10, symbol="square"),
            error_x=_ci_bars(rows, shown),
            hovertemplate="%{y}<br>mean change %{x:.2f}<extra></extra>",
        )
    )
    fig.add_vline(x=0, line=dict(color="#333", width=1))
    if overall is not None:
        fig.add_vline(
            x=overall,
            line=dict(color="#D55E00", dash="dash"),
            annotation_text=f"all patients {overall:.2f}",
            annotation_position="top",
        )
    inst = lookup(outcome)
    fig.update_layout(
        **_LAYOUT,
        title=f"Mean change from baseline at {visit} by subgroup (95% CI)",
        xaxis_title=change_axis_title(
            f"Change from baseline to {visit} in {inst.label if inst.known else outcome}",
            direction if direction is not None else inst.direction,
            horizontal=True,
        ),
        height=max(300, 34 * len(rows) + 120),
        showlegend=False,
    )
    return fig


def association_scatter(
    association: Association, outcome: str, visit: str, *, direction: Direction | None = None
) -> go.Figure:
    """Change against a numeric attribute, with the least-squares line and rho in the title."""
    points = association.points
    rho = "undefined" if association.rho is None else f"{association.rho:.2f}"
    intercept, slope = association.intercept, association.slope
    line = None if intercept is None or slope is None else (intercept, slope)
    return change_scatter(
        points["x"],
        points["chg"],
        points["patient_id"],
        line,
        f"Change at {visit} against {association.attribute} (Spearman rho = {rho})",
        association.attribute,
        change_axis_title(
            f"Change from baseline to {visit}<br>{lookup(outcome).short_label or outcome}",
            direction if direction is not None else lookup(outcome).direction,
        ),
    )


def binned_change_plot(
    bins: ChangeBins, outcome: str, visit: str, *, direction: Direction | None = None
) -> go.Figure:
    """Mean change with 95% CI per equal-width bin of a numeric attribute, n under each bin;
    suppressed bins are named on the axis but not drawn (the registry's stand-in for a
    scatter of patients, whose rows stay in the database)."""
    table = bins.table
    # A numeric axis at the bins' centres, so that a range with no patient shows as a gap.
    centres = ((table["low"] + table["high"]) / 2).to_numpy(float)
    labels = [
        f"{bin_label(r.low, r.high, bins.digits)}<br>n={r.n}"
        + ("<br>suppressed" if r.small else "")
        for r in table.itertuples()
    ]
    shown = ~table["small"].to_numpy(bool)
    y = np.where(shown, table["mean_change"], np.nan)
    fig = go.Figure(
        go.Scatter(
            x=centres,
            y=y,
            customdata=labels,
            mode="markers",
            marker=dict(color="#0072B2", size=10, symbol="square"),
            error_y=_ci_bars(table, shown),
            hovertemplate="%{customdata}<br>mean change %{y:.2f}<extra></extra>",
        )
    )
    fig.add_hline(y=0, line=dict(color="#333", width=1))
    inst = lookup(outcome)
    fig.update_layout(
        **_LAYOUT,
        title=f"Mean change at {visit} by {bins.attribute} (95% CI)",
        xaxis_title=bins.attribute,
        yaxis_title=change_axis_title(
            f"Change from baseline to {visit}<br>{inst.short_label or outcome}",
            direction if direction is not None else inst.direction,
        ),
        xaxis=dict(tickmode="array", tickvals=centres, ticktext=labels),
        height=450,
        showlegend=False,
    )
    return fig


def _ci_bars(table: pd.DataFrame, shown: np.ndarray) -> dict:
    """Plotly error bars from mean_change to ci_low and ci_high; none where not ``shown``."""
    return dict(
        type="data",
        symmetric=False,
        array=np.where(shown, table["ci_high"] - table["mean_change"], np.nan),
        arrayminus=np.where(shown, table["mean_change"] - table["ci_low"], np.nan),
    )
