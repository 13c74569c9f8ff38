"""The dashboard at `/` (issue 23) in a real browser: headless Chromium through Selenium against
`switchyard serve` in front of `switchyard mock`. Keys of two teams send a mix of requests (two
models, a group whose first deployment is down, an upstream error); the test signs in by typing an
admin key into the password field, checks that the overview shows the models that were called and
the spend the API reports, filters the request log, and opens one request's explain view (its
attempts and cost). Then 5,000 log rows are added and the page must still only ask for pages.

Last, an eval run is published with `switchyard eval run --url --publish` and opened in the Evals
view: its providers and pass rates, its cells, and a hostile answer shown as text.

Screenshots go to a temporary folder the test prints; with SWITCHYARD_SCREENSHOTS=docs they are
also written to docs/dashboard-overview.png, docs/dashboard-explain.png and docs/dashboard-evals.png (1280×800)."""

from __future__ import annotations

import json
import math
import os
import random
import shutil
import sqlite3
import subprocess
import tempfile
import time
from pathlib import Path
from urllib.parse import parse_qs, urlparse

import pytest
from selenium import webdriver
from selenium.webdriver.chrome.service import Service
from selenium.webdriver.common.action_chains import ActionChains
from selenium.webdriver.common.by import By
from selenium.webdriver.support.ui import Select, WebDriverWait

from test_first_hour import BIN, REPO, free_port, http
from test_workflow_kill import start_gateway

CHROMIUM = next((path for name in ("chromium", "chromium-browser", "google-chrome") if (path := shutil.which(name))), None)
CHROMEDRIVER = shutil.which("chromedriver")

pytestmark = pytest.mark.skipif(
    CHROMIUM is None or CHROMEDRIVER is None,
    reason="needs Chromium and its driver (Debian: apt-get install chromium chromium-driver; scripts/test.sh installs them)")

ADMIN = "sk-dash-admin"
PRICES = {"cheap-model": (0.15, 0.6), "strong-model": (2.5, 10.0), "dead-model": (0.1, 0.1)}


def config(tmp_path: Path, port: int, mock_url: str) -> Path:
    path = tmp_path / "switchyard.yaml"
    path.write_text(f"""
server: {{host: 127.0.0.1, port: {port}}}
storage: {{sqlite: {tmp_path}/gw.sqlite, flush_ms: 50}}
providers:
  - {{name: mock, kind: openai, base_url: "{mock_url}/v1", api_key: dummy}}
  - {{name: down, kind: openai, base_url: "http://127.0.0.1:1/v1", api_key: dummy, timeout_ms: 2000}}
models:
  - {{name: cheap-model, provider: mock, upstream: gpt-4o-mini, price: {{input: 0.15, output: 0.6}}}}
  - {{name: strong-model, provider: mock, upstream: gpt-4o, price: {{input: 2.5, output: 10}}}}
  - {{name: dead-model, provider: down, upstream: gpt-4o-mini, price: {{input: 0.1, output: 0.1}}}}
groups:
  - {{name: resilient, strategy: priority, deployments: [{{model: dead-model}}, {{model: cheap-model}}]}}
cache: {{exact: true, ttl_s: 600}}
auth: {{keys: [{{key: {ADMIN}, name: ops-admin, role: admin}}]}}
""")
    return path


def call(url: str, key: str, model: str, prompt: str) -> tuple[int, str]:
    status, headers, body = http("POST", url + "/v1/chat/completions",
                                 {"model": model, "messages": [{"role": "user", "content": prompt}]},
                                 headers={"authorization": f"Bearer {key}"})
    return status, headers.get("x-switchyard-request-id") or headers.get("X-Switchyard-Request-Id") or ""


def api(url: str, path: str, key: str = ADMIN) -> dict:
    status, _, body = http("GET", url + path, headers={"authorization": f"Bearer {key}"})
    assert status == 200, (path, body)
    return json.loads(body)


def usd(value: float) -> str | None:
    """The page's money format (SY.usd) for amounts from a cent up; None below (written to 2 digits)."""
    if value == 0:
        return "$0"
    if abs(value) < 0.01:
        return None
    if abs(value) < 1000:
        return f"${value:.2f}"
    return f"${round(value):,}"


