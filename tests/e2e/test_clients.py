"""OpenAI's own clients against the real server, as their users run them: the Agents SDK
with its Responses model and its Chat Completions model (one with a tool), LangChain's
ChatOpenAI over the Responses API, and Codex CLI (`codex exec`, npm's @openai/codex, which
scripts/test.sh installs into .tools/codex)."""

from __future__ import annotations

import json
import os
import subprocess
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from types import SimpleNamespace

import httpx
import pytest
from agents import (
    Agent,
    AgentHooks,
    ModelSettings,
    OpenAIChatCompletionsModel,
    OpenAIResponsesModel,
    Runner,
    function_tool,
    set_tracing_disabled,
)
from langchain_core.messages import HumanMessage
from langchain_core.tools import tool
from langchain_openai import ChatOpenAI
from openai import AsyncOpenAI

from tests.e2e.conftest import API_KEY

ROOT = Path(__file__).resolve().parents[2]
CODEX = ROOT / ".tools" / "codex" / "node_modules" / ".bin" / "codex"

set_tracing_disabled(True)  # the SDK's traces would go to OpenAI


def _client(server) -> AsyncOpenAI:
    return AsyncOpenAI(base_url=f"{server.base_url}/v1", api_key="unused", max_retries=0)


def _agent(server, model: str, chat: bool, **kwargs) -> Agent:
    client = _client(server)
    kind = OpenAIChatCompletionsModel if chat else OpenAIResponsesModel
    return Agent(
        name="Assistant",
        instructions="You are a helpful assistant. Answer in one short sentence.",
        model=kind(model=model, openai_client=client),
        **kwargs,
    )


SETTINGS = ModelSettings(temperature=0.0, max_tokens=24)


@pytest.mark.parametrize("chat", [False, True], ids=["responses", "chat"])
async def test_agents_sdk_answers(server, model, chat):
    agent = _agent(server, model, chat, model_settings=SETTINGS)
    result = await Runner.run(agent, "What is the capital of France?")
    assert isinstance(result.final_output, str) and "Paris" in result.final_output
    assert result.context_wrapper.usage.input_tokens > 0


async def test_agents_sdk_streams_over_responses(server, model):
    agent = _agent(server, model, chat=False, model_settings=SETTINGS)
    result = Runner.run_streamed(agent, "What is the capital of France?")
    deltas = [
        event.data.delta
        async for event in result.stream_events()
        if event.type == "raw_response_event" and event.data.type == "response.output_text.delta"
    ]
    assert "".join(deltas) == result.final_output and "Paris" in result.final_output


async def _weather_run(server, model: str, chat: bool, settings: ModelSettings, **run_options):
    """The first turn must call the tool (forced); the SDK runs it, sends the call and its
    output back, and the model answers from it. A 135M model called again and again under
    "auto" after one call, so once the tool ran, the agent's settings say "none"."""
    seen: list[str] = []

    class AnswerAfterTheCall(AgentHooks):
        async def on_tool_end(self, context, agent, tool, result) -> None:
            agent.model_settings = agent.model_settings.resolve(ModelSettings(tool_choice="none"))

    @function_tool
    def get_weather(city: str) -> str:
        """The current weather in a city."""
        seen.append(city)
        return f"It is sunny and 22 C in {city}."

    agent = _agent(
        server,
        model,
        chat,
        tools=[get_weather],
        model_settings=settings,
        hooks=AnswerAfterTheCall(),
        reset_tool_choice=False,
    )
    result = await Runner.run(agent, "What is the weather in Paris?", max_turns=4, **run_options)
    assert len(seen) >= 1 and all(isinstance(city, str) for city in seen)
    assert isinstance(result.final_output, str)
    kinds = [item.type for item in result.new_items]
    assert kinds[:2] == ["tool_call_item", "tool_call_output_item"]
    assert kinds[-1] == "message_output_item"
    return result


@pytest.mark.parametrize("chat", [False, True], ids=["responses", "chat"])
async def test_agents_sdk_tool_loop(server, model, chat):
    settings = ModelSettings(
        temperature=0.0,
        max_tokens=48,
        tool_choice="get_weather",
        parallel_tool_calls=False,
        # the SDK's own options around a call, sent as OpenAI's fields
        truncation="auto" if not chat else None,
        store=False,
        metadata={"test": "agents"},
        top_logprobs=2,
    )
    await _weather_run(server, model, chat, settings)


