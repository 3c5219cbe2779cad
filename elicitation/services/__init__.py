"""Writes for the participant journey: one transaction each, keyword-only arguments. Views,
consumers and tasks import this package; each concern has its module."""

from elicitation.services.cards import (
    CANONICALISE_TASK,
    MIN_EXCERPTS,
    cards_canonicalise_sweep,
    contexts_mine_from_interviews,
    contexts_mine_request,
    study_cards_canonicalise,
    values_card_canonicalise,
)
from elicitation.services.demo import (
    demo_study_seed,
)
from elicitation.services.demographic_questions import (
    DemographicDefinitionError,
    demographic_question_add,
    demographic_question_move,
    demographic_question_remove,
    demographic_question_update,
    demographic_question_validate,
)
from elicitation.services.demographics import (
    DemographicAnswer,
    DemographicAnswerError,
    demographic_answer_clean,
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
from elicitation.services.invites import (
    INVITE_CODE_ALPHABET,
    INVITE_CODE_LENGTH,
    MAX_INVITE_CODES_PER_BATCH,
    invite_code_free,
    invite_codes_generate,
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
from elicitation.services.memberships import (
    study_member_add,
    study_member_remove,
)
from elicitation.services.participants import (
    hash_external_id,
    participant_consent,
    participant_stage_require,
    participant_study_require_open,
)
from elicitation.services.preview import (
    participant_preview_start,
)
from elicitation.services.studies import (
    STUDY_TRANSITIONS,
    study_panel_settings_set,
    study_participation_update,
    study_state_set,
    study_status_set,
)
from elicitation.services.study_setup import (
    QUESTION_FIELDS,
    STUDY_SETTING_FIELDS,
    WISE_VALUES_MAX,
    question_add,
    question_delete,
    question_move,
    question_update,
    study_create,
    study_settings_update,
)
from elicitation.services.withdrawal import (
    participant_withdrawal_code,
)

__all__ = [
    "CANONICALISE_TASK",
    "DemographicAnswer",
    "DemographicAnswerError",
    "DemographicDefinitionError",
    "INVITE_CODE_ALPHABET",
    "INVITE_CODE_LENGTH",
    "MAX_INVITE_CODES_PER_BATCH",
    "MIN_EXCERPTS",
    "QUESTION_FIELDS",
    "STUDY_SETTING_FIELDS",
    "STUDY_TRANSITIONS",
    "WISE_VALUES_MAX",
    "WISE_VALUES_REQUIRED",
    "WISE_VALUES_SHOWN",
    "cards_canonicalise_sweep",
    "contexts_mine_from_interviews",
    "contexts_mine_request",
    "demo_study_seed",
    "demographic_answer_clean",
    "demographic_question_add",
    "demographic_question_move",
    "demographic_question_remove",
    "demographic_question_update",
    "demographic_question_validate",
    "hash_external_id",
    "interview_answer_claim",
    "interview_answer_release",
    "interview_answer_renew",
    "interview_answer_store",
    "interview_leave_without_card",
    "interview_message_add_user",
    "interview_start",
    "invite_code_free",
    "invite_codes_generate",
    "participant_consent",
    "participant_demographics_save",
    "participant_preview_start",
    "participant_stage_require",
    "participant_study_require_open",
    "participant_withdrawal_code",
    "question_add",
    "question_delete",
    "question_move",
    "question_update",
    "study_cards_canonicalise",
    "study_create",
    "study_member_add",
    "study_member_remove",
    "study_panel_settings_set",
    "study_participation_update",
    "study_settings_update",
    "study_state_set",
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
