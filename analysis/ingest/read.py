"""Reading a file's bytes into a table of text cells, whatever the file is called.

The format is sniffed from the content (Parquet and XLSX by their signatures, text otherwise);
the file name is only used in messages. Text is decoded from UTF-8 (with or without BOM),
UTF-16 (as Excel writes "Unicode text") or Windows-1252/Latin-1; the delimiter is sniffed
from , ; tab and |. Every cell stays text here, so "007" keeps its leading zeros;
numbers are parsed later, where each unparseable cell can be reported.
"""

from __future__ import annotations

import csv
import io
import zipfile
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pa_csv
import pyarrow.parquet as pq

from analysis.ingest import limits
from analysis.ingest.codes import map_values
from analysis.ingest.excel_errors import SheetScan, scan_part, scan_sheet
from analysis.ingest.limits import LimitExceeded

_DELIMITERS = (",", ";", "\t", "|")
_DELIMITER_NAMES = {",": "comma", ";": "semicolon", "\t": "tab", "|": "pipe"}
_SNIFF_LINES = 200
PARALLEL_ENCODE_ROWS = 4_000_000  # below this, one thread encodes text faster than two
# python-calamine reads XLSX about 8x faster than openpyxl, cell for cell the same
# (tests/test_file_readers.py compares them).
XLSX_ENGINE = "calamine"


class LoadError(Exception):
    """The file cannot be read as a table; the message says why in plain words."""


@dataclass
class RawTable:
    """A file's cells as read, with the spreadsheet row of every line and how it was read."""

    frame: pd.DataFrame  # text cells ("" when empty); native dtypes kept for Parquet numbers
    source_name: str
    file_format: str
    details: str = ""
    decimal_comma: bool = False
    sheets: list[str] = field(default_factory=list)
    skipped_lines: pd.DataFrame | None = None  # rows that could not be split into fields
    # The spreadsheet row (header = 1) of each frame row, where reading set rows aside (blank
    # or ragged rows); None when frame row i is spreadsheet row i + 2.
    source_rows: np.ndarray | None = None

    def row_numbers(self) -> np.ndarray:
        if self.source_rows is not None:
            return self.source_rows
        n = len(self.frame)
        return np.arange(2, n + 2, dtype=np.int32 if n < 2**31 - 2 else np.int64)

    def describe(self) -> str:
        text = f"{self.file_format}"
        return f"{text} ({self.details})" if self.details else text


def read_table(
    data: bytes, source_name: str = "uploaded file", sheet: str | None = None
) -> RawTable:
    """Read ``data`` as a table; raises LoadError with a clear message when it is not one,
    or when it is larger than the limits in analysis/ingest/limits.py (checked before the
    file is decompressed or parsed)."""
    try:
        raw = _read_any(data, source_name, sheet)
        limits.check_rows_and_columns(len(raw.frame), raw.frame.shape[1], source_name)
    except LimitExceeded as exc:
        raise LoadError(str(exc)) from None
    return raw


def _read_any(data: bytes, source_name: str, sheet: str | None) -> RawTable:
    if not data or not data.strip():
        raise LoadError(f"{source_name} is empty: there is nothing to load.")
    if data[:4] == b"PAR1":
        return _read_parquet(data, source_name)
    if data.startswith(b"HEADER RECORD*******LIBRARY HEADER RECORD!!!!!!!"):
        return _read_sas(data, source_name, "xport")
    if data[:32] == _SAS7BDAT_MAGIC:
        return _read_sas(data, source_name, "sas7bdat")
    if data[:4] == b"PK\x03\x04":
        return _read_xlsx(data, source_name, sheet)
    if data[:8] == b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1":
        raise LoadError(
            f"{source_name} is an old-style Excel (.xls) or other Office file. "
            "Save it as .xlsx or CSV and load it again."
        )
    return _read_text(data, source_name)


_SAS7BDAT_MAGIC = (
    b"\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\xc2\xea\x81\x60"
    b"\xb3\x14\x11\xcf\xbd\x92\x08\x00\x09\xc7\x31\x8c\x18\x1f\x10\x11"
)


