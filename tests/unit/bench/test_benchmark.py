"""The benchmark's arithmetic: per-level summaries, medians over rounds, and the ratio table."""

import math
from dataclasses import replace

import pytest

from bench.benchmark.report import CpuUse, Sample, median_of, ratios, summarise
from bench.benchmark.targets import completion_body
from bench.benchmark.workload import Workload


def result(target: str, tokens_per_s: float, stream: bool = True, concurrency: int = 16):
    samples = [Sample(True, 1.0, 0.1, [0.02, 0.03], tokens=64)]
    r = summarise(target, concurrency, stream, samples, 1.0, CpuUse(front=0.0064, client=0.0))
    return replace(
        r,
        output_tokens_per_s=tokens_per_s,
        output_tokens_per_s_min=tokens_per_s,
        output_tokens_per_s_max=tokens_per_s,
    )


def test_summary_counts_only_good_samples_and_cpu_per_token():
    good = Sample(True, 2.0, 0.25, [0.01, 0.03], tokens=64)
    bad = Sample(False, 0.5, 0.0)
    r = summarise("server", 4, True, [good, bad], 2.0, CpuUse(0.0128, 0.0064))
    assert (r.requests, r.errors) == (2, 1)
    assert r.output_tokens_per_s == 32.0
    assert r.ttft_p50_ms == 250.0
    assert r.front_cpu_us_per_token == 200.0
    assert r.client_cpu_us_per_token == 100.0


def test_whole_answers_have_no_inter_token_latency():
    r = summarise("vllm", 1, False, [Sample(True, 1.0, 1.0, tokens=64)], 1.0, CpuUse(0, 0))
    assert math.isnan(r.itl_p50_ms)


def test_median_over_rounds_keeps_the_spread():
    runs = [result("server", t) for t in (300.0, 360.0, 320.0)]
    m = median_of(runs)
    assert m.output_tokens_per_s == 320.0
    assert (m.output_tokens_per_s_min, m.output_tokens_per_s_max) == (300.0, 360.0)
    assert m.rounds == 3
    assert m.requests == 3


def test_ratios_of_medians_with_per_round_range():
    rounds = [
        [result("server", 330.0), result("vllm", 300.0), result("inprocess", 340.0)],
        [result("server", 300.0), result("vllm", 330.0), result("inprocess", 310.0)],
        [result("server", 320.0), result("vllm", 320.0), result("inprocess", 320.0)],
    ]
    keys = {("server", 16, True), ("vllm", 16, True), ("inprocess", 16, True)}
    medians = [
        median_of([r for rs in rounds for r in rs if (r.target, r.concurrency, r.stream) == key])
        for key in sorted(keys)
    ]
    (row,) = ratios(rounds, medians)
    assert row["tokens_vs_vllm"] == 1.0
    assert row["tokens_vs_vllm_range"] == [pytest.approx(300 / 330, abs=1e-3), 1.1]
    assert row["tokens_vs_inprocess"] == pytest.approx(320 / 320)
    assert row["ttft_p50_delta_ms_vs_vllm"] == 0.0


def test_llamacpp_gets_text_and_a_banned_eos():
    work = Workload([1000, 1007], "ab", 2, 64, [1], 8)
    body = completion_body("llamacpp", "m", work, stream=True)
    assert body["prompt"] == "ab"
    assert body["logit_bias"] == {"2": -100}
    assert "ignore_eos" not in body and "stream_options" not in body
    ours = completion_body("server", "m", work, stream=True)
    assert ours["prompt"] == [1000, 1007] and ours["ignore_eos"] is True
    assert ours["stream_options"] == {"include_usage": True}
