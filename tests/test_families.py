"""Each verifier family's prompt and parser, on outputs shaped like that family's real answers."""

from __future__ import annotations

import pytest

from safety_compliance.chapters import chapters_of
from safety_compliance.families import FAMILIES, get_family


def parse(family: str, text: str):
    return FAMILIES[family].parse(text)


@pytest.mark.parametrize("name", sorted(FAMILIES))
@pytest.mark.parametrize("law", ["eu_ai_act", "gdpr"])
def test_every_prompt_carries_the_facts_and_the_law(name, law):
    messages = FAMILIES[name].messages(law, "A bank scores loan applicants with an opaque model.")
    text = "\n".join(m["content"] for m in messages)
    assert messages[-1]["role"] == "user"
    assert "A bank scores loan applicants with an opaque model." in text
    assert ("GDPR" if law == "gdpr" else "EU AI Act") in text
    assert FAMILIES[name].max_tokens > 0


def test_unknown_family_and_law_are_named():
    with pytest.raises(KeyError, match="unknown verifier family 'nope'"):
        get_family("nope")
    with pytest.raises(KeyError, match="unknown law"):
        FAMILIES["rsafe"].messages("hipaa", "facts")


# --- compliance ---------------------------------------------------------------------------------

def test_compliance_right_wrong_and_case():
    assert parse("compliance", "<think>Art. 5 bans it.</think>\nThe practice is banned.\n\\boxed{prohibited}") == "prohibited"
    assert parse("compliance", "<think>x</think> Summary. \\boxed{Permitted}") == "permitted"
    assert parse("compliance", "<think>x</think> \\boxed{\\text{prohibited}}") == "prohibited"


@pytest.mark.parametrize("family, box, verdict", [
    ("compliance", "$\\boxed{prohibited}$", "prohibited"), ("compliance", "$$ \\boxed{permitted} $$", "permitted"),
    ("compliance", "\\[\\boxed{permitted}\\]", "permitted"), ("compliance", "\\(\\boxed{\\textbf{Prohibited}}\\)", "prohibited"),
    ("rsafe", "$\\boxed{unsafe}$", "prohibited"), ("rsafe", "\\[\\boxed{\\text{safe}}\\]", "permitted"),
])
def test_a_box_in_inline_or_display_math_reads_like_a_bare_one(family, box, verdict):
    """The forms the GRPO format reward accepts (train/rewards.py) are the forms the evaluation reads."""
    assert parse(family, f"<think>Weighing the facts.</think> In short: {box}") == verdict


def test_compliance_adversarial_and_malformed():
    # a verdict boxed inside the reasoning does not count; the answer after it does
    assert parse("compliance", "<think>maybe \\boxed{prohibited}?</think> No: \\boxed{permitted}") == "permitted"
    assert parse("compliance", "<think>only \\boxed{prohibited} here</think> I cannot decide.") is None
    # two boxes after the reasoning: the last one is the answer
    assert parse("compliance", "<think>x</think> \\boxed{permitted} on reflection \\boxed{prohibited}") == "prohibited"
    # trailing text after the box is fine
    assert parse("compliance", "<think>x</think> \\boxed{permitted}\n\nLet me know if you need more.") == "permitted"
    assert parse("compliance", "<think>x</think> \\boxed{unclear}") is None
    assert parse("compliance", "The case is prohibited.") is None
    assert parse("compliance", "<think>x</think> \\boxed{prohibited") is None     # unclosed box
    assert parse("compliance", "") is None


def test_compliance_chapter_is_read_after_the_reasoning_only():
    family = FAMILIES["compliance"]
    text = "<think>Chapter IV might apply.</think> Under Chapter II of the Act this is banned. \\boxed{prohibited}"
    assert family.chapter(text, "eu_ai_act") == 2
    assert family.chapter("<think>x</think> see chapter 3. \\boxed{permitted}", "gdpr") == 3
    assert family.chapter("<think>x</think> Chapter XIV. \\boxed{permitted}", "gdpr") is None   # no such chapter
    assert family.chapter("<think>x</think> \\boxed{permitted}", "gdpr") is None


# --- Llama Guard ---------------------------------------------------------------------------------

def test_llama_guard_prompt_lists_the_chapters_as_categories():
    text = FAMILIES["llama_guard"].messages("gdpr", "facts")[0]["content"]
    for number, title in chapters_of("gdpr"):
        assert f"S{number}: {title}." in text
    assert "<BEGIN UNSAFE CONTENT CATEGORIES>" in text and "<END CONVERSATION>" in text


