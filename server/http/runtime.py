"""What the app holds while it runs: the engine, once ready, and the services over it."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

from server.engine.engine import Engine
from server.protocol.models import Model
from server.services.background import Runs
from server.services.budget import Limits
from server.services.chat import ChatCompletions
from server.services.completions import Completions
from server.services.ids import now
from server.services.inspector import Inspector
from server.services.responses import Responses
from server.services.stored import Keeper
from server.services.tokenization import Tokenization
from server.settings import Settings
from server.store.database import ResponseStore, Retention, database_url


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
    def over(cls, engine: Engine, settings: Settings, keeper: Keeper) -> Services:
        defaults = settings.sampling_defaults
        limits = Limits(
            settings.max_prompt_tokens,
            settings.max_tokens_limit,
            settings.max_inspect_candidates,
            settings.inspect_prefills,
        )
        mode = settings.logprobs_mode
        chat = ChatCompletions(engine, defaults, limits, settings.json_whitespace, mode)
        return cls(
            engine=engine,
            chat=chat,
            completions=Completions(engine, defaults, limits, mode),
            inspector=Inspector(engine, defaults, settings.logprobs_mode, limits),
            responses=Responses(chat, keeper, Runs()),
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


def open_keeper(settings: Settings) -> Keeper:
    """The response store the settings ask for (none with --no-store), opened at start-up
    so that a wrong URL stops the server before it serves."""
    retention = Retention(settings.store_max_age_days * 86_400, settings.store_max_count)
    if not settings.store:
        return Keeper(None, retention)
    return Keeper(ResponseStore(database_url(settings.store_url, settings.cache_dir)), retention)


@dataclass
class Runtime:
    state: Literal["loading", "ready", "failed", "stopping"] = "loading"
    services: Services | None = field(default=None)
