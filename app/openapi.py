"""The OpenAPI 3.1 document of this Cortex, served at `/openapi.json`.

Paths come from the app's URL map, so every registered route is listed; request bodies and
query strings are the marshmallow schemas the views load (converted by apispec); security
follows the permission each blueprint needs. Errors are described by the envelope of the
route's surface (OpenAI on `/v1/*` and elsewhere, Anthropic on `/anthropic/*`, Google's on
`/gemini/*`).
"""
import inspect
import re

from apispec import APISpec
from apispec.ext.marshmallow import MarshmallowPlugin

from schemas.anthropic import COUNT_TOKENS_REQUEST, MESSAGES_REQUEST
from schemas.keys import KEY_CREATE_REQUEST, KEY_UPDATE_REQUEST
from schemas.gemini import COUNT_TOKENS_REQUEST as GEMINI_COUNT_TOKENS_REQUEST
from schemas.gemini import GENERATE_CONTENT_REQUEST, STREAM_QUERY
from schemas.oauth import AUTHORIZE_QUERY, CALLBACK_QUERY
from schemas.openai import CHAT_COMPLETION_REQUEST, EMBEDDING_REQUEST, TRANSCRIPTION_REQUEST
from schemas.responses import INPUT_ITEMS_QUERY, RESPONSE_CREATE_REQUEST
from schemas.runtime import RUNTIME_SECTIONS
from schemas.usage import USAGE_LIST_QUERY, USAGE_SUMMARY_QUERY, RFC3339Timestamp

OPENAPI_VERSION = "3.1.0"
DOCUMENTED_METHODS = ("GET", "POST", "PUT", "PATCH", "DELETE")
KEY_SECURITY = [{"bearerAuth": []}, {"apiKeyHeader": []}]
UNDOCUMENTED_BLUEPRINTS = ("dashboard",)  # HTML pages and their assets, not an API
RULE_ARGUMENT = re.compile(r"<(?:[^:<>]+:)?([^<>]+)>")

# endpoint -> (JSON body schema, query schema); endpoints not named here take neither.
JSON_BODIES = {
    "openai.chat_completions": CHAT_COMPLETION_REQUEST,
    "openai.embeddings": EMBEDDING_REQUEST,
    "anthropic.messages": MESSAGES_REQUEST,
    "anthropic.count_tokens": COUNT_TOKENS_REQUEST,
    "responses.create": RESPONSE_CREATE_REQUEST,
    "responses.input_tokens": RESPONSE_CREATE_REQUEST,
    "responses.compact": RESPONSE_CREATE_REQUEST,
    "keys.create": KEY_CREATE_REQUEST,
    "keys.update": KEY_UPDATE_REQUEST,
    "gemini.generate_content": GENERATE_CONTENT_REQUEST,
    "gemini.stream_generate_content": GENERATE_CONTENT_REQUEST,
    "gemini.count_tokens": GEMINI_COUNT_TOKENS_REQUEST,
}
QUERIES = {
    "usage.list_records": USAGE_LIST_QUERY,
    "usage.summary": USAGE_SUMMARY_QUERY,
    "oauth.authorize": AUTHORIZE_QUERY,
    "oauth_callback.callback": CALLBACK_QUERY,
    "responses.input_items": INPUT_ITEMS_QUERY,
    "gemini.stream_generate_content": STREAM_QUERY,
}
MULTIPART_BODIES = {"openai.audio_transcriptions": TRANSCRIPTION_REQUEST}
PATH_PARAMETER_VALUES = {("config", "section"): sorted(RUNTIME_SECTIONS)}
RUNTIME_BODY_ENDPOINT = "config.update"  # its body schema depends on the {section} in the path
SUMMARIES = {
    "openai.chat_completions": "Create a chat completion (OpenAI format), streamed or not",
    "openai.embeddings": "Create embeddings",
    "openai.audio_transcriptions": "Transcribe audio (multipart upload)",
    "openai.list_models": "List the models this key may use (OpenAI format)",
    "anthropic.messages": "Create a message (Anthropic format), streamed or not",
    "anthropic.count_tokens": "Count the input tokens of a message",
    "anthropic.list_models": "List the models this key may use (Anthropic format)",
    "responses.create": "Create a response (OpenAI Responses API), streamed or not",
    "responses.retrieve": "Get a stored response",
    "responses.delete": "Delete a stored response",
    "responses.input_items": "List a stored response's input items",
    "responses.input_tokens": "Count the input tokens of a response request",
    "responses.compact": "Compact a conversation into fewer items (Codex)",
    "openai.retrieve_model": "Show one model this key may use (OpenAI format)",
    "anthropic.retrieve_model": "Show one model this key may use (Anthropic format)",
    "gemini.generate_content": "Generate content (Gemini format)",
    "gemini.stream_generate_content": "Generate content as a stream (Gemini format; alt=sse for server-sent events)",
    "gemini.count_tokens": "Count the tokens of a request (Gemini format)",
    "gemini.list_models": "List the models this key may use (Gemini format)",
    "gemini.get_model": "Show one model (Gemini format)",
    "admin.inflight": "List the inference requests in flight on this instance",
    "admin.providers_health": "Circuit state of each provider, as the answering worker sees it",
    "keys.create": "Create a client key (its plaintext is in this answer only)",
    "keys.list_keys": "List client keys: cortex.yaml's (read-only) and those created here",
    "keys.show": "Show a client key, with its budget's spend and next reset",
    "keys.update": "Update a client key created here (partial)",
    "keys.revoke": "Revoke a client key created here",
    "config.show": "Show a runtime configuration section",
    "config.update": "Update a runtime configuration section (partial)",
    "providers.models": "List a provider's models, with their routing prefix",
    "providers.auth": "Show how a provider authenticates",
    "usage.list_records": "List usage records, newest first",
    "usage.summary": "Summarise usage records",
    "oauth.authorize": "Start a browser login to a provider",
    "oauth_callback.callback": "The provider's redirect back after a login",
    "oauth.status": "Show a provider's login",
    "oauth.refresh": "Refresh a provider's token now",
    "oauth.delete_token": "Delete a provider's token",
    "oauth.start_device_login": "Start a device-code login",
    "oauth.poll_device_login": "Poll a device-code login",
    "health.health": "Liveness",
    "health.ready": "Readiness: the store is reachable",
    "metrics.scrape": "Prometheus metrics (admin key, or no key from loopback)",
}
REDIRECTS = {"oauth.authorize", "oauth_callback.callback"}
STREAMING = {"openai.chat_completions", "anthropic.messages", "openai.audio_transcriptions",
             "gemini.stream_generate_content", "responses.create"}

