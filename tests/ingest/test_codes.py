"""Labels as integer codes (analysis/codes.py) and Parquet text read as dictionaries: the
registry-scale path must give exactly what the plain path gives."""

from __future__ import annotations

import ast
import io
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

from analysis.ingest import read as loading
from analysis.ingest.codes import (
    codes_of,
    combined_key,
    duplicated_keys,
    label_codes,
    map_values,
    strip_labels,
)
from analysis.ingest.pipeline import load_bytes


def test_strip_labels_merges_labels_that_differ_only_by_spaces():
    ids = pd.Series(["P1", " P1", "P2 ", "007", ""], dtype="str")
    stripped = strip_labels(ids)
    assert isinstance(stripped.dtype, pd.CategoricalDtype)
    assert stripped.astype(str).tolist() == ["P1", "P1", "P2", "007", ""]
    assert list(stripped.cat.categories) == ["P1", "P2", "007", ""]


def test_strip_labels_on_a_categorical_with_missing_cells():
    ids = pd.Series(pd.Categorical([" a", None, "b", "a"]))
    assert strip_labels(ids).astype(str).tolist() == ["a", "", "b", "a"]
    clean = pd.Series(pd.Categorical(["a", None, "b"]))
    assert strip_labels(clean).astype(str).tolist() == ["a", "", "b"]
    renamed = pd.Series(pd.Categorical([" a", "b "]))
    assert strip_labels(renamed).astype(str).tolist() == ["a", "b"]


def test_label_codes_gives_missing_cells_the_empty_label():
    codes, labels = label_codes(pd.Series(pd.Categorical(["a", None, "b"])))
    assert [labels[c] for c in codes] == ["a", "", "b"]


def test_map_values_and_codes_of_work_per_distinct_label():
    visits = pd.Series(["m6", "baseline", "m6", "m12"])
    assert codes_of(visits, ["baseline", "m6"]).tolist() == [1, 0, 1, -1]
    assert map_values(visits, lambda v: v.startswith("m"), bool).tolist() == [1, 0, 1, 1]


def test_duplicated_keys_dense_and_sparse_paths_agree_with_pandas():
    frame = pd.DataFrame(
        {"patient_id": ["a", "a", "b", "a"], "visit": ["v1", "v1", "v1", "v2"], "o": ["x"] * 4}
    )
    key = combined_key(frame, ["patient_id", "visit", "o"])
    expected = frame.duplicated(keep=False).to_numpy()
    assert duplicated_keys(key).tolist() == expected.tolist() == [True, True, False, False]
    sparse = key * 10**12  # forces the hashing path
    assert duplicated_keys(sparse).tolist() == expected.tolist()


def _parquet(table: pa.Table) -> bytes:
    buffer = io.BytesIO()
    pq.write_table(table, buffer, row_group_size=1000)
    return buffer.getvalue()


def test_parquet_text_read_in_parallel_pieces_matches_one_piece(monkeypatch):
    rng = np.random.default_rng(3)
    n = 6000
    ids = np.char.add("P", rng.integers(0, 900, n).astype(str)).astype(object)
    ids[::997] = None  # missing IDs must stay missing, not become a patient
    table = pa.table({"patient_id": pa.array(ids, pa.string()), "value": rng.random(n)})
    data = _parquet(table)
    whole = loading.read_table(data, "x.parquet").frame
    monkeypatch.setattr(loading, "PARALLEL_ENCODE_ROWS", 10)
    pieces = loading.read_table(data, "x.parquet").frame
    assert isinstance(pieces["patient_id"].dtype, pd.CategoricalDtype)
    assert pieces["patient_id"].astype(str).tolist() == whole["patient_id"].astype(str).tolist()
    expected = ["" if i is None else i for i in ids]
    assert pieces["patient_id"].astype(str).tolist() == expected


def test_parquet_long_file_with_messy_ids_loads_like_the_csv():
    rows = [
        ("007", "baseline", "pain_nrs", 7.0, "umbilical cord"),
        (" 007", "m6", "pain_nrs", 3.0, "umbilical cord"),
        ("012", "Baseline ", "pain_nrs", 8.0, "bone marrow"),
        ("012", "m6", "pain_nrs", 12.0, "bone marrow"),  # out of range
        ("012", "m6", "pain_nrs", 5.0, "bone marrow"),
        ("013", "baseline", "pain_nrs", 6.0, None),
        ("013", "baseline", "pain_nrs", 6.0, "adipose"),  # exact duplicate value
    ]
    frame = pd.DataFrame(rows, columns=["patient_id", "visit", "outcome", "value", "cell_source"])
    parquet = load_bytes(_parquet(pa.Table.from_pandas(frame, preserve_index=False)), "r.parquet")
    text = load_bytes(frame.to_csv(index=False).encode(), "r.csv")
    for result in (parquet, text):
        dataset = result.dataset
        assert dataset is not None
        assert dataset.patients == ["007", "012", "013"]
        assert dataset.visits == ["baseline", "m6"]
        assert dataset.attributes["cell_source"].tolist() == [
            "umbilical cord",
            "bone marrow",
            "adipose",
        ]
        assert dataset.wide("pain_nrs").loc["012"].tolist() == [8.0, 5.0]
        accounting = result.report.accounting
        assert accounting["left out: outside the instrument's valid range"] == 1
        assert accounting["merged: exact duplicate rows"] == 1
        assert accounting["values used"] == 5
        assert "visit_spellings" in result.report.codes()


def test_every_groupby_says_observed():
    """patient_id, visit and outcome are categoricals. pandas 2.x groups them with
    observed=False by default, which adds empty groups for every unused category (a visit
    summary row with n = 0 per unused visit, say); pandas 3 changed the default. Every groupby in
    the app says observed=True so both behave alike (make test-oldest runs pandas 2.2)."""
    root = Path(__file__).resolve().parents[2]
    missing = []
    for path in [*root.glob("analysis/**/*.py"), *root.glob("ui/*.py"), *root.glob("pages/*.py")]:
        for node in ast.walk(ast.parse(path.read_text())):
            if (
                isinstance(node, ast.Call)
                and isinstance(node.func, ast.Attribute)
                and node.func.attr == "groupby"
                and "observed" not in {k.arg for k in node.keywords}
            ):
                missing.append(f"{path.relative_to(root)}:{node.lineno}")
    assert missing == []
