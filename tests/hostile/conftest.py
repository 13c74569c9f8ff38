"""Hostile-run fixtures: a hostile upstream (in this process) and a live `switchyard serve` pointed at it.

Every provider in the generated config points at one fault of the hostile upstream (see
hostile_upstream.py and hostile_lib.write_config). The gateway is watched: after every test it must
still run and its peak RSS during the test (sampled every 100 ms from /proc/PID/status) must stay
under 1 GiB. A crash fails the test that caused it with the Swift fatal error and the last 8 KB of the
gateway's output; the next test then starts a fresh gateway (HOSTILE_RESTART=0: every later test
fails at once instead).
"""

from __future__ import annotations

import os
import sys
import time
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent))

import hostile_lib as hl  # noqa: E402
import hostile_upstream as hu  # noqa: E402

RESTART = os.environ.get("HOSTILE_RESTART", "1") != "0"
PEAK_RSS: dict = {}  # test id -> the gateway's peak RSS during it (bytes)


def _binary() -> Path:
    path = Path(os.environ.get("SWITCHYARD_BIN") or hl.REPO / ".build" / "debug" / "switchyard")
    if not path.is_file():
        pytest.exit(f"switchyard binary not found at {path}; build it or set SWITCHYARD_BIN", returncode=2)
    return path


def _free_port() -> int:
    import socket
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="session")
def upstream():
    server = hu.start()
    yield server
    server.stop()


def _setup_collection(env: hl.Env) -> None:
    """A small collection embedded through the `ok` upstream, for search and grounding cases."""
    r = env.call("POST", "/v1/switchyard/collections",
                 json_body={"name": hl.COLLECTION, "embedding_model": hl.OK_EMBED["openai"]}, timeout=30)
    if r.status not in (200, 201, 409) and not (r.status == 400 and "exist" in r.text().lower()):
        raise RuntimeError(f"could not create the collection: {r.describe()}")
    docs = [{"id": f"d{i}", "text": f"Document {i} about gateways, keys and rotation number {i}.",
             "title": f"Doc {i}", "metadata": {"year": 2020 + i, "lang": "en"}} for i in range(6)]
    r = env.call("POST", f"/v1/switchyard/collections/{hl.COLLECTION}/documents", json_body={"documents": docs},
                 timeout=30)
    if r.status != 200:
        raise RuntimeError(f"could not add documents: {r.describe()}")


@pytest.fixture(scope="session")
def gateway(upstream, tmp_path_factory):
    workdir = tmp_path_factory.mktemp("hostile")
    port = _free_port()
    config = workdir / "switchyard.yaml"
    hl.write_config(config, workdir, port, upstream.port)
    gw = hl.Gateway(_binary(), config, workdir, port)
    try:
        gw.start()
    except RuntimeError as e:
        pytest.exit(str(e), returncode=3)
    env = hl.Env(gw, upstream)
    try:
        _setup_collection(env)
    except Exception as e:  # noqa: BLE001 - a setup failure must show, not hide the suite
        gw.stop()
        pytest.exit(f"setup failed: {e}\n{gw.output()}", returncode=3)
    upstream.reset()
    yield gw
    gw.stop()
    sys.stderr.write(f"\n[hostile] gateway log: {gw.log_path}; session peak RSS "
                     f"{gw.session_peak_rss / 2**20:.0f} MiB; crashes: {len(gw.crashes)}\n")


@pytest.fixture
def env(gateway, upstream) -> hl.Env:
    return hl.Env(gateway, upstream)


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item, call):
    outcome = yield
    report = outcome.get_result()
    setattr(item, "rep_" + report.when, report)


@pytest.fixture(autouse=True)
def _guard(request, gateway, upstream):
    """Before: a live gateway (restarted after a crash), fresh upstream counts, RSS peak reset.
    After: the gateway still runs and its RSS stayed under 1 GiB."""
    if not gateway.alive():
        if not RESTART:
            pytest.fail(f"GATEWAY DOWN: it {gateway.status()} in an earlier test", pytrace=False)
        gateway.restart()
    upstream.reset()
    gateway.reset_peak()
    yield
    call_failed = getattr(request.node, "rep_call", None) is not None and request.node.rep_call.failed
    if not gateway.alive():
        # Give a crash's backtrace time to finish, then report (unless the test already did).
        gateway.wait_dead(15)
        if not call_failed:
            gateway.crashes.append(request.node.nodeid)
            pytest.fail(f"CRASH: gateway {gateway.status()} during this test\n{gateway.crash_summary()}\n"
                        f"--- last 8 KB of gateway output ---\n{gateway.output()}", pytrace=False)
        return
    time.sleep(0.05)  # one more sample
    PEAK_RSS[request.node.nodeid] = gateway.peak_rss
    if gateway.peak_rss > hl.RSS_LIMIT_BYTES:
        peak = gateway.peak_rss
        # Fresh process for the next tests, so one bloat does not fail them all.
        gateway.restart()
        pytest.fail(f"RSS: gateway peak RSS {peak / 2**20:.0f} MiB during this test (limit 1024 MiB)", pytrace=False)


def pytest_terminal_summary(terminalreporter):
    if not PEAK_RSS:
        return
    top = sorted(PEAK_RSS.items(), key=lambda kv: -kv[1])[:10]
    terminalreporter.write_sep("-", "gateway peak RSS, highest 10 tests")
    for nodeid, peak in top:
        terminalreporter.write_line(f"{peak / 2**20:8.0f} MiB  {nodeid.split('::')[-1]}")
    out = os.environ.get("HOSTILE_RSS_JSON")
    if out:
        import json
        Path(out).write_text(json.dumps(PEAK_RSS, indent=1))
