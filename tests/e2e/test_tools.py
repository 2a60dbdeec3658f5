"""Tool calling on the embedded model through the real OpenAI SDK, LangChain and raw HTTP.
The model is 135M parameters: the tests assert shapes and schema validity, which the
grammar guarantees, never the model's judgement; where a call must happen in "auto" mode,
a worked example in the conversation (call, result, answer) makes greedy decoding call,
every time."""

from __future__ import annotations

import json

import httpx
import jsonschema
import openai
import pytest
from langchain_core.tools import tool as langchain_tool
from langchain_openai import ChatOpenAI
from pydantic import BaseModel

# The same tool and worked example (call, result, answer) as `python -m bench tool_calls` measures.
from bench.tool_calls import EXAMPLE
from bench.tool_calls import WEATHER as WEATHER_PARAMETERS

TIME_PARAMETERS = {
    "type": "object",
    "properties": {"timezone": {"type": "string", "maxLength": 40}},
    "required": ["timezone"],
    "additionalProperties": False,
}
TOOLS = [
    {
        "type": "function",
        "function": {
            "name": "get_weather",
            "description": "The current weather in a city.",
            "parameters": WEATHER_PARAMETERS,
        },
    },
    {
        "type": "function",
        "function": {
            "name": "get_time",
            "description": "The current time in a timezone.",
            "parameters": TIME_PARAMETERS,
        },
    },
]
SCHEMAS = {"get_weather": WEATHER_PARAMETERS, "get_time": TIME_PARAMETERS}
ASK = [{"role": "user", "content": "What is the weather in Paris?"}]


def calls_are_valid(calls) -> None:
    assert calls
    for call in calls:
        assert call.type == "function"
        assert call.id.startswith("call_")
        jsonschema.validate(json.loads(call.function.arguments), SCHEMAS[call.function.name])
    assert len({c.id for c in calls}) == len(calls)


def test_named_function_is_called_with_valid_arguments(client, model):
    answer = client.chat.completions.create(
        model=model,
        messages=ASK,
        tools=TOOLS,
        tool_choice={"type": "function", "function": {"name": "get_time"}},
        temperature=0,
        max_tokens=60,
    )
    choice = answer.choices[0]
    assert choice.finish_reason == "tool_calls"
    assert choice.message.content is None
    assert [c.function.name for c in choice.message.tool_calls] == ["get_time"]
    calls_are_valid(choice.message.tool_calls)


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_required_calls_validate_even_when_sampled_hot(client, model, seed):
    """Temperature 1.5 over the whole vocabulary: the arguments still fit the schema."""
    answer = client.chat.completions.create(
        model=model,
        messages=ASK,
        tools=TOOLS,
        tool_choice="required",
        parallel_tool_calls=False,
        temperature=1.5,
        seed=seed,
        max_tokens=80,
    )
    choice = answer.choices[0]
    assert choice.finish_reason in ("tool_calls", "length")
    if choice.finish_reason == "tool_calls":
        assert len(choice.message.tool_calls) == 1
        calls_are_valid(choice.message.tool_calls)


def test_parallel_calls(client, model):
    answer = client.chat.completions.create(
        model=model,
        messages=[{"role": "user", "content": "What is the weather and the time in Paris?"}],
        tools=TOOLS,
        tool_choice="required",
        temperature=0,
        max_tokens=120,
    )
    calls = answer.choices[0].message.tool_calls
    calls_are_valid(calls)
    assert len(calls) >= 2


def test_auto_calls_when_the_conversation_leads_there(client, model):
    answer = client.chat.completions.create(
        model=model,
        messages=[*EXAMPLE, {"role": "user", "content": "What is the weather in Tokyo?"}],
        tools=TOOLS,
        temperature=0,
        max_tokens=60,
    )
    choice = answer.choices[0]
    assert choice.finish_reason == "tool_calls"
    calls_are_valid(choice.message.tool_calls)
    assert json.loads(choice.message.tool_calls[0].function.arguments)["city"] == "Tokyo"


def test_auto_may_answer_in_text(client, model):
    answer = client.chat.completions.create(
        model=model, messages=ASK, tools=TOOLS, temperature=0, max_tokens=30
    )
    choice = answer.choices[0]
    if choice.message.tool_calls:
        calls_are_valid(choice.message.tool_calls)
    else:
        assert choice.message.content
        assert choice.finish_reason in ("stop", "length")


