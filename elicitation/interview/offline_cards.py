"""Values cards from a participant's own words, for the offline interviewer: the card it
proposes (lines cut from what they said, a title from the words they use most) and the
revisions it makes when they ask for changes. Pure: text in, card out."""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Sequence
from typing import Any

from inference.schemas import CardShapeError, validate_card

MAX_POLICIES_FIRST = 5
MAX_POLICIES = 7
MIN_POLICIES = 3
MAX_CLAUSE_WORDS = 16
MAX_QUOTE_WORDS = 18
# A title is made of at most six words of this length: well inside the title column.
MAX_TITLE_WORD_CHARS = 24

# Words that say little about what someone values (kept as text: easier to read and extend).
_STOPWORDS_TEXT = """
a about above after again against all also always am an and any are aren't as at be
because been before being below between both but by can can't could couldn't did didn't
do does doesn't doing don't down during each even ever every few for from further get
gets getting got had hadn't has hasn't have haven't having he he'd he'll he's her here
here's hers herself him himself his how how's i i'd i'll i'm i've if in into is isn't it
it's its itself just let's like made make makes many may me might more most much must
mustn't my myself never no nor not now of off on once one only or other ought our ours
ourselves out over own really same shan't she she'd she'll she's should shouldn't so
some something such than that that's the their theirs them themselves then there there's
these they they'd they'll they're they've thing things think thought this those through
to too under until up upon us very want wanted was wasn't way we we'd we'll we're we've
well were weren't what what's when when's where where's whether which while who who's
whom why why's will with won't would wouldn't yes yet you you'd you'll you're you've
your yours yourself yourselves person people someone somebody anyone everyone time times
lot lots bit kind sort maybe perhaps actually probably definitely said says say tell
told felt feel feels feeling know knew known see saw seen look looked looking went go
going come came take took give gave need needed try tried still back first last good bad
right wrong sure okay yeah able around else often please add change remove missing part
card title line wise wiser situation matters matter important mean means attention paid
notice noticed thing whole without within takes take taking gives keeps puts lets gets
goes makes seems seem
"""
_STOPWORDS = frozenset(_STOPWORDS_TEXT.split())
_NOUN_ENDINGS = ("ness", "ity", "ship", "ence", "ance", "ment", "tion", "sion", "dom", "age", "ty")
_WORD = re.compile(r"[A-Za-z][A-Za-z'’-]*[A-Za-z]|[A-Za-z]")
_SENTENCE_MARK = re.compile(r"[.!?…]+")
_CLAUSE_SPLIT = re.compile(r"[.!?…;:\n]+|,\s*(?:and|but|so)\s+|\s+(?:and then|but|because)\s+")
_LEADING_FILLER = re.compile(
    r"^(?:and|but|so|then|also|well|ok|okay|i think|i guess|i suppose|i mean|honestly|"
    r"basically|mostly|mainly|probably|maybe|like)\b[\s,]*",
    re.IGNORECASE,
)
_ATTENTION_PREFIX = re.compile(
    r"^(?:i|we|she|he|they|you|a wise person|someone wise|a good friend|someone|people)\s+"
    r"(?:would\s+|should\s+|might\s+|will\s+|can\s+|could\s+)?"
    r"(?:really\s+|mostly\s+|mainly\s+|always\s+|also\s+|first\s+)?"
    r"(?:noticed|notice|saw|see|looked at|look at|looked for|look for|paid attention to|"
    r"pay attention to|attended to|thought about|think about|cared about|care about|"
    r"focused on|focus on|watched|watch|worried about|worry about|considered|consider|"
    r"realised|realized|wanted to know|want to know|asked myself|ask myself|"
    r"kept an eye on|keep an eye on|would look at|would notice|would ask)\b\s*(?:that\s+)?",
    re.IGNORECASE,
)
_DETERMINERS_TEXT = "the her his their my our your a an any some other each every its this that these those whatever whoever"
_DETERMINERS = frozenset(_DETERMINERS_TEXT.split())
_QUESTION_WORDS = frozenset(["whether", "what", "who", "why", "which"])
_TITLE_REQUEST = re.compile(
    r"(?:call it|title (?:should be|to|as)|rename it(?: to)?|name it|change the title to)\s*[:\-]?\s*"
    r"[\"“'‘]?(?P<title>[^\"”'’]+)",
    re.IGNORECASE,
)
_REMOVE_REQUEST = re.compile(
    r"\b(?:remove|drop|delete|take out|cut|leave out|get rid of)\s+(?P<what>.+)$",
    re.IGNORECASE,
)
_ORDINALS = {
    "first": 0,
    "1st": 0,
    "second": 1,
    "2nd": 1,
    "third": 2,
    "3rd": 2,
    "fourth": 3,
    "4th": 3,
    "fifth": 4,
    "5th": 4,
    "sixth": 5,
    "seventh": 6,
    "last": -1,
}
_REQUEST_FILLER = re.compile(
    r"^(?:please\s+|could you\s+|can you\s+|would you\s+|i'd like (?:you )?to\s+|"
    r"i would like (?:you )?to\s+|maybe\s+|also\s+|and\s+|but\s+)*"
    r"(?:add(?: a line| a point| something)?(?: about| that| on)?\s+|"
    r"(?:it's|it is) (?:also |more |really )?(?:about|missing)\s+|"
    r"you (?:forgot|missed|left out)\s+|(?:it's |it is )?missing\s+|"
    r"(?:include|mention)\s+|change (?:it|the card|this)(?: so that| to say| to)?\s+|"
    r"make it (?:more )?about\s+|more about\s+|"
    r"(?:i )?(?:also )?(?:care|cared) about\s+)?",
    re.IGNORECASE,
)
_TOPIC_FILLER = re.compile(
    r"^(?:that\s+)?(?:the\s+)?(?:part|bit|point|line|idea|thing)s?\s+(?:about|of|that|on)\s+",
    re.IGNORECASE,
)


