"""What an inference request did, as OpenTelemetry GenAI semantic-convention attributes.

https://opentelemetry.io/docs/specs/semconv/gen-ai/ (client spans and metrics). Pure functions
over Cortex's own records (the request body, the `CallContext`, its usage record); no I/O.
Cortex's own facts go under `cortex.*`.
"""
from urllib.parse import urlsplit

import orjson

from app.tracing import Span

# gen_ai.operation.name per inference path; a POST elsewhere on an inference surface is a chat.
OPERATIONS = {
    "/v1/chat/completions": "chat",
    "/anthropic/v1/messages": "chat",
    "/v1/embeddings": "embeddings",
    "/v1/audio/transcriptions": "transcription",
    "/anthropic/v1/messages/count_tokens": "count_tokens",
    "/v1/responses/input_tokens": "count_tokens",
}
# Gemini puts the model in the path: the method after the colon names the operation.
GEMINI_METHODS = {"generateContent": "generate_content", "streamGenerateContent": "generate_content",
                  "countTokens": "count_tokens"}
DEFAULT_OPERATION = "chat"
# gen_ai.provider.name's well-known values, by Cortex provider type; other types go by their own name.
PROVIDER_NAMES = {
    "openai": "openai", "anthropic": "anthropic", "azure": "azure.ai.openai", "mistral": "mistral_ai",
    "groq": "groq", "deepseek": "deepseek", "google": "gcp.gemini", "gemini": "gcp.gemini",
}
# Request parameters, by the body field either format names them.
REQUEST_PARAMETERS = {
    "max_tokens": "gen_ai.request.max_tokens",
    "max_completion_tokens": "gen_ai.request.max_tokens",
    "max_output_tokens": "gen_ai.request.max_tokens",  # Responses
    "temperature": "gen_ai.request.temperature",
    "top_p": "gen_ai.request.top_p",
    "top_k": "gen_ai.request.top_k",
    "frequency_penalty": "gen_ai.request.frequency_penalty",
    "presence_penalty": "gen_ai.request.presence_penalty",
    "seed": "gen_ai.request.seed",
}
STOP_SEQUENCE_FIELDS = ("stop", "stop_sequences")
# The semantic conventions' bucket boundaries for the two client metrics.
TOKEN_BUCKETS = (1, 4, 16, 64, 256, 1024, 4096, 16384, 65536, 262144, 1048576, 4194304, 16777216, 67108864)
DURATION_BUCKETS = (0.01, 0.02, 0.04, 0.08, 0.16, 0.32, 0.64, 1.28, 2.56, 5.12, 10.24, 20.48, 40.96, 81.92)


def operation_of(path: str) -> str:
    operation = OPERATIONS.get(path)
    if operation is None:
        operation = GEMINI_METHODS.get(path.rpartition(":")[2], DEFAULT_OPERATION)
    return operation


def provider_name(provider_type: str) -> str:
    return PROVIDER_NAMES.get(provider_type, provider_type)


def provider_servers(providers) -> dict:
    """Per configured provider: its span attributes that never change (computed once, at start-up)."""
    servers = {}
    for provider in providers:
        url = urlsplit(provider.base_url)
        servers[provider.name] = {
            "gen_ai.provider.name": provider_name(provider.type),
            "server.address": url.hostname,
            "server.port": url.port or (443 if url.scheme == "https" else 80),
            "cortex.provider": provider.name,
        }
    return servers


def _text_parts(content) -> list:
    """Message content of either format as semantic-convention parts: text kept, other blocks named."""
    if isinstance(content, str):
        return [{"type": "text", "content": content}]
    parts = []
    for block in content or ():
        if isinstance(block, dict) and block.get("type") == "text":
            parts.append({"type": "text", "content": block.get("text", "")})
        elif isinstance(block, dict) and block.get("type") == "tool_use":
            parts.append({"type": "tool_call", "id": block.get("id"), "name": block.get("name"),
                          "arguments": block.get("input")})
        elif isinstance(block, dict):
            parts.append({"type": block.get("type", "unknown")})
    return parts


def _input_messages(body: dict) -> list:
    messages = []
    for message in body.get("messages") or ():
        if not isinstance(message, dict):
            continue
        parts = _text_parts(message.get("content"))
        for call in message.get("tool_calls") or ():  # OpenAI's assistant tool calls
            if not isinstance(call, dict):
                continue
            function = call.get("function") or {}
            parts.append({"type": "tool_call", "id": call.get("id"), "name": function.get("name"),
                          "arguments": function.get("arguments")})
        messages.append({"role": message.get("role"), "parts": parts})
    return messages


