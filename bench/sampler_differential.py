"""`python -m bench sampler_differential`: this server's sampler stages (the functions the
inspector and the engine's processors run: server/sampling/stages.py) against llama.cpp's own
samplers (its C API, bench/llamacpp_chain.py in .venv-llamacpp), on the same logits. For each
sampler, hypothesis draws the parameters and the logits (random rows, and the embedded model's
real first-token logits for a few prompts); both must keep the same tokens and give them the
same probabilities to 1e-6. Where a draw disagrees, hypothesis shrinks it and the smallest
disagreeing draw is recorded. Each sampler alone, and "chain", run in the server's fixed order
(penalties, temperature, min_p, top_n_sigma, typ_p, xtc, mirostat, top_k, top_p) through
run_step, given to llama.cpp as its `samplers` list.

Whole chains in other orders run through ChainState (the processor that runs any order) and
llama.cpp's chain built in the same order: "chain llama.cpp order" (its default without DRY
and adaptive-p, each stage on or off, penalties first), "chain permutations" (two or more of
top_k, top_p, min_p, temperature, typ_p, top_n_sigma and xtc in a drawn order) and
"adaptive_p" (min_p, temperature, adaptive-p: each of the first two on or off, min_p then
adaptive-p being how llama.cpp suggests running it). llama.cpp selects adaptive-p's token and
ours learns from that same token (the next step's `output[-1]`), so both targets move alike.
The penalties are in the llama.cpp-order chain only: with a window over the whole history and
no repetition penalty they count the tokens ours counts (the "penalties" entry holds them to
that). Mirostat is in no order (it ends llama.cpp's chain in place of the others).

Not compared: DRY (llama.cpp's needs a GGUF vocabulary to tokenize its breakers; ours takes
token ids), XTC with a probability strictly between 0 and 1 (the two draw their coins from
different generators: 0 and 1 are compared; its threshold is drawn from [0.001, 0.5], since
at 0 with temperature 0 llama.cpp keeps one of the tokens its temperature set to -inf), the
repetition penalty (vLLM's, not a stage). Two things are counted apart, not failed: a token
at a cut that this server's own float64 computation moves across when the logits move by
what float32 sums over the vocabulary can err by (sqrt(n) units in the last place), and
typical-p where llama.cpp sees a probability of 0 (a float32 underflow, or a token top_n_sigma or
temperature 0 set to -inf without removing it): it computes 0 * log 0 = NaN and keeps an
arbitrary set (in the fixed order judged from the draw; in the other orders the child looks
at the candidates typical-p gets). Probabilities may differ beyond 1e-6 only by what float32
arithmetic on the tempered logits allows (low temperatures), and after adaptive-p by what
its reshaping makes of the float32 error of the probabilities it reads
(`adaptive_allowance`); those steps are counted."""

from __future__ import annotations

import argparse
import json
import subprocess
import time
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from bench import RESULTS, ROOT, provenance
from server.protocol.samplers import LLAMA_CPP_ORDER, VLLM_ORDER, StageName, parse_order

if TYPE_CHECKING:
    from server.protocol.samplers import SamplerConfig

