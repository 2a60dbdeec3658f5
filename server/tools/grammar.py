"""The grammar a tool request decodes under (llguidance's Lark dialect, which vLLM's
`guidance` backend takes as a structured-outputs grammar). Calls are in the format of
server/tools/format.py, and each call's JSON is `{"name": NAME, "arguments": ARGS}` with
ARGS valid against that function's parameters: the grammar guarantees it, the model's
judgement only picks among valid calls.

vLLM's structural tags were the first idea; through the guidance backend they take a
trigger of the form `<...>` for a special token, which `<tool_call>` is not in these
models' vocabularies. The same construction written out here (a lazy lexeme that ends at
the trigger) works with plain text."""

from __future__ import annotations

import json
from typing import Any

from server.tools.format import CALL_CLOSE, CALL_OPEN, ITEM_SEPARATOR, KEY_SEPARATOR
from server.tools.plan import Function, ToolPlan


def _call_schema(function: Function) -> dict[str, Any]:
    return {
        "type": "object",
        "properties": {"name": {"const": function.name}, "arguments": function.parameters},
        "required": ["name", "arguments"],
        "additionalProperties": False,
    }


def call_body_schema(functions: tuple[Function, ...], flexible_whitespace: bool) -> dict:
    """One call's JSON: any of the callable functions. Compact separators as json.dumps
    writes them, unless the server allows free whitespace (--json-whitespace)."""
    options: dict[str, Any] = {"whitespace_flexible": flexible_whitespace}
    if not flexible_whitespace:
        options |= {"item_separator": ITEM_SEPARATOR, "key_separator": KEY_SEPARATOR}
    calls = [_call_schema(f) for f in functions]
    schema = calls[0] if len(calls) == 1 else {"anyOf": calls}
    return {"x-guidance": options, **schema}


def call_grammar(plan: ToolPlan, flexible_whitespace: bool) -> str | None:
    """None where nothing is constrained (tool_choice "none")."""
    if plan.choice == "none":
        return None
    body = json.dumps(call_body_schema(plan.callable, flexible_whitespace))
    more = ' ("\\n" call)*' if plan.parallel else ""
    start = f"start: TEXT | head body{more}" if plan.text_allowed else f"start: call{more}"
    return "\n".join(
        [
            "%llguidance {}",
            start,
            f"head[lazy]: TEXT {json.dumps(CALL_OPEN)}",
            r"TEXT: /(.|\n)*/",
            f"call: {json.dumps(CALL_OPEN)} body",
            f'body: "\\n" %json {body} {json.dumps(chr(10) + CALL_CLOSE)}',
            "",
        ]
    )
