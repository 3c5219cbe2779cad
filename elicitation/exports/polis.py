"""A study's wise-value picks laid out as Polis's own data export, so tools of the Polis
ecosystem (red-dwarf, the openData notebooks, anything that reads a Polis export) can read an
MGE study. Pure: plain rows in, three tables out.

The layout follows Polis's export documentation (https://compdemocracy.org/export) and the
real exports in shared/realdata/polis-*/ (compdemocracy/openData, the UI export, without the
optional `xid` column that only the command-line export's -X flag adds):

- comments.csv: `timestamp,datetime,comment-id,author-id,agrees,disagrees,moderated,comment-body`
- votes.csv: `timestamp,datetime,comment-id,voter-id,vote`, one row per vote event
- participants-votes.csv: `participant,group-id,n-comments,n-votes,n-agree,n-disagree`, then
  one column per comment id (ascending) holding the participant's latest vote or nothing.

`timestamp` is Unix time in milliseconds; `datetime` is the same moment written as Java's
Date.toString does (`Thu Dec 27 00:06:02 UTC 2018`), here always in UTC. Votes are 1 (agree),
-1 (disagree), 0 (pass); `moderated` is 1 (accepted), 0 (unmoderated), -1 (moderated out).

The mapping from MGE: each canonical value shown on the "which of these are wise?" page is a
comment, its id the value's id, its body the value's title and then its policies, one per line;
its author the participant of the earliest visible card merged into it (blank for a value no
participant's card became: seeded or imported). A value the participant picked is an agree
(1); one shown and not picked is a pass (0). MGE asks only "which of these are wise?", never
"is this unwise?", so there is no disagree: -1 never appears and `disagrees`/`n-disagree` are 0.
Only values still active are exported, all moderated 1 (a hidden value is left out with its
votes). `group-id` is blank: MGE does not cluster participants. Participant ids are dense
integers (0, 1, …) made for this export, the same in the three files; never public ids."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from elicitation.exports import Table

COMMENTS_HEADER = (
    "timestamp",
    "datetime",
    "comment-id",
    "author-id",
    "agrees",
    "disagrees",
    "moderated",
    "comment-body",
)
VOTES_HEADER = ("timestamp", "datetime", "comment-id", "voter-id", "vote")
PARTICIPANTS_VOTES_HEADER = (
    "participant",
    "group-id",
    "n-comments",
    "n-votes",
    "n-agree",
    "n-disagree",
)
AGREE, PASS, DISAGREE = 1, 0, -1
ACCEPTED = 1
POLIS_FILES = ("comments", "votes", "participants-votes")
# Polis files end their lines with a bare newline.
POLIS_LINE_END = "\n"

_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_DAYS = ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")
_MONTHS = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")


@dataclass(frozen=True)
class PolisComment:
    """A canonical value shown on the wise-values page; `author_id` is the participant's
    database id (None: no participant's card became it)."""

    value_id: int
    created_at: datetime
    author_id: int | None
    title: str
    policies: tuple[str, ...]


@dataclass(frozen=True)
class PolisPick:
    """One value shown to one participant, and whether they picked it as wise."""

    value_id: int
    participant_id: int
    created_at: datetime
    is_picked: bool


def polis_timestamp(moment: datetime) -> int:
    """Unix time in milliseconds, exactly (no float rounding)."""
    return (moment - _EPOCH) // timedelta(milliseconds=1)


def polis_datetime(moment: datetime) -> str:
    """The moment as Java's Date.toString writes it (Polis's `datetime`), in UTC."""
    utc = moment.astimezone(UTC)
    day, month = _DAYS[utc.weekday()], _MONTHS[utc.month - 1]
    return f"{day} {month} {utc:%d %H:%M:%S} UTC {utc.year}"


def comment_body(title: str, policies: Sequence[str]) -> str:
    return "\n".join([title, *policies])


def _latest_votes(picks: Sequence[PolisPick]) -> dict[tuple[int, int], int]:
    """(participant, value) -> the latest vote, as Polis's matrix keeps it."""
    latest: dict[tuple[int, int], int] = {}
    for pick in sorted(picks, key=lambda p: p.created_at):
        latest[(pick.participant_id, pick.value_id)] = AGREE if pick.is_picked else PASS
    return latest


def polis_tables(*, comments: Iterable[PolisComment], picks: Iterable[PolisPick]) -> list[Table]:
    """comments, votes and participants-votes, in that order (see the module's mapping).
    Picks of values that are not among `comments` are left out."""
    by_value = {c.value_id: c for c in sorted(comments, key=lambda c: c.value_id)}
    counted = [p for p in picks if p.value_id in by_value]
    people = sorted(
        {p.participant_id for p in counted}
        | {c.author_id for c in by_value.values() if c.author_id is not None}
    )
    dense = {participant_id: index for index, participant_id in enumerate(people)}
    latest = _latest_votes(counted)
    tally: dict[tuple[int, int], int] = {}
    for (_, value_id), vote in latest.items():
        tally[(value_id, vote)] = tally.get((value_id, vote), 0) + 1
    comment_rows = [
        (
            polis_timestamp(c.created_at),
            polis_datetime(c.created_at),
            c.value_id,
            "" if c.author_id is None else dense[c.author_id],
            tally.get((c.value_id, AGREE), 0),
            tally.get((c.value_id, DISAGREE), 0),
            ACCEPTED,
            comment_body(c.title, c.policies),
        )
        for c in by_value.values()
    ]
    events = sorted(counted, key=lambda p: (p.created_at, p.value_id, dense[p.participant_id]))
    vote_rows = [
        (
            polis_timestamp(p.created_at),
            polis_datetime(p.created_at),
            p.value_id,
            dense[p.participant_id],
            AGREE if p.is_picked else PASS,
        )
        for p in events
    ]
    return [
        Table("comments", COMMENTS_HEADER, comment_rows),
        Table("votes", VOTES_HEADER, vote_rows),
        _participants_votes(by_value, people, dense, latest),
    ]


def _participants_votes(
    by_value: dict[int, PolisComment],
    people: list[int],
    dense: dict[int, int],
    latest: dict[tuple[int, int], int],
) -> Table:
    value_ids = sorted(by_value)
    authored: dict[int, int] = {}
    for c in by_value.values():
        if c.author_id is not None:
            authored[c.author_id] = authored.get(c.author_id, 0) + 1
    rows = []
    for participant_id in people:
        cells = [latest.get((participant_id, value_id), "") for value_id in value_ids]
        votes = [cell for cell in cells if cell != ""]
        rows.append(
            (
                dense[participant_id],
                "",
                authored.get(participant_id, 0),
                len(votes),
                votes.count(AGREE),
                votes.count(DISAGREE),
                *cells,
            )
        )
    header = (*PARTICIPANTS_VOTES_HEADER, *(str(value_id) for value_id in value_ids))
    return Table("participants-votes", header, rows)
