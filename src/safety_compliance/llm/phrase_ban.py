"""Keeping phrases out of a local model's answer while it is decoded (a request's `avoid`).

A teacher that names the law in a case's facts hands the verifier its answer; the leak check rejects
such a case and it is asked for again, a whole round of generation for a name. At each step this bans
every token that would complete an avoided phrase, so the name is never written and the round is not
spent. Phrases are matched as the leak check reads them: in any case and with whitespace ignored
(tokenizers differ in where they keep a word's space). A token is banned when it contains a phrase,
or finishes one begun in the text before it and then ends or goes on with a non-word character: after
"AI", " Act" is banned and " activities" is not.
"""

from __future__ import annotations

from collections.abc import Sequence
from functools import lru_cache

TAIL_TOKENS = 16   # tokens decoded to see how a phrase may have begun: more characters than any name


def squeeze(text: str) -> str:
    return "".join(text.lower().split())


@lru_cache(maxsize=None)
def _squeezed(phrases: tuple[str, ...]) -> tuple[str, ...]:
    return tuple(squeeze(p) for p in phrases)


class PhraseBan:
    """The tokens of one tokenizer's vocabulary that would complete an avoided phrase."""

    def __init__(self, tokenizer):
        self._texts = [squeeze(t) for t in tokenizer.batch_decode([[i] for i in range(len(tokenizer))])]
        self._finishing: dict[str, list[int]] = {}
        self._containing: dict[str, list[int]] = {}

    def banned(self, generated: Sequence[int], tokenizer, phrases: Sequence[str]) -> list[int]:
        """Token ids that must not follow the `generated` ones."""
        tail = squeeze(tokenizer.decode(list(generated[-TAIL_TOKENS:]), skip_special_tokens=True))
        ids: set[int] = set()
        # Called at every decoding step of every row: the phrases are squeezed once, not each time.
        for whole in _squeezed(tuple(phrases)):
            ids.update(self._tokens_containing(whole))
            for begun in range(1, len(whole)):
                if tail.endswith(whole[:begun]):
                    ids.update(self._tokens_finishing(whole[begun:]))
        return sorted(ids)

    def _tokens_containing(self, phrase: str) -> list[int]:
        if phrase not in self._containing:
            self._containing[phrase] = [i for i, t in enumerate(self._texts) if phrase in t]
        return self._containing[phrase]

    def _tokens_finishing(self, rest: str) -> list[int]:
        if rest not in self._finishing:
            n = len(rest)
            self._finishing[rest] = [i for i, t in enumerate(self._texts)
                                     if t.startswith(rest) and (len(t) == n or not t[n].isalnum())]
        return self._finishing[rest]
