"""The Responses mock accepts what api.openai.com's Responses API accepts and answers 400 to what
it rejects; its stream is what the official SDK assembles. Bodies are sent raw (requests) so that
shapes the SDK would refuse to build reach the mock too."""
from __future__ import annotations

import openai
import pytest
import requests

HEADERS = {"Authorization": "Bearer sk-test"}


def post(mock, body: dict) -> requests.Response:
    return requests.post(mock.url + "/v1/responses", json=body, headers=HEADERS, timeout=5)


REJECTED = [
    ("no model", {"input": "hi"}, "model"),
    ("an item of an unknown type", {"model": "gpt-4o", "input": [{"type": "bogus"}]}, "input"),
    ("a message of an unknown role", {"model": "gpt-4o", "input": [{"role": "robot", "content": "x"}]}, "input"),
    ("a function call without its arguments",
     {"model": "gpt-4o", "input": [{"type": "function_call", "call_id": "c", "name": "f"}]}, "input"),
    ("a tool output without its call",
     {"model": "gpt-4o", "input": [{"type": "function_call_output", "call_id": "c9", "output": "x"}]}, "input[0]"),
    ("reasoning the API did not issue",
     {"model": "gpt-5", "input": [{"type": "reasoning", "id": "rs_1", "summary": [],
                                   "encrypted_content": "forged"}]}, "input[0].encrypted_content"),
    ("a previous response the API does not hold",
     {"model": "gpt-4o", "input": "x", "previous_response_id": "resp_elsewhere"}, "previous_response_id"),
    ("a chat-style tool", {"model": "gpt-4o", "input": "x", "tools": [
        {"type": "function", "function": {"name": "f", "parameters": {}}}]}, "tools"),
]


@pytest.mark.parametrize("name,body,param", REJECTED, ids=[case[0] for case in REJECTED])
def test_rejected(mock, name, body, param):
    reply = post(mock, body)
    assert reply.status_code == 400, reply.text
    assert reply.json()["error"]["param"].startswith(param)


def test_accepted_with_every_item_kind(mock):
    body = {"model": "gpt-4o", "instructions": "sys", "input": [
        {"role": "developer", "content": "be brief"},
        {"role": "user", "content": [{"type": "input_text", "text": "hi"},
                                     {"type": "input_image", "image_url": "https://x/y.png", "detail": "auto"}]},
        {"type": "message", "role": "assistant", "content": [{"type": "output_text", "text": "ok",
                                                              "annotations": []}]},
        {"type": "function_call", "call_id": "c1", "name": "f", "arguments": "{}"},
        {"type": "function_call_output", "call_id": "c1", "output": "done"},
        {"type": "custom_tool_call", "call_id": "c2", "name": "apply_patch", "input": "x"},
        {"type": "custom_tool_call_output", "call_id": "c2", "output": "applied"}],
        "tools": [{"type": "function", "name": "f", "parameters": {"type": "object"}, "strict": False},
                  {"type": "custom", "name": "apply_patch"}, {"type": "web_search"}],
        "text": {"format": {"type": "json_schema", "name": "x", "schema": {"type": "object"}}}}
    reply = post(mock, body)
    assert reply.status_code == 200, reply.text
    assert reply.json()["output"][-1]["type"] == "message"


def test_reasoning_it_issued_goes_back(mock):
    client = openai.OpenAI(base_url=mock.url + "/v1", api_key="sk-test", max_retries=0)
    first = client.responses.create(model="gpt-5", input="q", include=["reasoning.encrypted_content"], store=False)
    assert first.output[0].type == "reasoning" and first.output[0].encrypted_content
    second = client.responses.create(model="gpt-5", store=False, input=[
        {"role": "user", "content": "q"}, *[item.model_dump(exclude_none=True) for item in first.output],
        {"role": "user", "content": "more"}])
    assert second.output_text == "echo: more"


def test_stream_is_what_the_sdk_assembles(mock):
    client = openai.OpenAI(base_url=mock.url + "/v1", api_key="sk-test", max_retries=0)
    with client.responses.stream(model="gpt-4o", input="one two") as stream:
        numbers = [event.sequence_number for event in stream]
        final = stream.get_final_response()
    assert numbers == list(range(len(numbers))) and final.output_text == "echo: one two"
