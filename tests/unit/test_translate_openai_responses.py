"""The Responses format through the hub: requests, replies and streams, in both directions."""
import json

import pytest

from app.translate import stream_translation, target_for, translate_request, translate_response
from app.translate.openai_responses.request import REDACTED_PREFIX, reasoning_signature

PNG = "data:image/png;base64,iVBORw0KGgo="
PDF = "data:application/pdf;base64,JVBERi0x"
WEATHER = {"type": "function", "name": "get_weather", "description": "Weather",
           "parameters": {"type": "object", "properties": {"location": {"type": "string"}}}}


def to_anthropic(body):
    return translate_request(body, "responses", "anthropic", target_for("anthropic", "claude-sonnet-4-5"))


def to_chat(body, model="gpt-4o"):
    return translate_request(body, "responses", "openai", target_for("openai", model))


def from_anthropic(body, model="gpt-5-codex"):
    return translate_request(body, "anthropic", "responses", target_for("responses", model))


# --- Responses -> hub (seen as the Anthropic request it becomes) ----------------------------

TO_ANTHROPIC_CASES = [
    ("a string input is one user turn; instructions the system",
     {"model": "m", "input": "Hi", "instructions": "Be terse."},
     {"system": "Be terse.", "messages": [{"role": "user", "content": "Hi"}]}, []),
    ("developer and system messages lead the system; a later one stays in place",
     {"model": "m", "input": [{"role": "developer", "content": "A"}, {"role": "user", "content": "Hi"},
                              {"role": "system", "content": [{"type": "input_text", "text": "B"}]}]},
     {"system": "A", "messages": [{"role": "user", "content": "Hi"}, {"role": "system", "content": "B"}]}, []),
    ("parts: input_text, input_image, input_file (PDF), output_text",
     {"model": "m", "input": [
         {"role": "user", "content": [{"type": "input_text", "text": "look"},
                                      {"type": "input_image", "image_url": PNG},
                                      {"type": "input_file", "filename": "a.pdf", "file_data": PDF}]},
         {"type": "message", "role": "assistant", "content": [{"type": "output_text", "text": "seen"}]}]},
     {"messages": [
         {"role": "user", "content": [
             {"type": "text", "text": "look"},
             {"type": "image", "source": {"type": "base64", "media_type": "image/png", "data": "iVBORw0KGgo="}},
             {"type": "document", "source": {"type": "base64", "media_type": "application/pdf", "data": "JVBERi0x"},
              "title": "a.pdf"}]},
         {"role": "assistant", "content": "seen"}]}, []),
    ("function_call and its output become tool_use and tool_result",
     {"model": "m", "input": [{"role": "user", "content": "w?"},
                              {"type": "function_call", "call_id": "c1", "name": "f", "arguments": '{"a":1}'},
                              {"type": "function_call_output", "call_id": "c1", "output": "ok"}]},
     {"messages": [{"role": "user", "content": "w?"},
                   {"role": "assistant", "content": [{"type": "tool_use", "id": "c1", "name": "f", "input": {"a": 1}}]},
                   {"role": "user", "content": [{"type": "tool_result", "tool_use_id": "c1", "content": "ok"}]}]}, []),
    ("a custom tool call carries its text as {input}",
     {"model": "m", "input": [{"role": "user", "content": "p"},
                              {"type": "custom_tool_call", "call_id": "c2", "name": "apply_patch", "input": "*** x"},
                              {"type": "custom_tool_call_output", "call_id": "c2", "output": "done"}]},
     {"messages": [{"role": "user", "content": "p"},
                   {"role": "assistant", "content": [{"type": "tool_use", "id": "c2", "name": "apply_patch",
                                                      "input": {"input": "*** x"}}]},
                   {"role": "user", "content": [{"type": "tool_result", "tool_use_id": "c2", "content": "done"}]}]},
     []),
    ("reasoning with encrypted content is Claude's signed thinking again; redacted too; bare is dropped",
     {"model": "m", "input": [{"role": "user", "content": "q"},
                              {"type": "reasoning", "id": "rs_1", "summary": [{"type": "summary_text", "text": "t"}],
                               "encrypted_content": "sig"},
                              {"type": "reasoning", "id": "rs_2", "summary": [],
                               "encrypted_content": REDACTED_PREFIX + "opaque"},
                              {"type": "reasoning", "id": "rs_3", "summary": []},
                              {"type": "message", "role": "assistant", "content": "a"}]},
     {"messages": [{"role": "user", "content": "q"},
                   {"role": "assistant", "content": [{"type": "thinking", "thinking": "t", "signature": "sig"},
                                                     {"type": "redacted_thinking", "data": "opaque"},
                                                     {"type": "text", "text": "a"}]}]},
     ["input[].reasoning"]),
    ("tools: function and custom kept, built-ins dropped and named; forced tool; no parallel calls",
     {"model": "m", "input": "x", "tools": [WEATHER, {"type": "custom", "name": "apply_patch"},
                                            {"type": "web_search"}, {"type": "local_shell"}],
      "tool_choice": {"type": "function", "name": "get_weather"}, "parallel_tool_calls": False},
     {"tools": [{"name": "get_weather", "input_schema": WEATHER["parameters"], "description": "Weather"},
                {"name": "apply_patch", "input_schema": {"type": "object", "properties": {"input": {"type": "string"}},
                                                         "required": ["input"]}}],
      "tool_choice": {"type": "tool", "name": "get_weather", "disable_parallel_tool_use": True}},
     ["tools[].type=web_search", "tools[].type=local_shell"]),
    ("text.format json_schema is structured output; max_output_tokens the limit",
     {"model": "m", "input": "x", "max_output_tokens": 99,
      "text": {"format": {"type": "json_schema", "name": "w", "schema": {"type": "object"}, "strict": True}}},
     {"max_tokens": 99, "output_config": {"format": {"type": "json_schema", "schema": {"type": "object"}}}}, []),
    ("reasoning.effort is a thinking budget",
     {"model": "m", "input": "x", "reasoning": {"effort": "medium", "summary": "auto"}, "max_output_tokens": 20000},
     {"thinking": {"type": "enabled", "budget_tokens": 8192}, "max_tokens": 20000}, []),
    ("service fields are read, not forwarded; unknown ones are dropped and named",
     {"model": "m", "input": "x", "store": False, "include": ["reasoning.encrypted_content"], "metadata": {"a": "b"},
      "prompt_cache_key": "k", "previous_response_id": None, "truncation": "auto", "service_tier": "flex",
      "text": {"verbosity": "low"}},
     {"messages": [{"role": "user", "content": "x"}]}, ["truncation", "service_tier", "text.verbosity"]),
    ("built-in tool call items are dropped and named",
     {"model": "m", "input": [{"role": "user", "content": "x"}, {"type": "web_search_call", "id": "ws_1"},
                              {"type": "item_reference", "id": "msg_1"}]},
     {"messages": [{"role": "user", "content": "x"}]}, ["input[].type=web_search_call", "input[].type=item_reference"]),
]


