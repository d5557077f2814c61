"""The printable patient page: what it carries, and, printed to PDF by headless Chromium, at
most two A4 pages with every chart inside the printable width. Skipped, with the reason,
where Chromium or Playwright cannot be had."""

from __future__ import annotations

import datetime as dt
import re
import shutil
import subprocess

import pandas as pd
import pytest

from analysis.ingest.pipeline import load_demo
from analysis.instruments import lookup
from analysis.present.patient_printout import PRINT_WIDTH_PX, patient_html, print_figures
from analysis.stats.patient import patient_profile

SHA = "3f" * 32
PRINTABLE_PX = 700  # A4 (210 mm) minus 12 mm margins is 186 mm, 703 CSS px


@pytest.fixture(scope="module")
def demo():
    return load_demo().dataset


@pytest.fixture(scope="module")
def profile(demo):
    return patient_profile(demo, "SYN-001")


def _page(profile, demo, **kwargs) -> str:
    return patient_html(
        profile,
        demo.visits,
        source_name=demo.source_name,
        source_sha256=SHA,
        synthetic=True,
        printed=dt.datetime(2026, 5, 4, 9, 30, tzinfo=dt.UTC),
        **kwargs,
    )


def test_page_carries_id_source_fingerprint_and_date(profile, demo):
    text = _page(profile, demo)
    assert "<h1>Patient SYN-001</h1>" in text and "pseudonymous ID" in text
    assert demo.source_name in text
    assert SHA in text and f"fingerprint {SHA[:12]}" in text
    assert "Printed 2026-05-04 09:30:00 UTC" in text
    assert "not a real patient" in text
    assert "@page { size: A4 portrait;" in text
    # One drawing call per chart (counted in the chart divs: the embedded plotly.js library
    # itself names Plotly.newPlot in some versions, 6.0.0 for one).
    charts = text.split("<div class='chart'>")[1:]
    assert len(charts) == len(print_figures(profile.values, demo.visits, "x"))
    assert all(chart.count("Plotly.newPlot") == 1 for chart in charts)


def test_a_missing_fingerprint_is_printed_whole(profile, demo):
    text = patient_html(profile, demo.visits, source_name=demo.source_name,
                        source_sha256="not available", synthetic=True)  # fmt: skip
    assert "(fingerprint not available)" in text


def test_every_chart_says_which_way_is_better(profile, demo):
    figures = print_figures(profile.values, demo.visits, "SYN-001", {"hba1c": "lower"})
    titles = [a.text for fig in figures for a in fig.layout.annotations if a.text]
    outcomes = list(dict.fromkeys(profile.values["outcome"]))
    assert len(titles) == len(outcomes)
    for outcome, title in zip(outcomes, titles, strict=True):
        direction = lookup(outcome).direction
        if direction == "lower":
            assert "lower is better" in title, title
        elif direction == "higher":
            assert "higher is better" in title, title
        else:
            assert "direction of improvement unknown" in title or "set by the user" in title
    for fig in figures:
        assert fig.layout.width == PRINT_WIDTH_PX <= PRINTABLE_PX


def test_unknown_direction_is_said(demo):
    values = patient_profile(demo, "SYN-001").values.copy()
    values["outcome"] = values["outcome"].replace({"pain_nrs": "grip_strength"})
    figures = print_figures(values, demo.visits, "SYN-001")
    titles = [a.text for a in figures[0].layout.annotations if a.text]
    assert "direction of improvement unknown" in titles[0]


CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")


