"""Tools without an engine: the grammar (run with llguidance over the embedded model's real
tokenizer, as vLLM's guidance backend runs it), the streaming parser, rendering, and the
checks a request's tools go through."""

from __future__ import annotations

import json

import llguidance
import llguidance.hf
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from pydantic import ValidationError
from transformers import AutoTokenizer

from server.engine import embedded_model
from server.engine.engine import takes_tools, writes_role
from server.protocol.chat import ChatCompletionRequest, ChatMessage
from server.protocol.errors import APIError
from server.settings import Settings
from server.tools.format import call_text
from server.tools.grammar import call_grammar
from server.tools.parse import ArgumentsPiece, CallBegins, CallEnds, CallParser, parse_answer
from server.tools.plan import NO_PARAMETERS, CallTurn, Function, check_call_ids, plan_tools
from server.tools.render import TemplateTraits, template_input

CITY = {
    "$defs": {"City": {"type": "string", "enum": ["Paris", "Tokyo"]}},
    "type": "object",
    "properties": {"city": {"$ref": "#/$defs/City"}, "days": {"type": "integer"}},
    "required": ["city"],
    "additionalProperties": False,
}
WEATHER = Function("get_weather", "Weather in a city", CITY, "tools[0].function")
TIME = Function("get_time", None, NO_PARAMETERS, "tools[1].function")
PARIS = '<tool_call>\n{"name": "get_weather", "arguments": {"city": "Paris"}}\n</tool_call>'
TIME_CALL = '<tool_call>\n{"name": "get_time", "arguments": {}}\n</tool_call>'


@pytest.fixture(scope="module")
def tokenizer():
    folder = embedded_model.model_dir(Settings().cache_dir)
    if not folder.is_dir():
        pytest.skip("the embedded model is not prepared (scripts/setup.sh does it)")
    hf = AutoTokenizer.from_pretrained(folder)
    return hf, llguidance.hf.from_tokenizer(hf)


def accepts(tokenizer, grammar: str, text: str) -> bool:
    """Whether the grammar lets the model write `text` and then stop."""
    hf, ll = tokenizer
    matcher = llguidance.LLMatcher(ll, grammar)
    for token in hf.encode(text, add_special_tokens=False):
        if not matcher.consume_token(token):
            return False
    return matcher.is_accepting()


def grammar(choice="auto", named=None, parallel=True, functions=(WEATHER, TIME)):
    plan = plan_tools(list(functions), choice, named, parallel)
    assert plan is not None
    text = call_grammar(plan, flexible_whitespace=False)
    assert text is not None
    assert llguidance.LLMatcher.validate_grammar(text) == ""
    return text


def test_required_is_exactly_calls_with_valid_arguments(tokenizer):
    required = grammar("required")
    assert accepts(tokenizer, required, PARIS)
    assert accepts(tokenizer, required, PARIS + "\n" + TIME_CALL)
    assert not accepts(tokenizer, required, "Sure. " + PARIS)  # no text
    assert not accepts(tokenizer, required, PARIS.replace("Paris", "Rome"))  # enum via $ref
    assert not accepts(tokenizer, required, PARIS.replace('"city"', '"town"'))
    assert not accepts(tokenizer, required, PARIS.replace("get_weather", "get_wether"))
    assert not accepts(tokenizer, required, PARIS.replace('{"city"', '{"city" '))  # compact
    assert not accepts(tokenizer, grammar("required", parallel=False), PARIS + "\n" + TIME_CALL)


def test_a_named_function_is_one_call_of_it(tokenizer):
    named = grammar(None, "get_time")
    assert accepts(tokenizer, named, TIME_CALL)
    assert not accepts(tokenizer, named, PARIS)
    assert not accepts(tokenizer, named, TIME_CALL + "\n" + TIME_CALL)


def test_auto_is_free_text_until_a_call_starts(tokenizer):
    auto = grammar("auto")
    assert accepts(tokenizer, auto, "Paris is sunny. <b>bold</b> and <tool_response> too")
    assert accepts(tokenizer, auto, "Let me look.\n" + PARIS)
    assert accepts(tokenizer, auto, PARIS + "\n" + TIME_CALL)
    assert not accepts(tokenizer, auto, "Let me look.\n" + PARIS.replace("Paris", "Rome"))
    assert not accepts(tokenizer, auto, PARIS + " and then more text")
    assert plan_tools([WEATHER], "none", None, True) is not None
    assert call_grammar(plan_tools([WEATHER], "none", None, True), False) is None


def test_whitespace_is_free_when_the_server_allows_it(tokenizer):
    plan = plan_tools([WEATHER], "required", None, False)
    free = call_grammar(plan, flexible_whitespace=True)
    spaced = (
        '<tool_call>\n{"name": "get_weather", "arguments": { "city" :  "Paris" }}\n</tool_call>'
    )
    assert accepts(tokenizer, free, spaced)
    assert not accepts(tokenizer, grammar("required", parallel=False), spaced)


