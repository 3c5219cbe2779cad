"""The study report: the legitimacy checks, the survey and the funnel, from
`manage.py study_report` and the staff report page; and the acceptance on the reference study."""

from __future__ import annotations

import json
from io import StringIO
from pathlib import Path

import pytest
from django.core.management import CommandError, call_command
from django.test import Client
from django.utils import timezone

from elicitation import selectors
from elicitation.models import (
    DedupVerification,
    Participant,
    PositionVerification,
    Study,
    SurveyResponse,
)
from elicitation.schemas import SURVEY_ITEMS
from tests.factories import make_researcher, make_study

pytestmark = pytest.mark.django_db


def _finished(study: Study, *, is_preview: bool = False, survey: int | None = None) -> Participant:
    participant = Participant.objects.create(
        study=study,
        consented_at=timezone.now(),
        stage=Participant.Stage.FINISHED,
        finished_at=timezone.now(),
        is_preview=is_preview,
    )
    if survey is not None:
        for item in SURVEY_ITEMS:
            SurveyResponse.objects.create(participant=participant, item=item.key, answer=survey)
    return participant


def _report(slug: str) -> dict[str, object]:
    out = StringIO()
    call_command("study_report", slug, "--json", stdout=out)
    report: dict[str, object] = json.loads(out.getvalue())
    return report


@pytest.fixture
def study() -> Study:
    """Three real participants and a preview walk, each with their checks and survey."""
    study = make_study()
    agree, neutral, disagree = (_finished(study, survey=n) for n in (5, 3, 4))
    PositionVerification.objects.create(participant=agree, is_fair=True, comment="Fair enough.")
    PositionVerification.objects.create(participant=neutral, is_fair=False, comment="Too low.")
    PositionVerification.objects.create(participant=disagree, is_fair=True)
    DedupVerification.objects.create(participant=agree, option="same")
    DedupVerification.objects.create(participant=neutral, option="different")
    preview = _finished(study, is_preview=True, survey=1)
    PositionVerification.objects.create(participant=preview, is_fair=False, comment="Preview.")
    DedupVerification.objects.create(participant=preview, option="different")
    return study


def test_the_report_counts_real_participants_only(study: Study) -> None:
    report = _report(study.slug)
    assert report["fair_position"] == {"yes": 2, "no": 1, "total": 3}
    assert report["dedup_verification"] == {"same": 1, "different": 1, "total": 2}
    survey = report["survey"]
    assert isinstance(survey, dict)
    assert list(survey) == [item.key for item in SURVEY_ITEMS]
    for item in SURVEY_ITEMS:
        assert survey[item.key]["n"] == 3
        assert survey[item.key]["agree"] == 2
        assert survey[item.key]["share_4_5"] == pytest.approx(2 / 3)
    assert report["funnel"] == selectors.study_funnel(study_id=study.pk)
    assert isinstance(report["funnel"], dict)
    assert report["funnel"]["finished"] == 3


def test_the_table_for_people_and_an_unknown_study(study: Study) -> None:
    out = StringIO()
    call_command("study_report", study.slug, stdout=out)
    table = out.getvalue()
    assert "fair position (yes / answered)" in table
    assert "2 / 3" in table
    assert "67%" in table
    assert "Finished" in table
    with pytest.raises(CommandError, match="no study with slug 'nope'"):
        call_command("study_report", "nope", stdout=StringIO())


def test_an_empty_study_reports_zeros() -> None:
    report = _report(make_study().slug)
    assert report["fair_position"] == {"yes": 0, "no": 0, "total": 0}
    survey = report["survey"]
    assert isinstance(survey, dict)
    assert survey[SURVEY_ITEMS[0].key] == {"n": 0, "agree": 0, "share_4_5": 0.0}


def test_the_staff_report_page_shows_counts_and_comments(study: Study) -> None:
    client = Client()
    client.force_login(make_researcher(study))
    page = client.get(f"/staff/{study.slug}/report/")
    assert page.status_code == 200
    html = page.content.decode()
    fair = html.split('id="fair-position"')[1].split("</tr>")[0]
    assert "<td>2</td><td>3</td>" in fair
    assert "67%" in fair
    dedup = html.split('id="dedup-verification"')[1].split("</tr>")[0]
    assert "<td>1</td><td>2</td>" in dedup
    assert SURVEY_ITEMS[0].statement in html
    assert "Fair enough." in html
    assert "Too low." in html
    assert "Preview." not in html
    other = Client()
    other.force_login(make_researcher(make_study()))
    assert other.get(f"/staff/{study.slug}/report/").status_code == 404


def test_the_reference_study_reports_its_legitimacy_checks(realdata: Path) -> None:
    dump = realdata / "mai-dft-moral-graph" / "db-dump"
    out = StringIO()
    call_command("import_mai", str(dump), study="mai", stdout=out)
    assert "position_checks 180, dedup_checks 43" in out.getvalue()
    # Importing again creates nothing new.
    call_command("import_mai", str(dump), study="mai", stdout=StringIO())
    assert PositionVerification.objects.count() == 180
    assert DedupVerification.objects.count() == 43
    assert not DedupVerification.objects.filter(card__isnull=True).exists()

    report = _report("mai")
    assert report["fair_position"] == {"yes": 158, "no": 22, "total": 180}
    assert report["dedup_verification"] == {"same": 33, "different": 10, "total": 43}
