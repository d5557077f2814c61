"""Table 1 computed inside the database: only per-group value counts leave the engine (#19).

analysis.stats.table1.table_one for an EngineCohort. Each patient's attributes (one value per
patient, from every row of the table as the file loader reads them) and baseline outcome values
are formed in the engine; what comes back is each group's size and, per variable and group, the
count of each distinct value. Those counts are the multiset of values, so the mean (exact sum),
SD, np.percentile's linear interpolation, Shapiro-Wilk (values rebuilt only for 3 to 5000 of
them, the rule's range), the Kruskal-Wallis test (mid-ranks from the counts), one-way ANOVA,
chi-squared and the SMDs (Austin 2009; Yang & Dalton 2012) are those of table_one.

Groups with fewer than ``min_group`` patients are suppressed inside the engine: only their size
leaves it (shown in the n row, as in memory), plus, per variable, how many groups hold any value
(a count of groups, which names the test as table_one does). A cell whose group has more than
MAX_DISTINCT distinct values stays empty (listed in ``left_out``; a categorical variable past it
overall is not shown) rather than reading rows.
Differences from memory that a database imposes: attributes varying within a patient are left
out (memory uses the first row's value; a table has no row order), text columns are categorical,
and baseline outcomes follow ``outcome_order`` (default: the cohort's order; memory uses order of
first appearance in the file).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd
from scipy import stats

from analysis.ingest.engine import EngineCohort, text_column
from analysis.instruments import lookup
from analysis.stats.cohort import MISSING, SMALL_GROUP_DEFAULT
from analysis.stats.table1 import TableOne, is_normal, max_pairwise

MAX_DISTINCT = 200_000  # distinct values of a variable per group brought out of the engine
OVERALL = "overall"
_QUANTILES = np.true_divide(np.array([25, 50, 75]), 100)  # as np.percentile divides them


@dataclass
class PushdownTableOne(TableOne):
    """table_one computed in the engine, with where and what it could not show."""

    engine: str = ""
    left_out: dict[str, str] = field(default_factory=dict)  # variable -> why (cells left empty)
    min_group: int = SMALL_GROUP_DEFAULT


@dataclass(frozen=True)
class ValueCounts:
    """A multiset of numbers or labels as sorted distinct values with their counts."""

    values: np.ndarray
    counts: np.ndarray

    @property
    def n(self) -> int:
        """Number of values."""
        return int(self.counts.sum())

    def expand(self) -> pd.Series:
        """The values themselves, sorted (only for small n)."""
        return pd.Series(np.repeat(self.values, self.counts))

    def mean(self) -> float:
        """Mean from an exactly rounded sum."""
        if self.n == 0:
            return math.nan
        return (
            math.fsum(float(v) * int(c) for v, c in zip(self.values, self.counts, strict=True))
            / self.n
        )

    def var(self) -> float:
        """Sample variance (ddof 1), centred on the mean."""
        if self.n < 2:
            return math.nan
        centred = self.values.astype(float) - self.mean()
        return math.fsum(self.counts * centred**2) / (self.n - 1)

    def percentiles(self) -> np.ndarray:
        """Q1, median, Q3 as np.percentile's default (linear) method gives them."""
        cumulative = np.cumsum(self.counts)
        n = int(cumulative[-1])
        virtual = (n - 1) * _QUANTILES
        previous = np.floor(virtual)
        gamma = virtual - previous
        out = []
        for v, p, t in zip(virtual, previous.astype(np.int64), gamma, strict=True):
            if v >= n - 1:
                p = n - 1
            a = self.values[np.searchsorted(cumulative, p, side="right")]
            b = self.values[np.searchsorted(cumulative, min(p + 1, n - 1), side="right")]
            a, b = np.float64(a), np.float64(b)
            diff = b - a
            out.append(b - diff * (1 - t) if t >= 0.5 else a + diff * t)
        return np.asarray(out)


def _format_numeric(part: ValueCounts | None, normal: bool) -> str:
    """table1._format_numeric from value counts."""
    if part is None or part.n == 0:
        return ""
    if normal:
        return f"{part.mean():.1f} ({math.sqrt(part.var()):.1f})"
    q1, median, q3 = part.percentiles()
    return f"{median:.1f} [{q1:.1f},{q3:.1f}]"


