"""Custom tools without an engine: the call grammar with a custom tool's Lark grammar, regex
or free text in it (run with llguidance over the embedded model's real tokenizer, as vLLM's
guidance backend runs it), the checks on a definition, the parser reading the input back
exactly, and the Chat Completions shapes and history of custom calls."""

from __future__ import annotations

import llguidance
import llguidance.hf
import pytest
from transformers import AutoTokenizer

from server.engine import embedded_model
from server.protocol.chat import ChatCompletionRequest, ChatMessage
from server.protocol.errors import APIError
from server.protocol.tools import CustomToolCall, ToolCall
from server.settings import Settings
from server.tools import shape
from server.tools.custom import TEXT, InputFormat
from server.tools.format import CALL_CLOSE, custom_call_text
from server.tools.grammar import call_grammar
from server.tools.parse import ArgumentsPiece, CallBegins, CallEnds, CallParser, parse_answer
from server.tools.plan import NO_PARAMETERS, Custom, Function, chat_plan, plan_tools
from server.tools.render import TemplateTraits, template_input

# The patch format Codex's apply_patch tool takes, written as a Lark grammar with the
# features Codex's own uses: an alias, `%import common.LF`, repeats and options.
PATCH_GRAMMAR = r"""
start: "*** Begin Patch" LF operation+ "*** End Patch" LF?
operation: added | removed | updated
added: "*** Add File: " PATH LF ("+" LINE LF)+
removed: "*** Delete File: " PATH LF
updated: "*** Update File: " PATH LF ("*** Move to: " PATH LF)? hunk*
hunk: ("@@" | "@@ " LINE) LF edit+
edit: ("+" | "-" | " ") LINE LF -> changed
PATH: /.+/
LINE: /.*/
%import common.LF
"""
PATCH = InputFormat("lark", PATCH_GRAMMAR, "tools[0].format.definition")
APPLY = Custom("apply_patch", "Edit files", PATCH, "tools[0]")
COUNT = Custom("count", None, InputFormat("regex", r"[0-9]{1,3}", "tools[1].format"), "tools[1]")
NOTE = Custom("note", None, TEXT, "tools[2]")
TIME = Function("get_time", None, NO_PARAMETERS, "tools[3]")
HELLO = "*** Begin Patch\n*** Add File: hello.txt\n+hi\n*** End Patch\n"
EDIT = "*** Begin Patch\n*** Update File: a.py\n@@ def f():\n-    x\n+    y\n*** End Patch"
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


def grammar(choice="required", named=None, tools=(APPLY, COUNT, NOTE, TIME)) -> str:
    plan = plan_tools(list(tools), choice, named, True)
    assert plan is not None
    text = call_grammar(plan, flexible_whitespace=False)
    assert text is not None
    assert llguidance.LLMatcher.validate_grammar(text) == ""
    return text


def test_a_custom_input_is_decoded_under_its_own_grammar(tokenizer):
    required = grammar()
    assert accepts(tokenizer, required, custom_call_text("apply_patch", HELLO))
    assert accepts(tokenizer, required, custom_call_text("apply_patch", EDIT))
    assert not accepts(tokenizer, required, custom_call_text("apply_patch", "hello.txt: hi"))
    assert not accepts(tokenizer, required, custom_call_text("apply_patch", HELLO + "more"))
    assert accepts(tokenizer, required, custom_call_text("count", "42"))
    assert not accepts(tokenizer, required, custom_call_text("count", "4242"))
    assert not accepts(tokenizer, required, custom_call_text("count", "four"))
    free = 'anything {"at": all}\n  </tool_call  <tool_call> and "quotes"'
    assert accepts(tokenizer, required, custom_call_text("note", free))
    # Custom and function calls side by side; a custom input is never JSON-escaped.
    both = custom_call_text("count", "7") + "\n" + TIME_CALL
    assert accepts(tokenizer, required, both)
    assert not accepts(tokenizer, required, custom_call_text("count", '"7"'))


def test_a_named_custom_tool_is_one_call_of_it_and_auto_allows_text_first(tokenizer):
    named = grammar(None, "count")
    assert accepts(tokenizer, named, custom_call_text("count", "12"))
    assert not accepts(tokenizer, named, TIME_CALL)
    assert not accepts(tokenizer, named, "Sure. " + custom_call_text("count", "12"))
    auto = grammar("auto")
    assert accepts(tokenizer, auto, "A patch:\n" + custom_call_text("apply_patch", HELLO))
    assert accepts(tokenizer, auto, "No call at all.")


@pytest.mark.parametrize(
    ("fmt", "problem"),
    [
        (InputFormat("lark", "start: (", "tools[0].format.definition"), "lark"),
        (InputFormat("regex", "[", "tools[0].custom.format.grammar.definition"), "regex"),
        (InputFormat("regex", "(?<=a)b", "tools[0].format.definition"), "look-around"),
        # Closing the nesting early to reach into the call grammar is no grammar alone.
        (InputFormat("lark", 'start: "a"\n}\nbody: /x/\nx: %lark {\nstart: "b"', "d"), "lark"),
    ],
)
def test_a_definition_that_does_not_compile_is_a_400_naming_it(fmt, problem):
    with pytest.raises(APIError) as caught:
        plan_tools([Custom("t", None, fmt, "tools[0]")], None, None, True)
    assert caught.value.param == fmt.param
    assert caught.value.code == "invalid_grammar"
    assert problem in caught.value.message


def test_tool_names_are_one_namespace_across_kinds():
    with pytest.raises(APIError) as caught:
        plan_tools([TIME, Custom("get_time", None, TEXT, "tools[1]")], None, None, True)
    assert caught.value.param == "tools[1].name"


