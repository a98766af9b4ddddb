"""The demo run's report.html in a real browser: headless Chromium (Debian's `chromium` and `chromium-driver`,
driven by selenium). It must load with no console error and no network request, show every section and chart, and
leave a screenshot under the test's temporary folder.

Slow (it runs the whole demo pipeline): CI runs it through `.ci/run`, which installs Chromium when missing.
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest

from curator.report.html import SECTIONS


pytestmark = [pytest.mark.spark, pytest.mark.slow]
REPO_ROOT = Path(__file__).resolve().parents[2]
CHARTS = {"funnel", "reasons", "languages", "hist-lang_score", "hist-quality_score", "group-sizes-dedup",
          "totals-pii", "bytes-per-token", "shards"}


def chromium_driver(downloads: Path):
    browser = shutil.which("chromium") or shutil.which("chromium-browser")
    driver_binary = shutil.which("chromedriver")
    if not (browser and driver_binary):
        message = "headless Chromium needs Debian's chromium and chromium-driver packages (.ci/run installs them)"
        if os.environ.get("CURATOR_REQUIRE_BROWSER"):
            pytest.fail(message)
        pytest.skip(message)
    webdriver = pytest.importorskip("selenium.webdriver")
    from selenium.webdriver.chrome.service import Service

    options = webdriver.ChromeOptions()
    options.binary_location = browser
    for flag in ("--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
                 "--window-size=1280,1000", f"--user-data-dir={downloads / 'profile'}"):
        options.add_argument(flag)
    options.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    # An explicit driver path: selenium never looks for (or downloads) a driver itself.
    return webdriver.Chrome(service=Service(executable_path=driver_binary), options=options)


@pytest.fixture(scope="module")
def demo_report(spark, tmp_path_factory) -> Path:
    """report.html of the demo pipeline (pipelines/demo.yaml), run into a temporary folder. CURATOR_DEMO_RUN=runs/demo
    reuses a finished demo run instead (its report is rewritten)."""
    from curator.report import write_reports
    from curator.spark.runner import PipelineRunner
    from curator.specs import load_pipeline

    if os.environ.get("CURATOR_DEMO_RUN"):
        return write_reports(Path(os.environ["CURATOR_DEMO_RUN"]).resolve(), spark=spark)

    output = tmp_path_factory.mktemp("demo") / "run"
    runner = PipelineRunner(load_pipeline(REPO_ROOT / "pipelines" / "demo.yaml"), output=str(output), spark=spark)
    runner.run_all(report=True)
    return output / "report.html"


def test_demo_report_renders_in_headless_chromium(demo_report, tmp_path):
    from selenium.webdriver.common.by import By

    driver = chromium_driver(tmp_path)
    try:
        driver.get(demo_report.as_uri())
        assert driver.title == "curator run: demo"
        errors = [entry for entry in driver.get_log("browser") if entry["level"] in ("SEVERE", "ERROR")]
        assert errors == []
        # Self-contained: the page fetched nothing besides itself.
        assert driver.execute_script("return performance.getEntriesByType('resource').length") == 0
        for key, title in SECTIONS:
            section = driver.find_element(By.ID, key)
            assert section.is_displayed() and section.find_element(By.TAG_NAME, "h2").text == title
        figures = driver.find_elements(By.CSS_SELECTOR, "figure.chart")
        names = {figure.get_attribute("data-chart") for figure in figures}
        assert CHARTS <= names, CHARTS - names
        for figure in figures:
            svg = figure.find_element(By.TAG_NAME, "svg")
            assert svg.size["width"] > 100 and svg.size["height"] > 50  # drawn, not an empty box
        reasons = driver.find_elements(By.CSS_SELECTOR, "#examples details.reason")
        assert {r.get_attribute("data-reason") for r in reasons} >= {"gopher_short_doc", "minhash_duplicate",
                                                                     "lid_wrong_language", "malformed_json"}
        height = driver.execute_script("return document.documentElement.scrollHeight")
        driver.set_window_size(1280, min(int(height), 16000))
        screenshot = tmp_path / "report.png"
        assert driver.save_screenshot(str(screenshot)) and screenshot.stat().st_size > 10_000
    finally:
        driver.quit()
