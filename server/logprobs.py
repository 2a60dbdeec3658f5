"""Token logprobs -> OpenAI's two logprobs shapes (pure)."""

from __future__ import annotations

from collections.abc import Sequence

from server.outputs import TokenLogprob
from server.schemas.chat import ChatCompletionTokenLogprob, ChoiceLogprobs, TopLogprob
from server.schemas.completions import CompletionLogprobs
from server.vocabulary import Vocabulary


def chat_logprobs(tokens: Sequence[TokenLogprob], vocab: Vocabulary) -> ChoiceLogprobs:
    """`choices[i].logprobs.content`: one entry per token with its UTF-8 bytes."""

    def top(token_id: int, logprob: float) -> TopLogprob:
        return TopLogprob(
            token=vocab.text_of(token_id),
            logprob=logprob,
            bytes=list(vocab.bytes_of(token_id)),
        )

    content = [
        ChatCompletionTokenLogprob(
            token=vocab.text_of(t.token_id),
            logprob=t.logprob,
            bytes=list(vocab.bytes_of(t.token_id)),
            top_logprobs=[top(tid, lp) for tid, lp in t.top],
        )
        for t in tokens
    ]
    return ChoiceLogprobs(content=content)


def completion_logprobs(
    tokens: Sequence[TokenLogprob],
    vocab: Vocabulary,
    initial_offset: int,
) -> CompletionLogprobs:
    """The legacy parallel lists; text_offset counts characters from the prompt's start."""
    result = CompletionLogprobs(tokens=[], token_logprobs=[], top_logprobs=[], text_offset=[])
    offset = initial_offset
    for entry in tokens:
        text = vocab.text_of(entry.token_id)
        result.tokens.append(text)
        result.token_logprobs.append(entry.logprob)
        result.top_logprobs.append({vocab.text_of(tid): lp for tid, lp in entry.top})
        result.text_offset.append(offset)
        offset += len(text)
    return result


def echo_logprobs(
    prompt_ids: Sequence[int],
    prompt_logprobs: Sequence[TokenLogprob | None],
    vocab: Vocabulary,
) -> CompletionLogprobs:
    """The prompt's part of an echoed completion: the first token's logprob is null."""
    result = CompletionLogprobs(tokens=[], token_logprobs=[], top_logprobs=[], text_offset=[])
    offset = 0
    for token_id, entry in zip(prompt_ids, prompt_logprobs, strict=False):
        text = vocab.text_of(token_id)
        result.tokens.append(text)
        result.token_logprobs.append(None if entry is None else entry.logprob)
        result.top_logprobs.append(
            None if entry is None else {vocab.text_of(tid): lp for tid, lp in entry.top}
        )
        result.text_offset.append(offset)
        offset += len(text)
    return result


def concat(first: CompletionLogprobs, second: CompletionLogprobs) -> CompletionLogprobs:
    return CompletionLogprobs(
        tokens=first.tokens + second.tokens,
        token_logprobs=first.token_logprobs + second.token_logprobs,
        top_logprobs=first.top_logprobs + second.top_logprobs,
        text_offset=first.text_offset + second.text_offset,
    )
