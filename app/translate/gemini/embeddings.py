"""OpenAI embeddings requests <-> Gemini ``batchEmbedContents`` (one request per input).

``input`` (a string or strings) becomes one ``EmbedContentRequest`` each, ``dimensions``
their ``outputDimensionality``. The reply's ``embeddings[].values`` become OpenAI's
``data[]``, as floats or, with ``encoding_format: base64``, as little-endian float32
bytes in base64 (what OpenAI sends). Not translatable: token-array inputs (Gemini takes
text only: 400) and ``user``. Gemini reports no token count for embeddings: usage is 0.
"""
import base64
import struct


def texts_of(body: dict) -> list[str] | None:
    """The inputs as texts; None when they are token arrays, which Gemini cannot take."""
    raw = body.get("input")
    items = [raw] if isinstance(raw, str) else list(raw or [])
    return items if all(isinstance(item, str) for item in items) else None


def embeddings_request(texts: list[str], body: dict, model: str) -> dict:
    request = {"model": f"models/{model}"}
    if body.get("dimensions"):
        request["outputDimensionality"] = body["dimensions"]
    return {"requests": [{**request, "content": {"parts": [{"text": text}]}} for text in texts]}


def _encoded(values: list[float], encoding_format: str | None):
    if encoding_format != "base64":
        return values
    return base64.b64encode(struct.pack(f"<{len(values)}f", *values)).decode()


def embeddings_reply(reply: dict, body: dict, model: str) -> dict:
    data = [{"object": "embedding", "index": index,
             "embedding": _encoded(item.get("values") or [], body.get("encoding_format"))}
            for index, item in enumerate(reply.get("embeddings") or [])]
    return {"object": "list", "data": data, "model": model, "usage": {"prompt_tokens": 0, "total_tokens": 0}}
