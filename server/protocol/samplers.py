"""The sampler chain as a request sets it, declared once: the stage names (llama.cpp's own,
as its `samplers` request field takes them), the named orders, whether an order can run on
vLLM's own sampler, and the parameters of the samplers vLLM lacks (each with its bounds,
description, default and the value that turns its stage off), from which the request
models, the inspector's report and the engine's configuration derive."""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from functools import cache
from typing import Annotated, Any, Literal

from pydantic import AfterValidator, BaseModel, Field, StrictInt, StrictStr

from server.protocol.fields import INTEGRAL

StageName = Literal[
    "penalties",
    "dry",
    "top_n_sigma",
    "top_k",
    "typ_p",
    "top_p",
    "min_p",
    "xtc",
    "temperature",
    "mirostat",
    "adaptive_p",
]
STAGES: tuple[StageName, ...] = StageName.__args__  # type: ignore[attr-defined]

# vLLM's sampler: DRY (a processor before its penalties), temperature, min_p, this server's
# truncations (argmax-invariant processors), then top-k and top-p.
VLLM_ORDER: tuple[StageName, ...] = (
    "dry",
    "penalties",
    "temperature",
    "min_p",
    "top_n_sigma",
    "typ_p",
    "xtc",
    "mirostat",
    "top_k",
    "top_p",
    "adaptive_p",
)
# llama.cpp's default (common/common.h), temperature last; adaptive-p, like llama.cpp's, runs
# last wherever it is listed.
LLAMA_CPP_ORDER: tuple[StageName, ...] = (
    "penalties",
    "dry",
    "top_n_sigma",
    "top_k",
    "typ_p",
    "top_p",
    "min_p",
    "xtc",
    "temperature",
    "adaptive_p",
)
NamedOrder = Literal["vllm", "llama.cpp"]
ORDERS: dict[str, tuple[StageName, ...]] = {"vllm": VLLM_ORDER, "llama.cpp": LLAMA_CPP_ORDER}
DEFAULT_ORDER: NamedOrder = "vllm"
# Stages that choose the token themselves: they run last.
SELECTING: tuple[StageName, ...] = ("adaptive_p",)
# The stages vLLM's own sampler runs in VLLM_ORDER (adaptive-p must come after its top-p).
NATIVE: tuple[StageName, ...] = VLLM_ORDER[:-1]


def _aliases() -> dict[str, StageName]:
    """llama.cpp's spellings: kebab-case, without the underscore, and a few more."""
    names: dict[str, StageName] = {}
    for stage in STAGES:
        names[stage] = stage
        names[stage.replace("_", "-")] = stage
        names[stage.replace("_", "")] = stage
    names.update(
        nucleus="top_p", temp="temperature", typ="typ_p", typical="typ_p", typical_p="typ_p"
    )
    names["typical-p"] = "typ_p"
    return names


ALIASES = _aliases()
# llama.cpp's one-letter codes (common_sampler_type_to_chr): a string of them is an order.
LETTERS: dict[str, StageName] = {
    "e": "penalties",
    "d": "dry",
    "s": "top_n_sigma",
    "k": "top_k",
    "y": "typ_p",
    "p": "top_p",
    "m": "min_p",
    "x": "xtc",
    "t": "temperature",
    "a": "adaptive_p",
}


def parse_order(value: str | Sequence[str]) -> tuple[StageName, ...]:
    """A named order, a string of llama.cpp's one-letter codes, or stage names in the order
    to run them (case-insensitive, llama.cpp's aliases); the selecting stage moves to the
    end. Raises ValueError naming the problem."""
    if isinstance(value, str):
        if value in ORDERS:
            return ORDERS[value]
        if value and all(letter in LETTERS for letter in value):
            return parse_order([LETTERS[letter] for letter in value])
        raise ValueError(
            f"unknown order {value!r}: give {' or '.join(map(repr, ORDERS))}, llama.cpp's "
            f"letters ({''.join(LETTERS)}), or a list of stage names ({', '.join(STAGES)})"
        )
    order: list[StageName] = []
    for name in value:
        stage = ALIASES.get(name.lower())
        if stage is None:
            raise ValueError(f"unknown stage {name!r}: the stages are {', '.join(STAGES)}")
        if stage in order:
            raise ValueError(f"stage {stage!r} is listed twice")
        order.append(stage)
    return (*[s for s in order if s not in SELECTING], *[s for s in order if s in SELECTING])