def smd_numeric(a: ValueCounts, b: ValueCounts) -> float:
    """table1.smd_numeric (Austin 2009) from value counts."""
    pooled = np.sqrt((a.var() + b.var()) / 2)
    return float((b.mean() - a.mean()) / pooled) if pooled > 0 else 0.0


def smd_categorical(a: ValueCounts, b: ValueCounts, categories: list[str]) -> float:
    """table1.smd_categorical (Yang & Dalton 2012) from level counts."""
    p, q = (_shares(x, categories) for x in (a, b))
    t, c = p[1:], q[1:]
    s = -(np.outer(t, t) + np.outer(c, c)) / 2
    np.fill_diagonal(s, (t * (1 - t) + c * (1 - c)) / 2)
    diff = t - c
    try:
        return float(np.sqrt(diff @ np.linalg.pinv(s) @ diff))
    except np.linalg.LinAlgError:
        return float("nan")


def _shares(part: ValueCounts, categories: list[str]) -> np.ndarray:
    found = dict(zip(part.values.tolist(), part.counts.tolist(), strict=True))
    total = part.n
    return np.array([found.get(c, 0) / total if total else 0.0 for c in categories], dtype=float)


def kruskal_from_counts(parts: list[ValueCounts]) -> float:
    """Kruskal-Wallis p-value (scipy.stats.kruskal's H with its tie correction) from counts."""
    values = np.unique(np.concatenate([p.values.astype(float) for p in parts]))
    per_value = np.zeros((len(parts), len(values)))
    for i, part in enumerate(parts):
        per_value[i, np.searchsorted(values, part.values.astype(float))] = part.counts
    t = per_value.sum(axis=0)
    upper = np.cumsum(t)
    midrank = upper - (t - 1) / 2  # mean of ranks upper - t + 1 .. upper
    n = np.array([p.n for p in parts], dtype=float)
    totaln = float(n.sum())
    ties = 1 - float(np.sum(t**3 - t)) / (totaln**3 - totaln)
    ssbn = sum(float(per_value[i] @ midrank) ** 2 / n[i] for i in range(len(parts)))
    with np.errstate(divide="ignore", invalid="ignore"):
        h = np.float64(12.0 / (totaln * (totaln + 1)) * ssbn - 3 * (totaln + 1)) / ties
    return float(stats.chi2.sf(h, len(parts) - 1))


def anova_from_counts(parts: list[ValueCounts]) -> float:
    """One-way ANOVA p-value (scipy.stats.f_oneway) from counts."""
    n = sum(p.n for p in parts)
    grand = math.fsum(p.mean() * p.n for p in parts) / n
    ssb = math.fsum(p.n * (p.mean() - grand) ** 2 for p in parts)
    ssw = math.fsum(p.var() * (p.n - 1) for p in parts if p.n > 1)
    dfb, dfw = len(parts) - 1, n - len(parts)
    with np.errstate(divide="ignore", invalid="ignore"):
        f = np.float64(ssb / dfb) / np.float64(ssw / dfw if dfw > 0 else math.nan)
    return float(stats.f.sf(f, dfb, dfw)) if dfw > 0 else math.nan


@dataclass
class _Variable:
    name: str  # as Table 1 labels it
    kind: str  # numeric or categorical
    column: str  # x0, x1, ... in the per-patient expression


