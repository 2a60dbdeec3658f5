"""The sampling inspector: for each generated position, what the raw distribution was and
what each stage of vLLM's pipeline made of it."""

from __future__ import annotations

import asyncio
import time
from dataclasses import asdict, dataclass

import numpy as np

from server.engine.engine import Engine
from server.protocol.errors import APIError
from server.protocol.inspect import (
    Candidate,
    Inspection,
    InspectParameters,
    InspectRequest,
    InspectStep,
    StageReport,
    Survivors,
    TokenInfo,
)
from server.sampling.outputs import finite
from server.sampling.params import EffectiveSampling, OutputRequest, resolve, to_sampling_params
from server.sampling.replay import Replay
from server.sampling.samplers.config import SamplerArgs
from server.sampling.stages import StepStages, entropy_bits
from server.sampling.vocabulary import Vocabulary
from server.services.budget import Limits, output_budget
from server.services.checks import check_logit_bias, check_model, check_token_ids
from server.services.ids import new_id
from server.services.samplers import check_samplers, sampler_args
from server.services.template import render_messages
from server.settings import SamplingDefaults


@dataclass(frozen=True)
class PreparedInspection:
    request: InspectRequest
    prompt_ids: list[int]  # forced tokens included
    sampling: EffectiveSampling
    samplers: SamplerArgs | None