def test_printed_on_at_most_two_a4_pages_with_nothing_cut(profile, demo, tmp_path):
    sync_api = pytest.importorskip("playwright.sync_api", reason="playwright is not installed")
    if CHROMIUM is None:
        pytest.skip("Debian's chromium is not installed: the print test needs it")
    page_file = tmp_path / "patient.html"
    page_file.write_text(_page(profile, demo), encoding="utf-8")
    n_charts = len(print_figures(profile.values, demo.visits, "SYN-001"))
    with sync_api.sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox"])
        try:
            page = browser.new_page(viewport={"width": PRINTABLE_PX, "height": 1000})
            page.goto(page_file.as_uri())
            # Each chart draws two .main-svg layers; wait until all are drawn and inside the
            # printable width.
            page.wait_for_function(
                """([n, width]) => {
                    const svgs = [...document.querySelectorAll('.chart .main-svg')];
                    return svgs.length >= 2 * n && svgs.every(s => {
                        const box = s.getBoundingClientRect();
                        return box.width > 0 && box.left >= 0 && box.right <= width;
                    });
                }""",
                arg=[n_charts, PRINTABLE_PX],
                timeout=60_000,
            )
            overflow = page.evaluate("document.documentElement.scrollWidth")
            assert overflow <= PRINTABLE_PX  # nothing wider than the printable width
            heights = page.evaluate(
                "[...document.querySelectorAll('.chart')].map(c => c.getBoundingClientRect()"
                ".height)"
            )
            assert len(heights) == n_charts and max(heights) < 1000  # each fits on a page
            pdf = page.pdf(prefer_css_page_size=True, print_background=True)
        finally:
            browser.close()
    pages = len(re.findall(rb"/Type\s*/Page[^s]", pdf))
    assert 1 <= pages <= 2, pages
    (tmp_path / "patient.pdf").write_bytes(pdf)
    if shutil.which("pdftotext"):
        text = subprocess.run(
            ["pdftotext", "-layout", str(tmp_path / "patient.pdf"), "-"],
            capture_output=True, text=True, check=True,
        ).stdout  # fmt: skip
        assert "Patient SYN-001" in text
        assert SHA[:12] in text
        assert "A change here shows what happened to these patients" in text  # the last line
        assert text.count("is better") >= len(set(profile.values["outcome"])) - 1


@pytest.fixture(scope="module")
def many_events():
    """Patient SYN-134's demo adverse events (5), repeated to 15 rows: more than are printed."""
    from analysis.ingest.adverse_events import load_demo_adverse_events
    from analysis.present.safety_tables import patient_events_display
    from analysis.stats.adverse_events import patient_events

    ae = load_demo_adverse_events().table
    shown = patient_events_display(patient_events(ae, "SYN-134"), ae.scale)
    return shown, ae.scale


def test_adverse_events_are_listed_under_the_status(demo, many_events):
    shown, _ = many_events
    profile = patient_profile(demo, "SYN-134")
    text = _page(profile, demo, adverse_events=shown)
    assert "<h2>Adverse events (days since treatment)</h2>" in text
    assert text.count("<td>Hypoglycaemia</td>") == 4  # two events: term and special interest
    assert "<td>Pyrexia</td>" in text and "<td>Fever</td>" in text
    assert "<th>grade</th>" in text and "<td>grade 2</td>" in text
    assert "more adverse event(s)" not in text
    crowded = _page(profile, demo, adverse_events=pd.concat([shown] * 3, ignore_index=True))
    assert "3 more adverse event(s) are on the dashboard's Patient page." in crowded
    assert "Adverse events" not in _page(profile, demo)  # no AE table: nothing said
    empty = _page(profile, demo, adverse_events=shown.iloc[0:0])
    assert "<h2>Adverse events</h2><p>None recorded.</p>" in empty


def test_printed_with_adverse_events_on_at_most_two_a4_pages(demo, many_events, tmp_path):
    sync_api = pytest.importorskip("playwright.sync_api", reason="playwright is not installed")
    if CHROMIUM is None:
        pytest.skip("Debian's chromium is not installed: the print test needs it")
    shown, _ = many_events
    profile = patient_profile(demo, "SYN-134")
    page_file = tmp_path / "patient.html"
    crowded = pd.concat([shown] * 3, ignore_index=True)  # 15 events: 12 printed, 3 counted
    page_file.write_text(_page(profile, demo, adverse_events=crowded), encoding="utf-8")
    n_charts = len(print_figures(profile.values, demo.visits, "SYN-134"))
    with sync_api.sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox"])
        try:
            page = browser.new_page(viewport={"width": PRINTABLE_PX, "height": 1000})
            page.goto(page_file.as_uri())
            page.wait_for_function(
                "n => document.querySelectorAll('.chart .main-svg').length >= 2 * n",
                arg=n_charts,
                timeout=60_000,
            )
            assert page.evaluate("document.documentElement.scrollWidth") <= PRINTABLE_PX
            pdf = page.pdf(prefer_css_page_size=True, print_background=True)
        finally:
            browser.close()
    pages = len(re.findall(rb"/Type\s*/Page[^s]", pdf))
    assert 1 <= pages <= 2, pages