def _typed(text: str) -> str:
    """The text without control characters (other than white space), which no card keeps."""
    return "".join(ch for ch in text if ch.isprintable() or ch.isspace())


def _words(text: str) -> list[str]:
    return [w.replace("’", "'") for w in _WORD.findall(text)]


def keywords(texts: Sequence[str], *, limit: int = 2) -> list[str]:
    """The participant's most used content words, most frequent first (ties: first used)."""
    counts: Counter[str] = Counter()
    first_seen: dict[str, int] = {}
    for text in texts:
        for word in _words(text):
            key = word.lower().strip("'-")
            # Content words, nouns by preference: past tenses and adverbs make poor titles.
            too_short_or_long = not 4 <= len(key) <= MAX_TITLE_WORD_CHARS
            if too_short_or_long or key in _STOPWORDS or key.endswith(("ed", "ly")):
                continue
            counts[key] += 1
            first_seen.setdefault(key, len(first_seen))

    def score(word: str) -> float:
        # Nouns make the best titles: noun endings count for a little more, -ing for less.
        return counts[word] + 0.5 * word.endswith(_NOUN_ENDINGS) - 0.5 * word.endswith("ing")

    ranked = sorted(counts, key=lambda w: (-score(w), first_seen[w]))
    return ranked[:limit]


def _clean_clause(raw: str) -> str:
    clause = " ".join(raw.replace("’", "'").split()).strip(" ,-–—\"“”'")
    previous = None
    while clause and clause != previous:
        previous = clause
        clause = _LEADING_FILLER.sub("", clause).strip(" ,")
        clause = _ATTENTION_PREFIX.sub("", clause).strip(" ,")
    clause = _SENTENCE_MARK.sub(",", clause).strip(" ,")
    words = clause.split()
    if len(words) > MAX_CLAUSE_WORDS:
        words = words[:MAX_CLAUSE_WORDS]
    # Our own heads are the only capitals at the start: a shouted first word is lowered.
    if words and words[0] != "I":
        words[0] = words[0].lower()
    return " ".join(words).rstrip(" ,")


def clauses(text: str) -> list[str]:
    """The participant's text cut into short clauses worth a line on a card."""
    found = []
    for raw in _CLAUSE_SPLIT.split(text):
        clause = _clean_clause(raw)
        content = [w for w in _words(clause) if w.lower() not in _STOPWORDS]
        if len(clause.split()) >= 3 and content:
            found.append(clause)
    return found


