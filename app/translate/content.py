"""Message content: OpenAI content parts <-> Anthropic content blocks.

Translated both ways: text, images (an http(s) URL stays a URL source, a ``data:`` URL
becomes a base64 source and back) and PDFs (OpenAI ``file`` part with a ``data:`` URL in
``file_data`` <-> Anthropic ``document`` with a base64 source). An Anthropic plain-text
document becomes a text part.

Everything else a user sent that the other side cannot carry (OpenAI ``input_audio``,
uploaded-file ids, Anthropic URL/file documents, search results, ...) is replaced by a
short text placeholder naming what was left out, rather than dropped silently, so the
model does not answer as if it had seen the attachment.
"""

import json


def text_block(text: str) -> dict:
    return {"type": "text", "text": text}


def placeholder_block(kind: str) -> dict:
    return text_block(f"[{kind} omitted: not supported by the upstream API]")


def parse_data_url(url: str) -> tuple[str, str] | None:
    """``data:image/png;base64,AAAA`` -> ``("image/png", "AAAA")``; None if not base64."""
    header, sep, data = url.partition(",")
    if not sep or not header.startswith("data:") or not header.endswith(";base64"):
        return None
    return header.removeprefix("data:").removesuffix(";base64"), data


def data_url(media_type: str, data: str) -> str:
    return f"data:{media_type};base64,{data}"


# --- tool call arguments -------------------------------------------------------------

def tool_input_from_arguments(arguments: str | None) -> dict:
    """OpenAI ``function.arguments`` (a JSON string) -> Anthropic ``input`` (an object).

    Anthropic requires an object, so empty, invalid or non-object JSON becomes ``{}``.
    """
    try:
        parsed = json.loads(arguments or "")
    except ValueError:
        return {}
    return parsed if isinstance(parsed, dict) else {}


def arguments_from_tool_input(tool_input: dict | None) -> str:
    return json.dumps(tool_input or {}, ensure_ascii=False, separators=(",", ":"))


# --- OpenAI -> Anthropic -------------------------------------------------------------

def _anthropic_image(part: dict) -> dict:
    image_url = part.get("image_url")
    url = image_url.get("url", "") if isinstance(image_url, dict) else image_url or ""
    if url.startswith(("http://", "https://")):
        return {"type": "image", "source": {"type": "url", "url": url}}
    inline = parse_data_url(url)
    if inline is None:
        return placeholder_block("image")
    media_type, data = inline
    return {"type": "image", "source": {"type": "base64", "media_type": media_type, "data": data}}


def _anthropic_document(part: dict) -> dict:
    file = part.get("file") or {}
    inline = parse_data_url(file.get("file_data") or "")
    if inline is None or inline[0] != "application/pdf":
        return placeholder_block("file")
    media_type, data = inline
    document = {"type": "document", "source": {"type": "base64", "media_type": media_type, "data": data}}
    if file.get("filename"):
        document["title"] = file["filename"]
    return document


def _anthropic_block(part: dict) -> dict | None:
    kind = part.get("type")
    if kind == "text":
        return text_block(part["text"]) if part.get("text") else None
    if kind == "refusal":
        return text_block(part["refusal"]) if part.get("refusal") else None
    if kind == "image_url":
        return _anthropic_image(part)
    if kind == "file":
        return _anthropic_document(part)
    return placeholder_block(kind or "content part")


def _keeping_cache_control(block: dict | None, part: dict) -> dict | None:
    """A part's ``cache_control`` (the LiteLLM/OpenRouter extension) stays on its block."""
    if block is None or not part.get("cache_control"):
        return block
    return {**block, "cache_control": part["cache_control"]}


def anthropic_blocks_from_openai_content(content: str | list | None) -> list[dict]:
    """OpenAI message content -> Anthropic blocks; empty text is left out (Anthropic rejects
    empty text blocks)."""
    if isinstance(content, str):
        return [text_block(content)] if content else []
    blocks = (_keeping_cache_control(_anthropic_block(part), part) for part in content or [])
    return [block for block in blocks if block is not None]


def compact_anthropic_content(blocks: list[dict]) -> str | list[dict]:
    """A lone plain text block is sent as a plain string, as clients usually write it."""
    if len(blocks) == 1 and blocks[0].keys() == {"type", "text"} and blocks[0]["type"] == "text":
        return blocks[0]["text"]
    return blocks


