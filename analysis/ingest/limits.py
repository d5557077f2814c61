"""Size limits checked before a file is decompressed or read, so that a small file cannot
expand into gigabytes in memory (a decompression bomb).

Every limit derives from the upload limit (.streamlit/config.toml, [server] maxUploadSize,
200 MB; a test checks the two agree):

- an XLSX workbook may decompress to at most 3 x the upload limit (600 MB of XML: a full
  sheet of 1,048,576 rows and about 16 columns), and no part of it more than 100 times its
  compressed size (real sheets compress 10-20 times; zeros or repeated rows 1,000 times);
- a sheet's used range (the rectangle from its first to its last cell, which the reader
  allocates in full) may hold at most 16 x 1,048,576 cells;
- a table read from Parquet or SAS may take at most 20 x the upload limit in memory (4 GB,
  the size of the largest benchmark cohort, 1M patients, with room to spare), and at most 100
  times the file's size once past 256 MB;
- at most upload limit / 4 rows (52 million: a CSV at the upload limit cannot hold more rows,
  each needing at least "1,2" and a line break) and 16,384 columns (as Excel);
- a ZIP archive may list at most 10,000 parts, and a Parquet footer take at most 64 MB.

Reading a file that passes these checks stays within a few times these sizes in memory.
Each check raises LoadError with a plain message.
"""

from __future__ import annotations

import io
import re
import struct
import zlib
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

MIB = 1024 * 1024
UPLOAD_LIMIT_MB = 200  # .streamlit/config.toml [server] maxUploadSize
UPLOAD_LIMIT_BYTES = UPLOAD_LIMIT_MB * MIB
MAX_ROWS = UPLOAD_LIMIT_BYTES // 4
MAX_COLUMNS = 16_384  # Excel's limit (column XFD)
EXCEL_MAX_ROWS = 1_048_576
MAX_XLSX_BYTES = 3 * UPLOAD_LIMIT_BYTES  # all parts of a workbook, decompressed
MAX_XLSX_CELLS = 16 * EXCEL_MAX_ROWS  # a sheet's used range, rows x columns
MAX_RATIO = 100  # decompressed size / compressed size
RATIO_FLOOR_BYTES = 8 * MIB  # the ratio is checked once a part has grown past this
MAX_TABLE_BYTES = 20 * UPLOAD_LIMIT_BYTES  # a Parquet or SAS table in memory (estimated)
TABLE_FLOOR_BYTES = 256 * MIB  # any file may expand to this much, whatever its size
MAX_ZIP_ENTRIES = 10_000
MAX_PARQUET_FOOTER_BYTES = 64 * MIB
# Databases: a query may run this long and return this many rows.
STATEMENT_TIMEOUT_SECONDS = 30
MAX_QUERY_ROWS = MAX_ROWS

_ZIP_METHODS = {0: "stored", 8: "deflated"}  # what Excel and every XLSX writer use
_CHUNK = 1 * MIB


class LimitExceeded(ValueError):
    """A file is larger than the dashboard reads (the reader turns this into LoadError)."""


def _mb(size: float) -> str:
    return f"{size / MIB:,.0f} MB" if size >= MIB else f"{size / 1024:,.0f} KB"


def check_rows_and_columns(
    rows: int, columns: int, source_name: str, at_least: bool = False
) -> None:
    """``at_least``: the counts are lower bounds (a header line read only in part)."""
    if columns > MAX_COLUMNS:
        raise LimitExceeded(
            f"{source_name} has {'at least ' if at_least else ''}{columns:,} columns; this "
            "dashboard reads at most "
            f"{MAX_COLUMNS:,} (as Excel). Is the delimiter right, and is this a table of "
            "outcomes?"
        )
    if rows > MAX_ROWS:
        raise LimitExceeded(
            f"{source_name} has {'at least ' if at_least else ''}{rows:,} rows; this dashboard "
            f"reads at most {MAX_ROWS:,}. "
            "Split the file, or select the outcomes you need before exporting."
        )