def runs_natively(order: Sequence[StageName], active: Callable[[StageName], bool]) -> bool:
    """Whether vLLM's own sampler gives the distribution this order defines: its active
    stages come in the order vLLM runs them (a stage that is off commutes with anything)."""
    steps = [stage for stage in order if active(stage)]
    native = iter(NATIVE)
    return all(stage in native for stage in steps)


def _known_order(value: str | list[str]) -> str | list[str]:
    order = list(parse_order(value))
    return value if isinstance(value, str) and value in ORDERS else order


SamplerOrder = Annotated[
    Annotated[StrictStr, Field(max_length=len(STAGES))]
    | Annotated[list[StrictStr], Field(max_length=len(STAGES))],
    AfterValidator(_known_order),
    Field(
        description="The sampler chain's order, as llama.cpp's `samplers`: `vllm` (the "
        "default: penalties, temperature, min_p, the extra truncations, top_k, top_p), "
        "`llama.cpp` (its default, temperature last), stage names in the order to run "
        f"them ({', '.join(STAGES)}; llama.cpp's spellings too) or llama.cpp's letters "
        "(`kypmt`). A stage left out does not run. An order vLLM's sampler cannot run runs "
        "as this server's processor, exactly."
    ),
]


class ChainOrders(BaseModel):
    """What `samplers` takes: the stage names and the named orders."""

    stages: list[StageName] = Field(description="Every stage, in the default order.")
    orders: dict[str, list[StageName]] = Field(description="The named orders, by name.")
    default: str = Field(description="The order a request that leaves `samplers` out gets.")


def chain_orders() -> ChainOrders:
    return ChainOrders(
        stages=list(VLLM_ORDER),
        orders={name: list(order) for name, order in ORDERS.items()},
        default=DEFAULT_ORDER,
    )


@dataclass(frozen=True)
class Param:
    """A sampler parameter as a request takes it: its type with bounds and description, its
    stage, and the value that turns that stage off (None: it does not)."""

    type: Any
    stage: StageName
    off: Any = None


def param(default: Any, type_: Any, stage: StageName, off: Any = None) -> Any:
    return dataclasses.field(default=default, metadata={"param": Param(type_, stage, off)})


@cache
def sampler_params() -> dict[str, Param]:
    return {f.name: f.metadata["param"] for f in dataclasses.fields(SamplerConfig)}


MAX_DRY_BREAKERS = 32
_Probability = Annotated[float, Field(ge=0.0, le=1.0)]


