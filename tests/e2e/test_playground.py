"""The playground page in a real browser (Debian's chromium, driven by Playwright)."""

import contextlib
import os
import shutil

import pytest

from tests.e2e.conftest import API_KEY

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
FLAGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]


@contextlib.contextmanager
def browser_page(url: str):
    if CHROMIUM is None:
        if os.environ.get("CI"):
            pytest.fail("chromium is missing; scripts/test.sh installs it (apt-get)")
        pytest.skip("chromium is not installed (apt-get install chromium)")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=FLAGS)
        page = browser.new_page()
        requests = []
        page.on("request", lambda r: requests.append(r))
        page.goto(url)
        page.requests = requests
        yield page
        browser.close()


@pytest.fixture(scope="module")
def page(server):
    with browser_page(f"{server.base_url}/playground") as page:
        page.wait_for_selector("body[data-ready]", timeout=60_000)
        yield page


def final_probs(page):
    return page.eval_on_selector_all(".bar-row", "rows => rows.map(r => Number(r.dataset.final))")


def test_page_loads_offline_and_draws_bars(page, server):
    assert len(page.query_selector_all(".bar-row")) == 20
    assert page.inner_text("#text").strip()
    assert all(r.url.startswith(server.base_url) for r in page.requests)


def test_moving_a_slider_changes_the_bars(page):
    before = final_probs(page)
    assert sum(p > 0 for p in before) == 20  # no filter: every shown token survives
    ready = page.get_attribute("body", "data-ready")
    page.fill("#top_k", "3")
    page.dispatch_event("#top_k", "input")
    page.wait_for_function(f"document.body.dataset.ready !== '{ready}'", timeout=60_000)
    after = final_probs(page)
    assert sum(p > 0 for p in after) == 3
    assert after != before
    assert len(page.query_selector_all(".bar-row.cut")) == 17
    assert page.inner_text("#top_k-value") == "3"
    assert "cut by top-k" in page.inner_text("#bars")


def test_tokens_show_their_probability_on_hover(page):
    spans = page.query_selector_all("#text .tok")
    assert spans
    assert "%" in spans[0].get_attribute("title")


def branch_tokens(page, branch):
    return page.eval_on_selector_all(
        f'.branch[data-branch="{branch}"] .body span', "spans => spans.map(s => s.textContent)"
    )


def test_the_token_explorer_forks_the_answer(page, http, model):
    """Click a token, see its step; click an alternative, get a branch continued from it,
    exactly what the inspector answers with that token forced; the first branch stays."""
    sampled = branch_tokens(page, 0)
    page.click('.branch[data-branch="0"] .tok[data-step="2"]')
    assert page.inner_text("#summary").startswith("Step 3:")
    alternative = page.query_selector(".bar-row.alternative:not(.cut)")
    token_id = int(alternative.get_attribute("data-id"))
    alternative.click()
    page.wait_for_selector('body[data-branches="2"]', timeout=60_000)
    assert branch_tokens(page, 0) == sampled  # the earlier branch is still there
    forked = branch_tokens(page, 1)
    assert forked[0] == "".join(sampled[:2])  # the prefix it shares
    assert page.inner_text('.branch[data-branch="1"] .forced') == forked[1]
    params = page.evaluate("params()")
    prompt = page.input_value("#prompt")
    ids = page.evaluate("branches[0].steps.slice(0, 2).map(s => s.sampled.id)")
    body = {"model": model, "prompt": prompt, "steps": 12, "seed": 0, **params}
    direct = http.post("/v1/sampling/inspect", json={**body, "forced_tokens": [*ids, token_id]})
    assert [s["sampled"]["token"] for s in direct.json()["steps"]] == forked[2:]
    assert page.query_selector('.branch[data-branch="1"] .tok.selected')


@pytest.mark.processed
def test_a_server_with_a_key_gets_it_from_the_page(processed_server):
    with browser_page(f"{processed_server.base_url}/playground") as page:
        page.wait_for_selector("#key-form:not([hidden])", timeout=60_000)
        page.fill("#api-key", "wrong-key")
        page.click("#key-form button")
        page.wait_for_function(
            "document.getElementById('key-error').textContent.includes('refused')",
            timeout=30_000,
        )
        page.fill("#api-key", API_KEY)
        page.click("#key-form button")
        page.wait_for_selector("body[data-ready]", timeout=60_000)
        assert len(page.query_selector_all(".bar-row")) == 20
        assert page.is_hidden("#key-form")
        sent = [r.headers.get("authorization") for r in page.requests if "/v1/" in r.url]
        assert f"Bearer {API_KEY}" in sent
        assert API_KEY not in page.url
        stored = page.evaluate("JSON.stringify(localStorage) + JSON.stringify(sessionStorage)")
        assert API_KEY not in stored


def chain_shown(page):
    return page.eval_on_selector_all("#chain li", "items => items.map(i => i.textContent)")


def test_the_order_editor_sends_the_order_and_draws_the_chain(page, http):
    """The named orders come from the server; choosing one, or a custom list, sends it as
    `samplers` and draws the chain the server reports it ran."""
    orders = http.get("/v1/sampling/orders").json()
    options = page.eval_on_selector_all("#samplers option", "os => os.map(o => o.value)")
    assert options == [*orders["orders"], "custom"]
    ready = page.get_attribute("body", "data-ready")
    page.select_option("#samplers", "llama.cpp")
    page.wait_for_function(f"document.body.dataset.ready !== '{ready}'", timeout=60_000)
    assert page.evaluate("params()")["samplers"] == "llama.cpp"
    shown = chain_shown(page)
    assert len(shown) == len(orders["orders"]["llama.cpp"])
    assert shown.index("temperature") > shown.index("top-k")
    ready = page.get_attribute("body", "data-ready")
    page.select_option("#samplers", "custom")
    page.wait_for_function(f"document.body.dataset.ready !== '{ready}'", timeout=60_000)
    ready = page.get_attribute("body", "data-ready")
    page.click('#custom-order li[data-stage="temperature"] button[aria-label$="up"]')
    page.wait_for_function(f"document.body.dataset.ready !== '{ready}'", timeout=60_000)
    sent = page.evaluate("params()")["samplers"]
    assert sent.index("temperature") == len(sent) - 3  # moved above xtc (adaptive_p is last)
    assert chain_shown(page) == [*[page.evaluate(f"STAGE_LABEL['{s}']") for s in sent]]
