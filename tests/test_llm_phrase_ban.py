"""The tokens PhraseBan forbids, on the embedded model's real tokenizer, and the cache key of `avoid`."""

from __future__ import annotations

import json

import pytest

from llm_helpers import ask
from safety_compliance.llm.phrase_ban import PhraseBan


@pytest.fixture(scope="module")
def tokenizer(smollm2):
    from transformers import AutoTokenizer

    return AutoTokenizer.from_pretrained(smollm2)


@pytest.fixture(scope="module")
def ban(tokenizer):
    return PhraseBan(tokenizer)


def one_token(tokenizer, text: str) -> int:
    ids = tokenizer.encode(text, add_special_tokens=False)
    assert len(ids) == 1, (text, ids)
    return ids[0]


def banned_after(ban, tokenizer, text: str, phrases) -> set[int]:
    return set(ban.banned(tokenizer.encode(text, add_special_tokens=False), tokenizer, phrases))


def test_the_token_that_finishes_a_phrase_is_banned_and_longer_words_are_not(ban, tokenizer):
    act, activities = one_token(tokenizer, " Act"), one_token(tokenizer, " activities")
    after = banned_after(ban, tokenizer, "The shop uses the EU AI", ["EU AI Act"])
    assert act in after and activities not in after
    # In any case and with any whitespace between the words, as the leak check reads the facts.
    assert act in banned_after(ban, tokenizer, "the eu\n ai", ["EU AI Act"])
    # Nothing of the phrase begun: " Act" is an ordinary word.
    assert act not in banned_after(ban, tokenizer, "The shop sells AI tools under the", ["EU AI Act"])


def test_a_token_that_holds_the_whole_phrase_is_banned_from_the_start(ban, tokenizer):
    gdpr = one_token(tokenizer, " GDPR")
    assert gdpr in set(ban.banned([], tokenizer, ["GDPR"]))
    assert gdpr not in set(ban.banned([], tokenizer, ["EU AI Act"]))


def test_avoid_enters_the_cache_key_only_when_set():
    plain = json.loads(ask("x").canonical())
    assert "avoid" not in plain                       # keys made before the field existed still hit
    assert ask("x", avoid=("GDPR",)).digest() != ask("x").digest()
    assert json.loads(ask("x", avoid=("GDPR",)).canonical())["avoid"] == ["GDPR"]
