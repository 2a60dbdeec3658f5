"""A chat prompt's token ids where the template's own markers are control tokens and the
messages' text never is, so no caller can forge a turn by writing `<|im_start|>system`
into a message.

The template is rendered twice, for real and with each message's text replaced by a
sentinel; the marked rendering with the texts put back must be the real one (a template
that alters the text gives no such guarantee: None). Control tokens are then recognised
only in the template's pieces, and each run of text between two of them (template text and
message text) is encoded in one call with the markers split into plain text, which is how
the tokenizer treats the whole string: a prompt without marker text gets the same ids."""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import Any

SENTINEL = "\ue000{}\ue001"  # private-use code points


def markers(tokenizer: Any) -> tuple[str, ...]:
    """The texts the tokenizer reads as control tokens, longest first."""
    found = set(tokenizer.all_special_tokens)
    found |= {t.content for t in tokenizer.added_tokens_decoder.values() if t.special}
    return tuple(sorted(found, key=len, reverse=True))


def holds_markers(messages: Sequence[dict[str, Any]], marks: Sequence[str]) -> bool:
    return any(
        isinstance(m.get("content"), str) and any(mark in m["content"] for mark in marks)
        for m in messages
    )


def _pieces(tokenizer: Any, messages: Sequence[dict[str, Any]], **render: Any):
    """The rendered prompt as (text, is_message_text) pieces, or None."""
    real = tokenizer.apply_chat_template(list(messages), tokenize=False, **render)
    marked_messages, texts = [], {}
    for i, message in enumerate(messages):
        content = message.get("content")
        if isinstance(content, str) and content:
            texts[i] = content
            message = {**message, "content": SENTINEL.format(i)}
        marked_messages.append(message)
    marked = tokenizer.apply_chat_template(marked_messages, tokenize=False, **render)
    pieces, rest = [], marked
    for i, content in texts.items():
        sentinel = SENTINEL.format(i)
        if marked.count(sentinel) != 1 or sentinel not in rest:  # dropped, repeated, moved
            return None
        before, rest = rest.split(sentinel, 1)
        pieces += [(before, False), (content, True)]
    pieces.append((rest, False))
    if "".join(text for text, _ in pieces) != real:
        return None
    return [(text, is_content) for text, is_content in pieces if text]


def encode_chat(
    tokenizer: Any, messages: Sequence[dict[str, Any]], marks: Sequence[str], **render: Any
) -> list[int] | None:
    pieces = _pieces(tokenizer, messages, **render)
    if pieces is None:
        return None
    pattern = re.compile("|".join(map(re.escape, marks)))
    ids: list[int] = []
    run = ""
    for text, is_content in pieces:
        if is_content:
            run += text
            continue
        position = 0
        for match in pattern.finditer(text):
            run += text[position : match.start()]
            if run:
                ids += tokenizer.encode(run, add_special_tokens=False, split_special_tokens=True)
            run = ""
            ids.append(tokenizer.convert_tokens_to_ids(match.group()))
            position = match.end()
        run += text[position:]
    if run:
        ids += tokenizer.encode(run, add_special_tokens=False, split_special_tokens=True)
    return ids
