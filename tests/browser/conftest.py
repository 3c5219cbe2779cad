"""Browser tests: pytest-playwright driving Debian's Chromium against the real ASGI server
(and a worker) started as subprocesses by the fixtures in tests/conftest.py."""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import Page

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
CHROMIUM_FLAGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


@pytest.fixture(scope="session")
def browser_type_launch_args(browser_type_launch_args: dict[str, Any]) -> dict[str, Any]:
    if not Path(CHROMIUM).exists():
        pytest.fail("Debian's chromium is not installed: apt-get install -y chromium")
    return {**browser_type_launch_args, "executable_path": CHROMIUM, "args": CHROMIUM_FLAGS}


@pytest.fixture(scope="session")
def browser_context_args(browser_context_args: dict[str, Any], asgi_server: str) -> dict[str, Any]:
    return {**browser_context_args, "base_url": asgi_server}


# --- accessibility: axe-core from the npm registry (tests/browser/package.json + lock) -------

BROWSER_TESTS = Path(__file__).resolve().parent
AXE_JS = BROWSER_TESTS / "node_modules" / "axe-core" / "axe.min.js"
SCREENSHOTS = os.environ.get("MGE_SCREENSHOTS", "")
WIDTHS = (375, 1280)


@pytest.fixture(scope="session")
def axe_source() -> str:
    """axe-core's browser build, installed with `npm ci` from the committed lock file."""
    if not AXE_JS.exists():
        npm = shutil.which("npm")
        if npm is None:
            pytest.fail("npm is needed to install axe-core for the accessibility checks")
        subprocess.run(
            [npm, "ci", "--no-audit", "--no-fund", "--loglevel=error"],
            cwd=BROWSER_TESTS,
            check=True,
            timeout=300,
        )
    return AXE_JS.read_text()


_AXE_RUN = """async () => {
  const result = await axe.run(document, { resultTypes: ["violations"] });
  return result.violations.map((v) => ({
    id: v.id, impact: v.impact, help: v.help,
    nodes: v.nodes.slice(0, 5).map((n) => n.target.join(" ")),
  }));
}"""


def assert_accessible(page: Page, axe: str, name: str) -> None:
    """No serious or critical axe findings at a phone's and a laptop's width; with
    MGE_SCREENSHOTS set, a full-page screenshot of each goes there."""
    for width in WIDTHS:
        page.set_viewport_size({"width": width, "height": 900})
        if not page.evaluate("typeof window.axe !== 'undefined'"):
            # Evaluated, not an inline <script>: the site's CSP (script-src 'self') blocks those.
            page.evaluate(axe)
        violations: list[dict[str, Any]] = page.evaluate(_AXE_RUN)
        serious = [v for v in violations if v["impact"] in ("serious", "critical")]
        assert not serious, f"axe on {name} at {width}px ({page.url}): {serious}"
        if SCREENSHOTS:
            Path(SCREENSHOTS).mkdir(parents=True, exist_ok=True)
            page.screenshot(path=f"{SCREENSHOTS}/{name}-{width}.png", full_page=True)
    page.set_viewport_size({"width": 1280, "height": 900})
