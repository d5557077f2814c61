"""Instrument registry: what each outcome code measures and which way is better.

Every entry names its source. Where no clinically important difference has been
established for the instrument, the registry says so (``None``) instead of inventing one.
Unknown outcome codes are accepted with direction unknown: the app never guesses.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, replace
from typing import Literal

import pandas as pd

from analysis.references import cite

Direction = Literal["lower", "higher"]
# What the scale is, known before looking at the data: it chooses the primary paired test
# (ordinal scores with few levels -> Wilcoxon signed-rank; continuous measurements -> t-test).
Scale = Literal["ordinal", "continuous"]


@dataclass(frozen=True)
class PlaceboBenchmark:
    """A published placebo-arm response for an instrument (the yardstick of uncontrolled data)."""

    mean_change: float  # in the instrument's unit, signed
    rate_50pct: float | None  # % of placebo patients reaching a 50% improvement
    n_trials: int
    population: str
    reference: str  # key in analysis.references


@dataclass(frozen=True)
class Instrument:
    code: str
    label: str
    unit: str
    low: float | None
    high: float | None
    direction: Direction | None  # which way is better; None = unknown
    mcid_abs: float | None  # clinically important difference in the instrument's unit
    mcid_pct: float | None  # ... or as percent change from baseline
    source: str
    known: bool = True
    note: str = ""
    scale: Scale = "ordinal"
    placebo: PlaceboBenchmark | None = None
    mcid_reference: str | None = None  # key in analysis.references for the MCID

    @property
    def short_label(self) -> str:
        return self.label.split(" (")[0]

    def range_text(self) -> str:
        if self.low is None or self.high is None:
            return "no fixed range"
        return f"{_num(self.low)}–{_num(self.high)}"

    def direction_text(self) -> str:
        return {
            "lower": "lower is better",
            "higher": "higher is better",
            None: "direction unknown",
        }[self.direction]

    def mcid_abs_text(self) -> str:
        """The absolute clinically important difference with its unit ('2 points')."""
        if self.mcid_abs is None:
            return "not established"
        return f"{_num(self.mcid_abs)} {self.unit}".strip()

    def mcid_text(self) -> str:
        parts = []
        if self.mcid_abs is not None:
            parts.append(self.mcid_abs_text())
        if self.mcid_pct is not None:
            parts.append(f"{_num(self.mcid_pct)}%")
        return " or ".join(parts) if parts else "not established"


def _num(x: float) -> str:
    return f"{x:g}"


FARRAR_2001 = cite("farrar2001")
DWORKIN_2008 = cite("dworkin2008")

_REGISTRY: tuple[Instrument, ...] = (
    Instrument(
        "pain_nrs",
        "Pain intensity (NRS 0–10)",
        "points",
        0,
        10,
        "lower",
        2,
        30,
        FARRAR_2001,
        placebo=PlaceboBenchmark(
            -1.54, 25.0, 21, "painful diabetic neuropathy", "frisaldi_placebo"
        ),
        mcid_reference="farrar2001",
    ),
    Instrument(
        "pain_vas",
        "Pain intensity (VAS 0–100 mm)",
        "mm",
        0,
        100,
        "lower",
        None,
        30,
        DWORKIN_2008 + " (30% reduction = moderately important)",
    ),
    Instrument(
        "sleep_interference",
        "Daily sleep interference (0–10)",
        "points",
        0,
        10,
        "lower",
        None,
        None,
        cite("vernon2008"),
    ),
    Instrument(
        "tcss",
        "Toronto Clinical Scoring System (TCSS 0–19)",
        "points",
        0,
        19,
        "lower",
        None,
        None,
        cite("bril2002"),
    ),
    Instrument(
        "mtcns",
        "Modified Toronto Clinical Neuropathy Score (mTCNS 0–33)",
        "points",
        0,
        33,
        "lower",
        None,
        None,
        "Bril V et al. Validation of the modified Toronto Clinical Neuropathy Score. "
        "Diabet Med 2009;26:240-246",
    ),
    Instrument(
        "mnsi_exam",
        "MNSI physical examination (0–10)",
        "points",
        0,
        10,
        "lower",
        None,
        None,
        "Feldman EL et al. A practical two-step quantitative clinical and electrophysiological "
        "assessment for the diagnosis and staging of diabetic neuropathy. Diabetes Care "
        "1994;17:1281-1289",
    ),
    Instrument(
        "mnsi_questionnaire",
        "MNSI questionnaire (0–13)",
        "points",
        0,
        13,
        "lower",
        None,
        None,
        "Feldman EL et al. Diabetes Care 1994;17:1281-1289",
    ),
    Instrument(
        "nds",
        "Neuropathy Disability Score (NDS 0–10)",
        "points",
        0,
        10,
        "lower",
        None,
        None,
        "Young MJ et al. A multicentre study of the prevalence of diabetic peripheral "
        "neuropathy in the UK hospital clinic population. Diabetologia 1993;36:150-154",
    ),
    Instrument(
        "nss",
        "Neuropathy Symptom Score (NSS 0–9)",
        "points",
        0,
        9,
        "lower",
        None,
        None,
        "Young MJ et al. Diabetologia 1993;36:150-154",
    ),
    Instrument(
        "monofilament",
        "10 g monofilament: sites felt (0–10)",
        "sites",
        0,
        10,
        "higher",
        None,
        None,
        "Boulton AJM et al. Comprehensive foot examination and risk assessment. "
        "Diabetes Care 2008;31:1679-1685",
    ),
    Instrument(
        "vpt",
        "Vibration perception threshold (V)",
        "V",
        0,
        50,
        "lower",
        None,
        None,
        "Young MJ et al. The prediction of diabetic neuropathic foot ulceration using vibration "
        "perception thresholds. Diabetes Care 1994;17:557-560 (biothesiometer, 0-50 V)",
    ),
    Instrument(
        "sural_snap",
        "Sural sensory nerve action potential amplitude (µV)",
        "µV",
        0,
        100,
        "higher",
        None,
        None,
        "Dyck PJ et al. Signs and symptoms versus nerve conduction studies to diagnose diabetic "
        "sensorimotor polyneuropathy. Muscle Nerve 2010;42:157-164",
    ),
    Instrument(
        "sural_scv",
        "Sural sensory conduction velocity (m/s)",
        "m/s",
        0,
        100,
        "higher",
        None,
        None,
        "Dyck PJ et al. Muscle Nerve 2010;42:157-164",
    ),
    Instrument(
        "peroneal_mcv",
        "Peroneal motor conduction velocity (m/s)",
        "m/s",
        0,
        100,
        "higher",
        None,
        None,
        "Dyck PJ et al. Muscle Nerve 2010;42:157-164",
    ),
    Instrument(
        "norfolk_qol",
        "Norfolk QOL-DN total score (−4 to 136)",
        "points",
        -4,
        136,
        "lower",
        None,
        None,
        "Vinik EJ et al. Norfolk QOL-DN: validation of a patient reported outcome measure in "
        "transthyretin familial amyloid polyneuropathy and diabetic neuropathy. "
        "J Peripher Nerv Syst 2005;10:197-206; Vinik EJ et al. Diabetes Technol Ther "
        "2005;7:497-508",
    ),
    Instrument(
        "pgic",
        "Patient Global Impression of Change (PGIC 1–7)",
        "points",
        1,
        7,
        "lower",
        None,
        None,
        "Guy W. ECDEU Assessment Manual for Psychopharmacology, 1976; " + DWORKIN_2008,
        note="PGIC rates change itself (1 = very much improved); it has no baseline value.",
    ),
    Instrument(
        "hba1c",
        "HbA1c (%)",
        "%",
        3,
        20,
        "lower",
        0.5,
        None,
        "0.5 percentage points is the difference conventionally treated as clinically "
        "relevant in diabetes trials (e.g. Little RR, Rohlfing CL. Clin Chem "
        "2013;59:1191-1193; threshold to be confirmed for the local protocol)",
    ),
    Instrument(
        "hba1c_mmol",
        "HbA1c (mmol/mol, IFCC)",
        "mmol/mol",
        9,
        195,
        "lower",
        5.5,
        None,
        "IFCC units; 5.5 mmol/mol corresponds to 0.5 percentage points (see hba1c)",
    ),
)

# Measurements on a continuous scale (devices, laboratory values, visual analogue and many-level
# sum scores); every other entry is a bounded score with few levels (ordinal).
_CONTINUOUS = frozenset(
    {"pain_vas", "vpt", "sural_snap", "sural_scv", "peroneal_mcv", "norfolk_qol", "hba1c",
     "hba1c_mmol"}
)  # fmt: skip
REGISTRY: dict[str, Instrument] = {
    inst.code: replace(inst, scale="continuous") if inst.code in _CONTINUOUS else inst
    for inst in _REGISTRY
}


def lookup(code: str, direction_override: Direction | None = None) -> Instrument:
    """The registry entry for ``code``, or an 'unknown' entry that never guesses direction.

    ``direction_override`` is a user's explicit choice for an outcome; it replaces the
    registry's direction (and is the only way an unknown outcome gets one).
    """
    inst = REGISTRY.get(code.strip().lower())
    if inst is None:
        inst = Instrument(
            code=code,
            label=code,
            unit="",
            low=None,
            high=None,
            direction=None,
            mcid_abs=None,
            mcid_pct=None,
            source="not in the instrument registry",
            known=False,
        )
    if direction_override is not None:
        inst = Instrument(**{**asdict(inst), "direction": direction_override})
    return inst


def registry_table(codes: list[str] | None = None) -> pd.DataFrame:
    """The registry as a table for display; ``codes`` limits it to outcomes in the data."""
    entries = [lookup(c) for c in codes] if codes is not None else list(REGISTRY.values())
    return pd.DataFrame(
        {
            "code": [i.code for i in entries],
            "instrument": [i.label for i in entries],
            "unit": [i.unit for i in entries],
            "valid range": [i.range_text() for i in entries],
            "better when": [i.direction_text() for i in entries],
            "clinically important difference": [i.mcid_text() for i in entries],
            "source": [i.source for i in entries],
        }
    )
