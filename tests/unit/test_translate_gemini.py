"""The Gemini format's translators, table by table: requests both ways, replies, streams, signatures."""
import pytest

from app.translate import Target, stream_translation, translate_request, translate_response
from app.translate.gemini import parts, request, response

TARGET = Target("gemini-3-pro-preview")
USER = {"role": "user", "parts": [{"text": "hi"}]}
SIGNATURE = "c2lnbmVkK2J5L2dlbWluaQ=="  # standard base64 with + and /: survives the id encoding


def to_hub(body):
    dropped = []
    return request.request_to_hub({"model": "m", "contents": [USER], **body}, dropped), dropped


def from_hub(hub):
    dropped = []
    return request.request_from_hub({"model": "m", "messages": [{"role": "user", "content": "hi"}], **hub}, TARGET,
                                    dropped), dropped


# --- Gemini request -> hub -------------------------------------------------------------------------

GEMINI_TO_HUB = [
    ("system instruction", {"systemInstruction": {"parts": [{"text": "be brief"}]}},
     {"system": [{"type": "text", "text": "be brief"}]}, []),
    ("sampling and limits", {"generationConfig": {"temperature": 0.2, "topP": 0.9, "topK": 40, "maxOutputTokens": 99,
                                                  "stopSequences": ["END"], "candidateCount": 2, "seed": 7}},
     {"temperature": 0.2, "top_p": 0.9, "top_k": 40, "max_tokens": 99, "stop_sequences": ["END"], "n": 2, "seed": 7},
     []),
    ("json schema output", {"generationConfig": {"responseMimeType": "application/json",
                                                 "responseSchema": {"type": "OBJECT", "nullable": True,
                                                                    "properties": {"a": {"type": "STRING"}}}}},
     {"output_config": {"format": {"type": "json_schema", "schema": {
         "type": ["object", "null"], "properties": {"a": {"type": "string"}}}}}}, []),
    ("json object output", {"generationConfig": {"responseMimeType": "application/json"}},
     {"output_config": {"format": {"type": "json_object"}}}, []),
    ("thinking budget", {"generationConfig": {"thinkingConfig": {"thinkingBudget": 2048, "includeThoughts": True}}},
     {"thinking": {"type": "enabled", "budget_tokens": 2048}}, []),
    ("snake_case names", {"generation_config": {"thinking_config": {"thinking_budget": 2048}},
                          "tools": [{"function_declarations": [{"name": "f", "parameters_json_schema": {
                              "type": "object", "properties": {"a_b": {"type": "string"}}}}]}]},
     {"thinking": {"type": "enabled", "budget_tokens": 2048},
      "tools": [{"name": "f", "input_schema": {"type": "object", "properties": {"a_b": {"type": "string"}}}}]}, []),
    ("thinking off", {"generationConfig": {"thinkingConfig": {"thinkingBudget": 0}}},
     {"thinking": {"type": "disabled"}}, []),
    ("dynamic thinking", {"generationConfig": {"thinkingConfig": {"thinkingBudget": -1}}},
     {"thinking": {"type": "adaptive"}}, []),
    ("thinking level", {"generationConfig": {"thinkingConfig": {"thinkingLevel": "HIGH"}}},
     {"thinking": {"type": "enabled", "budget_tokens": 24576}}, []),
    ("tools and forced call", {
        "tools": [{"functionDeclarations": [
            {"name": "f", "description": "d", "parameters": {"type": "OBJECT", "properties": {"x": {"type": "INTEGER"}}}},
            {"name": "g", "parametersJsonSchema": {"type": "object", "additionalProperties": False}}]},
            {"googleSearch": {}}],
        "toolConfig": {"functionCallingConfig": {"mode": "ANY", "allowedFunctionNames": ["g"]}}},
     {"tools": [{"name": "f", "description": "d", "input_schema": {"type": "object", "properties": {"x": {"type": "integer"}}}},
                {"name": "g", "input_schema": {"type": "object", "additionalProperties": False}}],
      "tool_choice": {"type": "tool", "name": "g"}}, ["tools[].googleSearch"]),
    ("unread fields", {"safetySettings": [], "cachedContent": "cachedContents/x",
                       "generationConfig": {"responseModalities": ["TEXT"]}},
     {}, ["safetySettings", "cachedContent", "generationConfig.responseModalities"]),
]


