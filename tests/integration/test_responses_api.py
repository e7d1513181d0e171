"""The Responses API (`/v1/responses`) with the official openai SDK, through real gunicorn, against
three upstreams: an OpenAI-type provider serving the API (pass-through), a chat-only
OpenAI-compatible provider and an Anthropic provider (both translated through the hub). And the
other direction: Chat Completions and Anthropic clients reaching a model with `api: responses`.
"""
import json

import openai
import pytest
import requests
from pydantic import BaseModel

from tests.cortex_server import ADMIN_KEY, INFERENCE_KEY, base_config
from tests.mocks import Fail
from tests.mocks.anthropic_wire import REDACTED_THINKING_TRIGGER

NATIVE, CHAT_ONLY, ANTHROPIC = "gpt-4o", "chat-only-model", "claude-3-5-sonnet-20241022"
RESPONSES_ONLY = "gpt-5-codex"  # a model entry with `api: responses`
CURRENT_CLAUDE = "claude-sonnet-4-5"  # thinks when asked
FALLBACK = "resp-fallback"  # a virtual model: the native provider, then the Anthropic one
UPSTREAM_PATHS = {NATIVE: "/v1/responses", CHAT_ONLY: "/v1/chat/completions", ANTHROPIC: "/v1/messages"}
MODELS = pytest.mark.parametrize("model", [NATIVE, CHAT_ONLY, ANTHROPIC])
TRANSLATED = pytest.mark.parametrize("model", [CHAT_ONLY, ANTHROPIC])
WEATHER = {"type": "function", "name": "get_weather", "description": "Weather in a city",
           "parameters": {"type": "object", "properties": {"location": {"type": "string"}}, "required": ["location"]}}


def responses_config(mock_url, db_path):
    config = base_config(mock_url, db_path)
    native = config["providers"][0]
    native["models"].append({"id": RESPONSES_ONLY, "api": "responses"})
    config["providers"].append({"name": "chatonly", "type": "custom", "base_url": f"{mock_url}/v1",
                                "api_keys": ["sk-mock-chat-only-4"], "models": [{"id": CHAT_ONLY}]})
    config["providers"][1]["models"].append({"id": CURRENT_CLAUDE})
    config["virtual_models"] = [{"name": FALLBACK, "strategy": "fallback", "candidates": [
        {"provider": "mockai", "model": NATIVE}, {"provider": "mockanthropic", "model": ANTHROPIC}]}]
    return config


@pytest.fixture(scope="module")
def cortex(start_cortex):
    return start_cortex(responses_config)


def upstream_requests(mock, model):
    return mock.requests_to(UPSTREAM_PATHS[model])


@MODELS
def test_create_text(cortex, mock, model):
    response = cortex.openai().responses.create(model=model, input="hello there", instructions="Be terse.",
                                                metadata={"run": "1"})
    assert response.output_text == "echo: hello there"
    assert response.model == model and response.status == "completed"
    assert response.usage.input_tokens > 0 and response.usage.output_tokens > 0
    assert response.metadata == {"run": "1"} and response.instructions == "Be terse."
    assert upstream_requests(mock, model), "the request reached the upstream of its kind"


@MODELS
def test_stream_events_in_order(cortex, model):
    with cortex.openai().responses.stream(model=model, input="one two three") as stream:
        events = list(stream)
        final = stream.get_final_response()
    kinds = [event.type for event in events]
    assert kinds[:2] == ["response.created", "response.in_progress"] and kinds[-1] == "response.completed"
    for expected in ("response.output_item.added", "response.content_part.added", "response.output_text.delta",
                     "response.output_text.done", "response.content_part.done", "response.output_item.done"):
        assert expected in kinds
    numbers = [event.sequence_number for event in events]
    assert numbers == sorted(numbers) and len(set(numbers)) == len(numbers)
    assert final.output_text == "echo: one two three"
    assert final.usage.output_tokens > 0


