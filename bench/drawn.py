"""Requests drawn by schemathesis from one OpenAPI operation, handed one at a time to a
check that tallies what it finds (nothing is raised, so a run counts every problem)."""

from __future__ import annotations

import contextlib
from collections.abc import Callable
from typing import Any

from hypothesis import HealthCheck, Verbosity, given, settings
from hypothesis.errors import Unsatisfiable
from schemathesis.generation import GenerationMode


def each_case(
    operation: Any,
    mode: GenerationMode,
    examples: int,
    derandomize: bool,
    check: Callable[[Any], None],
) -> None:
    @settings(
        max_examples=examples,
        deadline=None,
        suppress_health_check=list(HealthCheck),
        derandomize=derandomize,
        database=None,
        verbosity=Verbosity.quiet,
    )
    @given(case=operation.as_strategy(generation_mode=mode))
    def draw(case: Any) -> None:
        check(case)

    # A route with nothing to get wrong (GET /health) has no invalid request to draw.
    with contextlib.suppress(Unsatisfiable):
        draw()
