"""Stage 5 of ingest: the canonical long table checked and turned into a ``Dataset``.

In order: visit labels reconciled (see below), values outside an instrument's valid range
left out, repeated patient × visit × outcome rows resolved (identical copies kept once,
conflicting values none used), attributes reduced to one row per patient, visits ordered and
the baseline chosen, then checks on the result (patients without baseline, outcomes not in the
registry). Each step reports what it did, with rows and columns.

Visit labels: labels that differ only in case or spaces become the spelling seen first
(``visit_spellings``); labels that name the same time point ("m6", "6 months", "Month 06")
become the one holding the most values (``visit_labels_merged``; the rule is in
``analysis.ingest.visits``) unless some patient has the same outcome under both
(``visit_labels_kept_apart``); the user's ``visit_map`` (label in the file -> visit) overrides
both (``visit_map_applied``). A label held by a few patients that looks like a misspelling of
one held by most is flagged (``probable_visit_typo``). The mapping applied is kept as
``Dataset.visit_map`` so it can be shown and edited.
"""

from __future__ import annotations

from collections.abc import Mapping
from itertools import combinations

import numpy as np
import pandas as pd

from analysis.ingest.adapt import Adapted
from analysis.ingest.codes import (
    combined_key,
    duplicated_keys,
    keep_rows,
    label_codes,
    map_labels,
    map_values,
    strip_labels,
)
from analysis.ingest.dataset import Dataset
from analysis.ingest.findings import ValidationReport, cell_locations, describe_locations
from analysis.ingest.read import RawTable
from analysis.ingest.tidy import LONG_COLUMNS, TidyTable, parse_numbers
from analysis.ingest.visits import (
    detect_baseline,
    near_identical,
    normalise_label,
    order_visits,
    probable_typos,
    propose_visit_mapping,
)
from analysis.instruments import lookup


def validate(
    table: TidyTable,
    report: ValidationReport,
    *,
    source: RawTable,
    adapted: Adapted,
    visit_map: Mapping[str, str] | None = None,
    synthetic: bool = False,
) -> Dataset | None:
    """The checked ``Dataset``, or None (an error in the report) when no value is usable."""
    records, applied = _reconcile_visits(table, report, visit_map)
    accounting = dict(table.accounting)
    out_of_range = _out_of_range(records)
    if out_of_range.any():
        _report_out_of_range(report, records.loc[out_of_range])
    accounting["left out: outside the instrument's valid range"] = int(out_of_range.sum())
    records = keep_rows(records, ~out_of_range)
    records, n_identical, n_conflicting = _resolve_duplicates(records, report)
    accounting["merged: exact duplicate rows"] = n_identical
    accounting["left out: conflicting duplicates"] = n_conflicting
    accounting["values used"] = len(records)
    report.accounting = accounting
    if records.empty:
        report.add("error", "no_values", "No usable numeric scores are left in the file.")
        return None

    attributes = _clean_attributes(table.attributes, source.decimal_comma, report)
    long = records.drop(columns="raw_value").reset_index(drop=True)
    if list(long.columns) != LONG_COLUMNS:
        long = long[LONG_COLUMNS]
    visits, rule, baseline = _order_and_baseline(long, applied, adapted)
    dataset = Dataset(
        long=long,
        attributes=attributes,
        visits=visits,
        visit_order_rule=rule,
        baseline=baseline,
        source_name=source.source_name,
        source_format=f"{source.describe()}, {adapted.kind or table.layout} layout",
        report=report,
        synthetic=synthetic,
        event_map=adapted.event_map,
        visit_map=applied,
    )
    _post_checks(dataset, report)
    return dataset


