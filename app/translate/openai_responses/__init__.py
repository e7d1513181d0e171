"""The OpenAI Responses format, to and from the hub.

Its replies and streams repeat the request's settings, and a ``custom`` tool's calls come
back as ``custom_tool_call`` items: ``response_from_hub`` and ``StreamFromHub`` take the
client's request (``Format.echoes_request``).
"""
from ..hub import Format
from . import request, response, stream

FORMAT = Format.of("responses", request, response, stream, echoes_request=True)
