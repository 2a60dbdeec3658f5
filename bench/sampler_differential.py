"""`python -m bench sampler_differential`: this server's sampler stages (the functions the
inspector and the engine's processors run: server/sampling/stages.py) against llama.cpp's own
samplers (its C API, bench/llamacpp_chain.py in .venv-llamacpp), on the same logits. For each
sampler, hypothesis draws the parameters and the logits (random rows, and the embedded model's
real first-token logits for a few prompts); both must keep the same tokens and give them the
same probabilities to 1e-6. Where a draw disagrees, hypothesis shrinks it and the smallest
disagreeing draw is recorded. The chain is the server's order (penalties, temperature, min_p,
top_n_sigma, typ_p, xtc, mirostat, top_k, top_p), given to llama.cpp as its `samplers` list.

Not compared: DRY (llama.cpp's needs a GGUF vocabulary to tokenize its breakers; ours takes
token ids), XTC with a probability strictly between 0 and 1 (the two draw their coins from
different generators: 0 and 1 are compared; its threshold is drawn from [0.001, 0.5], since
at 0 with temperature 0 llama.cpp keeps one of the tokens its temperature set to -inf), the
repetition penalty (vLLM's, not a stage). Two things are counted apart, not failed: a token
at a cut that this server's own float64 computation moves across when the logits move by
what float32 sums over the vocabulary can err by (sqrt(n) units in the last place), and
typical-p where llama.cpp sees a probability of 0 (a float32 underflow, or a token top_n_sigma or
temperature 0 set to -inf without removing it): it computes 0 * log 0 = NaN and keeps an
arbitrary set. Probabilities may differ beyond 1e-6 only by
what float32 arithmetic on the tempered logits allows (low temperatures); those steps are
counted."""

from __future__ import annotations

import argparse
import json
import subprocess
import time
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from bench import RESULTS, ROOT, provenance

TOLERANCE = 1e-6
REFERENCE = ROOT / ".venv-llamacpp" / "bin" / "python"
CHILD = ROOT / "bench" / "llamacpp_chain.py"
PROMPTS = ("What is the capital of France?", "Write a haiku about rain.", "Count to five.")


class Reference:
    """llama.cpp's side: one child process answering one case per line."""

    def __init__(self) -> None:
        self._child = subprocess.Popen(
            [str(REFERENCE), str(CHILD)],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
        )

    def run(self, case: dict) -> list[dict]:
        assert self._child.stdin and self._child.stdout
        self._child.stdin.write(json.dumps(case) + "\n")
        self._child.stdin.flush()
        answer = json.loads(self._child.stdout.readline())
        if "error" in answer:
            raise RuntimeError(f"llama.cpp side failed: {answer['error']}")
        return answer["steps"]

    def close(self) -> None:
        if self._child.stdin:
            self._child.stdin.close()
        self._child.wait(timeout=30)


@dataclass(frozen=True)
class Draw:
    """One chain's parameters (llama.cpp's names; None: the stage is not in the chain)."""

    temperature: float = 1.0
    freq: float = 0.0
    present: float = 0.0
    min_p: float | None = None
    top_n_sigma: float | None = None
    typ_p: float | None = None
    xtc: tuple[float, float] | None = None  # probability (0 or 1), threshold
    mirostat: tuple[float, float] | None = None  # tau, eta
    top_k: int | None = None
    top_p: float | None = None

    def chain(self, window: int) -> list[dict]:
        """`window`: every token the penalties must count (the history and each step's)."""
        stages: list[dict] = [
            {"name": "penalties", "last_n": window, "repeat": 1.0}
            | {"freq": self.freq, "present": self.present}
        ]
        stages.append({"name": "temperature", "t": self.temperature})
        if self.min_p is not None:
            stages.append({"name": "min_p", "p": self.min_p})
        if self.top_n_sigma is not None:
            stages.append({"name": "top_n_sigma", "n": self.top_n_sigma})
        if self.typ_p is not None:
            stages.append({"name": "typ_p", "p": self.typ_p})
        if self.xtc is not None:
            stages.append({"name": "xtc", "probability": self.xtc[0], "threshold": self.xtc[1]})
        if self.mirostat is not None:
            stages.append({"name": "mirostat", "tau": self.mirostat[0], "eta": self.mirostat[1]})
        if self.top_k is not None:
            stages.append({"name": "top_k", "k": self.top_k})
        if self.top_p is not None:
            stages.append({"name": "top_p", "p": self.top_p})
        return stages