def _reconcile_visits(
    table: TidyTable, report: ValidationReport, visit_map: Mapping[str, str] | None
) -> tuple[pd.DataFrame, dict[str, str]]:
    """The records with each visit label replaced by its visit, and that mapping (every label
    holding a value, in file order)."""
    records = table.records
    codes, labels = label_codes(records["visit"])
    counts = np.bincount(codes, minlength=len(labels))
    spellings = table.first_appearance([str(labels[c]) for c in np.flatnonzero(counts)])
    position = {str(label): i for i, label in enumerate(labels)}
    by_key: dict[str, list[str]] = {}
    for spelling in spellings:
        by_key.setdefault(normalise_label(spelling), []).append(spelling)
    canonical = {s: group[0] for group in by_key.values() for s in group}
    held: dict[str, int] = {}
    for s in spellings:
        held[canonical[s]] = held.get(canonical[s], 0) + int(counts[position[s]])
    members = {c: [position[s] for s in spellings if canonical[s] == c] for c in held}
    proposed = propose_visit_mapping(held)
    if any(target != label for label, target in proposed.items()):
        proposed = _keep_apart(records, codes, members, proposed, report)
    chosen = _user_choices(visit_map, spellings)
    final = {}  # the user's choice, else the proposal (renamed as the user renamed it)
    for s in spellings:
        automatic = proposed[canonical[s]]
        final[s] = chosen.get(s) or chosen.get(automatic) or automatic

    spelling_groups = [g for g in by_key.values() if len(g) > 1 and not set(g) & set(chosen)]
    if spelling_groups:
        described = "; ".join(
            f"{', '.join(repr(s) for s in g)} → {g[0]!r}" for g in spelling_groups
        )
        report.add(
            "warning",
            "visit_spellings",
            "Visit labels that differ only in case or spaces were treated as one visit: "
            + described
            + ".",
        )
    merged = [
        c for c in held if proposed[c] != c and not set(_spellings_of(c, canonical)) & set(chosen)
    ]
    if merged:
        report.add(
            "warning",
            "visit_labels_merged",
            "Visit labels that name the same time point were treated as one visit (change this "
            "in the visit mapping): " + _describe_mapping({c: final[c] for c in merged}) + ".",
        )
    renamed = {s: v for s, v in chosen.items() if v != s}
    if renamed:
        report.add(
            "note",
            "visit_map_applied",
            "Visit labels mapped as you set them: " + _describe_mapping(renamed) + ".",
        )
    _report_typos(table, codes, members, (canonical, proposed, chosen, final), report)
    if any(final[s] != s for s in spellings):
        records["visit"] = map_labels(records["visit"], lambda t: final.get(str(t), str(t)))
    return records, final


def _spellings_of(label: str, canonical: Mapping[str, str]) -> list[str]:
    """Every spelling that became ``label`` by case and spaces."""
    return [s for s, c in canonical.items() if c == label]


def _describe_mapping(mapping: Mapping[str, str]) -> str:
    """ "'6 months', 'Month 06' → 'm6'; ..." grouped by target, in the mapping's order."""
    by_target: dict[str, list[str]] = {}
    for label, target in mapping.items():
        by_target.setdefault(target, []).append(label)
    return "; ".join(
        f"{', '.join(repr(label) for label in labels)} → {target!r}"
        for target, labels in by_target.items()
    )


def _user_choices(visit_map: Mapping[str, str] | None, spellings: list[str]) -> dict[str, str]:
    """The visit the user chose for each spelling they named (by its text, or ignoring case and
    spaces); a blank choice leaves the label to the automatic rule."""
    if not visit_map:
        return {}
    exact = {str(k).strip(): str(v).strip() for k, v in visit_map.items() if str(v).strip()}
    loose = {normalise_label(k): v for k, v in exact.items()}
    chosen = {}
    for spelling in spellings:
        visit = exact.get(spelling) or loose.get(normalise_label(spelling))
        if visit:
            chosen[spelling] = visit
    return chosen


