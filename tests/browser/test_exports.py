"""The exports page in Chromium: a researcher finds it from the study list, axe passes at a
phone's and a laptop's width, and the links download the CSV files and the Polis zip."""

from __future__ import annotations

import csv
import io
import zipfile
from pathlib import Path

import pytest
from django.contrib.auth import get_user_model
from playwright.sync_api import Page, expect

from elicitation.services import demo_study_seed, study_member_add
from tests.browser.conftest import assert_accessible

pytestmark = pytest.mark.django_db(transaction=True)
PASSWORD = "a-long-passphrase-123"


def test_a_researcher_downloads_the_exports(page: Page, axe_source: str) -> None:
    study = demo_study_seed()
    get_user_model().objects.create_user("researcher", password=PASSWORD, is_staff=True)
    study_member_add(study_id=study.pk, username="researcher", added_by_id=None)
    page.goto("/admin/login/?next=/staff/")
    page.get_by_label("Username").fill("researcher")
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Log in").click()
    page.get_by_role("link", name=f"Exports of {study.title}").click()
    expect(page.get_by_role("heading", level=1)).to_have_text(f"Exports of “{study.title}”")
    assert_accessible(page, axe_source, "exports")

    with page.expect_download() as cards:
        page.get_by_role("link", name="cards.csv").click()
    assert cards.value.suggested_filename == f"{study.slug}-cards.csv"
    header = next(csv.reader(io.StringIO(Path(cards.value.path()).read_text("utf-8"))))
    assert header[:2] == ["participant", "card_id"]

    with page.expect_download() as polis:
        page.get_by_role("link", name="Download the three files (zip)").click()
    assert polis.value.suggested_filename == f"{study.slug}-polis.zip"
    with zipfile.ZipFile(polis.value.path()) as archive:
        names = sorted(Path(name).name for name in archive.namelist())
    assert names == ["comments.csv", "participants-votes.csv", "votes.csv"]
