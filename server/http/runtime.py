"""What the app holds while it runs: the engine, once ready, and the services over it."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

from server.engine.engine import Engine
from server.protocol.models import Model
from server.services.budget import Limits
from server.services.chat import ChatCompletions
from server.services.completions import Completions
from server.services.ids import now
from server.services.inspector import Inspector
from server.services.responses import Responses
from server.services.tokenization import Tokenization
from server.settings import Settings


@dataclass(frozen=True)
class Services:
    engine: Engine
    chat: ChatCompletions
    completions: Completions
    inspector: Inspector
    responses: Responses
    tokenization: Tokenization
    logprobs_mode: str
    created: int

    @classmethod
    def over(cls, engine: Engine, settings: Settings) -> Services:
        defaults = settings.sampling_defaults
        limits = Limits(
            settings.max_prompt_tokens,
            settings.max_tokens_limit,
            settings.max_inspect_candidates,
            settings.inspect_prefills,
        )
        chat = ChatCompletions(engine, defaults, limits, settings.json_whitespace)
        return cls(
            engine=engine,
            chat=chat,
            completions=Completions(engine, defaults, limits),
            inspector=Inspector(engine, defaults, settings.logprobs_mode, limits),
            responses=Responses(chat),
            tokenization=Tokenization(engine),
            logprobs_mode=settings.logprobs_mode,
            created=now(),
        )

    def model_card(self) -> Model:
        info = self.engine.info
        return Model(
            id=info.id,
            created=self.created,
            owned_by="sampling-server",
            max_model_len=info.max_model_len,
            logprobs_mode=self.logprobs_mode,  # type: ignore[arg-type]
        )


@dataclass
class Runtime:
    state: Literal["loading", "ready", "failed", "stopping"] = "loading"
    services: Services | None = field(default=None)
