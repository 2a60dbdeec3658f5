"""What a request asks of tools, checked: the declared functions and custom tools, which of
them may be called, and whether text and several calls are allowed. The same for Chat
Completions and the Responses API; each names its own parameters in errors."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Literal

from server.protocol.errors import APIError
from server.protocol.tools import (
    AllowedToolsChoice,
    ChatCustomTool,
    ChatGrammarInput,
    ChatTool,
    ChatToolChoice,
    NamedCustomChoice,
    NamedToolChoice,
)
from server.sampling.json_schema import check_schema
from server.tools.custom import TEXT, InputFormat, check_format

# OpenAI's reading of a function without parameters: it takes none.
NO_PARAMETERS: dict[str, Any] = {"type": "object", "properties": {}}

Choice = Literal["none", "auto", "required"]


@dataclass(frozen=True)
class Function:
    name: str
    description: str | None
    parameters: dict[str, Any]
    param: str  # where the request declared it, for errors: "tools[0].function"
    namespace: str | None = None  # the Responses API's group it was declared in

    def definition(self) -> dict[str, Any]:
        """As chat templates and the tools prompt take it."""
        function: dict[str, Any] = {"name": self.name}
        if self.description is not None:
            function["description"] = self.description
        function["parameters"] = self.parameters
        return {"type": "function", "function": function}


@dataclass(frozen=True)
class Custom:
    """A custom tool: the model writes its input as text in its format, not as JSON."""

    name: str
    description: str | None
    format: InputFormat
    param: str
    namespace: str | None = None

    def definition(self) -> dict[str, Any]:
        """As OpenAI's chat API declares it, which the tools prompt shows the model."""
        custom: dict[str, Any] = {"name": self.name}
        if self.description is not None:
            custom["description"] = self.description
        if self.format.syntax == "text":
            custom["format"] = {"type": "text"}
        else:
            grammar = {"syntax": self.format.syntax, "definition": self.format.definition}
            custom["format"] = {"type": "grammar", "grammar": grammar}
        return {"type": "custom", "custom": custom}


Tool = Function | Custom


@dataclass(frozen=True)
class ToolPlan:
    tools: tuple[Tool, ...]  # declared: the model is told of these
    choice: Choice  # a named tool is "required" with only that one callable
    callable: tuple[Tool, ...]
    parallel: bool  # more than one call in one answer
    max_calls: int | None = None  # the Responses API's max_tool_calls

    @property
    def text_allowed(self) -> bool:
        return self.choice == "auto"

    def namespace_of(self, name: str) -> str | None:
        return next((t.namespace for t in self.tools if t.name == name), None)


def plan_tools(
    tools: Sequence[Tool],
    choice: Choice | None,
    named: str | None,
    parallel: bool,
    allowed: Sequence[str] | None = None,
    max_calls: int | None = None,
) -> ToolPlan | None:
    """None when the request declares no tools. A named tool is exactly one call;
    `allowed` (tool_choice "allowed_tools") narrows what may be called, not what the model
    is told of; at most `max_calls` calls (0: none)."""
    if max_calls == 0:
        if choice == "required" or named is not None:
            raise APIError(
                "tool_choice requires a call, but max_tool_calls is 0.", param="max_tool_calls"
            )
        choice = "none" if tools else choice
    if max_calls == 1:
        parallel = False
    if not tools:
        if choice is not None or named is not None:
            raise APIError(
                "Invalid value for 'tool_choice': 'tool_choice' is only allowed when 'tools' "
                "are specified.",
                param="tool_choice",
            )
        return None
    seen: set[str] = set()
    for tool in tools:
        if tool.name in seen:
            raise APIError(
                f"Duplicate tool name '{tool.name}' in tools.",
                param=f"{tool.param}.name",
            )
        seen.add(tool.name)
        if isinstance(tool, Custom):
            check_format(tool.format)
        else:
            check_schema(tool.parameters, f"{tool.param}.parameters")
    if named is not None:
        chosen = tuple(t for t in tools if t.name == named)
        if not chosen:
            raise APIError(
                f"Invalid value for 'tool_choice': no tool named '{named}' in tools.",
                param="tool_choice",
            )
        return ToolPlan(tuple(tools), "required", chosen, parallel=False)
    callable_ = tuple(tools)
    if allowed is not None:
        unknown = sorted(set(allowed) - seen)
        if unknown:
            raise APIError(
                f"Invalid value for 'tool_choice': no tool named '{unknown[0]}' in tools.",
                param="tool_choice",
            )
        callable_ = tuple(t for t in tools if t.name in allowed)
        if not callable_:  # only hosted tools allowed: nothing here can be called
            choice = "none" if choice != "required" else choice
    return ToolPlan(tuple(tools), choice or "auto", callable_, parallel, max_calls)


def chat_plan(
    tools: Sequence[ChatTool | ChatCustomTool] | None, choice: ChatToolChoice | None, parallel: bool
) -> ToolPlan | None:
    """The plan of the Chat Completions API's fields (chat, and tokenize's count of them)."""
    functions = [_chat_tool(tool, f"tools[{i}]") for i, tool in enumerate(tools or ())]
    if isinstance(choice, NamedToolChoice):
        return plan_tools(functions, None, choice.function.name, parallel)
    if isinstance(choice, NamedCustomChoice):
        return plan_tools(functions, None, choice.custom.name, parallel)
    if isinstance(choice, AllowedToolsChoice):
        names = [
            t.function.name if isinstance(t, NamedToolChoice) else t.custom.name
            for t in choice.allowed_tools.tools
        ]
        return plan_tools(functions, choice.allowed_tools.mode, None, parallel, names)
    return plan_tools(functions, choice, None, parallel)  # type: ignore[arg-type]


def _chat_tool(tool: ChatTool | ChatCustomTool, param: str) -> Tool:
    if isinstance(tool, ChatTool):
        parameters = tool.function.parameters
        return Function(
            name=tool.function.name,
            description=tool.function.description,
            parameters=NO_PARAMETERS if parameters is None else parameters,
            param=f"{param}.function",
        )
    given = tool.custom.format
    fmt = TEXT
    if isinstance(given, ChatGrammarInput):
        where = f"{param}.custom.format.grammar.definition"
        fmt = InputFormat(given.grammar.syntax, given.grammar.definition, where)
    return Custom(tool.custom.name, tool.custom.description, fmt, f"{param}.custom")


@dataclass(frozen=True)
class CallTurn:
    """One entry of a conversation, as far as call ids go."""

    param: str
    makes: tuple[str, ...] = ()
    answers: str | None = None


def check_call_ids(turns: Sequence[CallTurn]) -> None:
    """Every tool result must answer a call made earlier in the conversation."""
    made: set[str] = set()
    for turn in turns:
        if turn.answers is not None and turn.answers not in made:
            raise APIError(
                f"Invalid parameter: '{turn.param}' is '{turn.answers}', which matches no "
                "earlier tool call.",
                param=turn.param,
            )
        made.update(turn.makes)