def policy_for(clause: str) -> str:
    """A card line for a clause, starting with a capitalised plural noun phrase."""
    first, _, rest = clause.partition(" ")
    lowered = first.lower()
    if lowered in ("when", "whenever", "where"):
        return f"MOMENTS {clause}"
    if lowered == "if":
        return f"MOMENTS when {rest}"
    if lowered == "how":
        return f"SIGNS of {clause}"
    if lowered in _QUESTION_WORDS:
        return f"QUESTIONS of {clause}"
    if lowered.endswith("ing") and len(lowered) > 4:
        return f"CHANCES for {clause}"
    if lowered in _DETERMINERS:
        return f"DETAILS like {clause}"
    if lowered in ("feelings", "fears", "needs", "signs", "ways", "moments", "chances"):
        return f"{lowered.upper()} {rest}" if rest else f"SIGNS of {clause}"
    return f"SIGNS that {clause}"


def _fallback_policies(words: Sequence[str]) -> list[str]:
    lines = []
    for word in words:
        lines += [f"MOMENTS when {word} is at stake", f"WAYS of keeping {word} in view"]
    lines.append("FEELINGS of everyone the answer would affect")
    lines.append("CHOICES that the person asking can still make for themselves")
    lines.append("DETAILS of the situation that the person asking has shared")
    return lines


def _quote(text: str) -> str:
    words = _SENTENCE_MARK.sub(",", " ".join(text.replace("”", "").replace("“", "").split()))
    cut = words.split()[:MAX_QUOTE_WORDS]
    return " ".join(cut).strip(" ,")


def _title(words: Sequence[str]) -> str:
    if len(words) >= 2:
        return f"Paying attention to {words[0]} and {words[1]}"
    if words:
        return f"Paying attention to {words[0]}"
    return "Paying attention to what matters"


def _unique(lines: Sequence[str]) -> list[str]:
    seen: set[str] = set()
    kept = []
    for line in lines:
        key = " ".join(line.lower().split())
        if key not in seen:
            seen.add(key)
            kept.append(line)
    return kept


def card_from_answers(user_texts: Sequence[str]) -> dict[str, Any]:
    """A card from the participant's answers: the later answers (what they attend to) give
    the lines, the story fills in when those are short."""
    user_texts = [_typed(text) for text in user_texts]
    story, attention = user_texts[0], list(user_texts[1:])
    lines = [policy_for(c) for text in attention for c in clauses(text)]
    lines += [policy_for(c) for c in clauses(story)]
    words = keywords(attention) or keywords(user_texts)
    lines = _unique(lines + _fallback_policies(words))[: max(MIN_POLICIES, MAX_POLICIES_FIRST)]
    quote_source = next((t for t in attention if _quote(t)), story)
    description = "Choosing well here means paying attention to " + (
        f"{words[0]} and {words[1]}." if len(words) >= 2 else f"{(words or ['the details'])[0]}."
    )
    quote = _quote(quote_source)
    if quote:
        description += f" In your words: “{quote}”."
    return _validated({"title": _title(words), "description": description, "policies": lines})


def _validated(card: dict[str, Any]) -> dict[str, Any]:
    proposed = validate_card(card)  # a bug here is ours: let it surface in tests
    return {
        "title": proposed.title,
        "description": proposed.description,
        "policies": list(proposed.policies),
    }


# What a revision gives: the changed card (``None`` when the change would leave fewer than
# three lines) and a few words on what changed.
Revision = tuple[dict[str, Any] | None, str]


def card_revise(card: dict[str, Any], request: str) -> Revision:
    """The card changed as the participant asked: a new title, a line taken out, a shorter
    card, or else the lines their request adds."""
    text = " ".join(_typed(request).split())
    for revise in (_revise_title, _revise_removal, _revise_shorter):
        revision = revise(card, text)
        if revision is not None:
            return revision
    return _revise_addition(card, text)


def _policies(card: dict[str, Any]) -> list[str]:
    return [str(p) for p in card["policies"]]


