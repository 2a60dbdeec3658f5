"""The one vLLM engine a server process owns: start, tokenize, generate, stop."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass, field
from typing import Any

import jinja2
import jinja2.meta
import numpy as np
from vllm import SamplingParams
from vllm.engine.arg_utils import AsyncEngineArgs
from vllm.inputs import TokensPrompt
from vllm.outputs import RequestOutput
from vllm.platforms import current_platform
from vllm.sampling_params import RequestOutputKind
from vllm.v1.engine.async_llm import AsyncLLM

from server.engine.config import fit_context, fit_dtype
from server.engine.fingerprint import kernel_path, system_fingerprint, weights_identity
from server.engine.template_tokens import encode_chat, holds_markers, markers
from server.engine.token_texts import cache_single_token_texts
from server.metrics import Metrics
from server.sampling.vocabulary import Vocabulary, is_byte_level
from server.tools.render import TemplateTraits

log = logging.getLogger(__name__)


def gpu_description() -> str | None:
    """The GPU's model and compute capability (read through NVML on CUDA); None on the CPU."""
    if current_platform.is_cpu():
        return None
    capability = current_platform.get_device_capability()
    suffix = f" sm_{capability.major}{capability.minor}" if capability else ""
    return f"{current_platform.get_device_name()}{suffix}"


@dataclass(frozen=True)
class ModelInfo:
    id: str
    max_model_len: int
    vocab_size: int
    template: TemplateTraits = field(default_factory=TemplateTraits)
    fingerprint: str = "fp_unknown"


def takes_tools(chat_template: Any) -> bool:
    """Whether the model's chat template reads a `tools` variable (and so has its own
    syntax for tool definitions and calls)."""
    if not isinstance(chat_template, str):
        return False
    variables = jinja2.meta.find_undeclared_variables(jinja2.Environment().parse(chat_template))
    return "tools" in variables


def writes_role(tokenizer: Any, role: str) -> bool:
    """Whether the chat template writes a message of this role (Phi-3.5's drops unknown
    roles silently; stricter templates raise)."""
    probe = "role-probe-3f9c1a"
    messages = [{"role": "user", "content": "hi"}, {"role": role, "content": probe}]
    try:
        text = tokenizer.apply_chat_template(messages, tokenize=False, add_generation_prompt=True)
    except Exception:
        return False
    return probe in text


