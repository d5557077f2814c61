"""Change against a numeric attribute computed inside the database: only sums leave it (#19).

analysis.stats.subgroups.continuous_association for an EngineCohort, without the scatter of
patients. In the engine, each patient's attribute value (from every row of the table, as
analysis.stats.pushdown_table1 reads attributes) is paired with the change from the baseline to
``visit``, rounded as analysis.stats.paired.rounded_change rounds it (numpy's np.round(d, 12):
multiply by 1e12, round half to even, divide; written here in SQL so that the engine ties the
same changes as memory). Then, still in the engine:
- the pairs are counted per (attribute value, change);
- each margin's mid-ranks come from a running sum of those counts, ordered by the value:
  patients ranked below + (count + 1) / 2, as R's rank(ties.method = "average"), doubled so
  that they are whole numbers and centred on the mean rank (n + 1) / 2 so that nothing cancels;
- only n, the sums of the ranks, of their squares and of their products, and the numbers of
  distinct attribute values and changes (ties) leave the database.
rho is Pearson's r of the mid-ranks, as R's cor.test(method = "spearman") computes it, and its
p-value comes from rank_tests.spearman_p_value, the code rank_tests.spearman runs. The engine's
approximate quantiles or percent ranks are never used: the ranks are exact counts. Up to about
200,000 patients every sum is a whole number below 2^53 and so exact in doubles.

Fewer than ``min_group`` patients with both values and the attribute: suppressed inside the
engine (only their number leaves), nothing is computed.

In place of the scatter of each patient (rows must not leave the database): the mean change
with its 95% t interval per equal-width bin of the attribute (bin edges on round numbers, so
that they do not give away the least or greatest value), bins with fewer than ``min_group``
patients suppressed inside the engine.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from analysis.ingest.engine import EngineCohort, text_column
from analysis.stats import rank_tests as rt
from analysis.stats.cohort import SMALL_GROUP_DEFAULT
from analysis.stats.paired import CHANGE_DECIMALS

CONF = 0.95
TARGET_BINS = 6  # about this many bins of the attribute (fewer when its range is narrow)
_SCALE = 10.0**CHANGE_DECIMALS  # np.round(d, 12) multiplies by this, as a double
# Below this |change|, change * 1e12 fits a BIGINT; above it, it is past 2^53, hence already a
# whole number, and numpy's rounding step changes nothing.
_WHOLE_LIMIT = 1e6
_NICE = (1.0, 2.0, 2.5, 5.0, 10.0)  # bin widths: these times a power of ten


@dataclass
class PushdownAssociation:
    """continuous_association's rho, p and method from the engine, without the points."""

    outcome: str
    visit: str
    attribute: str
    n: int  # patients with the baseline, the visit and the attribute
    rho: float | None = None  # None: suppressed or undefined (see ``reason``)
    p_value: float | None = None
    method: str | None = None  # rank_tests.METHOD_SPEARMAN_*
    has_ties: bool | None = None
    suppressed: bool = False  # fewer than min_group patients: nothing left the engine
    reason: str = ""
    engine: str = ""
    min_group: int = SMALL_GROUP_DEFAULT


@dataclass
class ChangeBins:
    """Mean change per equal-width bin of a numeric attribute, computed in the engine."""

    outcome: str
    visit: str
    attribute: str
    width: float
    digits: int  # decimals that show the bin edges exactly
    # low, high, n, mean_change, ci_low, ci_high, small (the last bin includes its high edge)
    table: pd.DataFrame = field(default_factory=pd.DataFrame)
    reason: str = ""
    min_group: int = SMALL_GROUP_DEFAULT