def browser(profile: Path) -> webdriver.Chrome:
    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    for argument in ("--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", "--window-size=1280,800",
                     "--hide-scrollbars", "--force-device-scale-factor=1", f"--user-data-dir={profile}"):
        options.add_argument(argument)
    options.set_capability("goog:loggingPrefs", {"performance": "ALL", "browser": "ALL"})
    driver = webdriver.Chrome(service=Service(executable_path=CHROMEDRIVER), options=options)
    # Screenshots of exactly 1280×800 CSS pixels, whatever the window's frame takes.
    driver.execute_cdp_cmd("Emulation.setDeviceMetricsOverride", {"width": 1280, "height": 800, "deviceScaleFactor": 1, "mobile": False})
    return driver


def wait_loaded(driver, previous: str | None = None, timeout: float = 30):
    """Until the page says a render finished (body[data-loaded] changed)."""
    WebDriverWait(driver, timeout, poll_frequency=0.02).until(
        lambda d: (d.find_element(By.TAG_NAME, "body").get_attribute("data-loaded") or None) not in (None, previous))
    return driver.find_element(By.TAG_NAME, "body").get_attribute("data-loaded")


def network(driver) -> list[dict]:
    """Requests the page made since the last call: url, and the response's status and size."""
    events = [json.loads(entry["message"])["message"] for entry in driver.get_log("performance")]
    sent = {e["params"]["requestId"]: e["params"]["request"] for e in events if e["method"] == "Network.requestWillBeSent"}
    done = {e["params"]["requestId"]: e["params"]["encodedDataLength"] for e in events if e["method"] == "Network.loadingFinished"}
    statuses = {e["params"]["requestId"]: e["params"]["response"]["status"] for e in events if e["method"] == "Network.responseReceived"}
    return [{"url": r["url"], "headers": r.get("headers", {}), "bytes": done.get(i, 0), "status": statuses.get(i)} for i, r in sent.items()]


def save(driver, name: str, out: Path):
    # The pointer rests on the title, so no link shows its hover state.
    ActionChains(driver).move_to_element(driver.find_element(By.CSS_SELECTOR, "#view h1")).perform()
    driver.execute_script("window.scrollTo(0, 0)")
    path = out / f"dashboard-{name}.png"
    driver.save_screenshot(str(path))
    if os.environ.get("SWITCHYARD_SCREENSHOTS"):
        target = REPO / os.environ["SWITCHYARD_SCREENSHOTS"]
        target.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(path, target / path.name)


def add_rows(database: Path, count: int, keys: dict[str, tuple[str, str, str]]) -> None:
    """`count` request-log rows over the last 24 hours, shaped like a working day (a deterministic
    mix of models, keys, errors, cache hits), written straight into the gateway's SQLite log."""
    rng = random.Random(23)
    db = sqlite3.connect(database, timeout=30)
    db.row_factory = sqlite3.Row
    template = dict(db.execute("SELECT * FROM request_log WHERE status = 200 LIMIT 1").fetchone())
    columns = list(template)
    now = time.time()
    rows = []
    for index in range(count):
        # More traffic in the day than at night; uniform within.
        while True:
            age = rng.uniform(0, 86_400)
            hour = ((now - age) / 3600) % 24
            if rng.random() < 0.35 + 0.65 * math.sin(math.pi * max(0, min(1, (hour - 6) / 14))):
                break
        model = rng.choices(["cheap-model", "strong-model", "resilient"], [6, 2, 1])[0]
        served = "cheap-model" if model == "resilient" else model
        name, key_id, team = rng.choices(list(keys.values()), [3, 2, 1])[0]
        prompt, completion = rng.randint(40, 1800), rng.randint(10, 600)
        price = PRICES[served]
        cost = (prompt * price[0] + completion * price[1]) / 1e6
        status = rng.choices([200, 429, 502, 504], [96, 2, 1.5, 0.5])[0]
        hit = status == 200 and rng.random() < 0.12
        latency = 8 + rng.random() * 10 if hit else rng.lognormvariate(math.log(420 if served == "cheap-model" else 900), 0.45)
        row = dict(template)
        row.update(id=f"req_synthetic{index:05d}", created_at=now - age, model=model, served_model=served, caller=name, key_id=key_id,
                   team=team, prompt_tokens=prompt, completion_tokens=0 if status != 200 else completion,
                   cost_usd=0 if hit or status != 200 else cost, saved_usd=cost if hit else 0, cache="hit-exact" if hit else "miss",
                   latency_ms=latency, status=status, error=None if status == 200 else f"upstream answered {status}", route=None,
                   prompt=None, upstream_model="gpt-4o-mini" if served == "cheap-model" else "gpt-4o")
        rows.append([row[c] for c in columns])
    db.executemany(f"INSERT INTO request_log ({', '.join(columns)}) VALUES ({', '.join('?' * len(columns))})", rows)
    db.commit()
    db.close()