@pytest.mark.parametrize("name,body,expected,dropped", TO_ANTHROPIC_CASES, ids=[c[0] for c in TO_ANTHROPIC_CASES])
def test_responses_request_to_anthropic(name, body, expected, dropped):
    shaped, names = to_anthropic(body)
    for key, value in expected.items():
        assert shaped[key] == value, key
    assert names == dropped


def test_responses_request_to_chat_completions():
    shaped, dropped = to_chat({"model": "gpt-4o", "instructions": "sys", "input": [
        {"role": "user", "content": "w?"},
        {"type": "function_call", "call_id": "c1", "name": "get_weather", "arguments": "{}"},
        {"type": "function_call_output", "call_id": "c1", "output": "ok"}], "tools": [WEATHER],
        "text": {"format": {"type": "json_object"}}, "reasoning": {"effort": "low"}})
    assert shaped["messages"] == [
        {"role": "system", "content": "sys"}, {"role": "user", "content": "w?"},
        {"role": "assistant", "content": None, "tool_calls": [
            {"id": "c1", "type": "function", "function": {"name": "get_weather", "arguments": "{}"}}]},
        {"role": "tool", "tool_call_id": "c1", "content": "ok"}]
    assert shaped["response_format"] == {"type": "json_object"}
    assert "reasoning_effort" not in shaped and dropped == ["thinking"]  # gpt-4o does not reason


