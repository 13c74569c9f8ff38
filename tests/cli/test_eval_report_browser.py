"""The HTML report of `switchyard eval run` (issue 21) opened in a real browser: headless Chromium
through Selenium. A two-model suite runs against the mock upstream (one model passes what the other
fails, a scripted hostile answer, an upstream error); the same run's results.json says which verdict
each cell must show, and the page must show exactly those, name every provider in the summary, the
matrix and the chart, run no script of the answers', fetch nothing, and work with JavaScript off."""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import time
from collections import Counter
from pathlib import Path

import pytest
from selenium import webdriver
from selenium.common.exceptions import NoAlertPresentException
from selenium.webdriver.chrome.service import Service
from selenium.webdriver.common.by import By

from test_first_hour import BIN, free_port, http

CHROMIUM = next((path for name in ("chromium", "chromium-browser", "google-chrome") if (path := shutil.which(name))), None)
CHROMEDRIVER = shutil.which("chromedriver")

pytestmark = pytest.mark.skipif(
    CHROMIUM is None or CHROMEDRIVER is None,
    reason="needs Chromium and its driver (Debian: apt-get install chromium chromium-driver; scripts/test.sh installs them)")

HOSTILE = "<b>bold</b> & \"quoted\" </details><script>alert(1)</script>"

SUITE = f"""
description: "Browser check <of the report>"
prompts:
  - "{{{{question}}}}"
providers:
  - id: openai:chat:alpha
    label: Alpha
  - openai:chat:beta
tests:
  - description: names the alpha model
    vars: {{question: "Who are you?"}}
    assert:
      - {{type: icontains, value: ALPHA-MODEL}}
  - description: names the beta model
    vars: {{question: "Who are you, again?"}}
    assert:
      - {{type: contains, value: beta-model}}
  - description: a hostile scripted answer
    vars: {{question: {json.dumps(f"[[reply: {HOSTILE}]]")}}}
    assert:
      - {{type: icontains, value: "</details>"}}
  - description: the upstream fails
    vars: {{question: "[[error: 500]]"}}
    assert:
      - {{type: contains, value: anything}}
"""