def _variables(
    cohort: EngineCohort, by: str | None, outcomes: bool, outcome_order: list[str] | None
) -> tuple[Any, list[_Variable], dict[str, str]]:
    """The per-patient Ibis expression (g, x0, x1, ...), its variables, and what was left out."""
    import ibis

    table = cohort.source.table()
    pid = text_column(table, cohort.columns["patient_id"], cohort.padded)
    candidates: list[tuple[str, str, Any]] = []
    for name in cohort.attributes:
        kind_numeric = table[name].type().is_numeric() and not table[name].type().is_boolean()
        if kind_numeric:
            candidates.append((name, "numeric", table[name].cast("float64")))
        else:
            candidates.append(
                (name, "categorical", text_column(table, name, cohort.padded).nullif(""))
            )
    by_value = {"by": text_column(table, by, cohort.padded).nullif("").max()} if by else {}
    per_patient = (
        table.mutate(pid=pid)
        .group_by("pid")
        .aggregate(
            **{f"lo{i}": value.min() for i, (_, _, value) in enumerate(candidates)},
            **{f"hi{i}": value.max() for i, (_, _, value) in enumerate(candidates)},
            **by_value,
        )
    )
    left_out: dict[str, str] = {}
    keep: list[int] = []
    if candidates:
        checks = (
            per_patient.aggregate(
                **{
                    f"v{i}": (per_patient[f"lo{i}"] != per_patient[f"hi{i}"]).ifelse(1, 0).sum()
                    for i in range(len(candidates))
                },
                **{f"d{i}": per_patient[f"hi{i}"].nunique() for i in range(len(candidates))},
            )
            .to_pyarrow()
            .to_pylist()[0]
        )
        for i, (name, _, _) in enumerate(candidates):
            if name == by:
                continue
            if int(checks[f"v{i}"] or 0):
                left_out[name] = "varies within a patient (a database table has no first row)"
            elif int(checks[f"d{i}"] or 0) >= 2:  # constant attributes: as attribute_kinds
                keep.append(i)
    variables = [_Variable(candidates[i][0], candidates[i][1], f"x{i}") for i in keep]
    attributes = per_patient.select(
        "pid", *(["by"] if by else []), **{f"x{i}": per_patient[f"hi{i}"] for i in keep}
    )
    rows = cohort.clean()
    patients = rows.select("patient_id").distinct()
    frame = patients.left_join(attributes, patients.patient_id == attributes.pid).drop("pid")
    if outcomes:
        codes = [c for c in (outcome_order or cohort.outcomes) if c in cohort.outcomes]
        base = rows.filter(rows.visit == cohort.baseline)
        offset = len(candidates)
        base = base.group_by(bid=base.patient_id).aggregate(
            **{
                f"x{offset + i}": base.v.max(where=base.outcome == code)
                for i, code in enumerate(codes)
            }
        )
        frame = frame.left_join(base, frame.patient_id == base.bid).drop("bid")
        for i, code in enumerate(codes):
            label = f"{lookup(code).short_label} at {cohort.baseline}"
            variables.append(_Variable(label, "numeric", f"x{offset + i}"))
    group = (frame["by"].fill_null(MISSING) if by else ibis.literal(OVERALL, type="string")).name(
        "g"
    )
    frame = frame.select(g=group, **{v.column: frame[v.column] for v in variables})
    return frame, variables, left_out


def _group_stats(frame: Any, variables: list[_Variable], min_group: int) -> pd.DataFrame:
    """Per group (and overall, g null): size, non-missing and distinct counts of each
    variable, groups with any value; small groups' counts other than size nulled in the
    engine."""
    import ibis

    measures = {
        **{f"nn_{v.column}": frame[v.column].count() for v in variables},
        **{f"d_{v.column}": frame[v.column].nunique() for v in variables},
    }
    per_group = frame.group_by("g").aggregate(n=frame.count(), **measures)
    big = per_group.n >= min_group
    per_group = per_group.mutate(
        **{f"w_{v.column}": (per_group[f"nn_{v.column}"] > 0).ifelse(1, 0).sum().over()
           for v in variables}
    )  # fmt: skip
    per_group = per_group.mutate(
        **{k: big.ifelse(per_group[k], ibis.null("int64")) for k in measures}
    )
    overall = frame.aggregate(n=frame.count(), **measures).mutate(
        g=ibis.null("string"), **{f"w_{v.column}": ibis.null("int64") for v in variables}
    )
    columns = ["g", "n", *measures, *(f"w_{v.column}" for v in variables)]
    measured = per_group.select(*columns).cast({k: "int64" for k in columns[1:]})
    together = measured.union(overall.select(*columns).cast({k: "int64" for k in columns[1:]}))
    return together.to_pandas()


