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

from server.protocol.tools import MAX_GRAMMAR_LENGTH


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
        "`client_metadata` (Codex)",
        "Responses",
        "no effect on one stateless answer",
    ),
    Rule("`personality`", "Responses input tokens", "no style presets: the count is the same"),
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
        (f"messages{IDX}\\.content{IDX}", f"(input|items){IDX}\\.(content|output){IDX}"),
    ),
    Rule(
        "`functions`, `function_call`, role `function`",
        "chat",
        "deprecated by OpenAI; use `tools` and `tool_choice`",
        ("functions", "function_call", f"messages{IDX}\\.(role|function_call)"),
    ),
    Rule(
        "`tool_choice` forcing a hosted tool (`web_search`, `file_search`, `mcp`, …)",
        "Responses",
        "hosted tools do not run here",
        ("tool_choice", "tool_choice\\.tools"),
    ),
    Rule(
        "`prompt`",
        "Responses",
        "no stored prompt objects; `instructions` and `input` carry the prompt",
        ("prompt",),
    ),
    Rule(
        "`store: true` on a server started with `--no-store`; `background: true` "
        "without `store`, or over a WebSocket",
        "Responses",
        "nothing is kept there; a background response is polled from the store",
        ("store", "background"),
    ),
    Rule(
        "hosted-tool and program items in `input` or conversation `items` "
        "(`web_search_call`, `additional_tools`, …)",
        "Responses, conversations",
        "those tools do not run here",
        (f"(input|items){IDX}",),
    ),
    Rule(
        "`context_management` entries of a type other than `compaction`",
        "Responses",
        "compaction is the only context management there is",
        (f"context_management{IDX}\\.type",),
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
        "a custom tool's grammar `definition`",
        "chat, Responses",
        "a Lark grammar or regular expression that llguidance cannot compile, or one past "
        f"{MAX_GRAMMAR_LENGTH:,} characters (each request's grammar is compiled for it)",
        (f"tools{IDX}(\\.tools{IDX})?(\\.custom)?\\.format(\\.grammar)?\\.definition",),
        ("invalid_grammar",),
    ),
    Rule(
        "`tool_choice` without (or naming no) declared tool; duplicate tool names; "
        "a tool result answering no earlier call; `max_tool_calls: 0` with a forced call",
        "chat, Responses",
        "as OpenAI refuses them",
        (
            "tool_choice",
            f"tools{IDX}(\\.function|\\.custom|\\.tools{IDX})?\\.name",
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
        "tool and schema names outside `^[A-Za-z0-9_-]{1,64}$`",
        "chat, Responses",
        "OpenAI's rule for the names a model calls",
        (
            f"tools{IDX}(\\.function|\\.custom|\\.tools{IDX})?\\.name",
            "(response_format\\.json_schema|text\\.format)\\.name",
            "tool_choice(\\.function|\\.custom)?\\.name",
            f"tool_choice\\.allowed_tools\\.tools{IDX}\\.custom\\.name",
        ),
    ),
    Rule(
        "`previous_response_not_found`",
        "Responses",
        "a `previous_response_id` not stored (or stored with another key), as OpenAI answers",
        codes=("previous_response_not_found",),
    ),
    Rule(
        "`conversation` together with `previous_response_id`",
        "Responses",
        "one or the other, as OpenAI answers",
        ("previous_response_id",),
    ),
    Rule(
        "`conversation_not_found` (404), `item_not_found`",
        "Responses, conversations",
        "a `conversation` or `item_reference` id not stored (or stored with another key)",
        codes=("conversation_not_found", "item_not_found"),
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
CALLABLE = ("function", "custom")  # the tools the model here calls
CALLS = ("function_call", "custom_tool_call")  # the calls it made, sent back


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


def refuse_completion(request: Any) -> None:
    if request.best_of not in (None, 1, request.n):
        _refuse("best_of", "best_of other than 1 (or n) is not supported by this server")
    if request.suffix is not None:
        _refuse("suffix", "suffix (fill in the middle) is not supported by this server")


def refuse_items(items: Iterable[Any], param: str) -> None:
    """Input items (a request's `input`, a conversation's `items`) this server can read."""
    for i, item in enumerate(items):
        if item.type in ("message", "function_call_output", "custom_tool_call_output"):
            parts = item.content if item.type == "message" else item.output
            if not isinstance(parts, str):
                field = "content" if item.type == "message" else "output"
                refuse_parts(parts, f"{param}[{i}].{field}")
        elif item.type not in (*CALLS, "reasoning", "item_reference", "compaction", None):
            _refuse(f"{param}[{i}]", f"'{item.type}' items are not supported by this server")


def refuse_response(request: Any) -> None:
    """The Responses fields whose effect cannot be honoured (the REFUSED rules)."""
    if request.prompt is not None:
        _refuse("prompt", "'prompt' is not supported by this server (send instructions)")
    if request.moderation is not None:
        _refuse("moderation", "'moderation' is not supported by this server")
    if request.background and request.store is False:
        _refuse("background", "background responses are stored: leave store true")
    if request.previous_response_id is not None and request.conversation is not None:
        _refuse("previous_response_id", "use either previous_response_id or conversation")
    refuse_items([] if isinstance(request.input, str) else request.input, "input")
    choice = request.tool_choice
    kind = getattr(choice, "type", None)
    if kind not in (None, *CALLABLE, "allowed_tools"):
        _refuse("tool_choice", f"'{kind}' tools do not run here; only yours can be forced")
    required = kind == "allowed_tools" and choice.mode == "required"
    if required and not any(tool.get("type") in CALLABLE for tool in choice.tools):
        _refuse("tool_choice.tools", "'required' needs at least one function or custom tool")
