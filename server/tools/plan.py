"""What a request asks of tools, checked: the declared functions, which of them may be
called, and whether text and several calls are allowed. The same for Chat Completions and
the Responses API; each names its own parameters in errors."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Literal

from server.api_error import APIError
from server.json_schema import check_schema
from server.schemas.tools import ChatTool, ChatToolChoice, NamedToolChoice

# OpenAI's reading of a function without parameters: it takes none.
NO_PARAMETERS: dict[str, Any] = {"type": "object", "properties": {}}

Choice = Literal["none", "auto", "required"]


@dataclass(frozen=True)
class Function:
    name: str
    description: str | None
    parameters: dict[str, Any]
    param: str  # where the request declared it, for errors: "tools[0].function"

    def definition(self) -> dict[str, Any]:
        """As chat templates and the tools prompt take it."""
        function: dict[str, Any] = {"name": self.name}
        if self.description is not None:
            function["description"] = self.description
        function["parameters"] = self.parameters
        return {"type": "function", "function": function}


@dataclass(frozen=True)
class ToolPlan:
    functions: tuple[Function, ...]  # declared: the model is told of these
    choice: Choice  # a named function is "required" with only that one callable
    callable: tuple[Function, ...]
    parallel: bool  # more than one call in one answer

    @property
    def text_allowed(self) -> bool:
        return self.choice == "auto"


def plan_tools(
    functions: Sequence[Function],
    choice: Choice | None,
    named: str | None,
    parallel: bool,
) -> ToolPlan | None:
    """None when the request declares no tools. A named function is exactly one call."""
    if not functions:
        if choice is not None or named is not None:
            raise APIError(
                "Invalid value for 'tool_choice': 'tool_choice' is only allowed when 'tools' "
                "are specified.",
                param="tool_choice",
            )
        return None
    seen: set[str] = set()
    for function in functions:
        if function.name in seen:
            raise APIError(
                f"Duplicate function name '{function.name}' in tools.",
                param=f"{function.param}.name",
            )
        seen.add(function.name)
        check_schema(function.parameters, f"{function.param}.parameters")
    if named is not None:
        chosen = tuple(f for f in functions if f.name == named)
        if not chosen:
            raise APIError(
                f"Invalid value for 'tool_choice': no function named '{named}' in tools.",
                param="tool_choice",
            )
        return ToolPlan(tuple(functions), "required", chosen, parallel=False)
    return ToolPlan(tuple(functions), choice or "auto", tuple(functions), parallel)


def chat_plan(
    tools: Sequence[ChatTool] | None, choice: ChatToolChoice | None, parallel: bool
) -> ToolPlan | None:
    """The plan of the Chat Completions API's fields (chat, and tokenize's count of them)."""
    functions = [
        Function(
            name=tool.function.name,
            description=tool.function.description,
            parameters=NO_PARAMETERS
            if tool.function.parameters is None
            else tool.function.parameters,
            param=f"tools[{i}].function",
        )
        for i, tool in enumerate(tools or ())
    ]
    if isinstance(choice, NamedToolChoice):
        return plan_tools(functions, None, choice.function.name, parallel)
    return plan_tools(functions, choice, None, parallel)


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