def numeric_attributes(cohort: EngineCohort) -> list[str]:
    """Attributes with a numeric column, constant within every patient and with two or more
    values (attribute_kinds' numeric ones; pushdown_table1 decides the same way)."""
    table = cohort.source.table()
    names = [
        name
        for name in cohort.attributes
        if table[name].type().is_numeric() and not table[name].type().is_boolean()
    ]
    if not names:
        return []
    pid = text_column(table, cohort.columns["patient_id"], cohort.padded)
    per_patient = (
        table.mutate(pid=pid)
        .group_by("pid")
        .aggregate(
            **{f"lo{i}": table[n].cast("float64").min() for i, n in enumerate(names)},
            **{f"hi{i}": table[n].cast("float64").max() for i, n in enumerate(names)},
        )
    )
    checks = (
        per_patient.aggregate(
            **{
                f"v{i}": (per_patient[f"lo{i}"] != per_patient[f"hi{i}"]).ifelse(1, 0).sum()
                for i in range(len(names))
            },
            **{f"d{i}": per_patient[f"hi{i}"].nunique() for i in range(len(names))},
        )
        .to_pyarrow()
        .to_pylist()[0]
    )
    # Varying within a patient: left out (a database table has no first row to take).
    return [
        name
        for i, name in enumerate(names)
        if not int(checks[f"v{i}"] or 0) and int(checks[f"d{i}"] or 0) >= 2
    ]


def check_request(cohort: EngineCohort, outcome: str, visit: str, attribute: str) -> None:
    """ValueError naming what is not in the data (as pushdown_subgroups.check_request)."""
    from analysis.stats.pushdown_subgroups import check_outcome_visit

    check_outcome_visit(cohort, outcome, visit)
    numeric = numeric_attributes(cohort)
    if attribute not in numeric:
        raise ValueError(
            f"{attribute!r} is not a numeric attribute; choose one of: " + ", ".join(numeric)
        )


def rounded_change_expression(d: Any) -> Any:
    """np.round(d, 12) as an Ibis expression: d * 1e12 rounded half to even (numpy's rint),
    divided by 1e12; no DECIMAL cast (PostgreSQL's keeps 15 significant digits only)."""
    import ibis

    y = d * _SCALE
    small = d.abs() < _WHOLE_LIMIT
    safe = small.ifelse(y, ibis.literal(0.0))  # floor() is cast to BIGINT: keep it in range
    low = safe.floor()
    fraction = safe - low.cast("float64")  # exact: y and floor(y) share their high bits
    up = (fraction > 0.5) | ((fraction == 0.5) & (low % 2 != 0))  # half to even
    whole = (low + up.ifelse(1, 0)).cast("float64")
    return small.ifelse(whole, y) / _SCALE


def _attribute_values(cohort: EngineCohort, attribute: str) -> Any:
    """pid, x: each patient's attribute value as a double (from every row of the table)."""
    table = cohort.source.table()
    pid = text_column(table, cohort.columns["patient_id"], cohort.padded)
    rows = table.mutate(pid=pid, x=table[attribute].cast("float64"))
    return rows.group_by("pid").aggregate(x=rows.x.max())


def pairs_expression(cohort: EngineCohort, outcome: str, visit: str, attribute: str) -> Any:
    """x, c per patient with ``outcome`` at the baseline and ``visit`` and a value of
    ``attribute``: the attribute and the rounded change (in the engine)."""
    rows = cohort.clean()
    rows = rows.filter(rows.outcome == outcome)
    base = rows.filter(rows.visit == cohort.baseline).select("patient_id", b=rows.v)
    follow = rows.filter(rows.visit == visit).select("patient_id", a=rows.v)
    pairs = follow.join(base, "patient_id")
    values = _attribute_values(cohort, attribute)
    joined = pairs.join(values, pairs.patient_id == values.pid)
    joined = joined.filter(joined.x.notnull())
    return joined.select(x=joined.x, c=rounded_change_expression(joined.a - joined.b))