EVAL_HOSTILE = "<b class=\"injected\">bold</b><img src=x onerror=\"window.__injected=1\">"


def publish_eval(tmp_path: Path, url: str) -> str:
    """Runs a three-test suite over cheap-model and strong-model with `switchyard eval run --url --publish`
    (cheap passes all three, strong only the last), and returns the id of the report it published."""
    suite = tmp_path / "dashboard-eval.yaml"
    suite.write_text(f"""
description: Dashboard eval
prompts: ["{{{{q}}}} [[reply-for gpt-4o-mini: yes, {{{{q}}}}]] [[reply-for gpt-4o: no, {{{{q}}}}]]"]
providers: [cheap-model, strong-model]
tests:
  - vars: {{q: first}}
    assert: [{{type: icontains, value: "yes"}}]
  - vars: {{q: second}}
    assert: [{{type: icontains, value: "yes"}}]
  - vars: {{q: {json.dumps(EVAL_HOSTILE)}}}
    assert: [{{type: icontains, value: "injected"}}]
""")
    env = {**os.environ, "SWITCHYARD_STATE_DIR": str(tmp_path / "state")}
    env.pop("SWITCHYARD_URL", None)
    env.pop("SWITCHYARD_KEY", None)
    run = subprocess.run([BIN, "eval", "run", str(suite), "--url", url, "--key", ADMIN, "--publish", "--no-progress",
                          "--cache-dir", str(tmp_path / "eval-cache")], cwd=tmp_path, env=env, capture_output=True, text=True, timeout=300)
    assert run.returncode == 100, run.stdout + run.stderr  # strong-model fails two tests
    published = [line for line in run.stdout.splitlines() if line.startswith("published evr_")]
    assert published, run.stdout + run.stderr
    report_id = published[0].split()[1]
    assert f"dashboard: {url}/#/evals/{report_id}" in run.stdout, run.stdout
    listing = api(url, "/v1/switchyard/eval-reports")
    assert [r["id"] for r in listing["data"]] == [report_id], listing
    return report_id


