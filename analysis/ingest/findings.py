"""The validation report: errors (file unusable), warnings (usable, something was off) and notes.

Each finding says what and where in plain words; its ``locations`` table lists every affected
cell (row as a spreadsheet numbers it, header = row 1, column, value), so nothing is dropped
without being counted and shown.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

import numpy as np
import pandas as pd

Severity = Literal["error", "warning", "note"]
ROW_CONVENTION = "Rows are numbered as a spreadsheet shows them: the header is row 1."
_SHOWN_IN_MESSAGE = 5


@dataclass
class Finding:
    """One thing found in the data: how serious, a code, a message and where."""

    severity: Severity
    code: str
    message: str
    locations: pd.DataFrame | None = None  # columns: row, column, value (any subset)

    @property
    def count(self) -> int:
        """Number of affected cells listed."""
        return 0 if self.locations is None else len(self.locations)


@dataclass
class ValidationReport:
    """Every finding of one load, in the order found, and where every value went."""

    findings: list[Finding] = field(default_factory=list)
    accounting: dict[str, int] = field(default_factory=dict)

    def add(
        self,
        severity: Severity,
        code: str,
        message: str,
        locations: pd.DataFrame | None = None,
    ) -> None:
        """Record a finding."""
        self.findings.append(Finding(severity, code, message, locations))

    @property
    def errors(self) -> list[Finding]:
        """Findings that make the file unusable."""
        return [f for f in self.findings if f.severity == "error"]

    @property
    def warnings(self) -> list[Finding]:
        """Findings about a usable file where something was off."""
        return [f for f in self.findings if f.severity == "warning"]

    @property
    def notes(self) -> list[Finding]:
        """Findings for information."""
        return [f for f in self.findings if f.severity == "note"]

    @property
    def usable(self) -> bool:
        """Whether the file loaded (no errors)."""
        return not self.errors

    def codes(self) -> list[str]:
        """The findings' codes, in order."""
        return [f.code for f in self.findings]

    def as_text(self) -> str:
        """The report as plain text (what `python -m analysis validate` prints)."""
        lines: list[str] = []
        verdict = "usable" if self.usable else "NOT usable"
        lines.append(
            f"The file is {verdict}: {len(self.errors)} error(s), "
            f"{len(self.warnings)} warning(s), {len(self.notes)} note(s)."
        )
        if self.accounting:
            lines.append("")
            lines.append("Where every value went:")
            for key, value in self.accounting.items():
                lines.append(f"  {key}: {value}")
        for title, group in (
            ("Errors", self.errors),
            ("Warnings", self.warnings),
            ("Notes", self.notes),
        ):
            if group:
                lines.append("")
                lines.append(f"{title}:")
                for finding in group:
                    lines.append(f"  - {finding.message}")
        if any(f.count for f in self.findings):
            lines.append("")
            lines.append(ROW_CONVENTION)
        return "\n".join(lines)

    def locations_table(self) -> pd.DataFrame:
        """Every located finding as one table: severity, issue, row, column, value."""
        frames = []
        for finding in self.findings:
            if finding.locations is not None and len(finding.locations):
                frame = finding.locations.copy()
                frame.insert(0, "issue", finding.code)
                frame.insert(0, "severity", finding.severity)
                frames.append(frame)
        if not frames:
            return pd.DataFrame(columns=["severity", "issue", "row", "column", "value"])
        table = pd.concat(frames, ignore_index=True)
        for column in ("row", "column", "value"):
            if column not in table:
                table[column] = ""
        table["value"] = table["value"].astype(str)
        return table


def describe_locations(locations: pd.DataFrame, limit: int = _SHOWN_IN_MESSAGE) -> str:
    """'row 5, column pain_nrs__m6 ("12"); ... and 3 more' for the first few locations."""
    parts = []
    for record in locations.head(limit).to_dict("records"):
        bits = []
        if "row" in record and pd.notna(record["row"]):
            bits.append(f"row {int(record['row'])}")
        if record.get("column"):
            bits.append(f"column {record['column']}")
        text = ", ".join(bits)
        if "value" in record and record["value"] not in ("", None):
            text += f' ("{record["value"]}")'
        parts.append(text)
    more = len(locations) - limit
    suffix = f"; and {more} more" if more > 0 else ""
    return "; ".join(parts) + suffix


def cell_locations(records: pd.DataFrame, mask: pd.Series | np.ndarray) -> pd.DataFrame:
    """Row, column and cell as read (``raw_value``) of the records where ``mask`` holds."""
    mask = np.asarray(mask, dtype=bool)
    return pd.DataFrame(
        {
            "row": records.loc[mask, "source_row"].to_numpy(),
            "column": records.loc[mask, "source_column"].to_numpy(),
            "value": records.loc[mask, "raw_value"].astype(str).to_numpy(),
        }
    )