def typed_table(frame: pd.DataFrame, source_name: str, file_format: str) -> RawTable:
    """A table from a typed source (Parquet, SAS, a database): numbers stay numbers, every
    other column (booleans included) becomes text cells. Categorical columns (Parquet
    dictionaries) stay categorical with text categories, so a million repeated IDs or labels
    are converted once per distinct value."""
    frame = frame.reset_index(drop=True)
    frame.columns = [str(c) for c in frame.columns]
    for column in frame.columns:
        values = frame[column]
        if isinstance(values.dtype, pd.CategoricalDtype):
            frame[column] = _categorical_as_text(values)
        elif not pd.api.types.is_numeric_dtype(values) or pd.api.types.is_bool_dtype(values):
            frame[column] = _cells_as_text(values)
    return RawTable(frame, source_name, file_format)


def _categorical_as_text(column: pd.Series) -> pd.Series:
    """A categorical column with text categories and missing cells as ''."""
    categories = column.cat.categories
    if not pd.api.types.is_string_dtype(categories) or categories.inferred_type != "string":
        text = _cells_as_text(pd.Series(categories, dtype=object)).astype(str)
        # Two categories can print the same (1 and 1.0): factorize the text to merge them.
        merged, uniques = pd.factorize(pd.Index(text, dtype="str"))
        codes = column.cat.codes.to_numpy()
        column = pd.Series(
            pd.Categorical.from_codes(np.where(codes < 0, -1, merged[codes]), uniques),
            index=column.index,
            name=column.name,
        )
    if column.isna().any():
        if "" not in column.cat.categories:
            column = column.cat.add_categories([""])
        column = column.fillna("")
    return column


def _read_sas(data: bytes, source_name: str, fmt: str) -> RawTable:
    """SAS transport (v5, as CDISC submissions use) or sas7bdat, read by pandas."""
    try:
        if fmt == "sas7bdat":  # may be compressed: check the declared size before reading
            with pd.read_sas(
                io.BytesIO(data), format=fmt, encoding="latin-1", iterator=True
            ) as reader:
                limits.check_sas(
                    reader.row_count, reader.column_count, reader.row_length, len(data),
                    source_name,
                )  # fmt: skip
                frame = reader.read()
        else:
            frame = pd.read_sas(io.BytesIO(data), format=fmt, encoding="latin-1")
    except LimitExceeded:
        raise
    except Exception as exc:  # pandas raises several types for damaged SAS files
        raise LoadError(f"{source_name} looks like a SAS file but cannot be read: {exc}") from exc
    label = "SAS transport (XPT)" if fmt == "xport" else "SAS7BDAT"
    return typed_table(frame, source_name, label)


def _read_parquet(data: bytes, source_name: str) -> RawTable:
    limits.check_parquet(data, source_name)  # row count and decoded size, from the footer
    try:
        table = pq.read_table(io.BytesIO(data))
        table = _text_as_dictionaries(table)
        frame = table.to_pandas()
    except Exception as exc:  # pyarrow raises several types for damaged files
        raise LoadError(f"{source_name} looks like Parquet but cannot be read: {exc}") from exc
    return typed_table(frame, source_name, "Parquet")


def _text_as_dictionaries(table: pa.Table) -> pa.Table:
    """Text columns dictionary-encoded with one dictionary per column, so pandas gets
    categoricals (one string per distinct value) without unifying a dictionary per chunk,
    which is slow for a million distinct patient IDs."""
    for i, column_field in enumerate(table.schema):
        kind = column_field.type
        is_text = pa.types.is_string(kind) or pa.types.is_large_string(kind)
        is_text = is_text or pa.types.is_string_view(kind)
        column = table.column(i)
        if pa.types.is_dictionary(kind) and column.num_chunks > 1:
            if max(len(chunk.dictionary) for chunk in column.chunks) < 1000:
                continue  # small dictionaries (visit, outcome) are cheap to unify
            column = column.cast(kind.value_type)
            is_text = True
        if is_text:
            table = table.set_column(i, column_field.name, _dictionary_encode(column))
    return table