def test_none_never_calls(client, model):
    answer = client.chat.completions.create(
        model=model,
        messages=[*EXAMPLE, {"role": "user", "content": "What is the weather in Tokyo?"}],
        tools=TOOLS,
        tool_choice="none",
        temperature=0,
        max_tokens=60,
    )
    choice = answer.choices[0]
    assert choice.message.tool_calls is None
    assert choice.finish_reason in ("stop", "length")
    assert isinstance(choice.message.content, str)


def test_streamed_calls_add_up_to_the_whole_answer(client, model):
    request = {
        "model": model,
        "messages": [{"role": "user", "content": "What is the weather and the time in Paris?"}],
        "tools": TOOLS,
        "tool_choice": "required",
        "temperature": 0,
        "max_tokens": 120,
    }
    whole = client.chat.completions.create(**request).choices[0]
    chunks = list(
        client.chat.completions.create(
            **request, stream=True, stream_options={"include_usage": True}
        )
    )
    calls: dict[int, dict] = {}
    finish = None
    for chunk in chunks:
        for choice in chunk.choices:
            finish = choice.finish_reason or finish
            assert choice.delta.content in (None, "")
            for delta in choice.delta.tool_calls or []:
                if delta.index not in calls:  # the first delta of a call names it
                    assert delta.id.startswith("call_") and delta.type == "function"
                    assert delta.function.name
                    calls[delta.index] = {"name": delta.function.name, "arguments": ""}
                else:
                    assert delta.id is None and delta.function.name is None
                calls[delta.index]["arguments"] += delta.function.arguments or ""
    assert finish == whole.finish_reason
    assert [calls[i] for i in sorted(calls)] == [
        {"name": c.function.name, "arguments": c.function.arguments}
        for c in whole.message.tool_calls
    ]
    assert chunks[-1].usage.completion_tokens > 0


def test_a_tool_loop_call_result_answer(client, model):
    messages = [*ASK]
    first = client.chat.completions.create(
        model=model,
        messages=messages,
        tools=TOOLS,
        tool_choice="required",
        parallel_tool_calls=False,
        temperature=0,
        max_tokens=60,
    )
    message = first.choices[0].message
    call = message.tool_calls[0]
    messages.append(message)  # as the SDK's own examples do: the message object itself
    messages.append({"role": "tool", "tool_call_id": call.id, "content": '{"temperature": 18}'})
    final = client.chat.completions.create(
        model=model,
        messages=messages,
        tools=TOOLS,
        tool_choice="none",
        temperature=0,
        max_tokens=30,
    )
    assert final.choices[0].message.content
    assert final.choices[0].message.tool_calls is None


class Weather(BaseModel):
    city: str
    unit: str


def test_sdk_parse_with_a_pydantic_tool(client, model):
    completion = client.chat.completions.parse(
        model=model,
        messages=ASK,
        tools=[openai.pydantic_function_tool(Weather, name="get_weather")],
        tool_choice="required",
        parallel_tool_calls=False,
        temperature=0,
        max_tokens=60,
    )
    call = completion.choices[0].message.tool_calls[0]
    assert isinstance(call.function.parsed_arguments, Weather)


def test_logprobs_cover_the_call_tokens(client, model):
    answer = client.chat.completions.create(
        model=model,
        messages=ASK,
        tools=TOOLS,
        tool_choice="required",
        parallel_tool_calls=False,
        temperature=0,
        max_tokens=60,
        logprobs=True,
        top_logprobs=2,
    )
    choice = answer.choices[0]
    text = "".join(t.token for t in choice.logprobs.content)
    call = choice.message.tool_calls[0]
    assert text.startswith("<tool_call>")
    assert call.function.arguments in text
    assert len(choice.logprobs.content) == answer.usage.completion_tokens
    # the grammar masks every other token, and the reported logprobs stay the raw model's
    assert all(t.logprob <= 0 for t in choice.logprobs.content)


def test_inspector_explains_a_tool_conversation(client, http, model):
    """A conversation with calls and results is rendered once, for chat and the inspector
    alike: the inspector's tokens are chat's, seed for seed."""
    messages = [*EXAMPLE, {"role": "user", "content": "And in Tokyo?"}]
    params = {"temperature": 0.8, "seed": 11, "top_k": 20}
    inspection = http.post(
        "/v1/sampling/inspect", json={"model": model, "messages": messages, "steps": 6, **params}
    )
    assert inspection.status_code == 200, inspection.text
    chat = client.chat.completions.create(
        model=model,
        messages=messages,
        max_tokens=6,
        temperature=0.8,
        seed=11,
        extra_body={"top_k": 20},
    )
    assert inspection.json()["text"] == chat.choices[0].message.content


