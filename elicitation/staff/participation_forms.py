"""Staff forms for who takes part: checked here, each error shown next to its field."""

from __future__ import annotations

import re
from typing import Any
from urllib.parse import parse_qs, urlsplit

from django import forms

from elicitation.models import Study
from elicitation.services import MAX_INVITE_CODES_PER_BATCH


class ParticipationForm(forms.Form):
    participation_mode = forms.ChoiceField(
        label="How people enter", choices=Study.ParticipationMode.choices
    )
    quota = forms.IntegerField(
        label="Quota (most participants)",
        required=False,
        min_value=1,
        help_text="Empty: no limit. Sign-ups past it are refused, however many arrive at once.",
    )


class InviteCodesForm(forms.Form):
    count = forms.IntegerField(
        label="How many new codes",
        min_value=1,
        max_value=MAX_INVITE_CODES_PER_BATCH,
        initial=10,
    )


_PARAM = re.compile(r"^[A-Za-z][A-Za-z0-9_]{0,39}$")
_CODE = re.compile(r"^[A-Za-z0-9_-]{1,40}$")


class PanelSettingsForm(forms.Form):
    panel_param = forms.CharField(
        label="URL parameter with the panel's participant id",
        max_length=40,
        initial="PROLIFIC_PID",
        help_text="Prolific sends PROLIFIC_PID (with STUDY_ID and SESSION_ID).",
    )
    completion_url = forms.URLField(
        label="Completion URL",
        required=False,
        max_length=500,
        assume_scheme="https",
        help_text="Paste it as the panel gives it, e.g. https://app.prolific.com/submissions/"
        "complete?cc=C1A2B3C4. Participants are sent to exactly this address.",
    )
    completion_code = forms.CharField(
        label="Completion code",
        required=False,
        max_length=40,
        help_text="The code the panel gave you. Empty: the one in the URL, or else a code "
        "made for each participant.",
    )

    def clean_panel_param(self) -> str:
        value: str = self.cleaned_data["panel_param"].strip()
        if not _PARAM.match(value):
            raise forms.ValidationError(
                "Use the parameter's name only: letters, digits and underscores, starting "
                "with a letter (for Prolific: PROLIFIC_PID)."
            )
        return value

    def clean_completion_url(self) -> str:
        value: str = self.cleaned_data["completion_url"].strip()
        if value and urlsplit(value).scheme not in ("http", "https"):
            raise forms.ValidationError("The completion URL must start with https://.")
        return value

    def clean_completion_code(self) -> str:
        value: str = self.cleaned_data["completion_code"].strip()
        if value and not _CODE.match(value):
            raise forms.ValidationError(
                "A completion code has letters, digits, - and _ only, as the panel shows it."
            )
        return value

    def clean(self) -> dict[str, Any] | None:
        cleaned = super().clean()
        url = self.cleaned_data.get("completion_url") or ""
        code = self.cleaned_data.get("completion_code") or ""
        in_url = parse_qs(urlsplit(url).query).get("cc", [])
        if code and in_url and in_url[0] != code:
            self.add_error(
                "completion_code",
                f"The completion URL already carries the code {in_url[0]}; this must be the "
                "same code, or left empty.",
            )
        return cleaned
