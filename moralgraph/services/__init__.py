"""Writes to the graph's tables, one transaction each, keyword-only arguments; each concern has
its module. This package is the door elicitation writes through: the names below are the
whole of it (the other app imports nothing else of moralgraph but `moralgraph.selectors`)."""

from moralgraph.errors import MoralGraphError
from moralgraph.services.bulk import (
    ContextRow,
    HypothesisRow,
    SelectionRow,
    ValueRow,
    VoteRow,
    contexts_import,
    hypotheses_import,
    selections_import,
    upgrade_votes_import,
    values_import,
)
from moralgraph.services.canonicalisation import (
    CanonicalisationResult,
    CardText,
    card_canonicalise,
    cards_canonicalise_batch,
)
from moralgraph.services.contexts import (
    context_add,
    context_edit,
    context_ensure,
    context_review,
    context_text_clean,
    contexts_generate_request,
    contexts_generation_available,
    values_status_set,
)
from moralgraph.services.demo import demo_graph_seed
from moralgraph.services.erasure import GraphErasure, participant_graph_erase
from moralgraph.services.exclusions import ExclusionChange, participant_exclusion_set
from moralgraph.services.generation import contexts_mine
from moralgraph.services.pipeline import stories_request_if_due, study_stories_request
from moralgraph.services.ratification import RecordedJudgement, ratification_judgement_record
from moralgraph.services.snapshots import snapshot_rebuild_request
from moralgraph.services.translations import (
    translations_available,
    value_translate,
    value_wording_hash,
    values_translate_request,
    values_translations_sweep,
)
from moralgraph.services.votes import (
    RecordedVote,
    selection_record,
    upgrade_vote_cast,
    upgrade_vote_record,
)

__all__ = [
    "CanonicalisationResult",
    "CardText",
    "ContextRow",
    "ExclusionChange",
    "GraphErasure",
    "HypothesisRow",
    "MoralGraphError",
    "RecordedJudgement",
    "RecordedVote",
    "SelectionRow",
    "ValueRow",
    "VoteRow",
    "card_canonicalise",
    "cards_canonicalise_batch",
    "context_add",
    "context_edit",
    "context_ensure",
    "context_review",
    "context_text_clean",
    "contexts_generate_request",
    "contexts_generation_available",
    "contexts_import",
    "contexts_mine",
    "demo_graph_seed",
    "hypotheses_import",
    "participant_exclusion_set",
    "participant_graph_erase",
    "ratification_judgement_record",
    "selection_record",
    "selections_import",
    "snapshot_rebuild_request",
    "stories_request_if_due",
    "study_stories_request",
    "translations_available",
    "upgrade_vote_cast",
    "upgrade_vote_record",
    "upgrade_votes_import",
    "value_translate",
    "value_wording_hash",
    "values_import",
    "values_status_set",
    "values_translate_request",
    "values_translations_sweep",
]
