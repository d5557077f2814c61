"""Excel error cells (#DIV/0!, #N/A, #VALUE!, ...) read from the sheet's XML.

Both XLSX readers pandas offers (python-calamine and openpyxl) turn an error cell into an empty
cell, so a score computed by a failing formula would vanish as "not recorded". This module
finds them so the loader can put the error text back and validation reports each one with its
row and column, as it does for any cell that is not a number. The sheet XML is only parsed
when it contains an error cell at all (ECMA-376 Part 1, 18.3.1.4: cell type t="e").
"""

from __future__ import annotations

import io
import posixpath
import re
import zipfile
from xml.etree import ElementTree

_MAIN = "{http://schemas.openxmlformats.org/spreadsheetml/2006/main}"
_RELATIONSHIP = "{http://schemas.openxmlformats.org/officeDocument/2006/relationships}id"
_PACKAGE_RELS = "{http://schemas.openxmlformats.org/package/2006/relationships}"
_REFERENCE = re.compile(r"([A-Z]+)(\d+)")


def error_cells(archive: zipfile.ZipFile, sheet_name: str) -> list[tuple[int, int, str]]:
    """(row, column, error text) of every error cell in the sheet, row 1-based as Excel shows
    it, column 0-based (A = 0). Empty when the sheet has none or cannot be found."""
    path = _sheet_path(archive, sheet_name)
    if path is None:
        return []
    with archive.open(path) as sheet:
        content = sheet.read()
    if b't="e"' not in content:
        return []
    found = []
    for _, element in ElementTree.iterparse(io.BytesIO(content)):
        if element.tag == f"{_MAIN}c":
            if element.get("t") == "e":
                match = _REFERENCE.fullmatch(element.get("r", ""))
                value = element.find(f"{_MAIN}v")
                if match and value is not None and value.text:
                    found.append((int(match[2]), _column_index(match[1]), value.text))
            element.clear()
    return found


def _column_index(letters: str) -> int:
    index = 0
    for letter in letters:
        index = index * 26 + ord(letter) - ord("A") + 1
    return index - 1


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
