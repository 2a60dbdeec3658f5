"""Adaptive-p (server/sampling/samplers/adaptive.py) against a hand computation of
llama.cpp's formula: logit 5 - 10 d² / (1 + d), d = |p - target now| / 0.3."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch

from server.protocol.samplers import SamplerConfig
from server.sampling.samplers.adaptive import AdaptiveState
from server.sampling.samplers.chain import ChainState, StageRow
from server.sampling.samplers.config import ChainValues


def by_hand(p: float, target: float) -> float:
    d = abs(p - target) / 0.3
    return 5.0 - 10.0 * d * d / (1.0 + d)


ROW = torch.log(torch.tensor([0.5, 0.3, 0.2], dtype=torch.float64))


def test_the_average_starts_at_the_target():
    state = AdaptiveState(0.3, 0.9)
    assert state.weighted_sum == pytest.approx(3.0)
    assert state.total_weight == pytest.approx(10.0)
    assert state.target_now() == pytest.approx(0.3)


def test_reshaped_logits_by_hand():
    out = AdaptiveState(0.3, 0.9).apply(ROW, 0)
    # 0.5: d = 2/3, 5 - 10 (4/9) / (5/3) = 7/3; 0.3: d = 0, 5; 0.2: d = 1/3, 5 - 5/6.
    assert out.tolist() == pytest.approx([7 / 3, 5.0, 25 / 6], rel=1e-12)
    assert int(torch.argmax(out)) == 1  # the token nearest the target is now the likeliest


def test_cut_tokens_stay_cut_and_do_not_count():
    row = torch.tensor(
        [math.log(0.5), -math.inf, math.log(0.3), math.log(0.2)], dtype=torch.float64
    )
    out = AdaptiveState(0.25, 0.5).apply(row, 0)
    assert out[1].item() == -math.inf
    assert out[[0, 2, 3]].tolist() == pytest.approx(
        [by_hand(0.5, 0.25), by_hand(0.3, 0.25), by_hand(0.2, 0.25)], rel=1e-12
    )


def test_probabilities_are_of_the_row_as_given():
    """A logprob row and the same row shifted by a constant reshape the same way."""
    state = AdaptiveState(0.4, 0.9)
    assert torch.allclose(state.apply(ROW, 0), state.apply(ROW + 7.0, 0), atol=1e-12)


def test_learning_moves_the_target():
    state = AdaptiveState(0.3, 0.9)
    state.apply(ROW, 0)
    state.learn(0, 0)  # drew the token of probability 0.5
    assert state.weighted_sum == pytest.approx(0.5 + 0.9 * 3.0, rel=1e-12)
    assert state.total_weight == pytest.approx(1.0 + 0.9 * 10.0, rel=1e-12)
    # The average rose to 0.32: the target now falls to 0.28 to pull it back.
    assert state.target_now() == pytest.approx(2 * 0.3 - 3.2 / 10.0, rel=1e-12)
    out = state.apply(ROW, 1)
    assert out.tolist() == pytest.approx([by_hand(p, 0.28) for p in (0.5, 0.3, 0.2)], rel=1e-12)


def test_learning_only_at_the_position_it_reshaped():
    state = AdaptiveState(0.3, 0.9)
    state.learn(0, 0)  # nothing reshaped yet
    assert (state.weighted_sum, state.total_weight) == pytest.approx((3.0, 10.0))
    state.apply(ROW, 4)
    state.learn(0, 3)
    state.learn(0, 5)
    assert (state.weighted_sum, state.total_weight) == pytest.approx((3.0, 10.0))
    state.learn(2, 4)
    assert state.weighted_sum == pytest.approx(0.2 + 2.7)
    state.learn(0, 4)  # once per reshaping
    assert state.weighted_sum == pytest.approx(0.2 + 2.7)


@pytest.mark.parametrize(("decay", "kept"), [(1.0, 0.99), (5.0, 0.99), (-0.5, 0.0), (0.5, 0.5)])
def test_decay_is_clamped(decay, kept):
    state = AdaptiveState(0.2, decay)
    assert state.decay == kept
    assert state.total_weight == pytest.approx(1.0 / (1.0 - kept))
    assert state.target_now() == pytest.approx(0.2)


def test_target_now_is_clamped_to_a_probability():
    state = AdaptiveState(0.9, 0.0)
    state.apply(torch.log(torch.tensor([0.8, 0.2], dtype=torch.float64)), 0)
    state.learn(1, 0)  # average 0.2: 2 x 0.9 - 0.2 = 1.6
    assert state.target_now() == 1.0
    low = AdaptiveState(0.1, 0.0)
    low.apply(torch.log(torch.tensor([0.8, 0.2], dtype=torch.float64)), 0)
    low.learn(0, 0)  # average 0.8: 0.2 - 0.8 < 0
    assert low.target_now() == 0.0


def test_in_the_chain_it_learns_from_the_token_drawn_at_the_step_before():
    config = SamplerConfig(adaptive_target=0.3, adaptive_decay=0.9)
    state = ChainState(ChainValues(order=("temperature", "adaptive_p"), temperature=0.5), config)
    raw = ROW.clone()
    tempered = np.array([0.25, 0.09, 0.04]) / 0.38
    trace: list[StageRow] = []
    out = state.apply([], [], raw, trace)
    assert trace[-1].name == "adaptive_p" and trace[-1].value == pytest.approx(0.3)
    assert out.tolist() == pytest.approx([by_hand(p, 0.3) for p in tempered], rel=1e-12)
    trace = []
    state.apply([], [0], raw, trace)
    expected = 2 * 0.3 - (tempered[0] + 2.7) / 10.0
    assert trace[-1].value == pytest.approx(expected, rel=1e-12)
