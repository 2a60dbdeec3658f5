"""How close the engine's arithmetic is to the model's own, per dtype and CPU kernel path: the
same chat prompts answered greedily by the vLLM engine and by a float64 transformers forward
pass of the same folder (the reference), plus throughput at 1 and 16 streams, side by side in
one run.

    .venv/bin/python -m bench numerics              # writes docs/results/numerics.json
    .venv/bin/python -m bench numerics --variants fp32 fp32-avx2 --tokens 24

Per variant: greedy answers equal to the reference's, the first differing position, max and
median |logprob difference| of the chosen token on the shared prefix (and over the top-5 the
two share), whether its arithmetic differs from the same dtype on the machine's own kernels
(a kernel knob that changes nothing proves nothing), and tokens/s. Per prompt: the
reference's smallest top-1/top-2 margin along its greedy path, the error a variant may make
before a greedy answer can flip. One engine at a time, each in its own process; a variant
whose engine dies is reported with its exit status.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path

from bench import RESULTS, provenance

# The prompts whose greedy answers the e2e tests and the README read, then a few more.
PROMPTS = (
    "What is the capital of France?",
    "Describe Paris in JSON.",
    "Is Paris in France?",
    "Repeat after me: hello hello hello hello hello hello hello hello",
    "Describe Paris as JSON.",
    "What is the weather in Paris?",
    "What is the capital of Germany?",
    "Who wrote Romeo and Juliet?",
    "Explain what a prime number is.",
    "Write a haiku about the sea.",
    "List three colors.",
    "What is 2 + 2?",
)
# Environment that limits the CPU features the kernels may use: oneDNN (vLLM's CPU GEMMs)
# and PyTorch's own vectorised kernels (softmax, norms, sampling).
AVX2 = {"ONEDNN_MAX_CPU_ISA": "AVX2", "ATEN_CPU_CAPABILITY": "avx2"}


@dataclass(frozen=True)
class Variant:
    dtype: str
    kernels: str  # "machine" or "avx2"
    enforce_eager: bool = True

    @property
    def env(self) -> dict[str, str]:
        return AVX2 if self.kernels == "avx2" else {}


VARIANTS = {
    "bf16": Variant("bfloat16", "machine"),
    "fp32": Variant("float32", "machine"),
    "fp32-avx2": Variant("float32", "avx2"),
    "bf16-avx2": Variant("bfloat16", "avx2"),
    "fp32-compiled": Variant("float32", "machine", enforce_eager=False),
}
TOP = 5


@dataclass
class Step:
    token: int
    logprob: float  # of the chosen token
    top: dict[int, float]  # the TOP most likely tokens' logprobs


@dataclass
class Answer:
    steps: list[Step]

    @property
    def tokens(self) -> list[int]:
        return [s.token for s in self.steps]


@dataclass
class EngineRun:
    variant: str
    start_s: float
    answers: list[Answer]
    one_stream_tps: float
    sixteen_streams_tps: float
    kernels_loaded: str


@dataclass
class Reference:
    answers: list[Answer]
    margins: list[float]  # per prompt: smallest top-1 minus top-2 logprob on the greedy path


@dataclass
class Row:
    variant: str
    dtype: str
    kernels: str
    enforce_eager: bool
    status: str  # "ran", or how the engine died
    equal_to_reference: int = 0
    prompts: int = 0
    first_divergence: list[int | None] = field(default_factory=list)
    max_chosen_delta: float | None = None
    median_chosen_delta: float | None = None
    max_top_delta: float | None = None
    differs_from_machine_kernels: bool | None = None
    start_s: float | None = None
    one_stream_tps: float | None = None
    sixteen_streams_tps: float | None = None
    kernels_loaded: str = ""


def prompt_ids(model: str, prompts: Sequence[str]) -> list[list[int]]:
    from transformers import AutoTokenizer

    tokenizer = AutoTokenizer.from_pretrained(model)
    return [
        tokenizer.apply_chat_template(
            [{"role": "user", "content": p}],
            add_generation_prompt=True,
            tokenize=True,
            return_dict=False,
        )
        for p in prompts
    ]


def reference_run(model: str, prompts: list[list[int]], tokens: int) -> Reference:
    """Greedy decoding in float64, one prompt at a time, the whole sequence each step (no
    cache: nothing but the model's own arithmetic)."""
    import torch
    from transformers import AutoModelForCausalLM, GenerationConfig

    net = AutoModelForCausalLM.from_pretrained(model, torch_dtype=torch.float64).eval()
    end = GenerationConfig.from_pretrained(model).eos_token_id
    ends = set(end if isinstance(end, list) else [end])
    answers, margins = [], []
    with torch.no_grad():
        for ids in prompts:
            sequence, steps, margin = list(ids), [], float("inf")
            for _ in range(tokens):
                logits = net(torch.tensor([sequence])).logits[0, -1]
                logprobs = torch.log_softmax(logits, dim=-1)
                values, indices = torch.topk(logprobs, TOP)
                token = int(indices[0])
                margin = min(margin, float(values[0] - values[1]))
                top = {int(i): float(v) for i, v in zip(indices, values, strict=True)}
                steps.append(Step(token, float(values[0]), top))
                sequence.append(token)
                if token in ends:
                    break
            answers.append(Answer(steps))
            margins.append(margin)
    return Reference(answers, margins)


def engine_run(name: str, model: str, prompts: list[list[int]], tokens: int) -> EngineRun:
    from vllm import LLM, SamplingParams
    from vllm.inputs import TokensPrompt

    variant = VARIANTS[name]
    started = time.monotonic()
    llm = LLM(
        model=model,
        dtype=variant.dtype,
        enforce_eager=variant.enforce_eager,
        max_model_len=2048,
        gpu_memory_utilization=0.1,
        max_logprobs=TOP,
        generation_config="vllm",
        seed=0,
    )
    start_s = time.monotonic() - started
    inputs = [TokensPrompt(prompt_token_ids=ids) for ids in prompts]
    greedy = SamplingParams(temperature=0, max_tokens=tokens, logprobs=TOP)
    answers = []
    for out in llm.generate(inputs, greedy, use_tqdm=False):
        completion = out.outputs[0]
        steps = []
        for token, logprobs in zip(completion.token_ids, completion.logprobs, strict=True):
            top = {t: lp.logprob for t, lp in logprobs.items() if lp.rank <= TOP}
            steps.append(Step(token, logprobs[token].logprob, top))
        answers.append(Answer(steps))
    long = SamplingParams(temperature=0, max_tokens=128, ignore_eos=True)
    started = time.monotonic()
    for prompt in inputs[:3]:
        llm.generate(prompt, long, use_tqdm=False)
    one = 3 * 128 / (time.monotonic() - started)
    batch = [inputs[i % len(inputs)] for i in range(16)]
    started = time.monotonic()
    llm.generate(batch, long, use_tqdm=False)
    sixteen = 16 * 128 / (time.monotonic() - started)
    import torch

    # The engine's own process picks vLLM's kernel library by the CPU (platforms/cpu.py).
    library = "_C_AVX2"
    if torch.cpu._is_avx512_supported():
        library = "_C" if torch.cpu._is_avx512_bf16_supported() else "_C_AVX512"
    onednn = os.environ.get("ONEDNN_MAX_CPU_ISA", "all")
    loaded = f"vllm.{library}, aten {torch.backends.cpu.get_cpu_capability()}, onednn {onednn}"
    return EngineRun(name, start_s, answers, round(one, 1), round(sixteen, 1), loaded)


def first_divergence(answer: Answer, reference: Answer) -> int | None:
    for i, (a, b) in enumerate(zip(answer.tokens, reference.tokens, strict=False)):
        if a != b:
            return i
    return (
        None
        if len(answer.tokens) == len(reference.tokens)
        else min(map(len, (answer.tokens, reference.tokens)))
    )


def compare(run: EngineRun, reference: Reference, machine: EngineRun | None) -> Row:
    variant = VARIANTS[run.variant]
    chosen, top, firsts = [], [], []
    for answer, ref in zip(run.answers, reference.answers, strict=True):
        first = first_divergence(answer, ref)
        firsts.append(first)
        shared = len(ref.steps) if first is None else first
        for mine, theirs in zip(answer.steps[:shared], ref.steps[:shared], strict=True):
            chosen.append(abs(mine.logprob - theirs.logprob))
            top += [abs(mine.top[t] - lp) for t, lp in theirs.top.items() if t in mine.top]
    differs = None
    if machine is not None and machine.variant != run.variant:
        differs = any(a.steps != b.steps for a, b in zip(run.answers, machine.answers, strict=True))
    return Row(
        variant=run.variant,
        dtype=variant.dtype,
        kernels=variant.kernels,
        enforce_eager=variant.enforce_eager,
        status="ran",
        equal_to_reference=sum(f is None for f in firsts),
        prompts=len(firsts),
        first_divergence=firsts,
        max_chosen_delta=max(chosen),
        median_chosen_delta=statistics.median(chosen),
        max_top_delta=max(top),
        differs_from_machine_kernels=differs,
        start_s=round(run.start_s, 1),
        one_stream_tps=run.one_stream_tps,
        sixteen_streams_tps=run.sixteen_streams_tps,
        kernels_loaded=run.kernels_loaded,
    )


def child(args: argparse.Namespace) -> None:
    prompts = json.loads(Path(args.prompts).read_text())
    if args.child == "reference":
        result = asdict(reference_run(args.model, prompts, args.tokens))
    else:
        result = asdict(engine_run(args.child, args.model, prompts, args.tokens))
    Path(args.result).write_text(json.dumps(result))


def load_answers(data: list[dict]) -> list[Answer]:
    return [
        Answer(
            [
                Step(s["token"], s["logprob"], {int(k): v for k, v in s["top"].items()})
                for s in a["steps"]
            ]
        )
        for a in data
    ]


def run_child(
    name: str, args: argparse.Namespace, scratch: Path, env: dict[str, str]
) -> dict | int:
    result = scratch / f"{name}.json"
    command = [sys.executable, "-m", "bench", "numerics", "--child", name, "--model", args.model]
    command += ["--tokens", str(args.tokens), "--prompts", str(scratch / "prompts.json")]
    command += ["--result", str(result)]
    done = subprocess.run(command, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    if done.returncode != 0 or not result.is_file():
        lines = done.stderr.decode(errors="replace").splitlines()
        why = [line for line in lines if any(w in line for w in ("Error", "died", "SIG"))]
        print(f"{name}: exited with {done.returncode}: {' | '.join(why[-2:])}", flush=True)
        return done.returncode
    return json.loads(result.read_text())


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--variants", nargs="+", choices=list(VARIANTS), default=list(VARIANTS))
    parser.add_argument("--tokens", type=int, default=40)
    parser.add_argument("--model", default=None, help="default: the embedded model's folder")
    parser.add_argument("--out", type=Path, default=RESULTS / "numerics.json")
    parser.add_argument("--child", help=argparse.SUPPRESS)
    parser.add_argument("--prompts", help=argparse.SUPPRESS)
    parser.add_argument("--result", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.child:
        return child(args)
    from server.engine import embedded_model
    from server.engine.config import cpu_preload_libraries
    from server.settings import load_settings

    if args.model is None:
        args.model = str(embedded_model.prepare(load_settings([]).cache_dir))
    scratch = Path(tempfile.mkdtemp(prefix="numerics-"))
    (scratch / "prompts.json").write_text(json.dumps(prompt_ids(args.model, PROMPTS)))
    # The engine's processes as the server starts them: tcmalloc and libiomp preloaded.
    base = os.environ | {"HF_HUB_OFFLINE": "1", "VLLM_CACHE_ROOT": str(scratch / "cache")}
    preload = ":".join(cpu_preload_libraries())
    engine_env = base | ({"LD_PRELOAD": preload} if preload else {})

    started = time.monotonic()
    data = run_child("reference", args, scratch, base)
    assert isinstance(data, dict), "the float64 reference failed"
    reference = Reference(load_answers(data["answers"]), data["margins"])
    print(f"reference (float64 transformers): {time.monotonic() - started:.0f} s", flush=True)

    runs: dict[str, EngineRun | int] = {}
    for name in args.variants:
        variant = VARIANTS[name]
        data = run_child(name, args, scratch, engine_env | variant.env)
        if isinstance(data, int):
            runs[name] = data
            continue
        runs[name] = EngineRun(**data | {"answers": load_answers(data["answers"])})
        print(f"{name}: ran", flush=True)

    rows = []
    for name, run in runs.items():
        variant = VARIANTS[name]
        if isinstance(run, int):
            status = f"engine died (exit {run})"
            rows.append(Row(name, variant.dtype, variant.kernels, variant.enforce_eager, status))
            continue
        same_dtype = next(
            (
                r
                for n, r in runs.items()
                if isinstance(r, EngineRun) and VARIANTS[n] == Variant(variant.dtype, "machine")
            ),
            None,
        )
        rows.append(compare(run, reference, same_dtype))
    print_table(rows, reference)
    result = {
        **provenance("numerics", argv),
        "tokens": args.tokens,
        "prompts": list(PROMPTS),
        "reference_margins": [round(m, 4) for m in reference.margins],
        "kernel_limits": AVX2,
        "variants": [asdict(r) for r in rows],
    }
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(result, indent=2) + "\n")


def print_table(rows: list[Row], reference: Reference) -> None:
    print(
        f"\nsmallest top-1/top-2 margin on the reference's greedy paths: "
        f"{min(reference.margins):.4f} nat (per prompt: "
        + ", ".join(f"{m:.3f}" for m in reference.margins)
        + ")"
    )
    print(
        f"\n{'variant':<14} {'= ref':>6} {'max |d|':>9} {'median':>9} {'top-5':>9} "
        f"{'knob acts':>9} {'tok/s 1':>8} {'tok/s 16':>8}  status"
    )
    for r in rows:
        if r.status != "ran":
            print(f"{r.variant:<14} {'':>60}  {r.status}")
            continue
        acts = "" if r.differs_from_machine_kernels is None else str(r.differs_from_machine_kernels)
        print(
            f"{r.variant:<14} {r.equal_to_reference:>3}/{r.prompts:<2} {r.max_chosen_delta:9.2e} "
            f"{r.median_chosen_delta:9.2e} {r.max_top_delta:9.2e} {acts:>9} "
            f"{r.one_stream_tps:8.1f} {r.sixteen_streams_tps:8.1f}  {r.kernels_loaded}"
        )