async def test_agents_sdk_tool_loop_on_the_servers_state(server, model, client):
    """auto_previous_response_id: after the first model call the SDK sends only what is
    new (the tool's output) with the previous response's id; the server holds the rest."""
    settings = ModelSettings(
        temperature=0.0, max_tokens=48, tool_choice="get_weather", parallel_tool_calls=False
    )
    result = await _weather_run(server, model, False, settings, auto_previous_response_id=True)
    last = client.responses.retrieve(result.last_response_id)
    assert last.previous_response_id is not None
    sent = client.responses.input_items.list(result.last_response_id).data
    assert [item.type for item in sent] == ["function_call_output"]


async def test_agents_sdk_continues_a_run_by_its_last_response(server, model, client):
    agent = _agent(server, model, chat=False, model_settings=SETTINGS)
    first = await Runner.run(agent, "My name is Ada. Say OK.")
    second = await Runner.run(
        agent, "What is my name?", previous_response_id=first.last_response_id
    )
    stored = client.responses.retrieve(second.last_response_id)
    assert stored.previous_response_id == first.last_response_id
    assert [item.content[0].text for item in client.responses.input_items.list(stored.id).data] == [
        "What is my name?"
    ]
    # the server read the first turn again: more than this turn's own few tokens
    assert second.context_wrapper.usage.input_tokens > first.context_wrapper.usage.input_tokens


@pytest.mark.greedy_text
def test_langchain_over_the_responses_api(server, model):
    chat = ChatOpenAI(
        model=model,
        base_url=f"{server.base_url}/v1",
        api_key="unused",
        use_responses_api=True,
        temperature=0,
        max_tokens=24,
        max_retries=0,
    )
    answer = chat.invoke("What is the capital of France?")
    assert "Paris" in answer.text
    assert answer.usage_metadata["input_tokens"] > 0
    streamed = "".join(chunk.text for chunk in chat.stream("What is the capital of France?"))
    assert streamed == answer.text

    @tool
    def get_weather(city: str) -> str:
        """The current weather in a city."""
        return f"Sunny in {city}."

    called = chat.bind_tools([get_weather], tool_choice="get_weather").invoke(
        "What is the weather in Paris?"
    )
    assert [c["name"] for c in called.tool_calls] == ["get_weather"]
    assert isinstance(called.tool_calls[0]["args"]["city"], str)
    # The call and its result back, as LangChain sends a conversation on.
    followed = chat.invoke(
        [
            ("human", "What is the weather in Paris?"),
            called,
            {"role": "tool", "tool_call_id": called.tool_calls[0]["id"], "content": "Sunny."},
        ]
    )
    assert isinstance(followed.text, str)


def test_langchain_sends_only_the_new_message_with_previous_response_id(server, model, client):
    chat = ChatOpenAI(
        model=model,
        base_url=f"{server.base_url}/v1",
        api_key="unused",
        use_responses_api=True,
        use_previous_response_id=True,
        temperature=0,
        max_tokens=16,
        max_retries=0,
    )
    first = chat.invoke([HumanMessage("My name is Ada. Say OK.")])
    second = chat.invoke([HumanMessage("My name is Ada. Say OK."), first, HumanMessage("Name?")])
    stored = client.responses.retrieve(second.response_metadata["id"])
    assert stored.previous_response_id == first.response_metadata["id"]
    sent = client.responses.input_items.list(stored.id).data
    assert [item.content[0].text for item in sent] == ["Name?"]


def _codex(
    server,
    model: str,
    home: Path,
    *options: str,
    prompt: str = "Say hi.",
    catalog: dict | None = None,
    api_key: str | None = None,
) -> subprocess.CompletedProcess[str]:
    """`codex exec` with a provider for this server: no login, no update check, no
    analytics or plugin sync (nothing leaves the machine), one try per request. `catalog`:
    the model's entry in a model catalog of Codex's own format (`model_catalog_json`), which
    is how Codex learns a model's tools and instructions."""
    home.mkdir(parents=True, exist_ok=True)
    top = ""
    if catalog is not None:
        (home / "catalog.json").write_text(json.dumps({"models": [catalog]}))
        top = f'model_catalog_json = "{home / "catalog.json"}"\n'
    (home / "config.toml").write_text(
        f'model = "{model}"\n'
        'model_provider = "local"\n'
        "check_for_update_on_startup = false\n"
        f"{top}"
        "[analytics]\nenabled = false\n"
        "[features]\nplugins = false\n"
        "[model_providers.local]\n"
        'name = "local"\n'
        f'base_url = "{server.base_url}/v1"\n'
        'wire_api = "responses"\n'
        "request_max_retries = 0\n"
        "stream_max_retries = 0\n" + ('env_key = "CODEX_TEST_API_KEY"\n' if api_key else "")
    )
    work = home / "work"
    work.mkdir(exist_ok=True)
    key = {"CODEX_TEST_API_KEY": api_key} if api_key else {}
    return subprocess.run(
        [str(CODEX), "exec", "--skip-git-repo-check", *options, prompt],
        cwd=work,
        env={**os.environ, "CODEX_HOME": str(home), "NO_COLOR": "1", **key},
        stdin=subprocess.DEVNULL,
        capture_output=True,
        text=True,
        timeout=180,
    )