class Engine:
    """Owns the AsyncLLM and the tokenizer-derived tables the response code needs."""

    def __init__(
        self, llm: AsyncLLM, info: ModelInfo, vocabulary: Vocabulary, metrics: Metrics
    ) -> None:
        self._llm = llm
        self._tokenizer = llm.get_tokenizer()
        self._markers = markers(self._tokenizer)
        self.info = info
        self.vocabulary = vocabulary
        self._metrics = metrics
        metrics.engine_running.set_function(llm.get_num_unfinished_requests)

    @classmethod
    async def start(cls, args: AsyncEngineArgs, metrics: Metrics) -> Engine:
        """Build the engine in a worker thread so that the event loop keeps answering
        /health with 503 while the model loads."""
        log.info(
            "starting vLLM engine: model=%s dtype=%s max_model_len=%s "
            "gpu_memory_utilization=%s enforce_eager=%s max_num_seqs=%s logprobs_mode=%s "
            "tensor_parallel_size=%s pipeline_parallel_size=%s data_parallel_size=%s",
            args.model,
            args.dtype,
            args.max_model_len,
            args.gpu_memory_utilization,
            args.enforce_eager,
            args.max_num_seqs,
            args.logprobs_mode,
            args.tensor_parallel_size,
            args.pipeline_parallel_size,
            args.data_parallel_size,
        )
        cpu = current_platform.is_cpu()
        args = await asyncio.to_thread(lambda: fit_dtype(fit_context(args), cpu))
        llm = await asyncio.to_thread(lambda: AsyncLLM.from_engine_args(args))
        tokenizer = llm.get_tokenizer()
        cache_single_token_texts(tokenizer)
        model_config = llm.model_config
        vocab_size = model_config.get_vocab_size()
        pieces = tokenizer.convert_ids_to_tokens(list(range(vocab_size)))
        space_word = tokenizer.convert_ids_to_tokens(
            tokenizer.encode(" a", add_special_tokens=False)
        )
        vocabulary = Vocabulary.from_pieces(
            [p if p is not None else "" for p in pieces], is_byte_level(space_word[0])
        )
        kernels = kernel_path(gpu_description())
        log.info(
            "kernel path: %s%s", kernels.device, "".join(f" {k}={v}" for k, v in kernels.limits)
        )
        info = ModelInfo(
            id=model_config.served_model_name,
            max_model_len=model_config.max_model_len,
            vocab_size=vocab_size,
            template=TemplateTraits(
                takes_tools=takes_tools(tokenizer.chat_template),
                writes_tool_turns=writes_role(tokenizer, "tool"),
            ),
            fingerprint=system_fingerprint(
                vars(args), weights_identity(str(args.model), model_config.revision), kernels
            ),
        )
        return cls(llm, info, vocabulary, metrics)

    def apply_chat_template(
        self,
        messages: Sequence[dict[str, Any]],
        add_generation_prompt: bool = True,
        tools: list[dict[str, Any]] | None = None,
    ) -> list[int]:
        """Messages whose text holds the model's control-token text are tokenized so that
        it stays text (server/engine/template_tokens.py); any other conversation whole."""
        render = {"tools": tools, "add_generation_prompt": add_generation_prompt}
        if holds_markers(messages, self._markers):
            ids = encode_chat(self._tokenizer, messages, self._markers, **render)
            if ids is None:
                raise ValueError(
                    "a message holds the model's control-token text, which this chat "
                    "template does not keep apart from its own markers"
                )
            return ids
        return list(
            self._tokenizer.apply_chat_template(
                list(messages), tokenize=True, return_dict=False, **render
            )
        )

    def encode(self, text: str, add_special_tokens: bool = True) -> list[int]:
        """Prompt text as vLLM's own completions endpoint tokenizes it (with BOS where the
        model wants one)."""
        return list(self._tokenizer.encode(text, add_special_tokens=add_special_tokens))

    def decode(self, ids: Sequence[int], skip_special_tokens: bool = False) -> str:
        return self._tokenizer.decode(list(ids), skip_special_tokens=skip_special_tokens)

    async def generate(
        self, prompt_ids: Sequence[int], params: SamplingParams, request_id: str
    ) -> AsyncIterator[RequestOutput]:
        """Closing or cancelling the iterator aborts the request inside vLLM. The prompt goes
        in as the renderer's engine input (vLLM 0.32 deprecates handing it raw prompts)."""
        (prompt,) = self._llm.renderer.render_cmpl(
            [TokensPrompt(prompt_token_ids=list(prompt_ids))]
        )
        self._metrics.prompt_tokens.inc(len(prompt_ids))
        started = time.perf_counter()
        first = params.output_kind == RequestOutputKind.DELTA
        request = self._llm.generate(prompt, params, request_id)
        async with contextlib.aclosing(request) as outputs:
            async for out in outputs:
                new_tokens = len(out.outputs[0].token_ids)
                if first and new_tokens:
                    self._metrics.ttft.observe(time.perf_counter() - started)
                    first = False
                self._metrics.generated_tokens.inc(new_tokens)
                yield out

    @property
    def errored(self) -> bool:
        return self._llm.errored

    async def sample_with_distributions(
        self, prompt_ids: Sequence[int], params: SamplingParams, request_id: str
    ) -> tuple[list[int], list[np.ndarray]]:
        """Generate with `params` and return the tokens with the full logprobs of every
        step, in the engine's logprobs mode. Flat logprobs without detokenization keep the
        cost at lists of floats instead of 49k-entry dicts of decoded tokens per step."""
        params = params.clone()
        params.logprobs = -1
        params.flat_logprobs = True
        params.detokenize = False
        params.output_kind = RequestOutputKind.FINAL_ONLY
        final = None
        async for out in self.generate(prompt_ids, params, request_id):
            final = out
        if final is None or final.outputs[0].logprobs is None:
            raise RuntimeError("the engine returned no logprobs")
        completion = final.outputs[0]
        # Millions of list items into arrays: off the event loop.
        distributions = await asyncio.to_thread(self._distributions, completion.logprobs)
        return list(completion.token_ids), distributions

    def _distributions(self, flat: Any) -> list[np.ndarray]:
        distributions = []
        for start, end in zip(flat.start_indices, flat.end_indices, strict=True):
            distribution = np.full(self.info.vocab_size, -np.inf)
            ids = np.asarray(flat.token_ids[start:end], dtype=np.int64)
            distribution[ids] = flat.logprobs[start:end]
            distributions.append(distribution)
        return distributions

    async def next_token_distribution(
        self, prompt_ids: Sequence[int], request_id: str
    ) -> np.ndarray:
        """The raw logprobs of every token for the next position, read through a prefill.
        Temperature 1 with no filter and no penalty makes even processed logprobs equal the
        raw ones, so this holds in either logprobs mode."""
        params = SamplingParams(max_tokens=1, temperature=1.0)
        _, (distribution,) = await self.sample_with_distributions(prompt_ids, params, request_id)
        return distribution

    async def check_health(self) -> None:
        await self._llm.check_health()

    def shutdown(self) -> None:
        self._llm.shutdown()
