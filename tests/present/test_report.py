"""Exports are spreadsheet-safe; the HTML report is complete, offline, printable, and renders
its figures in a real browser with the same numbers as the command line."""

import contextlib
import hashlib
import io
import json
import re
import shutil

import openpyxl
import pandas as pd
import pytest

from analysis.cli import main
from analysis.ingest.pipeline import DEMO_PATH, load_demo
from analysis.present.export import neutralise_formulas, to_xlsx_bytes
from analysis.present.format import number
from analysis.present.report import ReportInput, build_report, fingerprint

RISKY = ["=1+1", "+SUM(A1)", "-2+3", "@cmd", "\tx", "\rx", "plain"]


def test_formula_cells_are_neutralised_and_numbers_kept():
    frame = pd.DataFrame({"text": RISKY, "number": [-1.5, 2, 3, 4, 5, 6, -7]})
    frame.columns = ["=label", "number"]
    safe = neutralise_formulas(frame)
    assert safe.columns.tolist() == ["'=label", "number"]
    assert safe["'=label"].tolist() == [
        "'=1+1",
        "'+SUM(A1)",
        "'-2+3",
        "'@cmd",
        "'\tx",
        "'\rx",
        "plain",
    ]
    assert safe["number"].tolist() == [-1.5, 2, 3, 4, 5, 6, -7]


def test_xlsx_export_holds_text_not_formulas():
    frame = pd.DataFrame({"group": ['=HYPERLINK("x")', "ok"], "n": [3, -4]})
    sheet = openpyxl.load_workbook(io.BytesIO(to_xlsx_bytes(frame, "groups"))).active
    assert sheet.title == "groups"
    assert sheet["A2"].value == '\'=HYPERLINK("x")'
    assert sheet["A2"].data_type == "s"
    assert sheet["B3"].value == -4


@pytest.fixture(scope="module")
def report_html(tmp_path_factory):
    path = tmp_path_factory.mktemp("report") / "report.html"
    code = main(["report", str(DEMO_PATH), "--out", str(path), "--outcome", "pain_nrs",
                 "--visit", "m6"])  # fmt: skip
    assert code == 0
    return path


@pytest.fixture(scope="module")
def cli_compare():
    buffer = io.StringIO()
    with contextlib.redirect_stdout(buffer):
        main(["compare", str(DEMO_PATH), "--outcome", "pain_nrs", "--after", "m6", "--json"])
    return json.loads(buffer.getvalue())


def test_report_leads_with_the_answer_per_arm(report_html, cli_compare):
    text = report_html.read_text(encoding="utf-8")
    assert hashlib.sha256(DEMO_PATH.read_bytes()).hexdigest() in text
    assert "these patients are synthetic" in text
    assert "The arms were not randomised" in text
    assert "@media print" in text and "page-break-before: always" in text
    assert "<script src=" not in text  # plotly.js is embedded: the file works offline
    answer = text[text.index("<h2>The answer</h2>") : text.index("<h2>Figures</h2>")]
    assert "What this answers (estimand)" in answer
    for arm in cli_compare["arms"]:
        assert f"Among the {arm['n_pairs']} patients with Pain intensity" in answer
    between = cli_compare["between_arms"][0]
    completers = f"{number(between['difference'], 2)} ({number(between['ci_low'], 2)} to"
    assert completers in answer  # the CLI's between-arm difference, on page 1
    assert "difference in change, all visits used (MMRM)" in answer
    assert "(baseline baseline)" not in text
    assert "Farrar JT et al." in text and "Clopper CJ, Pearson ES." in text
    assert "[1]" in text  # references are numbered in the methods paragraph
    for package in ("pandas", "scipy", "plotly"):
        assert package in text
    assert text.index("<h2>The answer</h2>") < text.index("<h2>Methods</h2>")


def test_report_methods_follow_what_ran():
    ds = load_demo().dataset
    tcss = build_report(ReportInput(ds, "tcss", "m3", fingerprint(b"x")))
    assert "[placebo]" not in tcss and "pooled placebo arms" not in tcss
    assert "Newcombe RG." in tcss  # the demo has a comparator arm
    assert "Farrar" not in tcss  # not a pain outcome
    assert "Satterthwaite FE." in tcss and "mmrm" in tcss  # the MMRM ran


def _pdf_pages(pdf: bytes) -> int:
    """Pages in a PDF written by Chromium (each page object is '/Type /Page')."""
    return len(re.findall(rb"/Type\s*/Page[^s]", pdf))


