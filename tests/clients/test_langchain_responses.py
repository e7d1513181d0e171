"""LangChain's ChatOpenAI on the Responses API (what `use_responses_api=True`, `reasoning=` or
built-in tools switch it to), through Cortex to an OpenAI-type provider serving the API natively
and to an Anthropic-type provider: a tool call, then the answer to its result."""
import pytest
from langchain_core.messages import HumanMessage, ToolMessage
from langchain_core.tools import tool
from langchain_openai import ChatOpenAI

from tests.clients.conftest import OPENAI_MODEL
from tests.cortex_server import ADMIN_KEY

CLAUDE = "claude-3-5-sonnet-20241022"


@tool
def get_weather(location: str) -> str:
    """The weather in a city."""
    return f"sunny in {location}"


@pytest.mark.parametrize("model", [OPENAI_MODEL, CLAUDE])
@pytest.mark.parametrize("streaming", [False, True])
def test_langchain_tool_loop_on_the_responses_api(cortex, mock, model, streaming):
    chat = ChatOpenAI(model=model, base_url=cortex.url + "/v1", api_key=ADMIN_KEY, use_responses_api=True,
                      streaming=streaming, max_retries=0).bind_tools([get_weather])
    question = HumanMessage("weather in Paris?")
    first = chat.invoke([question])
    call = first.tool_calls[0]
    assert call["name"] == "get_weather" and call["args"] == {"location": "Paris"}
    answer = chat.invoke([question, first, ToolMessage(get_weather.invoke(call["args"]), tool_call_id=call["id"])])
    assert answer.text == "echo: sunny in Paris"
    assert mock.requests_to({OPENAI_MODEL: "/v1/responses", CLAUDE: "/v1/messages"}[model])
