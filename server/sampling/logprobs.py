"""Token logprobs -> OpenAI's two logprobs shapes (pure)."""

from __future__ import annotations

import codecs
from collections.abc import Iterable, Sequence

from server.protocol.chat import ChatCompletionTokenLogprob, ChoiceLogprobs, TopLogprob
from server.protocol.completions import CompletionLogprobs
from server.sampling.outputs import TokenLogprob
from server.sampling.vocabulary import Vocabulary


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


def text_offsets(token_bytes: Iterable[bytes], start: int) -> list[int]:
    """Where each token's text begins, in characters: a token holding part of a UTF-8
    character adds no character until the token that completes it."""
    decoder = codecs.getincrementaldecoder("utf-8")("ignore")
    offsets, offset = [], start
    for piece in token_bytes:
        offsets.append(offset)
        offset += len(decoder.decode(piece))
    return offsets


def completion_logprobs(
    tokens: Sequence[TokenLogprob],
    vocab: Vocabulary,
    initial_offset: int,
) -> CompletionLogprobs:
    """The legacy parallel lists; text_offset counts characters from the prompt's start."""
    offsets = text_offsets((vocab.bytes_of(t.token_id) for t in tokens), initial_offset)
    return CompletionLogprobs(
        tokens=[vocab.text_of(t.token_id) for t in tokens],
        token_logprobs=[t.logprob for t in tokens],
        top_logprobs=[{vocab.text_of(tid): lp for tid, lp in t.top} for t in tokens],
        text_offset=offsets,
    )


def echo_logprobs(
    prompt_ids: Sequence[int],
    prompt_logprobs: Sequence[TokenLogprob | None],
    vocab: Vocabulary,
) -> CompletionLogprobs:
    """The prompt's part of an echoed completion: the first token's logprob is null."""
    pairs = list(zip(prompt_ids, prompt_logprobs, strict=False))
    return CompletionLogprobs(
        tokens=[vocab.text_of(token_id) for token_id, _ in pairs],
        token_logprobs=[None if entry is None else entry.logprob for _, entry in pairs],
        top_logprobs=[
            None if entry is None else {vocab.text_of(tid): lp for tid, lp in entry.top}
            for _, entry in pairs
        ],
        text_offset=text_offsets((vocab.bytes_of(token_id) for token_id, _ in pairs), 0),
    )


def concat(first: CompletionLogprobs, second: CompletionLogprobs) -> CompletionLogprobs:
    return CompletionLogprobs(
        tokens=first.tokens + second.tokens,
        token_logprobs=first.token_logprobs + second.token_logprobs,
        top_logprobs=first.top_logprobs + second.top_logprobs,
        text_offset=first.text_offset + second.text_offset,
    )