def test_report_prints_on_four_a4_pages_in_a_real_browser(report_html):
    chromium = shutil.which("chromium") or shutil.which("chromium-browser")
    if chromium is None:
        pytest.skip("Debian's chromium is not installed here (make test installs it when it can)")
    sync_api = pytest.importorskip("playwright.sync_api", reason="playwright is not installed")
    with sync_api.sync_playwright() as p:
        browser = p.chromium.launch(
            executable_path=chromium,
            args=["--no-sandbox", "--disable-gpu", "--disable-background-networking"],
        )
        page = browser.new_page(viewport={"width": 1100, "height": 900})
        page.goto(report_html.as_uri())
        page.wait_for_function("document.querySelectorAll('.js-plotly-plot .main-svg').length >= 3")
        rendered = page.locator(".js-plotly-plot").count()
        # At the printable width of A4 (210 mm - 2 x 12 mm = 703 px at 96 dpi) every figure
        # redraws inside the page: none is cut at the page edge.
        page.set_viewport_size({"width": 703, "height": 1000})
        page.wait_for_function(
            "[...document.querySelectorAll('.js-plotly-plot .main-svg')]"
            ".every(s => s.getBoundingClientRect().right <= 703)",
            timeout=20_000,
        )
        page.emulate_media(media="print")
        pdf = page.pdf(format="A4")
        browser.close()
    assert rendered >= 3
    assert pdf[:4] == b"%PDF"
    assert 1 <= _pdf_pages(pdf) <= 4


@pytest.fixture(scope="module")
def safety_report(tmp_path_factory):
    """The CLI's report with the demo AE table (--ae)."""
    from analysis.ingest.adverse_events import DEMO_AE_PATH

    path = tmp_path_factory.mktemp("report") / "report_ae.html"
    code = main(["report", str(DEMO_PATH), "--out", str(path), "--outcome", "pain_nrs",
                 "--visit", "m6", "--ae", str(DEMO_AE_PATH)])  # fmt: skip
    assert code == 0
    return path


def test_report_has_time_to_response_and_safety_sections(safety_report):
    from analysis.ingest.adverse_events import load_demo_adverse_events
    from analysis.stats.adverse_events import safety_tables
    from analysis.stats.arms import resolve_arms
    from analysis.stats.time_to_event import time_to_event

    text = safety_report.read_text(encoding="utf-8")
    dataset = load_demo().dataset
    design = resolve_arms(dataset)
    analysis = time_to_event(dataset, "pain_nrs", "30%", design)
    medians = analysis.medians.set_index("arm")
    section = text[text.index("Time to first response (≥30% improvement)") :]
    assert f"<td>{medians.loc['MSC', 'median']:.0f}</td>" in section
    assert "Log-rank test between arms" in section and "interval censoring" in section
    tables = safety_tables(dataset, design, load_demo_adverse_events(dataset.patients).table)
    safety = text[text.index("<h2>Safety</h2>") : text.index("<h2>Methods</h2>")]
    assert "(synthetic: not real patients)" in safety
    assert f"MSC (N={tables.n_at_risk['MSC']})" in safety
    any_ae = tables.summary.set_index(["item", "arm"]).loc[("Any adverse event", "MSC")]
    assert f"{any_ae['patients']} (" in safety and f"[{any_ae['events']}]" in safety
    assert "&lt;5" in safety and "Adverse events of special interest" in safety  # suppressed
    assert "does not show that the treatment caused" in safety
    assert "Kaplan EL, Meier P." in text and "Garwood F." in text  # cited in the methods
    plain = build_report(ReportInput(dataset, "pain_nrs", "m6", "x"))
    assert "<h2>Safety</h2>" not in plain and "Time to first response" in plain


def test_report_with_safety_prints_on_four_a4_pages(safety_report):
    chromium = shutil.which("chromium") or shutil.which("chromium-browser")
    if chromium is None:
        pytest.skip("Debian's chromium is not installed here (make test installs it when it can)")
    sync_api = pytest.importorskip("playwright.sync_api", reason="playwright is not installed")
    with sync_api.sync_playwright() as p:
        browser = p.chromium.launch(
            executable_path=chromium,
            args=["--no-sandbox", "--disable-gpu", "--disable-background-networking"],
        )
        page = browser.new_page(viewport={"width": 1100, "height": 900})
        page.goto(safety_report.as_uri())
        page.wait_for_function("document.querySelectorAll('.js-plotly-plot .main-svg').length >= 3")
        page.set_viewport_size({"width": 703, "height": 1000})
        page.wait_for_function(
            "[...document.querySelectorAll('.js-plotly-plot .main-svg')]"
            ".every(s => s.getBoundingClientRect().right <= 703)",
            timeout=20_000,
        )
        page.emulate_media(media="print")
        pdf = page.pdf(format="A4")
        browser.close()
    assert 1 <= _pdf_pages(pdf) <= 4


def test_word_report_has_the_safety_tables():
    import docx

    from analysis.ingest.adverse_events import load_demo_adverse_events
    from analysis.present.docx_export import report_to_docx

    dataset = load_demo().dataset
    ae = load_demo_adverse_events(dataset.patients).table
    data = report_to_docx(ReportInput(dataset, "pain_nrs", "m6", "x", adverse_events=ae),
                          figures=False)  # fmt: skip
    document = docx.Document(io.BytesIO(data))
    headings = [p.text for p in document.paragraphs if p.style.name.startswith("Heading")]
    assert "Safety" in headings
    captions = [p.text for p in document.paragraphs if p.style.name == "Caption"]
    assert "Adverse events of special interest" in captions
    assert "Time to first response (≥30% improvement)" in captions
    texts = [c.text for t in document.tables for c in t.rows[0].cells]
    assert "MSC (N=108)" in texts