def test_whole_and_streamed_parses_agree_at_any_split():
    text = f"Let me check.\n\n{PARIS}\n{TIME_CALL}"
    whole = parse_answer(text)
    assert whole.content == "Let me check."
    assert [(c.name, c.arguments) for c in whole.calls] == [
        ("get_weather", '{"city": "Paris"}'),
        ("get_time", "{}"),
    ]
    for size in (1, 2, 3, 7, 50):
        parser, events = CallParser(), []
        for start in range(0, len(text), size):
            events += parser.feed(text[start : start + size])
        events += parser.finish()
        streamed: dict[int, str] = {}
        for event in events:
            if isinstance(event, ArgumentsPiece):
                streamed[event.index] = streamed.get(event.index, "") + event.text
        assert parser.content == whole.content
        assert streamed == {0: '{"city": "Paris"}', 1: "{}"}
        begins = [e for e in events if isinstance(e, CallBegins)]
        ends = [e for e in events if isinstance(e, CallEnds)]
        assert [b.name for b in begins] == ["get_weather", "get_time"]
        assert all(b.id.startswith("call_") for b in begins)
        assert [e.arguments for e in ends] == ['{"city": "Paris"}', "{}"]


def test_text_that_only_looks_like_a_call_is_content():
    for text in ("a < b", "see <tool", "x <tool_response> y", "ends with spaces  \n"):
        parsed = parse_answer(text)
        assert parsed.content == text and parsed.calls == []


def test_a_call_cut_short_keeps_what_it_got():
    cut = parse_answer(PARIS[:-3])  # the end marker cut: the arguments are complete
    assert [(c.name, c.arguments) for c in cut.calls] == [("get_weather", '{"city": "Paris"}')]
    cut = parse_answer(PARIS[: PARIS.index("Paris") + 2])
    assert cut.calls[0].arguments == '{"city": "Pa'
    assert parse_answer('<tool_call>\n{"na').calls == []


def test_calls_and_results_are_written_in_the_call_format():
    messages = [
        ChatMessage(role="developer", content="Be brief."),
        ChatMessage(role="user", content="Weather?"),
        ChatMessage.model_validate(
            {
                "role": "assistant",
                "content": None,
                "tool_calls": [
                    {
                        "id": "c1",
                        "type": "function",
                        "function": {"name": "get_weather", "arguments": '{"city":"Paris"}'},
                    },
                    {
                        "id": "c2",
                        "type": "function",
                        "function": {"name": "get_time", "arguments": "{}"},
                    },
                ],
            }
        ),
        ChatMessage(role="tool", tool_call_id="c1", content="sunny"),
        ChatMessage(role="tool", tool_call_id="c2", content="noon"),
    ]
    plan = plan_tools([WEATHER, TIME], None, None, True)
    phi = TemplateTraits(takes_tools=False, writes_tool_turns=False)
    turns, tools = template_input(messages, plan, phi)
    assert tools is None
    assert [t["role"] for t in turns] == ["system", "user", "assistant", "user"]
    assert turns[0]["content"].startswith("Be brief.\n\n# Tools")
    assert json.dumps(WEATHER.definition()) in turns[0]["content"]
    assert turns[2]["content"] == PARIS + "\n" + TIME_CALL
    assert turns[3]["content"] == "Result of get_weather: sunny\nResult of get_time: noon"
    chatml = TemplateTraits(takes_tools=False, writes_tool_turns=True)
    turns, _ = template_input(messages, plan, chatml)
    assert [(t["role"], t["content"]) for t in turns[3:]] == [("tool", "sunny"), ("tool", "noon")]
    native, declared = template_input(messages, plan, TemplateTraits(takes_tools=True))
    assert declared == [WEATHER.definition(), TIME.definition()]
    assert native[2]["tool_calls"][0]["function"]["arguments"] == {"city": "Paris"}
    assert native[3] == {"role": "tool", "content": "sunny", "tool_call_id": "c1"}
    # tool_choice "none": the tools are not announced
    none = plan_tools([WEATHER], "none", None, True)
    assert "# Tools" not in template_input(messages[1:2], none, phi)[0][0]["content"]


def test_a_call_is_written_as_the_grammar_writes_it():
    assert call_text("get_weather", '{"city":"Paris"}') == PARIS
    assert (
        call_text("f", "not json")
        == '<tool_call>\n{"name": "f", "arguments": "not json"}\n</tool_call>'
    )


