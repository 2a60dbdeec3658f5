import pytest

from server.protocol.chat import ChatCompletionRequest
from server.protocol.errors import APIError
from server.sampling.params import resolve
from server.sampling.vocabulary import Vocabulary
from server.services.samplers import breaker_ids, check_samplers, sampler_args
from server.settings import SamplingDefaults

VOCAB = Vocabulary((b"a", b"\n", b".\n", b"b:", b"c", b'"x'))


def sampling(**fields):
    body = {"model": "m", "messages": [{"role": "user", "content": "hi"}], **fields}
    return resolve(ChatCompletionRequest(**body), SamplingDefaults())


def test_breakers_are_the_tokens_holding_one():
    assert breaker_ids(VOCAB, ("\n", ":", '"', "*")) == (1, 2, 3, 5)
    assert breaker_ids(VOCAB, ()) == ()


def test_no_sampler_no_extra_args():
    assert sampler_args(sampling(temperature=0.5, top_k=3), VOCAB) is None


def test_xtc_coin_follows_the_seed_per_choice():
    args = [sampler_args(sampling(xtc_probability=0.5, seed=10), VOCAB, i) for i in range(2)]
    assert [a.xtc_seed for a in args] == [10, 11]
    unseeded = {sampler_args(sampling(xtc_probability=0.5), VOCAB).xtc_seed for _ in range(5)}
    assert len(unseeded) == 5


def test_dry_carries_its_breaker_ids():
    args = sampler_args(sampling(dry_multiplier=1.0, dry_sequence_breakers=["c"]), VOCAB)
    assert args.dry_breaker_ids == (4,)
    assert args.config.dry_sequence_breakers == ("c",)


@pytest.mark.parametrize(
    "clash",
    [
        {"top_k": 5},
        {"top_p": 0.9},
        {"min_p": 0.1},
        {"typical_p": 0.5},
        {"top_n_sigma": 1.0},
        {"xtc_probability": 0.5},
        {"preset": "balanced"},
    ],
)
def test_mirostat_refuses_other_truncations_by_name(clash):
    with pytest.raises(APIError) as refused:
        check_samplers(sampling(mirostat=2, **clash))
    assert refused.value.param == "mirostat"


def test_mirostat_alone_and_with_dry_is_fine():
    check_samplers(sampling(mirostat=2, dry_multiplier=0.8, temperature=0.9))