def _keep_apart(
    records: pd.DataFrame,
    codes: np.ndarray,
    members: Mapping[str, list[int]],
    proposed: dict[str, str],
    report: ValidationReport,
) -> dict[str, str]:
    """``proposed`` without the merges that would put two values of one patient and outcome
    in one visit: those labels were recorded as different visits."""
    patient_codes, _ = label_codes(records["patient_id"])
    outcome_codes, outcomes = label_codes(records["outcome"])
    pair = patient_codes.astype(np.int64) * len(outcomes) + outcome_codes

    def pairs_of(label: str) -> np.ndarray:
        """The distinct patient × outcome keys held under ``label``."""
        return np.unique(pair[np.isin(codes, members[label])])

    result = dict(proposed)
    apart = []
    targets = {t for label, t in proposed.items() if t != label}
    for target in targets:
        taken = pairs_of(target)
        group = sorted(
            (label for label, t in proposed.items() if t == target and label != target),
            key=lambda label: -len(members[label]),
        )
        for label in group:
            mine = pairs_of(label)
            shared = np.intersect1d(taken, mine, assume_unique=True)
            if shared.size:
                result[label] = label
                apart.append((label, target, len(np.unique(shared // len(outcomes)))))
            else:
                taken = np.union1d(taken, mine)
    if apart:
        report.add(
            "note",
            "visit_labels_kept_apart",
            "Visit labels that name the same time point were kept as separate visits because "
            "some patients have the same outcome under both: "
            + "; ".join(f"{a!r} and {b!r} ({n} patient(s))" for a, b, n in apart)
            + ". Map them to one visit in the visit mapping if they are the same.",
        )
    return result


def _report_typos(
    table: TidyTable,
    codes: np.ndarray,
    members: Mapping[str, list[int]],
    mappings: tuple[Mapping[str, str], ...],
    report: ValidationReport,
) -> None:
    """A ``probable_visit_typo`` warning for each label held by a few patients that looks
    like a misspelling of one held by most (see ``visits.probable_typos``). ``mappings``:
    spelling -> label (case and spaces), label -> proposed visit, the user's choices and the
    mapping applied."""
    canonical, proposed, chosen, final = mappings
    labels = list(members)
    if not any(
        proposed[a] == proposed[b] or near_identical(a, b) for a, b in combinations(labels, 2)
    ):
        return  # the usual case: nothing to count
    records = table.records
    patient_codes, _ = label_codes(records["patient_id"])
    label_of_code = np.full(int(codes.max()) + 1 if len(codes) else 0, -1, dtype=np.int64)
    for i, label in enumerate(labels):
        label_of_code[members[label]] = i
    group = label_of_code[codes]
    pair = np.unique(patient_codes.astype(np.int64) * len(labels) + group)
    per_label = np.bincount(pair % len(labels), minlength=len(labels))
    n_patients = len(np.unique(patient_codes))
    holders = {label: int(per_label[i]) for i, label in enumerate(labels)}
    for rare, common in probable_typos(holders, n_patients, proposed):
        rare_final = final[_spellings_of(rare, canonical)[0]]
        common_final = final[_spellings_of(common, canonical)[0]]
        user_set = bool(set(_spellings_of(rare, canonical)) & set(chosen))
        if user_set and rare_final == common_final:
            continue  # the user mapped it already
        if rare_final == common_final:
            outcome = f"It was merged into {common_final!r}"
        else:
            outcome = (
                "It was kept as a visit of its own; map it to "
                f"{common_final!r} in the visit mapping if it is the same visit"
            )
        mask = group == labels.index(rare)
        locations = pd.DataFrame(
            {
                "row": records.loc[mask, "source_row"].to_numpy(),
                "column": (
                    records.loc[mask, "source_column"].astype(str).to_numpy()
                    if table.visit_column is None
                    else table.visit_column
                ),
                "value": rare,
            }
        )
        report.add(
            "warning",
            "probable_visit_typo",
            f"Visit {rare!r} is held by {holders[rare]} patient(s) while {common!r} is held by "
            f"{holders[common]} of {n_patients}: probably the same visit written differently. "
            f"{outcome}: {describe_locations(locations)}.",
            locations,
        )


def _order_and_baseline(
    long: pd.DataFrame, applied: Mapping[str, str], adapted: Adapted
) -> tuple[list[str], str, str]:
    """(visits in time order, the rule used, the baseline visit); ``applied`` maps each label
    to its visit in order of first appearance in the file."""
    present = {str(v) for v in long["visit"].unique()}
    labels = [v for v in dict.fromkeys(applied.values()) if v in present]
    has_days = bool(long["day"].notna().any())
    median_day = (
        long.groupby("visit", sort=False, observed=True)["day"].median().to_dict()
        if has_days
        else None
    )
    visits, rule = order_visits(labels, median_day)
    baseline = detect_baseline(visits, median_day)
    if adapted.visit_order and not has_days:
        order = list(dict.fromkeys(applied.get(v, v) for v in adapted.visit_order))
        if set(order) >= set(visits):
            visits = [v for v in order if v in set(visits)]
            rule = "by the analysis visit number (AVISITN)"
    if adapted.baseline is not None and applied.get(adapted.baseline, adapted.baseline) in visits:
        baseline = applied.get(adapted.baseline, adapted.baseline)
    return visits, rule, baseline


def _out_of_range(records: pd.DataFrame) -> pd.Series:
    low = map_values(records["outcome"], lambda c: lookup(str(c)).low, float)
    high = map_values(records["outcome"], lambda c: lookup(str(c)).high, float)
    values = records["value"].to_numpy()
    return pd.Series((values < low) | (values > high), index=records.index)


def _report_out_of_range(report: ValidationReport, bad: pd.DataFrame) -> None:
    for code, group in bad.groupby("outcome", sort=False, observed=True):
        inst = lookup(str(code))
        locations = cell_locations(group, np.ones(len(group), dtype=bool))
        report.add(
            "warning",
            "out_of_range",
            f"{len(group)} {inst.short_label} value(s) are outside the valid range "
            f"{inst.range_text()} and were left out of the analysis: "
            f"{describe_locations(locations)}.",
            locations,
        )


def _resolve_duplicates(
    records: pd.DataFrame, report: ValidationReport
) -> tuple[pd.DataFrame, int, int]:
    keys = ["patient_id", "visit", "outcome"]
    dup = duplicated_keys(combined_key(records, keys))
    if not dup.any():
        return records, 0, 0
    repeated = records.loc[dup]  # usually a handful of rows: plain pandas from here
    spread = repeated.groupby(keys, observed=True)["value"].transform("nunique")
    conflicting_mask = pd.Series(False, index=records.index)
    conflicting_mask.loc[spread.index] = (spread > 1).to_numpy()
    identical_extra = pd.Series(False, index=records.index)
    identical_extra.loc[repeated.index] = repeated.duplicated(keys, keep="first").to_numpy()
    identical_extra &= ~conflicting_mask
    if identical_extra.any():
        locations = cell_locations(records, identical_extra)
        report.add(
            "warning",
            "duplicate_identical",
            f"{int(identical_extra.sum())} row(s) repeat a patient × visit × outcome with the "
            f"same value; one copy was kept: {describe_locations(locations)}.",
            locations,
        )
    if conflicting_mask.any():
        locations = cell_locations(records, conflicting_mask)
        locations["patient_id"] = records.loc[conflicting_mask, "patient_id"].astype(str).to_numpy()
        report.add(
            "warning",
            "duplicate_conflicting",
            f"{int(conflicting_mask.sum())} values belong to a patient × visit × outcome that "
            "appears more than once with different values. Choosing one would be a guess, so "
            f"none of them was used: {describe_locations(locations)}.",
            locations,
        )
    keep = ~identical_extra & ~conflicting_mask
    return records.loc[keep], int(identical_extra.sum()), int(conflicting_mask.sum())


def _clean_attributes(
    attributes: pd.DataFrame, decimal_comma: bool, report: ValidationReport
) -> pd.DataFrame:
    """One row per patient (in order of first appearance): each attribute's first recorded
    value, with a warning for attributes that vary within a patient. Vectorised over rows
    with integer patient codes (a long file repeats each attribute on every row)."""
    codes, labels = label_codes(strip_labels(attributes["patient_id"]))
    labels = np.asarray(labels, dtype=object)
    n_rows = len(codes)
    has_id = (labels != "")[codes]
    first_row = np.full(len(labels), n_rows)
    np.minimum.at(first_row, codes[has_id], np.flatnonzero(has_id))
    seen = np.flatnonzero(first_row < n_rows)
    patients = seen[np.argsort(first_row[seen], kind="stable")]
    index = pd.Index(labels[patients].astype(str), dtype="str", name="patient_id")
    result = pd.DataFrame(index=index)
    columns = [c for c in attributes.columns if c not in ("patient_id", "source_row") and c]
    for column in columns:
        values, status = parse_numbers(attributes[column], decimal_comma)
        numeric = bool((status != "text").all() and (status == "ok").any())
        if numeric:
            cells = values.to_numpy(dtype=float)
            present = ~np.isnan(cells) & has_id
        else:
            cells, cell_labels = label_codes(strip_labels(attributes[column]))
            present = (np.array(cell_labels, dtype=object) != "")[cells] & has_id
        reference, varying = _first_and_varying(codes, cells, present, first_row, len(labels))
        varying_ids = [str(label) for label in labels[patients[varying[patients]]]]
        if varying_ids:
            shown = ", ".join(varying_ids[:10]) + (
                f" and {len(varying_ids) - 10} more" if len(varying_ids) > 10 else ""
            )
            report.add(
                "warning",
                "attribute_varies",
                f"Attribute {column!r} should be constant within a patient but varies for "
                f"{len(varying_ids)} patient(s) ({shown}); the first value recorded was used.",
                pd.DataFrame({"column": column, "value": "", "patient_id": varying_ids}),
            )
        chosen = reference[patients]
        if numeric:
            result[column] = chosen
        else:
            lookup_labels = np.array([*cell_labels, np.nan], dtype=object)
            result[column] = pd.Series(lookup_labels[chosen], index=index, dtype=object)
    return result


def _first_and_varying(
    patient: np.ndarray, cells: np.ndarray, present: np.ndarray, first_row: np.ndarray, n: int
) -> tuple[np.ndarray, np.ndarray]:
    """Per patient code: the first present cell (NaN, or code -1 for text, when none) and
    whether any present cell differs from it."""
    is_float = cells.dtype.kind == "f"
    missing = np.nan if is_float else -1
    reference = np.full(n, missing, dtype=float if is_float else np.int64)
    n_rows = len(patient)
    have_first = first_row < n_rows
    first_cells = np.full(n, missing, dtype=reference.dtype)
    first_present = np.zeros(n, dtype=bool)
    first_present[have_first] = present[first_row[have_first]]
    first_cells[have_first] = cells[first_row[have_first]]
    reference[first_present] = first_cells[first_present]
    # Patients whose first row is blank for this attribute: find their first present row.
    late = present & ~first_present[patient]
    if late.any():
        first_late = np.full(n, n_rows)
        np.minimum.at(first_late, patient[late], np.flatnonzero(late))
        found = first_late < n_rows
        reference[found] = cells[first_late[found]]
    if not is_float:
        reference = reference.astype(np.int64)
        reference[reference < 0] = -1
    differs = present & (cells != reference[patient])
    varying = np.bincount(patient[differs], minlength=n) > 0
    return reference, varying


def _post_checks(dataset: Dataset, report: ValidationReport) -> None:
    without = dataset.patients_without_visit(dataset.baseline)
    if without:
        shown = ", ".join(without[:10]) + (
            f" and {len(without) - 10} more" if len(without) > 10 else ""
        )
        report.add(
            "warning",
            "no_baseline",
            f"{len(without)} patient(s) have no value at the baseline visit "
            f"{dataset.baseline!r}: {shown}. They cannot be compared with baseline.",
            pd.DataFrame({"patient_id": without}),
        )
    unknown = [c for c in dataset.outcomes if not lookup(c).known]
    if unknown:
        report.add(
            "note",
            "unknown_outcomes",
            f"{len(unknown)} outcome(s) not in the instrument registry: "
            + ", ".join(repr(c) for c in unknown[:10])
            + (f" and {len(unknown) - 10} more" if len(unknown) > 10 else "")
            + ". Their direction is unknown until you set it; changes are shown as increases "
            "or decreases, never as improvement or worsening.",
        )
    report.add(
        "note",
        "visit_order",
        f"Visits ordered {dataset.visit_order_rule}: {', '.join(dataset.visits)}. "
        f"Baseline: {dataset.baseline!r}.",
    )