ERROR_SCHEMAS = (("/anthropic/", "AnthropicError"), ("/gemini/", "GeminiError"))  # else OpenAIError
OPENAI_ERROR = {
    "type": "object", "required": ["error"],
    "properties": {"error": {
        "type": "object", "required": ["message", "type", "param", "code"],
        "properties": {"message": {"type": "string"}, "type": {"type": "string"}, "code": {"type": "string"},
                       "param": {"type": ["string", "null"]}}}},
}
GEMINI_ERROR = {
    "type": "object", "required": ["error"],
    "properties": {"error": {
        "type": "object", "required": ["code", "message", "status"],
        "properties": {"code": {"type": "integer"}, "message": {"type": "string"}, "status": {"type": "string"}}}},
}
ANTHROPIC_ERROR = {
    "type": "object", "required": ["type", "error"],
    "properties": {"type": {"const": "error"}, "error": {
        "type": "object", "required": ["type", "message"],
        "properties": {"type": {"type": "string"}, "message": {"type": "string"}}}},
}


def _new_spec() -> tuple[APISpec, MarshmallowPlugin]:
    plugin = MarshmallowPlugin()
    spec = APISpec(
        title="Cortex", version="1", openapi_version=OPENAPI_VERSION, plugins=[plugin],
        info={"description": "LLM API gateway: the OpenAI API on /v1, the Anthropic API on /anthropic/v1, "
                             "and its own admin, usage and OAuth endpoints. Every key is accepted as "
                             "`Authorization: Bearer <key>` or `x-api-key: <key>`."},
        security=KEY_SECURITY,
    )
    plugin.map_to_openapi_type(RFC3339Timestamp, "string", "date-time")
    spec.components.security_scheme("bearerAuth", {"type": "http", "scheme": "bearer"})
    spec.components.security_scheme("apiKeyHeader", {"type": "apiKey", "in": "header", "name": "x-api-key"})
    spec.components.schema("OpenAIError", component=OPENAI_ERROR)
    spec.components.schema("AnthropicError", component=ANTHROPIC_ERROR)
    spec.components.schema("GeminiError", component=GEMINI_ERROR)
    for section, schema in RUNTIME_SECTIONS.items():
        spec.components.schema(f"RuntimeConfig-{section}", schema=schema)
    return spec, plugin


