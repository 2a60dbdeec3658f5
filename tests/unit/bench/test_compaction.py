"""bench compaction's own parts: the conversation holds its facts where the measurement
says (the name in a user message, the code only in an answer), and the summary counts."""

from bench.compaction import Asked, Round, conversation, summarize


def test_the_name_is_the_users_and_the_code_only_the_assistants():
    history, facts = conversation(3)
    said = {
        role: " ".join(m["content"] for m in history if m["role"] == role)
        for role in ("user", "assistant")
    }
    assert facts["name"] in said["user"]
    assert facts["code"] in said["assistant"] and facts["code"] not in said["user"]
    assert conversation(4)[1] != facts


def test_the_summary_counts_answers_that_hold_the_facts():
    def asked(tokens: int, holds: bool) -> dict[str, Asked]:
        return {"name": Asked(tokens, "", holds), "code": Asked(tokens, "", not holds)}

    rounds = [
        Round(
            "A",
            "1",
            2.0,
            2100,
            40,
            "s",
            asked(2000, True),
            asked(90, True),
            ["compaction", "message"],
            120,
        ),
        Round("B", "2", 4.0, 2100, 60, "s", asked(2200, True), asked(110, False), ["message"], 140),
    ]
    summary = summarize(rounds)
    assert (summary["prompt_tokens_whole"], summary["prompt_tokens_compacted"]) == (2100, 100)
    assert (
        summary["name_answered_compacted"] == "1/2" and summary["code_answered_compacted"] == "1/2"
    )
    assert summary["compact_s"] == 3.0 and summary["summary_tokens"] == 50
    assert summary["server_side_output_starts_with_compaction"] is False
