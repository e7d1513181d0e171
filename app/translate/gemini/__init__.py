"""The Gemini generateContent format (Google AI Studio's native API)."""
from ..hub import Format
from . import request, response, stream

FORMAT = Format.of("gemini", request, response, stream)
