"""The GRPO reward units on hand-written completions, plus property tests."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from safety_compliance.families import compliance_parse
from safety_compliance.train.rewards import (
    MATH_DELIMITERS, REWARDS, chapter_of, chapter_reward, completion_text, compliance_reward, format_reward,
    reward_functions, reward_weights, verdict_of,
)

GOOD = "<think>Article 5 lists social scoring as a prohibited practice.</think>\nThe scoring is banned.\n\\boxed{prohibited}"
CASES = {  # completion -> (format, compliance against gold "prohibited")
    "right verdict": (GOOD, 1.0, 1.0),
    "wrong verdict": (GOOD.replace("{prohibited}", "{permitted}"), 1.0, 0.0),
    "missing </think>": (GOOD.replace("</think>", ""), 0.0, 0.0),
    "no <think> at the start": (GOOD.replace("<think>", "I think <think>"), 0.0, 0.0),
    "two boxed answers": (GOOD + " \\boxed{permitted}", 0.0, 0.0),
    "same box twice": (GOOD + " \\boxed{prohibited}", 0.0, 0.0),
    "boxed only inside the reasoning": ("<think>So \\boxed{prohibited}.</think> The scoring is banned.", 0.0, 0.0),
    "boxed in reasoning and after": ("<think>\\boxed{prohibited}</think> Banned. \\boxed{prohibited}", 0.0, 0.0),
    "no summary": ("<think>Banned.</think>\\boxed{prohibited}", 0.0, 0.0),
    "empty reasoning": ("<think> </think> Banned. \\boxed{prohibited}", 0.0, 0.0),
    "text after the box": (GOOD + " Let me reconsider.", 0.0, 0.0),
    "label outside the vocabulary": (GOOD.replace("{prohibited}", "{unsafe}"), 0.0, 0.0),
    "two think blocks": ("<think>a</think><think>b</think> Banned. \\boxed{prohibited}", 0.0, 0.0),
    "\\text{} inside the box": (GOOD.replace("{prohibited}", "{\\text{Prohibited}}"), 1.0, 1.0),
    "final full stop": (GOOD + ".", 1.0, 1.0),
    "leading whitespace": ("\n  " + GOOD, 1.0, 1.0),
    "empty": ("", 0.0, 0.0),
    # The box in inline or display math, as Qwen-family models close an answer.
    "inline math": (GOOD.replace("\\boxed{prohibited}", "$\\boxed{prohibited}$"), 1.0, 1.0),
    "display math with spaces": (GOOD.replace("\\boxed{prohibited}", "$$ \\boxed{prohibited} $$"), 1.0, 1.0),
    "bracket display math": (GOOD.replace("\\boxed{prohibited}", "\\[\\boxed{prohibited}\\]"), 1.0, 1.0),
    "paren inline math": (GOOD.replace("\\boxed{prohibited}", "\\(\\boxed{prohibited}\\)"), 1.0, 1.0),
    "math then a full stop": (GOOD.replace("\\boxed{prohibited}", "$\\boxed{prohibited}$."), 1.0, 1.0),
    "textbf in math": (GOOD.replace("\\boxed{prohibited}", "\\[\\boxed{\\textbf{Prohibited}}\\]"), 1.0, 1.0),
    "mismatched delimiters": (GOOD.replace("\\boxed{prohibited}", "$\\boxed{prohibited}\\]"), 0.0, 0.0),
    "closing delimiter only": (GOOD + "$", 0.0, 0.0),
    "math with text after it": (GOOD.replace("\\boxed{prohibited}", "$\\boxed{prohibited}$ for now"), 0.0, 0.0),
    "math box inside the reasoning": ("<think>So $\\boxed{prohibited}$.</think> Banned. $\\boxed{prohibited}$",
                                      0.0, 0.0),
    "math summary with no words": ("<think>Banned.</think> $$\\boxed{prohibited}$$", 0.0, 0.0),
}


@pytest.mark.parametrize("name", sorted(CASES))
def test_format_and_compliance_on_hand_written_completions(name):
    text, fmt, comp = CASES[name]
    assert format_reward([text]) == [fmt]
    assert compliance_reward([text], label=["prohibited"]) == [comp]


def test_conversational_completions_read_like_plain_text():
    conversational = [[{"role": "assistant", "content": GOOD}],
                      [{"role": "assistant", "content": [{"type": "text", "text": GOOD}]}]]
    assert format_reward(conversational) == [1.0, 1.0]
    assert compliance_reward(conversational, label=["prohibited", "permitted"]) == [1.0, 0.0]
    assert completion_text(conversational[1]) == GOOD


def test_compliance_is_gated_by_format():
    right_but_malformed = GOOD.replace("</think>", "")
    assert compliance_reward([right_but_malformed], label=["prohibited"]) == [0.0]


def test_rewards_are_aligned_with_their_labels_and_ignore_other_columns():
    batch = [GOOD, GOOD.replace("{prohibited}", "{permitted}")]
    assert compliance_reward(batch, label=["permitted", "permitted"], chapter=[2, 2], trainer_state=None) == [0.0, 1.0]


def test_missing_or_misaligned_columns_are_clear_errors():
    with pytest.raises(KeyError, match="label"):
        compliance_reward([GOOD])
    with pytest.raises(ValueError, match="2 values for 1 completions"):
        compliance_reward([GOOD], label=["prohibited", "permitted"])


@pytest.mark.parametrize("answer, chapter", [
    ("\\chapter{Chapter II}", 2), ("\\chapter{II: Prohibited AI practices}", 2), ("\\chapter{2}", 2),
    ("\\chapter{chapter xiii}", 13), ("\\chapter{Article 5}", None), ("no chapter", None),
    ("\\chapter{II} \\chapter{III}", None),
])
def test_chapter_answers(answer, chapter):
    assert chapter_of(GOOD + " " + answer) == chapter


def test_chapter_reward_compares_with_the_seed_chapter():
    batch = [GOOD + " \\chapter{Chapter II}", GOOD + " \\chapter{Chapter III}", GOOD]
    assert chapter_reward(batch, chapter=[2, 2, 2]) == [1.0, 0.0, 0.0]


def test_weights_follow_the_paper_and_name_known_units():
    assert reward_weights(0.9) == {"compliance": 0.9, "format": pytest.approx(0.1)}
    assert reward_weights(0.7, chapter_weight=0.5) == {"compliance": 0.7, "format": pytest.approx(0.3), "chapter": 0.5}
    funcs, weights = reward_functions({"compliance": 0.9, "format": 0.1})
    assert funcs == [REWARDS["compliance"], REWARDS["format"]] and weights == [0.9, 0.1]
    with pytest.raises(ValueError, match="alpha"):
        reward_weights(1.5)
    with pytest.raises(KeyError, match="unknown reward"):
        reward_functions({"length": 1.0})


@settings(max_examples=200, deadline=None)
@given(st.text(max_size=400), st.sampled_from(["prohibited", "permitted"]))
def test_any_text_gets_a_binary_reward_and_compliance_never_exceeds_format(text, gold):
    fmt = format_reward([text])[0]
    comp = compliance_reward([text], label=[gold])[0]
    assert fmt in (0.0, 1.0) and comp in (0.0, 1.0) and comp <= fmt


@settings(max_examples=100, deadline=None)
@given(st.text(alphabet=st.characters(blacklist_characters="\\{}<>"), min_size=1, max_size=2000).filter(str.strip),
       st.text(alphabet=st.characters(blacklist_characters="\\{}<>"), min_size=1, max_size=300).filter(str.strip),
       st.sampled_from(["prohibited", "permitted"]))
def test_any_unicode_reasoning_and_summary_in_the_right_shape_are_well_formed(reasoning, summary, verdict):
    text = f"<think>{reasoning}</think>{summary}\\boxed{{{verdict}}}"
    assert format_reward([text]) == [1.0]
    assert compliance_reward([text], label=[verdict]) == [1.0]


def test_very_long_completion_is_scored_quickly_and_correctly():
    reasoning = "The deployer profiles natural persons. " * 20000  # ~800k characters
    text = f"<think>{reasoning}</think> Summary: banned. \\boxed{{prohibited}}"
    assert format_reward([text]) == [1.0]
    assert format_reward([text + "\\boxed{permitted}"]) == [0.0]


def test_distilled_traces_earn_full_reward():
    """The SFT targets the distill stage writes are exactly what the GRPO format reward asks for."""
    from safety_compliance.benchmark.distill import format_trace

    text = format_trace("Article 5(1)(c) bans social scoring by public authorities.", "The scoring is banned.",
                        "prohibited")
    assert format_reward([text]) == [1.0]
    assert compliance_reward([text], label=["prohibited"]) == [1.0]


WORDS = st.text(alphabet=st.characters(blacklist_characters="\\{}<>$"), min_size=1, max_size=200).filter(str.strip)


@settings(max_examples=200, deadline=None)
@given(WORDS, WORDS, st.sampled_from(["prohibited", "permitted", "Permitted", "\\text{prohibited}", "\\textbf{permitted}"]),
       st.sampled_from([("", ""), *MATH_DELIMITERS]), st.sampled_from(["", " ", "\n"]),
       st.sampled_from(["", ".", "!", " \n", ". "]))
def test_a_final_box_bare_or_in_math_is_well_formed_and_read_alike_by_the_evaluation(
        reasoning, summary, label, delimiters, pad, trailer):
    opening, closing = delimiters
    text = f"<think>{reasoning}</think>{summary}{opening}{pad}\\boxed{{{label}}}{pad}{closing}{trailer}"
    gold = "permitted" if "ermitted" in label else "prohibited"
    assert format_reward([text]) == [1.0]
    assert verdict_of(text) == compliance_parse(text) == gold
    assert compliance_reward([text], label=[gold]) == [1.0]


FRAGMENTS = ["<think>", "</think>", "Reasoning. ", "Summary: banned. ", "\\boxed{prohibited}", "\\boxed{permitted}",
             "\\boxed{unsafe}", "$", "$$", "\\[", "\\]", "\\(", "\\)", " ", "\n", ".", "Let me check again."]


@settings(max_examples=500, deadline=None)
@given(st.lists(st.sampled_from(FRAGMENTS), max_size=12).map("".join))
def test_the_reward_never_disagrees_with_the_evaluations_parser(text):
    """Whatever the reward accepts, the evaluation reads as the same verdict; it may refuse more."""
    verdict = verdict_of(text)
    assert (format_reward([text]) == [1.0]) == (verdict is not None)
    if verdict is not None:
        assert compliance_parse(text) == verdict
