"""The README's and the quick start's curl and SDK examples, run as written (against this
server's port), give what the page shows. Their prompts' greedy margins are far wider than
float32's error on any kernel path (docs/api/reproducibility.md), so the pages hold on any
CPU."""

from __future__ import annotations

import ast
import json
import re
import subprocess
import sys

import pytest

from tests.e2e.conftest import ROOT

PAGES = ["README.md", "docs/index.md"]
PAGE_URL = "http://127.0.0.1:8000"
CURL = f"curl -s {PAGE_URL}/v1/chat/completions"
LOGPROB_TOLERANCE = 2e-3  # the page rounds to three decimals


def block(page: str, language: str, holding: str, after: str = "") -> str:
    """The first fenced block of `language` that holds `holding`, after the first block
    that holds `after` (when given)."""
    text = (ROOT / page).read_text()
    fences = list(re.finditer(r"```(\w*)\n(.*?)```", text, re.S))
    start = next(f.end() for f in fences if after in f.group(2)) if after else 0
    for fence in fences:
        if fence.start() >= start and fence.group(1) == language and holding in fence.group(2):
            return fence.group(2)
    raise AssertionError(f"{page}: no {language} block holding {holding!r}")


def run(command: list[str]) -> str:
    return subprocess.run(command, capture_output=True, text=True, check=True, timeout=120).stdout


@pytest.mark.greedy_text
@pytest.mark.parametrize("page", PAGES)
def test_curl_example_answers_as_the_page_shows(server, page):
    command = block(page, "bash", CURL)
    shown = json.loads(block(page, "json", "chat.completion", after=CURL))
    answer = json.loads(run(["bash", "-c", command.replace(PAGE_URL, server.base_url)]))
    message = answer["choices"][0]["message"]
    assert message == message | shown["choices"][0]["message"]
    assert answer["choices"][0]["finish_reason"] == shown["choices"][0]["finish_reason"]
    assert answer["usage"] == answer["usage"] | shown["usage"]


def printed_line(line: str) -> tuple[str, float, list[str]] | str:
    """`'The' -1.864 ['The', 'L', 'La']` as its three parts; any other line as it is."""
    found = re.fullmatch(r"('.*?'|\".*?\") (-?[\d.]+) (\[.*\])", line)
    if not found:
        return line
    token, logprob, top = found.groups()
    return ast.literal_eval(token), float(logprob), ast.literal_eval(top)


@pytest.mark.greedy_text
@pytest.mark.parametrize("page", PAGES)
def test_sdk_example_prints_what_the_page_shows(server, page):
    code = block(page, "python", "from openai import OpenAI")
    shown = block(page, "", "", after="from openai import OpenAI").splitlines()
    printed = run([sys.executable, "-c", code.replace(PAGE_URL, server.base_url)]).splitlines()
    kept = [line for line in shown if line != "…"]
    assert len(printed) >= len(kept), printed
    for got, want in zip(printed, kept, strict=False):
        got_parts, want_parts = printed_line(got), printed_line(want)
        if isinstance(want_parts, str):
            assert got == want
            continue
        assert not isinstance(got_parts, str), got
        assert got_parts[0] == want_parts[0] and got_parts[2] == want_parts[2], (got, want)
        assert abs(got_parts[1] - want_parts[1]) <= LOGPROB_TOLERANCE, (got, want)
