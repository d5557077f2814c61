"""Where numbers become text: p-values, signed numbers, percentages and intervals.

Everything shown to a person or written into a human-readable table is formatted here, so a
p-value reads the same on a page, in the report and on the command line. ``analysis.stats``
returns numbers only.
"""

from __future__ import annotations

import math

MINUS = "\u2212"  # typographic minus for display; exports keep ASCII '-'


def number(x: float | None, digits: int = 1) -> str:
    """A number with fixed decimals and a typographic minus ('undefined' for None)."""
    if x is None:
        return "undefined"
    text = f"{x:.{digits}f}"
    return text.replace("-", MINUS) if x < 0 else text


def count(n: int | None) -> str:
    """A count of patients or values as read in a sentence: '30,100' (thousands separated), or
    'undefined'."""
    return "undefined" if n is None else f"{int(n):,}"


def format_p(p: float | None) -> str:
    """p-values as journals print them: 'undefined', '< 0.001', or 3 decimals (2 above 0.1)."""
    if p is None or not math.isfinite(p):
        return "undefined"
    if p < 0.001:
        return "< 0.001"
    if p < 0.1:
        return f"{p:.3f}"
    return f"{p:.2f}"


def p_phrase(p: float | None) -> str:
    """'p < 0.001' or 'p = 0.034' (or 'p undefined')."""
    text = format_p(p)
    if text == "undefined":
        return "p undefined"
    return f"p {text}" if text.startswith("<") else f"p = {text}"


def percent(x: float | None, digits: int = 0) -> str:
    """A percentage ('33%'), or 'undefined'."""
    return "undefined" if x is None or not math.isfinite(x) else f"{x:.{digits}f}%"


def interval(low: float | None, high: float | None, digits: int = 2) -> str:
    """'low to high' with typographic minus signs, or 'undefined'."""
    if low is None or high is None:
        return "undefined"
    return f"{number(low, digits)} to {number(high, digits)}"


def bin_label(low: float, high: float, digits: int) -> str:
    """A bin of an attribute as read on a page: '7.0 to 8.0'."""
    return f"{number(low, digits)} to {number(high, digits)}"
