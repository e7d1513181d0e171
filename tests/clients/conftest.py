"""Real clients against a real Cortex: Claude Code from npm, and Python libraries from PyPI.

The models live on the mock's providers so that each client can be sent across translation
(an Anthropic-format client to an OpenAI-type provider and back) or passed through.
"""

import os
import subprocess
from pathlib import Path

import pytest

from tests.clients.gemini_setup import gemini_provider
from tests.cortex_server import base_config

CLIENTS = Path(__file__).resolve().parent
CLAUDE_CODE = CLIENTS / "node_modules" / ".bin" / "claude"

# Current Claude models, passed through to the Anthropic-type provider. Claude Code 2.1 sends
# Sonnet 5 what it sends models it does not know: system messages inside `messages`, adaptive
# thinking and output_config.effort; Haiku 4.5 gets thinking with a token budget. And OpenAI
# models (translation), one of them a reasoning model.
CLAUDE_MODEL = "claude-sonnet-5"
BUDGETED_CLAUDE_MODEL = "claude-haiku-4-5"
OPENAI_MODEL = "gpt-4o"
OPENAI_REASONING_MODEL = "o4-mini"
RESPONSES_MODEL = "gpt-5-codex"  # `api: responses`: every client format reaches it through the Responses API


def clients_config(mock_url: str, db_path: Path) -> dict:
    config = base_config(mock_url, db_path)
    providers = {provider["name"]: provider for provider in config["providers"]}
    providers["mockanthropic"]["models"] += [{"id": CLAUDE_MODEL}, {"id": BUDGETED_CLAUDE_MODEL}]
    providers["mockai"]["models"] += [{"id": OPENAI_REASONING_MODEL}, {"id": RESPONSES_MODEL, "api": "responses"}]
    config["providers"].append(gemini_provider(mock_url))
    # Claude Code's turns carry a 30k-character system prompt and wait for tool runs: no 5 s cap.
    for provider in providers.values():
        provider["timeout_secs"] = 60
    return config


@pytest.fixture(scope="module")
def cortex(start_cortex):
    return start_cortex(clients_config)


def _missing_client(what: str, how: str):
    """A client that is not installed fails the test in CI (which installs it) and skips elsewhere."""
    message = f"{what} is not installed: {how}"
    if os.environ.get("CI", "").lower() == "true":
        pytest.fail(message)
    pytest.skip(message)


@pytest.fixture(scope="session")
def claude_code() -> Path:
    """The Claude Code binary that .ci/run installs (npm ci in tests/clients)."""
    if not os.access(CLAUDE_CODE, os.X_OK):
        _missing_client("Claude Code", "run `npm ci --prefix tests/clients` (.ci/run does)")
    version = subprocess.run([CLAUDE_CODE, "--version"], capture_output=True, text=True, timeout=60)
    assert version.returncode == 0, version.stderr
    return CLAUDE_CODE