def _ref(name: str) -> dict:
    return {"$ref": f"#/components/schemas/{name}"}


def _security(blueprint: str, permission: str | None) -> list:
    if blueprint == "metrics":
        return [{}, *KEY_SECURITY]  # an admin key, or none from loopback
    return KEY_SECURITY if permission else []


def _responses(endpoint: str, path: str) -> dict:
    error = _ref(next((name for prefix, name in ERROR_SCHEMAS if path.startswith(prefix)), "OpenAIError"))
    success = {"description": "Success"}
    if endpoint in STREAMING:
        success["description"] = "The reply; a stream of server-sent events when the request asks for one"
    responses = {"302": {"description": "Redirect"}} if endpoint in REDIRECTS else {"200": success}
    envelope = {"content": {"application/json": {"schema": error}}}
    responses["4XX"] = {"description": "The request cannot be served as sent", **envelope}
    responses["5XX"] = {"description": "Cortex or the provider failed", **envelope}
    return responses


def _request_body(plugin: MarshmallowPlugin, endpoint: str) -> dict | None:
    if endpoint in JSON_BODIES:
        schema = plugin.converter.schema2jsonschema(JSON_BODIES[endpoint])
        return {"required": True, "content": {"application/json": {"schema": schema}}}
    if endpoint in MULTIPART_BODIES:
        schema = plugin.converter.schema2jsonschema(MULTIPART_BODIES[endpoint])
        schema["properties"]["file"] = {"type": "string", "format": "binary"}
        schema["required"] = sorted({*schema.get("required", ()), "file"})
        return {"required": True, "content": {"multipart/form-data": {"schema": schema}}}
    if endpoint == RUNTIME_BODY_ENDPOINT:
        body = {"anyOf": [_ref(f"RuntimeConfig-{section}") for section in RUNTIME_SECTIONS]}
        return {"required": True, "content": {"application/json": {"schema": body}}}
    return None


def _path_parameters(blueprint: str, rule: str) -> list[dict]:
    parameters = []
    for name in RULE_ARGUMENT.findall(rule):
        schema = {"type": "string"}
        if (blueprint, name) in PATH_PARAMETER_VALUES:
            schema["enum"] = PATH_PARAMETER_VALUES[(blueprint, name)]
        parameters.append({"in": "path", "name": name, "required": True, "schema": schema})
    return parameters


def _summary(endpoint: str, view) -> str:
    doc = inspect.getdoc(view)
    return SUMMARIES.get(endpoint) or (doc.splitlines()[0] if doc else endpoint)


def build_document(app) -> dict:
    """The OpenAPI document of every route `app` serves."""
    spec, plugin = _new_spec()
    permissions = app.extensions["cortex"].permissions
    paths = {}
    operation_ids = set()
    for rule in app.url_map.iter_rules():
        blueprint = rule.endpoint.rpartition(".")[0]
        if not blueprint or blueprint in UNDOCUMENTED_BLUEPRINTS:
            continue  # Flask's own routes (static files), pages for people
        path = RULE_ARGUMENT.sub(r"{\1}", rule.rule)
        for method in sorted(rule.methods & set(DOCUMENTED_METHODS)):
            operation_id = f"{rule.endpoint}.{method.lower()}"
            if operation_id in operation_ids:  # a view served at several paths (/gemini/v1beta and /gemini/v1)
                operation_id = f"{operation_id}.{path.strip('/').split('/')[1]}"
            operation_ids.add(operation_id)
            operation = {
                "operationId": operation_id, "tags": [blueprint],
                "summary": _summary(rule.endpoint, app.view_functions[rule.endpoint]),
                "security": _security(blueprint, permissions.get(blueprint)),
                "parameters": _path_parameters(blueprint, rule.rule),
                "responses": _responses(rule.endpoint, path),
            }
            if permissions.get(blueprint):
                operation["x-cortex-permission"] = permissions[blueprint]
            if rule.endpoint in QUERIES:
                operation["parameters"] += plugin.converter.schema2parameters(QUERIES[rule.endpoint], location="query")
            body = _request_body(plugin, rule.endpoint)
            if body:
                operation["requestBody"] = body
            paths.setdefault(path, {})[method.lower()] = operation
    for path in sorted(paths):
        spec.path(path=path, operations=paths[path])
    return spec.to_dict()
