"""What this server does with each field of OpenAI's spec that it cannot act on: accepted
without effect, or refused with a 400 that names it. One table, which
docs/api/compatibility.md shows (tests/unit/protocol/test_openai_surface.py keeps the two
the same) and which the spec-driven test holds the server to: every 400 it answers a valid
request names a refused field or an actionable limit listed here."""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class Rule:
    fields: str  # as the docs' table writes them
    endpoints: str
    why: str
    params: tuple[str, ...] = ()  # the error params it answers with (regular expressions)
    codes: tuple[str, ...] = ()  # or the error codes


IGNORED = (
    Rule("`store`, `metadata`", "chat", "nothing is stored; metadata is echoed back"),
    Rule(
        "`service_tier`",
        "chat, Responses",
        'one engine, one tier: answers say `"default"`',
    ),
    Rule(
        "`prompt_cache_key`, `prompt_cache_retention`, `prompt_cache_options`",
        "chat, Responses",
        "vLLM's prefix cache works without a key",
    ),
    Rule("`safety_identifier`, `user`", "all", "no abuse screening here"),
    Rule('`modalities: ["text"]`', "chat", "text is what the model writes"),
    Rule(
        "`stream_options.include_obfuscation`",
        "chat, completions, Responses",
        "nothing is padded",
    ),
    Rule("`prediction`", "chat", "no predicted-output speed-up; the answer is the same"),
    Rule(
        "`reasoning_effort`, `verbosity`, `reasoning`, `text.verbosity`",
        "chat, Responses",
        "the model does not reason (no reasoning items, 0 reasoning tokens)",
    ),
    Rule(
        '`include: ["reasoning.encrypted_content"]` and the other hosted-tool includes',
        "Responses",
        "no reasoning or hosted-tool items are ever produced",
    ),
    Rule(
        "`web_search_options`; hosted tools (`web_search`, `file_search`, `code_interpreter`, "
        "`image_generation`, `mcp`, `local_shell`, `computer_use_preview`, …)",
        "chat, Responses",
        "the model is not told of them and never calls them",
    ),
    Rule(
        "`reasoning` input items, `id`/`status`/`annotations`/`logprobs` on items sent back",
        "Responses",
        "`response.output` goes back in as it came out",
    ),
    Rule("`best_of: 1` (or equal to `n`)", "completions", "the same as `n` choices"),
    Rule(
        "`client_metadata` (Codex), `context_management`",
        "Responses",
        "no effect on one stateless answer",
    ),
    Rule("`null` for any field", "all", "the field's default, as OpenAI's spec says"),
)

IDX = r"\[[0-9]+\]"  # a list index in a param: messages[3]

REFUSED = (
    Rule(
        '`modalities` with `"audio"`, `audio`, assistant `audio`',
        "chat",
        "no audio out",
        ("modalities", "audio", f"messages{IDX}\\.audio"),
    ),
    Rule(
        "`image_url`, `input_audio`, `file` content parts; `input_image`, `input_file`",
        "chat, Responses",
        "a text-only model",
        (f"messages{IDX}\\.content{IDX}", f"input{IDX}\\.(content|output){IDX}"),
    ),
    Rule(
        "`functions`, `function_call`, role `function`",
        "chat",
        "deprecated by OpenAI; use `tools` and `tool_choice`",
        ("functions", "function_call", f"messages{IDX}\\.(role|function_call)"),
    ),
    Rule(
        "custom (free-form) tools, their `tool_choice` and calls",
        "chat, Responses",
        "every call here is grammar-bound JSON",
        (
            f"tools{IDX}",
            f"tools{IDX}\\.tools{IDX}",
            "tool_choice",
            f"tool_choice\\.allowed_tools\\.tools{IDX}",
            f"messages{IDX}\\.tool_calls{IDX}",
        ),
    ),
    Rule(
        "`tool_choice` forcing a hosted tool (`web_search`, `file_search`, `mcp`, …)",
        "Responses",
        "hosted tools do not run here",
        ("tool_choice", "tool_choice\\.tools"),
    ),
    Rule(
        "`conversation`, `prompt`, `item_reference` items",
        "Responses",
        "no conversation or prompt objects (yet); `previous_response_id` continues",
        ("conversation", "prompt", f"input{IDX}"),
    ),
    Rule(
        "`store: true` on a server started with `--no-store`; `background: true` "
        "without `store`, or over a WebSocket",
        "Responses",
        "nothing is kept there; a background response is polled from the store",
        ("store", "background"),
    ),
    Rule(
        "hosted-tool and program items in `input` (`web_search_call`, `additional_tools`, …)",
        "Responses",
        "those tools do not run here",
        (f"input{IDX}",),
    ),
    Rule(
        "`moderation`",
        "chat, Responses",
        "nothing here moderates input or output",
        ("moderation",),
    ),
    Rule("`best_of` other than 1 or `n`", "completions", "vLLM has no best-of", ("best_of",)),
    Rule("`suffix`", "completions", "no fill-in-the-middle", ("suffix",)),
)

