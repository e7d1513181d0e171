"""The OpenAI Chat Completions format, to and from the hub."""
from ..hub import Format
from . import request, response, stream

FORMAT = Format.of("openai", request, response, stream)
