"""HTTP routes: parse, hand to a service, answer JSON or server-sent events."""

from __future__ import annotations

from importlib.metadata import version as package_version
from typing import Annotated

from fastapi import APIRouter, Depends, Path, Request
from fastapi.responses import JSONResponse
from fastapi.responses import Response as RawResponse
from prometheus_client import CONTENT_TYPE_LATEST
from vllm import __version__ as vllm_version

from server.http.auth import require_api_key
from server.http.openapi import errors
from server.http.runtime import Runtime, Services
from server.http.streaming import admit, event_stream, whole
from server.protocol.chat import ChatCompletion, ChatCompletionRequest
from server.protocol.completions import Completion, CompletionRequest
from server.protocol.errors import APIError
from server.protocol.inspect import Inspection, InspectRequest
from server.protocol.models import Model, ModelList
from server.protocol.presets import PRESETS, SamplingPreset
from server.protocol.samplers import ChainOrders, chain_orders
from server.protocol.tokenize import (
    DetokenizeRequest,
    DetokenizeResponse,
    TokenizeRequest,
    TokenizeResponse,
)
from server.services.checks import check_model
from server.services.off_loop import off_loop

router = APIRouter(dependencies=[Depends(require_api_key)], responses=errors(401))
STREAMED = {200: {"content": {"text/event-stream": {}}}}
open_router = APIRouter()


async def _runtime(request: Request) -> Runtime:
    return request.app.state.runtime


async def _services(runtime: Annotated[Runtime, Depends(_runtime)]) -> Services:
    """The services while the engine serves; 503 before (loading) and after (failed, or
    stopping), so that no request reaches a dead engine."""
    if runtime.state == "loading":
        raise APIError(
            "The model is still loading; retry when GET /health answers 200.",
            status=503,
            type="service_unavailable",
            code="model_loading",
        )
    if runtime.state != "ready" or runtime.services is None:
        raise APIError(
            "The engine is not serving (it failed or the server is stopping); retry on "
            "another replica or after a restart.",
            status=503,
            type="service_unavailable",
            code="engine_unavailable",
        )
    return runtime.services


ServicesDep = Annotated[Services, Depends(_services)]


@open_router.get("/health", tags=["server"])
async def health(runtime: Annotated[Runtime, Depends(_runtime)]) -> JSONResponse:
    """200 once the engine is ready; 503 while it loads or after it failed."""
    if runtime.services is None:
        return JSONResponse({"status": runtime.state}, status_code=503)
    try:
        await runtime.services.engine.check_health()
    except Exception:
        return JSONResponse({"status": "engine_dead"}, status_code=503)
    return JSONResponse({"status": "ok"})


@router.get("/v1/models", tags=["models"], responses=errors(503))
async def list_models(services: ServicesDep) -> ModelList:
    return ModelList(data=[services.model_card()])


@router.get("/v1/models/{model_id:path}", tags=["models"], responses=errors(404, 503))
async def retrieve_model(
    model_id: Annotated[str, Path(description="The model's id; only the served one is found.")],
    services: ServicesDep,
) -> Model:
    check_model(model_id, services.engine.info)
    return services.model_card()


@router.post(
    "/v1/chat/completions",
    tags=["chat"],
    response_model=ChatCompletion,
    responses={**STREAMED, **errors(400, 404, 413, 429, 503)},
)
async def create_chat_completion(
    body: ChatCompletionRequest, services: ServicesDep, request: Request
):
    prepared = await off_loop(services.chat.prepare, body)
    release = admit(request, body.n, "n")
    if body.stream:
        return event_stream(services.chat.stream(prepared), release)
    return await whole(request, services.chat.complete(prepared), release)


@router.post(
    "/v1/completions",
    tags=["completions"],
    response_model=Completion,
    responses={**STREAMED, **errors(400, 404, 413, 429, 503)},
)
async def create_completion(body: CompletionRequest, services: ServicesDep, request: Request):
    fanout, param = body.prompt_count() * body.n, "n" if body.n > 1 else "prompt"
    request.app.state.admission.check_fanout(fanout, param)  # before tokenizing the prompts
    prepared = await off_loop(services.completions.prepare, body)
    release = admit(request, fanout, param)
    if body.stream:
        return event_stream(services.completions.stream(prepared), release)
    return await whole(request, services.completions.complete(prepared), release)


@router.post("/v1/tokenize", tags=["tokenization"], responses=errors(400, 404, 413, 503))
async def tokenize(body: TokenizeRequest, services: ServicesDep) -> TokenizeResponse:
    """Token ids and strings with the model's own tokenizer (and chat template for messages)."""
    return await off_loop(services.tokenization.tokenize, body)


@router.post("/v1/detokenize", tags=["tokenization"], responses=errors(400, 404, 413, 503))
async def detokenize(body: DetokenizeRequest, services: ServicesDep) -> DetokenizeResponse:
    return await off_loop(services.tokenization.detokenize, body)


@router.post("/v1/sampling/inspect", tags=["sampling"], responses=errors(400, 404, 413, 429, 503))
async def inspect_sampling(
    body: InspectRequest, services: ServicesDep, request: Request
) -> Inspection:
    """Explain each generated position: the raw distribution, what temperature, min_p,
    top-k and top-p made of it, and which token was drawn."""
    prepared = await off_loop(services.inspector.prepare, body)
    release = admit(request, 1, "messages")
    return await whole(request, services.inspector.inspect(prepared), release)


@open_router.get("/version", tags=["server"])
async def version() -> dict[str, str]:
    return {"version": package_version("sampling-server"), "vllm": vllm_version}


@open_router.get("/metrics", tags=["server"], include_in_schema=False)
async def metrics(request: Request) -> RawResponse:
    return RawResponse(request.app.state.metrics.exposition(), media_type=CONTENT_TYPE_LATEST)


@router.get("/v1/sampling/orders", tags=["sampling"])
async def sampling_orders() -> ChainOrders:
    """The sampler chain's stage names and named orders, as `samplers` takes them."""
    return chain_orders()


@router.get("/v1/sampling/presets", tags=["sampling"])
async def sampling_presets() -> list[SamplingPreset]:
    """The named presets a request can use with `"preset": NAME`."""
    return list(PRESETS.values())
