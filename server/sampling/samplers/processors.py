"""The samplers as vLLM logits processors, registered at engine start (server/engine/config.py)
and given per request through `SamplingParams.extra_args`. vLLM runs processors that are not
argmax-invariant before its penalties, on every request (DRY: a penalty, it acts at
temperature 0 too), and argmax-invariant ones after temperature and min_p, only when
sampling (the truncations: like top-k and top-p, they do nothing at temperature 0); a request
whose order vLLM cannot run gets the whole chain from one processor instead. A request that
uses none of them costs nothing here: vLLM skips it."""

from __future__ import annotations

from collections.abc import Callable

import torch
from vllm import SamplingParams
from vllm.v1.sample.logits_processor import AdapterLogitsProcessor

from server.sampling.samplers.chain import ChainState
from server.sampling.samplers.config import SamplerArgs
from server.sampling.samplers.dry import DryState
from server.sampling.samplers.truncation import LateState

RowProcessor = Callable[..., torch.Tensor]


class DryProcessor(AdapterLogitsProcessor):
    def is_argmax_invariant(self) -> bool:
        return False

    def new_req_logits_processor(self, params: SamplingParams) -> RowProcessor | None:
        args = SamplerArgs.from_extra_args(params.extra_args)
        if args is None or args.chain is not None or not args.config.dry:
            return None
        state = DryState(args.config, frozenset(args.dry_breaker_ids))

        def apply(prompt: list[int], output: list[int], row: torch.Tensor) -> torch.Tensor:
            ids, amounts = state.penalties(prompt, output)
            if ids.size:
                index = torch.from_numpy(ids).to(row.device)
                row[index] -= torch.from_numpy(amounts).to(row.device, row.dtype)
            return row

        return apply


class TruncationProcessor(AdapterLogitsProcessor):
    def is_argmax_invariant(self) -> bool:
        return True

    def new_req_logits_processor(self, params: SamplingParams) -> RowProcessor | None:
        args = SamplerArgs.from_extra_args(params.extra_args)
        if args is None or args.chain is not None or not args.config.late:
            return None
        state = LateState(args.config, args.xtc_seed)

        def apply(output: list[int], row: torch.Tensor) -> torch.Tensor:
            return state.apply(row, output)

        return apply


class ChainProcessor(AdapterLogitsProcessor):
    """A request whose order vLLM's sampler cannot run: the whole chain here, vLLM's own
    sampling neutral (server/sampling/params.py), so the engine draws from this row's
    softmax. Not argmax-invariant: it runs at every step, temperature 0 included."""

    def is_argmax_invariant(self) -> bool:
        return False

    def new_req_logits_processor(self, params: SamplingParams) -> RowProcessor | None:
        args = SamplerArgs.from_extra_args(params.extra_args)
        if args is None or args.chain is None:
            return None
        state = ChainState(args.chain, args.config, frozenset(args.dry_breaker_ids), args.xtc_seed)

        def apply(prompt: list[int], output: list[int], row: torch.Tensor) -> torch.Tensor:
            return state.apply(prompt, output, row)

        return apply


# As vLLM's `logits_processors` engine argument takes them: importable in the engine process.
PROCESSORS = (
    f"{__name__}:DryProcessor",
    f"{__name__}:TruncationProcessor",
    f"{__name__}:ChainProcessor",
)
