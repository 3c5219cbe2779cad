"""The moderation queue's form: one decision on one card; a rejection says why."""

from __future__ import annotations

from typing import Any

from django import forms

from elicitation.services import MAX_REASON_CHARS


class CardDecisionForm(forms.Form):
    card = forms.IntegerField(widget=forms.HiddenInput, min_value=1)
    decision = forms.ChoiceField(
        choices=[("approve", "Approve"), ("reject", "Reject")], widget=forms.HiddenInput
    )
    reason = forms.CharField(
        label="Why reject it?",
        required=False,
        max_length=MAX_REASON_CHARS,
        help_text="Required to reject; kept in the moderation log. Do not copy the card's text.",
        widget=forms.Textarea(attrs={"rows": 2}),
    )

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        data["reason"] = " ".join(str(data.get("reason") or "").split())
        if data.get("decision") == "reject" and not data["reason"]:
            self.add_error("reason", "Say why the card is rejected.")
        return data