# --- hub -> Responses (an Anthropic request to an `api: responses` model) --------------------

FROM_ANTHROPIC_CASES = [
    ("system becomes instructions; text, image and PDF become input parts; store off, reasoning kept",
     {"model": "m", "max_tokens": 100, "system": "sys", "messages": [{"role": "user", "content": [
         {"type": "text", "text": "look"},
         {"type": "image", "source": {"type": "url", "url": "https://x/y.png"}},
         {"type": "document", "source": {"type": "base64", "media_type": "application/pdf", "data": "JVBE"}}]}]},
     {"instructions": "sys", "store": False, "include": ["reasoning.encrypted_content"], "max_output_tokens": 100,
      "input": [{"type": "message", "role": "user", "content": [
          {"type": "input_text", "text": "look"},
          {"type": "input_image", "image_url": "https://x/y.png", "detail": "auto"},
          {"type": "input_file", "filename": "document.pdf", "file_data": "data:application/pdf;base64,JVBE"}]}]},
     []),
    ("tool_use and tool_result become function_call and its output; images in a result follow it",
     {"model": "m", "max_tokens": 10, "messages": [
         {"role": "user", "content": "w?"},
         {"role": "assistant", "content": [{"type": "text", "text": "checking"},
                                           {"type": "tool_use", "id": "t1", "name": "f", "input": {"a": 1}}]},
         {"role": "user", "content": [{"type": "tool_result", "tool_use_id": "t1", "is_error": True, "content": [
             {"type": "text", "text": "bad"},
             {"type": "image", "source": {"type": "base64", "media_type": "image/png", "data": "AA"}}]}]}]},
     {"input": [
         {"type": "message", "role": "user", "content": [{"type": "input_text", "text": "w?"}]},
         {"type": "message", "role": "assistant", "content": "checking"},
         {"type": "function_call", "call_id": "t1", "name": "f", "arguments": '{"a":1}'},
         {"type": "function_call_output", "call_id": "t1", "output": "Error: bad"},
         {"type": "message", "role": "user", "content": [
             {"type": "input_image", "image_url": "data:image/png;base64,AA", "detail": "auto"}]}]},
     []),
    ("thinking that came from a Responses model goes back as its reasoning item; Claude's is dropped",
     {"model": "m", "max_tokens": 10, "messages": [
         {"role": "user", "content": "q"},
         {"role": "assistant", "content": [
             {"type": "thinking", "thinking": "t", "signature": reasoning_signature("rs_9", "ENC")},
             {"type": "thinking", "thinking": "claude", "signature": "claude-sig"},
             {"type": "text", "text": "a"}]}]},
     {"input": [
         {"type": "message", "role": "user", "content": [{"type": "input_text", "text": "q"}]},
         {"type": "reasoning", "id": "rs_9", "summary": [{"type": "summary_text", "text": "t"}],
          "encrypted_content": "ENC"},
         {"type": "message", "role": "assistant", "content": "a"}]},
     ["messages[].thinking"]),
    ("tools, forced tool, no parallel calls; server tools dropped; thinking is reasoning effort",
     {"model": "m", "max_tokens": 30000, "messages": [{"role": "user", "content": "x"}],
      "tools": [{"name": "f", "input_schema": {"type": "object"}}, {"type": "web_search_20250305", "name": "ws"}],
      "tool_choice": {"type": "tool", "name": "f", "disable_parallel_tool_use": True},
      "thinking": {"type": "enabled", "budget_tokens": 24576}},
     {"tools": [{"type": "function", "name": "f", "parameters": {"type": "object"}, "strict": False}],
      "tool_choice": {"type": "function", "name": "f"}, "parallel_tool_calls": False,
      "reasoning": {"effort": "high", "summary": "auto"}},
     ["tools[].type=web_search_20250305"]),
    ("structured output is text.format; stop sequences, top_k and metadata are dropped and named",
     {"model": "m", "max_tokens": 10, "messages": [{"role": "user", "content": "x"}], "stop_sequences": ["END"],
      "top_k": 5, "metadata": {"user_id": "u"},
      "output_config": {"format": {"type": "json_schema", "schema": {"type": "object"}}}},
     {"text": {"format": {"type": "json_schema", "name": "output", "schema": {"type": "object"}, "strict": True}}},
     ["stop_sequences", "top_k", "metadata"]),
]


