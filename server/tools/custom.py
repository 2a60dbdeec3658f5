"""A custom tool's input format as the call grammar takes it (llguidance's Lark dialect):
any text, a regular expression, or a Lark grammar nested whole with `%lark { ... }`, so
its rule names never meet the call grammar's. Each is checked on its own first, so that
a definition that does not compile is the caller's 400 naming it, and one that would
close the nesting early (a stray `}`) cannot reach into the grammar around it."""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Literal

import llguidance

from server.protocol.errors import APIError

Syntax = Literal["text", "lark", "regex"]
# Any text at all, newlines included.
ANY_TEXT = r"(.|\n)*"


@dataclass(frozen=True)
class InputFormat:
    syntax: Syntax
    definition: str = ""
    param: str = ""  # where the request wrote the definition, for errors


TEXT = InputFormat("text")


def _pattern(fmt: InputFormat) -> str:
    """The input as one Lark regex literal's body: OpenAI's regexes are Rust regex syntax,
    which llguidance's are too (Unicode classes kept)."""
    return ANY_TEXT if fmt.syntax == "text" else llguidance.regex_to_lark(fmt.definition, "")


def _nested(definition: str) -> str:
    return f"%lark {{\n{definition}\n}}"


def input_rule(name: str, fmt: InputFormat, end: str) -> str:
    """Lark rule `name`: the input, then `end`. Text and regex inputs are one lazy lexeme
    that stops at the first `end` (a regex input that could run on, like `.*`, still ends);
    a Lark input ends where its grammar lets `end` follow."""
    if fmt.syntax == "lark":
        return f"{name}: {_nested(fmt.definition)} {json.dumps(end)}"
    return f"{name}[lazy]: /{_pattern(fmt)}/ {json.dumps(end)}"


def _problem(lark: str) -> str:
    try:
        return llguidance.LLMatcher.validate_grammar(llguidance.LLMatcher.grammar_from_lark(lark))
    except (ValueError, TypeError, RuntimeError) as exc:
        return str(exc)


def check_format(fmt: InputFormat) -> None:
    """A definition the grammar backend compiles, alone and as the call grammar nests it."""
    if fmt.syntax == "text":
        return
    if fmt.syntax == "regex":
        tries = [f"start: /{_pattern(fmt)}/"]
    else:
        tries = [fmt.definition, f"start: {_nested(fmt.definition)}"]
    for lark in tries:
        problem = _problem(lark)
        if problem:
            raise APIError(
                f"The {fmt.syntax} grammar in {fmt.param} cannot be used for constrained "
                f"decoding: {problem}",
                param=fmt.param,
                code="invalid_grammar",
            )