def test_dashboard_in_a_browser(tmp_path):
    out = Path(tempfile.mkdtemp(prefix="switchyard-dashboard-"))
    print(f"\nscreenshots: {out}")
    mock_port, port = free_port(), free_port()
    mock_url, url = f"http://127.0.0.1:{mock_port}", f"http://127.0.0.1:{port}"
    path = config(tmp_path, port, mock_url)
    mock = subprocess.Popen([BIN, "mock", "--port", str(mock_port)], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    gateway = None
    driver = None
    try:
        gateway = start_gateway(path, tmp_path, url, "serve.log")
        # Two teams, a team admin and members; their keys come from the API.
        for team in ("search", "support"):
            assert http("POST", url + "/v1/switchyard/teams", {"name": team}, headers={"authorization": f"Bearer {ADMIN}"})[0] == 201
        keys: dict[str, tuple[str, str, str]] = {}
        secrets: dict[str, str] = {}
        for name, team, role in (("alice", "search", "member"), ("bob", "support", "member"), ("lead", "search", "team_admin")):
            status, _, body = http("POST", url + "/v1/switchyard/keys", {"name": name, "team": team, "role": role},
                                   headers={"authorization": f"Bearer {ADMIN}"})
            assert status == 201, body
            created = json.loads(body)
            keys[name], secrets[name] = (name, created["id"], team), created["key"]

        ids: dict[str, str] = {}
        for index in range(4):
            assert call(url, secrets["alice"], "cheap-model", f"Summarise ticket {index}")[0] == 200
        for index in range(2):
            assert call(url, secrets["bob"], "strong-model", f"Draft a reply to customer {index}")[0] == 200
        assert call(url, secrets["bob"], "cheap-model", "Summarise ticket 0")[0] == 200  # the same prompt: a cache hit
        status, ids["resilient"] = call(url, secrets["alice"], "resilient", "Classify this ticket")
        assert status == 200
        assert call(url, ADMIN, "strong-model", "[[error: 500]] this one fails")[0] >= 500

        record = api(url, f"/v1/switchyard/requests/{ids['resilient']}")
        assert len(record["route"]["attempts"]) >= 2, record["route"]  # the down deployment, then the next
        overview = api(url, "/v1/switchyard/stats/overview")
        called = {m["model"] for m in overview["models"]}
        assert {"cheap-model", "strong-model"} <= called, called

        driver = browser(tmp_path / "profile")
        driver.get("about:blank")
        driver.get_log("performance")
        started = time.time()
        driver.get(url + "/")
        key_field = WebDriverWait(driver, 20).until(lambda d: d.find_element(By.ID, "login-key"))
        assert key_field.get_attribute("type") == "password"
        key_field.send_keys(ADMIN)
        driver.find_element(By.ID, "login-submit").click()
        loaded = wait_loaded(driver)
        print(f"first overview (signed in): {time.time() - started:.2f} s")

        # The overview: every model that answered, with its spend, and the total spend of the API.
        rows = driver.find_elements(By.CSS_SELECTOR, "#models-table tbody tr")
        shown = {row.get_attribute("data-model") for row in rows}
        assert called <= shown, (called, shown)
        spend = driver.find_element(By.CSS_SELECTOR, "#kpi-spend .value").text
        total = api(url, "/v1/switchyard/spend?group_by=model")["total_cost_usd"]
        expected = usd(overview["totals"]["cost_usd"])
        assert total > 0 and spend.startswith("$") and spend != "$0" and (expected is None or spend == expected), (spend, total)
        for row in rows:
            assert row.text.strip(), "an empty row"
        assert driver.find_element(By.ID, "kpi-requests").find_element(By.CLASS_NAME, "value").text == str(overview["totals"]["requests"])
        assert "search" in driver.find_element(By.ID, "spend-team").text and "bob" in driver.find_element(By.ID, "spend-key").text
        assert driver.find_elements(By.CSS_SELECTOR, "#chart-requests svg rect.bar"), "the requests chart drew no bar"

        # The request log, filtered by model in the page's filter form.
        driver.find_element(By.ID, "nav-requests").click()
        loaded = wait_loaded(driver, loaded)
        Select(driver.find_element(By.ID, "filter-model")).select_by_value("strong-model")
        driver.find_element(By.ID, "filter-apply").click()
        loaded = wait_loaded(driver, loaded)
        models = [row.get_attribute("data-model") for row in driver.find_elements(By.CSS_SELECTOR, "#requests-table tbody tr")]
        assert models == ["strong-model"] * 3, models
        Select(driver.find_element(By.ID, "filter-model")).select_by_value("resilient")
        driver.find_element(By.ID, "filter-apply").click()
        loaded = wait_loaded(driver, loaded)
        rows = driver.find_elements(By.CSS_SELECTOR, "#requests-table tbody tr")
        assert [row.get_attribute("data-id") for row in rows] == [ids["resilient"]]

        # One request's explain view: its attempts (the down deployment first) and its cost.
        rows[0].click()
        loaded = wait_loaded(driver, loaded)
        attempts = driver.find_elements(By.CSS_SELECTOR, "#explain-attempts tr.attempt")
        assert len(attempts) == len(record["route"]["attempts"])
        assert "dead-model" in attempts[0].text and "cheap-model" in attempts[-1].text
        assert attempts[-1].get_attribute("data-status") == "200" and attempts[0].get_attribute("data-status") != "200"
        cost = driver.find_element(By.ID, "explain-cost-value").text
        assert cost.startswith("$") and math.isclose(float(cost[1:]), record["cost_usd"], rel_tol=1e-3, abs_tol=1e-4), (cost, record["cost_usd"])
        assert ids["resilient"] in driver.find_element(By.ID, "explain").text

        # Nothing left this machine, and the key never went into a URL.
        requests = network(driver)
        assert requests and all(r["url"].startswith(url + "/") for r in requests), [r["url"] for r in requests if not r["url"].startswith(url)]
        assert not any(ADMIN in r["url"] for r in requests)
        # Every answered data call carried the key as a header (the one before sign-in asks whether the
        # gateway runs without keys, and is refused).
        api_calls = [r for r in requests if "/v1/" in r["url"]]
        authorized = [r for r in api_calls if {k.lower(): v for k, v in r["headers"].items()}.get("authorization") == f"Bearer {ADMIN}"]
        assert len(authorized) >= 6 and all(r["status"] == 200 for r in authorized), api_calls
        assert [r["status"] for r in api_calls if r not in authorized] == [401], api_calls
        # No script error, no refused style or script (CSP violations are logged as errors too).
        severe = [entry for entry in driver.get_log("browser") if entry["level"] == "SEVERE"]
        assert all(entry["source"] == "network" and "/v1/switchyard/me" in entry["message"] for entry in severe), severe

        # A team admin signs in and sees its team only.
        driver.find_element(By.ID, "logout").click()
        key_field = WebDriverWait(driver, 10).until(lambda d: d.find_element(By.ID, "login-key"))
        WebDriverWait(driver, 10).until(lambda d: key_field.is_displayed())
        key_field.send_keys(secrets["lead"])
        previous = driver.find_element(By.TAG_NAME, "body").get_attribute("data-loaded")
        driver.find_element(By.ID, "login-submit").click()
        loaded = wait_loaded(driver, previous)
        driver.find_element(By.ID, "nav-requests").click()
        loaded = wait_loaded(driver, loaded)
        teams = {row.text for row in driver.find_elements(By.CSS_SELECTOR, "#requests-table tbody tr td:nth-child(5)")}
        assert teams and all("search" in team for team in teams), teams
        driver.find_element(By.ID, "logout").click()

        # 5,000 more rows: the page still asks for pages, and says how many there are.
        admin_id = api(url, "/v1/switchyard/me")["key_id"]
        add_rows(tmp_path / "gw.sqlite", 5000, {k: v for k, v in keys.items() if k != "lead"} | {"ops-admin": ("ops-admin", admin_id, None)})
        driver.get(url + "/#/overview")
        key_field = WebDriverWait(driver, 10).until(lambda d: d.find_element(By.ID, "login-key"))
        WebDriverWait(driver, 10).until(lambda d: key_field.is_displayed())
        key_field.send_keys(ADMIN)
        driver.get_log("performance")
        previous = driver.find_element(By.TAG_NAME, "body").get_attribute("data-loaded")  # the same document: its last render
        started = time.time()
        driver.find_element(By.ID, "login-submit").click()
        loaded = wait_loaded(driver, previous)
        overview_s = time.time() - started
        status_line = driver.find_element(By.ID, "status").text
        overview_calls = driver.execute_script("return SY.calls.map(c => [c.path, Math.round(c.ms), c.bytes])")
        save(driver, "overview", out)
        started = time.time()
        driver.find_element(By.ID, "nav-requests").click()
        loaded = wait_loaded(driver, loaded)
        requests_s = time.time() - started
        assert driver.find_element(By.ID, "page-info").text.startswith("1–50 of 5,0")
        driver.find_element(By.ID, "page-older").click()
        loaded = wait_loaded(driver, loaded)
        assert driver.find_element(By.ID, "page-info").text.startswith("51–100 of 5,0")
        driver.save_screenshot(str(out / "section-requests.png"))
        log_calls = driver.execute_script("return SY.calls.map(c => [c.path, Math.round(c.ms), c.bytes])")
        calls = [r for r in network(driver) if "/v1/switchyard/requests" in r["url"] and "/requests/" not in r["url"]]
        assert calls
        for r in calls:
            query = parse_qs(urlparse(r["url"]).query)
            assert int(query["limit"][0]) <= 50, r["url"]
            assert r["bytes"] < 200_000, (r["url"], r["bytes"])  # a page, not the log
        print(f"with 5,000 more rows: overview {overview_s:.2f} s ({status_line}); API calls (path, ms, bytes): {overview_calls}")
        print(f"request log {requests_s:.2f} s; its second page's calls: {log_calls}")
        print(f"request-log calls (query, bytes on the wire): {[(urlparse(r['url']).query[:60], r['bytes']) for r in calls]}")

        # Every other section renders without an error (each saved beside the others, not in docs).
        for section in ("spend", "routes", "collections", "workflows", "experiments", "evals"):
            driver.find_element(By.ID, f"nav-{section}").click()
            loaded = wait_loaded(driver, loaded)
            assert not driver.find_elements(By.CSS_SELECTOR, "#view .empty.error"), driver.find_element(By.ID, "view").text[:500]
            driver.save_screenshot(str(out / f"section-{section}.png"))
            if section == "routes":
                rows = driver.find_elements(By.CSS_SELECTOR, "#deployments-table tbody tr")
                assert {row.get_attribute("data-deployment") for row in rows} >= set(PRICES)
                breakers = [row.find_element(By.CSS_SELECTOR, "[data-breaker]").get_attribute("data-breaker") for row in rows]
                assert all(state in ("closed", "open", "half_open") for state in breakers), breakers

        # The explain view of the request with two attempts, for the README.
        driver.get(url + f"/#/requests/{ids['resilient']}")
        loaded = wait_loaded(driver, loaded)
        save(driver, "explain", out)

        # An eval run published to the gateway (`eval run --publish`), then opened in the Evals view.
        report_id = publish_eval(tmp_path, url)
        driver.get(url + "/#/evals")
        loaded = wait_loaded(driver, loaded)
        rows = driver.find_elements(By.CSS_SELECTOR, "#evals-table tbody tr")
        assert [row.get_attribute("data-id") for row in rows] == [report_id], driver.find_element(By.ID, "view").text[:500]
        assert "Dashboard eval" in rows[0].text and "cheap-model" in rows[0].text and "100.0%" in rows[0].text, rows[0].text
        rows[0].click()
        loaded = wait_loaded(driver, loaded)
        providers = {row.get_attribute("data-provider"): row.text for row in driver.find_elements(By.CSS_SELECTOR, "#eval-providers tbody tr")}
        assert set(providers) == {"cheap-model", "strong-model"}, providers
        assert "100.0%" in providers["cheap-model"] and "33.3%" in providers["strong-model"], providers
        verdicts = [cell.get_attribute("data-verdict") for cell in driver.find_elements(By.CSS_SELECTOR, "#eval-cells .eval-cell")]
        assert sorted(verdicts) == sorted(["pass"] * 3 + ["pass", "fail", "fail"]), verdicts
        # The hostile answer is text on the page, not markup: no element from it, no script run.
        cells = driver.find_element(By.ID, "eval-cells")
        assert EVAL_HOSTILE in cells.text and not cells.find_elements(By.CSS_SELECTOR, "b.injected"), cells.text[:500]
        assert driver.execute_script("return window.__injected === undefined")
        assert driver.find_element(By.ID, "eval-html").is_displayed()
        save(driver, "evals", out)
    finally:
        if driver is not None:
            driver.quit()
        if gateway is not None and gateway.poll() is None:
            gateway.terminate()
            gateway.wait(timeout=30)
        mock.terminate()
        mock.wait(timeout=30)