@pytest.mark.parametrize("name,body,expected,dropped", FROM_ANTHROPIC_CASES, ids=[c[0] for c in FROM_ANTHROPIC_CASES])
def test_anthropic_request_to_responses(name, body, expected, dropped):
    shaped, names = from_anthropic(body)
    for key, value in expected.items():
        assert shaped[key] == value, key
    assert names == dropped


def test_chat_request_to_responses_for_a_model_that_does_not_reason():
    shaped, dropped = translate_request({"model": "m", "messages": [{"role": "user", "content": "x"}],
                                         "reasoning_effort": "high", "seed": 3},
                                        "openai", "responses", target_for("responses", "gpt-4.1"))
    assert "reasoning" not in shaped and "include" not in shaped
    assert dropped == ["seed", "thinking"]


# --- replies ---------------------------------------------------------------------------------

ANTHROPIC_REPLY = {
    "id": "msg_1", "type": "message", "role": "assistant", "model": "claude", "stop_reason": "tool_use",
    "content": [{"type": "thinking", "thinking": "hmm", "signature": "SIG"},
                {"type": "redacted_thinking", "data": "R"},
                {"type": "text", "text": "calling"},
                {"type": "tool_use", "id": "t1", "name": "get_weather", "input": {"location": "Paris"}},
                {"type": "tool_use", "id": "t2", "name": "apply_patch", "input": {"input": "*** patch"}},
                {"type": "server_tool_use", "id": "s1", "name": "web_search", "input": {}}],
    "usage": {"input_tokens": 10, "output_tokens": 5, "cache_read_input_tokens": 4},
}


def test_anthropic_reply_to_responses_object():
    request = {"model": "m", "instructions": "sys", "metadata": {"k": "v"}, "tools": [
        WEATHER, {"type": "custom", "name": "apply_patch"}]}
    reply = translate_response(ANTHROPIC_REPLY, "anthropic", "responses", "my-model", request)
    assert reply["object"] == "response" and reply["id"].startswith("resp_") and reply["model"] == "my-model"
    assert reply["status"] == "completed" and reply["instructions"] == "sys" and reply["metadata"] == {"k": "v"}
    kinds = [item["type"] for item in reply["output"]]
    assert kinds == ["reasoning", "reasoning", "message", "function_call", "custom_tool_call"]
    assert reply["output"][0]["summary"] == [{"type": "summary_text", "text": "hmm"}]
    assert reply["output"][0]["encrypted_content"] == "SIG"
    assert reply["output"][1]["encrypted_content"] == REDACTED_PREFIX + "R"
    assert reply["output"][2]["content"][0] == {"type": "output_text", "text": "calling", "annotations": [],
                                                "logprobs": []}
    assert json.loads(reply["output"][3]["arguments"]) == {"location": "Paris"}
    assert reply["output"][4]["input"] == "*** patch"
    assert reply["usage"]["input_tokens"] == 14 and reply["usage"]["input_tokens_details"]["cached_tokens"] == 4


@pytest.mark.parametrize("stop_reason,status,refusal", [
    ("max_tokens", "incomplete", False), ("end_turn", "completed", False), ("refusal", "completed", True)])