def make_report(tmp_path: Path) -> tuple[Path, Path]:
    """Runs the suite with `switchyard eval run` against the mock upstream, writing report.html and
    results.json from the same run. Returns their paths."""
    mock_port = free_port()
    config = tmp_path / "switchyard.yaml"
    config.write_text(f"""storage: {{sqlite: {tmp_path}/eval.sqlite}}
providers:
  - {{name: mock, kind: openai, base_url: "http://127.0.0.1:{mock_port}/v1", api_key: dummy}}
models:
  - {{name: alpha, provider: mock, upstream: alpha-model, price: {{input: 0.15, output: 0.6}}}}
  - {{name: beta, provider: mock, upstream: beta-model, price: {{input: 2.5, output: 10}}}}
""")
    suite = tmp_path / "suite.yaml"
    suite.write_text(SUITE)
    html, results = tmp_path / "report.html", tmp_path / "results.json"
    env = {**os.environ, "SWITCHYARD_STATE_DIR": str(tmp_path / "state")}
    env.pop("SWITCHYARD_URL", None)
    env.pop("SWITCHYARD_KEY", None)
    mock = subprocess.Popen([BIN, "mock", "--port", str(mock_port)], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        deadline = time.time() + 60
        while True:
            try:
                if http("GET", f"http://127.0.0.1:{mock_port}/_mock/requests", timeout=2)[0] == 200:
                    break
            except OSError:
                pass
            assert mock.poll() is None and time.time() < deadline, "the mock upstream did not start"
            time.sleep(0.2)
        run = subprocess.run(
            [BIN, "eval", "run", str(suite), "--config", str(config), "--output", str(html), "--output", str(results)],
            cwd=tmp_path, env=env, capture_output=True, text=True, timeout=300)
    finally:
        mock.terminate()
        mock.wait(timeout=30)
    # Failing cells may make the exit status non-zero (as promptfoo's does); a crash may not.
    assert run.returncode >= 0 and html.exists() and results.exists(), run.stdout + run.stderr
    return html, results


def expected_cells(results: Path) -> tuple[dict[str, str], list[tuple[str, int, str]]]:
    """Providers (id → label) and each cell's (provider id, testIdx, verdict) from results.json."""
    cells = json.loads(results.read_text())["results"]["results"]
    providers = {cell["provider"]["id"]: cell["provider"].get("label") or cell["provider"]["id"] for cell in cells}
    verdicts = [
        (cell["provider"]["id"], cell["testIdx"],
         "pass" if cell["success"] else ("error" if cell["failureReason"] == 2 else "fail"))
        for cell in cells
    ]
    return providers, verdicts


def browser(tmp_path: Path, javascript: bool = True) -> webdriver.Chrome:
    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    for argument in ("--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
                     f"--user-data-dir={tmp_path / ('profile-js' if javascript else 'profile-nojs')}"):
        options.add_argument(argument)
    options.set_capability("goog:loggingPrefs", {"performance": "ALL"})
    if not javascript:
        options.add_experimental_option("prefs", {"profile.managed_default_content_settings.javascript": 2})
    return webdriver.Chrome(service=Service(executable_path=CHROMEDRIVER), options=options)


def attribute_values(elements, name: str) -> list[str]:
    return [element.get_attribute(name) for element in elements]


def check_report(tmp_path: Path, html: Path, results: Path, javascript: bool = True):
    """Everything a reader relies on, checked in the browser against results.json."""
    providers, verdicts = expected_cells(results)
    counts = Counter(verdict for _, _, verdict in verdicts)
    driver = browser(tmp_path, javascript)
    try:
        # The browser's own start-up pages make requests too: start the log at our page.
        driver.get("about:blank")
        driver.get_log("performance")
        driver.get(html.as_uri())

        summary = driver.find_element(By.ID, "summary")
        assert sorted(attribute_values(summary.find_elements(By.CSS_SELECTOR, "tbody tr"), "data-provider")) == sorted(providers)
        headers = driver.find_elements(By.CSS_SELECTOR, "#matrix thead th[data-provider]")
        assert sorted(attribute_values(headers, "data-provider")) == sorted(providers)
        points = driver.find_elements(By.CSS_SELECTOR, "#chart circle.provider-point")
        assert sorted(attribute_values(points, "data-provider")) == sorted(providers)
        for provider_id, label in providers.items():
            assert label in summary.text, f"{label} missing from the summary"
            assert any(header.text == label for header in headers), f"{label} missing from the matrix"
        for point in points:
            assert point.size["width"] > 0 and point.size["height"] > 0  # drawn, not just present

        for verdict in ("pass", "fail", "error"):
            assert len(driver.find_elements(By.CSS_SELECTOR, f".verdict.{verdict}")) == counts[verdict], verdict
        for provider_id, test_idx, verdict in verdicts:
            cell = driver.find_elements(By.CSS_SELECTOR, f'.verdict[data-provider="{provider_id}"][data-test="{test_idx}"]')
            assert len(cell) == 1 and cell[0].get_attribute("class").split() == ["verdict", verdict], (provider_id, test_idx)
            assert cell[0].is_displayed()

        # The hostile answer is shown as text, and ran nothing.
        with pytest.raises(NoAlertPresentException):
            driver.switch_to.alert.text
        assert "</details><script>alert(1)</script>" in driver.find_element(By.ID, "matrix").text

        # The "rows with a failure" filter is CSS, so it works with JavaScript off too.
        all_passing = driver.find_elements(By.CSS_SELECTOR, "#matrix tbody tr[data-all-pass]")
        assert all_passing and all(row.is_displayed() for row in all_passing)
        driver.find_element(By.CSS_SELECTOR, "label:has(#show-failing)").click()
        assert all(not row.is_displayed() for row in all_passing)
        assert all(cell.is_displayed() for cell in driver.find_elements(By.CSS_SELECTOR, ".verdict.fail, .verdict.error"))

        requests = [json.loads(entry["message"])["message"] for entry in driver.get_log("performance")]
        fetched = [message["params"]["request"]["url"] for message in requests
                   if message["method"] == "Network.requestWillBeSent" and message["params"].get("documentURL") == html.as_uri()]
        assert fetched and fetched[0] == html.as_uri(), fetched  # the log did see the page load
        assert all(url.startswith(("file:", "data:")) for url in fetched), fetched
    finally:
        driver.quit()


def test_report_in_a_browser(tmp_path):
    html, results = make_report(tmp_path)
    page = html.read_text(encoding="utf-8")
    assert not re.search(r"""(?:src|href|action|xlink:href)\s*=\s*["']?\s*(?:https?:)?//""", page, re.I)
    assert "<script" not in page.lower()
    _, verdicts = expected_cells(results)
    found = Counter(verdict for _, _, verdict in verdicts)
    # The suite is built so each verdict occurs: otherwise the counts below would prove little.
    assert found["pass"] >= 2 and found["fail"] >= 2 and found["error"] >= 1, found
    check_report(tmp_path, html, results, javascript=True)
    check_report(tmp_path, html, results, javascript=False)