@MODELS
def test_tool_call_and_result_with_input_items(cortex, mock, model):
    client = cortex.openai()
    first = client.responses.create(model=model, input="weather in Paris?", tools=[WEATHER], store=False)
    call = next(item for item in first.output if item.type == "function_call")
    assert call.name == "get_weather" and json.loads(call.arguments) == {"location": "Paris"}
    replay = [{"role": "user", "content": "weather in Paris?"}] + [item.model_dump(exclude_none=True)
                                                                   for item in first.output]
    second = client.responses.create(model=model, tools=[WEATHER], store=False, input=replay + [
        {"type": "function_call_output", "call_id": call.call_id, "output": "sunny"}])
    assert second.output_text == "echo: sunny"


@MODELS
def test_streamed_tool_call(cortex, model):
    with cortex.openai().responses.stream(model=model, input="weather?", tools=[WEATHER],
                                          tool_choice={"type": "function", "name": "get_weather"}) as stream:
        kinds = [event.type for event in stream]
        final = stream.get_final_response()
    call = final.output[-1]
    assert call.type == "function_call" and json.loads(call.arguments) == {"location": "Paris"}
    assert "response.function_call_arguments.delta" in kinds and "response.function_call_arguments.done" in kinds


@MODELS
def test_previous_response_id_continues_the_conversation(cortex, mock, model):
    client = cortex.openai()
    first = client.responses.create(model=model, input="weather in Paris?", tools=[WEATHER])
    call = next(item for item in first.output if item.type == "function_call")
    second = client.responses.create(model=model, tools=[WEATHER], previous_response_id=first.id,
                                     input=[{"type": "function_call_output", "call_id": call.call_id,
                                             "output": "rainy"}])
    assert second.output_text == "echo: rainy"
    if model != NATIVE:  # translated: Cortex rebuilt the conversation from its store
        sent = json.dumps(upstream_requests(mock, model)[-1].json)
        assert "weather in Paris?" in sent and call.call_id in sent


class Weather(BaseModel):
    city: str
    celsius: int


@MODELS
def test_structured_output_with_text_format(cortex, mock, model):
    parsed = cortex.openai().responses.parse(model=model, input="weather in Paris as JSON", text_format=Weather)
    assert isinstance(parsed.output_parsed, Weather)


@MODELS
def test_stored_response_retrieve_items_delete_and_ownership(cortex, model):
    client = cortex.openai()
    created = client.responses.create(model=model, input=[{"role": "user", "content": "keep this"}])
    assert client.responses.retrieve(created.id).output_text == "echo: keep this"
    items = client.responses.input_items.list(created.id)
    assert [item.type for item in items.data] == ["message"] and items.data[0].id
    other = cortex.openai(key=INFERENCE_KEY)
    with pytest.raises(openai.NotFoundError):
        other.responses.retrieve(created.id)
    with pytest.raises(openai.NotFoundError):
        other.responses.create(model=model, input="next", previous_response_id=created.id)
    client.responses.delete(created.id)
    with pytest.raises(openai.NotFoundError):
        client.responses.retrieve(created.id)


@MODELS
def test_store_false_keeps_nothing(cortex, model):
    client = cortex.openai()
    created = client.responses.create(model=model, input="forget this", store=False)
    with pytest.raises(openai.NotFoundError):
        client.responses.retrieve(created.id)


@MODELS
def test_streamed_response_is_stored_before_it_completes(cortex, model):
    client = cortex.openai()
    with client.responses.stream(model=model, input="first words") as stream:
        final = stream.get_final_response()
    follow = client.responses.create(model=model, input="second words", previous_response_id=final.id)
    assert follow.output_text == "echo: second words"
    assert client.responses.retrieve(final.id).output_text == "echo: first words"