def test_stop_reasons_become_status(stop_reason, status, refusal):
    reply = translate_response({**ANTHROPIC_REPLY, "content": [{"type": "text", "text": "x"}],
                                "stop_reason": stop_reason}, "anthropic", "responses", "m", {})
    assert reply["status"] == status
    assert (reply["incomplete_details"] is not None) == (status == "incomplete")
    assert (reply["output"][0]["content"][0]["type"] == "refusal") == refusal


RESPONSES_REPLY = {
    "id": "resp_1", "object": "response", "model": "gpt-5-codex", "status": "completed",
    "output": [{"type": "reasoning", "id": "rs_1", "summary": [{"type": "summary_text", "text": "a"},
                                                                {"type": "summary_text", "text": "b"}],
                "encrypted_content": "ENC"},
               {"type": "message", "id": "msg_1", "role": "assistant",
                "content": [{"type": "output_text", "text": "hi", "annotations": []}]},
               {"type": "function_call", "id": "fc_1", "call_id": "c1", "name": "f", "arguments": '{"x":1}'},
               {"type": "web_search_call", "id": "ws_1", "status": "completed"}],
    "usage": {"input_tokens": 7, "output_tokens": 3, "input_tokens_details": {"cached_tokens": 2}},
}


def test_responses_reply_to_chat_completion():
    reply = translate_response(RESPONSES_REPLY, "responses", "openai", "gpt-5-codex")
    message = reply["choices"][0]["message"]
    assert message["content"] == "hi" and message["reasoning_content"] == "a\n\nb"
    assert message["tool_calls"][0]["function"] == {"name": "f", "arguments": '{"x":1}'}
    assert reply["choices"][0]["finish_reason"] == "tool_calls"
    assert reply["usage"]["prompt_tokens"] == 7 and reply["usage"]["prompt_tokens_details"]["cached_tokens"] == 2


def test_responses_reply_to_anthropic_keeps_the_reasoning_item_in_the_signature():
    reply = translate_response(RESPONSES_REPLY, "responses", "anthropic", "gpt-5-codex")
    thinking = reply["content"][0]
    assert thinking == {"type": "thinking", "thinking": "a\n\nb", "signature": reasoning_signature("rs_1", "ENC")}
    assert [block["type"] for block in reply["content"]] == ["thinking", "text", "tool_use"]
    assert reply["stop_reason"] == "tool_use"


@pytest.mark.parametrize("status,details,stop_reason", [
    ("incomplete", {"reason": "max_output_tokens"}, "max_tokens"),
    ("incomplete", {"reason": "content_filter"}, "refusal")])
def test_incomplete_responses_reply(status, details, stop_reason):
    reply = translate_response({**RESPONSES_REPLY, "status": status, "incomplete_details": details,
                                "output": []}, "responses", "anthropic", "m")
    assert reply["stop_reason"] == stop_reason


# --- streams ---------------------------------------------------------------------------------

def anthropic_events(*blocks, stop_reason="end_turn"):
    events = [{"type": "message_start", "message": {"id": "msg_1", "type": "message", "role": "assistant",
                                                    "content": [], "model": "c", "usage": {"input_tokens": 5,
                                                                                           "output_tokens": 0}}}]
    for index, (start, deltas) in enumerate(blocks):
        events.append({"type": "content_block_start", "index": index, "content_block": start})
        events += [{"type": "content_block_delta", "index": index, "delta": delta} for delta in deltas]
        events.append({"type": "content_block_stop", "index": index})
    events += [{"type": "message_delta", "delta": {"stop_reason": stop_reason}, "usage": {"output_tokens": 9}},
               {"type": "message_stop"}]
    return events


def run(translation, events):
    out = [event for item in events for event in translation.feed(item)]
    return out + translation.finish()