def test_templates_that_write_a_tool_turn_are_recognised(tokenizer):
    hf, _ = tokenizer
    assert writes_role(hf, "tool")  # SmolLM2's ChatML writes any role
    phi = (
        "{% for m in messages %}{% if m['role'] == 'user' %}{{ m['content'] }}{% endif %}"
        "{% endfor %}"
    )
    hf.chat_template, saved = phi, hf.chat_template
    try:
        assert not writes_role(hf, "tool")
    finally:
        hf.chat_template = saved


def test_templates_that_take_tools_are_recognised():
    assert takes_tools("{% for t in tools %}{{ t }}{% endfor %}{{ messages }}")
    assert takes_tools("{% if tools is defined %}x{% endif %}")
    assert not takes_tools("{% for m in messages %}{{ m['content'] }}{% endfor %}")
    assert not takes_tools(None)


@pytest.mark.parametrize(
    ("functions", "choice", "named", "param"),
    [
        ([], "auto", None, "tool_choice"),
        ([], None, "f", "tool_choice"),
        ([WEATHER], None, "get_time", "tool_choice"),
        ([WEATHER, WEATHER], None, None, "tools[0].function.name"),
        (
            [
                Function(
                    "f",
                    None,
                    {"type": "object", "properties": {"a": {"type": 5}}},
                    "tools[3].function",
                )
            ],
            None,
            None,
            "tools[3].function.parameters",
        ),
        (
            [Function("f", None, {"properties": {"a": {"pattern": "(?<=a)b"}}}, "tools[0]")],
            None,
            None,
            "tools[0].parameters",
        ),
    ],
)
def test_bad_tools_are_refused_naming_the_place(functions, choice, named, param):
    with pytest.raises(APIError) as refused:
        plan_tools(functions, choice, named, True)
    assert refused.value.status == 400
    assert refused.value.param == param


def test_a_result_must_answer_an_earlier_call():
    check_call_ids([CallTurn("m[0]", ("a",)), CallTurn("m[1]", answers="a")])
    with pytest.raises(APIError) as refused:
        check_call_ids([CallTurn("m[0]", answers="a"), CallTurn("m[1]", ("a",))])
    assert refused.value.param == "m[0]"


@pytest.mark.parametrize(
    ("body", "where"),
    [
        ({"functions": [{"name": "f"}]}, "functions"),
        ({"function_call": "auto"}, "function_call"),
        ({"tools": [{"type": "function", "function": {"name": "a b"}}]}, "name"),
        ({"messages": [{"role": "tool", "content": "x"}]}, "tool_call_id"),
        ({"messages": [{"role": "user", "content": "x", "tool_calls": []}]}, "tool_calls"),
    ],
)
def test_malformed_tool_fields_fail_validation(body, where):
    request = {"model": "m", "messages": [{"role": "user", "content": "hi"}], **body}
    with pytest.raises(ValidationError) as refused:
        ChatCompletionRequest.model_validate(request)
    assert where in str(refused.value)


@settings(max_examples=60, deadline=None, derandomize=True, database=None)
@given(
    names=st.lists(st.from_regex(r"\A[A-Za-z0-9_-]{1,64}\Z"), min_size=1, max_size=4, unique=True),
    choice=st.sampled_from(["auto", "required"]),
    parallel=st.booleans(),
)
def test_any_valid_function_names_make_a_valid_grammar(names, choice, parallel):
    functions = [Function(n, None, NO_PARAMETERS, f"tools[{i}]") for i, n in enumerate(names)]
    plan = plan_tools(functions, choice, None, parallel)
    assert plan is not None
    assert llguidance.LLMatcher.validate_grammar(call_grammar(plan, False)) == ""


def test_the_tool_bounds_hold_at_and_just_past_each_bound():
    def request(tools: int = 1, calls: int = 1, call_id: str = "c", name: str = "f") -> dict:
        tool = {"type": "function", "function": {"name": name}}
        call = {"id": call_id, "type": "function", "function": {"name": "f", "arguments": "{}"}}
        messages = [
            {"role": "user", "content": "hi"},
            {"role": "assistant", "tool_calls": [call] * calls},
        ]
        return {"model": "m", "messages": messages, "tools": [tool] * tools}

    for fine in (
        request(tools=128),
        request(calls=128),
        request(call_id="x" * 256),
        request(name="a" * 64),
    ):
        ChatCompletionRequest.model_validate(fine)
    for past in (
        request(tools=129),
        request(calls=129),
        request(call_id="x" * 257),
        request(name="a" * 65),
    ):
        with pytest.raises(ValidationError):
            ChatCompletionRequest.model_validate(past)


def test_with_a_response_format_an_answer_without_calls_follows_it(tokenizer):
    schema = {"type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"]}
    grammar = call_grammar(plan_tools([WEATHER], "auto", None, True), False, schema)
    assert accepts(tokenizer, grammar, '{"city": "Paris"}')
    assert accepts(tokenizer, grammar, PARIS)
    assert not accepts(tokenizer, grammar, "Paris is the capital.")
