"""Loopback mock of the OpenAI, Azure OpenAI and Anthropic HTTP APIs for Cortex's tests.

with MockUpstream() as mock:
    mock.script("/v1/chat/completions", Fail(429, headers={"Retry-After": "1"}))
    mock.serve("/v1/messages", Agent("Read", {"file_path": "/tmp/x"}))  # every request, until reset
    ...  # point the gateway at mock.openai_url (OpenAI) or mock.url (Anthropic)
"""

from .agent import Agent
from .behaviours import Behaviour, Fail, Malformed, Reply, ResetConnection, ResetMidStream, Stall, Stream
from .server import MockUpstream, RecordedRequest, UploadedFile

__all__ = [
    "Agent",
    "Behaviour",
    "Fail",
    "Malformed",
    "MockUpstream",
    "RecordedRequest",
    "Reply",
    "ResetConnection",
    "ResetMidStream",
    "Stall",
    "Stream",
    "UploadedFile",
]