# Codex's own prompt and tools are ~10k tokens; these options shrink them to what a model
# with an 8k context can take (Codex's documented config keys). Without its shell tool it
# still sends `tools: []` with `tool_choice: "auto"`; with it, a 135M model sampled at
# temperature 1 may start a command whose string argument runs to the end of the context.
SMALL_PROMPT = (
    'web_search="disabled"',
    "features.goals=false",
    "features.multi_agent=false",
    "skills.include_instructions=false",
    "include_environment_context=false",
    "include_permissions_instructions=false",
    "tools.experimental_request_user_input.enabled=false",
    "features.view_image=false",
    "features.shell_tool=false",
)


@pytest.fixture(scope="module")
def codex() -> Path:
    if not CODEX.exists():
        if os.environ.get("CI"):
            pytest.fail("Codex CLI is not installed (scripts/test.sh installs it with npm)")
        pytest.skip("Codex CLI not installed: scripts/test.sh installs it with npm")
    return CODEX


def test_codex_full_prompt_is_refused_only_for_its_length(server, model, codex, tmp_path):
    """Codex's first request as it comes (developer messages with ids, function, namespace
    and web_search tools, reasoning, include, store, prompt_cache_key, client_metadata):
    every field is accepted; what refuses it is its ~10k tokens against an 8k context,
    answered with the code that Codex knows and shows."""
    result = _codex(server, model, tmp_path / "home")
    shown = result.stdout + result.stderr
    assert result.returncode != 0
    assert "context window" in shown, shown[-3000:]
    assert "Unrecognized" not in shown and "not supported" not in shown


def test_codex_answers_with_a_prompt_that_fits(server, model, codex, tmp_path):
    """Codex sends no output limit and samples at temperature 1, where a 135M model can
    ramble to the end of its context; its --output-schema (text.format json_schema) bounds
    the answer to a short JSON object, so the turn ends."""
    schema = tmp_path / "schema.json"
    schema.write_text(
        json.dumps(
            {
                "type": "object",
                "properties": {"greeting": {"type": "string", "maxLength": 24}},
                "required": ["greeting"],
                "additionalProperties": False,
            }
        )
    )
    options = [arg for option in SMALL_PROMPT for arg in ("-c", option)]
    result = _codex(
        server, model, tmp_path / "home", "--json", "--output-schema", str(schema), *options
    )
    assert result.returncode == 0, (result.stdout + result.stderr)[-3000:]
    events = [json.loads(line) for line in result.stdout.splitlines() if line.startswith("{")]
    messages = [
        e["item"]
        for e in events
        if e.get("type") == "item.completed" and e["item"].get("type") == "agent_message"
    ]
    assert messages, result.stdout[-3000:]
    assert isinstance(json.loads(messages[-1]["text"])["greeting"], str)


class _Recording(ThreadingHTTPServer):
    """A pass-through to the server that keeps the JSON bodies sent to it: what Codex
    declared is otherwise seen nowhere (it sends `store: false`)."""

    def __init__(self, target: str) -> None:
        self.target = target
        self.bodies: list[dict] = []
        self.statuses: list[int] = []
        super().__init__(("127.0.0.1", 0), _Forward)

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.server_address[1]}"


class _Forward(BaseHTTPRequestHandler):
    server: _Recording

    def _forward(self) -> None:
        body = self.rfile.read(int(self.headers.get("content-length") or 0))
        if body and not self.headers.get("content-encoding"):
            self.server.bodies.append(json.loads(body))
        headers = {k: v for k, v in self.headers.items() if k.lower() != "host"}
        answer = httpx.request(
            self.command, self.server.target + self.path, headers=headers, content=body, timeout=170
        )
        self.server.statuses.append(answer.status_code)
        self.send_response(answer.status_code)
        skipped = ("content-length", "content-encoding", "transfer-encoding", "connection")
        for key, value in answer.headers.items():
            if key.lower() not in skipped:
                self.send_header(key, value)
        self.send_header("content-length", str(len(answer.content)))
        self.end_headers()
        self.wfile.write(answer.content)

    do_GET = do_POST = _forward

    def log_message(self, format: str, *args: object) -> None:
        return None