def _output_messages(reply: dict) -> list:
    """The client's reply (either format) as output messages with their finish reasons."""
    if "choices" in reply:
        return [{"role": "assistant", "parts": _input_messages({"messages": [choice.get("message") or {}]})[0]["parts"],
                 "finish_reason": choice.get("finish_reason")} for choice in reply.get("choices") or ()]
    return [{"role": reply.get("role", "assistant"), "parts": _text_parts(reply.get("content")),
             "finish_reason": reply.get("stop_reason")}]


def _finish_reasons(reply: dict) -> list:
    if "choices" in reply:
        return [c.get("finish_reason") for c in reply.get("choices") or () if c.get("finish_reason")]
    return [reply["stop_reason"]] if reply.get("stop_reason") else []


def record_request(span: Span, body: dict, capture: bool, virtual: bool) -> None:
    """What the client asked for: parameters, and the messages when `capture` allows."""
    attributes = span.attributes
    for name, attribute in REQUEST_PARAMETERS.items():
        value = body.get(name)
        if isinstance(value, (int, float)) and not isinstance(value, bool):
            attributes[attribute] = value
    for name in STOP_SEQUENCE_FIELDS:
        stop = body.get(name)
        if stop:
            attributes["gen_ai.request.stop_sequences"] = [stop] if isinstance(stop, str) else list(stop)
    if virtual:
        attributes["cortex.virtual_model"] = body.get("model")
    if capture:
        attributes["gen_ai.input.messages"] = orjson.dumps(_input_messages(body)).decode()
        system = body.get("system")
        if system:
            attributes["gen_ai.system_instructions"] = orjson.dumps(_text_parts(system)).decode()


def record_reply(span: Span, reply: dict, capture: bool) -> None:
    """What the client got back (its own format), for a reply that was not streamed."""
    if not isinstance(reply, dict):
        return
    reasons = _finish_reasons(reply)
    if reasons:
        span.attributes["gen_ai.response.finish_reasons"] = reasons
    if reply.get("id"):
        span.attributes["gen_ai.response.id"] = reply["id"]
    if capture:
        span.attributes["gen_ai.output.messages"] = orjson.dumps(_output_messages(reply)).decode()


def record_failover(span: Span, provider: str, model: str, error) -> None:
    span.add_event("cortex.failover", {"cortex.candidate": f"{provider}:{model}", "error.type": error.code,
                                       "http.response.status_code": error.status})


def finish(span: Span, ctx, fields: dict, servers: dict, wire_format: str | None, client_format: str) -> Span:
    """The span of a finished request, from its context and usage record (app.inference)."""
    operation = operation_of(ctx.endpoint)
    span.name = f"{operation} {ctx.requested_model}" if ctx.requested_model else operation
    attributes = span.attributes
    attributes["gen_ai.operation.name"] = operation
    attributes["gen_ai.request.model"] = ctx.requested_model
    route = ctx.route
    if route is not None:
        attributes.update(servers.get(route.provider.name, ()))
        attributes["gen_ai.response.model"] = route.model
        attributes["cortex.candidate"] = f"{route.provider.name}:{route.model}"
        if wire_format and wire_format != client_format:
            attributes["cortex.translation"] = f"{client_format}->{wire_format}"
    usage = ctx.usage
    if fields["input_tokens"] or fields["output_tokens"]:
        attributes["gen_ai.usage.input_tokens"] = usage.input_tokens
        attributes["gen_ai.usage.output_tokens"] = usage.output_tokens
        if usage.cache_read_tokens:
            attributes["gen_ai.usage.cache_read.input_tokens"] = usage.cache_read_tokens
        if usage.cache_creation_tokens:
            attributes["gen_ai.usage.cache_creation.input_tokens"] = usage.cache_creation_tokens
    attributes["cortex.request_id"] = ctx.request_id
    attributes["cortex.key.name"] = fields["api_key_name"]
    attributes["cortex.stream"] = ctx.stream
    attributes["cortex.cache.hit"] = ctx.cached
    attributes["http.response.status_code"] = fields["http_status"]
    if fields["cost_usd"] is not None:
        attributes["cortex.cost_usd"] = fields["cost_usd"]
    if ctx.dropped:
        attributes["cortex.dropped"] = list(dict.fromkeys(ctx.dropped))
    if ctx.first_byte_at is not None:
        ttft = ctx.first_byte_at - ctx.started
        span.add_event("gen_ai.first_token", {"gen_ai.response.time_to_first_token": ttft},
                       at_ns=span.start_ns + int(ttft * 1e9))
    if ctx.error is not None:
        span.set_error(ctx.error.code, ctx.error.message)
    elif fields["http_status"] >= 400:
        span.set_error(str(fields["http_status"]), "")
    return span
