"""Instrument registry: what each outcome code measures and which way is better.

Every entry names its source. Where no clinically important difference has been
established for the instrument, the registry says so (``None``) instead of inventing one.
Measurement error is kept apart from importance: a smallest real difference (vibration
perception threshold) is not a clinically important difference, and where a publication gives
change by degree of an anchor (sleep interference by degree of pain relief) the registry keeps
that table instead of one threshold. Placebo-arm changes are recorded for symptom and
impairment scores as well as pain: placebo arms improve on those too.
Unknown outcome codes are accepted with direction unknown: the app never guesses.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
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
class Anchor:
    """A change on the instrument observed with a degree of an external anchor (for example the
    degree of pain relief), where a publication gives a table of these instead of one threshold."""

    label: str  # the anchor's level ("moderate")
    change: float  # mean change on the instrument at that level, signed, in its unit
    criterion: str = ""  # what the level means ("30% to <50%")


@dataclass(frozen=True)
class Instrument:
    """One outcome instrument: range, direction, scale, MCID and its sources."""

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
    # Measurement error, not importance: the smallest change (percent of the first value) that
    # exceeds test-retest noise. Shown apart from the clinically important difference.
    smallest_real_difference_pct: float | None = None
    smallest_real_difference_note: str = ""  # e.g. "device-specific"
    smallest_real_difference_reference: str | None = None  # key in analysis.references
    # A published table of change by anchor level, where there is no single threshold.
    anchors: tuple[Anchor, ...] = ()
    anchors_basis: str = ""  # where the table comes from, in words
    anchors_reference: str | None = None  # key in analysis.references
    # Why no clinically important difference is listed when one has been published.
    mcid_unlisted: str = ""
    # The step values are recorded in (1 point, 0.5 V, 0.1 %): changes on this grid let a
    # database compute the exact rank statistics from value counts (analysis.stats.pushdown).
    # None where the scale has no such grid (means of items); the data are checked either way.
    resolution: float | None = None

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
        return _quantity(self.mcid_abs, self.unit)

    def mcid_text(self) -> str:
        parts = []
        if self.mcid_abs is not None:
            parts.append(self.mcid_abs_text())
        if self.mcid_pct is not None:
            parts.append(f"{_num(self.mcid_pct)}%")
        return " or ".join(parts) if parts else "not established"

    def smallest_real_difference_text(self) -> str:
        """'smallest real difference 25% (device-specific)', or '' when there is none."""
        if self.smallest_real_difference_pct is None:
            return ""
        note = (
            f" ({self.smallest_real_difference_note})" if self.smallest_real_difference_note else ""
        )
        return f"smallest real difference {self.smallest_real_difference_pct:.0f}%{note}"

    def anchors_text(self) -> str:
        """The anchor table in one line, or '' when there is none."""
        if not self.anchors:
            return ""
        levels = ", ".join(
            f"{a.label}{f' ({a.criterion})' if a.criterion else ''} {_signed(a.change)}"
            for a in self.anchors
        )
        unit = f" {self.unit}" if self.unit else ""
        basis = f"{self.anchors_basis}: " if self.anchors_basis else ""
        return f"{basis}{levels}{unit}"

    def importance_text(self) -> str:
        """What the registry knows about a meaningful change, for the registry table: the
        clinically important difference; else 'none published' (or 'not established' for an
        outcome not in the registry), followed by a smallest real difference or an anchor table
        where one is published."""
        if self.mcid_abs is not None or self.mcid_pct is not None:
            parts = [self.mcid_text()]
        elif self.anchors:
            parts = ["no single threshold"]
        elif self.mcid_unlisted:
            parts = [self.mcid_unlisted]
        else:
            parts = ["none published" if self.known else "not established"]
        parts += [t for t in (self.smallest_real_difference_text(), self.anchors_text()) if t]
        return "; ".join(parts)

    def placebo_text(self) -> str:
        """The published placebo-arm change in words, or '' when there is none."""
        p = self.placebo
        if p is None:
            return ""
        unit = f" {self.unit}" if self.unit else ""
        trials = f"{p.n_trials} trial{'s' if p.n_trials != 1 else ''}"
        rate = f", {p.rate_50pct:g}% reached a 50% reduction" if p.rate_50pct is not None else ""
        return f"{_signed(p.mean_change)}{unit} ({trials}, {p.population}{rate})"


def _quantity(x: float, unit: str) -> str:
    """'2 points', '1 point', '0.5 %'."""
    if x == 1 and unit in ("points", "sites"):
        unit = unit[:-1]
    return f"{_num(x)} {unit}".strip()


def _and(citation: str, what: str, other: str) -> str:
    """Two sources in one line: 'citation; what: other' (without a full stop before ';')."""
    return f"{citation.rstrip('.')}; {what}: {other}"


def _signed(x: float) -> str:
    """A signed number with a true minus sign: '−0.9', '+1'."""
    return f"{x:+g}".replace("-", "−")


def _num(x: float) -> str:
    return f"{x:g}"


FARRAR_2001 = cite("farrar2001")
DWORKIN_2008 = cite("dworkin2008")
# The pooled placebo arms of two identical 1-year ruboxistaurin trials (Diabetes Care 2007;30:2626):
# symptoms and impairment scores improved on placebo, not only pain.
_RBX_PLACEBO_POPULATION = "mild symptomatic DPN, over 1 year"

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
        "bpi_interference",
        "Brief Pain Inventory pain interference (BPI 0–10)",
        "points",
        0,
        10,
        "lower",
        1,
        None,
        _and(cite("cleeland1994"), "clinically important change (1 point)", DWORKIN_2008),
        note="Mean of the seven interference items (general activity, mood, walking, work, "
        "relations, sleep, enjoyment of life).",
        mcid_reference="dworkin2008",
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
        _and(cite("vernon2008"), "change by pain relief", cite("pregabalin_dsi_pooled")),
        anchors=(
            Anchor("marginal", -0.9, "0% to <15%"),
            Anchor("minimal", -1.7, "15% to <30%"),
            Anchor("moderate", -2.3, "30% to <50%"),
            Anchor("substantial", -4.0, "≥50%"),
        ),
        anchors_basis="mean change by pain relief, 10 pooled pregabalin trials (DPN and PHN)",
        anchors_reference="pregabalin_dsi_pooled",
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
        "nis_ll",
        "Neuropathy Impairment Score of the lower limbs (NIS(LL) 0–88)",
        "points",
        0,
        88,
        "lower",
        2,
        None,
        cite("dyck1997").rstrip(".") + " (a 2-point change is taken as clinically meaningful)",
        placebo=PlaceboBenchmark(-0.63, None, 2, _RBX_PLACEBO_POPULATION, "rbx_placebo2007"),
        mcid_reference="dyck1997",
    ),
    Instrument(
        "ntss6",
        "Neuropathy Total Symptom Score-6 (NTSS-6 0–21.96)",
        "points",
        0,
        21.96,
        "lower",
        None,
        None,
        cite("bastyr2005"),
        placebo=PlaceboBenchmark(-3.73, None, 2, _RBX_PLACEBO_POPULATION, "rbx_placebo2007"),
        mcid_unlisted="reported by the validation study (Bastyr 2005); not listed here until "
        "checked against it",
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
        "perception thresholds. Diabetes Care 1994;17:557-560 (biothesiometer, 0-50 V); "
        "smallest real difference: " + cite("dominguez_munoz2020"),
        smallest_real_difference_pct=24.94,
        smallest_real_difference_note="device-specific: Vibratron II",
        smallest_real_difference_reference="dominguez_munoz2020",
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
    {"pain_vas", "bpi_interference", "nis_ll", "ntss6", "vpt", "sural_snap", "sural_scv",
     "peroneal_mcv", "norfolk_qol", "hba1c", "hba1c_mmol"}
)  # fmt: skip
# Recording resolution: whole points for sum scores and millimetres; half points for the MNSI
# examination (items score 0, 0.5, 1); one decimal for devices and laboratory values. BPI
# interference and NTSS-6 are means or weighted sums of items: no decimal grid.
_RESOLUTION: dict[str, float] = {
    "pain_nrs": 1, "pain_vas": 1, "sleep_interference": 1, "tcss": 1, "mtcns": 1,
    "mnsi_exam": 0.5, "mnsi_questionnaire": 1, "nds": 1, "nss": 1, "nis_ll": 1,
    "monofilament": 1, "vpt": 0.1, "sural_snap": 0.1, "sural_scv": 0.1, "peroneal_mcv": 0.1,
    "norfolk_qol": 1, "pgic": 1, "hba1c": 0.1, "hba1c_mmol": 1,
}  # fmt: skip
REGISTRY: dict[str, Instrument] = {
    inst.code: replace(
        inst,
        scale="continuous" if inst.code in _CONTINUOUS else inst.scale,
        resolution=_RESOLUTION.get(inst.code),
    )
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
        inst = replace(inst, direction=direction_override)  # asdict would flatten placebo, anchors
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
            "clinically important difference": [i.importance_text() for i in entries],
            "placebo-arm change": [i.placebo_text() for i in entries],
            "source": [i.source for i in entries],
        }
    )


# ---- Adverse events of special interest (AESI) ------------------------------------------------
# Safety knowledge beside the outcome knowledge: which adverse-event terms are of special
# interest after MSC treatment in DPN, matched by regular expression (case-insensitive) on the
# AE term, with why and the works that say so (keys in analysis.references). The matching
# itself lives in analysis.stats.adverse_events (AesiRule); the Safety page lets a user edit
# the patterns, starting from these.


@dataclass(frozen=True)
class AesiDefinition:
    """An adverse event of special interest: its name, the terms it matches (``pattern``) and
    does not (``exclude``), why it is of interest, and the reference keys that support it."""

    name: str
    pattern: str
    exclude: str
    why: str
    references: tuple[str, ...] = ()

    def sources(self) -> str:
        """The full citations of ``references`` ('' when there are none)."""
        return " ".join(cite(key) for key in self.references)


AESI_DEFINITIONS: tuple[AesiDefinition, ...] = (
    AesiDefinition(
        "Fever",
        r"\b(fever|pyrexia|febrile|hyperthermia|hyperpyrexia)\b|(body )?temperature "
        r"(increased|elevated|raised)",
        r"hay fever",
        "Transient fever is the signal of MSC administration (Wang et al. 2021: OR 3.65).",
        ("wang2021_msc_safety",),
    ),
    AesiDefinition(
        "Injection- or administration-site reaction",
        r"(injection|infusion|administration|application|implant(ation)?|catheter|puncture)"
        r"[- ]site|infusion[- ]related reaction|\bsite (reaction|pain|swelling|erythema|"
        r"ha?ematoma|bruising|induration|inflammation)",
        "",
        "Administration-site events are more frequent after MSC (Wang et al. 2021: OR 1.98).",
        ("wang2021_msc_safety",),
    ),
    AesiDefinition(
        "Infection",
        r"infect|sepsis|septic|cellulitis|abscess|pneumonia|bacter(a)?emia|osteomyelitis|"
        r"gangrene|erysipelas|\buti\b|bronchitis|pharyngitis|cystitis|pyelonephritis|"
        r"influenza|herpes|zoster|candid|covid",
        r"non-?infect",
        "Immunomodulation by the cells; diabetic foot infection is common in DPN.",
    ),
    AesiDefinition(
        "Thromboembolic event",
        r"thrombo|embol|\bdvt\b|deep vein|stroke|cerebrovascular accident|cerebral infarct|"
        r"myocardial infarct|transient isch(a)?emic attack|\btia\b|arterial occlusion",
        r"thrombocyt",
        "MSC express tissue factor (procoagulant); intra-arterial delivery can embolise.",
        ("moll2019_tissue_factor",),
    ),
    AesiDefinition(
        "Malignancy",
        r"malignan|cancer|carcinoma|sarcoma|lymphoma|leuk(a)?emia|melanoma|myeloma|"
        r"neoplasm|tumou?r|metasta|blastoma",
        r"benign",
        "Theoretical tumour promotion by the cells: follow-up over years.",
        ("isscr2021",),
    ),
    AesiDefinition(
        "Hypoglycaemia",
        r"hypoglyc|low blood (sugar|glucose)|blood glucose decreased",
        "",
        "Patients with diabetes: glucose control may change with treatment and follow-up.",
    ),
)