# 4xx answers to valid requests that name a limit the caller can act on, as OpenAI's do.
ACTIONABLE = (
    Rule(
        "`context_length_exceeded`",
        "all",
        "prompt + output longer than the context",
        codes=("context_length_exceeded",),
    ),
    Rule(
        "`model_not_found` (404)",
        "all",
        "another model than the one served",
        codes=("model_not_found",),
    ),
    Rule(
        "`logit_bias` keys, token ids in `prompt`",
        "all",
        "only this model's token ids (0 … vocabulary size - 1)",
        ("logit_bias(\\..*)?", f"prompt({IDX})*"),
    ),
    Rule(
        "`n`, several prompts",
        "chat, completions",
        "more engine requests than the server admits (429)",
        ("n", "prompt"),
    ),
    Rule(
        "`response_format`/`text.format` schema, tool `parameters`",
        "chat, Responses",
        "a JSON Schema that is invalid or that the grammar compiler cannot compile",
        codes=("invalid_json_schema",),
    ),
    Rule(
        "`tool_choice` without (or naming no) function tool; duplicate function names; "
        "a tool result answering no earlier call; `max_tool_calls: 0` with a forced call",
        "chat, Responses",
        "as OpenAI refuses them",
        (
            "tool_choice",
            f"tools{IDX}(\\.function)?\\.name",
            f"messages{IDX}\\.tool_call_id",
            f"input{IDX}\\.call_id",
            "max_tool_calls",
        ),
    ),
    Rule(
        "`top_logprobs` without `logprobs`, `stream_options` without `stream`, "
        "`max_tokens: 0` without `echo`, an empty prompt or input",
        "all",
        "as OpenAI refuses them",
        ("top_logprobs", "stream_options", "max_tokens", "prompt", "input", "messages"),
    ),
    Rule(
        "function and schema names outside `^[A-Za-z0-9_-]{1,64}$`",
        "chat, Responses",
        "OpenAI's rule for the names a model calls",
        (
            f"tools{IDX}(\\.function|\\.tools{IDX})?\\.name",
            "(response_format\\.json_schema|text\\.format)\\.name",
            "tool_choice(\\.function)?\\.name",
        ),
    ),
    Rule(
        "`previous_response_not_found`",
        "Responses",
        "a `previous_response_id` not stored (or stored with another key), as OpenAI answers",
        codes=("previous_response_not_found",),
    ),
    Rule(
        "`metadata` past 16 pairs, 64-character keys or 512-character values",
        "chat, Responses",
        "OpenAI's limits",
        ("metadata(\\..+)?",),
    ),
)


UNKNOWN = Rule(
    "a field outside OpenAI's spec (`unknown_parameter`)",
    "all",
    "a typo never passes silently, as OpenAI answers",
    codes=("unknown_parameter",),
)
UNICODE = Rule(
    "text holding a lone surrogate (`invalid_unicode`)",
    "all",
    "JSON's `\\ud800` escapes are no Unicode text; refused before any engine request",
    codes=("invalid_unicode",),
)
ACTIONABLE = (*ACTIONABLE, UNKNOWN, UNICODE)


def explained(param: str | None, code: str | None) -> bool:
    """Whether a 4xx answer to a request valid under OpenAI's spec is one this table
    lists (a refused field or an actionable limit)."""
    for rule in (*REFUSED, *ACTIONABLE):
        if code is not None and code in rule.codes:
            return True
        if param is not None and any(re.fullmatch(p, param) for p in rule.params):
            return True
    return False


def markdown_table() -> str:
    """The table of the rules above, as docs/api/compatibility.md shows it."""
    rows = ["| field | endpoints | here | why |", "|---|---|---|---|"]
    for what, rules in (("ignored", IGNORED), ("400", REFUSED), ("4xx, actionable", ACTIONABLE)):
        rows += [f"| {r.fields} | {r.endpoints} | {what} | {r.why} |" for r in rules]
    return "\n".join(rows)


