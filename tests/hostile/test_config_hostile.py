"""Hostile values in a provider's connection settings: `serve` must refuse the file with an error naming the
field (and the range), never trap, hang or start. Each row is a separate `serve` run on its own config file."""

from __future__ import annotations

import os
import subprocess
import tempfile
from pathlib import Path

import pytest

import hostile_lib as hl

BASE = """\
server: {{host: 127.0.0.1, port: 0}}
storage: {{sqlite: ":memory:"}}
providers:
  - {{name: up, kind: openai, base_url: "http://127.0.0.1:9/v1", api_key: sk-hostile-config-secret, {field}: {value}}}
models:
  - {{name: m, provider: up, price: {{input: 1, output: 1}}}}
"""

ROWS = [
    ("max_connections", "0"),
    ("max_connections", "-1"),
    ("max_connections", "1e309"),
    ("max_connections", '"x"'),
    ("max_connections", "1e6"),
    ("max_connections", "65537"),
    ("max_connections", "9223372036854775808"),
    ("max_connections", ".nan"),
    ("prewarm_connections", "-1"),
    ("prewarm_connections", "1e309"),
    ("prewarm_connections", '"x"'),
    ("prewarm_connections", "1e6"),
    ("prewarm_connections", "1025"),
]


def _binary() -> Path:
    return Path(os.environ.get("SWITCHYARD_BIN") or hl.REPO / ".build" / "debug" / "switchyard")


@pytest.mark.parametrize("field,value", ROWS, ids=[f"{f}={v}" for f, v in ROWS])
def test_bad_connection_setting_is_a_config_error(field, value):
    with tempfile.TemporaryDirectory() as work:
        config = Path(work) / "switchyard.yaml"
        config.write_text(BASE.format(field=field, value=value))
        run = subprocess.run([str(_binary()), "serve", "--config", str(config)], capture_output=True, text=True,
                             timeout=60, cwd=work, env={**os.environ, "SWITCHYARD_STATE_DIR": work})
    output = run.stdout + run.stderr
    assert run.returncode > 0, f"exit {run.returncode} (a signal is a crash):\n{output[-4000:]}"
    assert f"providers[0].{field}" in output, output[-4000:]
    assert "whole number" in output, output[-4000:]
    assert "Fatal error" not in output and "listening" not in output, output[-4000:]
    assert "sk-hostile-config-secret" not in output


SERVER_ROWS = ["1", "1e309", '"yes"', "[true]", "{a: 1}", "null", ".nan"]
BACKLOG_ROWS = ["0", "-1", "65536", "1e309", "9223372036854775808", '"many"', "[1]", "null", ".inf"]


def _serve_with_server_option(option: str, value: str) -> str:
    """`serve` with `server.<option>: <value>`: it must refuse to start (never crash); returns its output."""
    with tempfile.TemporaryDirectory() as work:
        config = Path(work) / "switchyard.yaml"
        config.write_text(BASE.format(field="timeout_ms", value="1000").replace(
            "server: {host: 127.0.0.1, port: 0}", f"server: {{host: 127.0.0.1, port: 0, {option}: {value}}}"))
        run = subprocess.run([str(_binary()), "serve", "--config", str(config)], capture_output=True, text=True,
                             timeout=60, cwd=work, env={**os.environ, "SWITCHYARD_STATE_DIR": work})
    output = run.stdout + run.stderr
    assert run.returncode > 0, f"exit {run.returncode} (a signal is a crash):\n{output[-4000:]}"
    assert "Fatal error" not in output and "listening" not in output, output[-4000:]
    return output


@pytest.mark.parametrize("value", SERVER_ROWS)
def test_bad_fast_path_switch_is_a_config_error(value):
    """`server.fast_path` takes true or false only."""
    output = _serve_with_server_option("fast_path", value)
    assert "fast_path" in output and "true or false" in output, output[-4000:]


@pytest.mark.parametrize("value", BACKLOG_ROWS)
def test_bad_backlog_is_a_config_error(value):
    """`server.backlog` takes a whole number from 1 to 65535."""
    output = _serve_with_server_option("backlog", value)
    assert "server.backlog" in output and "1 to 65535" in output, output[-4000:]


RETENTION_ROWS = ["0", "-1", "36501", "1e309", "2.5", "9223372036854775808", ".inf", '"30"', "[30]", "null", "{days: 30}"]


@pytest.mark.parametrize("value", RETENTION_ROWS)
def test_bad_retention_is_a_config_error(value):
    """`request_log.retention_days` takes a whole number of days from 1 to 36500; anything else stops `serve`
    with the field and the range named (never a trap, and never a start that keeps or deletes the wrong days)."""
    with tempfile.TemporaryDirectory() as work:
        config = Path(work) / "switchyard.yaml"
        config.write_text(BASE.format(field="timeout_ms", value="1000") + f"request_log: {{retention_days: {value}}}\n")
        run = subprocess.run([str(_binary()), "serve", "--config", str(config)], capture_output=True, text=True,
                             timeout=60, cwd=work, env={**os.environ, "SWITCHYARD_STATE_DIR": work})
    output = run.stdout + run.stderr
    assert run.returncode > 0, f"exit {run.returncode} (a signal is a crash):\n{output[-4000:]}"
    assert "Fatal error" not in output and "listening" not in output, output[-4000:]
    assert "request_log.retention_days" in output and "1 to 36500" in output, output[-4000:]
