"""Messages (and tools) through the served model's chat template."""

from __future__ import annotations

from collections.abc import Sequence

from server.engine.engine import Engine
from server.protocol.chat import ChatMessage
from server.protocol.errors import APIError
from server.tools.plan import ToolPlan
from server.tools.render import template_input


def render_messages(
    engine: Engine,
    messages: Sequence[ChatMessage],
    add_generation_prompt: bool = True,
    plan: ToolPlan | None = None,
    param: str = "messages",
) -> list[int]:
    """Messages (and tools) through the model's chat template, as chat, Responses, the
    inspector and tokenize all need them; a template that refuses them is the caller's 400."""
    turns, tools = template_input(messages, plan, engine.info.template)
    try:
        return engine.apply_chat_template(turns, add_generation_prompt, tools)
    except Exception as exc:
        raise APIError(
            f"The messages could not be formatted with the model's chat template: {exc}",
            param=param,
        ) from exc
