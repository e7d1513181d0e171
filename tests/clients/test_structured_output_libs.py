"""Structured output from the Python libraries people use for it, across translation.

Each library asks for a Pydantic model; the mock, asked for JSON of a schema (OpenAI's
`response_format` json_schema, Anthropic's `output_config.format`, or a forced tool standing in
for either), answers a small valid instance of that schema, and otherwise answers prose. So a
library gets its object back only if Cortex carried the request for structure across formats,
and carried the JSON back where the library looks for it.
"""

import instructor
import openai
import pytest
from langchain_anthropic import ChatAnthropic
from langchain_openai import ChatOpenAI
from pydantic import BaseModel, Field

from tests.clients.conftest import CLAUDE_MODEL, OPENAI_MODEL
from tests.cortex_server import ADMIN_KEY

# An Anthropic model without native structured outputs: Cortex has to fall back to a forced tool.
OLD_CLAUDE_MODEL = "claude-3-5-sonnet-20241022"
QUESTION = "What is the weather in Paris? Answer as JSON."


class Forecast(BaseModel):
    """Tomorrow's weather for a city."""

    city: str = Field(description="The city's name")
    temperature_c: float
    rain: bool
    hours_of_sun: int = Field(ge=0, le=24)
    warnings: list[str]


def assert_mock_answer(forecast: object) -> None:
    """The object was parsed from the mock's JSON (which fills strings with "mock"); numbers are
    left out, as libraries rewrite their bounds into descriptions for strict schemas."""
    assert isinstance(forecast, Forecast), forecast
    parsed = forecast.model_dump(include={"city", "rain", "warnings"})
    assert parsed == {"city": "mock", "rain": True, "warnings": ["mock"]}


@pytest.mark.parametrize("model", [CLAUDE_MODEL, OLD_CLAUDE_MODEL])
def test_langchain_openai_structured_output_from_anthropic_provider(cortex, mock, model):
    chat = ChatOpenAI(model=model, base_url=cortex.url + "/v1", api_key=ADMIN_KEY, max_retries=0, timeout=30)

    forecast = chat.with_structured_output(Forecast).invoke(QUESTION)  # response_format json_schema

    assert_mock_answer(forecast)
    assert mock.calls("/v1/messages") == 1


@pytest.mark.parametrize("method", ["json_schema", "function_calling"])
def test_langchain_anthropic_structured_output_from_openai_provider(cortex, mock, method):
    chat = ChatAnthropic(model=OPENAI_MODEL, base_url=cortex.url + "/anthropic", api_key=ADMIN_KEY,
                         max_retries=0, timeout=30)

    forecast = chat.with_structured_output(Forecast, method=method).invoke(QUESTION)

    assert_mock_answer(forecast)
    assert mock.calls("/v1/chat/completions") == 1


@pytest.mark.parametrize("model", [CLAUDE_MODEL, OLD_CLAUDE_MODEL])
def test_instructor_json_schema_mode_from_anthropic_provider(cortex, mock, model):
    client = instructor.from_openai(
        openai.OpenAI(base_url=cortex.url + "/v1", api_key=ADMIN_KEY, max_retries=0, timeout=30),
        mode=instructor.Mode.JSON_SCHEMA,
    )

    forecast = client.chat.completions.create(
        model=model, response_model=Forecast, max_retries=0, messages=[{"role": "user", "content": QUESTION}]
    )

    assert_mock_answer(forecast)
    assert mock.calls("/v1/messages") == 1