def ours(draw: Draw, steps: np.ndarray, history: list[int], drawn: list[int]) -> list[np.ndarray]:
    """The server's stages on the same logits: each step's final distribution."""
    import torch

    from server.sampling.samplers.config import SamplerConfig
    from server.sampling.samplers.truncation import LateState
    from server.sampling.stages import Filters, run_step

    config = SamplerConfig(
        top_n_sigma=draw.top_n_sigma if draw.top_n_sigma is not None else -1.0,
        typical_p=draw.typ_p if draw.typ_p is not None else 1.0,
        xtc_probability=draw.xtc[0] if draw.xtc else 0.0,
        xtc_threshold=draw.xtc[1] if draw.xtc else 0.1,
        mirostat=2 if draw.mirostat else 0,
        mirostat_tau=draw.mirostat[0] if draw.mirostat else 5.0,
        mirostat_eta=draw.mirostat[1] if draw.mirostat else 0.1,
    )
    filters = Filters(
        temperature=draw.temperature,
        top_p=draw.top_p if draw.top_p is not None else 1.0,
        top_k=draw.top_k if draw.top_k is not None else 0,
        min_p=draw.min_p if draw.min_p is not None else 0.0,
        presence_penalty=draw.present,
        frequency_penalty=draw.freq,
        samplers=config,
    )
    late = LateState(config) if config.late else None
    output = list(history)
    finals = []
    for step, logits in enumerate(steps):
        counts = {t: output.count(t) for t in set(output)}
        logprobs = torch.log_softmax(torch.from_numpy(logits.astype(np.float64)), -1).numpy()
        finals.append(run_step(logprobs, filters, counts, late=late, output=output).final_probs)
        output.append(drawn[step])
    return finals


FLOAT32_EPS = float(np.finfo(np.float32).eps)
# exp() of a float32 below this is 0.
FLOAT32_UNDERFLOW = 87.0


def allowance(draw: Draw, logits: np.ndarray) -> float:
    """The difference llama.cpp's float32 arithmetic alone can make: a few units in the last
    place of the largest tempered logit (it dominates at low temperatures), or TOLERANCE."""
    if draw.temperature <= 0:
        return TOLERANCE
    return max(TOLERANCE, 4 * FLOAT32_EPS * float(np.abs(logits).max()) / draw.temperature)


def moves_with_rounding(
    draw: Draw, steps: np.ndarray, history: list[int], drawn: list[int], mine: list[np.ndarray]
) -> bool:
    """Whether this server's own kept sets change when the logits move by what float32
    arithmetic over the vocabulary can err by (a sum of n float32 terms: about sqrt(n) units
    in the last place): then a disagreement is a token at a cut, not another definition."""
    rng = np.random.default_rng(0)
    scale = max(4.0, float(np.sqrt(steps.shape[1]))) * FLOAT32_EPS
    for _ in range(8):
        nudged = steps * (1 + rng.uniform(-1, 1, steps.shape) * scale)
        for a, b in zip(mine, ours(draw, nudged, history, drawn), strict=True):
            if not np.array_equal(a > 0, b > 0):
                return True
    return False


def typical_sees_a_zero(draw: Draw, steps: np.ndarray) -> bool:
    """llama.cpp's typical-p computes p log p over its candidates, NaN for a probability of
    0: one that underflows in float32, or a token an earlier stage set to -inf without
    removing it (top_n_sigma does, and temperature 0). It then keeps an arbitrary set."""
    if draw.typ_p is None:
        return False
    if draw.temperature <= 0 or draw.top_n_sigma is not None:
        return True
    spread = (steps.max(axis=1) - steps.min(axis=1)) / draw.temperature
    return bool((spread > FLOAT32_UNDERFLOW).any())


@dataclass
class Tally:
    draws: int = 0
    steps: int = 0
    largest_difference: float = 0.0
    steps_beyond_tolerance_within_float32: int = 0
    kept_set_differences_at_a_cut: int = 0
    typical_nan_in_llama_cpp: int = 0
    seconds: float = 0.0