@pytest.mark.parametrize("streamed", [False, True])
@pytest.mark.parametrize("redacted", [False, True])
def test_claude_thinking_round_trips_as_reasoning_items(cortex, mock, streamed, redacted):
    """Stateless, as Codex works: Claude's signed (or redacted) thinking comes back as a reasoning
    item, and replaying it gives Claude its block back intact (the mock refuses altered ones)."""
    client = cortex.openai()
    question = REDACTED_THINKING_TRIGGER if redacted else "weather in Paris?"
    request = {"model": CURRENT_CLAUDE, "tools": [WEATHER], "store": False, "reasoning": {"effort": "low"},
               "include": ["reasoning.encrypted_content"], "max_output_tokens": 4096}
    if streamed:
        with client.responses.stream(input=question, **request) as stream:
            first = stream.get_final_response()
    else:
        first = client.responses.create(input=question, **request)
    assert [item.type for item in first.output] == ["reasoning", "function_call"]
    assert first.output[0].encrypted_content
    call = first.output[1]
    second = client.responses.create(**request, input=[
        {"role": "user", "content": question}, *[item.model_dump(exclude_none=True) for item in first.output],
        {"type": "function_call_output", "call_id": call.call_id, "output": "cloudy"}])
    assert second.output[-1].content[0].text == "echo: cloudy"
    replayed = mock.requests_to("/v1/messages")[-1].json["messages"][1]["content"]
    assert replayed[0]["type"] == ("redacted_thinking" if redacted else "thinking")


def test_a_natively_kept_response_is_continued_at_its_provider_only(cortex):
    client = cortex.openai()
    created = client.responses.create(model=NATIVE, input="remember me")
    assert client.responses.create(model=NATIVE, input="and?", previous_response_id=created.id).output_text \
        == "echo: and?"
    with pytest.raises(openai.BadRequestError) as raised:
        client.responses.create(model=ANTHROPIC, input="and?", previous_response_id=created.id)
    assert raised.value.body["code"] == "previous_response_elsewhere"


def test_unknown_previous_response_is_404_when_translated(cortex):
    with pytest.raises(openai.NotFoundError) as raised:
        cortex.openai().responses.create(model=ANTHROPIC, input="x", previous_response_id="resp_unknown")
    assert raised.value.body["param"] == "previous_response_id"


def test_builtin_tools_are_dropped_and_named(cortex, mock):
    raw = cortex.openai().responses.with_raw_response.create(
        model=CHAT_ONLY, input="search it", tools=[{"type": "web_search"}, WEATHER], truncation="auto")
    assert "tools[].type=web_search" in raw.headers["x-cortex-dropped"]
    assert "truncation" in raw.headers["x-cortex-dropped"]
    sent = mock.requests_to("/v1/chat/completions")[-1].json
    assert [tool["function"]["name"] for tool in sent["tools"]] == ["get_weather"]


def test_native_passthrough_keeps_fields_and_ids(cortex, mock):
    response = cortex.openai().responses.create(model=NATIVE, input="hi", truncation="auto",
                                                tools=[{"type": "web_search"}], tool_choice="none")
    sent = mock.requests_to("/v1/responses")[-1].json
    assert sent["truncation"] == "auto" and sent["tools"] == [{"type": "web_search"}]
    assert response.id.startswith("resp_mock")


def test_custom_tool_call_round_trip(cortex, mock):
    patch_tool = {"type": "custom", "name": "apply_patch", "description": "Apply a patch"}
    client = cortex.openai()
    for model in (CHAT_ONLY, ANTHROPIC, NATIVE):
        first = client.responses.create(model=model, input="patch it", tools=[patch_tool], store=False)
        call = first.output[-1]
        assert call.type == "custom_tool_call" and call.name == "apply_patch", model
        second = client.responses.create(model=model, tools=[patch_tool], store=False, input=[
            {"role": "user", "content": "patch it"}, call.model_dump(exclude_none=True),
            {"type": "custom_tool_call_output", "call_id": call.call_id, "output": "applied"}])
        assert second.output_text == "echo: applied", model


def test_bad_body_is_openai_envelope(cortex):
    reply = requests.post(cortex.url + "/v1/responses", headers={"Authorization": f"Bearer {ADMIN_KEY}"},
                          json={"input": "no model"})
    assert reply.status_code == 400
    assert reply.json()["error"]["type"] == "invalid_request_error" and reply.json()["error"]["param"] == "model"
    reply = requests.post(cortex.url + "/v1/responses", headers={"Authorization": f"Bearer {ADMIN_KEY}"},
                          json={"model": CHAT_ONLY, "input": 5})
    assert reply.status_code == 400 and reply.json()["error"]["param"] == "input"