@pytest.mark.parametrize("size", [1, 2, 3, 5, 11, 200])
def test_the_input_comes_back_exactly_at_any_split(size):
    tricky = "line one\n\n  {not json}\n</tool_cal partial marker\ntrailing spaces   \n"
    text = "Doing it.\n" + custom_call_text("note", tricky) + "\n" + TIME_CALL
    parser, events = CallParser(), []
    for start in range(0, len(text), size):
        events += parser.feed(text[start : start + size])
    events += parser.finish()
    assert parser.content == "Doing it."
    assert [(c.name, c.custom, c.arguments) for c in parser.calls] == [
        ("note", True, tricky),
        ("get_time", False, "{}"),
    ]
    begins = [e for e in events if isinstance(e, CallBegins)]
    assert [(b.name, b.custom) for b in begins] == [("note", True), ("get_time", False)]
    pieces = "".join(e.text for e in events if isinstance(e, ArgumentsPiece) and e.index == 0)
    assert pieces == tricky
    assert all(e.custom for e in events if isinstance(e, ArgumentsPiece) and e.index == 0)
    assert [e.arguments for e in events if isinstance(e, CallEnds)] == [tricky, "{}"]


def test_a_custom_call_cut_short_keeps_the_input_it_got():
    parsed = parse_answer(custom_call_text("apply_patch", HELLO)[: -len(CALL_CLOSE) - 5])
    assert parsed.calls[0].custom and HELLO.startswith(parsed.calls[0].arguments)
    assert parsed.calls[0].arguments.startswith("*** Begin Patch\n")


def test_custom_calls_take_chats_shapes_whole_and_streamed():
    parsed = parse_answer(custom_call_text("count", "42") + "\n" + TIME_CALL)
    message = shape.message(parsed)
    custom, function = message.tool_calls or []
    assert isinstance(custom, CustomToolCall) and isinstance(function, ToolCall)
    assert custom.model_dump() == {
        "id": custom.id,
        "type": "custom",
        "custom": {"name": "count", "input": "42"},
    }
    assert message.content is None
    assert shape.parsed_call(custom) == parsed.calls[0]
    parser = CallParser()
    first = parser.feed('<tool_call>\n{"name": "count"}\n4')
    text, deltas = shape.delta_parts(first)
    assert text == ""
    assert [d.model_dump(exclude_none=True) for d in deltas] == [
        {
            "index": 0,
            "id": parser.calls[0].id,
            "type": "custom",
            "custom": {"name": "count", "input": "4"},
        }
    ]
    _, later = shape.delta_parts(parser.feed("2\n</tool_call>"))
    assert [d.model_dump(exclude_none=True) for d in later] == [
        {"index": 0, "custom": {"input": "2"}}
    ]


def test_custom_calls_in_history_are_written_as_the_grammar_writes_them(tokenizer):
    """A custom call sent back renders exactly as the grammar would make the model write it,
    and its result is named after the tool (Phi-3.5's template: a user turn)."""
    request = ChatCompletionRequest.model_validate(
        {
            "model": "m",
            "messages": [
                {"role": "user", "content": "Add hello.txt"},
                {
                    "role": "assistant",
                    "tool_calls": [
                        {
                            "id": "c1",
                            "type": "custom",
                            "custom": {"name": "apply_patch", "input": HELLO},
                        }
                    ],
                },
                {"role": "tool", "tool_call_id": "c1", "content": "Done!"},
            ],
            "tools": [
                {
                    "type": "custom",
                    "custom": {
                        "name": "apply_patch",
                        "format": {
                            "type": "grammar",
                            "grammar": {"syntax": "lark", "definition": PATCH_GRAMMAR},
                        },
                    },
                }
            ],
            "tool_choice": {"type": "custom", "custom": {"name": "apply_patch"}},
        }
    )
    plan = chat_plan(request.tools, request.tool_choice, request.parallel_tool_calls)
    assert plan is not None and plan.choice == "required"
    assert [t.name for t in plan.callable] == ["apply_patch"]
    turns, _ = template_input(request.messages, plan, TemplateTraits())
    assert turns[0]["role"] == "system" and '"type": "custom"' in turns[0]["content"]
    assert "For a custom tool" in turns[0]["content"]
    assert turns[2] == {"role": "assistant", "content": custom_call_text("apply_patch", HELLO)}
    assert turns[3] == {"role": "user", "content": "Result of apply_patch: Done!"}
    text = call_grammar(plan, flexible_whitespace=False)
    assert text is not None and accepts(tokenizer, text, turns[2]["content"])
    native, _ = template_input(request.messages, plan, TemplateTraits(takes_tools=True))
    assert native[1]["tool_calls"][0]["function"] == {"name": "apply_patch", "arguments": HELLO}


def test_allowed_tools_name_custom_tools():
    request = ChatCompletionRequest.model_validate(
        {
            "model": "m",
            "messages": [ChatMessage(role="user", content="hi").model_dump()],
            "tools": [
                {"type": "custom", "custom": {"name": "note"}},
                {"type": "function", "function": {"name": "get_time"}},
            ],
            "tool_choice": {
                "type": "allowed_tools",
                "allowed_tools": {
                    "mode": "required",
                    "tools": [{"type": "custom", "custom": {"name": "note"}}],
                },
            },
        }
    )
    plan = chat_plan(request.tools, request.tool_choice, True)
    assert plan is not None
    assert [t.name for t in plan.tools] == ["note", "get_time"]
    assert [t.name for t in plan.callable] == ["note"]
    assert isinstance(plan.callable[0], Custom) and plan.callable[0].format == TEXT