def _revise_title(card: dict[str, Any], text: str) -> Revision | None:
    named = _TITLE_REQUEST.search(text)
    if not named:
        return None
    title = str(card["title"])
    wanted = [w for w in _words(named.group("title")) if len(w) <= MAX_TITLE_WORD_CHARS][:6]
    if len(wanted) >= 3:
        new_title = " ".join(wanted)
    elif wanted:
        new_title = "Caring about " + " ".join(wanted)
    else:
        new_title = title
    if new_title == title:
        return None
    new_title = new_title[0].upper() + new_title[1:]
    return _validated({**card, "title": new_title}), f"the title is now “{new_title}”"


def _revise_removal(card: dict[str, Any], text: str) -> Revision | None:
    removal = _REMOVE_REQUEST.search(text)
    if not removal:
        return None
    policies = _policies(card)
    target = _removal_index(policies, removal.group("what"))
    if target is None:
        return None
    if len(policies) <= MIN_POLICIES:
        return None, ""
    removed = policies.pop(target)
    revised = {"title": str(card["title"]), "description": str(card["description"])}
    return _validated({**revised, "policies": policies}), f"I took out “{removed}”"


def _revise_shorter(card: dict[str, Any], text: str) -> Revision | None:
    lowered = text.lower()
    if not ("shorter" in lowered or "simpler" in lowered or "too long" in lowered):
        return None
    policies = _policies(card)
    if len(policies) > MIN_POLICIES:
        longest = max(range(len(policies)), key=lambda i: len(policies[i]))
        policies.pop(longest)
    first_sentence = str(card["description"]).split(". ")[0].rstrip(".") + "."
    shorter = {"title": str(card["title"]), "description": first_sentence, "policies": policies}
    if shorter == card:
        return None
    return _validated(shorter), "it is shorter now"


def _revise_addition(card: dict[str, Any], text: str) -> Revision:
    policies = _policies(card)
    new_lines = _lines_to_add(text, policies)
    if len(policies) + len(new_lines) > MAX_POLICIES:
        policies = policies[: MAX_POLICIES - len(new_lines)]
    revised = {
        "title": _title_with(str(card["title"]), text),
        "description": str(card["description"]),
        "policies": _unique([*new_lines, *policies]),
    }
    try:
        return _validated(revised), f"I added “{new_lines[0]}”"
    except CardShapeError:
        fallback = {**card, "policies": [*card["policies"][: MAX_POLICIES - 1], new_lines[-1]]}
        return _validated(fallback), "I added a line"


def _lines_to_add(text: str, policies: Sequence[str]) -> list[str]:
    """One or two new lines from what the participant asked to add (never empty)."""
    addition = _REQUEST_FILLER.sub("", text).strip()
    addition = _TOPIC_FILLER.sub("", addition).strip()
    new_lines = [policy_for(c) for c in clauses(addition)]
    topic = _clean_clause(addition)
    if not new_lines and topic and keywords([topic], limit=1):
        new_lines = [f"MOMENTS that call for {topic}"]
    new_lines = [line for line in _unique(new_lines) if line not in policies][:2]
    if not new_lines:
        new_lines = [f"MOMENTS when {w} is at stake" for w in keywords([text], limit=1)]
    return new_lines or ["CONCERNS the person has raised in their own words"]


def _title_with(title: str, text: str) -> str:
    """The title, retold around the request's main word when the title lacks it."""
    new_words = keywords([text], limit=1)
    if not new_words or new_words[0] in title.lower():
        return title
    current = [w for w in title.split()[3:] if w.lower() not in _STOPWORDS][:1]
    return _title([new_words[0], *current])


def _removal_index(policies: Sequence[str], what: str) -> int | None:
    words = what.lower().split()
    for word in words:
        index = _ORDINALS.get(word.strip(".,!"))
        if index is not None and policies:
            return index % len(policies)
    wanted = {w.lower() for w in _words(what) if w.lower() not in _STOPWORDS and len(w) > 2}
    best, best_overlap = None, 0
    for i, policy in enumerate(policies):
        overlap = len(wanted & {w.lower() for w in _words(policy)})
        if overlap > best_overlap:
            best, best_overlap = i, overlap
    return best
