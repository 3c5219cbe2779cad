"""The architecture's rules hold, and the checks that hold them can fail: the import contracts
(import-linter, configured in pyproject.toml) break on a deliberately wrong import, and only
moralgraph/studies.py may reach elicitation's models through `related_model`."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
PACKAGES = ("config", "elicitation", "moralgraph", "inference", "frontend")
LINT_IMPORTS = Path(sys.executable).with_name("lint-imports")
RELATED_MODEL_MODULE = ROOT / "moralgraph" / "studies.py"
MODULE_LINES_LIMIT = 400


def lint_imports(cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(LINT_IMPORTS), "--no-cache"],
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def product_files() -> list[Path]:
    return [
        path
        for package in PACKAGES
        for path in sorted((ROOT / package).rglob("*.py"))
        if "migrations" not in path.parts
    ]


@pytest.fixture(scope="module")
def tree_copy(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The product packages and pyproject.toml, copied so a test can break them."""
    copy = tmp_path_factory.mktemp("tree")
    shutil.copy(ROOT / "pyproject.toml", copy / "pyproject.toml")
    for package in PACKAGES:
        shutil.copytree(
            ROOT / package, copy / package, ignore=shutil.ignore_patterns("__pycache__")
        )
    return copy


def test_the_import_contracts_hold() -> None:
    result = lint_imports(ROOT)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "5 kept, 0 broken" in result.stdout


@pytest.mark.parametrize(
    ("module", "line", "contract"),
    [
        (
            "moralgraph/wrong.py",
            "from elicitation.models import Study\n",
            "moralgraph imports nothing of elicitation",
        ),
        (
            "elicitation/wrong.py",
            "from moralgraph.models import Value\n",
            "elicitation reaches the graph only through moralgraph.services",
        ),
        (
            "elicitation/wrong.py",
            "from moralgraph.services.votes import upgrade_vote_cast\n",
            "elicitation reaches the graph only through moralgraph.services",
        ),
        (
            "inference/wrong.py",
            "def later():\n    from django.conf import settings\n    return settings\n",
            "inference stands alone",
        ),
        (
            "moralgraph/wrong.py",
            "from config.celery import app\n",
            "no app imports config",
        ),
    ],
)
def test_a_wrong_import_breaks_its_contract(
    tree_copy: Path, module: str, line: str, contract: str
) -> None:
    wrong = tree_copy / module
    wrong.write_text(line, encoding="utf-8")
    try:
        result = lint_imports(tree_copy)
    finally:
        wrong.unlink()
    assert result.returncode != 0
    broken = result.stdout.split("Broken contracts", 1)[-1]
    assert contract in " ".join(broken.split()), result.stdout


def test_only_the_studies_module_uses_related_model() -> None:
    users = [
        path.relative_to(ROOT).as_posix()
        for path in product_files()
        if "related_model" in path.read_text(encoding="utf-8")
    ]
    assert users == [RELATED_MODEL_MODULE.relative_to(ROOT).as_posix()]


def test_no_product_module_is_over_the_size_limit() -> None:
    sizes = {
        path.relative_to(ROOT).as_posix(): len(path.read_text(encoding="utf-8").splitlines())
        for path in product_files()
    }
    assert {name: n for name, n in sizes.items() if n > MODULE_LINES_LIMIT} == {}
