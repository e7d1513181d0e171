"""OpenAI's Codex CLI (`codex exec`) with a custom provider whose base_url is Cortex's `/v1` and
`wire_api = "responses"`, to an OpenAI-type provider serving the API natively and to an
Anthropic-type provider (translated).

The mock (``Agent``) has Codex run `cat notes.txt` through its `exec_command` tool, then answers
with the file's text, which Codex prints as its last message: the tool call, its execution and
the result travelling back all went through Cortex.
"""
import os
import subprocess
from pathlib import Path

import pytest

from tests.clients.conftest import CLIENTS, OPENAI_MODEL, _missing_client
from tests.cortex_server import ADMIN_KEY
from tests.mocks.agent import Agent

CODEX = CLIENTS / "node_modules" / ".bin" / "codex"
CLAUDE = "claude-3-5-sonnet-20241022"
UPSTREAM_PATHS = {OPENAI_MODEL: "/v1/responses", CLAUDE: "/v1/messages"}
CONFIG = """
model_provider = "cortex"
[model_providers.cortex]
name = "Cortex"
base_url = "{url}/v1"
env_key = "CORTEX_KEY"
wire_api = "responses"
"""


@pytest.fixture(scope="session")
def codex() -> Path:
    if not os.access(CODEX, os.X_OK):
        _missing_client("Codex CLI", "run `npm ci --prefix tests/clients` (.ci/run does)")
    return CODEX


@pytest.mark.parametrize("model", [OPENAI_MODEL, CLAUDE])
def test_codex_exec_runs_a_tool_and_uses_its_result(codex, cortex, mock, tmp_path, model):
    home, work = tmp_path / "codex-home", tmp_path / "work"
    home.mkdir()
    work.mkdir()
    (work / "notes.txt").write_text("the launch code is pelican-42\n")
    (home / "config.toml").write_text(CONFIG.format(url=cortex.url))
    path = UPSTREAM_PATHS[model]
    mock.serve(path, Agent("exec_command", {"cmd": "cat notes.txt"}, reply="notes.txt says: {result}"))
    env = {**os.environ, "CODEX_HOME": str(home), "CORTEX_KEY": ADMIN_KEY, "RUST_LOG": "error"}
    done = subprocess.run([str(codex), "exec", "--skip-git-repo-check", "-s", "danger-full-access", "-m", model,
                           "-C", str(work), "--output-last-message", str(tmp_path / "last.txt"),
                           "What does notes.txt say?"], capture_output=True, text=True, timeout=180, env=env,
                          stdin=subprocess.DEVNULL)
    assert done.returncode == 0, done.stderr[-3000:]
    assert "pelican-42" in (tmp_path / "last.txt").read_text()
    sent = mock.requests_to(path)
    assert len(sent) >= 2 and sent[0].json["stream"] is True
    if model == OPENAI_MODEL:  # passed through: Codex's own fields reach the provider
        assert sent[0].json["store"] is False and "client_metadata" in sent[0].json
