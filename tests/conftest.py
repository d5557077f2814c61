import io

import pandas as pd
import pytest

from analysis.ingest.pipeline import LoadResult, load_bytes

LONG_CSV = """patient_id,visit,day,outcome,value,cell_source
007,baseline,0,pain_nrs,7,umbilical cord
007,m3,90,pain_nrs,4,umbilical cord
007,m6,181,pain_nrs,3,umbilical cord
7,baseline,0,pain_nrs,6,autologous bone marrow
7,m3,92,pain_nrs,6,autologous bone marrow
7,m6,185,pain_nrs,5,autologous bone marrow
012,baseline,-3,pain_nrs,8,umbilical cord
012,m3,88,pain_nrs,5,umbilical cord
"""

WIDE_CSV = """\
patient_id,cell_source,pain_nrs__baseline,pain_nrs__m3,pain_nrs__m6,tcss__baseline,tcss__m6
007,umbilical cord,7,4,3,12,9
7,autologous bone marrow,6,6,5,14,13
012,umbilical cord,8,5,,11,
"""


def load_text(text: str, name: str = "test.csv", encoding: str = "utf-8", **kwargs) -> LoadResult:
    return load_bytes(text.encode(encoding), name, **kwargs)


def excel_bytes(sheets: dict[str, pd.DataFrame]) -> bytes:
    buffer = io.BytesIO()
    with pd.ExcelWriter(buffer, engine="openpyxl") as writer:
        for name, frame in sheets.items():
            frame.to_excel(writer, sheet_name=name, index=False)
    return buffer.getvalue()


def parquet_bytes(frame: pd.DataFrame) -> bytes:
    buffer = io.BytesIO()
    frame.to_parquet(buffer, index=False)
    return buffer.getvalue()


@pytest.fixture
def long_csv() -> str:
    return LONG_CSV


@pytest.fixture
def wide_csv() -> str:
    return WIDE_CSV
