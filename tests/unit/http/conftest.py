"""The app with two API keys over a stand-in chat service and the response store on each
database, driven by Starlette's TestClient: one event loop serves all of a test's requests,
so a background response keeps running between them."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Iterator
from dataclasses import replace

import pytest
from fastapi.testclient import TestClient

from server.engine.engine import ModelInfo
from server.http.app import create_app
from server.metrics import Metrics
from server.protocol.chat import ChatCompletionRequest
from server.sampling.outputs import ChoiceOutput
from server.sampling.params import EffectiveSampling, OutputRequest, resolve
from server.sampling.vocabulary import Vocabulary
from server.services.background import Runs
from server.services.chat import FieldNames, PreparedChat
from server.services.responses import Responses
from server.services.stored import Keeper
from server.settings import SamplingDefaults, load_settings
from server.store.database import ResponseStore, Retention
from server.tools.plan import ToolPlan

KEY_A, KEY_B = "key-a", "key-b"
A = {"authorization": f"Bearer {KEY_A}"}
B = {"authorization": f"Bearer {KEY_B}"}
HOLD = "hold"  # an input whose answer runs until it is cancelled


class FakeEngine:
    """What the app reads of the engine outside the chat service."""

    info = ModelInfo(id="m", max_model_len=64, vocab_size=4)
    vocabulary = Vocabulary((b"a", b"b", b"c", b"d"))
    errored = False

    async def check_health(self) -> None:
        return None

    def shutdown(self) -> None:
        return None


class FakeChat:
    """Answers "Hi." to anything, except that after "Hi" it waits for a cancel on HOLD."""

    model_id = "m"

    def prepare(
        self,
        request: ChatCompletionRequest,
        tools: ToolPlan | None = None,
        names: FieldNames | None = None,
    ) -> PreparedChat:
        return PreparedChat(
            request,
            [1, 2],
            OutputRequest(max_tokens=8),
            resolve(request, SamplingDefaults()),
            tools,
        )

    async def deltas(self, prepared: PreparedChat, request_id: str) -> AsyncIterator[ChoiceOutput]:
        yield ChoiceOutput(0, "Hi", (1,), None, None, None)
        if prepared.request.messages[-1].content == HOLD:
            await asyncio.Event().wait()
        yield ChoiceOutput(0, ".", (2,), None, "stop", None)

    def sampling(self, prepared: PreparedChat) -> EffectiveSampling:
        return resolve(prepared.request, SamplingDefaults())

    def logprobs(self, prepared: PreparedChat, delta: ChoiceOutput) -> list:
        return []


async def _start(metrics: Metrics) -> FakeEngine:
    return FakeEngine()


@pytest.fixture
def client(store: ResponseStore) -> Iterator[TestClient]:
    """Keys A and B; the Responses service over FakeChat and `store`."""
    keys = ["--api-key", KEY_A, "--api-keys", f'["{KEY_B}"]']
    settings = load_settings(["--no-store", "--shutdown-timeout", "0", *keys])
    app = create_app(settings, _start)  # type: ignore[arg-type]
    with TestClient(app) as test_client:
        runtime = app.state.runtime
        deadline = time.monotonic() + 20
        while runtime.state != "ready" and time.monotonic() < deadline:
            time.sleep(0.01)
        assert runtime.services is not None
        keeper = Keeper(store, Retention(86_400, 100))
        responses = Responses(FakeChat(), keeper, Runs())  # type: ignore[arg-type]
        runtime.services = replace(runtime.services, responses=responses)
        yield test_client