TOLERANCE = 1e-6
REFERENCE = ROOT / ".venv-llamacpp" / "bin" / "python"
CHILD = ROOT / "bench" / "llamacpp_chain.py"
PROMPTS = ("What is the capital of France?", "Write a haiku about rain.", "Count to five.")
# run_step's fixed order (vLLM's, without DRY, not compared, and adaptive-p, an entry of its
# own): the chain llama.cpp gets for a draw that names none.
SERVER_ORDER = tuple(stage for stage in VLLM_ORDER if stage not in ("dry", "adaptive_p"))
# llama.cpp's default without DRY (not compared) and adaptive-p (an entry of its own).
LLAMA_ORDER = tuple(stage for stage in LLAMA_CPP_ORDER if stage not in ("dry", "adaptive_p"))


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
    adaptive: tuple[float, float] | None = None  # target, decay
    order: tuple[StageName, ...] | None = None  # None: run_step's fixed order

    def chain(self, window: int) -> list[dict]:
        """`window`: every token the penalties must count (the history and each step's).
        The stages set, in the draw's order (penalties and temperature, neutral at their
        defaults, are always set)."""
        xtc, mirostat, adaptive = self.xtc, self.mirostat, self.adaptive
        stages: dict[str, dict | None] = {
            "penalties": {
                "last_n": window,
                "repeat": 1.0,
                "freq": self.freq,
                "present": self.present,
            },
            "temperature": {"t": self.temperature},
            "min_p": None if self.min_p is None else {"p": self.min_p},
            "top_n_sigma": None if self.top_n_sigma is None else {"n": self.top_n_sigma},
            "typ_p": None if self.typ_p is None else {"p": self.typ_p},
            "xtc": None if xtc is None else {"probability": xtc[0], "threshold": xtc[1]},
            "mirostat": None if mirostat is None else {"tau": mirostat[0], "eta": mirostat[1]},
            "top_k": None if self.top_k is None else {"k": self.top_k},
            "top_p": None if self.top_p is None else {"p": self.top_p},
            "adaptive_p": (
                None if adaptive is None else {"target": adaptive[0], "decay": adaptive[1]}
            ),
        }
        return [
            {"name": name} | spec
            for name in self.order or SERVER_ORDER
            if (spec := stages.get(name)) is not None
        ]

    def config(self) -> SamplerConfig:
        """The extra samplers' settings (each off where the draw leaves it None)."""
        from server.protocol.samplers import SamplerConfig

        return SamplerConfig(
            top_n_sigma=self.top_n_sigma if self.top_n_sigma is not None else -1.0,
            typical_p=self.typ_p if self.typ_p is not None else 1.0,
            xtc_probability=self.xtc[0] if self.xtc else 0.0,
            xtc_threshold=self.xtc[1] if self.xtc else 0.1,
            mirostat=2 if self.mirostat else 0,
            mirostat_tau=self.mirostat[0] if self.mirostat else 5.0,
            mirostat_eta=self.mirostat[1] if self.mirostat else 0.1,
            adaptive_target=self.adaptive[0] if self.adaptive else -1.0,
            adaptive_decay=self.adaptive[1] if self.adaptive else 0.9,
        )


def ours(
    draw: Draw,
    steps: np.ndarray,
    history: list[int],
    drawn: list[int],
    bounds: list[float] | None = None,
) -> list[np.ndarray]:
    """The server's stages on the same logits: each step's final distribution (`bounds`:
    where given, each step's float32 allowance for adaptive-p is appended to it)."""
    import torch

    from server.sampling.samplers.truncation import LateState
    from server.sampling.stages import Filters, run_step

    if draw.order is not None:
        return ours_in_order(draw, steps, history, drawn, bounds)
    config = draw.config()
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


def ours_in_order(
    draw: Draw,
    steps: np.ndarray,
    history: list[int],
    drawn: list[int],
    bounds: list[float] | None = None,
) -> list[np.ndarray]:
    """ChainState in the draw's order, float64 on the logits both read. `drawn[step]` is
    the next step's `output[-1]`: adaptive-p learns from it as the engine hands it over."""
    import torch

    from server.sampling.samplers.chain import ChainState, StageRow
    from server.sampling.samplers.config import ChainValues

    assert draw.order is not None
    values = ChainValues(
        order=parse_order(draw.order),
        temperature=draw.temperature,
        top_k=draw.top_k or 0,
        top_p=draw.top_p if draw.top_p is not None else 1.0,
        min_p=draw.min_p or 0.0,
        presence_penalty=draw.present,
        frequency_penalty=draw.freq,
    )
    state = ChainState(values, draw.config())
    output = list(history)
    finals = []
    relative = probability_error(draw, steps)
    for step, logits in enumerate(steps):
        trace: list[StageRow] = []
        entering = torch.from_numpy(logits.astype(np.float64))
        row = state.apply([], output, entering, trace)
        finals.append(torch.softmax(row, dim=-1).numpy())
        if bounds is not None and draw.adaptive is not None:
            entering = trace[-2].row if len(trace) > 1 else entering  # adaptive-p runs last
            target, ema = trace[-1].value, state.adaptive
            assert target is not None
            average = ema.weighted_sum / ema.total_weight  # what the target moved by
            bounds.append(
                adaptive_allowance(entering.numpy(), target, average, finals[-1], relative)
            )
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


def probability_error(draw: Draw, steps: np.ndarray) -> float:
    """The relative error of a probability llama.cpp computes in float32: the tempered
    logit's rounding (as `allowance`) and the sum over the vocabulary's (as
    `moves_with_rounding`)."""
    exponent = 4 * float(np.abs(steps).max()) / draw.temperature if draw.temperature > 0 else 0
    return (exponent + max(4.0, float(np.sqrt(steps.shape[1])))) * FLOAT32_EPS


