"""Counting and reading tokens with the served model's own tokenizer and chat template."""

from __future__ import annotations

from server.engine.engine import Engine
from server.protocol.tokenize import (
    DetokenizeRequest,
    DetokenizeResponse,
    TokenizeRequest,
    TokenizeResponse,
)
from server.services.checks import check_model, check_token_ids
from server.services.template import render_messages
from server.tools.plan import chat_plan


class Tokenization:
    def __init__(self, engine: Engine) -> None:
        self._engine = engine

    def tokenize(self, request: TokenizeRequest) -> TokenizeResponse:
        check_model(request.model, self._engine.info)
        if request.messages is not None:
            plan = chat_plan(request.tools, request.tool_choice, parallel=True)
            ids = render_messages(
                self._engine, request.messages, request.add_generation_prompt, plan
            )
        else:
            ids = self._engine.encode(
                request.prompt or "", add_special_tokens=request.add_special_tokens
            )
        vocab = self._engine.vocabulary
        return TokenizeResponse(
            count=len(ids),
            max_model_len=self._engine.info.max_model_len,
            tokens=ids,
            token_strs=[vocab.text_of(t) for t in ids],
        )

    def detokenize(self, request: DetokenizeRequest) -> DetokenizeResponse:
        check_model(request.model, self._engine.info)
        check_token_ids(request.tokens, self._engine.info, "tokens")
        return DetokenizeResponse(prompt=self._engine.decode(request.tokens))
