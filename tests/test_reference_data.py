"""Where tests find the reference study: the folder in MGE_REFERENCE_DATA (default
../shared/realdata). Missing, the tests that need it skip with a message that says where the
data comes from, or fail when MGE_REQUIRE_REFERENCE=1 (as .ci/run sets)."""

from __future__ import annotations

import os
import subprocess
import sys
import xml.etree.ElementTree as ET
from pathlib import Path

from tests.support.reference import (
    REFERENCE_ENV,
    REPO,
    REQUIRE_ENV,
    STUDY,
    load_reference,
    reference_root,
)

# One test through the `realdata` fixture, one through `load_reference`.
PROBES = [
    "tests/test_reference_data.py::test_the_fixture_finds_the_data",
    "tests/test_reference_data.py::test_a_reference_file_is_read",
]


def test_the_fixture_finds_the_data(realdata: Path) -> None:
    assert realdata == reference_root()
    assert (realdata / STUDY / "db-dump" / "edge.json").is_file()


def test_a_reference_file_is_read() -> None:
    assert len(load_reference("db-dump/edge.json")) == 1592


def run_probes(tmp_path: Path, **env: str) -> tuple[int, list[ET.Element]]:
    """The probes in a fresh pytest, with the data pointed at an empty folder; the exit code
    and each test's result element (skipped, failure or error) from the JUnit report."""
    empty = tmp_path / "no-reference-data"
    empty.mkdir()
    report = tmp_path / "report.xml"
    environment = {k: v for k, v in os.environ.items() if k != REQUIRE_ENV}
    environment.update({REFERENCE_ENV: str(empty), **env})
    done = subprocess.run(
        [sys.executable, "-m", "pytest", *PROBES, "-q", "-p", "no:playwright"]
        + ["-p", "no:base_url", f"--junitxml={report}"],
        cwd=REPO,
        env=environment,
        capture_output=True,
        text=True,
        timeout=120,
    )
    cases = ET.parse(report).getroot().iter("testcase")
    outcomes = [child for case in cases for child in case]
    assert len(outcomes) == len(PROBES), done.stdout + done.stderr
    return done.returncode, outcomes


def said(outcome: ET.Element) -> str:
    # JUnit shortens long failure messages in the attribute; the element's text is whole.
    return outcome.get("message", "") + (outcome.text or "")


def test_missing_data_skips_with_where_it_comes_from(tmp_path: Path) -> None:
    code, outcomes = run_probes(tmp_path)
    assert code == 0
    for outcome in outcomes:
        assert outcome.tag == "skipped"
        reason = said(outcome)
        assert str(tmp_path / "no-reference-data") in reason
        assert "Meaning Alignment Institute" in reason
        assert '"What are human values, and how do we align AI to them?"' in reason
        assert "Polis" in reason
        assert REFERENCE_ENV in reason


def test_missing_data_fails_when_required(tmp_path: Path) -> None:
    code, outcomes = run_probes(tmp_path, **{REQUIRE_ENV: "1"})
    assert code == 1
    for outcome in outcomes:
        # A fixture that fails is reported as an error, a test body that fails as a failure.
        assert outcome.tag in ("failure", "error")
        assert "the reference data is missing" in said(outcome)
        assert REQUIRE_ENV in said(outcome)
