"""The app factory: routes, the error path, and the engine's life inside the app's."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator, Awaitable, Callable

from fastapi import FastAPI

from server import errors, playground
from server.engine import Engine
from server.routes import router
from server.runtime import Runtime, Services
from server.settings import Settings

log = logging.getLogger(__name__)

EngineStarter = Callable[[], Awaitable[Engine]]


def create_app(
    settings: Settings,
    start_engine: EngineStarter,
    on_engine_failure: Callable[[], None] | None = None,
) -> FastAPI:
    """The engine starts in the background so that /health can answer 503 meanwhile; it is
    shut down, with its worker processes, when the app stops. `on_engine_failure` lets the
    process stop (and exit non-zero) when the engine cannot start."""
    runtime = Runtime()

    async def load() -> None:
        try:
            engine = await start_engine()
        except Exception:
            log.exception("the engine failed to start")
            runtime.state = "failed"
            app.state.startup_failed = True
            if on_engine_failure is not None:
                on_engine_failure()
            return
        runtime.services = Services.over(engine, settings)
        runtime.state = "ready"
        log.info("engine ready: serving %s", engine.info.id)

    @contextlib.asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        loading = asyncio.create_task(load())
        try:
            yield
        finally:
            runtime.state = "stopping"
            if not loading.done():
                await asyncio.shield(loading)
            if runtime.services is not None:
                runtime.services.engine.shutdown()
                runtime.services = None

    app = FastAPI(
        title="sampling-server",
        summary="OpenAI-compatible API over vLLM, with sampling you can see.",
        lifespan=lifespan,
    )
    app.state.runtime = runtime
    app.state.startup_failed = False
    errors.install(app)
    app.include_router(router)
    app.include_router(playground.router)
    return app
