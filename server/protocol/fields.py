"""One definition of every field that several request models share, with the bounds the
engine really takes: whatever these accept, vLLM accepts (tests/unit/test_schema_bounds.py
checks it), and the bounds show in /openapi.json."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import AfterValidator, BeforeValidator, Field, StrictInt, StrictStr

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
Temperature = Annotated[float, Field(ge=0.0, le=2.0)]
# 0 keeps only the most likely token (OpenAI allows it; vLLM needs > 0: server/sampling/params.py).
TopP = Annotated[float, Field(ge=0.0, le=1.0)]
TopK = Annotated[StrictInt, Field(ge=-1, le=TOKEN_ID_MAX, description="-1 or 0: off."), INTEGRAL]
MinP = Annotated[float, Field(ge=0.0, le=1.0)]
Penalty = Annotated[float, Field(ge=-2.0, le=2.0)]
RepetitionPenalty = Annotated[float, Field(gt=0.0, le=2.0)]
Seed = Annotated[StrictInt, Field(ge=SEED_MIN, le=SEED_MAX), INTEGRAL]
MaxTokens = Annotated[StrictInt, Field(ge=1, le=MAX_TOKENS), INTEGRAL]
TokenId = Annotated[StrictInt, Field(ge=0, le=TOKEN_ID_MAX), INTEGRAL]
TokenIdKey = Annotated[str, Field(pattern=r"^(0|[1-9][0-9]{0,9})$")]
LogitBias = Annotated[
    dict[TokenIdKey, Annotated[float, Field(ge=-100.0, le=100.0)]],
    Field(max_length=MAX_LOGIT_BIAS),
]
StopString = Annotated[StrictStr, Field(max_length=MAX_STOP_LENGTH)]
Stop = StopString | Annotated[list[StopString], Field(max_length=MAX_STOP_SEQUENCES)]
MinTokens = Annotated[StrictInt, Field(ge=0, le=MAX_TOKENS), INTEGRAL]
StopTokenIds = Annotated[list[TokenId], Field(max_length=MAX_STOP_TOKEN_IDS)]
BadWords = Annotated[
    list[Annotated[StrictStr, Field(min_length=1, max_length=MAX_STOP_LENGTH)]],
    Field(max_length=MAX_BAD_WORDS),
]
AllowedTokenIds = Annotated[list[TokenId], Field(min_length=1, max_length=MAX_ALLOWED_TOKEN_IDS)]
SchemaName = Annotated[str, Field(pattern=NAME_PATTERN)]
# The samplers beyond vLLM's (server/sampling/samplers), with llama.cpp's names and meanings.
MAX_DRY_BREAKERS = 32
DryMultiplier = Annotated[float, Field(ge=0.0, le=100.0, description="0: DRY off.")]
DryBase = Annotated[float, Field(ge=1.0, le=8.0)]
DryAllowedLength = Annotated[StrictInt, Field(ge=1, le=1024), INTEGRAL]
DryPenaltyLastN = Annotated[
    StrictInt, Field(ge=-1, le=2**20, description="-1: the whole context, 0: off."), INTEGRAL
]
DryBreakers = Annotated[
    list[Annotated[StrictStr, Field(min_length=1, max_length=64)]],
    Field(max_length=MAX_DRY_BREAKERS),
]
Probability = Annotated[float, Field(ge=0.0, le=1.0)]
XtcThreshold = Annotated[float, Field(ge=0.0, le=1.0, description="Above 0.5: XTC off.")]
TopNSigma = Annotated[float, Field(ge=-1.0, le=100.0, description="0 or less: off.")]
Mirostat = Annotated[
    Literal[0, 2], Field(description="0: off; 2: Mirostat 2.0 (1.0 is not implemented)."), INTEGRAL
]
MirostatTau = Annotated[float, Field(ge=0.0, le=64.0)]
MirostatEta = Annotated[float, Field(ge=0.0, le=1.0)]
# OpenAI's bounds: 16 pairs, keys up to 64 characters, values up to 512.
Metadata = Annotated[
    dict[Annotated[str, Field(max_length=64)], Annotated[StrictStr, Field(max_length=512)]],
    Field(max_length=16),
]
ServiceTier = Literal["auto", "default", "flex", "scale", "priority", "fast", "ultrafast"]
ReasoningEffort = Literal["none", "minimal", "low", "medium", "high", "xhigh", "max"]
Verbosity = Literal["low", "medium", "high"]


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


CallArguments = Annotated[StrictStr, AfterValidator(_shallow_arguments)]
