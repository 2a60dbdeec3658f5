"""The one percentile every tool reports, so that a p99 means the same in each result file:
the nearest rank (a value that was measured, never an interpolation)."""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass


def percentile(values: Sequence[float], q: float) -> float:
    """The value at rank round(q * (n - 1)) of the sorted values; NaN when there are none."""
    if not values:
        return math.nan
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


@dataclass(frozen=True)
class Latencies:
    """A run of latency samples in milliseconds, as the result files write it."""

    polls: int
    p50: float
    p99: float
    max: float

    @classmethod
    def of(cls, seconds: Sequence[float]) -> Latencies:
        def ms(value: float) -> float:
            return round(value * 1000, 1)

        return cls(
            polls=len(seconds),
            p50=ms(percentile(seconds, 0.5)),
            p99=ms(percentile(seconds, 0.99)),
            max=ms(max(seconds, default=math.nan)),
        )

    def __str__(self) -> str:
        return f"{self.polls} polls: p50 {self.p50} ms, p99 {self.p99} ms, max {self.max} ms"
