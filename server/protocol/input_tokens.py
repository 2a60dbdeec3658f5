"""`POST /v1/responses/input_tokens`: the fields of a Responses request that make its
prompt, every one optional, and the count it answers with."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import BaseModel, Field, StrictBool, StrictStr, ValidationError, model_validator

from server.protocol.common import RequestModel
from server.protocol.responses import (
    ConversationReference,
    InputItem,
    ReasoningConfig,
    ResponseCreateRequest,
    TextConfig,
    Tool,
    ToolChoice,
)
from server.protocol.tools import MAX_TOOLS


class TokenCountsBody(RequestModel):
    model: str | None = Field(None, description="The served model's id; left out, that one.")
    input: str | Annotated[list[InputItem], Field(min_length=1)] | None = Field(
        None, description="The new turn, counted; left out, the earlier items alone."
    )
    instructions: str | None = Field(None, description="A system message, counted.")
    previous_response_id: StrictStr | None = Field(
        None, description="A stored response whose input and output are counted first."
    )
    conversation: StrictStr | ConversationReference | None = Field(
        None, description="A conversation whose items are counted first."
    )
    tools: Annotated[list[Tool], Field(max_length=MAX_TOOLS)] | None = Field(
        None, description="Tools, counted as the chat template renders them."
    )
    tool_choice: ToolChoice | None = Field(
        None, description="The tool choice, which can change how the tools render."
    )
    parallel_tool_calls: StrictBool | None = Field(None, description="As in POST /v1/responses.")
    text: TextConfig | None = Field(None, description="As in POST /v1/responses.")
    reasoning: ReasoningConfig | None = Field(None, description="No effect on the count.")
    truncation: Literal["auto", "disabled"] | None = Field(
        None, description="auto: count the input as truncation would leave it."
    )
    personality: StrictStr | None = Field(
        None, max_length=64, description="A style preset: no effect on the count."
    )

    @model_validator(mode="after")
    def _refused_as_responses_refuses(self) -> TokenCountsBody:
        """What `POST /v1/responses` refuses in its input (content this model cannot read,
        items it does not take) is a 400 here too, not a count."""
        if self.input is not None:
            try:
                self.request(self.model or "")
            except ValidationError as error:
                raise ValueError(
                    str(error.errors()[0]["msg"]).removeprefix("Value error, ")
                ) from None
        return self

    def request(self, model: str, **replaced: Any) -> ResponseCreateRequest:
        """The Responses request these fields make, not stored: the one counted."""
        fields = {name: getattr(self, name) for name in self.model_fields_set}
        fields.pop("personality", None)
        return ResponseCreateRequest.model_validate(
            {**fields, "model": self.model or model, "store": False, **replaced}
        )


class TokenCounts(BaseModel):
    object: Literal["response.input_tokens"] = "response.input_tokens"
    input_tokens: int
