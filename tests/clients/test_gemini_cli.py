"""Gemini CLI (the npm release pinned in tests/clients/package.json) runs a tool task through Cortex.

`gemini -p` with ``GOOGLE_GEMINI_BASE_URL`` at Cortex's /gemini surface and a Cortex key as
``GEMINI_API_KEY``; the model is served by an OpenAI-type or an Anthropic-type provider
(translated), or a Gemini-type one (passed through, the mock validating what the CLI sends). The mock
plays the model as an ``Agent``: it calls Gemini CLI's own ``read_file`` tool on a file the test
wrote, Gemini CLI runs it, and the final answer quotes the result. The task succeeds only if the
CLI's streamed requests (its ~40 tools with Gemini schemas, the function call coming back, the
functionResponse going out) cross the translation both ways.

Offline: telemetry, usage statistics and the update check are off in a throwaway settings file,
and the workspace is trusted by environment, as Gemini CLI documents for headless runs.
"""

import json
import os
import subprocess
from pathlib import Path

import pytest

from tests.clients.conftest import CLIENTS, OPENAI_MODEL, _missing_client
from tests.clients.gemini_setup import GEMINI_MODEL
from tests.cortex_server import ADMIN_KEY
from tests.mocks import Agent, anthropic_wire, gemini_wire, openai_wire

GEMINI_CLI = CLIENTS / "node_modules" / ".bin" / "gemini"
SECRET = "the launch code is 4711"
CLAUDE_MODEL = "claude-3-5-sonnet-20241022"
SETTINGS = {
    "telemetry": {"enabled": False},
    "privacy": {"usageStatisticsEnabled": False},
    "general": {"enableAutoUpdate": False, "enableAutoUpdateNotification": False},
    "security": {"auth": {"selectedType": "gemini-api-key"}},
}
# model -> (the mock's path, its wire module); the Gemini-type provider is a pass-through.
PROVIDERS = {OPENAI_MODEL: ("/v1/chat/completions", openai_wire), CLAUDE_MODEL: ("/v1/messages", anthropic_wire),
             GEMINI_MODEL: (f"/v1beta/models/{GEMINI_MODEL}:streamGenerateContent", gemini_wire)}


@pytest.fixture(scope="session")
def gemini_cli() -> Path:
    if not os.access(GEMINI_CLI, os.X_OK):
        _missing_client("Gemini CLI", "run `npm ci --prefix tests/clients` (.ci/run does)")
    return GEMINI_CLI


def run_gemini_cli(binary: Path, cortex, model: str, prompt: str, workdir: Path) -> dict:
    home = workdir.parent / "home"
    (home / ".gemini").mkdir(parents=True)
    (home / ".gemini" / "settings.json").write_text(json.dumps(SETTINGS))
    env = {"PATH": os.environ["PATH"], "HOME": str(home), "GOOGLE_GEMINI_BASE_URL": cortex.url + "/gemini",
           "GEMINI_API_KEY": ADMIN_KEY, "GEMINI_CLI_TRUST_WORKSPACE": "true", "NO_BROWSER": "1"}
    command = [str(binary), "-p", prompt, "--model", model, "--output-format", "json"]
    finished = subprocess.run(command, cwd=workdir, env=env, capture_output=True, text=True, timeout=150)
    assert finished.returncode == 0, f"exit {finished.returncode}: {finished.stdout[-2000:]} {finished.stderr[-2000:]}"
    return json.loads(finished.stdout[finished.stdout.index("{"):])


@pytest.mark.parametrize("model", PROVIDERS)
def test_gemini_cli_tool_task(gemini_cli, cortex, mock, tmp_path, model):
    workdir = tmp_path / "work"
    workdir.mkdir()
    (workdir / "notes.txt").write_text(SECRET + "\n")
    path, wire = PROVIDERS[model]
    mock.serve(path, Agent("read_file", {"file_path": str(workdir / "notes.txt")}, reply="notes.txt says: {result}"))

    result = run_gemini_cli(gemini_cli, cortex, model, "What does notes.txt say?", workdir)

    assert SECRET in result["response"]
    sent = mock.requests_to(path)
    first = next(request for request in sent if "read_file" in wire.tool_names(request.json))
    assert len(wire.tool_names(first.json)) > 5  # the CLI's whole tool set crossed
    follow_up = next(request for request in sent if wire.answers_tool_result(request.json))
    assert SECRET in wire.last_tool_result_text(follow_up.json)
