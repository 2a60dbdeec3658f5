"""The README is shown by GitHub, not built with the docs' macros: each figure it names is
checked here against the results file (or test) that backs it, and a figure in its prose that
nothing here backs fails, so the README cannot drift from its evidence."""

import re
from collections.abc import Callable

from bench import ROOT
from bench.results import result_range, value

README = ROOT / "README.md"
# A measured-looking figure: a number (or range) with a unit, or a bound like 1e-4.
FIGURE = re.compile(
    r"\d[\d,.]*(?:\u2013\d[\d,.]*)?\s?(?:s|ms|µs|%|\u00d7|tok(?:ens)?/s|MB|MiB|GB|GiB|minutes?|nat)"
    r"(?!\w)|\d+(?:\.\d+)?e-\d+|\d\.\d+\u2013\d\.\d+"
)


def float32_logprob_bound() -> str:
    """Every float32 variant answers as the float64 reference and stays within 1e-4 nat."""
    float32 = [v for v in value("numerics.json", "variants") if v["dtype"] == "float32"]
    assert float32 and all(v["equal_to_reference"] == v["prompts"] > 0 for v in float32)
    assert max(v["max_top_delta"] for v in float32) < 1e-4
    return "logprobs within 1e-4 nat"


def inspector_agreement() -> str:
    """The bound the processed-logprobs e2e test holds the inspector to."""
    source = (ROOT / "tests" / "e2e" / "test_processed.py").read_text()
    bound = re.search(r"^SAMPLER_AGREEMENT = (\S+)$", source, re.MULTILINE)
    assert bound is not None
    return f"(to {bound[1]}, which a test holds it to)"


# Each figure the README names, as the text its evidence gives.
FIGURES: dict[str, Callable[[], str]] = {
    "server / vllm serve throughput": lambda: (
        f"{result_range('benchmark.json', 'ratios', 'tokens_vs_vllm', '.2f')} of its throughput"
    ),
    "float32 logprob error": float32_logprob_bound,
    "inspector agreement": inspector_agreement,
}


def prose(text: str) -> str:
    """The README without its code blocks (example output is not a measurement)."""
    return re.sub(r"^```.*?^```", "", text, flags=re.MULTILINE | re.DOTALL)


def test_every_figure_in_the_readme_matches_its_results():
    text = " ".join(README.read_text().split())
    for name, evidence in FIGURES.items():
        assert evidence() in text, f"README's {name} is not {evidence()!r}"


def test_the_readme_names_no_figure_without_evidence():
    backed = " ".join(evidence() for evidence in FIGURES.values())
    text = " ".join(prose(README.read_text()).split())
    unbacked = [f for f in FIGURE.findall(text) if f not in backed]
    assert not unbacked, f"figures in README.md with no results behind them: {unbacked}"
