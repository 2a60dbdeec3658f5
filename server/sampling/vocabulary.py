"""Each token's exact UTF-8 bytes, which OpenAI's logprobs report: a token can hold part of a
multi-byte character, so its decoded text alone cannot say which bytes it carries."""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from functools import cache

_BYTE_FALLBACK = re.compile(r"^<0x([0-9A-Fa-f]{2})>$")
_SENTENCEPIECE_SPACE = "\u2581"


@cache
def _byte_level_decoder() -> dict[str, int]:
    """The inverse of GPT-2's bytes_to_unicode table used by byte-level BPE vocabularies."""
    printable = (
        list(range(ord("!"), ord("~") + 1))
        + list(range(ord("¡"), ord("¬") + 1))
        + list(range(ord("®"), ord("ÿ") + 1))
    )
    codes = printable[:]
    extra = 0
    for b in range(256):
        if b not in printable:
            printable.append(b)
            codes.append(256 + extra)
            extra += 1
    return {chr(c): b for b, c in zip(printable, codes, strict=True)}


def piece_to_bytes(piece: str, byte_level: bool) -> bytes:
    """Bytes of one vocabulary piece, for byte-level BPE (GPT-2, Llama 3, SmolLM) or
    SentencePiece with byte fallback (Llama 2, Phi-3)."""
    if byte_level:
        decoder = _byte_level_decoder()
        if all(ch in decoder for ch in piece):
            return bytes(decoder[ch] for ch in piece)
        return piece.encode("utf-8")
    match = _BYTE_FALLBACK.match(piece)
    if match:
        return bytes([int(match.group(1), 16)])
    return piece.replace(_SENTENCEPIECE_SPACE, " ").encode("utf-8")


@dataclass(frozen=True, eq=False)
class Vocabulary:
    """Bytes and display text of every token id, built once per engine."""

    token_bytes: Sequence[bytes]

    @classmethod
    def from_pieces(cls, pieces: Sequence[str], byte_level: bool) -> Vocabulary:
        return cls(tuple(piece_to_bytes(p, byte_level) for p in pieces))

    def bytes_of(self, token_id: int) -> bytes:
        if 0 <= token_id < len(self.token_bytes):
            return self.token_bytes[token_id]
        return b""

    def text_of(self, token_id: int) -> str:
        return self.bytes_of(token_id).decode("utf-8", errors="replace")


def is_byte_level(first_piece_of_space_word: str) -> bool:
    """Tell the vocabulary kind from how the tokenizer writes ' a': byte-level BPE marks the
    space as 'Ġ', SentencePiece as '▁'."""
    return first_piece_of_space_word.startswith("Ġ")
