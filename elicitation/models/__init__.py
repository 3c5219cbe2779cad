"""Studies, participants, interviews and the cards they produce. Values, contexts, votes and
snapshots belong to the graph (moralgraph); cards point at their canonical value there."""

from elicitation.models.interviews import CardProposal, Interview, Message, ValuesCard
from elicitation.models.participants import Participant, SurveyResponse
from elicitation.models.studies import InviteCode, Question, Study, StudyMembership
from elicitation.models.trust import DedupVerification, ModerationAction, PositionVerification

__all__ = [
    "CardProposal",
    "DedupVerification",
    "Interview",
    "InviteCode",
    "Message",
    "ModerationAction",
    "Participant",
    "PositionVerification",
    "Question",
    "Study",
    "StudyMembership",
    "SurveyResponse",
    "ValuesCard",
]
