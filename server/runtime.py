"""What the app holds while it runs: the engine, once ready, and the services over it."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

from server.chat import ChatCompletions
from server.completions import Completions
from server.engine import Engine
from server.generation import now
from server.schemas.models import Model
from server.settings import SamplingDefaults


@dataclass(frozen=True)
class Services:
    engine: Engine
    chat: ChatCompletions
    completions: Completions
    created: int

    @classmethod
    def over(cls, engine: Engine, defaults: SamplingDefaults) -> Services:
        return cls(
            engine=engine,
            chat=ChatCompletions(engine, defaults),
            completions=Completions(engine, defaults),
            created=now(),
        )

    def model_card(self) -> Model:
        info = self.engine.info
        return Model(
            id=info.id,
            created=self.created,
            owned_by="sampling-server",
            max_model_len=info.max_model_len,
        )


@dataclass
class Runtime:
    state: Literal["loading", "ready", "failed", "stopping"] = "loading"
    services: Services | None = field(default=None)
