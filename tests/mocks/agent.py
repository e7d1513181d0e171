"""A scripted tool-using model, for real clients' agent loops (Claude Code and the like).

Answer every request to a path with it (``mock.serve(path, Agent(...))``): it checks the request
as the real API does, then calls its tool when the client offers it, and once the tool's result
comes back answers with text that quotes it. Requests without that tool (a client's side calls,
such as titling a session) get the mock's ordinary answer.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from . import anthropic_wire, gemini_wire, openai_wire, responses_wire
from .behaviours import Behaviour
from .conversation import Turn, text_turn, tool_turn
from .defaults import answer, invalid_request

if TYPE_CHECKING:
    from .server import Exchange


# Last path segment -> the wire module that reads the request.
WIRES = {"completions": openai_wire, "responses": responses_wire}


@dataclass
class Agent(Behaviour):
    """Call ``tool`` with ``arguments``; then answer ``reply``, in which ``{result}`` is the text
    of the tool's result."""

    tool: str
    arguments: dict
    reply: str = "The tool returned: {result}"

    def respond(self, exchange: Exchange) -> None:
        request = exchange.request
        problem = invalid_request(request)
        (problem or answer(request, exchange.mock, self.turn_for(request.path, request.json))).respond(exchange)

    def turn_for(self, path: str, body: dict) -> Turn | None:
        """The scripted turn, or None (the mock's ordinary answer) when the tool is not offered."""
        wire = gemini_wire if path.startswith("/v1beta/") else WIRES.get(path.rsplit("/", 1)[-1], anthropic_wire)
        prompt_tokens = wire.prompt_tokens(body)
        if wire.answers_tool_result(body):
            return text_turn(self.reply.format(result=wire.last_tool_result_text(body)), prompt_tokens)
        if self.tool in wire.tool_names(body):
            return tool_turn(self.tool, self.arguments, prompt_tokens)
        return None
