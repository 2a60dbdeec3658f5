"""The one text format of tool definitions, calls and results on models whose chat template
has no tool syntax (Phi-3.5-mini, SmolLM2). Definitions and calls are the Hermes format that
Qwen2.5 and Hermes templates teach, so a model that has seen it reads it naturally, and so
that earlier calls in a conversation look exactly like the calls the grammar makes the
model write. A custom tool's call names the tool alone and writes its input as it is, on
the lines after, as OpenAI's models write it: raw text, no JSON escaping."""

from __future__ import annotations

import json
from typing import Any

CALL_OPEN = "<tool_call>"
CALL_CLOSE = "</tool_call>"
# Between the call's JSON object and CALL_CLOSE; the grammar writes exactly this.
CALL_END = "}\n" + CALL_CLOSE
# After a custom tool's input: the input cannot hold it (the grammar stops at the first).
INPUT_END = "\n" + CALL_CLOSE
# json.dumps's default separators, which the grammar also uses (server/tools/grammar.py).
ITEM_SEPARATOR = ", "
KEY_SEPARATOR = ": "


def call_text(name: str, arguments: str) -> str:
    """A call as the model writes it. Arguments that are JSON are written as the JSON value,
    anything else as a JSON string."""
    try:
        value: Any = json.loads(arguments)
    except ValueError:
        value = arguments
    body = json.dumps({"name": name, "arguments": value}, ensure_ascii=False)
    return f"{CALL_OPEN}\n{body}\n{CALL_CLOSE}"


def custom_call_text(name: str, text: str) -> str:
    """A custom tool's call: its name, then its input."""
    head = json.dumps({"name": name}, ensure_ascii=False)
    return f"{CALL_OPEN}\n{head}\n{text}{INPUT_END}"


def result_text(name: str, content: str) -> str:
    """A result where the template has no tool turn (server/tools/render.py says why this
    wording)."""
    return f"Result of {name}: {content}"


def tools_prompt(definitions: list[dict[str, Any]]) -> str:
    """The system prompt block that declares the tools (Qwen2.5's wording, and how to call
    a custom tool when there is one)."""
    lines = "\n".join(json.dumps(d, ensure_ascii=False) for d in definitions)
    custom = ""
    if any(d["type"] == "custom" for d in definitions):
        custom = (
            "\n\nFor a custom tool, write its name, then its input as plain text (not JSON) "
            "in the format it asks for:\n"
            f'{CALL_OPEN}\n{{"name": <custom-tool-name>}}\n<input>{INPUT_END}'
        )
    return (
        "# Tools\n\nYou may call one or more functions to assist with the user query.\n\n"
        "You are provided with function signatures within <tools></tools> XML tags:\n"
        f"<tools>\n{lines}\n</tools>\n\n"
        "For each function call, return a json object with function name and arguments "
        f"within {CALL_OPEN}{CALL_CLOSE} XML tags:\n"
        f'{CALL_OPEN}\n{{"name": <function-name>, "arguments": <args-json-object>}}\n'
        f"{CALL_CLOSE}{custom}"
    )