@pytest.mark.parametrize(("body", "expected", "dropped"), [case[1:] for case in GEMINI_TO_HUB],
                         ids=[case[0] for case in GEMINI_TO_HUB])
def test_gemini_request_to_hub(body, expected, dropped):
    hub, named = to_hub(body)
    assert {key: value for key, value in hub.items() if key not in ("model", "messages")} == expected
    assert named == dropped


def test_contents_parts_and_pairing_by_name():
    contents = [
        {"role": "user", "parts": [{"text": "look"}, {"inlineData": {"mimeType": "image/png", "data": "AAA"}},
                                   {"fileData": {"mimeType": "application/pdf", "fileUri": "https://x/a.pdf"}},
                                   {"inlineData": {"mimeType": "audio/wav", "data": "BBB"}}]},
        {"role": "model", "parts": [{"text": "plan", "thought": True},
                                    {"functionCall": {"name": "f", "args": {"x": 1}}, "thoughtSignature": SIGNATURE},
                                    {"functionCall": {"name": "g", "args": {}}}]},
        {"role": "user", "parts": [{"functionResponse": {"name": "g", "response": {"error": "boom"}}},
                                   {"functionResponse": {"name": "f", "response": {"rows": [1]}}}]},
    ]
    hub = request.request_to_hub({"model": "m", "contents": contents}, [])
    user, model, results = hub["messages"]
    assert user["content"] == [
        {"type": "text", "text": "look"},
        {"type": "image", "source": {"type": "base64", "media_type": "image/png", "data": "AAA"}},
        {"type": "document", "source": {"type": "url", "url": "https://x/a.pdf"}},
        {"type": "text", "text": "[audio/wav omitted: not supported by the upstream API]"}]
    call_f, call_g = model["content"]  # Gemini's own thought is not carried to other providers
    assert (call_f["name"], call_f["input"], parts.THOUGHT_SEPARATOR in call_f["id"]) == ("f", {"x": 1}, False)
    assert results["content"] == [
        {"type": "tool_result", "tool_use_id": call_g["id"], "content": "boom", "is_error": True},
        {"type": "tool_result", "tool_use_id": call_f["id"], "content": '{"rows":[1]}'}]


# --- hub -> Gemini request -------------------------------------------------------------------------

HUB_TO_GEMINI = [
    ("system and in-place system", {"system": "a", "messages": [{"role": "user", "content": "hi"},
                                                                {"role": "system", "content": "b"}]},
     {"systemInstruction": {"parts": [{"text": "a"}, {"text": "b"}]}}, []),
    ("sampling", {"max_tokens": 50, "temperature": 0.5, "top_p": 0.8, "top_k": 3, "stop_sequences": ["x"],
                  "seed": 1, "presence_penalty": 0.1, "frequency_penalty": 0.2, "n": 1},
     {"generationConfig": {"maxOutputTokens": 50, "temperature": 0.5, "topP": 0.8, "topK": 3, "stopSequences": ["x"],
                           "seed": 1, "presencePenalty": 0.1, "frequencyPenalty": 0.2, "candidateCount": 1}}, []),
    ("structured output and thinking", {
        "output_config": {"format": {"type": "json_schema", "schema": {"type": "object"}}},
        "thinking": {"type": "enabled", "budget_tokens": 4096}},
     {"generationConfig": {"responseMimeType": "application/json", "responseJsonSchema": {"type": "object"},
                           "thinkingConfig": {"thinkingBudget": 4096, "includeThoughts": True}}}, []),
    ("tools", {"tools": [{"name": "f", "input_schema": {"type": "object"}, "cache_control": {"type": "ephemeral"}},
                         {"type": "web_search_20250305", "name": "web_search"}],
               "tool_choice": {"type": "tool", "name": "f", "disable_parallel_tool_use": True}},
     {"tools": [{"functionDeclarations": [{"name": "f", "parametersJsonSchema": {"type": "object"}}]}],
      "toolConfig": {"functionCallingConfig": {"mode": "ANY", "allowedFunctionNames": ["f"]}}},
     ["cache_control", "tools[].type=web_search_20250305", "tool_choice.disable_parallel_tool_use"]),
    ("effort alone", {"output_config": {"effort": "high"}},
     {"generationConfig": {"thinkingConfig": {"thinkingBudget": 24576, "includeThoughts": True}}}, []),
    ("unread fields", {"metadata": {"user_id": "u"}}, {}, ["metadata"]),
]


