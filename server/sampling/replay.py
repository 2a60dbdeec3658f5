"""One choice's sampler chain replayed step by step on the full raw distribution of each
position, with the same per-request state the engine keeps (penalty counts, DRY's runs,
XTC's coin, Mirostat's mu, adaptive-p's average): the inspector's stages and the
post-sampling logprobs both come from here, so the two agree by construction."""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from typing import Any

import numpy as np
import torch

from server.sampling.outputs import TokenLogprob, finite
from server.sampling.params import EffectiveSampling
from server.sampling.samplers.chain import GREEDY_BELOW, ChainState, StageRow
from server.sampling.samplers.config import SamplerArgs
from server.sampling.samplers.dry import DryState
from server.sampling.samplers.truncation import LateState
from server.sampling.stages import Stage, StepStages, adjusted_logprobs, run_step, softmax


class Replay:
    """`allowed`: allowed_token_ids, which vLLM applies before every stage (a grammar's mask
    is already in the raw logprobs)."""

    def __init__(
        self,
        sampling: EffectiveSampling,
        args: SamplerArgs | None,
        prompt_ids: Sequence[int],
        allowed: Sequence[int] = (),
    ) -> None:
        self._sampling = sampling
        self._allowed = np.asarray(sorted(set(allowed)), dtype=np.int64)
        self._prompt = list(prompt_ids)
        self._output: list[int] = []
        self._counts: Counter[int] = Counter()
        config = sampling.samplers
        breakers = frozenset(args.dry_breaker_ids) if args is not None else frozenset()
        xtc_seed = args.xtc_seed if args is not None else 0
        self._chain = self._dry = self._late = None
        if args is not None and args.chain is not None:
            self._chain = ChainState(args.chain, config, breakers, xtc_seed)
        else:
            self._dry = DryState(config, breakers) if config.dry else None
            self._late = LateState(config, xtc_seed) if config.late else None

    def step(self, token: int, raw: np.ndarray) -> StepStages:
        """The stages of the position whose drawn token is `token`; then on to the next."""
        output = list(self._output)
        if self._allowed.size:
            masked = np.full_like(raw, -np.inf)
            masked[self._allowed] = raw[self._allowed]
            raw = masked
        dry = None
        if self._chain is not None and self._chain.active("dry"):
            dry = self._chain.dry_penalties(self._prompt, output)
        elif self._dry is not None:
            dry = self._dry.penalties(self._prompt, output)
        if self._chain is None:
            stages = run_step(
                raw,
                self._sampling.filters(),
                self._counts,
                self._sampling.logit_bias,
                dry,
                self._late,
                output,
            )
        else:
            stages = self._chain_step(raw, output, dry)
        self._output.append(token)
        self._counts[token] += 1
        return stages

    def _chain_step(
        self, raw: np.ndarray, output: list[int], dry: tuple[np.ndarray, np.ndarray] | None
    ) -> StepStages:
        assert self._chain is not None
        sampling = self._sampling
        size = raw.shape[0]
        dry_penalty = np.zeros(size)
        if dry is not None and dry[0].size:
            dry_penalty[dry[0]] = dry[1]
        adjusted = adjusted_logprobs(
            raw, sampling.filters(), self._counts, sampling.logit_bias, dry_penalty
        )
        row = raw.astype(np.float64).copy()
        for token_id, bias in sampling.logit_bias.items():
            row[token_id] += bias
        trace: list[StageRow] = []
        final = self._chain.apply(self._prompt, output, torch.from_numpy(row), trace).numpy()
        tempered = next(
            (softmax(s.row.numpy()) for s in trace if s.name == "temperature"), softmax(adjusted)
        )
        greedy = "temperature" in sampling.order and sampling.temperature < GREEDY_BELOW
        stages = tuple(
            Stage(s.name, s.active, np.isfinite(s.row.numpy()), s.value, s.fired) for s in trace
        )
        return StepStages(
            np.exp(raw.astype(np.float64)),
            adjusted,
            dry_penalty,
            tempered,
            stages,
            softmax(final),
            greedy,
        )


def distributions(flat: Any, vocab_size: int) -> list[np.ndarray]:
    """vLLM's flat logprobs of whole distributions (logprobs=-1) as one array per position."""
    rows = []
    for start, end in zip(flat.start_indices, flat.end_indices, strict=True):
        row = np.full(vocab_size, -np.inf)
        row[np.asarray(flat.token_ids[start:end], dtype=np.int64)] = flat.logprobs[start:end]
        rows.append(row)
    return rows


class PostSampling:
    """Post-sampling logprobs of one choice: each position's whole raw distribution through
    the replayed chain, reported as OpenAI's logprobs of the distribution drawn from."""

    def __init__(self, replay: Replay, vocab_size: int) -> None:
        self._replay = replay
        self._vocab_size = vocab_size

    def __call__(
        self, token_ids: Sequence[int], flat: Any, top_n: int
    ) -> tuple[TokenLogprob, ...] | None:
        if flat is None:
            return None
        rows = distributions(flat, self._vocab_size)
        return tuple(
            self._one(token, row, top_n) for token, row in zip(token_ids, rows, strict=False)
        )

    def _one(self, token: int, raw: np.ndarray, top_n: int) -> TokenLogprob:
        with np.errstate(divide="ignore"):
            return top_logprobs(token, np.log(self._replay.step(token, raw).final_probs), top_n)


def top_logprobs(token: int, logprobs: np.ndarray, top_n: int) -> TokenLogprob:
    """A token's logprob and the top_n most likely of a whole distribution, best first."""
    best = _best(logprobs, top_n)
    top = tuple((int(t), finite(float(logprobs[t]))) for t in best)
    return TokenLogprob(token, finite(float(logprobs[token])), top)


def _best(values: np.ndarray, n: int) -> np.ndarray:
    """The n largest, best first, ties by token id (a stable sort's order) without sorting
    the whole vocabulary."""
    if n <= 0:
        return np.zeros(0, dtype=np.int64)
    if n >= values.size:
        return np.argsort(-values, kind="stable")
    nth = -np.partition(-values, n - 1)[n - 1]
    above = np.flatnonzero(values > nth)
    tied = np.flatnonzero(values == nth)[: n - above.size]
    best = np.concatenate([above, tied])
    return best[np.lexsort((best, -values[best]))]
