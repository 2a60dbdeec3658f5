"""Admission by engine requests, not HTTP requests: one completions request over many prompts
with n choices each starts prompts x n engine requests, so that is what the bounds count."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from server.metrics import Metrics
from server.protocol.errors import APIError


@dataclass
class Admission:
    max_in_flight: int  # engine requests in flight across all HTTP requests (429 beyond)
    max_per_request: int  # engine requests one HTTP request may start (400 beyond)
    metrics: Metrics
    in_flight: int = 0

    def check_fanout(self, engine_requests: int, param: str) -> None:
        """Refuse a request that could never be admitted, before any work is done for it."""
        largest = min(self.max_per_request, self.max_in_flight)
        if engine_requests > largest:
            raise APIError(
                f"This request would start {engine_requests} engine requests (prompts x n); "
                f"this server allows at most {largest} per request.",
                param=param,
                code="too_many_choices",
            )

    def admit(self, engine_requests: int, param: str) -> Callable[[], None]:
        """Take slots for a request's engine requests, or refuse it; the returned callable
        gives them back (idempotent)."""
        self.check_fanout(engine_requests, param)
        if self.in_flight + engine_requests > self.max_in_flight:
            self.metrics.rejected.inc()
            raise APIError(
                f"The server is busy ({self.in_flight} of {self.max_in_flight} engine requests "
                "in flight); retry shortly.",
                status=429,
                type="rate_limit_error",
                code="server_busy",
            )
        self.in_flight += engine_requests
        self.metrics.in_flight.inc(engine_requests)
        released = False

        def release() -> None:
            nonlocal released
            if not released:
                released = True
                self.in_flight -= engine_requests
                self.metrics.in_flight.dec(engine_requests)

        return release