def test_input_tokens_and_compact(cortex, mock):
    headers = {"Authorization": f"Bearer {ADMIN_KEY}"}
    counted = requests.post(cortex.url + "/v1/responses/input_tokens", headers=headers,
                            json={"model": ANTHROPIC, "input": "count these words please"}).json()
    assert counted["object"] == "response.input_tokens" and counted["input_tokens"] > 0
    compacted = requests.post(cortex.url + "/v1/responses/compact", headers=headers, json={
        "model": CHAT_ONLY, "instructions": "You compact.",
        "input": [{"role": "user", "content": "a long task"},
                  {"type": "message", "role": "assistant", "content": [{"type": "output_text", "text": "done"}]}]})
    assert compacted.status_code == 200, compacted.text
    output = compacted.json()["output"]
    assert output[0]["role"] == "user" and output[-1]["role"] == "assistant"


def test_failover_from_a_native_provider_to_a_translated_one(cortex, mock):
    mock.script("/v1/responses", Fail(503, "overloaded"))
    raw = cortex.openai().responses.with_raw_response.create(model=FALLBACK, input="still there?")
    assert raw.parse().output_text == "echo: still there?"
    assert raw.headers["x-cortex-provider"] == "mockanthropic"
    created = cortex.openai().responses.create(model=FALLBACK, input="and now?")
    assert created.output_text == "echo: and now?"  # the native provider again, passed through
    assert created.id.startswith("resp_mock")


def test_usage_record_for_responses(cortex):
    raw = cortex.openai().responses.with_raw_response.create(model=ANTHROPIC, input="count me")
    row = cortex.usage_row(raw.headers["x-request-id"])
    assert row["endpoint"] == "/v1/responses" and row["provider"] == "mockanthropic"
    assert row["input_tokens"] > 0 and row["status"] == "success"


# --- the other direction: a model served only by the Responses API ---------------------------

def test_chat_client_reaches_responses_only_model(cortex, mock):
    client = cortex.openai()
    reply = client.chat.completions.create(model=RESPONSES_ONLY, messages=[
        {"role": "system", "content": "Be terse."}, {"role": "user", "content": "hello"}])
    assert reply.choices[0].message.content == "echo: hello"
    sent = mock.requests_to("/v1/responses")[-1].json
    assert sent["instructions"] == "Be terse." and sent["store"] is False
    stream = client.chat.completions.create(model=RESPONSES_ONLY, stream=True, tools=[
        {"type": "function", "function": {"name": WEATHER["name"], "parameters": WEATHER["parameters"]}}],
        messages=[{"role": "user", "content": "weather?"}])
    calls = [call for chunk in stream for choice in chunk.choices for call in choice.delta.tool_calls or []]
    assert calls[0].function.name == "get_weather"
    assert json.loads("".join(call.function.arguments or "" for call in calls)) == {"location": "Paris"}


def test_anthropic_client_reaches_responses_only_model_with_reasoning(cortex, mock):
    client = cortex.anthropic()
    tool = {"name": "get_weather", "input_schema": WEATHER["parameters"]}
    first = client.messages.create(model=RESPONSES_ONLY, max_tokens=2048, tools=[tool],
                                   thinking={"type": "enabled", "budget_tokens": 1024},
                                   messages=[{"role": "user", "content": "weather?"}])
    kinds = [block.type for block in first.content]
    assert kinds == ["thinking", "tool_use"] and first.stop_reason == "tool_use"
    use = first.content[-1]
    with client.messages.stream(model=RESPONSES_ONLY, max_tokens=2048, tools=[tool], messages=[
            {"role": "user", "content": "weather?"},
            {"role": "assistant", "content": [block.model_dump(exclude_none=True) for block in first.content]},
            {"role": "user", "content": [{"type": "tool_result", "tool_use_id": use.id, "content": "foggy"}]}],
            thinking={"type": "enabled", "budget_tokens": 1024}) as stream:
        final = stream.get_final_message()
    assert final.content[-1].text == "echo: foggy"
    sent = mock.requests_to("/v1/responses")[-1].json
    assert sent["input"][1]["type"] == "reasoning"  # the reasoning item went back, encrypted content intact
