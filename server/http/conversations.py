"""The Conversations API's routes: a conversation's create, retrieve, update and delete,
and its items' list, add, retrieve and delete, each with the caller's key."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Path, Request

from server.http.auth import require_api_key
from server.http.openapi import After, Include, Limit, Order, errors
from server.http.routes import ServicesDep
from server.protocol.conversations import (
    AddItemsBody,
    Conversation,
    ConversationDeleted,
    CreateConversationBody,
    UpdateConversationBody,
)
from server.protocol.responses import InputItemList

router = APIRouter(
    dependencies=[Depends(require_api_key)], tags=["conversations"], responses=errors(401, 503)
)
ConversationId = Annotated[str, Path(description="The conversation's id.")]
ItemId = Annotated[str, Path(description="The item's id.")]


@router.post("/v1/conversations", responses=errors(400, 413))
async def create_conversation(
    services: ServicesDep, http: Request, body: CreateConversationBody | None = None
) -> Conversation:
    conversations = services.responses.keeper.conversations
    return await conversations.create(body or CreateConversationBody(), http.state.owner)


@router.get("/v1/conversations/{conversation_id}", responses=errors(404))
async def retrieve_conversation(
    conversation_id: ConversationId, services: ServicesDep, http: Request
) -> Conversation:
    return await services.responses.keeper.conversations.get(conversation_id, http.state.owner)


@router.post("/v1/conversations/{conversation_id}", responses=errors(400, 404, 413))
async def update_conversation(
    conversation_id: ConversationId,
    body: UpdateConversationBody,
    services: ServicesDep,
    http: Request,
) -> Conversation:
    conversations = services.responses.keeper.conversations
    return await conversations.update(conversation_id, body, http.state.owner)


@router.delete("/v1/conversations/{conversation_id}", responses=errors(404))
async def delete_conversation(
    conversation_id: ConversationId, services: ServicesDep, http: Request
) -> ConversationDeleted:
    await services.responses.keeper.conversations.delete(conversation_id, http.state.owner)
    return ConversationDeleted(id=conversation_id)


@router.get("/v1/conversations/{conversation_id}/items", responses=errors(400, 404))
async def list_conversation_items(
    conversation_id: ConversationId,
    services: ServicesDep,
    http: Request,
    after: After = None,
    limit: Limit = 20,
    order: Order = "desc",
    include: Include = None,
) -> InputItemList:
    conversations = services.responses.keeper.conversations
    return await conversations.items(conversation_id, http.state.owner, after, limit, order)


@router.post("/v1/conversations/{conversation_id}/items", responses=errors(400, 404, 413))
async def create_conversation_items(
    conversation_id: ConversationId,
    body: AddItemsBody,
    services: ServicesDep,
    http: Request,
    include: Include = None,
) -> InputItemList:
    conversations = services.responses.keeper.conversations
    return await conversations.add(conversation_id, body, http.state.owner)


@router.get("/v1/conversations/{conversation_id}/items/{item_id}", responses=errors(400, 404))
async def retrieve_conversation_item(
    conversation_id: ConversationId,
    item_id: ItemId,
    services: ServicesDep,
    http: Request,
    include: Include = None,
) -> dict[str, Any]:
    conversations = services.responses.keeper.conversations
    return await conversations.item(conversation_id, item_id, http.state.owner)


@router.delete("/v1/conversations/{conversation_id}/items/{item_id}", responses=errors(404))
async def delete_conversation_item(
    conversation_id: ConversationId, item_id: ItemId, services: ServicesDep, http: Request
) -> Conversation:
    conversations = services.responses.keeper.conversations
    return await conversations.delete_item(conversation_id, item_id, http.state.owner)
