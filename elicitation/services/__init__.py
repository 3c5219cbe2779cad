"""Writes for the participant journey: one transaction each, keyword-only arguments. Views,
consumers and tasks import this package; each concern has its module."""

from elicitation.services.cards import (
    contexts_mine_from_interviews,
    study_cards_canonicalise,
    values_card_canonicalise,
)
from elicitation.services.demo import (
    demo_study_seed,
)
from elicitation.services.demographics import (
    participant_demographics_save,
)
from elicitation.services.interviews import (
    interview_answer_claim,
    interview_answer_release,
    interview_answer_renew,
    interview_answer_store,
    interview_leave_without_card,
    interview_message_add_user,
    interview_start,
    values_card_submit,
)
from elicitation.services.journey import (
    WISE_VALUES_REQUIRED,
    WISE_VALUES_SHOWN,
    survey_submit,
    upgrade_hypotheses_assign,
    upgrade_vote_submit,
    upgrade_votes_continue,
    wise_values_draw,
    wise_values_pick,
    wise_values_required,
)
from elicitation.services.participants import (
    hash_external_id,
    participant_consent,
    participant_stage_require,
)
from elicitation.services.studies import (
    study_status_set,
)

__all__ = [
    "WISE_VALUES_REQUIRED",
    "WISE_VALUES_SHOWN",
    "contexts_mine_from_interviews",
    "demo_study_seed",
    "hash_external_id",
    "interview_answer_claim",
    "interview_answer_release",
    "interview_answer_renew",
    "interview_answer_store",
    "interview_leave_without_card",
    "interview_message_add_user",
    "interview_start",
    "participant_consent",
    "participant_demographics_save",
    "participant_stage_require",
    "study_cards_canonicalise",
    "study_status_set",
    "survey_submit",
    "upgrade_hypotheses_assign",
    "upgrade_vote_submit",
    "upgrade_votes_continue",
    "values_card_canonicalise",
    "values_card_submit",
    "wise_values_draw",
    "wise_values_pick",
    "wise_values_required",
]