def table_budget(file_size: int) -> int:
    """The most memory a table read from a file of ``file_size`` bytes may take."""
    return min(MAX_TABLE_BYTES, max(TABLE_FLOOR_BYTES, MAX_RATIO * file_size))


def check_table_bytes(estimate: int, file_size: int, source_name: str, what: str) -> None:
    """Refuse a Parquet file whose metadata promise more rows or memory than allowed."""
    budget = table_budget(file_size)
    if estimate > budget:
        raise LimitExceeded(
            f"{source_name} is a {_mb(file_size)} {what} file that would take about "
            f"{_mb(estimate)} in memory once read; the most this dashboard reads from a file "
            f"of that size is {_mb(budget)}. It may be damaged or built to exhaust memory."
        )


# ---- Parquet -----------------------------------------------------------------------------

_FIXED_WIDTH = {"BOOLEAN": 8, "INT32": 4, "FLOAT": 4, "INT64": 8, "DOUBLE": 8, "INT96": 12}


def check_parquet(data: bytes, source_name: str) -> None:
    """Row and column counts and the table's size in memory, from the footer alone."""
    import pyarrow.parquet as pq

    if len(data) < 12 or data[-4:] != b"PAR1":
        return  # damaged: the reader says so
    footer = struct.unpack("<I", data[-8:-4])[0]
    if footer > len(data) - 12:
        return  # damaged: the reader says so
    if footer > MAX_PARQUET_FOOTER_BYTES:
        raise LimitExceeded(
            f"{source_name} has a {_mb(footer)} Parquet footer (the part that describes "
            f"the columns); the most this dashboard reads is {_mb(MAX_PARQUET_FOOTER_BYTES)}."
        )
    try:
        metadata = pq.ParquetFile(io.BytesIO(data)).metadata
    except Exception:  # damaged files: the reader gives its own message
        return
    check_rows_and_columns(metadata.num_rows, metadata.num_columns, source_name)
    check_table_bytes(parquet_memory_estimate(metadata), len(data), source_name, "Parquet")


