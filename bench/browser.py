"""The dashboard timed in a real browser (part of `make bench`; the e2e tests reuse `serve`).

`streamlit run` on a free local port, driven by Playwright with Debian's chromium. For the demo
cohort and a registry-sized cohort (given at start, as `--data FILE` would): seconds from
navigation to the first chart of every page, the bytes the server sent for that page over its
websocket (an upper bound on its chart data), and the seconds from choosing a cohort filter
value to the page showing the filtered cohort. Beside them, the floor: an app that draws one
plotly chart and nothing else (bench/one_chart_app.py), on its own fresh server. Prints a table
and writes build/bench_browser.csv.
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pandas as pd

from ui.pages import PAGES as PAGE_TABLE

ROOT = Path(__file__).resolve().parent.parent
PAGES = {spec.url_path: spec.heading for spec in PAGE_TABLE}  # URL path -> heading
# What shows that a page without charts has finished drawing.
PAGE_READY = {
    "report": "text=Download the report (HTML)",
    "data": "text=Download the cleaned table (CSV)",
}
CHART = "[data-testid='stPlotlyChart'] .main-svg"
CHROMIUM_ARGS = [
    "--no-sandbox", "--disable-gpu", "--disable-background-networking",
    "--disable-component-update", "--disable-sync", "--no-first-run",
]  # fmt: skip


def chromium() -> str | None:
    return shutil.which("chromium") or shutil.which("chromium-browser")


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@contextmanager
def serve(
    data: Path | None = None, timeout: float = 60, script: Path = ROOT / "dashboard.py"
) -> Iterator[str]:
    """`streamlit run dashboard.py` (or ``script``) on a free port (with ``data`` as the start
    file); yields the base URL and stops the server afterwards."""
    port = _free_port()
    env = {**os.environ, "PYTHONUNBUFFERED": "1"}
    env.pop("OUTCOMES_DATA", None)
    if data is not None:
        env["OUTCOMES_DATA"] = str(data)
    process = subprocess.Popen(
        [sys.executable, "-m", "streamlit", "run", str(script),
         "--server.port", str(port), "--server.headless", "true",
         "--browser.gatherUsageStats", "false"],
        cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )  # fmt: skip
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + timeout
        while True:
            try:
                with urllib.request.urlopen(f"{base}/_stcore/health", timeout=2) as response:
                    if response.status == 200:
                        break
            except OSError:
                if time.monotonic() > deadline:
                    raise RuntimeError(f"streamlit did not start within {timeout:.0f} s") from None
                time.sleep(0.5)
        yield base
    finally:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()


def wait_idle(page, timeout_ms: int = 120_000) -> None:
    """Until the app has drawn and no rerun is in progress."""
    page.wait_for_selector("[data-testid='stApp']")
    page.wait_for_function(
        "!document.querySelector('[data-testid=\"stStatusWidget\"]')", timeout=timeout_ms
    )


def wait_for_page(page, path: str, title: str, timeout_ms: int = 180_000) -> None:
    page.get_by_role("heading", name=title).first.wait_for(timeout=timeout_ms)
    ready = page.locator(PAGE_READY.get(path, CHART))
    if path == "patient":  # a registry-sized cohort asks for an ID before drawing a chart
        ready = ready.or_(page.get_by_text("Type a patient ID above"))
    ready.first.wait_for(timeout=timeout_ms)


def _new_page(browser):
    context = browser.new_context(viewport={"width": 1400, "height": 1000}, accept_downloads=True)
    page = context.new_page()
    received = {"bytes": 0}

    def count(payload) -> None:
        received["bytes"] += len(payload)

    page.on("websocket", lambda ws: ws.on("framereceived", count))
    return page, received


def time_pages(browser, base: str, cohort: str) -> list[dict]:
    """Every page opened in turn: seconds to the first chart and bytes received."""
    page, received = _new_page(browser)
    rows = []
    for path, title in PAGES.items():
        received["bytes"] = 0
        start = time.perf_counter()
        page.goto(f"{base}/{path}")
        wait_for_page(page, path, title)
        seconds = time.perf_counter() - start
        wait_idle(page)
        rows.append(
            {
                "cohort": cohort,
                "page": path or "overview",
                "seconds_to_first_chart": round(seconds, 2),
                "megabytes_received": round(received["bytes"] / 1e6, 2),
            }
        )
        print(f"  {cohort:>24}  {path or 'overview':<10} {seconds:6.2f} s  "
              f"{received['bytes'] / 1e6:6.2f} MB", flush=True)  # fmt: skip
    page.context.close()
    return rows


def choose(page, widget, option: str, reveal=None, attempts: int = 3) -> float:
    """Open a select widget (after ``reveal()``, when given) and pick ``option``; returns the
    perf_counter() of the click. A rerun that lands while the list is open redraws the widget
    and closes the list (seen in CI on a slow first run), so the list is reopened up to
    ``attempts`` times before giving up."""
    from playwright.sync_api import TimeoutError as PlaywrightTimeout

    for attempt in range(1, attempts + 1):
        wait_idle(page)
        if reveal is not None:
            reveal()
        widget.click()
        choice = page.get_by_role("option", name=option, exact=True)
        try:
            choice.wait_for(timeout=15_000)
            clicked_at = time.perf_counter()
            choice.click(timeout=15_000)
            return clicked_at
        except PlaywrightTimeout:
            if attempt == attempts:
                raise
            page.keyboard.press("Escape")


def reveal_cohort_filter(page, widget) -> None:
    """Open the sidebar's "Cohort filter" expander unless ``widget`` (inside it) shows."""
    if not widget.is_visible():
        page.locator("[data-testid='stExpander'] summary").filter(has_text="Cohort filter").click()
        widget.wait_for()


