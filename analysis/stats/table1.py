"""Table 1: baseline characteristics overall and by group, as clinical papers print them.

Conventions follow the Python package tableone (Pollard et al. 2018, JAMIA Open 1:26-31):
- numeric: mean (SD) when roughly normal, else median [Q1,Q3]. The rule here: Shapiro-Wilk
  p >= 0.05 on all non-missing values (3 to 5000 values) means roughly normal;
- categorical: n (%) of non-missing values per level; a missing count per variable;
- standardised mean differences for two groups: numeric (mean2 - mean1) / sqrt((sd1^2 + sd2^2)/2)
  (Austin 2009, Stat Med 28:3083); categorical by Yang & Dalton (2012, SAS Global Forum 335);
  with more groups, the largest pairwise SMD;
- optional p-values, descriptive only: chi-squared for categories, one-way ANOVA for normal and
  Kruskal-Wallis for non-normal numeric variables.
Groups smaller than the small-group threshold are suppressed (shown as "suppressed (n < 5)").
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass

import numpy as np
import pandas as pd
from scipy import stats

from analysis.ingest.dataset import Dataset
from analysis.instruments import lookup
from analysis.stats.cohort import MISSING, SMALL_GROUP_DEFAULT, attribute_kinds, small_groups

NORMALITY_RULE = (
    "Numeric variables are shown as mean (SD) when a Shapiro-Wilk test on all values gives "
    "p >= 0.05 (roughly normal), otherwise as median [Q1,Q3]."
)


@dataclass
class TableOne:
    """Table 1: the formatted rows, the groups, which were suppressed, and the grouping."""

    table: pd.DataFrame  # variable, level, missing, overall, <groups...>, SMD, p-value, test
    groups: list[str]
    suppressed: list[str]
    by: str | None


def _format_numeric(values: pd.Series, normal: bool) -> str:
    values = values.dropna()
    if values.empty:
        return ""
    if normal:
        return f"{values.mean():.1f} ({values.std():.1f})"
    q1, median, q3 = np.percentile(values, [25, 50, 75])
    return f"{median:.1f} [{q1:.1f},{q3:.1f}]"


def is_normal(values: pd.Series) -> bool:
    """Table 1's rule for mean (SD) over median [IQR]: Shapiro-Wilk p >= 0.05 (3 to 5,000
    values, at least 3 distinct; NORMALITY_RULE words it for the reader)."""
    values = values.dropna()
    if not 3 <= len(values) <= 5000 or values.nunique() < 3:
        return False
    return bool(stats.shapiro(values).pvalue >= 0.05)


def smd_numeric(a: pd.Series, b: pd.Series) -> float:
    """Standardised mean difference of a numeric variable (Austin 2009, Stat Med 28:3083)."""
    a, b = a.dropna(), b.dropna()
    pooled = np.sqrt((a.var() + b.var()) / 2)
    return float((b.mean() - a.mean()) / pooled) if pooled > 0 else 0.0


def smd_categorical(a: pd.Series, b: pd.Series, categories: list[str]) -> float:
    """Yang & Dalton (2012): sqrt((T - C)' S^-1 (T - C)) over levels 2..k."""
    p = a.dropna().value_counts(normalize=True).reindex(categories, fill_value=0).to_numpy()
    q = b.dropna().value_counts(normalize=True).reindex(categories, fill_value=0).to_numpy()
    t, c = p[1:], q[1:]
    s = -(np.outer(t, t) + np.outer(c, c)) / 2
    np.fill_diagonal(s, (t * (1 - t) + c * (1 - c)) / 2)
    diff = t - c
    try:
        value = float(np.sqrt(diff @ np.linalg.pinv(s) @ diff))
    except np.linalg.LinAlgError:
        return float("nan")
    return value


def _variables(dataset: Dataset, by: str | None, outcomes: bool) -> pd.DataFrame:
    """One row per patient: attributes plus baseline outcome values."""
    table = dataset.attributes.reindex(dataset.patients).copy()
    if outcomes:
        base = dataset.long.loc[dataset.long["visit"] == dataset.baseline]
        wide = base.pivot(index="patient_id", columns="outcome", values="value")
        for code in dataset.outcomes:
            if code in wide.columns:
                table[f"{lookup(code).short_label} at {dataset.baseline}"] = wide[code]
    return table


def table_one(
    dataset: Dataset,
    by: str | None = None,
    *,
    outcomes: bool = True,
    p_values: bool = False,
    min_group: int = SMALL_GROUP_DEFAULT,
) -> TableOne:
    """Baseline characteristics overall and by group, as the tableone package lays them out."""
    data = _variables(dataset, by, outcomes)
    kinds = {k: v for k, v in attribute_kinds(dataset).items() if k != by}
    for column in data.columns:
        if column not in dataset.attributes.columns:
            kinds[column] = "numeric"
    groups: list[str] = []
    group_of = None
    if by is not None:
        raw = data[by].astype(object)
        group_of = raw.where(raw.notna(), MISSING).astype(str)
        groups = sorted(group_of.unique())
    sizes = group_of.value_counts() if group_of is not None else pd.Series(dtype=int)
    suppressed = small_groups(sizes.reindex(groups), min_group) if groups else []

    rows: list[dict[str, object]] = [{"variable": "n", "level": "", "missing": "",
                                      "overall": str(len(data)),
             **{g: str(int(sizes[g])) for g in groups}}]  # fmt: skip
    for column, kind in kinds.items():
        values = data[column]
        missing = str(int(values.isna().sum()))
        parts = {g: values[group_of == g] for g in groups}
        if kind == "numeric":
            normal = is_normal(values)
            label = f"{column}, {'mean (SD)' if normal else 'median [Q1,Q3]'}"
            row: dict[str, object] = {"variable": label, "level": "", "missing": missing,
                   "overall": _format_numeric(values, normal)}  # fmt: skip
            row.update({g: _format_numeric(parts[g], normal) for g in groups})
            if len(groups) >= 2:
                row["SMD"] = max_pairwise([parts[g] for g in groups], smd_numeric)
                if p_values:
                    row["p-value"], row["test"] = _numeric_p(parts, normal)
            rows.append(row)
        else:
            text = values.astype(object).dropna().astype(str)
            categories = sorted(text.unique())
            first = True
            for level in categories:
                count = int((text == level).sum())
                row = {"variable": f"{column}, n (%)" if first else "", "level": level,
                       "missing": missing if first else "",
                       "overall": f"{count} ({100 * count / max(len(text), 1):.1f})"}  # fmt: skip
                for g in groups:
                    part = parts[g].astype(object).dropna().astype(str)
                    k = int((part == level).sum())
                    row[g] = f"{k} ({100 * k / max(len(part), 1):.1f})"
                if first and len(groups) >= 2:
                    row["SMD"] = max_pairwise(
                        [parts[g].astype(object).dropna().astype(str) for g in groups],
                        lambda a, b, c=categories: smd_categorical(a, b, c),
                    )
                    if p_values:
                        row["p-value"], row["test"] = _categorical_p(text, group_of)
                rows.append(row)
                first = False
    table = pd.DataFrame(rows).astype(object).fillna("")
    for g in suppressed:
        table.loc[table.index > 0, g] = f"suppressed (n < {min_group})"
    # SMD and p-value stay numbers (NaN where a row has none); present.tables formats them.
    for column in ("SMD", "p-value"):
        if column in table:
            table[column] = pd.to_numeric(table[column].replace("", np.nan), errors="coerce")
            if suppressed:
                table[column] = np.nan
    return TableOne(table, groups, suppressed, by)


def max_pairwise(parts: list[pd.Series], smd) -> float:
    """The SMD of two groups, or of more the pairwise SMD largest in absolute value."""
    values = [smd(a, b) for a, b in itertools.combinations(parts, 2)]
    if len(values) == 1:
        return values[0]
    return max(values, key=abs) if values else float("nan")


def _numeric_p(parts: dict[str, pd.Series], normal: bool) -> tuple[float, str]:
    samples = [p.dropna().to_numpy() for p in parts.values() if p.notna().sum() > 0]
    if len(samples) < 2:
        return float("nan"), ""
    if normal:
        return float(stats.f_oneway(*samples).pvalue), "one-way ANOVA"
    return float(stats.kruskal(*samples).pvalue), "Kruskal-Wallis"


def _categorical_p(values: pd.Series, group_of: pd.Series) -> tuple[float, str]:
    table = pd.crosstab(values, group_of.loc[values.index])
    if table.shape[0] < 2 or table.shape[1] < 2:
        return float("nan"), ""
    return float(stats.chi2_contingency(table).pvalue), "chi-squared"
