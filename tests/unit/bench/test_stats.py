"""The one percentile: the nearest rank, the same in every tool's result file."""

import math

from bench.stats import Latencies, percentile


def test_percentile_is_a_measured_value_at_the_nearest_rank():
    values = [5.0, 1.0, 4.0, 2.0, 3.0]
    assert percentile(values, 0.5) == 3.0
    assert percentile(values, 0.0) == 1.0 and percentile(values, 1.0) == 5.0
    assert percentile(values, 0.99) == 5.0
    assert percentile([1.0, 2.0], 0.5) in (1.0, 2.0)  # never 1.5: no interpolation
    assert math.isnan(percentile([], 0.5))


def test_latencies_are_written_in_milliseconds():
    latencies = Latencies.of([0.001, 0.002, 0.010])
    assert (latencies.polls, latencies.p50, latencies.p99, latencies.max) == (3, 2.0, 10.0, 10.0)
    assert str(latencies) == "3 polls: p50 2.0 ms, p99 10.0 ms, max 10.0 ms"
