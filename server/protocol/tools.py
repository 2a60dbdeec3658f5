"""Function and custom tools in the Chat Completions API: definitions, tool_choice, the calls
an assistant message carries, and the calls an answer returns (whole or as stream deltas).
The input formats of custom tools are shared with the Responses API."""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import BaseModel, Field, StrictBool, StrictStr

from server.protocol.common import APIModel
from server.protocol.fields import CallArguments, JSONSchemaBody, SchemaName

# OpenAI's own limit on the number of tools in one request.
MAX_TOOLS = 128
MAX_CALLS_PER_MESSAGE = 128
CallId = Annotated[StrictStr, Field(max_length=256, description="A tool call's id.")]
# A tool's fields, shared by chat's and the Responses API's tool definitions.
ToolDescription = Annotated[
    StrictStr, Field(description="What the tool does, shown to the model with its name.")
]
ToolParameters = Annotated[
    JSONSchemaBody,
    Field(
        description="The JSON Schema of the arguments; every call's arguments are "
        "constrained to it (left out: any JSON object)."
    ),
]
ToolStrict = Annotated[
    StrictBool,
    Field(description="No effect: every call follows the schema, strict or not."),
]


class FunctionDefinition(APIModel):
    name: SchemaName
    description: ToolDescription | None = None
    parameters: ToolParameters | None = None
    strict: ToolStrict | None = None


class ChatTool(APIModel):
    type: Literal["function"] = Field(description="A function tool.")
    function: FunctionDefinition = Field(description="The function.")


# A grammar is compiled for each request that declares it; this bounds that work.
MAX_GRAMMAR_LENGTH = 65_536
GrammarSyntax = Annotated[
    Literal["lark", "regex"], Field(description="How `definition` is read: Lark or regex.")
]
GrammarDefinition = Annotated[
    StrictStr,
    Field(
        max_length=MAX_GRAMMAR_LENGTH,
        description="A Lark grammar (llguidance's dialect; its rule `start` is the input) "
        "or a regular expression (Rust regex syntax) the whole input matches.",
    ),
]


class TextInput(APIModel):
    """Any text at all (a custom tool's default)."""

    type: Literal["text"] = Field(description="Free text.")


class GrammarInput(APIModel):
    """The Responses API's grammar format."""

    type: Literal["grammar"] = Field(description="Text in a grammar.")
    syntax: GrammarSyntax
    definition: GrammarDefinition


class Grammar(APIModel):
    definition: GrammarDefinition
    syntax: GrammarSyntax


class ChatGrammarInput(APIModel):
    """Chat's grammar format: the same grammar, one level down."""

    type: Literal["grammar"] = Field(description="Text in a grammar.")
    grammar: Grammar = Field(description="The grammar.")


CUSTOM_FORMAT = (
    "What the input may be: free text (the default) or text in a grammar, enforced by "
    "constrained decoding."
)


class CustomToolDefinition(APIModel):
    name: SchemaName
    description: ToolDescription | None = None
    format: Annotated[TextInput | ChatGrammarInput, Field(discriminator="type")] | None = Field(
        None, description=CUSTOM_FORMAT
    )


class ChatCustomTool(APIModel):
    """A tool whose input is free text, or text in its grammar, instead of JSON arguments."""

    type: Literal["custom"] = Field(description="A custom tool.")
    custom: CustomToolDefinition = Field(description="The tool.")


ChatTools = Annotated[
    list[Annotated[ChatTool | ChatCustomTool, Field(discriminator="type")]],
    Field(
        max_length=MAX_TOOLS,
        description="Function and custom tools the model may call (up to 128); their calls "
        "are constrained to each tool's schema or grammar.",
    ),
]


class FunctionName(APIModel):
    name: SchemaName


class NamedToolChoice(APIModel):
    type: Literal["function"] = Field(description="A function tool.")
    function: FunctionName = Field(description="The function, by name.")


class CustomName(APIModel):
    name: SchemaName


class NamedCustomChoice(APIModel):
    type: Literal["custom"] = Field(description="A custom tool.")
    custom: CustomName = Field(description="The tool, by name.")


AllowedMode = Annotated[
    Literal["auto", "required"],
    Field(description="auto: the model may call one of the tools; required: it must."),
]


class AllowedTools(APIModel):
    mode: AllowedMode
    tools: Annotated[
        list[Annotated[NamedToolChoice | NamedCustomChoice, Field(discriminator="type")]],
        Field(min_length=1, max_length=MAX_TOOLS),
    ] = Field(description="The declared tools the model may call, by name.")


class AllowedToolsChoice(APIModel):
    """Only these of the declared tools may be called; the others are still described."""

    type: Literal["allowed_tools"] = Field(description="A subset of the tools.")
    allowed_tools: AllowedTools = Field(description="The subset and the mode.")


ToolChoiceMode = Literal["none", "auto", "required"]
ChatToolChoice = (
    ToolChoiceMode
    | Annotated[
        NamedToolChoice | NamedCustomChoice | AllowedToolsChoice, Field(discriminator="type")
    ]
)


# An earlier call's name: history, checked against nothing.
CalledName = Annotated[StrictStr, Field(description="The called tool's name.")]


class FunctionCall(APIModel):
    """A call as an assistant message carries it: `arguments` is JSON text. Its name is
    history, checked against nothing (a declared tool's name is)."""

    name: CalledName
    arguments: CallArguments


class MessageToolCall(APIModel):
    id: CallId
    type: Literal["function"] = Field(description="A function call.")
    function: FunctionCall = Field(description="The function and its arguments.")


class CustomCall(APIModel):
    name: CalledName
    input: StrictStr = Field(description="The input the model wrote.")


class MessageCustomCall(APIModel):
    """A call of a custom tool: its input is the text the model wrote."""

    id: CallId
    type: Literal["custom"] = Field(description="A custom tool's call.")
    custom: CustomCall = Field(description="The tool and its input.")


MessageToolCalls = Annotated[
    list[Annotated[MessageToolCall | MessageCustomCall, Field(discriminator="type")]],
    Field(max_length=MAX_CALLS_PER_MESSAGE),
]


class CalledFunction(BaseModel):
    name: str
    arguments: str


class ToolCall(BaseModel):
    id: str
    type: Literal["function"] = "function"
    function: CalledFunction


class CalledCustom(BaseModel):
    name: str
    input: str


class CustomToolCall(BaseModel):
    id: str
    type: Literal["custom"] = "custom"
    custom: CalledCustom


class DeltaFunction(BaseModel):
    name: str | None = None
    arguments: str | None = None


class DeltaCustom(BaseModel):
    name: str | None = None
    input: str | None = None


class DeltaToolCall(BaseModel):
    """The first delta of a call has its id, type and name; the later ones carry only
    fragments of its arguments (a custom tool's: of its input, under `custom`)."""

    index: int
    id: str | None = None
    type: Literal["function", "custom"] | None = None
    function: DeltaFunction | None = None
    custom: DeltaCustom | None = None
