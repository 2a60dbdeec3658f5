"""The sampling lab's arithmetic: answer matching, distinct-n, the grid of cells and the
aggregation of a cell."""

import json
import math

import pytest

from bench import QUESTIONS
from bench import sampling_lab as lab


def test_an_answer_is_right_when_an_accepted_one_appears_as_a_whole_word():
    assert lab.is_correct("The capital of France is Paris.", ["Paris"])
    assert lab.is_correct("paris", ["Paris"])
    assert lab.is_correct("It is Bogotá!", ["Bogota"])  # accents off on both sides
    assert lab.is_correct("A spider has 8 legs.", ["8", "eight"])
    assert lab.is_correct("The blue whale.", ["blue whale"])
    assert not lab.is_correct("Parisian food", ["Paris"])
    assert not lab.is_correct("It has 18 legs.", ["8"])
    assert not lab.is_correct("", ["Paris"])


def test_distinct_n_counts_unique_word_ngrams_over_all():
    assert lab.distinct_n(["a b c", "a b c"]) == 0.5  # 2 unique bigrams of 4
    assert lab.distinct_n(["a b c", "d e f"]) == 1.0
    assert lab.distinct_n(["a", "b"]) == 0.0  # no bigram at all
    assert math.isclose(lab.distinct_n(["The cat, the cat."], n=1), 0.5)
    assert lab.distinct_share(["Paris", "paris.", "Rome"]) == 2 / 3
    assert lab.distinct_share([]) == 0.0


def test_the_grid_has_greedy_once_then_methods_by_temperature_then_presets():
    cells = lab.cells(lab.QUICK)
    names = [c.name for c in cells]
    assert names[0] == "greedy" and names.count("greedy") == 1
    swept = [t for t in lab.QUICK.temperatures if t > 0]
    assert len(cells) == 1 + len(swept) * len(lab.QUICK.methods) + len(lab.QUICK.presets)
    top_p = next(c for c in cells if c.name == "top_p 0.9 @ T=2")
    assert top_p.params == {"temperature": 2.0, "top_p": 0.9}
    assert cells[-1].params == {"preset": "balanced"} and cells[-1].temperature is None


def test_a_cell_summary_is_the_mean_of_what_it_measured():
    cell = lab.Cell("x", "m", 1.0, {"temperature": 1.0})
    cell.correct = [True, False, True, True]
    cell.distinct_2 = [0.5, 1.0]
    cell.coherence = [-1.0, -3.0]
    cell.answer_tokens = [10, 20]
    cell.cut = [False, True]
    summary = cell.summary()
    assert summary["accuracy"] == 0.75
    assert summary["distinct_2"] == 0.75
    assert summary["coherence"] == -2.0
    assert summary["answer_tokens"] == 15.0
    assert summary["cut_share"] == 0.5
    assert math.isnan(summary["distinct_answers"])  # nothing measured: not a zero
    assert "x" in lab.table({"cells": [{"name": "x", "summary": summary}]})


def test_the_shipped_questions_are_enough_and_well_formed():
    items = json.loads(QUESTIONS.read_text())["items"]
    assert len(items) >= 100
    assert len({i["question"] for i in items}) == len(items)
    assert all(i["answers"] and all(a.strip() for a in i["answers"]) for i in items)


def test_repeated_share_counts_ngrams_said_before():
    assert lab.repeated_share("a b c d e f g") == 0.0
    # "a b c d" four times: 13 four-grams, of which 9 repeat an earlier one
    assert lab.repeated_share("a b c d " * 4) == pytest.approx(9 / 13)
    assert lab.repeated_share("too short") == 0.0