@pytest.mark.parametrize(("hub", "expected", "dropped"), [case[1:] for case in HUB_TO_GEMINI],
                         ids=[case[0] for case in HUB_TO_GEMINI])
def test_hub_request_to_gemini(hub, expected, dropped):
    body, named = from_hub(hub)
    assert {key: value for key, value in body.items() if key != "contents"} == expected
    assert named == dropped


def test_tool_turns_to_gemini_restore_signatures():
    signed_id = parts.id_with_signature(None, SIGNATURE)
    messages = [
        {"role": "user", "content": "weather?"},
        {"role": "assistant", "content": [{"type": "thinking", "thinking": "t", "signature": ""},
                                          {"type": "tool_use", "id": signed_id, "name": "w", "input": {"a": 1}}]},
        {"role": "user", "content": [{"type": "tool_result", "tool_use_id": signed_id,
                                      "content": [{"type": "text", "text": "sunny"},
                                                  {"type": "image", "source": {"type": "base64",
                                                                               "media_type": "image/png", "data": "Q"}}]}]},
        {"role": "assistant", "content": [{"type": "tool_use", "id": "call_1", "name": "w", "input": {}}]},
        {"role": "user", "content": [{"type": "tool_result", "tool_use_id": "call_1", "content": "rain",
                                      "is_error": True}]},
    ]
    dropped = []
    body = request.request_from_hub({"messages": messages}, TARGET, dropped)
    assert body["contents"][1:] == [
        {"role": "model", "parts": [{"functionCall": {"name": "w", "args": {"a": 1}}, "thoughtSignature": SIGNATURE}]},
        {"role": "user", "parts": [{"functionResponse": {"name": "w", "response": {"output": "sunny"}}},
                                   {"inlineData": {"mimeType": "image/png", "data": "Q"}}]},
        {"role": "model", "parts": [{"functionCall": {"name": "w", "args": {}, "id": "call_1"},
                                     "thoughtSignature": parts.SKIP_SIGNATURE}]},
        {"role": "user", "parts": [{"functionResponse": {"name": "w", "response": {"error": "rain"}, "id": "call_1"}}]},
    ]
    assert dropped == ["messages[].thinking"]


# --- signatures ------------------------------------------------------------------------------------

@pytest.mark.parametrize("call_id", [None, "call_abc", "toolu_01"])
def test_a_signature_round_trips_through_a_tool_id(call_id):
    tool_id = parts.id_with_signature(call_id, SIGNATURE)
    assert all(char.isalnum() or char in "_-" for char in tool_id)  # a valid id for OpenAI and Anthropic
    assert parts.split_id(tool_id) == (call_id, SIGNATURE)


@pytest.mark.parametrize("block", [{"type": "thinking", "thinking": "t", "signature": "Claude+sig/=="},
                                   {"type": "redacted_thinking", "data": "opaque"}])
def test_a_providers_thinking_round_trips_through_a_gemini_client(block):
    part = parts.thought_part(block)
    assert part["thought"] is True
    assert parts.thought_block(part) == block
    # A client that merged or split streamed thought parts changes the text, not the signature.
    assert parts.thought_block({**part, "text": "merged"}) == block


def test_geminis_own_thought_signature_is_not_a_hub_block():
    assert parts.thought_block({"text": "t", "thought": True, "thoughtSignature": SIGNATURE}) is None


# --- replies ---------------------------------------------------------------------------------------