@dataclass(frozen=True)
class SamplerConfig:
    """The samplers vLLM lacks, with llama.cpp's names, meanings and defaults
    (common/common.h): each is off at its default."""

    dry_multiplier: float = param(
        0.0,
        Annotated[
            float,
            Field(
                ge=0.0,
                le=100.0,
                description="DRY: where the text ends with a repeat, the token that followed "
                "it before loses multiplier x base^(length - allowed_length) from its logit; 0: "
                "DRY off.",
            ),
        ],
        "dry",
        off=0.0,
    )
    dry_base: float = param(
        1.75,
        Annotated[
            float,
            Field(
                ge=1.0, le=8.0, description="How fast DRY's penalty grows with the repeat's length."
            ),
        ],
        "dry",
    )
    dry_allowed_length: int = param(
        2,
        Annotated[
            StrictInt,
            Field(ge=1, le=1024, description="Repeats shorter than this are not penalised by DRY."),
            INTEGRAL,
        ],
        "dry",
    )
    dry_penalty_last_n: int = param(
        -1,
        Annotated[
            StrictInt,
            Field(
                ge=-1,
                le=2**20,
                description="How many tokens back DRY looks: -1 the whole context, 0 off.",
            ),
            INTEGRAL,
        ],
        "dry",
    )
    dry_sequence_breakers: tuple[str, ...] = param(
        ("\n", ":", '"', "*"),
        Annotated[
            list[Annotated[StrictStr, Field(min_length=1, max_length=64)]],
            Field(
                max_length=MAX_DRY_BREAKERS,
                description="A token holding one of these strings ends every repeat DRY tracks.",
            ),
        ],
        "dry",
    )
    xtc_probability: float = param(
        0.0,
        Annotated[
            _Probability,
            Field(
                description="XTC (exclude top choices): the chance, per token, that XTC acts; 0: "
                "off."
            ),
        ],
        "xtc",
        off=0.0,
    )
    xtc_threshold: float = param(
        0.1,
        Annotated[
            float,
            Field(
                ge=0.0,
                le=1.0,
                description="When XTC acts and two or more tokens are at least this likely, all "
                "but the least likely of them are removed; above 0.5: XTC off.",
            ),
        ],
        "xtc",
    )
    top_n_sigma: float = param(
        -1.0,
        Annotated[
            float,
            Field(
                ge=-1.0,
                le=100.0,
                description="Top-n-sigma: only tokens whose logit is within n standard "
                "deviations of the largest are kept; 0 or less: off.",
            ),
        ],
        "top_n_sigma",
        off=-1.0,
    )
    typical_p: float = param(
        1.0,
        Annotated[
            _Probability,
            Field(
                description="Locally typical sampling: tokens whose surprisal is closest to the "
                "entropy are kept until their probability adds up to more than p; 1: off."
            ),
        ],
        "typ_p",
        off=1.0,
    )
    mirostat: int = param(
        0,
        Annotated[
            Literal[0, 2],
            Field(
                description="Mirostat: 0 off; 2 Mirostat 2.0, which steers truncation to keep a "
                "target surprisal (1.0 is not implemented)."
            ),
            INTEGRAL,
        ],
        "mirostat",
        off=0,
    )
    mirostat_tau: float = param(
        5.0,
        Annotated[
            float, Field(ge=0.0, le=64.0, description="Mirostat's target surprisal, in bits.")
        ],
        "mirostat",
    )
    mirostat_eta: float = param(
        0.1,
        Annotated[float, Field(ge=0.0, le=1.0, description="Mirostat's learning rate.")],
        "mirostat",
    )
    adaptive_target: float = param(
        -1.0,
        Annotated[
            float,
            Field(
                ge=-1.0,
                le=1.0,
                description="Adaptive-p (llama.cpp's): reshape the distribution so that tokens "
                "near this probability are the likely ones, steering the average probability "
                "of the tokens drawn to it; below 0: off. It selects the token, so it runs last.",
            ),
        ],
        "adaptive_p",
        off=-1.0,
    )
    adaptive_decay: float = param(
        0.9,
        Annotated[
            float,
            Field(
                ge=0.0,
                le=0.99,
                description="Adaptive-p's memory: the decay of its moving average (about 1 / "
                "(1 - decay) tokens).",
            ),
        ],
        "adaptive_p",
    )

    @property
    def dry(self) -> bool:
        return self.dry_multiplier > 0 and self.dry_penalty_last_n != 0

    @property
    def xtc(self) -> bool:
        return self.xtc_probability > 0 and self.xtc_threshold <= 0.5

    @property
    def nsigma(self) -> bool:
        return self.top_n_sigma > 0

    @property
    def typical(self) -> bool:
        return self.typical_p < 1.0

    @property
    def uses_mirostat(self) -> bool:
        return self.mirostat == 2

    @property
    def adaptive(self) -> bool:
        return self.adaptive_target >= 0

    @property
    def late(self) -> bool:
        """Any of those vLLM's order runs after temperature and min_p (not at temperature 0)."""
        return self.xtc or self.nsigma or self.typical or self.uses_mirostat

    @property
    def any(self) -> bool:
        return self.dry or self.late or self.adaptive