def _refuse(param: str, message: str) -> None:
    raise ValueError(f"{param}: {message}")


TEXT_PARTS = ("text", "refusal", "input_text", "output_text")


def refuse_parts(parts: Iterable[Any], param: str) -> None:
    for j, part in enumerate(parts):
        if part.type not in TEXT_PARTS:
            _refuse(
                f"{param}[{j}]",
                f"'{part.type}' content is not supported: this server's model reads text only",
            )


def refuse_chat(request: Any) -> None:
    """The chat fields whose effect cannot be honoured (the REFUSED rules)."""
    if request.modalities and "audio" in request.modalities:
        _refuse("modalities", "audio output is not supported by this server")
    if request.audio is not None:
        _refuse("audio", "audio output is not supported by this server")
    if request.moderation is not None:
        _refuse("moderation", "moderation is not supported by this server")
    for i, message in enumerate(request.messages):
        where = f"messages[{i}]"
        if message.role == "function":
            _refuse(f"{where}.role", "the 'function' role is deprecated; use 'tool' messages")
        if message.function_call is not None:
            _refuse(f"{where}.function_call", "deprecated; use 'tool_calls'")
        if message.audio is not None:
            _refuse(f"{where}.audio", "audio is not supported by this server")
        if isinstance(message.content, list):
            refuse_parts(message.content, f"{where}.content")
        for j, call in enumerate(message.tool_calls or ()):
            if call.type != "function":
                _refuse(f"{where}.tool_calls[{j}]", "only function tool calls are supported")
    for i, tool in enumerate(request.tools or ()):
        if tool.type != "function":
            _refuse(f"tools[{i}]", "custom tools are not supported; declare a function tool")
    choice = request.tool_choice
    if getattr(choice, "type", None) == "custom":
        _refuse("tool_choice", "custom tools are not supported")
    for j, allowed in enumerate(getattr(getattr(choice, "allowed_tools", None), "tools", ())):
        if allowed.type != "function":
            _refuse(f"tool_choice.allowed_tools.tools[{j}]", "custom tools are not supported")


def refuse_completion(request: Any) -> None:
    if request.best_of not in (None, 1, request.n):
        _refuse("best_of", "best_of other than 1 (or n) is not supported by this server")
    if request.suffix is not None:
        _refuse("suffix", "suffix (fill in the middle) is not supported by this server")


def refuse_response(request: Any) -> None:
    """The Responses fields whose effect cannot be honoured (the REFUSED rules)."""
    for name in ("conversation", "prompt"):
        if getattr(request, name) is not None:
            _refuse(name, f"'{name}' is not supported by this server (use previous_response_id)")
    if request.moderation is not None:
        _refuse("moderation", "'moderation' is not supported by this server")
    if request.background and request.store is False:
        _refuse("background", "background responses are stored: leave store true")
    if request.previous_response_id is not None and request.conversation is not None:
        _refuse("previous_response_id", "use either previous_response_id or conversation")
    for i, item in enumerate([] if isinstance(request.input, str) else request.input):
        if item.type in ("message", "function_call_output"):
            parts = item.content if item.type == "message" else item.output
            if not isinstance(parts, str):
                field = "content" if item.type == "message" else "output"
                refuse_parts(parts, f"input[{i}].{field}")
        elif item.type not in ("function_call", "reasoning"):
            _refuse(f"input[{i}]", f"'{item.type}' items are not supported by this server")
    for i, tool in enumerate(request.tools or ()):
        if tool.type == "custom":
            _refuse(f"tools[{i}]", "custom tools are not supported; declare a function tool")
        for j, member in enumerate(tool.tools if tool.type == "namespace" else ()):
            if member.type == "custom":
                _refuse(f"tools[{i}].tools[{j}]", "custom tools are not supported")
    choice = request.tool_choice
    kind = getattr(choice, "type", None)
    if kind not in (None, "function", "allowed_tools"):
        _refuse("tool_choice", f"'{kind}' tools do not run here; only function tools can be forced")
    required = kind == "allowed_tools" and choice.mode == "required"
    if required and not any(tool.get("type") == "function" for tool in choice.tools):
        _refuse("tool_choice.tools", "'required' needs at least one function tool")
