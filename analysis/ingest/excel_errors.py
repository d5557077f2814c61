"""Excel error cells (#DIV/0!, #N/A, #VALUE!, ...) and the used range, read from the sheet's XML.

Both XLSX readers pandas offers (python-calamine and openpyxl) turn an error cell into an empty
cell, so a score computed by a failing formula would vanish as "not recorded". This module
finds them so the loader can put the error text back and validation reports each one with its
row and column, as it does for any cell that is not a number (ECMA-376 Part 1, 18.3.1.4: cell
type t="e").

The sheet XML is streamed in chunks of about 1 MB and never held whole: a workbook of a few
MB can hold a sheet of gigabytes. The same pass measures the sheet's used range (the rectangle
the reader allocates in full, empty cells included), which the loader checks before reading.
"""

from __future__ import annotations

import html
import posixpath
import re
import zipfile
from dataclasses import dataclass, field
from xml.etree import ElementTree

from analysis.ingest.limits import ExtentScanner, SheetExtent, tag_aligned

_MAIN = "{http://schemas.openxmlformats.org/spreadsheetml/2006/main}"
_RELATIONSHIP = "{http://schemas.openxmlformats.org/officeDocument/2006/relationships}id"
_PACKAGE_RELS = "{http://schemas.openxmlformats.org/package/2006/relationships}"
_REFERENCE = re.compile(r"([A-Z]+)(\d+)")
_CHUNK = 1024 * 1024
_ERROR_TYPE = re.compile(rb"""\bt\s*=\s*["']e["']""")
_CELL_START = re.compile(rb"<(?:[\w.-]+:)?c\s[^<>]*$")
_CELL_REF = re.compile(rb"""\br\s*=\s*["']([A-Za-z]+\d+)["']""")
_VALUE = re.compile(rb"<(?:[\w.-]+:)?v(?:\s[^>]*)?>([^<]*)</(?:[\w.-]+:)?v>")
_CELL_END = re.compile(rb"</(?:[\w.-]+:)?c\s*>")


@dataclass
class SheetScan:
    """What one streaming pass over a sheet found: error cells and the used range."""

    errors: list[tuple[int, int, str]] = field(default_factory=list)
    extent: SheetExtent = field(default_factory=SheetExtent)
    found: bool = False  # False when the sheet could not be located in the archive


def error_cells(archive: zipfile.ZipFile, sheet_name: str) -> list[tuple[int, int, str]]:
    """(row, column, error text) of every error cell in the sheet, row 1-based as Excel shows
    it, column 0-based (A = 0). Empty when the sheet has none or cannot be found."""
    return scan_sheet(archive, sheet_name).errors


def scan_sheet(archive: zipfile.ZipFile, sheet_name: str) -> SheetScan:
    """Error cells and used range of ``sheet_name``, in one streaming pass over its XML."""
    path = _sheet_path(archive, sheet_name)
    return SheetScan() if path is None else scan_part(archive, path)


def scan_part(archive: zipfile.ZipFile, path: str) -> SheetScan:
    """Error cells and used range of the sheet XML stored at ``path`` in the archive."""
    scan = SheetScan(found=True)
    extent = ExtentScanner()
    carry = b""
    with archive.open(path) as sheet:
        while chunk := sheet.read(_CHUNK):
            text, carry = _cell_aligned(carry, chunk)
            if text:
                extent.feed(text)
                if (b'"e"' in text or b"'e'" in text) and _ERROR_TYPE.search(text):
                    scan.errors.extend(_errors_in(text))
    if carry:
        extent.feed(carry + b">")
        scan.errors.extend(_errors_in(carry))
    scan.extent = extent.bound
    return scan


def _cell_aligned(carry: bytes, chunk: bytes) -> tuple[bytes, bytes]:
    """Tag-aligned text (see limits.tag_aligned), with an unfinished cell (its start tag seen,
    its end not yet) carried over whole, so an error cell's value is read with its type."""
    text, rest = tag_aligned(carry, chunk)
    if not text:
        return text, rest
    closed = max(text.rfind(b"</c>"), text.rfind(b"/>"), 0)  # cells before this are whole
    start = max(text.rfind(b"<c ", closed), text.rfind(b"<c>", closed))
    start = max(start, _last_prefixed_cell(text, closed))
    if start >= 0:
        end_of_tag = text.find(b">", start)
        open_cell = text[end_of_tag - 1 : end_of_tag] != b"/" and not _CELL_END.search(
            text, end_of_tag
        )
        if open_cell and len(text) - start <= 1024 * 1024:
            return text[:start], text[start:] + rest
    return text, rest


def _last_prefixed_cell(text: bytes, after: int) -> int:
    at = text.rfind(b":c ", after)
    if at < 0:
        return -1
    lt = text.rfind(b"<", after, at)
    return lt if lt >= 0 and re.fullmatch(rb"<[\w.-]+", text[lt:at]) else -1


def _errors_in(text: bytes) -> list[tuple[int, int, str]]:
    found = []
    for typed in _ERROR_TYPE.finditer(text):
        lt = text.rfind(b"<", 0, typed.start())
        gt = text.find(b">", typed.end())
        if lt < 0 or gt < 0:
            continue
        tag = text[lt : gt + 1]
        if not _CELL_START.match(tag[:-1]) or tag.endswith(b"/>"):
            continue
        reference = _CELL_REF.search(tag)
        end = _CELL_END.search(text, gt)
        value = _VALUE.search(text, gt, end.start() if end else len(text))
        if not reference or not value or not value.group(1).strip():
            continue
        match = _REFERENCE.fullmatch(reference.group(1).decode("ascii").upper())
        if match:
            error = html.unescape(value.group(1).decode("utf-8", errors="replace"))
            found.append((int(match[2]), _column_index(match[1]), error))
    return found


def _column_index(letters: str) -> int:
    index = 0
    for letter in letters:
        index = index * 26 + ord(letter) - ord("A") + 1
    return index - 1


def sheet_names(archive: zipfile.ZipFile) -> list[str]:
    """The workbook's sheet names, in order (from xl/workbook.xml, a small part)."""
    workbook = ElementTree.fromstring(archive.read("xl/workbook.xml"))
    return [str(s.get("name")) for s in workbook.iter(f"{_MAIN}sheet")]


def _sheet_path(archive: zipfile.ZipFile, sheet_name: str) -> str | None:
    """The archive member holding ``sheet_name``: workbook.xml names it, its relationship
    file says where it is."""
    workbook = ElementTree.fromstring(archive.read("xl/workbook.xml"))
    relation = next(
        (
            s.get(_RELATIONSHIP)
            for s in workbook.iter(f"{_MAIN}sheet")
            if s.get("name") == sheet_name
        ),
        None,
    )
    try:
        relations = ElementTree.fromstring(archive.read("xl/_rels/workbook.xml.rels"))
    except KeyError:
        return None
    for item in relations.iter(f"{_PACKAGE_RELS}Relationship"):
        if item.get("Id") == relation:
            target = item.get("Target", "")
            path = target.lstrip("/") if target.startswith("/") else f"xl/{target}"
            path = posixpath.normpath(path)
            return path if path in archive.namelist() else None
    return None
