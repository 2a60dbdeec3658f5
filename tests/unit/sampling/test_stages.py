import numpy as np
import pytest
import torch
from vllm.v1.sample.ops.topk_topp_sampler import apply_top_k_top_p_pytorch

from server.sampling.stages import Filters, entropy_bits, run_step


def log_softmax(x: np.ndarray) -> np.ndarray:
    return x - np.log(np.exp(x - x.max()).sum()) - x.max()


RAW = log_softmax(np.log(np.array([0.5, 0.2, 0.15, 0.1, 0.05])))


def test_no_filters_keeps_the_raw_distribution():
    stages = run_step(RAW, Filters())
    assert stages.final_probs == pytest.approx([0.5, 0.2, 0.15, 0.1, 0.05])
    assert [int(s.kept.sum()) for s in stages.stages] == [5] * 7
    assert not any(s.active for s in stages.stages)


def test_temperature_sharpens_and_flattens():
    cold = run_step(RAW, Filters(temperature=0.5)).tempered_probs
    hot = run_step(RAW, Filters(temperature=2.0)).tempered_probs
    p = np.array([0.5, 0.2, 0.15, 0.1, 0.05])
    assert cold == pytest.approx(p**2 / (p**2).sum())
    assert hot == pytest.approx(np.sqrt(p) / np.sqrt(p).sum())
    assert entropy_bits(cold) < entropy_bits(p) < entropy_bits(hot)


def test_greedy_is_one_hot_and_switches_filters_off():
    stages = run_step(RAW, Filters(temperature=0.0, top_k=2, top_p=0.1, min_p=0.9))
    assert stages.greedy
    assert stages.final_probs.tolist() == [1.0, 0, 0, 0, 0]


def test_min_p_scales_with_the_top_probability():
    stages = run_step(RAW, Filters(min_p=0.3))
    assert stages.stage("min_p").value == pytest.approx(0.15)
    assert stages.stage("min_p").kept.tolist() == [True, True, True, False, False]
    assert stages.cut_by(3) == "min_p" and stages.cut_by(0) is None
    assert stages.final_probs == pytest.approx(np.array([0.5, 0.2, 0.15, 0, 0]) / 0.85)


def test_top_p_keeps_the_token_that_crosses_p():
    stages = run_step(RAW, Filters(top_p=0.6))
    assert stages.stage("top_p").kept.tolist() == [True, True, False, False, False]
    assert stages.stage("top_p").value == pytest.approx(0.2)


def test_penalties_and_bias_shift_before_temperature():
    stages = run_step(RAW, Filters(frequency_penalty=1.0, presence_penalty=0.5), {0: 2}, {4: 3.0})
    assert stages.adjusted[0] == pytest.approx(RAW[0] - 2.5)
    assert stages.adjusted[4] == pytest.approx(RAW[4] + 3.0)


@pytest.mark.parametrize("seed", range(20))
def test_top_k_and_top_p_match_vllms_own_implementation(seed):
    rng = np.random.default_rng(seed)
    logits = rng.normal(scale=3.0, size=400).astype(np.float32)
    if seed % 4 == 0:
        logits[:5] = logits[0]  # ties at the k-th value
    k = int(rng.integers(1, 50))
    p = float(rng.uniform(0.05, 0.99))
    temperature = float(rng.uniform(0.3, 1.8))
    scaled = torch.tensor(logits / temperature).unsqueeze(0)
    expected = apply_top_k_top_p_pytorch(scaled.clone(), torch.tensor([k]), torch.tensor([p]))
    expected_kept = torch.isfinite(expected[0]).numpy()
    stages = run_step(log_softmax(logits.astype(np.float64)), Filters(temperature, p, k))
    assert (stages.stage("top_p").kept == expected_kept).all()
    vllm_probs = torch.softmax(expected[0].double(), dim=-1).numpy()
    assert np.abs(stages.final_probs - vllm_probs).max() < 1e-3
