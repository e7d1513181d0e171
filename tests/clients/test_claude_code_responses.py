"""Claude Code driving a model that exists only on the Responses API (`api: responses`): its
Anthropic requests are translated to `/v1/responses`, the reasoning the model returns comes back
as thinking blocks, and Claude Code's replay of them reaches the model as the reasoning items it
issued (the mock refuses reasoning whose encrypted content it did not issue).
"""
from tests.clients.conftest import RESPONSES_MODEL
from tests.clients.test_claude_code import notes  # noqa: F401 - a fixture this test uses
from tests.clients.test_claude_code import assert_task_done, read_task, run_claude_code
from tests.mocks import responses_wire


def test_claude_code_tool_task_on_a_responses_only_model(claude_code, cortex, mock, tmp_path, notes):
    read_task(mock, "/v1/responses", notes)

    result = run_claude_code(claude_code, cortex, RESPONSES_MODEL, "What does notes.txt say?", tmp_path)

    assert_task_done(result)
    sent = mock.requests_to("/v1/responses")
    first = next(request for request in sent if "Read" in responses_wire.tool_names(request.json))
    assert first.json["instructions"] and first.json["store"] is False
    assert first.json["include"] == ["reasoning.encrypted_content"]
    follow_up = next(request for request in sent if responses_wire.answers_tool_result(request.json))
    kinds = [item.get("type", "message") for item in follow_up.json["input"]]
    assert kinds[-3:] == ["reasoning", "function_call", "function_call_output"]