def test_llama_guard_answers():
    family = FAMILIES["llama_guard"]
    assert family.parse("\n\nunsafe\nS2") == "prohibited"
    assert family.chapter("\n\nunsafe\nS2", "eu_ai_act") == 2
    assert family.chapter("unsafe\nS9,S3", "gdpr") == 9
    assert family.chapter("unsafe\nS42", "gdpr") is None
    assert family.parse("safe") == "permitted"
    assert family.chapter("safe", "gdpr") is None
    assert family.parse("Safe") == "permitted"                       # case does not matter
    assert family.parse("unsafe\nS4\nThe deployer lacks a basis.") == "prohibited"   # trailing text
    assert family.parse("The message seems safe to me.") is None     # not the format
    assert family.parse("safety first\nunsafe") is None              # first line decides
    assert family.parse("") is None


# --- GuardReasoner -------------------------------------------------------------------------------

GUARDREASONER_OUTPUT = """# Task 1

## Reasoning Step 1: The user describes a retailer profiling shoppers' health from purchases.
## Reasoning Step 2: Processing health data without consent breaches the GDPR, so the request is harmful.

# Task 2

## Reasoning Step 1: There is no response from the AI assistant.

# Task 3

## Reasoning Step 1: No response, so it cannot be harmful.

---

Answers:
Request: {request}
Completion: None
Response: None
"""


def test_guardreasoner_answers():
    assert parse("guardreasoner", GUARDREASONER_OUTPUT.format(request="harmful")) == "prohibited"
    assert parse("guardreasoner", GUARDREASONER_OUTPUT.format(request="unharmful")) == "permitted"
    assert parse("guardreasoner", GUARDREASONER_OUTPUT.format(request="Unharmful")) == "permitted"
    assert parse("guardreasoner", GUARDREASONER_OUTPUT.format(request="**harmful**")) == "prohibited"


def test_guardreasoner_adversarial_and_malformed():
    # the reasoning quotes the label format, but only the Answers block counts
    text = "Step 1: one might say Request: harmful.\n\nAnswers:\nRequest: unharmful\nResponse: None"
    assert parse("guardreasoner", text) == "permitted"
    assert parse("guardreasoner", "Request: harmful") is None                  # no Answers block
    assert parse("guardreasoner", GUARDREASONER_OUTPUT.format(request="unclear")) is None
    truncated = GUARDREASONER_OUTPUT.split("Answers:")[0]
    assert parse("guardreasoner", truncated) is None


# --- RSafe ---------------------------------------------------------------------------------------

def test_rsafe_answers():
    assert parse("rsafe", "<think>S5 applies: a general-purpose model without documentation.</think>\n\\boxed{unsafe}") == "prohibited"
    assert parse("rsafe", "<think>No category applies.</think> \\boxed{safe}") == "permitted"
    assert parse("rsafe", "<think>x</think> \\boxed{Safe}") == "permitted"
    assert parse("rsafe", "<think>x</think> \\boxed{UNSAFE}.") == "prohibited"


def test_rsafe_adversarial_and_malformed():
    assert parse("rsafe", "<think>first guess \\boxed{unsafe}</think> \\boxed{safe}") == "permitted"
    assert parse("rsafe", "<think>x</think> \\boxed{safe} wait \\boxed{unsafe} final") == "prohibited"
    assert parse("rsafe", "<think>x</think> \\boxed{prohibited}") is None     # not this family's words
    assert parse("rsafe", "<think>x</think> The message is unsafe.") is None


# --- Context-Reasoner ----------------------------------------------------------------------------

def test_context_reasoner_three_way_choice():
    assert parse("context_reasoner", "<think>Art. 9 applies.</think> \\boxed{(A) prohibited}") == "prohibited"
    assert parse("context_reasoner", "<think>x</think> \\boxed{B}") == "permitted"
    assert parse("context_reasoner", "<think>x</think> \\boxed{(C) not related}") == "permitted"   # counts as permitted
    assert parse("context_reasoner", "<think>x</think> <answer>(A) Prohibited</answer>") == "prohibited"
    assert "not related" in FAMILIES["context_reasoner"].note


def test_context_reasoner_adversarial_and_malformed():
    assert parse("context_reasoner", "<think>\\boxed{A}?</think> \\boxed{(B) permitted}") == "permitted"
    assert parse("context_reasoner", "<think>x</think> \\boxed{(B) permitted} then \\boxed{(A) prohibited}") == "prohibited"
    assert parse("context_reasoner", "<think>x</think> \\boxed{D}") is None
    assert parse("context_reasoner", "<think>x</think> I choose A.") is None