def test_responses_function_tools(client, model):
    tools = [
        {
            "type": "function",
            "name": "get_weather",
            "parameters": WEATHER_PARAMETERS,
            "strict": True,
        }
    ]
    response = client.responses.create(
        model=model,
        input="What is the weather in Paris?",
        tools=tools,
        tool_choice="required",
        parallel_tool_calls=False,
        temperature=0,
        max_output_tokens=60,
    )
    assert response.status == "completed"
    assert [item.type for item in response.output] == ["function_call"]
    call = response.output[0]
    assert call.call_id.startswith("call_") and call.name == "get_weather"
    jsonschema.validate(json.loads(call.arguments), WEATHER_PARAMETERS)
    assert response.tool_choice == "required" and response.tools[0].name == "get_weather"

    followup = client.responses.create(
        model=model,
        input=[
            {"role": "user", "content": "What is the weather in Paris?"},
            {
                "type": "function_call",
                "call_id": call.call_id,
                "name": call.name,
                "arguments": call.arguments,
            },
            {"type": "function_call_output", "call_id": call.call_id, "output": "18 C, rain"},
        ],
        tools=tools,
        tool_choice="none",
        temperature=0,
        max_output_tokens=20,
    )
    assert followup.output[0].type == "message" and followup.output_text


def test_responses_streamed_function_call(client, model):
    with client.responses.stream(
        model=model,
        input="What is the weather in Paris?",
        tools=[{"type": "function", "name": "get_weather", "parameters": WEATHER_PARAMETERS}],
        tool_choice={"type": "function", "name": "get_weather"},
        temperature=0,
        max_output_tokens=60,
    ) as stream:
        events = list(stream)
        final = stream.get_final_response()
    kinds = [e.type for e in events]
    assert "response.function_call_arguments.delta" in kinds
    done = next(e for e in events if e.type == "response.function_call_arguments.done")
    deltas = "".join(e.delta for e in events if e.type == "response.function_call_arguments.delta")
    assert deltas == done.arguments == final.output[0].arguments
    assert kinds[-1] == "response.completed"
    assert [e.sequence_number for e in events] == list(range(len(events)))


def test_langchain_bind_tools(server, model):
    @langchain_tool
    def get_weather(city: str, unit: str) -> str:
        """The current weather in a city."""
        return "sunny"

    chat = ChatOpenAI(
        model=model,
        base_url=f"{server.base_url}/v1",
        api_key="unused",
        temperature=0,
        max_tokens=60,
        max_retries=0,
    )
    answer = chat.bind_tools([get_weather], tool_choice="get_weather").invoke(
        "What is the weather in Paris?"
    )
    assert [c["name"] for c in answer.tool_calls] == ["get_weather"]
    assert set(answer.tool_calls[0]["args"]) == {"city", "unit"}


CHAT = "/v1/chat/completions"


