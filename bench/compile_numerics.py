"""How torch.compile (and other engine settings) change greedy answers on the CPU engine, and
why: the same questions answered greedily by the vLLM engine under several settings, each
compared with float32 eager execution (the reference) and with the CPU preset (bfloat16,
eager), plus compilation's start-up cost and its cache's reuse.

    .venv/bin/python -m bench compile_numerics     # writes docs/results/compile_numerics.json
    .venv/bin/python -m bench compile_numerics --questions 20 --settings eager-bf16 compiled-bf16

Per setting: one stream's greedy tokens/s (in-process, 4 x 128 tokens), start-up seconds
(each compiled setting started twice on one compile cache: cold, then warm), answers
identical to the reference and to the preset, mean position of the first differing token,
mean |logprob difference| of the reference's tokens where both agree, and how many first
steps had their top two candidates exactly tied (equal logits: then argmax takes the lower
token id). One engine at a time, each in its own process.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from pathlib import Path

from bench import QUESTIONS, RESULTS

HEAD32 = {"hf_overrides": {"head_dtype": "float32"}}  # vLLM's switch for an fp32 lm_head
NGRAM = {"method": "ngram", "num_speculative_tokens": 3, "prompt_lookup_max": 3}
# name: the engine's arguments besides the model
SETTINGS = {
    "eager-fp32": {"dtype": "float32", "enforce_eager": True},
    "eager-bf16": {"dtype": "bfloat16", "enforce_eager": True},
    "compiled-bf16": {"dtype": "bfloat16", "enforce_eager": False},
    "eager-bf16-head32": {"dtype": "bfloat16", "enforce_eager": True, **HEAD32},
    "compiled-bf16-head32": {"dtype": "bfloat16", "enforce_eager": False, **HEAD32},
    "eager-bf16-ngram": {"dtype": "bfloat16", "enforce_eager": True, "speculative_config": NGRAM},
}
REFERENCE = "eager-fp32"
PRESET = "eager-bf16"


@dataclass
class Answer:
    tokens: list[int]
    logprobs: list[float]  # of each chosen token
    top2_tied: bool  # at the first step


@dataclass
class Run:
    setting: str
    start_s: float
    tokens_per_s: float  # one stream, greedy (in-process: no HTTP)
    answers: list[Answer]


@dataclass
class Comparison:
    setting: str
    start_s: list[float]
    tokens_per_s: float
    identical: int
    identical_to_preset: int
    questions: int
    mean_first_difference: float
    mean_abs_logprob_diff: float
    first_step_ties: int


def engine_run(setting: str, questions: list[str], tokens: int, model: str) -> Run:
    """In a child process: start the engine, answer every question greedily."""
    from vllm import LLM, SamplingParams

    started = time.monotonic()
    llm = LLM(model=model, max_model_len=2048, gpu_memory_utilization=0.1, **SETTINGS[setting])
    start_s = time.monotonic() - started
    params = SamplingParams(temperature=0, max_tokens=tokens, logprobs=2, ignore_eos=True)
    chats = [[{"role": "user", "content": q}] for q in questions]
    answers = []
    for out in llm.chat(chats, params, use_tqdm=False):
        completion = out.outputs[0]
        first = sorted(completion.logprobs[0].values(), key=lambda lp: lp.rank)
        chosen = zip(completion.token_ids, completion.logprobs, strict=True)
        answers.append(
            Answer(
                tokens=list(completion.token_ids),
                logprobs=[lps[t].logprob for t, lps in chosen],
                top2_tied=len(first) > 1 and first[0].logprob == first[1].logprob,
            )
        )
    one = SamplingParams(temperature=0, max_tokens=128, ignore_eos=True)
    started = time.monotonic()
    for chat in chats[:4]:
        llm.chat(chat, one, use_tqdm=False)
    return Run(setting, start_s, round(4 * 128 / (time.monotonic() - started), 1), answers)


def identical(run: Run, other: Run) -> int:
    return sum(a.tokens == b.tokens for a, b in zip(run.answers, other.answers, strict=True))


def compare(name: str, runs: list[Run], reference: Run, preset: Run) -> Comparison:
    firsts, diffs = [], []
    for answer, ref in zip(runs[0].answers, reference.answers, strict=True):
        n = next(
            (i for i, (a, b) in enumerate(zip(answer.tokens, ref.tokens, strict=True)) if a != b),
            len(ref.tokens),
        )
        firsts.append(n)
        diffs += [abs(a - b) for a, b in zip(answer.logprobs[:n], ref.logprobs[:n], strict=True)]
    return Comparison(
        setting=name,
        start_s=[round(r.start_s, 1) for r in runs],
        tokens_per_s=max(r.tokens_per_s for r in runs),
        identical=identical(runs[0], reference),
        identical_to_preset=identical(runs[0], preset),
        questions=len(reference.answers),
        mean_first_difference=round(statistics.mean(firsts), 1),
        mean_abs_logprob_diff=round(statistics.mean(diffs), 4) if diffs else 0.0,
        first_step_ties=sum(a.top2_tied for a in runs[0].answers),
    )


def child(args: argparse.Namespace) -> None:
    questions = [item["question"] for item in json.loads(Path(args.data).read_text())["items"]]
    run = engine_run(args.child, questions[: args.questions], args.tokens, args.model)
    Path(args.result).write_text(json.dumps(asdict(run)))


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--settings", nargs="+", choices=list(SETTINGS), default=list(SETTINGS))
    parser.add_argument("--questions", type=int, default=60)
    parser.add_argument("--tokens", type=int, default=24)
    parser.add_argument("--data", default=str(QUESTIONS))
    parser.add_argument("--model", default=None, help="default: the embedded model's folder")
    parser.add_argument("--out", type=Path, default=RESULTS / "compile_numerics.json")
    parser.add_argument("--child", help=argparse.SUPPRESS)
    parser.add_argument("--result", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.child:
        return child(args)
    if args.model is None:
        from server.engine import embedded_model
        from server.settings import load_settings

        args.model = str(embedded_model.prepare(load_settings([]).cache_dir))

    scratch = Path(tempfile.mkdtemp(prefix="compile-numerics-"))
    env = os.environ | {"VLLM_CACHE_ROOT": str(scratch / "vllm-cache")}
    runs: dict[str, list[Run]] = {}
    order = [REFERENCE, PRESET, *(s for s in args.settings if s not in (REFERENCE, PRESET))]
    try:
        for setting in order:
            # A compiled setting starts twice on one cache: the first start compiles.
            for attempt in range(1 if SETTINGS[setting]["enforce_eager"] else 2):
                result = scratch / f"{setting}-{attempt}.json"
                command = [sys.executable, "-m", "bench", "compile_numerics", "--child", setting]
                command += ["--result", str(result)]
                command += ["--questions", str(args.questions), "--tokens", str(args.tokens)]
                command += ["--data", args.data, "--model", args.model]
                subprocess.run(command, env=env, check=True, stdout=subprocess.DEVNULL)
                data = json.loads(result.read_text())
                run = Run(**data | {"answers": [Answer(**a) for a in data["answers"]]})
                runs.setdefault(setting, []).append(run)
                print(f"{setting}: started in {run.start_s:.1f} s", flush=True)
    finally:
        shutil.rmtree(scratch, ignore_errors=True)
    table = [compare(name, r, runs[REFERENCE][0], runs[PRESET][0]) for name, r in runs.items()]
    print(
        f"\n{'setting':<22} start s        tok/s  identical  = preset  first diff  |dlogprob|  ties"
    )
    for c in table:
        starts = " / ".join(f"{s:.0f}" for s in c.start_s)
        print(
            f"{c.setting:<22} {starts:<14} {c.tokens_per_s:5.1f}  "
            f"{c.identical:>3}/{c.questions:<5} "
            f"{c.identical_to_preset:>3}/{c.questions:<4} "
            f"{c.mean_first_difference:>10} {c.mean_abs_logprob_diff:>11} {c.first_step_ties:>5}"
        )
    result = {
        "questions": args.questions,
        "tokens": args.tokens,
        "reference": REFERENCE,
        "preset": PRESET,
        "settings": [asdict(c) for c in table],
    }
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(result, indent=2) + "\n")
