"""Token usage as OpenAI reports it, with the prompt tokens the prefix cache served."""

from __future__ import annotations

from server.protocol.common import PromptTokensDetails, Usage
from server.sampling.outputs import ChoiceOutput


def usage(prompt_tokens: int, completion_tokens: int, cached_tokens: int = 0) -> Usage:
    return Usage(
        prompt_tokens=prompt_tokens,
        completion_tokens=completion_tokens,
        total_tokens=prompt_tokens + completion_tokens,
        prompt_tokens_details=PromptTokensDetails(cached_tokens=cached_tokens),
    )


class CachedTokens:
    """Prompt tokens found in the prefix cache, as usage reports them: per prompt, the first
    choice's count (the other choices of the same prompt reuse what it computed)."""

    def __init__(self, choices_per_prompt: int = 1) -> None:
        self._per_prompt = choices_per_prompt
        self._counts: dict[int, int] = {}

    def see(self, delta: ChoiceOutput) -> None:
        if delta.index % self._per_prompt == 0:
            self._counts[delta.index] = max(self._counts.get(delta.index, 0), delta.cached_tokens)

    @property
    def total(self) -> int:
        return sum(self._counts.values())