FINISH_REASONS = [("STOP", False, "end_turn", "STOP"), ("STOP", True, "tool_use", "STOP"),
                  ("MAX_TOKENS", False, "max_tokens", "MAX_TOKENS"), ("SAFETY", False, "refusal", "SAFETY"),
                  ("MALFORMED_FUNCTION_CALL", False, "end_turn", "STOP")]


@pytest.mark.parametrize(("finish", "calls", "stop", "back"), FINISH_REASONS)
def test_finish_reasons(finish, calls, stop, back):
    assert parts.stop_reason(finish, has_tool_calls=calls) == stop
    assert parts.finish_reason(stop) == back


GEMINI_REPLY = {
    "candidates": [{"content": {"role": "model", "parts": [
        {"text": "thinking...", "thought": True}, {"text": "Hello "}, {"text": "world"},
        {"functionCall": {"name": "f", "args": {"q": 1}}, "thoughtSignature": SIGNATURE}]},
        "finishReason": "STOP", "safetyRatings": []}],
    "usageMetadata": {"promptTokenCount": 10, "cachedContentTokenCount": 4, "candidatesTokenCount": 5,
                      "thoughtsTokenCount": 3, "totalTokenCount": 18},
    "modelVersion": "gemini-3-pro-preview", "responseId": "abc",
}


def test_gemini_reply_to_openai():
    reply = translate_response(GEMINI_REPLY, "gemini", "openai", "m")
    message = reply["choices"][0]["message"]
    assert (message["content"], message["reasoning_content"]) == ("Hello world", "thinking...")
    call = message["tool_calls"][0]
    assert parts.split_id(call["id"])[1] == SIGNATURE
    assert reply["choices"][0]["finish_reason"] == "tool_calls"
    assert reply["usage"] == {"prompt_tokens": 10, "completion_tokens": 8, "total_tokens": 18,
                              "prompt_tokens_details": {"cached_tokens": 4}}


def test_anthropic_reply_to_gemini():
    message = {"id": "msg_1", "content": [{"type": "thinking", "thinking": "hm", "signature": "sig"},
                                          {"type": "text", "text": "hi"},
                                          {"type": "tool_use", "id": "toolu_1", "name": "f", "input": {"a": 1}}],
               "stop_reason": "tool_use", "usage": {"input_tokens": 3, "cache_read_input_tokens": 2, "output_tokens": 4}}
    reply = translate_response(message, "anthropic", "gemini", "claude-x")
    assert reply == {
        "candidates": [{"content": {"role": "model", "parts": [
            {"text": "hm", "thought": True, "thoughtSignature": parts.wrap(message["content"][0])},
            {"text": "hi"}, {"functionCall": {"name": "f", "args": {"a": 1}, "id": "toolu_1"}}]},
            "finishReason": "STOP", "index": 0}],
        "usageMetadata": {"promptTokenCount": 5, "candidatesTokenCount": 4, "totalTokenCount": 9,
                          "cachedContentTokenCount": 2},
        "modelVersion": "claude-x", "responseId": "1"}


def test_a_blocked_prompt_is_a_refusal():
    assert response.response_to_hub({"promptFeedback": {"blockReason": "SAFETY"}})["stop_reason"] == "refusal"


# --- streams ---------------------------------------------------------------------------------------

GEMINI_STREAM = [
    {"candidates": [{"content": {"role": "model", "parts": [{"text": "plan", "thought": True}]}}],
     "responseId": "r1", "modelVersion": "gemini-3"},
    {"candidates": [{"content": {"role": "model", "parts": [{"text": "Hi"}]}}]},
    {"candidates": [{"content": {"role": "model", "parts": [
        {"functionCall": {"name": "f", "args": {"x": 1}}, "thoughtSignature": SIGNATURE}]}, "finishReason": "STOP"}],
     "usageMetadata": {"promptTokenCount": 7, "candidatesTokenCount": 2, "thoughtsTokenCount": 1}},
]