class Inspector:
    """The request's own sampling gives the tokens (same seed, same tokens as a chat or
    completions request) and, with raw logprobs, the exact full distribution each one was
    drawn from; the chain is then replayed on it (server/sampling/replay.py). With processed
    logprobs the engine reports filtered distributions instead, so the raw ones are read
    through one prefill per position: the same numbers in float32, within bf16 rounding
    (about 1e-2 in probability) in bfloat16."""

    def __init__(
        self,
        engine: Engine,
        defaults: SamplingDefaults,
        logprobs_mode: str,
        limits: Limits,
    ) -> None:
        self._engine = engine
        self._defaults = defaults
        self._logprobs_mode = logprobs_mode
        self._limits = limits

    def prepare(self, request: InspectRequest) -> PreparedInspection:
        check_model(request.model, self._engine.info)
        check_logit_bias(request, self._engine.info)
        check_token_ids(request.forced_tokens or [], self._engine.info, "forced_tokens")
        sampling = resolve(request, self._defaults)
        check_samplers(sampling)
        if request.messages is not None:
            prompt_ids, param = render_messages(self._engine, request.messages), "messages"
        else:
            prompt_ids, param = self._engine.encode(request.prompt or ""), "prompt"
        prompt_ids = prompt_ids + list(request.forced_tokens or [])
        # The same caps as chat and completions: the operator's prompt limit, the context.
        output_budget(
            len(prompt_ids), request.steps, self._engine.info, param, self._limits, "steps"
        )
        listed = request.steps * request.max_candidates
        if listed > self._limits.max_inspect_candidates:
            raise APIError(
                f"steps x max_candidates is {listed}; this server lists at most "
                f"{self._limits.max_inspect_candidates} candidates in one inspection.",
                param="max_candidates",
                code="invalid_value",
            )
        samplers = sampler_args(sampling, self._engine.vocabulary)
        return PreparedInspection(request, prompt_ids, sampling, samplers)

    async def inspect(self, prepared: PreparedInspection) -> Inspection:
        started = time.perf_counter()
        request, sampling = prepared.request, prepared.sampling
        request_id = new_id("inspect")
        params = to_sampling_params(
            sampling, OutputRequest(max_tokens=request.steps), samplers=prepared.samplers
        )
        tokens, distributions = await self._engine.sample_with_distributions(
            prepared.prompt_ids, params, request_id
        )
        if self._logprobs_mode == "processed":
            distributions = await self._prefills(prepared.prompt_ids, tokens, request_id)
        # numpy over the whole vocabulary per step: off the event loop
        steps = await asyncio.to_thread(self._steps, tokens, distributions, prepared)
        return Inspection(
            model=self._engine.info.id,
            logprobs_mode=self._logprobs_mode,  # type: ignore[arg-type]
            parameters=_parameters(prepared),
            text=self._engine.decode(tokens, skip_special_tokens=True),
            steps=steps,
            seconds=round(time.perf_counter() - started, 4),
        )

    async def _prefills(
        self, prompt_ids: list[int], tokens: list[int], request_id: str
    ) -> list[np.ndarray]:
        """Processed mode: the raw distribution of each position through its own prefill, a
        few at a time (--inspect-prefills) so that one inspection cannot flood the engine; one
        failing (or the client leaving) cancels the rest."""
        gate = asyncio.Semaphore(self._limits.inspect_prefills)

        async def one(i: int) -> np.ndarray:
            async with gate:
                return await self._engine.next_token_distribution(
                    prompt_ids + tokens[:i], f"{request_id}-{i}"
                )

        try:
            async with asyncio.TaskGroup() as group:
                tasks = [group.create_task(one(i)) for i in range(len(tokens))]
        except ExceptionGroup as failed:
            raise failed.exceptions[0] from None
        return [task.result() for task in tasks]

    def _steps(
        self, tokens: list[int], distributions: list[np.ndarray], prepared: PreparedInspection
    ) -> list[InspectStep]:
        """Step by step with the same sampler states the engine keeps per request."""
        replay = Replay(prepared.sampling, prepared.samplers, prepared.prompt_ids)
        return [
            self._step(position, token, raw, replay.step(token, raw), prepared.request)
            for position, (token, raw) in enumerate(zip(tokens, distributions, strict=True))
        ]

    def _step(
        self,
        position: int,
        token: int,
        raw: np.ndarray,
        stages: StepStages,
        request: InspectRequest,
    ) -> InspectStep:
        vocab = self._engine.vocabulary
        by_rank = np.argsort(-raw, kind="stable")
        ranks = np.empty_like(by_rank)
        ranks[by_rank] = np.arange(1, by_rank.size + 1)
        survivors = np.flatnonzero(stages.final_probs > 0)
        survivors = survivors[np.argsort(ranks[survivors], kind="stable")]
        chosen = list(by_rank[: request.top_candidates])
        room = max(request.max_candidates - len(chosen), 0)
        listed = set(chosen)
        extra = [int(t) for t in survivors if int(t) not in listed]
        chosen += extra[:room]
        if token not in set(chosen):
            chosen.append(token)
        chosen.sort(key=lambda t: ranks[t])
        min_p, top_k, top_p = (stages.stage(n) for n in ("min_p", "top_k", "top_p"))
        return InspectStep(
            position=position,
            sampled=_token_info(vocab, token),
            sampled_final_prob=float(stages.final_probs[token]),
            greedy=stages.greedy,
            entropy_raw_bits=entropy_bits(stages.raw_probs),
            entropy_final_bits=entropy_bits(stages.final_probs),
            min_p_threshold=min_p.value,
            top_p_cutoff=top_p.value,
            survivors=Survivors(
                vocabulary=int(raw.size),
                after_min_p=int(min_p.kept.sum()),
                after_top_k=int(top_k.kept.sum()),
                after_top_p=int(top_p.kept.sum()),
            ),
            stages=[
                StageReport(
                    name=stage.name,  # type: ignore[arg-type]
                    active=stage.active,
                    survivors=int(stage.kept.sum()),
                    value=stage.value,
                    fired=stage.fired,
                )
                for stage in stages.stages
            ],
            candidates=[
                Candidate(
                    **_token_info(vocab, int(t)).model_dump(),
                    rank=int(ranks[t]),
                    raw_prob=float(stages.raw_probs[t]),
                    raw_logprob=finite(float(raw[t])),
                    adjusted_logprob=finite(float(stages.adjusted[t])),
                    temperature_prob=float(stages.tempered_probs[t]),
                    kept_by_min_p=bool(min_p.kept[t]),
                    kept_by_top_k=bool(top_k.kept[t]),
                    kept_by_top_p=bool(top_p.kept[t]),
                    final_prob=float(stages.final_probs[t]),
                    dry_penalty=float(stages.dry_penalty[t]),
                    cut_by=stages.cut_by(int(t)),  # type: ignore[arg-type]
                )
                for t in chosen
            ],
            candidates_truncated=len(extra) > room,
        )


def _parameters(prepared: PreparedInspection) -> InspectParameters:
    sampling, args = prepared.sampling, prepared.samplers
    config = asdict(sampling.samplers)
    config["dry_sequence_breakers"] = list(sampling.samplers.dry_sequence_breakers)
    filters = asdict(sampling.filters())
    filters.pop("samplers")
    xtc_seed = args.xtc_seed if args is not None and args.config.xtc else None
    return InspectParameters(
        **filters,
        **config,
        seed=sampling.seed,
        xtc_seed=xtc_seed,
        samplers=list(sampling.order),
        native=sampling.native,
    )


def _token_info(vocab: Vocabulary, token_id: int) -> TokenInfo:
    return TokenInfo(
        id=token_id, token=vocab.text_of(token_id), bytes=list(vocab.bytes_of(token_id))
    )