def rank_sums_expression(
    cohort: EngineCohort, outcome: str, visit: str, attribute: str, min_group: int
) -> Any:
    """One row: n, and (nulled in the engine below ``min_group`` patients) the sums of the
    centred doubled mid-ranks r of x and s of c, of r², s², r·s, and the distinct counts."""
    import ibis

    pairs = pairs_expression(cohort, outcome, visit, attribute)
    cells = pairs.group_by(["x", "c"]).aggregate(k=pairs.count())

    def margin(column: str, rank: str) -> Any:
        # Per distinct value: 2 × mid-rank - (n + 1) = 2 × (ranked up to here) - count - n.
        m = cells.group_by(column).aggregate(t=cells.k.sum())
        m = m.mutate(up_to=m.t.cumsum(order_by=m[column]), total=m.t.sum().over())
        return m.select(column, **{rank: 2 * m.up_to - m.t - m.total})

    ranked = cells.join(margin("x", "r"), "x").join(margin("c", "s"), "c")
    k, r, s = (ranked[name].cast("float64") for name in ("k", "r", "s"))
    sums = ranked.aggregate(
        n=ranked.k.sum(),
        n_x=ranked.x.nunique(),
        n_c=ranked.c.nunique(),
        sum_r=(k * r).sum(),
        sum_s=(k * s).sum(),
        sum_rr=(k * r * r).sum(),
        sum_ss=(k * s * s).sum(),
        sum_rs=(k * r * s).sum(),
    )
    big = sums.n.fill_null(0) >= min_group
    measures = ("sum_r", "sum_s", "sum_rr", "sum_ss", "sum_rs")
    return sums.mutate(
        **{name: big.ifelse(sums[name], ibis.null("float64")) for name in measures},
        **{name: big.ifelse(sums[name], ibis.null("int64")) for name in ("n_x", "n_c")},
    )


def pushdown_association(
    cohort: EngineCohort,
    outcome: str,
    visit: str,
    attribute: str,
    min_group: int = SMALL_GROUP_DEFAULT,
) -> PushdownAssociation:
    """continuous_association's Spearman rho, p and method (R's cor.test(method =
    "spearman")) from rank sums computed in the engine; ValueError for unknown names."""
    check_request(cohort, outcome, visit, attribute)
    row = rank_sums_expression(cohort, outcome, visit, attribute, min_group).to_pyarrow()
    found = row.to_pylist()[0]
    n = int(found["n"] or 0)
    result = PushdownAssociation(
        outcome, visit, attribute, n, engine=cohort.source.kind, min_group=min_group
    )
    if n < min_group:
        result.suppressed = True
        result.reason = f"fewer than {min_group} patients have {attribute} and both values"
        return result
    n_x, n_c = int(found["n_x"]), int(found["n_c"])
    result.has_ties = min(n_x, n_c) < n
    # As continuous_association: rho only with 3 pairs and spread in both.
    if n < 3 or n_x < 2 or n_c < 2:
        result.reason = (
            "fewer than 3 patients" if n < 3 else f"the {'change' if n_x > 1 else attribute} "
            "is the same for every patient"
        )  # fmt: skip
        return result
    s_r, s_s = float(found["sum_r"]), float(found["sum_s"])
    # Pearson's r of the ranks; the sums are centred (s_r = s_s = 0), the terms kept for form.
    cov = float(found["sum_rs"]) - s_r * s_s / n
    var_r = float(found["sum_rr"]) - s_r * s_r / n
    var_s = float(found["sum_ss"]) - s_s * s_s / n
    rho = min(1.0, max(-1.0, cov / math.sqrt(var_r * var_s)))  # R's cor() clamps as well
    result.rho = rho
    result.p_value, result.method = rt.spearman_p_value(rho, n, result.has_ties)
    return result


def nice_width(span: float, target: int = TARGET_BINS) -> tuple[float, int]:
    """The least 1, 2, 2.5 or 5 × 10^k at least span / target, and the decimals its
    multiples need (the 'nice numbers' of Heckbert 1990, Graphics Gems)."""
    raw = span / target
    exponent = math.floor(math.log10(raw))
    mantissa = next(m for m in _NICE if m * 10.0**exponent >= raw)
    if mantissa == 10.0:
        mantissa, exponent = 1.0, exponent + 1
    return mantissa * 10.0**exponent, max(0, -exponent + (1 if mantissa == 2.5 else 0))