def test_gemini_stream_to_anthropic():
    translation = stream_translation("gemini", "anthropic", model="m", include_usage=True)
    events = [event for chunk in GEMINI_STREAM for event in translation.feed(chunk)] + translation.finish()
    kinds = [(event["type"], (event.get("content_block") or event.get("delta") or {}).get("type")) for event in events]
    assert kinds == [("message_start", None), ("content_block_start", "thinking"), ("content_block_delta", "thinking_delta"),
                     ("content_block_stop", None), ("content_block_start", "text"), ("content_block_delta", "text_delta"),
                     ("content_block_stop", None), ("content_block_start", "tool_use"),
                     ("content_block_delta", "input_json_delta"), ("content_block_stop", None),
                     ("message_delta", None), ("message_stop", None)]
    assert parts.split_id(events[7]["content_block"]["id"])[1] == SIGNATURE
    assert events[-2]["delta"]["stop_reason"] == "tool_use"
    assert events[-2]["usage"]["output_tokens"] == 3 and translation.usage.input_tokens == 7


def test_anthropic_stream_to_gemini():
    signature = "Q2xhdWRl"
    events = [
        {"type": "message_start", "message": {"id": "msg_9", "usage": {"input_tokens": 5, "output_tokens": 0}}},
        {"type": "content_block_start", "index": 0, "content_block": {"type": "thinking", "thinking": ""}},
        {"type": "content_block_delta", "index": 0, "delta": {"type": "thinking_delta", "thinking": "hm"}},
        {"type": "content_block_delta", "index": 0, "delta": {"type": "signature_delta", "signature": signature}},
        {"type": "content_block_stop", "index": 0},
        {"type": "content_block_start", "index": 1, "content_block": {"type": "tool_use", "id": "toolu_1",
                                                                      "name": "f", "input": {}}},
        {"type": "content_block_delta", "index": 1, "delta": {"type": "input_json_delta", "partial_json": '{"a"'}},
        {"type": "content_block_delta", "index": 1, "delta": {"type": "input_json_delta", "partial_json": ': 1}'}},
        {"type": "content_block_stop", "index": 1},
        {"type": "message_delta", "delta": {"stop_reason": "tool_use"}, "usage": {"output_tokens": 9}},
        {"type": "message_stop"},
    ]
    translation = stream_translation("anthropic", "gemini", model="claude-x", include_usage=True)
    chunks = [chunk for event in events for chunk in translation.feed(event)] + translation.finish()
    chunk_parts = [chunk["candidates"][0]["content"]["parts"] for chunk in chunks]
    assert chunk_parts == [
        [{"text": "hm", "thought": True}],
        [{"text": "", "thought": True,
          "thoughtSignature": parts.wrap({"type": "thinking", "thinking": "hm", "signature": signature})}],
        [{"functionCall": {"name": "f", "args": {"a": 1}, "id": "toolu_1"}}],
        []]
    assert chunks[-1]["candidates"][0]["finishReason"] == "STOP"
    assert chunks[-1]["usageMetadata"] == {"promptTokenCount": 5, "candidatesTokenCount": 9, "totalTokenCount": 14}


def test_a_mid_stream_error_is_googles_chunk():
    translation = stream_translation("anthropic", "gemini", model="m", include_usage=True)
    error = {"type": "error", "error": {"type": "overloaded_error", "message": "busy"}}
    assert translation.feed(error) == [{"error": {"code": 529, "message": "busy", "status": "UNAVAILABLE"}}]


def test_openai_request_to_gemini_end_to_end():
    body = {"model": "gpt", "messages": [{"role": "system", "content": "s"}, {"role": "user", "content": "q"}],
            "response_format": {"type": "json_object"}, "reasoning_effort": "low", "max_tokens": 10}
    shaped, dropped = translate_request(body, "openai", "gemini", TARGET)
    assert shaped == {"contents": [{"role": "user", "parts": [{"text": "q"}]}],
                      "systemInstruction": {"parts": [{"text": "s"}]},
                      "generationConfig": {"maxOutputTokens": 10, "responseMimeType": "application/json",
                                           "thinkingConfig": {"thinkingBudget": 1024, "includeThoughts": True}}}
    assert dropped == []
