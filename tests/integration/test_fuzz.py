"""Bad input and abuse, against a real Cortex (2 gevent workers) in front of a healthy mock.

Schemathesis generates requests for every operation of the `/openapi.json` Cortex serves —
valid ones and deliberately invalid ones — and each answer must be a non-5xx reply whose
errors use the envelope of their surface. Hand-written cases cover what a schema cannot
express: oversized bodies and headers, slow uploads, bytes that are not UTF-8, nesting
deeper than the JSON parser allows and huge counts passed through to the provider.
"""
import schemathesis
from schemathesis.config import HealthCheck
from schemathesis import GenerationMode
from schemathesis.checks import not_a_server_error, response_schema_conformance
import pytest

from tests.cortex_server import ADMIN_KEY

EXAMPLES_PER_OPERATION = 15
ADMIN = {"Authorization": f"Bearer {ADMIN_KEY}"}


@pytest.fixture(scope="module")
def fuzzed(start_cortex):
    return start_cortex()


@pytest.fixture(scope="module")
def api_schema(fuzzed):
    schema = schemathesis.openapi.from_url(fuzzed.url + "/openapi.json")
    schema.config.update(base_url=fuzzed.url, headers=ADMIN, suppress_health_check=list(HealthCheck))
    schema.config.generation.update(modes=list(GenerationMode), max_examples=EXAMPLES_PER_OPERATION,
                                    deterministic=True)
    return schema


schema = schemathesis.pytest.from_fixture("api_schema")


@schema.parametrize()
def test_every_operation_answers_in_its_envelope(case):
    response = case.call(timeout=30)
    case.validate_response(response, checks=[not_a_server_error, response_schema_conformance])