def _value_counts(
    frame: Any, variables: list[_Variable], cells: dict[str, list[str]]
) -> dict[tuple[str, str], ValueCounts]:
    """(variable column, group or OVERALL) -> its value counts, for the cells asked for
    (``cells``: variable column -> groups, OVERALL among them), from one engine query."""
    import ibis

    keys = ["var", "num", "txt"]
    grouped, overall = [], []
    for v in variables:
        wanted = cells.get(v.column, [])
        value = frame[v.column]
        numeric = v.kind == "numeric"
        rows = frame.filter(value.notnull()).select(
            g=frame.g,
            var=ibis.literal(v.column, type="string"),
            num=value.cast("float64") if numeric else ibis.null("float64"),
            txt=ibis.null("string") if numeric else value.cast("string"),
        )
        groups = [g for g in wanted if g != OVERALL]
        if groups:
            grouped.append(rows.filter(rows.g.isin(groups)))
        if OVERALL in wanted:
            overall.append(rows.drop("g"))
    queries = []
    if grouped:
        stacked = ibis.union(*grouped, distinct=False)
        queries.append(stacked.group_by(["g", *keys]).aggregate(k=ibis._.count()))
    if overall:
        stacked = ibis.union(*overall, distinct=False)
        counted = stacked.group_by(keys).aggregate(k=ibis._.count())
        queries.append(counted.mutate(g=ibis.literal(OVERALL)).select("g", *keys, "k"))
    if not queries:
        return {}
    query = ibis.union(*queries, distinct=False) if len(queries) > 1 else queries[0]
    found = query.to_pandas()
    kinds = {v.column: v.kind for v in variables}
    result: dict[tuple[str, str], ValueCounts] = {}
    for (column, g), part in found.groupby(["var", "g"], sort=False, observed=True):
        values = part["num"] if kinds[str(column)] == "numeric" else part["txt"].astype(str)
        order = np.argsort(values.to_numpy(), kind="stable")
        result[(str(column), str(g))] = ValueCounts(
            values.to_numpy()[order], part["k"].to_numpy(dtype=np.int64)[order]
        )
    return result