# --- Anthropic -> OpenAI -------------------------------------------------------------

def _openai_image(source: dict) -> dict:
    if source.get("type") == "url":
        return {"type": "image_url", "image_url": {"url": source["url"]}}
    if source.get("type") == "base64":
        return {"type": "image_url", "image_url": {"url": data_url(source["media_type"], source["data"])}}
    return placeholder_block(f"image ({source.get('type')} source)")

def system_and_turns(entries: list, turn_of, dropped: list) -> tuple[list[dict], list[dict]]:
    """(leading system blocks, hub turns) from a format's messages or items: ``turn_of(entry,
    dropped)`` gives each one's (role, blocks) or None; neighbours of one role merge into a turn."""
    system_blocks: list[dict] = []
    turns: list[dict] = []
    for entry in entries:
        turn = turn_of(entry, dropped)
        if turn is None or not turn[1]:
            continue
        role, blocks = turn
        if role == "system" and not turns:
            system_blocks.extend(blocks)
        elif turns and turns[-1]["role"] == role:
            turns[-1]["content"].extend(blocks)
        else:
            turns.append({"role": role, "content": blocks})
    for turn in turns:
        turn["content"] = compact_anthropic_content(turn["content"])
    return system_blocks, turns



def _openai_document(block: dict) -> dict:
    source = block.get("source") or {}
    if source.get("type") == "base64":
        file = {"filename": block.get("title") or "document.pdf",
                "file_data": data_url(source["media_type"], source["data"])}
        return {"type": "file", "file": file}
    if source.get("type") == "text":
        return text_block(source.get("data", ""))
    return placeholder_block(f"document ({source.get('type')} source)")


def openai_part_from_anthropic_block(block: dict) -> dict:
    kind = block.get("type")
    if kind == "text":
        return text_block(block.get("text", ""))
    if kind == "image":
        return _openai_image(block.get("source") or {})
    if kind == "document":
        return _openai_document(block)
    return placeholder_block(kind or "content block")


def openai_content_from_anthropic_blocks(blocks: list[dict]) -> str | list[dict]:
    """Anthropic blocks -> OpenAI content: a string for a single text block, else parts."""
    parts = [openai_part_from_anthropic_block(block) for block in blocks]
    if not parts:
        return ""
    if len(parts) == 1 and parts[0]["type"] == "text":
        return parts[0]["text"]
    return parts


def joined_text(blocks: list[dict], separator: str = "") -> str:
    """The text of all text blocks. Assistant text split into several blocks (around
    citations or tool calls) is one continuous answer, hence no separator by default."""
    return separator.join(block.get("text", "") for block in blocks if block.get("type") == "text")


# --- tool calls and assistant turns ----------------------------------------------------

def client_tools(tools: list[dict] | None, dropped: list):
    """The hub request's tools that the client runs, in order; a server tool (it runs inside
    Anthropic) is named in `dropped` as it is met."""
    for tool in tools or []:
        if tool.get("type") in (None, "custom"):
            yield tool
        else:
            dropped.append(f"tools[].type={tool.get('type')}")


def anthropic_tool_use_block(tool_call: dict) -> dict:
    """OpenAI ``tool_calls[]`` item -> Anthropic ``tool_use`` block; the id is kept so the
    later ``tool_result`` still matches it."""
    function = tool_call.get("function") or {}
    return {
        "type": "tool_use",
        "id": tool_call.get("id"),
        "name": function.get("name"),
        "input": tool_input_from_arguments(function.get("arguments")),
    }


def openai_assistant_message(blocks: list[dict]) -> dict:
    """Anthropic assistant blocks -> OpenAI assistant message (text and tool calls only).

    ``content`` is ``None`` when there is no text but there are tool calls, as OpenAI
    sends it; an empty turn keeps ``""`` because OpenAI requires content otherwise.
    """
    tool_calls = [
        {
            "id": block.get("id"),
            "type": "function",
            "function": {"name": block.get("name"), "arguments": arguments_from_tool_input(block.get("input"))},
        }
        for block in blocks
        if block.get("type") == "tool_use"
    ]
    text = joined_text(blocks)
    message: dict = {"role": "assistant", "content": text if text or not tool_calls else None}
    if tool_calls:
        message["tool_calls"] = tool_calls
    return message
