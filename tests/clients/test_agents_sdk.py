"""The OpenAI Agents SDK in its default mode (the Responses API) through Cortex, to an OpenAI-type
provider serving the API natively and to an Anthropic-type provider (translated).

The agent has one function tool; the mock calls it, and answers the tool's result with
"echo: <result>", so the final output proves the whole loop went through: the call, the SDK
running the tool, the function_call_output going back.
"""
import asyncio

import pytest

from tests.clients.conftest import OPENAI_MODEL
from tests.cortex_server import ADMIN_KEY

CLAUDE = "claude-3-5-sonnet-20241022"
MODELS = pytest.mark.parametrize("model", [OPENAI_MODEL, CLAUDE])


@pytest.fixture
def sdk(cortex):
    """The SDK, with a fresh client: each test runs its own event loop, and a client's connections
    belong to the loop that opened them."""
    try:
        import agents  # noqa: PLC0415
    except ImportError:
        from tests.clients.conftest import _missing_client  # noqa: PLC0415
        _missing_client("The OpenAI Agents SDK", "pip install --no-deps -r tests/clients/requirements-no-deps.txt")
    from openai import AsyncOpenAI  # noqa: PLC0415
    agents.set_tracing_disabled(True)  # no export to api.openai.com
    agents.set_default_openai_api("responses")
    agents.set_default_openai_client(AsyncOpenAI(base_url=cortex.url + "/v1", api_key=ADMIN_KEY, max_retries=0),
                                     use_for_tracing=False)
    return agents


def weather_agent(sdk, model):
    @sdk.function_tool
    def get_weather(location: str) -> str:
        """The weather in a city."""
        return f"sunny in {location}"

    return sdk.Agent(name="forecaster", instructions="Answer with the weather.", model=model, tools=[get_weather])


@MODELS
def test_runner_run_calls_the_tool(sdk, mock, model):
    result = asyncio.run(sdk.Runner.run(weather_agent(sdk, model), "weather in Paris?"))
    assert result.final_output == "echo: sunny in Paris"
    assert any(item.type == "tool_call_output_item" for item in result.new_items)


@MODELS
def test_runner_run_streamed_calls_the_tool(sdk, mock, model):
    async def run():
        streamed = sdk.Runner.run_streamed(weather_agent(sdk, model), "weather in Paris?")
        kinds = [event.type async for event in streamed.stream_events()]
        return streamed, kinds

    streamed, kinds = asyncio.run(run())
    assert streamed.final_output == "echo: sunny in Paris"
    assert "raw_response_event" in kinds and "run_item_stream_event" in kinds
