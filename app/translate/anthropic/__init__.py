"""The Anthropic Messages format: the hub's own form, so each direction is nearly the identity."""
from ..hub import Format
from . import request, response, stream

FORMAT = Format.of("anthropic", request, response, stream)