def test_anthropic_stream_to_responses_events():
    request = {"model": "m", "tools": [WEATHER, {"type": "custom", "name": "apply_patch"}], "metadata": {"a": "b"}}
    translation = stream_translation("anthropic", "responses", model="m", include_usage=False, request=request)
    out = run(translation, anthropic_events(
        ({"type": "thinking", "thinking": "", "signature": ""},
         [{"type": "thinking_delta", "thinking": "hm"}, {"type": "signature_delta", "signature": "SIG"}]),
        ({"type": "text", "text": ""}, [{"type": "text_delta", "text": "Hel"}, {"type": "text_delta", "text": "lo"}]),
        ({"type": "tool_use", "id": "t1", "name": "get_weather", "input": {}},
         [{"type": "input_json_delta", "partial_json": '{"location"'},
          {"type": "input_json_delta", "partial_json": ':"Paris"}'}]),
        ({"type": "tool_use", "id": "t2", "name": "apply_patch", "input": {}},
         [{"type": "input_json_delta", "partial_json": '{"input":"*** p"}'}]),
        stop_reason="tool_use"))
    kinds = [event["type"] for event in out]
    assert kinds == [
        "response.created", "response.in_progress",
        "response.output_item.added", "response.reasoning_summary_part.added",
        "response.reasoning_summary_text.delta", "response.reasoning_summary_text.done",
        "response.reasoning_summary_part.done", "response.output_item.done",
        "response.output_item.added", "response.content_part.added", "response.output_text.delta",
        "response.output_text.delta", "response.output_text.done", "response.content_part.done",
        "response.output_item.done",
        "response.output_item.added", "response.function_call_arguments.delta",
        "response.function_call_arguments.delta", "response.function_call_arguments.done", "response.output_item.done",
        "response.output_item.added", "response.custom_tool_call_input.delta", "response.custom_tool_call_input.done",
        "response.output_item.done",
        "response.completed"]
    assert [event["sequence_number"] for event in out] == list(range(len(out)))
    assert out[0]["response"]["metadata"] == {"a": "b"} and out[0]["response"]["status"] == "in_progress"
    final = out[-1]["response"]
    assert [item["type"] for item in final["output"]] == ["reasoning", "message", "function_call", "custom_tool_call"]
    assert final["output"][0]["encrypted_content"] == "SIG"
    assert final["output"][1]["content"][0]["text"] == "Hello"
    assert final["output"][2]["arguments"] == '{"location":"Paris"}'
    assert final["output"][3]["input"] == "*** p"
    assert [item["output_index"] for item in out if item["type"] == "response.output_item.done"] == [0, 1, 2, 3]
    added = [event["item"] for event in out if event["type"] == "response.output_item.added"]
    assert added[2]["arguments"] == "" and added[3]["input"] == ""  # the deltas follow, from empty
    assert final["usage"]["output_tokens"] == 9


def test_max_tokens_stream_ends_incomplete_and_errors_become_error_events():
    translation = stream_translation("anthropic", "responses", model="m", include_usage=False)
    out = run(translation, anthropic_events(({"type": "text", "text": ""}, [{"type": "text_delta", "text": "x"}]),
                                            stop_reason="max_tokens"))
    assert out[-1]["type"] == "response.incomplete"
    assert out[-1]["response"]["incomplete_details"] == {"reason": "max_output_tokens"}
    error = translation.feed({"type": "error", "error": {"type": "overloaded_error", "message": "busy"}})
    assert error == [{"type": "error", "sequence_number": len(out), "code": "overloaded_error", "message": "busy",
                      "param": None}]


