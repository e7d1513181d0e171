"""The Vercel AI SDK (`ai` with `@ai-sdk/openai`, whose `openai(model)` speaks the Responses API):
generateText and streamText with a tool, run by a small node script (ai_sdk_agent.mjs), through
Cortex to an OpenAI-type provider serving the API natively and to an Anthropic-type provider.
"""
import json
import os
import shutil
import subprocess

import pytest

from tests.clients.conftest import CLIENTS, OPENAI_MODEL, _missing_client
from tests.cortex_server import ADMIN_KEY

SCRIPT = CLIENTS / "ai_sdk_agent.mjs"
CLAUDE = "claude-3-5-sonnet-20241022"


@pytest.fixture(scope="session")
def node():
    if shutil.which("node") is None or not (CLIENTS / "node_modules" / "@ai-sdk" / "openai").is_dir():
        _missing_client("The Vercel AI SDK", "run `npm ci --prefix tests/clients` (.ci/run does)")
    return shutil.which("node")


def run_agent(node, cortex, mode, model) -> dict:
    env = {**os.environ, "CORTEX_URL": cortex.url, "CORTEX_KEY": ADMIN_KEY}
    done = subprocess.run([node, str(SCRIPT), mode, model], capture_output=True, text=True, timeout=120, env=env,
                          cwd=CLIENTS)
    assert done.returncode == 0, done.stderr[-3000:]
    return json.loads(done.stdout.strip().splitlines()[-1])


@pytest.mark.parametrize("model", [OPENAI_MODEL, CLAUDE])
@pytest.mark.parametrize("mode", ["generate", "stream"])
def test_ai_sdk_tool_loop(node, cortex, mock, mode, model):
    result = run_agent(node, cortex, mode, model)
    assert result["text"] == "echo: sunny in Paris", result
    assert result["steps"] == 2  # the tool call, then the answer to its result
    assert mock.requests_to({OPENAI_MODEL: "/v1/responses", CLAUDE: "/v1/messages"}[model])