@dataclass
class Comparison:
    reference: Reference
    tallies: dict[str, Tally] = field(default_factory=dict)

    def check(self, sampler: str, draw: Draw, steps: np.ndarray, history: list[int]) -> None:
        """One draw through both; the tokens each step accepts after it are llama.cpp's
        own picks where it picks (Mirostat), else the most likely kept token."""
        tally = self.tallies.setdefault(sampler, Tally())
        steps = steps.astype(np.float32).astype(np.float64)  # the values both sides read
        drawn = [int(np.argmax(row)) for row in steps]
        window = max(len(history) + len(steps), 1)
        case = {"chain": draw.chain(window), "steps": steps.tolist(), "history": history}
        theirs = self.reference.run(case | {"drawn": drawn})
        if draw.mirostat:
            drawn = [step["selected"] for step in theirs]
        mine = ours(draw, steps, history, drawn)
        tally.draws += 1
        if typical_sees_a_zero(draw, steps):
            tally.typical_nan_in_llama_cpp += 1
            return
        at_a_cut: bool | None = None
        for step, (their, my) in enumerate(zip(theirs, mine, strict=True)):
            tally.steps += 1
            reference = np.zeros_like(my)
            reference[their["ids"]] = their["probs"]
            kept = {i for i, p in zip(their["ids"], their["probs"], strict=True) if p > 0}
            if kept != set(np.flatnonzero(my > 0).tolist()):  # p 0 on both: underflowed alike
                if at_a_cut is None:
                    at_a_cut = moves_with_rounding(draw, steps, history, drawn, mine)
                assert at_a_cut, (
                    f"{sampler} step {step}: kept {len(their['ids'])} vs "
                    f"{int((my > 0).sum())} tokens; {draw}"
                )
                tally.kept_set_differences_at_a_cut += 1
                return  # the steps after it follow different tokens
            difference = float(np.abs(reference - my).max())
            tally.largest_difference = max(tally.largest_difference, difference)
            if difference > TOLERANCE:
                bound = allowance(draw, steps[step])
                assert difference <= bound, (
                    f"{sampler} step {step}: largest difference {difference:.3g} "
                    f"(float32 allows {bound:.3g}); {draw}"
                )
                tally.steps_beyond_tolerance_within_float32 += 1


def rows(vocab: int, count: int) -> st.SearchStrategy[np.ndarray]:
    """Logits as a language model's look: a few high, a long low tail (no exact ties)."""
    return st.tuples(st.integers(0, 2**32 - 1), st.floats(0.5, 6.0)).map(
        lambda drawn: np.random.default_rng(drawn[0]).standard_normal((count, vocab)) * drawn[1]
    )


UNIT = st.floats(0.0, 1.0, exclude_min=True)
TEMPERATURE = st.one_of(st.just(0.0), st.floats(0.05, 2.0))
SAMPLERS: dict[str, Callable[..., st.SearchStrategy[Draw]]] = {
    "temperature": lambda: st.builds(Draw, temperature=TEMPERATURE),
    "penalties": lambda: st.builds(
        Draw, temperature=TEMPERATURE, freq=st.floats(-2, 2), present=st.floats(-2, 2)
    ),
    "min_p": lambda: st.builds(Draw, temperature=TEMPERATURE, min_p=UNIT),
    "top_n_sigma": lambda: st.builds(Draw, temperature=TEMPERATURE, top_n_sigma=st.floats(0.1, 5)),
    "typ_p": lambda: st.builds(Draw, temperature=TEMPERATURE, typ_p=st.floats(0.01, 0.99)),
    "xtc": lambda: st.builds(
        Draw,
        temperature=TEMPERATURE,
        xtc=st.tuples(st.sampled_from([0.0, 1.0]), st.floats(1e-3, 0.5)),
    ),
    "mirostat": lambda: st.builds(
        Draw,
        temperature=st.floats(0.05, 2.0),
        mirostat=st.tuples(st.floats(0.5, 10.0), st.floats(0.01, 1.0)),
    ),
    "top_k": lambda: st.builds(Draw, temperature=TEMPERATURE, top_k=st.integers(1, 60)),
    "top_p": lambda: st.builds(Draw, temperature=TEMPERATURE, top_p=UNIT),
    "chain": lambda: st.builds(
        Draw,
        temperature=TEMPERATURE,
        freq=st.floats(-2, 2),
        present=st.floats(-2, 2),
        min_p=st.none() | UNIT,
        top_n_sigma=st.none() | st.floats(0.1, 5),
        typ_p=st.none() | st.floats(0.01, 0.99),
        xtc=st.none() | st.tuples(st.sampled_from([0.0, 1.0]), st.floats(1e-3, 0.5)),
        top_k=st.none() | st.integers(1, 60),
        top_p=st.none() | UNIT,
    ),
}