def parquet_memory_estimate(metadata) -> int:
    """Bytes the table takes once decoded: per column, its rows times a width for its type
    (text: 16 bytes plus the average value), and never less than its uncompressed pages."""
    rows = metadata.num_rows
    schema = metadata.schema
    total = 0
    for i in range(metadata.num_columns):
        physical = schema.column(i).physical_type
        pages = sum(
            metadata.row_group(g).column(i).total_uncompressed_size
            for g in range(metadata.num_row_groups)
        )
        if physical in _FIXED_WIDTH:
            width = _FIXED_WIDTH[physical]
        elif physical == "FIXED_LEN_BYTE_ARRAY":
            width = 16 + (schema.column(i).length or 0)
        else:  # BYTE_ARRAY: text or binary
            width = 16 + (pages // rows if rows else 0)
        total += max(pages, rows * width)
    return total


# ---- SAS ---------------------------------------------------------------------------------


def check_sas(rows: int, columns: int, row_length: int, file_size: int, source_name: str):
    """Refuse a SAS file whose header promises more rows or memory than allowed."""
    check_rows_and_columns(rows, columns, source_name)
    # pandas reads every cell into a float64 or a Python object: 8 bytes at least, and the
    # decompressed row itself (SAS7BDAT files may be RLE/RDC-compressed).
    check_table_bytes(rows * max(row_length, 8 * columns), file_size, source_name, "SAS")


# ---- ZIP / XLSX --------------------------------------------------------------------------


@dataclass
class SheetExtent:
    """The used range a reader would allocate: last row and last column (1-based)."""

    rows: int = 0
    columns: int = 0


def check_zip(data: bytes, source_name: str, max_bytes: int | None = None) -> dict[str, int]:
    """Decompress every part of a ZIP archive without keeping it, counting the bytes it really
    expands to (the sizes the archive declares can lie). Returns each part's size."""
    max_bytes = MAX_XLSX_BYTES if max_bytes is None else max_bytes
    entries = _zip_entry_count(data)
    if entries is not None and entries > MAX_ZIP_ENTRIES:
        raise LimitExceeded(
            f"{source_name} is a ZIP archive of {entries:,} parts; a workbook has a few dozen "
            f"and this dashboard reads at most {MAX_ZIP_ENTRIES:,}."
        )
    import zipfile

    with zipfile.ZipFile(io.BytesIO(data)) as archive:
        infos = archive.infolist()
    if len(infos) > MAX_ZIP_ENTRIES:
        raise LimitExceeded(
            f"{source_name} is a ZIP archive of {len(infos):,} parts; this dashboard reads at "
            f"most {MAX_ZIP_ENTRIES:,}."
        )
    declared = sum(info.file_size for info in infos)
    if declared > max_bytes:
        raise _too_large(source_name, declared, max_bytes)
    total = 0
    sizes: dict[str, int] = {}
    for info in infos:
        if info.compress_type not in _ZIP_METHODS:
            raise LimitExceeded(
                f"{source_name}: part {info.filename!r} uses a compression method (number "
                f"{info.compress_type}) that Excel does not write; save the workbook again "
                "from Excel or export CSV."
            )

        def grown(size: int, consumed: int, info=info, total=total) -> None:
            if total + size > max_bytes:
                raise _too_large(source_name, total + size, max_bytes)
            if size > RATIO_FLOOR_BYTES and size > MAX_RATIO * max(consumed, 1):
                raise LimitExceeded(
                    f"{source_name}: part {info.filename!r} expands more than {MAX_RATIO} "
                    f"times ({_mb(consumed)} became more than {_mb(size)}); real workbooks "
                    "expand 10 to 20 times. It may be built to exhaust memory."
                )

        size = sum(len(chunk) for chunk in _zip_chunks(data, info, grown))
        if size != info.file_size:
            raise LimitExceeded(
                f"{source_name} is damaged: part {info.filename!r} expands to {size:,} bytes "
                f"but declares {info.file_size:,}."
            )
        sizes[info.filename] = size
        total += size
    return sizes


def _too_large(source_name: str, size: int, limit: int) -> LimitExceeded:
    return LimitExceeded(
        f"{source_name} expands to more than {_mb(limit)} once decompressed "
        f"({_mb(size)} or more); this dashboard reads workbooks up to {_mb(limit)} of sheet "
        "data. Export the table as CSV or Parquet instead, or check the file: it may be "
        "built to exhaust memory."
    )


def _zip_entry_count(data: bytes) -> int | None:
    """The number of parts the end-of-archive record declares, read before the archive's
    directory is parsed (a directory of millions of parts is itself a bomb)."""
    tail_start = max(0, len(data) - 65_557)
    at = data.rfind(b"PK\x05\x06", tail_start)
    if at < 0 or at + 22 > len(data):
        return None
    count = struct.unpack("<H", data[at + 10 : at + 12])[0]
    if count != 0xFFFF:
        return count
    locator = data.rfind(b"PK\x06\x07", tail_start, at)
    if locator < 0:
        return None
    offset = struct.unpack("<Q", data[locator + 8 : locator + 16])[0]
    if data[offset : offset + 4] != b"PK\x06\x06":
        return None
    return struct.unpack("<Q", data[offset + 32 : offset + 40])[0]


def _zip_chunks(data: bytes, info, grown: Callable[[int, int], None] | None = None):
    """The part's decompressed bytes in chunks of about 1 MB, from its raw data (the bytes a
    reader inflates), calling ``grown(size so far, compressed bytes consumed)`` after each."""
    offset = info.header_offset
    header = data[offset : offset + 30]
    if len(header) < 30 or header[:4] != b"PK\x03\x04":
        raise LimitExceeded(f"part {info.filename!r} of the archive is damaged")
    name_length, extra_length = struct.unpack("<HH", header[26:30])
    start = offset + 30 + name_length + extra_length
    raw = memoryview(data)[start : start + info.compress_size]
    size = 0
    if info.compress_type == 0:
        for at in range(0, len(raw), _CHUNK):
            chunk = bytes(raw[at : at + _CHUNK])
            size += len(chunk)
            if grown:
                grown(size, at + len(chunk))
            yield chunk
        return
    inflater = zlib.decompressobj(-15)
    consumed = 0
    pending = b""
    at = 0
    while True:
        if not pending:
            if at >= len(raw):
                break
            pending = bytes(raw[at : at + _CHUNK])
            at += len(pending)
            consumed = at
        try:
            chunk = inflater.decompress(pending, _CHUNK)
        except zlib.error as exc:
            raise LimitExceeded(f"part {info.filename!r} of the archive is damaged") from exc
        pending = inflater.unconsumed_tail
        if chunk:
            size += len(chunk)
            if grown:
                grown(size, consumed)
            yield chunk
        if inflater.eof:
            break
    tail = inflater.flush()
    if tail:
        size += len(tail)
        if grown:
            grown(size, consumed)
        yield tail


def check_sheet_extent(extent: SheetExtent, source_name: str, sheet: str) -> None:
    """Refuse a sheet whose used range would make the reader allocate too many cells."""
    if extent.columns > MAX_COLUMNS:
        raise LimitExceeded(
            f"{source_name}: sheet {sheet!r} reaches column {extent.columns:,}; this dashboard "
            f"reads at most {MAX_COLUMNS:,} columns (as Excel)."
        )
    cells = extent.rows * extent.columns
    if cells > MAX_XLSX_CELLS or extent.rows > EXCEL_MAX_ROWS:
        raise LimitExceeded(
            f"{source_name}: sheet {sheet!r} spans {extent.rows:,} rows x {extent.columns:,} "
            f"columns ({cells:,} cells, even where most are empty); this dashboard reads at "
            f"most {MAX_XLSX_CELLS:,} cells from a sheet. Delete the unused rows and columns, "
            "or export CSV."
        )


# The used range of a sheet, from its cell references (r="XFD1048576"), without parsing the
# XML. The reader (python-calamine) places a cell at its r attribute, wherever it is in the
# tag, in any case, quoted either way, even when given twice (the last one counts), and a cell
# without one after the previous cell; prefixed names (<x:c>) are cells too. A chunk where
# every cell tag starts <c r="..."> and every r attribute is written r="..." after one space
# is measured with numpy at the '=' signs; any other chunk goes through general patterns.
_REFERENCE = re.compile(rb"""r\s*=\s*["']([A-Za-z]{0,8})(\d+)["']""")
_ANY_CELL = re.compile(rb"<(?:[\w.-]+:)?c[\s>/]")
_REFERENCED_CELL = re.compile(rb"<(?:[\w.-]+:)?c\s[^>]*?\sr\s*=|<(?:[\w.-]+:)?c\sr\s*=")
_ANY_ROW = re.compile(rb"<(?:[\w.-]+:)?row[\s>/]")
_REFERENCED_ROW = re.compile(rb"<(?:[\w.-]+:)?row\s[^>]*?\sr\s*=|<(?:[\w.-]+:)?row\sr\s*=")


class ExtentScanner:
    """Feeds on a sheet's XML in chunks; ``bound`` is the used range seen so far."""

    def __init__(self) -> None:
        self.extent = SheetExtent()
        self._unreferenced_cells = 0  # cells written without r="...": placed one after another
        self._unreferenced_rows = 0

    def feed(self, text: bytes) -> None:
        """``text`` must end at a tag boundary (see tag_aligned)."""
        if not text:
            return
        regular = text.count(b"<c") == text.count(b'<c r="') and text.find(b":c") < 0
        if not (regular and self._fast(text)):
            self._general(text)

    def _fast(self, text: bytes) -> bool:
        """Exact extent of a regular chunk; False (nothing recorded) when it is not regular."""
        data = np.frombuffer(text, dtype=np.uint8)
        equals = np.flatnonzero(data == 61)
        equals = equals[(equals >= 2) & (equals < len(data) - 1)]
        before = data[equals - 1]
        if _is_space(before).any():
            return False  # "r =" (or any name then a space before "=")
        at_r = equals[before == 114]
        at_r = at_r[_is_space(data[at_r - 2])]  # an attribute named r
        if ((data[at_r - 2] != 32) | (data[at_r + 1] != 34)).any():
            return False  # r='...', r= "...", a tab or line break before r
        if not len(at_r):
            return True
        padded = np.concatenate([data, np.zeros(16, dtype=np.uint8)])
        start = at_r + 2  # the reference's first character
        letter = [_is_letter(padded[start + k]) for k in range(4)]
        n_letters = letter[0].astype(np.int64)
        n_letters += letter[0] & letter[1]
        n_letters += letter[0] & letter[1] & letter[2]
        if (letter[0] & letter[1] & letter[2] & letter[3]).any():
            return False  # four letters: past column XFD, read the slow way
        first = start + n_letters
        rows = np.zeros(len(start), dtype=np.int64)
        n_digits = np.zeros(len(start), dtype=np.int64)
        alive = np.ones(len(start), dtype=bool)
        for k in range(11):
            digit = padded[first + k].astype(np.int64) - 48
            alive &= (digit >= 0) & (digit <= 9)
            if not alive.any():
                break
            rows = np.where(alive, rows * 10 + digit, rows)
            n_digits += alive
        if (n_digits < 1).any() or (padded[first + n_digits] != 34).any():
            return False  # not letters then digits then the closing quote
        if ((padded[first] == 48) & (n_digits > 1)).any():
            return False  # leading zeros: compared the slow way
        columns = np.zeros(len(start), dtype=np.int64)
        for k in range(3):
            inside = k < n_letters
            value = (padded[start + k] & 0xDF).astype(np.int64) - 64
            columns = np.where(inside, columns * 26 + value, columns)
        self.extent.rows = max(self.extent.rows, int(rows.max()))
        self.extent.columns = max(self.extent.columns, int(columns.max()))
        return True

    def _general(self, text: bytes) -> None:
        for match in _REFERENCE.finditer(text):
            if match.start() and text[match.start() - 1] in b" \t\r\n":
                letters, digits = match.group(1), match.group(2).lstrip(b"0") or b"0"
                row = int(digits) if len(digits) < 12 else 10**12
                column = _column_number(letters) if letters else 0
                self.extent.rows = max(self.extent.rows, row)
                self.extent.columns = max(self.extent.columns, column)
        cells = len(_ANY_CELL.findall(text))
        if cells:
            self._unreferenced_cells += cells - len(_REFERENCED_CELL.findall(text))
        rows = len(_ANY_ROW.findall(text))
        if rows:
            self._unreferenced_rows += rows - len(_REFERENCED_ROW.findall(text))

    @property
    def bound(self) -> SheetExtent:
        """The extent, widened by every cell or row written without a reference (a reader
        places those after the previous one): an upper bound of what a reader allocates."""
        return SheetExtent(
            self.extent.rows + self._unreferenced_rows,
            self.extent.columns + self._unreferenced_cells,
        )


def _is_space(codes: np.ndarray) -> np.ndarray:
    return (codes == 32) | (codes == 9) | (codes == 10) | (codes == 13)


def _is_letter(codes: np.ndarray) -> np.ndarray:
    upper = codes & 0xDF
    return (upper >= 65) & (upper <= 90)


def tag_aligned(carry: bytes, chunk: bytes, limit: int = MIB) -> tuple[bytes, bytes]:
    """(text to scan, bytes kept for the next chunk): the text ends after the chunk's last '>',
    so no tag or reference is cut in two; at most ``limit`` bytes are carried over."""
    text = carry + chunk
    end = text.rfind(b">") + 1
    if end == 0:
        return (b"", text) if len(text) <= limit else (text[:-64], text[-64:])
    return text[:end], text[end:]


def _column_number(letters: bytes | str) -> int:
    number = 0
    for letter in letters.upper() if isinstance(letters, str) else letters.decode().upper():
        number = number * 26 + ord(letter) - ord("A") + 1
    return number
