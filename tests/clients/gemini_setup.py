"""The google-genai SDK pointed at a Cortex, and the Gemini-type provider of the test config."""

from google import genai
from google.genai import types as genai_types

from tests.cortex_server import ADMIN_KEY

GEMINI_MODEL = "gemini-3-pro-preview"
GEMINI_EMBEDDING_MODEL = "gemini-embedding-001"


def gemini_client(cortex, key: str = ADMIN_KEY) -> genai.Client:
    return genai.Client(api_key=key, http_options=genai_types.HttpOptions(base_url=cortex.url + "/gemini",
                                                                          timeout=30_000))


def gemini_provider(mock_url: str) -> dict:
    return {"name": "mockgemini", "type": "gemini", "base_url": f"{mock_url}/v1beta",
            "api_keys": ["gemini-mock-secret-4"], "timeout_secs": 60, "connect_timeout_secs": 2,
            # Gemini CLI 0.61 asks for gemini-3-pro-preview by its successor's name.
            "models": [{"id": GEMINI_MODEL, "aliases": ["gemini-3.1-pro-preview"], "input_cost_per_mtok": 2,
                        "output_cost_per_mtok": 12},
                       {"id": GEMINI_EMBEDDING_MODEL, "kind": "embedding"}]}