def real_logits(model: Path) -> np.ndarray:
    """The embedded model's next-token logits after each prompt's chat template (float32)."""
    import torch
    from transformers import AutoModelForCausalLM, AutoTokenizer

    tokenizer = AutoTokenizer.from_pretrained(model)
    network = AutoModelForCausalLM.from_pretrained(model, torch_dtype=torch.float32)
    found = []
    for prompt in PROMPTS:
        text = tokenizer.apply_chat_template(
            [{"role": "user", "content": prompt}], add_generation_prompt=True, tokenize=False
        )
        ids = tokenizer(text, return_tensors="pt", add_special_tokens=False).input_ids
        with torch.no_grad():
            found.append(network(ids).logits[0, -1].numpy())
    return np.stack(found)


def compare(
    comparison: Comparison,
    name: str,
    examples: int,
    real: np.ndarray | None,
    failures: dict[str, str],
) -> None:
    started = time.perf_counter()

    @settings(
        max_examples=examples,
        deadline=None,
        database=None,
        suppress_health_check=list(HealthCheck),
    )
    @given(
        draw=SAMPLERS[name](),
        steps=rows(256, 3) if real is None else st.just(real),
        history=st.lists(st.integers(0, 255), max_size=12),
    )
    def run(draw: Draw, steps: np.ndarray, history: list[int]) -> None:
        comparison.check(name if real is None else f"{name} (model logits)", draw, steps, history)

    try:
        run()
    except AssertionError as error:
        failures[name if real is None else f"{name} (model logits)"] = str(error)
    tally = comparison.tallies.get(name if real is None else f"{name} (model logits)")
    if tally is not None:
        tally.seconds += time.perf_counter() - started


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--examples", type=int, default=300, help="draws per sampler")
    parser.add_argument("--model-examples", type=int, default=40, help="draws on model logits")
    parser.add_argument("--samplers", nargs="+", choices=list(SAMPLERS), default=list(SAMPLERS))
    parser.add_argument("--model", type=Path, default=None, help="default: the embedded model")
    parser.add_argument("--out", type=Path, default=RESULTS / "sampler_differential.json")
    args = parser.parse_args(argv)
    if not REFERENCE.exists():
        subprocess.run([str(ROOT / "scripts" / "setup_llamacpp.sh")], check=True)
    model = args.model
    if model is None:
        from server.engine import embedded_model
        from server.settings import load_settings

        model = embedded_model.prepare(load_settings([]).cache_dir)
    real = real_logits(model)
    comparison = Comparison(Reference())
    failures: dict[str, str] = {}
    try:
        for name in args.samplers:
            compare(comparison, name, args.examples, None, failures)
            compare(comparison, name, args.model_examples, real, failures)
            for label, tally in comparison.tallies.items():
                if label.startswith(name):
                    print(
                        f"{label:<28} {tally.draws:>5} draws {tally.steps:>5} steps  "
                        f"largest |Δp| {tally.largest_difference:.2e}  "
                        f"beyond 1e-6 (float32) {tally.steps_beyond_tolerance_within_float32}  "
                        f"at a cut {tally.kept_set_differences_at_a_cut}  "
                        f"typical NaN {tally.typical_nan_in_llama_cpp}",
                        flush=True,
                    )
    finally:
        comparison.reference.close()
    result = {
        **provenance("sampler_differential", list(argv) if argv is not None else None),
        "llama_cpp_python": "0.3.36",
        "tolerance": TOLERANCE,
        "samplers": {label: asdict(tally) for label, tally in comparison.tallies.items()},
        "smallest_disagreement": failures,
    }
    args.out.write_text(json.dumps(result, indent=1) + "\n")
    print(f"wrote {args.out}; {len(failures)} sampler(s) disagree")


if __name__ == "__main__":
    main()
