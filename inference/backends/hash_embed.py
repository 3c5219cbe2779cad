"""A deterministic local text embedding: hashed word and character n-gram features.

No model, no network, the same vector on every machine and Python version (blake2b, not
``hash()``). Texts that share words and word pieces land close in cosine; that is what finding
duplicate values cards needs when no embedding model is configured.
"""

from __future__ import annotations

import hashlib
import math
import re

MODEL_NAME = "offline-hash-v1"
DIMENSIONS = 384

_WORD = re.compile(r"[a-z0-9]+(?:'[a-z]+)?")
_STOPWORD_TEXT = """
    a about all also an and any are as at be been but by can could do does each for from has
    have he her hers him his how i if in into is it its just me more most my no not of on or
    other our own really she should so some than that the their them then there they this to
    too up us very was we were what when where which who will with would you your
"""
_STOPWORDS = frozenset(_STOPWORD_TEXT.split())
# Feature families and their weights: whole words carry most of the meaning; bigrams reward
# the same phrasing; character trigrams catch inflections ("listening" ~ "listen").
_WORD_WEIGHT = 1.0
_BIGRAM_WEIGHT = 0.5
_TRIGRAM_WEIGHT = 0.25
_FAMILY_WEIGHT = {"w": _WORD_WEIGHT, "b": _BIGRAM_WEIGHT, "c": _TRIGRAM_WEIGHT}


def _stem(word: str) -> str:
    """A tiny suffix stripper, enough to make "feelings" and "feeling" one feature."""
    for suffix in ("ingly", "ings", "ing", "edly", "ies", "ed", "es", "s"):
        if word.endswith(suffix) and len(word) - len(suffix) >= 3:
            return word[: -len(suffix)]
    return word


def _feature_counts(text: str) -> dict[str, int]:
    words = [_stem(w) for w in _WORD.findall(text.lower()) if w not in _STOPWORDS]
    counts: dict[str, int] = {}

    def add(key: str) -> None:
        counts[key] = counts.get(key, 0) + 1

    for word in words:
        add("w:" + word)
        padded = f"<{word}>"
        for i in range(len(padded) - 2):
            add("c:" + padded[i : i + 3])
    for left, right in zip(words, words[1:], strict=False):
        add(f"b:{left} {right}")
    return counts


def _bucket(feature: str, dimensions: int) -> tuple[int, float]:
    digest = hashlib.blake2b(feature.encode("utf-8"), digest_size=8).digest()
    number = int.from_bytes(digest, "little")
    sign = 1.0 if number & 1 else -1.0
    return (number >> 1) % dimensions, sign


def embed_text(text: str, dimensions: int = DIMENSIONS) -> list[float]:
    """An L2-normalised vector; all zeros for a text without words."""
    vector = [0.0] * dimensions
    for feature, count in _feature_counts(text).items():
        index, sign = _bucket(feature, dimensions)
        # Sub-linear term frequency, so a repeated word does not dominate.
        vector[index] += sign * _FAMILY_WEIGHT[feature[0]] * (1.0 + math.log(count))
    norm = math.sqrt(sum(v * v for v in vector))
    if norm == 0.0:
        return vector
    return [v / norm for v in vector]


def cosine(a: list[float], b: list[float]) -> float:
    dot = sum(x * y for x, y in zip(a, b, strict=True))
    norm = math.sqrt(sum(x * x for x in a)) * math.sqrt(sum(y * y for y in b))
    return dot / norm if norm else 0.0