def bin_edges(low: float, high: float, target: int = TARGET_BINS) -> tuple[float, float, int]:
    """origin, width and number of equal-width bins covering [low, high], edges on multiples
    of a nice width (so that neither low nor high can be read off them)."""
    width, _ = nice_width(high - low, target)
    origin = math.floor(low / width) * width
    count = max(1, math.ceil((high - origin) / width))
    return origin, width, count


def bin_index_expression(x: Any, origin: float, width: float, count: int) -> Any:
    """Bin of x: floor((x - origin) / width), kept in 0 .. count - 1 (the greatest value sits
    on the last bin's high edge; a double origin may round a hair above the least value)."""
    import ibis

    return ibis.greatest(ibis.least(((x - origin) / width).floor(), count - 1), 0)


def pushdown_change_bins(
    cohort: EngineCohort,
    outcome: str,
    visit: str,
    attribute: str,
    min_group: int = SMALL_GROUP_DEFAULT,
    target: int = TARGET_BINS,
) -> ChangeBins:
    """Mean change with its 95% t interval (as compare_subgroups' groups) per equal-width bin
    of ``attribute``; bins with fewer than ``min_group`` patients suppressed in the engine."""
    import ibis
    from scipy import stats

    check_request(cohort, outcome, visit, attribute)
    pairs = pairs_expression(cohort, outcome, visit, attribute)
    # The range fixes the bins; it is rounded outwards to the bin edges before it is shown.
    span = pairs.aggregate(n=pairs.count(), low=pairs.x.min(), high=pairs.x.max())
    found = span.to_pyarrow().to_pylist()[0]
    result = ChangeBins(outcome, visit, attribute, math.nan, 0, min_group=min_group)
    n = int(found["n"] or 0)
    if n < min_group:
        result.reason = f"fewer than {min_group} patients have {attribute} and both values"
        return result
    low, high = float(found["low"]), float(found["high"])
    if low == high:
        result.reason = f"{attribute} is the same for every patient"
        return result
    origin, width, count = bin_edges(low, high, target)
    result.width, result.digits = width, nice_width(high - low, target)[1]
    binned = pairs.mutate(i=bin_index_expression(pairs.x, origin, width, count))
    binned = binned.mutate(mc=binned.c.mean().over(group_by="i"))
    centred = binned.c - binned.mc
    per_bin = binned.group_by("i").aggregate(
        n=binned.count(), sum_c=binned.c.sum(), ss=(centred * centred).sum()
    )
    big = per_bin.n >= min_group
    per_bin = per_bin.mutate(
        sum_c=big.ifelse(per_bin.sum_c, ibis.null("float64")),
        ss=big.ifelse(per_bin.ss, ibis.null("float64")),
    ).order_by("i")
    rows = []
    for r in per_bin.to_pyarrow().to_pylist():
        i, k = int(r["i"]), int(r["n"])
        small = k < min_group
        mean = sd = ci_low = ci_high = math.nan
        if not small:
            mean = float(r["sum_c"]) / k
            sd = math.sqrt(float(r["ss"]) / (k - 1)) if k > 1 else math.nan
            if k > 1 and sd > 0:
                ci_low, ci_high = stats.t.interval(CONF, k - 1, mean, sd / np.sqrt(k))
        rows.append(dict(low=origin + i * width, high=origin + (i + 1) * width, n=k,
                         mean_change=mean, ci_low=float(ci_low), ci_high=float(ci_high),
                         small=small))  # fmt: skip
    result.table = pd.DataFrame(rows)
    return result


__all__ = [
    "ChangeBins",
    "PushdownAssociation",
    "bin_edges",
    "numeric_attributes",
    "pushdown_association",
    "pushdown_change_bins",
    "rounded_change_expression",
]
