"""What `POST /v1/responses/input_tokens` counts: the prompt of the request `POST
/v1/responses` would answer with the same fields (its continuation or conversation read, its
item references resolved, truncated as it would be), prepared the same way."""

from __future__ import annotations

from server.protocol.errors import APIError
from server.protocol.input_tokens import TokenCounts, TokenCountsBody
from server.services.responses import Responses
from server.services.stored import conversation_id


async def count(body: TokenCountsBody, responses: Responses, owner: str, model: str) -> TokenCounts:
    """Without `input`, the earlier items alone are counted (a previous response's or a
    conversation's); with none of them there is nothing to count."""
    if body.input is not None:
        request = body.request(model)
    else:
        conversation = conversation_id(body.conversation)
        earlier = await responses.keeper.earlier(body.previous_response_id, conversation, owner)
        if not earlier:
            raise APIError(
                "Nothing to count: give input, a previous_response_id or a conversation.",
                param="input",
            )
        request = body.request(model, input=earlier, previous_response_id=None, conversation=None)
    begun = await responses.begin(request, owner)
    return TokenCounts(input_tokens=len(begun.prepared.prompt_ids))
