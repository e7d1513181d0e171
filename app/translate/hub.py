"""The translation hub: every client format reaches every provider format through one form.

Choice of the hub form: the Anthropic Messages API (current version), request, reply and
stream events alike, with a few extension fields. Of the formats Cortex speaks it is the
one whose content model carries the most without loss: typed content blocks, signed
thinking and redacted thinking, ``cache_control`` on any block, tool calls and results as
blocks with ids, system prompts both up front and in place, the largest set of stop
reasons, cache reads and writes counted apart, and a stream made of explicit block
start/delta/stop events that the other formats' streams map onto one to one. Using an
existing format rather than a new canonical model also means the busiest translated path
(OpenAI client, Anthropic provider) goes through one translation, not two.

Extensions (``HUB_EXTENSIONS``): sampling fields that other formats share but Anthropic
lacks (``seed``, ``presence_penalty``, ``frequency_penalty``, ``n``, ``logprobs``,
``top_logprobs``) travel under their OpenAI names; ``output_config.format`` may also be
``{"type": "json_object"}`` and carry the schema's ``name``; ``max_tokens`` may be absent.
The Anthropic side removes them on the way out, naming what it dropped.

A format is one ``Format`` entry: a module per direction for requests, replies and
streams. A request from format A to format B goes ``A.request_to_hub`` then
``B.request_from_hub``; the reply and stream come back the other way. Same-format requests
never come here: they are passed through byte for byte, the model name aside.

Whatever a direction cannot carry is appended, by name, to the ``dropped`` list it is
given; the caller reports it (``x-cortex-dropped``, the log line). No I/O, no Flask.
"""
from dataclasses import dataclass
from typing import Callable

HUB_EXTENSIONS = ("seed", "presence_penalty", "frequency_penalty", "n", "logprobs", "top_logprobs")


@dataclass(frozen=True)
class Format:
    name: str
    request_to_hub: Callable        # (body, dropped) -> hub request
    request_from_hub: Callable      # (hub request, Target, dropped) -> body
    response_to_hub: Callable       # (reply) -> hub message
    response_from_hub: Callable     # (hub message, client model) -> reply
    usage_of: Callable              # (reply) -> Usage
    stream_to_hub: type             # () -> .feed(event) -> [hub events], .finish(), .usage
    stream_from_hub: type           # (model=, include_usage=) -> .feed(hub event) -> [events], .finish()
    # response_from_hub and stream_from_hub also take request= (the client's body): the
    # format's replies repeat the request's settings (the Responses API does).
    echoes_request: bool = False

    @classmethod
    def of(cls, name: str, request, response, stream, echoes_request: bool = False) -> "Format":
        """A format's entry from its three modules, which name their functions alike."""
        return cls(name, request.request_to_hub, request.request_from_hub, response.response_to_hub,
                   response.response_from_hub, response.usage_of, stream.StreamToHub, stream.StreamFromHub,
                   echoes_request)

    def request_context(self, request: dict | None) -> dict:
        """The keyword arguments that give this format's replies the client's request."""
        return {"request": request} if self.echoes_request else {}


class StreamTranslation:
    """One upstream event in, the client's events out, through the hub; usage as the upstream counted it."""

    def __init__(self, upstream: Format, client: Format, *, model: str, include_usage: bool,
                 request: dict | None = None):
        self._to_hub = upstream.stream_to_hub()
        self._from_hub = client.stream_from_hub(model=model, include_usage=include_usage,
                                                **client.request_context(request))

    @property
    def client_stream(self):
        """The client-side translator (its state, e.g. the Responses sequence number)."""
        return self._from_hub

    @property
    def usage(self):
        return self._to_hub.usage

    def feed(self, event: dict) -> list[dict]:
        feed = self._from_hub.feed
        return [out for hub_event in self._to_hub.feed(event) for out in feed(hub_event)]

    def finish(self) -> list[dict]:
        feed = self._from_hub.feed
        return [out for hub_event in self._to_hub.finish() for out in feed(hub_event)] + self._from_hub.finish()
