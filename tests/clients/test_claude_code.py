"""Claude Code (the npm release pinned in tests/clients/package.json) runs a tool task through Cortex.

The mock plays the model as an ``Agent``: asked to read a file, it calls Claude Code's own Read
tool (picked by name from the tools Claude Code offers), Claude Code runs it on a file the test
wrote, and the mock's final answer quotes the tool result. The task succeeds only if every turn
crosses Cortex intact: the request Claude Code builds (system messages inside `messages`,
adaptive or budgeted thinking, output_config.effort, context_management, betas), the tool call
coming back, and the tool result going out again.
"""

import json
import os
import subprocess
from pathlib import Path

import pytest

from tests.clients.conftest import BUDGETED_CLAUDE_MODEL, CLAUDE_MODEL, OPENAI_MODEL, OPENAI_REASONING_MODEL
from tests.cortex_server import ADMIN_KEY
from tests.mocks import Agent
from tests.mocks import anthropic_wire, openai_wire

SECRET = "the launch code is 4711"

# Keep Claude Code to the one endpoint under test: no updater, telemetry or error reports.
QUIET_ENV = {
    "DISABLE_AUTOUPDATER": "1",
    "CLAUDE_CODE_DISABLE_NONESSENTIAL_TRAFFIC": "1",
    "DISABLE_TELEMETRY": "1",
    "DISABLE_ERROR_REPORTING": "1",
    "DISABLE_COST_WARNINGS": "1",
}


def run_claude_code(binary: Path, cortex, model: str, prompt: str, workdir: Path) -> dict:
    """`claude -p` in ``workdir`` with a throwaway home; its JSON result."""
    home = workdir / "home"
    home.mkdir()
    env = {
        "PATH": os.environ["PATH"],
        "HOME": str(home),
        "CLAUDE_CONFIG_DIR": str(home / ".claude"),
        "ANTHROPIC_BASE_URL": cortex.url + "/anthropic",
        "ANTHROPIC_API_KEY": ADMIN_KEY,
        **QUIET_ENV,
    }
    command = [str(binary), "-p", prompt, "--model", model, "--output-format", "json", "--allowedTools", "Read"]
    finished = subprocess.run(command, cwd=workdir, env=env, capture_output=True, text=True, timeout=150)
    assert finished.stdout.strip(), f"no output (exit {finished.returncode}): {finished.stderr[-2000:]}"
    return json.loads(finished.stdout.strip().splitlines()[-1])


@pytest.fixture
def notes(tmp_path) -> Path:
    notes = tmp_path / "notes.txt"
    notes.write_text(SECRET + "\n")
    return notes


def read_task(mock, path: str, notes: Path) -> None:
    mock.serve(path, Agent("Read", {"file_path": str(notes)}, reply="notes.txt says: {result}"))


def assert_task_done(result: dict) -> None:
    assert result["is_error"] is False, result.get("result")
    assert SECRET in result["result"]
    assert result["num_turns"] >= 2  # the tool call, then the answer


# What Claude Code 2.1 sends each model: its thinking config, and whether part of its system
# prompt rides inside `messages` as a system message.
PASS_THROUGH = {
    CLAUDE_MODEL: ({"type": "adaptive", "display": "omitted"}, True),
    BUDGETED_CLAUDE_MODEL: ({"type": "enabled", "budget_tokens": 31999, "display": "omitted"}, False),
}


@pytest.mark.parametrize("model", PASS_THROUGH)
def test_claude_code_tool_task_passes_through_to_anthropic(claude_code, cortex, mock, tmp_path, notes, model):
    read_task(mock, "/v1/messages", notes)

    result = run_claude_code(claude_code, cortex, model, "What does notes.txt say?", tmp_path)

    assert_task_done(result)
    sent = mock.requests_to("/v1/messages")
    first = next(request for request in sent if "Read" in anthropic_wire.tool_names(request.json))
    # Today's fields arrive untouched (the mock rejects them when malformed, and the betas
    # header is what admits context_management).
    thinking, system_in_messages = PASS_THROUGH[model]
    assert first.json["thinking"] == thinking
    assert any(m["role"] == "system" for m in first.json["messages"]) == system_in_messages
    assert first.json["context_management"]["edits"]
    assert json.loads(first.json["metadata"]["user_id"])["session_id"]
    assert "context-management-2025-06-27" in first.headers["anthropic-beta"]
    # The tool result went back with the assistant turn as the mock issued it, thinking and
    # signature included (the mock answers 400 to an altered or missing thinking block).
    follow_up = next(request for request in sent if anthropic_wire.answers_tool_result(request.json))
    assert SECRET in anthropic_wire.last_tool_result_text(follow_up.json)
    assistant = [m for m in follow_up.json["messages"] if m["role"] == "assistant"][-1]
    assert [block["type"] for block in assistant["content"]] == ["thinking", "tool_use"]


@pytest.mark.parametrize("model", [OPENAI_MODEL, OPENAI_REASONING_MODEL])
def test_claude_code_tool_task_translated_to_openai(claude_code, cortex, mock, tmp_path, notes, model):
    """To a reasoning model the mock answers with reasoning_content first, and rejects max_tokens
    (it takes max_completion_tokens); to gpt-4o it rejects reasoning_effort, as OpenAI does."""
    read_task(mock, "/v1/chat/completions", notes)

    result = run_claude_code(claude_code, cortex, model, "What does notes.txt say?", tmp_path)

    assert_task_done(result)
    sent = mock.requests_to("/v1/chat/completions")
    first = next(request for request in sent if "Read" in openai_wire.tool_names(request.json))
    roles = [message["role"] for message in first.json["messages"]]
    # Claude Code's top-level system prompt leads, and the system message it puts after the
    # user's turn keeps its place.
    assert roles[0] in ("system", "developer") and roles[1] == "user"
    assert roles[2] in ("system", "developer")
    assert "# Environment" in json.dumps(first.json["messages"][2]["content"])
    follow_up = next(request for request in sent if openai_wire.answers_tool_result(request.json))
    assert SECRET in openai_wire.last_tool_result_text(follow_up.json)
    # The replayed assistant turn is the tool call alone: reasoning is not forwarded as content.
    assistant = [m for m in follow_up.json["messages"] if m["role"] == "assistant"][-1]
    assert not assistant.get("content") and assistant["tool_calls"][0]["function"]["name"] == "Read"
