"""bench numerics' comparison of an engine's greedy answers with the float64 reference."""

from bench import numerics
from bench.numerics import Answer, EngineRun, Reference, Step


def answer(tokens: list[int], logprob: float = -1.0) -> Answer:
    return Answer([Step(t, logprob, {t: logprob, t + 100: logprob - 1}) for t in tokens])


def run(name: str, answers: list[Answer]) -> EngineRun:
    return EngineRun(name, 1.0, answers, 10.0, 100.0, "vllm._C")


def test_first_divergence():
    assert numerics.first_divergence(answer([1, 2, 3]), answer([1, 2, 3])) is None
    assert numerics.first_divergence(answer([1, 5, 3]), answer([1, 2, 3])) == 1
    assert numerics.first_divergence(answer([1, 2]), answer([1, 2, 3])) == 2


def test_compare_counts_only_the_shared_prefix():
    reference = Reference([answer([1, 2, 3]), answer([4, 5, 6])], [0.5, 0.2])
    mine = run("fp32", [answer([1, 2, 3], -1.001), answer([4, 9, 9], -1.5)])
    row = numerics.compare(mine, reference, None)
    assert (row.equal_to_reference, row.prompts) == (1, 2)
    assert row.first_divergence == [None, 1]
    # three shared steps off by 0.001, one (before the divergence) by 0.5
    assert abs(row.max_chosen_delta - 0.5) < 1e-9
    assert abs(row.median_chosen_delta - 0.001) < 1e-9
    assert row.differs_from_machine_kernels is None


def test_a_kernel_knob_that_changes_nothing_is_reported_so():
    reference = Reference([answer([1, 2])], [0.5])
    machine = run("fp32", [answer([1, 2])])
    same = numerics.compare(run("fp32-avx2", [answer([1, 2])]), reference, machine)
    moved = numerics.compare(run("fp32-avx2", [answer([1, 2], -1.0000001)]), reference, machine)
    assert same.differs_from_machine_kernels is False
    assert moved.differs_from_machine_kernels is True
