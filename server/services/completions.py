"""Legacy completions: raw prompts (text, texts, token ids), echo, and the legacy logprobs
shape that evaluation harnesses score text with."""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass

from server.engine.engine import Engine
from server.protocol.completions import (
    DOCUMENT_BOUNDARY,
    Completion,
    CompletionChoice,
    CompletionLogprobs,
    CompletionRequest,
)
from server.protocol.errors import APIError, sse_error
from server.sampling.logprobs import completion_logprobs, concat, echo_logprobs
from server.sampling.outputs import ChoiceOutput
from server.sampling.params import EffectiveSampling, OutputRequest, resolve, token_rules
from server.services.budget import Limits, output_budget
from server.services.checks import (
    check_logit_bias,
    check_model,
    check_stream_options,
    check_token_ids,
    check_token_rules,
)
from server.services.fan_out import choice_deltas
from server.services.ids import new_id, now
from server.services.samplers import check_samplers, logprobs_from
from server.services.streams import merge
from server.services.usage import CachedTokens, usage
from server.settings import SamplingDefaults


@dataclass(frozen=True)
class PreparedPrompt:
    text: str
    ids: list[int]
    output: OutputRequest


@dataclass(frozen=True)
class PreparedCompletion:
    request: CompletionRequest
    prompts: list[PreparedPrompt]
    sampling: EffectiveSampling

    @property
    def scoring_only(self) -> bool:
        """echo with max_tokens 0: return the prompt with its logprobs, generate nothing."""
        return self.request.echo and self.request.max_tokens == 0


@dataclass
class _ChoiceState:
    """Per choice while streaming: whether the prompt was echoed, where the text stands."""

    echoed: bool = False
    offset: int = 0