def responses_events():
    return [
        {"type": "response.created", "response": {"id": "resp_1", "model": "gpt-5-codex"}},
        {"type": "response.in_progress", "response": {"id": "resp_1"}},
        {"type": "response.output_item.added", "output_index": 0, "item": {"type": "reasoning", "id": "rs_1"}},
        {"type": "response.reasoning_summary_part.added", "output_index": 0, "summary_index": 0},
        {"type": "response.reasoning_summary_text.delta", "output_index": 0, "summary_index": 0, "delta": "think"},
        {"type": "response.output_item.done", "output_index": 0,
         "item": {"type": "reasoning", "id": "rs_1", "summary": [{"type": "summary_text", "text": "think"}],
                  "encrypted_content": "ENC"}},
        {"type": "response.output_item.added", "output_index": 1, "item": {"type": "message", "id": "m"}},
        {"type": "response.content_part.added", "output_index": 1, "content_index": 0,
         "part": {"type": "output_text", "text": ""}},
        {"type": "response.output_text.delta", "output_index": 1, "content_index": 0, "delta": "Hi"},
        {"type": "response.content_part.done", "output_index": 1, "content_index": 0},
        {"type": "response.output_item.done", "output_index": 1, "item": {"type": "message"}},
        {"type": "response.output_item.added", "output_index": 2,
         "item": {"type": "function_call", "call_id": "c1", "name": "f"}},
        {"type": "response.function_call_arguments.delta", "output_index": 2, "delta": '{"a":'},
        {"type": "response.function_call_arguments.delta", "output_index": 2, "delta": "1}"},
        {"type": "response.output_item.done", "output_index": 2, "item": {"type": "function_call"}},
        {"type": "response.output_item.added", "output_index": 3,
         "item": {"type": "custom_tool_call", "call_id": "c2", "name": "apply_patch"}},
        {"type": "response.custom_tool_call_input.delta", "output_index": 3, "delta": "*** p"},
        {"type": "response.output_item.done", "output_index": 3, "item": {"type": "custom_tool_call"}},
        {"type": "response.completed", "response": {"status": "completed",
                                                    "usage": {"input_tokens": 4, "output_tokens": 6}}},
    ]


def test_responses_stream_to_anthropic_events():
    translation = stream_translation("responses", "anthropic", model="claude-code-name", include_usage=True)
    out = run(translation, responses_events())
    assert out[0]["type"] == "message_start" and out[0]["message"]["model"] == "claude-code-name"
    starts = [event["content_block"]["type"] for event in out if event["type"] == "content_block_start"]
    assert starts == ["thinking", "text", "tool_use", "tool_use"]
    deltas = [event["delta"] for event in out if event["type"] == "content_block_delta"]
    assert deltas == [{"type": "thinking_delta", "thinking": "think"},
                      {"type": "signature_delta", "signature": reasoning_signature("rs_1", "ENC")},
                      {"type": "text_delta", "text": "Hi"},
                      {"type": "input_json_delta", "partial_json": '{"a":'},
                      {"type": "input_json_delta", "partial_json": "1}"},
                      {"type": "input_json_delta", "partial_json": '{"input":"*** p"}'}]
    assert out[-2]["delta"]["stop_reason"] == "tool_use" and out[-1]["type"] == "message_stop"
    assert translation.usage.input_tokens == 4 and translation.usage.output_tokens == 6


def test_responses_stream_to_chat_chunks():
    translation = stream_translation("responses", "openai", model="gpt-5-codex", include_usage=True)
    out = run(translation, responses_events())
    text = "".join(choice["delta"].get("content") or "" for chunk in out for choice in chunk.get("choices", []))
    assert text == "Hi"
    reasoning = "".join(choice["delta"].get("reasoning_content") or "" for chunk in out
                        for choice in chunk.get("choices", []))
    assert reasoning == "think"
    finish = [choice["finish_reason"] for chunk in out for choice in chunk.get("choices", [])
              if choice["finish_reason"]]
    assert finish == ["tool_calls"] and out[-1]["usage"]["completion_tokens"] == 6


@pytest.mark.parametrize("event,message", [
    ({"type": "error", "message": "bad"}, "bad"),
    ({"type": "response.failed", "response": {"error": {"message": "failed it"}}}, "failed it")])
def test_responses_stream_failures_become_hub_errors(event, message):
    translation = stream_translation("responses", "anthropic", model="m", include_usage=False)
    assert translation.feed(event) == [{"type": "error", "error": {"type": "api_error", "message": message}}]
