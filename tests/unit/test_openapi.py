"""The OpenAPI document: valid 3.1, one operation per route and method, schemas where views load them."""
import pytest
from openapi_spec_validator import validate

from app import create_app
from app.config import parse_config
from app.openapi import JSON_BODIES, MULTIPART_BODIES, QUERIES, RULE_ARGUMENT, SUMMARIES
from tests.cortex_server import base_config


@pytest.fixture(scope="module")
def app(tmp_path_factory):
    workdir = tmp_path_factory.mktemp("openapi")
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("CORTEX_SHM_DIR", str(workdir))
        config = parse_config(base_config("http://127.0.0.1:9", workdir / "cortex.db"), workdir / "cortex.yaml",
                              environ={})
        yield create_app(config=config)


@pytest.fixture(scope="module")
def document(app):
    response = app.test_client().get("/openapi.json")
    assert response.status_code == 200 and response.mimetype == "application/json"
    return response.get_json()


def test_the_document_is_valid_openapi_3_1(document):
    assert document["openapi"] == "3.1.0"
    validate(document)


def test_every_route_and_method_is_an_operation(app, document):
    documented = {(method.upper(), path) for path, operations in document["paths"].items() for method in operations}
    routes = {(method, RULE_ARGUMENT.sub(r"{\1}", rule.rule))  # <path:model_id> is {model_id}
              for rule in app.url_map.iter_rules()
              if rule.endpoint != "static" and not rule.endpoint.startswith("dashboard.")  # Flask's own; pages
              for method in rule.methods - {"HEAD", "OPTIONS"}}
    assert documented == routes


def test_the_schema_tables_name_real_endpoints(app):
    for table in (JSON_BODIES, MULTIPART_BODIES, QUERIES, SUMMARIES):
        assert set(table) <= set(app.view_functions), set(table) - set(app.view_functions)


def test_bodies_queries_and_security(document):
    chat = document["paths"]["/v1/chat/completions"]["post"]
    body = chat["requestBody"]["content"]["application/json"]["schema"]
    assert set(body["required"]) == {"model", "messages"}
    assert body["properties"]["n"] == {"type": ["integer", "null"], "minimum": 1, "maximum": 128}
    assert chat["x-cortex-permission"] == "inference" and {"bearerAuth": []} in chat["security"]
    upload = document["paths"]["/v1/audio/transcriptions"]["post"]["requestBody"]["content"]["multipart/form-data"]
    assert upload["schema"]["properties"]["file"] == {"type": "string", "format": "binary"}
    usage = {p["name"]: p for p in document["paths"]["/usage"]["get"]["parameters"]}
    assert usage["start_time"]["schema"] == {"type": "string", "format": "date-time"}
    assert usage["limit"]["schema"]["maximum"] == 1000
    for public in ("/health", "/ready", "/openapi.json", "/oauth/{provider}/callback"):
        assert document["paths"][public]["get"]["security"] == []
    anthropic_error = document["paths"]["/anthropic/v1/messages"]["post"]["responses"]["4XX"]
    assert anthropic_error["content"]["application/json"]["schema"] == {"$ref": "#/components/schemas/AnthropicError"}
    assert set(document["components"]["securitySchemes"]) == {"bearerAuth", "apiKeyHeader"}
