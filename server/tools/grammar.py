"""The grammar a tool request decodes under (llguidance's Lark dialect, which vLLM's
`guidance` backend takes as a structured-outputs grammar). Calls are in the format of
server/tools/format.py, and each call's JSON is `{"name": NAME, "arguments": ARGS}` with
ARGS valid against that function's parameters, or a custom tool's `{"name": NAME}` and its
input in its format (server/tools/custom.py): the grammar guarantees it, the model's
judgement only picks among valid calls.

vLLM's structural tags were the first idea; through the guidance backend they take a
trigger of the form `<...>` for a special token, which `<tool_call>` is not in these
models' vocabularies. The same construction written out here (a lazy lexeme that ends at
the trigger) works with plain text."""

from __future__ import annotations

import json
from typing import Any

from server.sampling.json_schema import bounded
from server.tools.custom import input_rule
from server.tools.format import CALL_END, CALL_OPEN, INPUT_END, ITEM_SEPARATOR, KEY_SEPARATOR
from server.tools.plan import Custom, Function, ToolPlan


def arguments_schema(function: Function, flexible_whitespace: bool) -> dict[str, Any]:
    """A function's parameters as the grammar takes them. Each function's schema stays the
    root of its own JSON grammar, so its `$ref`s (pydantic writes `#/$defs/...`) resolve.
    Compact separators as json.dumps writes them, unless the server allows free whitespace
    (--json-whitespace)."""
    return _json_options(bounded(function.parameters), flexible_whitespace)


def _json_options(schema: dict[str, Any], flexible_whitespace: bool) -> dict[str, Any]:
    options: dict[str, Any] = {"whitespace_flexible": flexible_whitespace}
    if not flexible_whitespace:
        options |= {"item_separator": ITEM_SEPARATOR, "key_separator": KEY_SEPARATOR}
    return {**schema, "x-guidance": options}


def _more_calls(plan: ToolPlan) -> str:
    """The calls after the first: any number, or up to max_calls - 1 (nested options,
    which every Lark dialect reads)."""
    if plan.max_calls is None:
        return ' ("\\n" call)*'
    more = ""
    for _ in range(plan.max_calls - 1):
        more = f' ("\\n" call{more})?'
    return more


def call_grammar(
    plan: ToolPlan, flexible_whitespace: bool, answer: dict[str, Any] | None = None
) -> str | None:
    """None where nothing is constrained (tool_choice "none"). A call is written
    `{"name": NAME, "arguments": ARGS}` between the markers, the name one of the callable
    functions and ARGS valid against that function's parameters, or `{"name": NAME}` and
    the input of a callable custom tool. `answer`: the schema of a
    response format, which an answer without calls follows (as OpenAI's tools and
    structured outputs combine)."""
    if plan.choice == "none":
        return None
    more = _more_calls(plan) if plan.parallel else ""
    if not plan.text_allowed:
        start = f"start: call{more}"
    elif answer is not None:  # the formatted answer or calls (no free text before them)
        start = f"start: answer | call{more}"
    else:
        start = f"start: TEXT | head body{more}"
    names = " | ".join(f"tool_{i}" for i in range(len(plan.callable)))
    lines = [
        "%llguidance {}",
        start,
        f"head[lazy]: TEXT {json.dumps(CALL_OPEN)}",
        r"TEXT: /(.|\n)*/",
        f"call: {json.dumps(CALL_OPEN)} body",
        f"body: {json.dumps(chr(10) + '{' + json.dumps('name') + KEY_SEPARATOR)} ({names})",
    ]
    for i, tool in enumerate(plan.callable):
        if isinstance(tool, Custom):
            lines.append(f"tool_{i}: {json.dumps(json.dumps(tool.name) + '}' + chr(10))} input_{i}")
            lines.append(input_rule(f"input_{i}", tool.format, INPUT_END))
            continue
        key = json.dumps(json.dumps(tool.name) + ITEM_SEPARATOR + '"arguments"' + KEY_SEPARATOR)
        arguments = json.dumps(arguments_schema(tool, flexible_whitespace))
        lines.append(f"tool_{i}: {key} %json {arguments} {json.dumps(CALL_END)}")
    if answer is not None and plan.text_allowed:
        lines.append(f"answer: %json {json.dumps(_json_options(answer, flexible_whitespace))}")
    return "\n".join([*lines, ""])
