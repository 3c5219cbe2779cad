"""Which of a snapshot's contexts an agent's text is about (pure: no Django).

First an exact match: the same text once case, surrounding spaces and punctuation and runs of
white space are ignored ("when in distress." is "When in distress"). Otherwise a fuzzy score
in [0, 1] for every context, and the best ones at or above `MIN_SCORE`:

    score = 0.75 * coverage + 0.25 * cosine

- coverage: the share of the context's content words (stop words such as "when", "in" left
  out, light suffix stripping) that the agent's text contains. Contexts are short ("When in
  distress") and an agent's text is usually longer ("the user is distressed about a
  diagnosis"), so the measure asks how much of the context the text covers, not the reverse.
  Two words count as the same when their stems are equal, or share a prefix of at least five
  letters covering three quarters of the shorter one ("religious" ~ "religion").
- cosine: the similarity of the two texts' offline hashed embeddings
  (`inference.backends.hash_embed`, the one canonicalisation uses without a model), which
  rewards the same phrasing and breaks ties between contexts with the same coverage.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

from inference.backends import hash_embed

MIN_SCORE = 0.3
COVERAGE_WEIGHT = 0.75
COSINE_WEIGHT = 0.25
_PREFIX_MIN = 5
_PREFIX_SHARE = 0.75
_WORD = re.compile(r"[^\W_]+(?:'[^\W_]+)?")
_STOPWORD_TEXT = """
    a about after all also am an and any are as at be been being but by can could did do does
    during each for from had has have he her hers him his how i if in into is it its just me
    more most my no not of on or other our own over she should so some such than that the their
    them then there these they this those to too under up us very was we were what when where
    whether which while who whom why will with would you your
"""
_STOPWORDS = frozenset(_STOPWORD_TEXT.split())
_SUFFIXES = ("ingly", "ings", "ing", "edly", "ies", "ied", "ed", "es", "s")


def normalise(text: str) -> str:
    """The key of an exact match: case-folded, white space collapsed, outer punctuation off."""
    return " ".join(text.casefold().split()).strip(" .,;:!?\"'“”‘’")


def _stem(word: str) -> str:
    for suffix in _SUFFIXES:
        if word.endswith(suffix) and len(word) - len(suffix) >= 3:
            return word[: -len(suffix)]
    return word


def content_stems(text: str) -> frozenset[str]:
    return frozenset(
        _stem(word) for word in _WORD.findall(text.casefold()) if word not in _STOPWORDS
    )


def _same_word(a: str, b: str) -> bool:
    if a == b:
        return True
    shorter = min(len(a), len(b))
    prefix = 0
    for x, y in zip(a, b, strict=False):
        if x != y:
            break
        prefix += 1
    return prefix >= _PREFIX_MIN and prefix >= _PREFIX_SHARE * shorter


def found_stems(candidates: frozenset[str], text_stems: frozenset[str]) -> frozenset[str]:
    """The candidate stems the text contains (the same stem, or the same word by prefix)."""
    return frozenset(
        stem
        for stem in candidates
        if stem in text_stems or any(_same_word(stem, other) for other in text_stems)
    )


def coverage(context_stems: frozenset[str], found: frozenset[str]) -> float:
    if not context_stems:
        return 0.0
    return len(context_stems & found) / len(context_stems)


@dataclass(frozen=True)
class Match:
    index: int  # into the texts the matcher was built from
    score: float
    is_exact: bool


class ContextMatcher:
    """Built once per snapshot (its contexts never change), then asked per request."""

    def __init__(self, texts: Sequence[str]) -> None:
        self.keys: dict[str, int] = {}
        for i, text in enumerate(texts):
            self.keys.setdefault(normalise(text), i)
        self.stems = [content_stems(text) for text in texts]
        self.all_stems = frozenset().union(*self.stems)
        self.vectors: NDArray[np.float64] = np.asarray(
            [hash_embed.embed_text(text) for text in texts], dtype=np.float64
        ).reshape(len(texts), hash_embed.DIMENSIONS)

    def match(self, text: str, *, limit: int) -> list[Match]:
        """The exact match alone, else up to `limit` fuzzy matches, best first (ties by the
        order of the texts); empty when none reaches `MIN_SCORE`."""
        exact = self.keys.get(normalise(text))
        if exact is not None:
            return [Match(index=exact, score=1.0, is_exact=True)]
        if not self.stems:
            return []
        query = np.asarray(hash_embed.embed_text(text), dtype=np.float64)
        cosines = np.clip(self.vectors @ query, 0.0, 1.0)
        found = found_stems(self.all_stems, content_stems(text))
        scores = [
            COVERAGE_WEIGHT * coverage(context, found) + COSINE_WEIGHT * float(cosines[i])
            for i, context in enumerate(self.stems)
        ]
        ranked = sorted(range(len(scores)), key=lambda i: (-scores[i], i))
        return [
            Match(index=i, score=round(scores[i], 4), is_exact=False)
            for i in ranked[:limit]
            if scores[i] >= MIN_SCORE
        ]
