"""Custom tools on the real engine through OpenAI's SDK: a forced call's input is decoded
under the tool's grammar (a regex, a Lark grammar) and parses; the call comes back in both
APIs' shapes, whole and streamed, and goes back in with its result."""

from __future__ import annotations

import re

import lark

# Finite grammars: a forced call completes within a few tokens whatever the model picks.
COUNT = "[0-9]{1,3}"
PATCH = r"""
start: "*** Begin Patch\n*** Add File: " NAME ".txt\n+" WORD "\n*** End Patch\n"
NAME: /[a-z]{1,12}/
WORD: /[a-z]{1,12}/
"""
ASK = "Create the file hello.txt containing the word hi."


def _chat_tools() -> list[dict]:
    return [
        {
            "type": "custom",
            "custom": {
                "name": "count",
                "description": "Says a number.",
                "format": {"type": "grammar", "grammar": {"syntax": "regex", "definition": COUNT}},
            },
        }
    ]


def test_chat_forced_custom_call_matches_its_regex_and_goes_back(client, model):
    messages = [{"role": "user", "content": "How many legs has a cat?"}]
    first = client.chat.completions.create(
        model=model,
        messages=messages,
        tools=_chat_tools(),
        tool_choice={"type": "custom", "custom": {"name": "count"}},
        temperature=0,
        max_tokens=32,
    )
    choice = first.choices[0]
    assert choice.finish_reason == "tool_calls"
    [call] = choice.message.tool_calls or []
    assert call.type == "custom" and call.custom.name == "count"
    assert re.fullmatch(COUNT, call.custom.input), call.custom.input
    second = client.chat.completions.create(
        model=model,
        messages=[
            *messages,
            choice.message.model_dump(exclude_none=True),
            {"role": "tool", "tool_call_id": call.id, "content": "Counted."},
        ],
        tools=_chat_tools(),
        tool_choice="none",
        max_tokens=8,
    )
    assert isinstance(second.choices[0].message.content, str)


def test_chat_streams_a_custom_call_as_custom_deltas(client, model):
    stream = client.chat.completions.create(
        model=model,
        messages=[{"role": "user", "content": "Pick a number."}],
        tools=_chat_tools(),
        tool_choice={"type": "custom", "custom": {"name": "count"}},
        temperature=0,
        max_tokens=32,
        stream=True,
    )
    deltas = [c.choices[0].delta.model_dump() for c in stream if c.choices]
    calls = [call for d in deltas for call in d.get("tool_calls") or ()]
    assert calls[0]["type"] == "custom" and calls[0]["custom"]["name"] == "count"
    text = "".join(call["custom"]["input"] or "" for call in calls)
    assert re.fullmatch(COUNT, text), text


def test_responses_forced_lark_call_parses_and_streams_as_openai_does(client, model):
    tool = {
        "type": "custom",
        "name": "apply_patch",
        "description": "Adds a file.",
        "format": {"type": "grammar", "syntax": "lark", "definition": PATCH},
    }
    with client.responses.stream(
        model=model,
        input=ASK,
        tools=[tool],
        tool_choice={"type": "custom", "name": "apply_patch"},
        temperature=0,
        max_output_tokens=64,
    ) as stream:
        events = list(stream)
        final = stream.get_final_response()
    assert final.status == "completed"
    [item] = final.output
    assert item.type == "custom_tool_call" and item.name == "apply_patch"
    lark.Lark(PATCH).parse(item.input)  # raises unless the input is in the grammar
    deltas = [e.delta for e in events if e.type == "response.custom_tool_call_input.delta"]
    [done] = [e for e in events if e.type == "response.custom_tool_call_input.done"]
    assert "".join(deltas) == done.input == item.input
    after = client.responses.create(
        model=model,
        previous_response_id=final.id,
        input=[{"type": "custom_tool_call_output", "call_id": item.call_id, "output": "Added."}],
        tools=[tool],
        tool_choice="none",
        max_output_tokens=8,
    )
    assert after.status in ("completed", "incomplete") and after.output[0].type == "message"