class Completions:
    def __init__(
        self,
        engine: Engine,
        defaults: SamplingDefaults,
        limits: Limits,
        logprobs_mode: str = "raw",
    ) -> None:
        self._engine = engine
        self._defaults = defaults
        self._limits = limits
        self._logprobs_mode = logprobs_mode

    def prepare(self, request: CompletionRequest) -> PreparedCompletion:
        info = self._engine.info
        check_model(request.model, info)
        check_logit_bias(request, info)
        check_stream_options(request)
        if request.max_tokens == 0 and not request.echo:
            raise APIError(
                "max_tokens must be at least 1 (0 is only allowed with echo, to score the prompt).",
                param="max_tokens",
                code="invalid_value",
            )
        sampling = resolve(request, self._defaults)
        check_samplers(sampling)
        source = "engine"
        if request.logprobs is not None:
            source = logprobs_from(request, sampling, self._logprobs_mode, token_rules(request))
        prompts = []
        for text, ids in self._prompts(request):
            if not ids:  # an empty prompt starts at the document boundary, as a null one
                ids = self._engine.encode(DOCUMENT_BOUNDARY)
            if request.max_tokens == 0:
                wanted = 1
                output_budget(len(ids), None, info, "prompt", self._limits)
            else:
                wanted = output_budget(len(ids), request.max_tokens, info, "prompt", self._limits)
            output = OutputRequest(
                max_tokens=wanted,
                logprobs=request.logprobs,
                logprobs_from=source,
                prompt_logprobs=request.logprobs if request.echo else None,
                stream=request.stream,
            )
            prompts.append(PreparedPrompt(text, ids, output))
        # once for the whole request, against the smallest budget of its prompts
        budget = min(prompt.output.max_tokens for prompt in prompts)
        check_token_rules(request, info, budget, constrained=False)
        return PreparedCompletion(request, prompts, sampling)

    def _prompts(self, request: CompletionRequest) -> list[tuple[str, list[int]]]:
        prompt = request.prompt
        if isinstance(prompt, str):
            return [(prompt, self._engine.encode(prompt))]
        if not prompt:
            raise APIError("The prompt must not be empty.", param="prompt")
        if all(isinstance(p, str) for p in prompt):
            return [(p, self._engine.encode(p)) for p in prompt]  # type: ignore[arg-type]
        info = self._engine.info
        if all(isinstance(p, int) for p in prompt):
            ids = list(prompt)  # type: ignore[arg-type]
            check_token_ids(ids, info, "prompt")
            return [(self._engine.decode(ids), ids)]
        for p in prompt:
            check_token_ids(p, info, "prompt")  # type: ignore[arg-type]
        return [(self._engine.decode(p), list(p)) for p in prompt]  # type: ignore[arg-type]

    def _deltas(self, prepared: PreparedCompletion, request_id: str) -> AsyncIterator[ChoiceOutput]:
        n = prepared.request.n
        return merge(
            [
                choice_deltas(
                    self._engine,
                    prompt.ids,
                    prepared.request,
                    prepared.sampling,
                    prompt.output,
                    f"{request_id}-{p}",
                    first_index=p * n,
                )
                for p, prompt in enumerate(prepared.prompts)
            ]
        )

    def _prompt_of(self, prepared: PreparedCompletion, index: int) -> PreparedPrompt:
        return prepared.prompts[index // prepared.request.n]

    def _render(
        self, prepared: PreparedCompletion, delta: ChoiceOutput, state: _ChoiceState
    ) -> tuple[str, CompletionLogprobs | None]:
        """The text and logprobs this delta adds, the echoed prompt first."""
        request = prepared.request
        vocab = self._engine.vocabulary
        prompt = self._prompt_of(prepared, delta.index)
        text = ""
        logprobs = None
        if request.logprobs is not None:
            logprobs = CompletionLogprobs(
                tokens=[], token_logprobs=[], top_logprobs=[], text_offset=[]
            )
        if not state.echoed:
            state.echoed = True
            if request.echo:
                text = prompt.text
                if logprobs is not None and delta.prompt_logprobs is not None:
                    logprobs = echo_logprobs(prompt.ids, delta.prompt_logprobs, vocab)
            state.offset = len(prompt.text)
        if prepared.scoring_only:
            return text, logprobs
        text += delta.text
        if logprobs is not None and delta.logprobs is not None:
            generated = completion_logprobs(delta.logprobs, vocab, state.offset)
            logprobs = concat(logprobs, generated)
        state.offset += len(delta.text)
        return text, logprobs

    def _completion_tokens(self, prepared: PreparedCompletion, delta: ChoiceOutput) -> int:
        return 0 if prepared.scoring_only else len(delta.token_ids)

    async def complete(self, prepared: PreparedCompletion) -> Completion:
        request_id = new_id("cmpl")
        finals: dict[int, ChoiceOutput] = {}
        async for delta in self._deltas(prepared, request_id):
            finals[delta.index] = delta
        choices = []
        for index in sorted(finals):
            delta = finals[index]
            text, logprobs = self._render(prepared, delta, _ChoiceState())
            choices.append(
                CompletionChoice(
                    index=index,
                    text=text,
                    logprobs=logprobs,
                    finish_reason="length" if prepared.scoring_only else delta.finish_reason,  # type: ignore[arg-type]
                )
            )
        prompt_tokens = sum(len(p.ids) for p in prepared.prompts)
        generated = sum(self._completion_tokens(prepared, d) for d in finals.values())
        cached = CachedTokens(prepared.request.n)
        for delta in finals.values():
            cached.see(delta)
        return Completion(
            id=request_id,
            created=now(),
            model=self._engine.info.id,
            choices=choices,
            usage=usage(prompt_tokens, generated, cached.total),
            system_fingerprint=self._engine.info.fingerprint,
        )

    async def stream(self, prepared: PreparedCompletion) -> AsyncIterator[str]:
        request = prepared.request
        request_id = new_id("cmpl")
        created = now()
        info = self._engine.info
        states: dict[int, _ChoiceState] = {}
        generated = 0
        cached = CachedTokens(request.n)

        def event(choices: list[CompletionChoice], with_usage: bool = False) -> str:
            body = Completion(
                id=request_id,
                created=created,
                model=info.id,
                choices=choices,
                usage=usage(prompt_tokens, generated, cached.total) if with_usage else None,
                system_fingerprint=info.fingerprint,
            )
            return f"data: {body.model_dump_json()}\n\n"

        prompt_tokens = sum(len(p.ids) for p in prepared.prompts)
        try:
            async for delta in self._deltas(prepared, request_id):
                generated += self._completion_tokens(prepared, delta)
                cached.see(delta)
                text, logprobs = self._render(
                    prepared, delta, states.setdefault(delta.index, _ChoiceState())
                )
                finish = delta.finish_reason
                if finish and prepared.scoring_only:
                    finish = "length"
                if text or finish or (logprobs and logprobs.tokens):
                    choice = CompletionChoice(
                        index=delta.index,
                        text=text,
                        logprobs=logprobs,
                        finish_reason=finish,  # type: ignore[arg-type]
                    )
                    yield event([choice])
        except APIError as error:
            yield sse_error(error)
        else:
            if request.stream_options and request.stream_options.include_usage:
                yield event([], with_usage=True)
        yield "data: [DONE]\n\n"
