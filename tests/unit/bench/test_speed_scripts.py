"""The arithmetic of the speed tools: first_answer's phases, step_profile's stages,
compile_numerics' comparison."""

import pytest

from bench import compile_numerics, first_answer, step_profile


def test_phases_split_at_the_first_line_of_each_marker():
    lines = [
        (0.2, "setup: [1/3] creating .venv"),
        (3.0, "setup: [2/3] torch …"),
        (20.0, "Preparing the embedded model SmolLM2 (once)"),
        (25.0, "Preparing the embedded model again"),  # only the first counts
        (37.0, "Embedded model ready in 17.0 s"),
        (68.0, "INFO server.app: engine ready: serving SmolLM2-135M-Instruct"),
    ]
    phases = first_answer.phases(lines, answered=68.5)
    assert [(p.name, round(p.seconds, 1)) for p in phases] == [
        ("clone and script start", 0.2),
        ("environment", 2.8),
        ("packages", 17.0),
        ("model conversion", 17.0),
        ("server and engine start", 31.0),
        ("first request", 0.5),
    ]
    assert sum(p.seconds for p in phases) == pytest.approx(68.5)


def test_a_cached_step_takes_no_phase():
    lines = [(0.1, "setup: environment up to date"), (20.0, "engine ready: serving x")]
    phases = first_answer.phases(lines, answered=20.4)
    assert [p.name for p in phases] == ["clone and script start", "first request"]


def test_samples_go_to_the_first_matching_stage(tmp_path):
    raw = tmp_path / "worker.txt"
    raw.write_text(
        "thread (7): MainThread;worker_busy_loop (w.py:1);execute_model (r.py:2);"
        "_model_forward (r.py:3);gemm (u.py:4) 30\n"
        "thread (7): MainThread;worker_busy_loop (w.py:1);MessageQueue.dequeue (s.py:5) 5\n"
        "thread (7): MainThread;worker_busy_loop (w.py:1);enqueue_output (m.py:6);"
        "MessageQueue.enqueue (s.py:7) 2\n"
        "thread (9): Other;run (t.py:1) 40\n"
    )
    samples = step_profile.main_thread_samples(raw, pid=7)
    assert sum(samples.values()) == 37  # the other thread is left out
    stages = {step_profile.classify("worker", stack) for stack in samples}
    assert stages == {
        "forward pass",
        "waiting for the next step",
        "sending the step's output (shm queue, zmq)",
    }


def test_the_api_event_loop_is_its_own_stage():
    stack = "thread (1): MainThread;main (server/__main__.py:9);Runner.run (asyncio/runners.py:118)"
    assert step_profile.classify("api", stack) == "event loop (waiting, uvloop)"
    served = stack.replace(
        "Runner.run (asyncio/runners.py:118)", "stream (server/services/completions.py:2)"
    )
    assert step_profile.classify("api", served) == "this server: request and chunk shaping"


def run(tokens: list[list[int]], logprob: float = -1.0):
    answers = [compile_numerics.Answer(t, [logprob] * len(t), top2_tied=False) for t in tokens]
    return compile_numerics.Run("s", 1.0, 10.0, answers)


def test_comparison_counts_identical_answers_and_the_first_difference():
    reference = run([[1, 2, 3], [4, 5, 6]], logprob=-1.0)
    other = run([[1, 2, 3], [4, 9, 6]], logprob=-1.5)
    c = compile_numerics.compare("x", [other], reference, reference)
    assert (c.identical, c.identical_to_preset, c.questions) == (1, 1, 2)
    assert c.mean_first_difference == 2.0  # (3 + 1) / 2
    assert c.mean_abs_logprob_diff == 0.5  # over the agreeing prefixes only
