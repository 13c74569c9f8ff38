"""`serve` raises its soft open-file limit to the hard limit (a thousand streams need two thousand descriptors) and
warns when the hard limit itself is low."""

from __future__ import annotations

import os
import resource
import subprocess
import time

import pytest

from test_first_hour import BIN, free_port, http


def open_files(pid: int) -> tuple[int, int]:
    for line in open(f"/proc/{pid}/limits"):
        if line.startswith("Max open files"):
            soft, hard = line.split()[3:5]
            return int(soft), int(hard)
    raise AssertionError("no open-files line")


@pytest.mark.parametrize("soft, hard", [(256, None), (128, 1024)])
def test_serve_raises_its_soft_limit(tmp_path, soft, hard):
    _, hard_now = resource.getrlimit(resource.RLIMIT_NOFILE)
    hard = hard_now if hard is None else min(hard, hard_now)
    port = free_port()
    config = tmp_path / "switchyard.yaml"
    config.write_text(f"""
server: {{host: 127.0.0.1, port: {port}}}
storage: {{sqlite: {tmp_path}/gw.sqlite}}
providers:
  - {{name: mock, kind: openai, base_url: "http://127.0.0.1:9/v1", api_key: dummy}}
models:
  - {{name: small, provider: mock, price: {{input: 0.15, output: 0.6}}}}
""")
    def limits():  # in the child, before exec: the limits a shell or service manager might hand it
        resource.setrlimit(resource.RLIMIT_NOFILE, (soft, hard))

    gateway = subprocess.Popen([BIN, "serve", "--config", str(config)], cwd=tmp_path, preexec_fn=limits,
                               env={**os.environ, "SWITCHYARD_STATE_DIR": str(tmp_path / "state")},
                               stdout=open(tmp_path / "serve.log", "wb"), stderr=subprocess.STDOUT)
    deadline = time.time() + 60
    while time.time() < deadline:
        try:
            if http("GET", f"http://127.0.0.1:{port}/health", timeout=2)[0] == 200:
                break
        except OSError:
            time.sleep(0.2)
    try:
        now_soft, now_hard = open_files(gateway.pid)
        # the hard limit, or 65,536 where the kernel's nr_open is below the 2^20 asked for first
        assert now_hard == hard and now_soft in (min(hard, 1 << 20), min(hard, 65_536)), (now_soft, now_hard)
        assert http("GET", f"http://127.0.0.1:{port}/health")[0] == 200
    finally:
        gateway.terminate()
        gateway.wait(timeout=30)
    log = (tmp_path / "serve.log").read_text()
    assert f"soft limit raised from {soft} to {now_soft}" in log, log[-2000:]
    assert ("hard limit 1024" in log) == (hard == 1024), log[-2000:]