def pushdown_table_one(
    cohort: EngineCohort,
    by: str | None = None,
    *,
    outcomes: bool = True,
    p_values: bool = False,
    min_group: int = SMALL_GROUP_DEFAULT,
    outcome_order: list[str] | None = None,
) -> PushdownTableOne:
    """table_one for a database cohort from per-group value counts computed in the engine."""
    if by is not None and by not in cohort.attribute_levels:
        raise ValueError(
            f"{by!r} is not a categorical attribute; choose one of: "
            + ", ".join(cohort.attribute_levels)
        )
    frame, variables, left_out = _variables(cohort, by, outcomes, outcome_order)
    found = _group_stats(frame, variables, min_group)
    overall_row = found.loc[found["g"].isna()].iloc[0]
    per_group = found.loc[found["g"].notna()].set_index("g")
    n_total = int(overall_row["n"])
    groups = sorted(str(g) for g in per_group.index) if by is not None else []
    sizes = {g: int(per_group.loc[g, "n"]) for g in groups}
    suppressed = [g for g in groups if sizes[g] < min_group] if groups else []
    kept = [g for g in groups if g not in suppressed]
    # A variable's cells whose group holds too many distinct values stay in the engine.
    too_many: set[tuple[str, str]] = set()
    for v in variables:
        for g, distinct in [(OVERALL, overall_row[f"d_{v.column}"])] + [
            (g, per_group.loc[g, f"d_{v.column}"]) for g in kept
        ]:
            if int(distinct) > MAX_DISTINCT:
                too_many.add((v.column, g))
                left_out[v.name] = f"more than {MAX_DISTINCT:,} distinct values in a group"
    cells = {
        v.column: [g for g in [OVERALL, *kept] if (v.column, g) not in too_many] for v in variables
    }
    counts = _value_counts(frame, variables, cells)
    # Variables with no value at all (an outcome never measured at baseline) are not shown.
    variables = [v for v in variables if int(overall_row[f"nn_{v.column}"]) > 0]
    empty = ValueCounts(np.array([]), np.array([], dtype=np.int64))

    def part(v: _Variable, g: str) -> ValueCounts | None:
        if (v.column, g) in too_many:
            return None
        return counts.get((v.column, g), empty)

    rows: list[dict[str, object]] = [{"variable": "n", "level": "", "missing": "",
                                      "overall": str(n_total),
             **{g: str(sizes[g]) for g in groups}}]  # fmt: skip
    for v in variables:
        missing = str(n_total - int(overall_row[f"nn_{v.column}"]))
        with_values = int(per_group[f"w_{v.column}"].iloc[0]) if groups else 0
        whole = part(v, OVERALL)
        parts = {g: part(v, g) for g in kept}
        complete = whole is not None and all(p is not None for p in parts.values())
        if v.kind == "numeric":
            normal = whole is not None and 3 <= whole.n <= 5000 and bool(is_normal(whole.expand()))
            label = f"{v.name}, {'mean (SD)' if normal else 'median [Q1,Q3]'}"
            row: dict[str, object] = {"variable": label, "level": "", "missing": missing,
                   "overall": _format_numeric(whole, normal)}  # fmt: skip
            row.update({g: _format_numeric(parts.get(g), normal) for g in groups})
            if len(groups) >= 2:
                row["SMD"] = (
                    max_pairwise([parts[g] for g in groups], smd_numeric)
                    if complete and not suppressed
                    else math.nan
                )
                if p_values:
                    row["p-value"], row["test"] = _numeric_p(
                        parts, normal, with_values, complete and not suppressed
                    )
            rows.append(row)
            continue
        categories = sorted(str(x) for x in whole.values) if whole is not None else []
        total = whole.n if whole is not None else 0
        level_counts = (
            dict(zip(whole.values.tolist(), whole.counts.tolist(), strict=True))
            if whole is not None
            else {}
        )
        first = True
        for level in categories:
            count = int(level_counts.get(level, 0))
            row = {"variable": f"{v.name}, n (%)" if first else "", "level": level,
                   "missing": missing if first else "",
                   "overall": f"{count} ({100 * count / max(total, 1):.1f})"}  # fmt: skip
            for g in groups:
                cell = parts.get(g)
                if cell is None:
                    row[g] = ""
                    continue
                shares = dict(zip(cell.values.tolist(), cell.counts.tolist(), strict=True))
                k = int(shares.get(level, 0))
                row[g] = f"{k} ({100 * k / max(cell.n, 1):.1f})"
            if first and len(groups) >= 2:
                row["SMD"] = (
                    max_pairwise(
                        [parts[g] for g in groups],
                        lambda a, b, c=categories: smd_categorical(a, b, c),
                    )
                    if complete and not suppressed
                    else math.nan
                )
                if p_values:
                    row["p-value"], row["test"] = _categorical_p(
                        parts, categories, with_values, complete and not suppressed
                    )
            rows.append(row)
            first = False
    table = pd.DataFrame(rows).astype(object).fillna("")
    for g in suppressed:
        table.loc[table.index > 0, g] = f"suppressed (n < {min_group})"
    for column in ("SMD", "p-value"):
        if column in table:
            table[column] = pd.to_numeric(table[column].replace("", np.nan), errors="coerce")
            if suppressed:
                table[column] = np.nan
    return PushdownTableOne(table, groups, suppressed, by, cohort.source.kind, left_out, min_group)


def _numeric_p(
    parts: dict[str, ValueCounts | None], normal: bool, with_values: int, computable: bool
) -> tuple[float, str]:
    """table1._numeric_p from counts; the test's name only when some group is suppressed."""
    if with_values < 2:
        return float("nan"), ""
    test = "one-way ANOVA" if normal else "Kruskal-Wallis"
    if not computable:
        return float("nan"), test
    samples = [p for p in parts.values() if p is not None and p.n > 0]
    return (anova_from_counts(samples) if normal else kruskal_from_counts(samples)), test


def _categorical_p(
    parts: dict[str, ValueCounts | None],
    categories: list[str],
    with_values: int,
    computable: bool,
) -> tuple[float, str]:
    """table1._categorical_p (chi-squared on the levels × groups table) from counts."""
    if len(categories) < 2 or with_values < 2:
        return float("nan"), ""
    if not computable:
        return float("nan"), "chi-squared"
    columns = []
    for p in parts.values():
        if p is None or p.n == 0:
            continue
        found = dict(zip(p.values.tolist(), p.counts.tolist(), strict=True))
        columns.append([int(found.get(c, 0)) for c in categories])
    crosstab = np.array(columns, dtype=np.int64).T
    return float(stats.chi2_contingency(crosstab).pvalue), "chi-squared"


__all__ = [
    "MAX_DISTINCT",
    "PushdownTableOne",
    "ValueCounts",
    "pushdown_table_one",
]