def _dictionary_encode(text: pa.ChunkedArray, pieces: int = 2) -> pa.DictionaryArray:
    """Arrow's dictionary encoding, in ``pieces`` threads for long columns (Arrow releases
    the GIL): each piece is encoded alone, then the pieces' dictionaries are encoded once
    more to map every piece's codes onto one dictionary."""
    size = -(-len(text) // pieces) if len(text) >= PARALLEL_ENCODE_ROWS else max(len(text), 1)
    parts = [text.slice(start, size) for start in range(0, len(text), size)] or [text]
    with ThreadPoolExecutor(len(parts)) as pool:
        encoded = list(pool.map(_encode_piece, parts))
    if len(encoded) == 1:
        dictionary, indices = encoded[0]
        return pa.DictionaryArray.from_arrays(indices, dictionary)
    merged = pc.dictionary_encode(pa.concat_arrays([dictionary for dictionary, _ in encoded]))
    offsets = np.cumsum([0] + [len(dictionary) for dictionary, _ in encoded])
    codes = [
        pc.take(merged.indices.slice(offsets[k], len(dictionary)), indices)
        for k, (dictionary, indices) in enumerate(encoded)
    ]
    return pa.DictionaryArray.from_arrays(pa.concat_arrays(codes), merged.dictionary)


def _encode_piece(text: pa.ChunkedArray) -> tuple[pa.Array, pa.Array]:
    """(dictionary, indices) of one piece. Arrow encodes a chunked array with one memo table,
    so every chunk carries the same final dictionary; otherwise the chunks are joined first."""
    encoded = pc.dictionary_encode(text)
    chunks = encoded.chunks
    if not chunks:
        return pa.array([], type=text.type), pa.array([], type=pa.int32())
    dictionary = chunks[-1].dictionary
    shared = all(c.dictionary.buffers()[-1] is not None for c in chunks) and (
        len({c.dictionary.buffers()[-1].address for c in chunks}) == 1
    )
    if not shared:
        combined = pc.dictionary_encode(text.combine_chunks())
        return combined.dictionary, combined.indices
    return dictionary, pa.concat_arrays([c.indices for c in chunks])


def _read_xlsx(data: bytes, source_name: str, sheet: str | None) -> RawTable:
    try:
        # Every part decompressed once and counted (not kept) before anything parses it.
        limits.check_zip(data, source_name)
        with zipfile.ZipFile(io.BytesIO(data)) as archive:
            names = set(archive.namelist())
    except zipfile.BadZipFile as exc:
        raise LoadError(f"{source_name} is a damaged ZIP/XLSX file and cannot be read.") from exc
    if "xl/workbook.xml" not in names:
        raise LoadError(
            f"{source_name} is a ZIP archive but not an Excel workbook (.xlsx). "
            "Load a CSV, XLSX or Parquet file."
        )
    try:
        workbook = pd.ExcelFile(io.BytesIO(data), engine=XLSX_ENGINE)
        sheets = [str(s) for s in workbook.sheet_names]
        chosen = sheet if sheet is not None else sheets[0]
        if chosen not in sheets:
            raise LoadError(
                f"{source_name} has no sheet named {chosen!r}; its sheets are: "
                + ", ".join(repr(s) for s in sheets)
            )
        # The reader allocates the sheet's whole used range, empty cells included: measured
        # first (with the error cells, in the same streaming pass over the sheet's XML).
        scan = _scan_workbook_sheet(data, chosen)
        limits.check_sheet_extent(scan.extent, source_name, chosen)
        # keep_default_na=False: "NA" or "n/a" typed in a cell is reported as a missing-value
        # marker, as it is from CSV, instead of vanishing here. header=None: the header is the
        # first row with anything in it, which is not always row 1.
        sheet_cells = pd.read_excel(
            workbook, sheet_name=chosen, dtype=object, header=None, keep_default_na=False
        )
    except (LoadError, LimitExceeded):
        raise
    except Exception as exc:
        raise LoadError(f"{source_name} is an Excel file that cannot be read: {exc}") from exc
    cells = pd.DataFrame(
        {i: _cells_as_text(sheet_cells.iloc[:, i]) for i in range(sheet_cells.shape[1])},
        index=sheet_cells.index,
    )
    for row, column, text in scan.errors:  # the readers made these blank: put the error back
        if 0 <= row - 1 < len(cells) and column < cells.shape[1]:
            cells.iat[row - 1, column] = text
    filled = _filled(cells)
    if not filled.any():
        raise LoadError(f"{source_name}: sheet {chosen!r} is empty: there is nothing to load.")
    header_at = int(np.argmax(filled))  # 0-based: the sheet's row header_at + 1
    # Empty rows (between blocks, or formatted but empty) are not records; the rows after
    # them keep the numbers the spreadsheet shows.
    frame, source_rows = _without_blank_rows(
        cells.iloc[header_at + 1 :].reset_index(drop=True),
        first_row=header_at + 2,
        filled=filled[header_at + 1 :],
    )
    frame.columns = _unique_names([_header_text(v) for v in cells.iloc[header_at]])
    frame = _name_unnamed_columns(frame)
    details = f"sheet {chosen!r}" + (f" of {len(sheets)}" if len(sheets) > 1 else "")
    if header_at > 0:
        details += f", header on row {header_at + 1}"
    return RawTable(frame, source_name, "XLSX", details, sheets=sheets, source_rows=source_rows)


def _scan_workbook_sheet(data: bytes, sheet: str) -> SheetScan:
    """Error cells and used range of ``sheet``. When the sheet's part cannot be located the
    way the reader would, every XML part is measured and the largest range is taken."""
    with zipfile.ZipFile(io.BytesIO(data)) as archive:
        scan = scan_sheet(archive, sheet)
        if not scan.found:
            for name in archive.namelist():
                if name.lower().endswith(".xml"):
                    extent = scan_part(archive, name).extent
                    scan.extent.rows = max(scan.extent.rows, extent.rows)
                    scan.extent.columns = max(scan.extent.columns, extent.columns)
    return scan


def _filled(frame: pd.DataFrame) -> np.ndarray:
    """Per row: does any cell hold more than spaces?"""
    filled = np.zeros(len(frame), dtype=bool)
    for i in range(frame.shape[1]):
        filled |= map_values(frame.iloc[:, i], lambda cell: str(cell).strip() != "", bool)
    return filled


def _name_unnamed_columns(frame: pd.DataFrame) -> pd.DataFrame:
    """Columns without a header: dropped when empty (a trailing delimiter, a spacer column),
    otherwise named after their spreadsheet column, e.g. 'column C (no header)', so their
    values are neither lost nor mixed up with another unnamed column."""
    unnamed = [i for i, name in enumerate(frame.columns) if name == ""]
    if not unnamed:
        return frame
    empty = {i for i in unnamed if not _filled(frame.iloc[:, [i]]).any()}
    kept = [i for i in range(frame.shape[1]) if i not in empty]
    names = [
        f"column {_column_letters(i)} (no header)" if frame.columns[i] == "" else frame.columns[i]
        for i in kept
    ]
    frame = frame.iloc[:, kept]
    frame.columns = names
    return frame


def _column_letters(index: int) -> str:
    """0 -> 'A', 25 -> 'Z', 26 -> 'AA', as a spreadsheet labels its columns."""
    letters = ""
    index += 1
    while index:
        index, remainder = divmod(index - 1, 26)
        letters = chr(ord("A") + remainder) + letters
    return letters


def _unique_names(names: list[str]) -> list[str]:
    """Repeated header names numbered as pandas numbers them in a CSV ('dose', 'dose.1')."""
    seen: dict[str, int] = {}
    unique = []
    for name in names:
        if name in seen and name != "":
            seen[name] += 1
            unique.append(f"{name}.{seen[name]}")
        else:
            seen.setdefault(name, 0)
            unique.append(name)
    return unique


def _without_blank_rows(
    frame: pd.DataFrame, first_row: int = 2, filled: np.ndarray | None = None
) -> tuple[pd.DataFrame, np.ndarray | None]:
    """``frame`` without rows whose cells are all empty or spaces, and the spreadsheet row of
    each row kept, frame row 0 being spreadsheet row ``first_row`` (None when that numbering
    is the default one: nothing blank, header on row 1). ``filled``: _filled(frame), if known."""
    filled = _filled(frame) if filled is None else filled
    if filled.all() and first_row == 2:
        return frame, None
    return frame.loc[filled].reset_index(drop=True), np.flatnonzero(filled) + first_row


def _header_text(value: object) -> str:
    text = str(value)
    return "" if text.startswith("Unnamed: ") else text


def _cells_as_text(column: pd.Series) -> pd.Series:
    """Cells as text: integers without '.0', missing as ''."""
    if isinstance(column.dtype, pd.StringDtype):
        return column.fillna("")  # Arrow-backed text stays Arrow-backed: no per-cell objects
    if pd.api.types.is_string_dtype(column):
        return column.astype(object).where(column.notna(), "").astype(str).astype(object)

    def one(value: object) -> str:
        if value is None or (isinstance(value, float) and pd.isna(value)) or value is pd.NA:
            return ""
        if isinstance(value, float) and value.is_integer():
            return str(int(value))
        if isinstance(value, pd.Timestamp):
            return value.isoformat()
        return str(value)

    return column.map(one).astype(object)


def _decode(data: bytes, source_name: str) -> tuple[str, str]:
    if data.startswith(b"\xef\xbb\xbf"):
        return data[3:].decode("utf-8", errors="replace"), "UTF-8 with BOM"
    if data.startswith((b"\xff\xfe", b"\xfe\xff")):
        return data.decode("utf-16"), "UTF-16"
    head = data[:4000]
    if head.count(b"\x00") > len(head) // 4:
        # UTF-16 without BOM: every other byte is NUL for Latin text.
        even_nuls = head[0::2].count(b"\x00")
        odd_nuls = head[1::2].count(b"\x00")
        encoding = "utf-16-le" if odd_nuls > even_nuls else "utf-16-be"
        try:
            return data.decode(encoding), "UTF-16 (no BOM)"
        except UnicodeDecodeError as exc:
            raise LoadError(_not_a_table(source_name)) from exc
    try:
        return data.decode("utf-8"), "UTF-8"
    except UnicodeDecodeError:
        pass
    try:
        return data.decode("cp1252"), "Windows-1252/Latin-1"
    except UnicodeDecodeError:
        return data.decode("latin-1"), "Latin-1"


def _not_a_table(source_name: str) -> str:
    return (
        f"{source_name} does not look like a table: it contains binary data. "
        "Load a CSV (any delimiter), XLSX or Parquet file."
    )


def _sniff_delimiter(lines: list[str]) -> str:
    """The candidate that splits the first lines into the most consistent number (>1) of fields."""
    best, best_score = ",", (0.0, 0)
    for candidate in _DELIMITERS:
        try:
            counts = [len(row) for row in csv.reader(lines, delimiter=candidate) if row]
        except csv.Error:  # a field over 128 KB: not this delimiter
            continue
        if not counts or counts[0] < 2:
            continue
        consistency = sum(c == counts[0] for c in counts) / len(counts)
        score = (consistency, counts[0])
        if score > best_score:
            best, best_score = candidate, score
    return best


def _read_text(data: bytes, source_name: str) -> RawTable:
    text, encoding = _decode(data, source_name)
    control = sum(1 for ch in text[:20000] if ord(ch) < 32 and ch not in "\t\r\n")
    if "\x00" in text[:20000] or control > max(2, len(text[:20000]) // 100):
        raise LoadError(_not_a_table(source_name))
    text = text.lstrip("\ufeff")
    lines = _first_lines(text, _SNIFF_LINES)
    if not lines:
        raise LoadError(f"{source_name} is empty: there is nothing to load.")
    delimiter = _sniff_delimiter(lines)
    try:
        header = next(csv.reader(lines[:1], delimiter=delimiter))
    except csv.Error as exc:  # a field longer than the csv module's limit (128 KB)
        raise LoadError(
            f"{source_name} cannot be read as a table: its first line has a field longer "
            "than 128 KB. Is this a table of outcomes?"
        ) from exc
    # Before parsing: a header of a million fields, or more lines than the row limit.
    cut = len(text) > 1_000_000 and "\n" not in text.lstrip()[:1_000_000]  # header read in part
    limits.check_rows_and_columns(text.count("\n"), len(header), source_name, at_least=cut)
    skipped = None
    utf8 = data if encoding == "UTF-8" else text.encode("utf-8")
    frame = _read_text_with_arrow(utf8, delimiter, header)
    source_rows = None
    if frame is None:
        try:
            frame = pd.read_csv(
                io.StringIO(text),
                sep=delimiter,
                dtype=str,
                keep_default_na=False,
                na_filter=False,
                skip_blank_lines=False,  # blank lines are rows: later rows keep their numbers
            )
            frame, source_rows = _without_blank_rows(frame.fillna("").astype(object))
        except pd.errors.ParserError:
            frame, skipped, source_rows = _read_ragged(text, delimiter)
        except (pd.errors.EmptyDataError, csv.Error) as exc:
            raise LoadError(f"{source_name} cannot be read as a table: {exc}") from exc
    frame.columns = [_header_text(c) for c in frame.columns]
    frame = _name_unnamed_columns(frame)
    if frame.shape[1] < 2:
        raise LoadError(
            f"{source_name} has only one column ({frame.columns[0]!r}). "
            "Expected a table with a patient ID column and score columns; check the delimiter."
        )
    decimal_comma = delimiter != "," and _has_decimal_commas(frame)
    details = f"{encoding}, {_DELIMITER_NAMES[delimiter]}-delimited"
    if decimal_comma:
        details += ", decimal commas"
    return RawTable(
        frame, source_name, "CSV", details, decimal_comma,
        skipped_lines=skipped, source_rows=source_rows,
    )  # fmt: skip


def _first_lines(text: str, count: int, head_chars: int = 1_000_000) -> list[str]:
    """The first ``count`` non-blank lines, looking only at the start of the text."""
    head = text[:head_chars]
    lines = [line for line in head.splitlines() if line.strip()]
    if len(head) < len(text) and len(lines) > 1:
        lines = lines[:-1]  # the last line of the head may be cut short
    return lines[:count]


def _read_text_with_arrow(utf8: bytes, delimiter: str, header: list[str]) -> pd.DataFrame | None:
    """Every column as text through Arrow's multithreaded CSV reader, then dictionary-encoded
    as Parquet text is (categoricals; empty cells stay ''). About five times faster than pandas'
    reader at registry scale. None where the result could differ from pandas' reading:
    duplicate or blank header names (pandas renames them), rows with another number of fields
    (pandas pads short rows and sets long ones aside), anything else Arrow cannot parse."""
    if len(set(header)) != len(header) or not all(name.strip() for name in header):
        return None
    try:
        table = pa_csv.read_csv(
            io.BytesIO(utf8),
            # Blank lines make Arrow fail here (pandas then reads the file): skipping them
            # would renumber the rows after them.
            parse_options=pa_csv.ParseOptions(
                delimiter=delimiter, newlines_in_values=True, ignore_empty_lines=False
            ),
            convert_options=pa_csv.ConvertOptions(
                column_types={name: pa.string() for name in header},
                strings_can_be_null=False,
                quoted_strings_can_be_null=False,
            ),
        )
    except (pa.ArrowInvalid, pa.ArrowKeyError):
        return None
    if table.column_names != header:
        return None
    return _text_as_dictionaries(table).to_pandas()


def _read_ragged(text: str, delimiter: str) -> tuple[pd.DataFrame, pd.DataFrame, np.ndarray]:
    """Rows with the wrong number of fields are set aside (and reported), never silently lost.
    Returns the good rows, the rows set aside and the spreadsheet row of each good row."""
    reader = csv.reader(io.StringIO(text), delimiter=delimiter)
    header: list[str] | None = None
    good: list[list[str]] = []
    rows: list[int] = []
    bad: list[dict[str, object]] = []
    for number, row in enumerate(reader, start=1):  # a record, as a spreadsheet numbers it
        if not any(cell.strip() for cell in row):
            continue
        if header is None:
            header = row
            continue
        if len(row) == len(header):
            good.append(row)
            rows.append(number)
        else:
            bad.append(
                {"row": number, "column": "", "value": f"{len(row)} fields, expected {len(header)}"}
            )
    frame = pd.DataFrame(good, columns=header, dtype=object)
    return frame, pd.DataFrame(bad), np.array(rows, dtype=np.int64)


def _has_decimal_commas(frame: pd.DataFrame) -> bool:
    sample = frame.head(2000)
    for column in sample.columns:
        cells = sample[column].astype(str).str.strip()
        if cells.str.fullmatch(r"[+-]?\d*,\d+").any():
            return True
    return False
