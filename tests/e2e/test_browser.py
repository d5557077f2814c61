"""End-to-end: `streamlit run` on a free local port, driven with Playwright and Debian's
chromium. Every page is opened (a screenshot of each goes to build/screenshots/), an outcome
and a filter are changed, a file is uploaded and an export downloaded. The time from navigation
to the first chart is printed and written to build/browser_timings.csv (no test asserts it).
Skipped, with the reason, where chromium or playwright cannot be had."""

from __future__ import annotations

import csv
import time
import zipfile
from pathlib import Path

import pytest

from bench.browser import (
    CHROMIUM_ARGS,
    PAGES,
    choose,
    chromium,
    reveal_cohort_filter,
    serve,
    wait_for_page,
    wait_idle,
)

ROOT = Path(__file__).resolve().parents[2]
OUT = ROOT / "build"
CHROMIUM = chromium()
sync_api = pytest.importorskip("playwright.sync_api", reason="playwright is not installed")
pytestmark = pytest.mark.skipif(
    CHROMIUM is None,
    reason="Debian's chromium is not installed (make test installs it when it can)",
)


@pytest.fixture(scope="module")
def server():
    with serve() as base:
        yield base


@pytest.fixture(scope="module")
def browser():
    with sync_api.sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield browser
        browser.close()


def _page(browser, height: int = 1000):
    context = browser.new_context(viewport={"width": 1400, "height": height}, accept_downloads=True)
    return context.new_page()


def test_every_page_opens_with_its_charts(server, browser):
    (OUT / "screenshots").mkdir(parents=True, exist_ok=True)
    page = _page(browser, height=2600)  # Streamlit scrolls inside the page: a tall window shows it
    timings = []
    for path, title in PAGES.items():
        start = time.perf_counter()
        page.goto(f"{server}/{path}")
        wait_for_page(page, path, title)
        timings.append((path or "overview", round(time.perf_counter() - start, 2)))
        wait_idle(page)
        assert page.locator("[data-testid='stException']").count() == 0, path
        assert page.get_by_text("Page not found").count() == 0, path
        page.screenshot(path=str(OUT / "screenshots" / f"{path or 'overview'}.png"), full_page=True)
    page.context.close()
    with (OUT / "browser_timings.csv").open("w", newline="") as handle:
        csv.writer(handle).writerows([("page", "seconds_to_first_chart"), *timings])
    print("\ntime from navigation to the first chart:", ", ".join(f"{p} {s}s" for p, s in timings))


def test_change_outcome_visit_and_filter(server, browser):
    page = _page(browser)
    page.goto(f"{server}/compare")
    page.get_by_role("heading", name="Compare two visits").wait_for(timeout=60_000)
    wait_idle(page)
    outcome = page.locator("[data-testid='stSelectbox']").filter(has_text="Outcome").first
    choose(page, outcome, "Toronto Clinical Scoring System (TCSS 0–19)")
    # one sentence per arm: wait for the first
    page.get_by_text("Among the").filter(
        has_text="Toronto Clinical Scoring System"
    ).first.wait_for()
    page.keyboard.press("Escape")
    page.wait_for_url("**outcome=tcss**")
    wait_idle(page)
    second = page.locator("[data-testid='stSelectbox']").filter(has_text="Second visit").first
    choose(page, second, "m3")
    page.wait_for_url("**after=m3**")
    page.get_by_text("Among the").filter(has_text="at both baseline and m3").first.wait_for()
    wait_idle(page)
    arm = page.locator("[data-testid='stSidebar'] [data-testid='stMultiSelect']").filter(
        has=page.get_by_text("arm", exact=True)
    )

    choose(page, arm.locator("input"), "MSC", reveal=lambda: reveal_cohort_filter(page, arm))
    page.get_by_text("Showing 108 of 150 patients: arm MSC.", exact=True).wait_for(timeout=30_000)
    assert "f.arm=MSC" in page.url
    page.reload()
    page.get_by_text("Showing 108 of 150 patients: arm MSC.", exact=True).wait_for(timeout=60_000)
    page.context.close()


def test_upload_and_download(server, browser, tmp_path):
    upload = tmp_path / "clinic.csv"
    upload.write_text(
        "patient_id,cell_source,pain_nrs__baseline,pain_nrs__m6\n"
        "007,umbilical cord,7,3\n7,bone marrow,6,6\n012,umbilical cord,8,5\n"
    )
    page = _page(browser)
    page.goto(server)
    page.get_by_role("heading", name="Overview").wait_for(timeout=60_000)
    page.get_by_text("Upload a file").click()
    data_uploader = page.locator("[data-testid='stFileUploader']").filter(has_text="Outcome file")
    data_uploader.locator("input[type='file']").set_input_files(str(upload))
    page.locator("[data-testid='stMetric']").filter(has_text="Patients").filter(
        has_text="3"
    ).wait_for(timeout=60_000)
    wait_idle(page)
    with page.expect_download() as download_info:
        page.locator("[data-testid='stDownloadButton']").filter(has_text="CSV").first.click()
    download = download_info.value
    saved = tmp_path / download.suggested_filename
    download.save_as(saved)
    assert download.suggested_filename == "follow_up_completeness.zip"
    with zipfile.ZipFile(saved) as archive:
        header = archive.read("follow_up_completeness.csv").decode().splitlines()[0]
        assert "follow_up_completeness.provenance.json" in archive.namelist()
    assert header == "visit,patients with data,% of baseline"
    page.context.close()
