"""Pair quality: an offline check that a preference pair says what its edge says.

A DPO pair (and a KTO undesirable example, paired with the winner's answer to the same
scenario) claims that the answer written under the wiser value is the better one. Two things
can make the claim empty or false, and such pairs are dropped (``Dropped``, counted in the
manifest and the dataset card):

- **identical**: the two answers are the same text once case, accents, punctuation and
  spacing are set aside (``inference.scenarios.normalise``); there is nothing to prefer.
- **inverted** / **indistinct**: the judge below finds that the chosen answer attends *less*
  to the wiser value than the rejected one does (inverted), or no more (indistinct).

The judge is offline and lexical. A value's *distinctive terms* are the content words of its
policies (lower case, no stop words, a light suffix strip, at least 3 letters) that the other
value's policies lack. An answer's *attention* is the share of the wiser value's distinctive
terms it uses minus the share of the less wise value's it uses; the pair's *margin* is the
chosen answer's attention minus the rejected one's. A pair is kept when the margin is above
``MIN_MARGIN`` (0: any lean towards the wiser value), inverted when it is below minus that,
and indistinct otherwise (including when neither answer uses any distinctive term).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from inference.scenarios import normalise
from inference.targets import ValueCard

MIN_MARGIN = 0.0
KEPT = "kept"
IDENTICAL = "identical"
INVERTED = "inverted"
INDISTINCT = "indistinct"
REASONS = (IDENTICAL, INVERTED, INDISTINCT)

# Function words, and the words every policy uses ("choices", "moments"…), carry no value.
_STOP_TEXT = """
a about above after again against all also am an and any are as at be because been before
being below between both but by can could did do does doing down during each few for from
further had has have having he her here hers herself him himself his how i if in into is it
its itself just may me might more most my myself no nor not now of off on once one ones only
or other our ours ourselves out over own same she should so some someone something such than
that the their theirs them themselves then there these they thing things this those through
to too under until up very was way ways we were what when where which while who whom why will
with would you your yours yourself yourselves choice choices moment moments opportunity
opportunities sense
"""
_STOP_WORDS = frozenset(_STOP_TEXT.split())
_SUFFIXES = ("ings", "ing", "edly", "ed", "ies", "es", "s", "ly")


def terms(text: str) -> frozenset[str]:
    """The content words of a text, lightly stemmed."""
    found = set()
    for word in normalise(text).split():
        if len(word) < 3 or word in _STOP_WORDS or not word.isalpha():
            continue
        for suffix in _SUFFIXES:
            if word.endswith(suffix) and len(word) - len(suffix) >= 4:
                word = word[: -len(suffix)]
                break
        found.add(word)
    return frozenset(found)


def _policy_terms(value: ValueCard) -> frozenset[str]:
    return terms("\n".join(value.policies))


@dataclass(frozen=True, slots=True)
class Verdict:
    verdict: str  # KEPT or one of REASONS
    margin: float
    chosen_attention: float
    rejected_attention: float

    @property
    def is_kept(self) -> bool:
        return self.verdict == KEPT

    def as_json(self) -> dict[str, Any]:
        return {
            "verdict": self.verdict,
            "margin": round(self.margin, 4),
            "chosen_attention": round(self.chosen_attention, 4),
            "rejected_attention": round(self.rejected_attention, 4),
        }


def attention(answer: str, wiser: frozenset[str], less_wise: frozenset[str]) -> float:
    used = terms(answer)

    def share(distinctive: frozenset[str]) -> float:
        return len(used & distinctive) / len(distinctive) if distinctive else 0.0

    return share(wiser) - share(less_wise)


def judge_pair(chosen: str, rejected: str, wiser: ValueCard, less_wise: ValueCard) -> Verdict:
    """Whether ``chosen`` attends more to ``wiser``'s policies than ``rejected`` does."""
    wiser_terms, less_terms = _policy_terms(wiser), _policy_terms(less_wise)
    only_wiser, only_less = wiser_terms - less_terms, less_terms - wiser_terms
    chosen_attention = attention(chosen, only_wiser, only_less)
    rejected_attention = attention(rejected, only_wiser, only_less)
    margin = chosen_attention - rejected_attention
    if normalise(chosen) == normalise(rejected):
        verdict = IDENTICAL
    elif margin > MIN_MARGIN:
        verdict = KEPT
    elif margin < -MIN_MARGIN:
        verdict = INVERTED
    else:
        verdict = INDISTINCT
    return Verdict(verdict, margin, chosen_attention, rejected_attention)