@pytest.fixture
def recording(processed_server) -> Iterator[_Recording]:
    proxy = _Recording(processed_server.base_url)
    thread = threading.Thread(target=proxy.serve_forever, daemon=True)
    thread.start()
    yield proxy
    proxy.shutdown()
    proxy.server_close()


def _custom_tools(body: dict) -> list[dict]:
    """The custom tools a request declares, namespace members included."""
    tools = list(body.get("tools") or ())
    tools += [t for n in tools if n.get("type") == "namespace" for t in n["tools"]]
    return [t for t in tools if t.get("type") == "custom"]


def _catalog_entry(model: str) -> dict:
    """This server's model as a Codex catalog model whose apply_patch is the free-form
    (custom, Lark grammar) tool, as Codex's catalog declares OpenAI's newer models; the
    fields are those Codex's catalog format requires."""
    return {
        "slug": model,
        "display_name": model,
        "description": "served by sampling-server",
        "base_instructions": "You are Codex, a coding agent. Edit files with apply_patch.",
        "apply_patch_tool_type": "freeform",
        "context_window": 8192,
        "shell_type": "shell_command",
        "visibility": "list",
        "supported_in_api": True,
        "priority": 1,
        "default_reasoning_level": "medium",
        "supported_reasoning_levels": [],
        "input_modalities": ["text"],
        "support_verbosity": False,
        "truncation_policy": {"mode": "tokens", "limit": 10000},
        "experimental_supported_tools": [],
    }


@pytest.mark.processed
def test_codex_declares_apply_patch_as_a_grammar_tool_and_the_server_answers_it(
    model, codex, recording, tmp_path
):
    """A catalog model whose apply_patch is free-form: Codex declares it as OpenAI's newer
    models take it, a custom tool whose input is a Lark grammar, and the server answers
    every request (before custom tools, a 400). Codex sends `tool_choice: "auto"`, no
    output limit and temperature 1, so the 135M model chooses: it answers (the turn
    completes), or it calls apply_patch, whose input, decoded under Codex's grammar, Codex
    parses and applies (the file is on disk), and often goes on patching until the
    operator's 512-token cap ends a response `incomplete`, which Codex reports as such."""
    schema = tmp_path / "schema.json"
    schema.write_text(
        json.dumps(
            {
                "type": "object",
                "properties": {"done": {"type": "boolean"}},
                "required": ["done"],
                "additionalProperties": False,
            }
        )
    )
    options = [arg for option in SMALL_PROMPT for arg in ("-c", option)]
    home = tmp_path / "home"
    result = _codex(
        SimpleNamespace(base_url=recording.base_url),
        model,
        home,
        "--json",
        "--sandbox",
        "workspace-write",
        "--output-schema",
        str(schema),
        *options,
        prompt="Say hi.",
        catalog=_catalog_entry(model),
        api_key=API_KEY,
    )
    shown = (result.stdout + result.stderr)[-3000:]
    declared = [t for body in recording.bodies for t in _custom_tools(body)]
    patch = [t for t in declared if t["name"] == "apply_patch"]
    assert patch, [sorted(body) for body in recording.bodies]
    assert patch[0]["format"]["type"] == "grammar" and patch[0]["format"]["syntax"] == "lark"
    assert "*** Begin Patch" in patch[0]["format"]["definition"]
    assert all(status == 200 for status in recording.statuses), recording.statuses
    events = [json.loads(line) for line in result.stdout.splitlines() if line.startswith("{")]
    items = [e["item"] for e in events if e.get("type") == "item.completed"]
    applied = [i for i in items if i.get("type") == "file_change" and i["status"] == "completed"]
    if result.returncode != 0:  # the cap, not a refusal: the only way this turn may end
        assert "Incomplete response returned, reason: max_output_tokens" in shown, shown
    else:
        assert any(item.get("type") == "agent_message" for item in items), shown
    for item in applied:
        for change in item["changes"]:
            assert (home / "work" / change["path"]).exists() or change["kind"] == "delete"
