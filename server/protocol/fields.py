"""One definition of every field that several request models share, with the bounds the
engine really takes: whatever these accept, vLLM accepts (tests/unit/test_schema_bounds.py
checks it), and the bounds show in /openapi.json."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import AfterValidator, BeforeValidator, Field, StrictInt, StrictStr

from server.protocol.presets import PresetName

# vLLM serialises a seed as a 64-bit integer; choice i of n draws with seed + i, folded back
# into the unsigned range (server/sampling/params.py), so every signed 64-bit seed works.
SEED_MIN = -(2**63)
SEED_MAX = 2**63 - 1
# OpenAI allows 4 stop sequences; evaluation harnesses send a few more, so 16.
MAX_STOP_SEQUENCES = 16
MAX_STOP_LENGTH = 256
# Token ids are checked against the served model's vocabulary at run time; the schema's
# static bound is the widest vocabulary any model could have.
TOKEN_ID_MAX = 2**31 - 1
# A deeper schema is no real response format; deeper ones crash JSON Schema validators and
# grammar compilers by recursion.
MAX_SCHEMA_DEPTH = 32
# What keeps one request's work bounded (the token budget caps max_tokens further).
MAX_TOKENS = 2**31 - 1
MAX_LOGIT_BIAS = 1024
MAX_STOP_TOKEN_IDS = 64
MAX_BAD_WORDS = 64
MAX_ALLOWED_TOKEN_IDS = 2**18  # above any vocabulary served here
NAME_PATTERN = r"^[A-Za-z0-9_-]{1,64}$"


def _integral(value: Any) -> Any:
    """JSON has one number type: 2.0 is the integer 2 (JSON Schema's reading), 2.5 not."""
    if isinstance(value, float) and value.is_integer():
        return int(value)
    return value


INTEGRAL = BeforeValidator(_integral)
# After the bounds in an Annotated alias, so that /openapi.json shows them as JSON Schema's.
Integer = Annotated[StrictInt, INTEGRAL]
# The descriptions below are what /openapi.json says of every field of these types.
ModelId = Annotated[
    str, Field(description="The served model's id (GET /v1/models); another one is a 404.")
]
Temperature = Annotated[
    float,
    Field(
        ge=0.0,
        le=2.0,
        description="Sampling temperature: higher is more random, 0 is greedy (the most "
        "likely token every time). Left out: the preset's, else the server's default.",
    ),
]
# 0 keeps only the most likely token (OpenAI allows it; vLLM needs > 0: server/sampling/params.py).
TopP = Annotated[
    float,
    Field(
        ge=0.0,
        le=1.0,
        description="Nucleus sampling: only the most likely tokens whose probabilities add up "
        "to top_p are kept (0: the most likely one). Left out: as for temperature.",
    ),
]
TopK = Annotated[
    StrictInt,
    Field(
        ge=-1,
        le=TOKEN_ID_MAX,
        description="This server's extension: only the k most likely tokens are kept; -1 or "
        "0: off.",
    ),
    INTEGRAL,
]
MinP = Annotated[
    float,
    Field(
        ge=0.0,
        le=1.0,
        description="This server's extension: tokens less likely than min_p times the most "
        "likely one are dropped; 0: off.",
    ),
]
Penalty = Annotated[float, Field(ge=-2.0, le=2.0)]
PresencePenalty = Annotated[
    Penalty,
    Field(
        description="Positive values lower the logit of every token already in the text, "
        "once, so the model moves to new topics. Left out: 0."
    ),
]
FrequencyPenalty = Annotated[
    Penalty,
    Field(
        description="Positive values lower a token's logit by how often it is already in the "
        "text, so the model repeats itself less. Left out: 0."
    ),
]
RepetitionPenalty = Annotated[
    float,
    Field(
        gt=0.0,
        le=2.0,
        description="vLLM's extension: the logits of tokens already in the prompt or the "
        "answer are divided (positive) or multiplied (negative) by it; 1: off.",
    ),
]
Seed = Annotated[
    StrictInt,
    Field(
        ge=SEED_MIN,
        le=SEED_MAX,
        description="The same seed, prompt and parameters give the same text on servers with "
        "the same system_fingerprint (choice i samples with seed + i); left out: a random one.",
    ),
    INTEGRAL,
]
MaxTokens = Annotated[
    StrictInt,
    Field(
        ge=1,
        le=MAX_TOKENS,
        description="The most tokens the answer may have; left out: up to the end of the "
        "model's context.",
    ),
    INTEGRAL,
]
TokenId = Annotated[StrictInt, Field(ge=0, le=TOKEN_ID_MAX), INTEGRAL]
TokenIdKey = Annotated[str, Field(pattern=r"^(0|[1-9][0-9]{0,9})$")]
LogitBias = Annotated[
    dict[TokenIdKey, Annotated[float, Field(ge=-100.0, le=100.0)]],
    Field(
        max_length=MAX_LOGIT_BIAS,
        description="Token id (a decimal string, in the model's vocabulary) to a bias from "
        "-100 to 100 added to its logit before sampling; -100 bans the token, 100 forces it.",
    ),
]
StopString = Annotated[StrictStr, Field(max_length=MAX_STOP_LENGTH)]
Stop = StopString | Annotated[list[StopString], Field(max_length=MAX_STOP_SEQUENCES)]
MinTokens = Annotated[
    StrictInt,
    Field(
        ge=0,
        le=MAX_TOKENS,
        description="vLLM's extension: the end of the answer (and stop_token_ids) is masked "
        "until this many tokens are written.",
    ),
    INTEGRAL,
]
StopTokenIds = Annotated[
    list[TokenId],
    Field(
        max_length=MAX_STOP_TOKEN_IDS,
        description="vLLM's extension: the answer ends at any of these token ids.",
    ),
]
BadWords = Annotated[
    list[Annotated[StrictStr, Field(min_length=1, max_length=MAX_STOP_LENGTH)]],
    Field(
        max_length=MAX_BAD_WORDS,
        description="vLLM's extension: words never written (the last token of each is masked "
        "where the rest of the word was just written).",
    ),
]
AllowedTokenIds = Annotated[
    list[TokenId],
    Field(
        min_length=1,
        max_length=MAX_ALLOWED_TOKEN_IDS,
        description="vLLM's extension: only these token ids may be written.",
    ),
]
SchemaName = Annotated[
    str,
    Field(
        pattern=NAME_PATTERN,
        description="The name, as the model writes it: letters, digits, _ and -, up to 64.",
    ),
]
Preset = Annotated[
    PresetName,
    Field(
        description="This server's extension: a named set of sampling parameters (GET "
        "/v1/sampling/presets) that fills what the request leaves unset."
    ),
]
LogprobsMode = Annotated[
    Literal["raw", "processed"],
    Field(
        description="Which distribution logprobs report: raw, the model's own; processed, "
        "the one the token was drawn from (after every stage; cut tokens -9999). Left out: "
        "the server's --logprobs-mode."
    ),
]
# OpenAI's bounds: 16 pairs, keys up to 64 characters, values up to 512.
Metadata = Annotated[
    dict[Annotated[str, Field(max_length=64)], Annotated[StrictStr, Field(max_length=512)]],
    Field(
        max_length=16,
        description="Up to 16 string pairs (keys up to 64 characters, values up to 512), "
        "echoed back; nothing here reads them.",
    ),
]
ServiceTier = Annotated[
    Literal["auto", "default", "flex", "scale", "priority", "fast", "ultrafast"],
    Field(description="No effect: one engine, one tier (answers say `default`)."),
]
ReasoningEffort = Annotated[
    Literal["none", "minimal", "low", "medium", "high", "xhigh", "max"],
    Field(description="No effect: the model does not reason."),
]
Verbosity = Annotated[
    Literal["low", "medium", "high"],
    Field(description="No effect: the model writes at one length."),
]


def _depth(value: Any) -> int:
    """Nesting depth of a JSON value, without recursion (so that depth itself cannot crash)."""
    deepest = 0
    stack = [(value, 1)]
    while stack:
        item, level = stack.pop()
        if isinstance(item, dict | list):
            deepest = max(deepest, level)
            children = item.values() if isinstance(item, dict) else item
            stack.extend((child, level + 1) for child in children)
    return deepest


def _shallow(schema: dict[str, Any]) -> dict[str, Any]:
    if _depth(schema) > MAX_SCHEMA_DEPTH:
        raise ValueError(f"the schema is nested deeper than {MAX_SCHEMA_DEPTH} levels")
    return schema


JSONSchemaBody = Annotated[dict[str, Any], AfterValidator(_shallow)]


# Deeper JSON in a call's arguments is no real call, and Python's json module recurses.
MAX_ARGUMENTS_DEPTH = 64


def json_text_depth(text: str) -> int:
    """How deeply the brackets of JSON text nest, counted without parsing (and so without
    recursion); brackets inside strings do not count."""
    depth = deepest = 0
    in_string = escaped = False
    for char in text:
        if in_string:
            if escaped:
                escaped = False
            elif char == "\\":
                escaped = True
            elif char == '"':
                in_string = False
        elif char == '"':
            in_string = True
        elif char in "[{":
            depth += 1
            deepest = max(deepest, depth)
        elif char in "]}":
            depth -= 1
    return deepest


def _shallow_arguments(text: str) -> str:
    if json_text_depth(text) > MAX_ARGUMENTS_DEPTH:
        raise ValueError(f"the arguments are nested deeper than {MAX_ARGUMENTS_DEPTH} levels")
    return text


CallArguments = Annotated[
    StrictStr,
    AfterValidator(_shallow_arguments),
    Field(description="The call's arguments, as JSON text (nested up to 64 levels)."),
]