def _bad_tool_requests(model: str) -> list[tuple[str, dict, str]]:
    chat = {"model": model, "messages": ASK, "max_tokens": 4}
    call = {"id": "c1", "type": "function", "function": {"name": "get_time", "arguments": "{}"}}
    return [
        (
            CHAT,
            {
                **chat,
                "tools": TOOLS,
                "tool_choice": {"type": "function", "function": {"name": "nope"}},
            },
            "tool_choice",
        ),
        (CHAT, {**chat, "tool_choice": "required"}, "tool_choice"),
        (
            CHAT,
            {
                **chat,
                "tools": [
                    TOOLS[0],
                    {
                        "type": "function",
                        "function": {
                            "name": "f",
                            "parameters": {
                                "type": "object",
                                "properties": {"a": {"type": "nonsense"}},
                            },
                        },
                    },
                ],
            },
            "tools[1].function.parameters",
        ),
        (CHAT, {**chat, "tools": [TOOLS[0], TOOLS[0]]}, "tools[1].function.name"),
        (
            CHAT,
            {
                **chat,
                "tools": [
                    {
                        "type": "function",
                        "function": {
                            "name": "f",
                            "parameters": {
                                "properties": {"a": {"type": "string", "pattern": "(?<=a)b"}}
                            },
                        },
                    }
                ],
            },
            "tools[0].function.parameters",
        ),
        (
            CHAT,
            {
                **chat,
                "messages": [
                    *ASK,
                    {"role": "assistant", "tool_calls": [call]},
                    {"role": "tool", "tool_call_id": "c2", "content": "x"},
                ],
            },
            "messages[2].tool_call_id",
        ),
        (
            CHAT,
            {**chat, "messages": [*ASK, {"role": "tool", "content": "x"}]},
            "messages[1].tool_call_id",
        ),
        (CHAT, {**chat, "functions": [{"name": "f"}]}, "functions"),
        (
            CHAT,
            {**chat, "tools": [{"type": "function", "function": {"name": "a b"}}]},
            "tools[0].function.name",
        ),
        (
            "/v1/responses",
            {
                "model": model,
                "input": [{"type": "function_call_output", "call_id": "c9", "output": "x"}],
            },
            "input[0].call_id",
        ),
        (
            "/v1/responses",
            {
                "model": model,
                "input": "hi",
                "tools": [{"type": "function", "name": "f", "parameters": {"type": "nonsense"}}],
            },
            "tools[0].parameters",
        ),
        (
            "/v1/responses",
            {
                "model": model,
                "input": "hi",
                "tools": [{"type": "web_search"}],
                "tool_choice": {"type": "web_search_preview"},
            },
            "tool_choice",
        ),
        (
            "/v1/responses",
            {
                "model": model,
                "input": "hi",
                "tools": [
                    {
                        "type": "custom",
                        "name": "patch",
                        "format": {"type": "grammar", "syntax": "lark", "definition": "start: ("},
                    }
                ],
            },
            "tools[0].format.definition",
        ),
        (
            "/v1/responses",
            {"model": model, "input": "hi", "max_output_tokens": 10**6},
            "input",
        ),
        (
            "/v1/responses",
            {"model": model, "input": "hi", "tool_choice": {"type": "function", "name": "f"}},
            "tool_choice",
        ),
        (
            "/v1/responses",
            {"model": model, "input": [{"type": "function_call", "call_id": "c1", "name": "f"}]},
            "input[0].arguments",
        ),
    ]


def test_bad_tool_input_is_a_400_naming_the_place(server, model):
    with httpx.Client(base_url=server.base_url, timeout=60) as conn:
        for path, body, param in _bad_tool_requests(model):
            response = conn.post(path, json=body)
            assert response.status_code == 400, (body, response.text)
            assert response.json()["error"]["param"] == param, (body, response.text)


def test_tokenize_counts_the_tool_definitions_as_chat_does(http, client, model):
    counted = http.post(
        "/v1/tokenize", json={"model": model, "messages": ASK, "tools": TOOLS}
    ).json()["count"]
    bare = http.post("/v1/tokenize", json={"model": model, "messages": ASK}).json()["count"]
    answer = client.chat.completions.create(
        model=model, messages=ASK, tools=TOOLS, max_tokens=1, temperature=0
    )
    assert counted == answer.usage.prompt_tokens > bare
    hidden = http.post(
        "/v1/tokenize",
        json={"model": model, "messages": ASK, "tools": TOOLS, "tool_choice": "none"},
    ).json()["count"]
    assert hidden == bare  # tool_choice "none": the tools are not announced


def test_tools_and_a_response_format_combine(client, model):
    """As OpenAI's do: an answer without calls follows the format, calls stay calls."""
    schema = {
        "type": "object",
        "properties": {"city": {"type": "string", "maxLength": 20}},
        "required": ["city"],
        "additionalProperties": False,
    }
    response_format = {"type": "json_schema", "json_schema": {"name": "city", "schema": schema}}
    for choice in ("auto", "none"):
        answer = client.chat.completions.create(
            model=model,
            messages=[{"role": "user", "content": "Which city is the capital of France?"}],
            tools=TOOLS,
            tool_choice=choice,
            response_format=response_format,
            parallel_tool_calls=False,
            temperature=0,
            max_tokens=100,
        )
        message = answer.choices[0].message
        assert answer.choices[0].finish_reason != "length"
        if message.tool_calls:
            assert choice == "auto"
            calls_are_valid(message.tool_calls)
        else:
            assert isinstance(json.loads(message.content)["city"], str)
