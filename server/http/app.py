"""The app factory: routes, middleware, the error path, and the engine's life inside the
app's."""

from __future__ import annotations

import asyncio
import contextlib
import gc
import logging
from collections.abc import AsyncIterator, Awaitable, Callable

import psutil
from fastapi import FastAPI
from fastapi.middleware.cors import CORSMiddleware

from server.engine.engine import Engine
from server.http import (
    compaction,
    conversations,
    error_handlers,
    input_tokens,
    playground,
    responses,
    websocket,
)
from server.http.admission import Admission
from server.http.middleware import ServerMiddleware
from server.http.routes import open_router, router
from server.http.runtime import Runtime, Services, open_keeper
from server.metrics import Metrics
from server.settings import Settings

log = logging.getLogger(__name__)

EngineStarter = Callable[[Metrics], Awaitable[Engine]]
WATCH_INTERVAL_S = 1.0


def create_app(
    settings: Settings,
    start_engine: EngineStarter,
    on_engine_failure: Callable[[], None] | None = None,
) -> FastAPI:
    """The engine starts in the background so that /health can answer 503 meanwhile; it is
    shut down, with its worker processes, when the app stops. If it cannot start, or dies
    later, /health turns 503 and `on_engine_failure` lets the process stop (and exit
    non-zero) so that a supervisor restarts it."""
    runtime = Runtime()
    metrics = Metrics()

    async def failed(reason: str) -> None:
        """/health turns 503 at once; the process stops one watch interval later, so that
        health checkers see the failure before the listening socket closes."""
        log.error("engine failure: %s", reason)
        runtime.state = "failed"
        metrics.engine_up.set(0)
        app.state.engine_failed = True
        if on_engine_failure is not None:
            await asyncio.sleep(WATCH_INTERVAL_S)
            on_engine_failure()

    async def load() -> None:
        try:
            keeper = await asyncio.to_thread(open_keeper, settings)
        except Exception:
            log.exception("the response store could not be opened")
            await failed("start-up")
            return
        failed_runs = await keeper.fail_unfinished()
        if failed_runs:
            log.warning("%d background responses of a stopped server marked failed", failed_runs)
        try:
            engine = await start_engine(metrics)
        except Exception:
            log.exception("the engine failed to start")
            keeper.close()
            await failed("start-up")
            return
        runtime.services = Services.over(engine, settings, keeper)
        _freeze_startup_heap()
        runtime.state = "ready"
        metrics.engine_up.set(1)
        log.info("engine ready: serving %s", engine.info.id)
        while runtime.state == "ready":
            await asyncio.sleep(WATCH_INTERVAL_S)
            if engine.errored:
                await failed("the engine died")
                return

    @contextlib.asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        loading = asyncio.create_task(load())
        try:
            yield
        finally:
            was_loading = runtime.state == "loading"
            runtime.state = "stopping"
            loading.cancel()
            if was_loading:
                # Stopped while the model loads: stop now, not after the load. The engine's
                # processes go first; the loading thread then fails and ends.
                log.info("stopping during model loading: stopping the engine's processes")
                _stop_child_processes()
            if runtime.services is not None:
                services, runtime.services = runtime.services, None
                # Background responses get the shutdown's grace to finish, then are recorded
                # as failed; the store closes after the last write.
                await services.responses.runs.drain(settings.shutdown_timeout)
                services.engine.shutdown()
                services.responses.keeper.close()

    app = FastAPI(
        title="sampling-server",
        summary="OpenAI-compatible API over vLLM, with sampling you can see.",
        lifespan=lifespan,
    )
    app.state.runtime = runtime
    app.state.metrics = metrics
    app.state.admission = Admission(
        settings.max_concurrent_requests, settings.max_request_fanout, metrics
    )
    app.state.api_keys = tuple(
        key.get_secret_value() for key in [settings.api_key, *settings.api_keys] if key
    )
    app.state.engine_failed = False
    error_handlers.install(app)
    app.include_router(open_router)
    app.include_router(router)
    app.include_router(compaction.router)
    app.include_router(responses.router)
    app.include_router(input_tokens.router)
    app.include_router(conversations.router)
    app.include_router(websocket.router)
    app.include_router(playground.router)
    if settings.cors_origins:
        app.add_middleware(
            CORSMiddleware,
            allow_origins=settings.cors_origins,
            allow_methods=["*"],
            allow_headers=["*"],
        )
    app.add_middleware(
        ServerMiddleware,
        metrics=metrics,
        max_body_bytes=settings.max_body_bytes,
    )
    return app


def _stop_child_processes() -> None:
    """Kill the engine's processes (all of this process's children) still starting."""
    children = psutil.Process().children(recursive=True)
    for child in children:
        with contextlib.suppress(psutil.NoSuchProcess):
            child.kill()
    psutil.wait_procs(children, timeout=10)


def _freeze_startup_heap() -> None:
    """Move what start-up built (the tokenizer, the vocabulary tables, the app) out of the
    garbage collector's sight, as `vllm serve` does: otherwise every full collection walks
    those hundreds of thousands of objects again, a cost that grows with the request rate."""
    gc.collect()
    gc.freeze()