def adaptive_allowance(
    entering: np.ndarray, target: float, average: float, final: np.ndarray, relative: float
) -> float:
    """What float32 can move adaptive-p's output by: it reshapes each probability p into
    5 - 10 d²/(1 + d), d = |p - target| / 0.3, whose slope (up to 33 per unit of p)
    multiplies p's float32 error (`relative` x p) and the target's (the moving `average`
    of such probabilities: `relative` x average); the last softmax passes a logit's error
    e_j on as q_j (e_j + sum_i q_i e_i)."""
    from server.sampling.samplers.adaptive import PEAK, SHARPNESS, WIDTH

    finite = np.isfinite(entering)
    probs = np.zeros_like(entering)
    probs[finite] = np.exp(entering[finite] - entering[finite].max())
    probs /= probs.sum()
    d = np.abs(probs - target) / WIDTH
    moved = ((probs + average) * relative + 4 * FLOAT32_EPS) / WIDTH
    slope = SHARPNESS * d * (2 + d) / (1 + d) ** 2
    error = slope * moved + 4 * FLOAT32_EPS * (PEAK + SHARPNESS * d)  # and its own rounding
    return max(TOLERANCE, float((final * (error + (final * error).sum())).max()))


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
        own picks where it picks (Mirostat, adaptive-p), else the most likely token."""
        tally = self.tallies.setdefault(sampler, Tally())
        steps = steps.astype(np.float32).astype(np.float64)  # the values both sides read
        drawn = [int(np.argmax(row)) for row in steps]
        window = max(len(history) + len(steps), 1)
        case = {"chain": draw.chain(window), "steps": steps.tolist(), "history": history}
        theirs = self.reference.run(case | {"drawn": drawn})
        if draw.mirostat or draw.adaptive:
            drawn = [step["selected"] for step in theirs]
        bounds: list[float] = []
        mine = ours(draw, steps, history, drawn, bounds)
        tally.draws += 1
        if draw.order is None:
            sees_a_zero = typical_sees_a_zero(draw, steps)
        else:
            sees_a_zero = any(step["typical_zero"] for step in theirs)
        if sees_a_zero:
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
                bound = max([allowance(draw, steps[step]), *bounds[step : step + 1]])
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
XTC = st.tuples(st.sampled_from([0.0, 1.0]), st.floats(1e-3, 0.5))
# Each permuted stage's parameter (the Draw field of the same name).
PERMUTED: dict[StageName, st.SearchStrategy] = {
    "top_k": st.integers(1, 60),
    "top_p": UNIT,
    "min_p": UNIT,
    "temperature": TEMPERATURE,
    "typ_p": st.floats(0.01, 0.99),
    "top_n_sigma": st.floats(0.1, 5),
    "xtc": XTC,
}
# Steps per draw on random rows: adaptive-p's target moves with each token drawn.
STEPS = {"adaptive_p": 8}


@st.composite
def permutation(draw: st.DrawFn) -> Draw:
    """Two or more of PERMUTED, in a drawn order, each with a drawn parameter."""
    order = draw(st.lists(st.sampled_from(list(PERMUTED)), min_size=2, unique=True))
    return Draw(order=tuple(order), **{name: draw(PERMUTED[name]) for name in order})


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
    "chain llama.cpp order": lambda: st.builds(
        Draw,
        order=st.just(LLAMA_ORDER),
        temperature=TEMPERATURE,
        freq=st.floats(-2, 2),
        present=st.floats(-2, 2),
        **{
            name: st.none() | strategy
            for name, strategy in PERMUTED.items()
            if name != "temperature"
        },
    ),
    "chain permutations": permutation,
    "adaptive_p": lambda: st.builds(
        Draw,
        order=st.just(("min_p", "temperature", "adaptive_p")),
        temperature=st.just(1.0) | TEMPERATURE,
        min_p=st.none() | UNIT,
        adaptive=st.tuples(st.floats(0.0, 1.0), st.floats(0.0, 0.99)),
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
        steps=rows(256, STEPS.get(name, 3)) if real is None else st.just(real),
        history=st.lists(st.integers(0, 255), max_size=12),
    )
    def run(draw: Draw, steps: np.ndarray, history: list[int]) -> None:
        comparison.check(name if real is None else f"{name} (model logits)", draw, steps, history)

    try:
        run()
    except* AssertionError as group:  # a group where hypothesis finds several failures
        failures[name if real is None else f"{name} (model logits)"] = "\n".join(
            map(str, group.exceptions)
        )
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
                if label in (name, f"{name} (model logits)"):
                    print(
                        f"{label:<36} {tally.draws:>5} draws {tally.steps:>5} steps  "
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