def time_filter_change(browser, base: str, attribute: str, level: str) -> float:
    """Seconds from choosing ``level`` of ``attribute`` in the cohort filter (Compare page) to
    the page showing the filtered cohort with no rerun in progress."""
    page, _ = _new_page(browser)
    page.goto(f"{base}/compare")
    wait_for_page(page, "compare", PAGES["compare"])
    wait_idle(page)
    box = page.locator("[data-testid='stSidebar'] [data-testid='stMultiSelect']").filter(
        has=page.get_by_text(attribute, exact=True)
    )

    def reveal() -> None:
        reveal_cohort_filter(page, box)

    start = choose(page, box.locator("input"), level, reveal=reveal)
    page.get_by_text(f"{attribute} {level}.").first.wait_for(timeout=120_000)
    wait_idle(page)
    seconds = time.perf_counter() - start
    page.context.close()
    return seconds


def time_one_chart_floor(browser) -> float:
    """Seconds from navigation to the chart of bench/one_chart_app.py on a fresh server: the
    floor beside the Overview's first chart (also the first page on a fresh server)."""
    with serve(script=ROOT / "bench" / "one_chart_app.py") as base:
        page, _ = _new_page(browser)
        start = time.perf_counter()
        page.goto(base)
        page.get_by_role("heading", name="One chart").first.wait_for(timeout=180_000)
        page.locator(CHART).first.wait_for(timeout=180_000)
        seconds = time.perf_counter() - start
        page.context.close()
    return seconds


def main(registry: Path | None) -> pd.DataFrame:
    """Time the demo cohort and ``registry`` (a cohort file given at start)."""
    executable = chromium()
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        print("\nbrowser timings skipped: playwright is not installed")
        return pd.DataFrame()
    if executable is None:
        print("\nbrowser timings skipped: chromium is not installed (make test installs it)")
        return pd.DataFrame()
    print("\nDashboard in chromium (time from navigation to the first chart; bytes received):")
    rows = []
    filter_rows = []
    cohorts = [(None, "demo cohort")]
    if registry is not None:
        cohorts.append((registry, f"{registry.stem}"))
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=executable, args=CHROMIUM_ARGS)
        floor = time_one_chart_floor(browser)
        print(f"  {'floor':>24}  one plotly chart, nothing else {floor:6.2f} s", flush=True)
        for data, name in cohorts:
            with serve(data) as base:
                rows += time_pages(browser, base, name)
                attribute, level = ("arm", "MSC") if data is None else ("cell_source", "adipose")
                seconds = time_filter_change(browser, base, attribute, level)
                filter_rows.append({"cohort": name, "filter_change_s": round(seconds, 2)})
                print(f"  {name:>24}  filter change ({attribute} = {level}): {seconds:.2f} s")
        browser.close()
    table = pd.DataFrame(rows).merge(pd.DataFrame(filter_rows), on="cohort")
    table["one_chart_floor_s"] = round(floor, 2)
    out = ROOT / "build"
    out.mkdir(exist_ok=True)
    table.to_csv(out / "bench_browser.csv", index=False)
    print(f"written: {out / 'bench_browser.csv'}")
    return table
