"""A conversation with tools as the chat template takes it. A template that declares a
`tools` variable gets the tools, the calls and the results in the structured form Hugging
Face templates read. Any other template gets them written into the text in this server's
format (server/tools/format.py): the tools in the system prompt, earlier calls in the
assistant's turn, and results as `tool` turns where the template writes such a turn
(SmolLM2's ChatML does), else as a user turn (Phi-3.5's template drops roles it does not
know). Measured on the embedded model, 50 questions after one worked call, greedy: a
`tool` turn led to 36 calls, a user turn "Result of get_weather: ..." to 25, and the
`<tool_response>` wrapping Qwen's templates use to none (the model wrote
`<tool_response>` itself)."""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from server.protocol.chat import ChatMessage
from server.protocol.tools import MessageCustomCall, MessageToolCall
from server.tools.format import call_text, custom_call_text, result_text, tools_prompt
from server.tools.plan import CallTurn, ToolPlan, check_call_ids

# Templates know "system"; OpenAI's "developer" is the same role under a newer name.
_ROLES = {"developer": "system"}


@dataclass(frozen=True)
class TemplateTraits:
    """What the model's chat template does with tools, found once at start-up."""

    takes_tools: bool = False  # reads a `tools` variable: its own tool syntax
    writes_tool_turns: bool = False  # a {"role": "tool"} message shows in its output


def template_input(
    messages: Sequence[ChatMessage], plan: ToolPlan | None, template: TemplateTraits
) -> tuple[list[dict[str, Any]], list[dict[str, Any]] | None]:
    """The template's messages and its `tools` argument (None: not passed)."""
    check_call_ids(
        [
            CallTurn(
                f"messages[{i}].tool_call_id",
                tuple(c.id for c in m.tool_calls or ()),
                m.tool_call_id if m.role == "tool" else None,
            )
            for i, m in enumerate(messages)
        ]
    )
    declared = None
    if plan is not None and plan.choice != "none":
        declared = [t.definition() for t in plan.tools]
    if template.takes_tools:
        return [_native(m) for m in messages], declared
    names = {c.id: _name(c) for m in messages for c in m.tool_calls or ()}
    turns: list[dict[str, Any]] = []
    after_result = False
    for message in messages:
        if message.role == "tool" and template.writes_tool_turns:
            turns.append({"role": "tool", "content": message.text()})
            continue
        if message.role == "tool":
            name = message.name or names[message.tool_call_id or ""]
            result = result_text(name, message.text())
            if after_result:  # one user turn for the results of one round of calls
                turns[-1]["content"] += "\n" + result
            else:
                turns.append({"role": "user", "content": result})
            after_result = True
            continue
        after_result = False
        content = message.text()
        if message.tool_calls:
            calls = "\n".join(_call_text(c) for c in message.tool_calls)
            content = f"{content}\n{calls}" if content else calls
        turns.append({"role": _ROLES.get(message.role, message.role), "content": content})
    if declared:
        block = tools_prompt(declared)
        if turns and turns[0]["role"] == "system" and turns[0]["content"]:
            turns[0]["content"] += "\n\n" + block
        elif turns and turns[0]["role"] == "system":
            turns[0]["content"] = block
        else:
            turns.insert(0, {"role": "system", "content": block})
    return turns, None


def _name(call: MessageToolCall | MessageCustomCall) -> str:
    return call.custom.name if isinstance(call, MessageCustomCall) else call.function.name


def _call_text(call: MessageToolCall | MessageCustomCall) -> str:
    if isinstance(call, MessageCustomCall):
        return custom_call_text(call.custom.name, call.custom.input)
    return call_text(call.function.name, call.function.arguments)


def _native(message: ChatMessage) -> dict[str, Any]:
    turn: dict[str, Any] = {
        "role": _ROLES.get(message.role, message.role),
        "content": message.text(),
    }
    if message.tool_calls:
        turn["tool_calls"] = [_native_call(c) for c in message.tool_calls]
    if message.role == "tool":
        turn["tool_call_id"] = message.tool_call_id
    if message.name is not None:
        turn["name"] = message.name
    return turn


def _native_call(call: MessageToolCall | MessageCustomCall) -> dict[str, Any]:
    """Hugging Face templates know function calls only: a custom tool's call is one whose
    arguments are its input text."""
    if isinstance(call, MessageCustomCall):
        function = {"name": call.custom.name, "arguments": call.custom.input}
    else:
        function = {"name": call.function.name, "arguments": _value(call.function.arguments)}
    return {"id": call.id, "type": "function", "function": function}


def _value(arguments: str) -> Any:
    """Hugging Face templates take arguments as a mapping (they write it with `tojson`)."""
    try:
        return json.loads(arguments)
    except ValueError:
        return arguments
