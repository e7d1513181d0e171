"""The OpenAI Chat Completions format, to and from the hub."""
from ..hub import Format
from . import request, response, stream

FORMAT = Format(
    name="openai",
    request_to_hub=request.request_to_hub,
    request_from_hub=request.request_from_hub,
    response_to_hub=response.response_to_hub,
    response_from_hub=response.response_from_hub,
    usage_of=response.usage_of,
    stream_to_hub=stream.StreamToHub,
    stream_from_hub=stream.StreamFromHub,
)
