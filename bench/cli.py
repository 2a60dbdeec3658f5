"""`python -m bench NAME [args]`: one entry for every measurement tool. A command's module is
imported only when it is chosen, so listing them costs nothing and a tool's heavy imports
(vLLM, matplotlib, schemathesis) stay out of the others."""

from __future__ import annotations

import importlib
import sys
from collections.abc import Sequence
from dataclasses import dataclass


@dataclass(frozen=True)
class Command:
    module: str
    summary: str


COMMANDS = {
    "benchmark": Command(
        "bench.benchmark", "this server against vllm serve, the engine in-process, llama.cpp"
    ),
    "load": Command("bench.load", "hold concurrent streams with hang-ups; leaks, memory, /health"),
    "loop_latency": Command("bench.loop_latency", "/health latency while heavy requests run"),
    "step_profile": Command("bench.step_profile", "where one decode step goes (py-spy, 3 procs)"),
    "numerics": Command(
        "bench.numerics", "greedy answers and logprobs per dtype and kernel path vs float64"
    ),
    "determinism": Command(
        "bench.determinism", "the same request alone and beside 1, 8, 32 others: same answer?"
    ),
    "compile_numerics": Command(
        "bench.compile_numerics", "torch.compile and dtype against fp32 greedy answers"
    ),
    "first_answer": Command("bench.first_answer", "time from git clone to the first answer"),
    "gpu_smoke": Command(
        "bench.gpu_smoke", "an engine profile's time to ready, first token, tokens/s"
    ),
    "tool_calls": Command(
        "bench.tool_calls", "how often auto calls a tool; what constraining costs"
    ),
    "sampler_cost": Command(
        "bench.sampler_cost", "throughput with and without DRY and the truncations, 16 streams"
    ),
    "chain_cost": Command(
        "bench.chain_cost", "throughput of sampler orders, adaptive-p, processed logprobs"
    ),
    "sampler_differential": Command(
        "bench.sampler_differential", "each sampler against llama.cpp's own, same logits"
    ),
    "compaction": Command(
        "bench.compaction", "prompt tokens before/after compaction; does the answer survive"
    ),
    "stored_responses": Command(
        "bench.stored_responses", "previous_response_id vs resending; store latency, 16 clients"
    ),
    "json_budget": Command("bench.json_budget", "does structured output fit a small budget"),
    "fuzz": Command("bench.fuzz", "schemathesis through the server's own OpenAPI schema"),
    "openai_spec": Command("bench.openai_spec", "cut OpenAI's OpenAPI document to request bodies"),
    "spec_conformance": Command(
        "bench.spec_conformance", "requests drawn from OpenAI's spec: answered or explained"
    ),
    "phi35_checks": Command("bench.phi35_checks", "what Phi-3.5's format makes fragile, checked"),
    "seeds": Command(
        "bench.seeds", "greedy and each sampler: the same seed twice, another once, logprobs"
    ),
    "figures": Command("bench.figures", "the sampling explainer's figures, from the inspector"),
    "sampling_lab": Command(
        "bench.sampling_lab", "each sampling method's correctness, variety, coherence"
    ),
    "layers": Command("bench.layers", "server/'s layers and imports, checked and drawn"),
}


def usage() -> str:
    width = max(map(len, COMMANDS))
    lines = ["usage: python -m bench NAME [args]   (NAME --help: its options)", "", "commands:"]
    lines += [f"  {name:<{width}}  {command.summary}" for name, command in COMMANDS.items()]
    return "\n".join(lines)


def main(argv: Sequence[str] | None = None) -> int:
    args = list(sys.argv[1:] if argv is None else argv)
    if not args or args[0] in ("-h", "--help"):
        print(usage())
        return 0
    name, *rest = args
    if name not in COMMANDS:
        print(f"unknown command {name!r}\n\n{usage()}", file=sys.stderr)
        return 2
    sys.argv[0] = f"python -m bench {name}"  # argparse's prog in each tool's usage line
    result = importlib.import_module(COMMANDS[name].module).main(rest)
    return result if isinstance(result, int) else 0
