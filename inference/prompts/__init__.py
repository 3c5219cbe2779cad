"""Prompts as versioned files: ``inference/prompts/<name>.v<N>.md``.

Each file is a ``string.Template`` (``$name`` or ``${name}`` placeholders; ``$$`` for a
dollar sign), so JSON braces in a prompt need no escaping. A prompt's ``sha256`` is taken
over the file's bytes and is what interviews and generator runs record.
"""

from __future__ import annotations

import hashlib
import re
import string
from dataclasses import dataclass
from functools import cache
from pathlib import Path

PROMPTS_DIR = Path(__file__).resolve().parent
_FILENAME = re.compile(r"^(?P<name>[a-z0-9_]+)\.v(?P<version>[1-9][0-9]*)\.md$")


class PromptError(LookupError):
    """A prompt that does not exist, or a render with variables missing."""


@dataclass(frozen=True, slots=True)
class Prompt:
    name: str
    version: int
    text: str
    sha256: str

    @property
    def ref(self) -> str:
        """``name.vN``, the human-readable reference stored beside the hash."""
        return f"{self.name}.v{self.version}"

    @property
    def variables(self) -> frozenset[str]:
        return frozenset(string.Template(self.text).get_identifiers())

    def render(self, **variables: object) -> str:
        """The text with every placeholder filled; ``PromptError`` names any missing one."""
        missing = sorted(self.variables - variables.keys())
        if missing:
            raise PromptError(
                f"prompt {self.ref} needs variable(s) {', '.join(missing)} "
                f"(given: {', '.join(sorted(variables)) or 'none'})"
            )
        try:
            return string.Template(self.text).substitute(
                {key: str(value) for key, value in variables.items()}
            )
        except ValueError as exc:  # a stray "$" in the file
            raise PromptError(f"prompt {self.ref} has an invalid placeholder: {exc}") from exc


def available_prompts(directory: Path = PROMPTS_DIR) -> dict[str, list[int]]:
    """Prompt names and their versions, ascending."""
    found: dict[str, list[int]] = {}
    for path in directory.glob("*.md"):
        match = _FILENAME.match(path.name)
        if match:
            found.setdefault(match["name"], []).append(int(match["version"]))
    return {name: sorted(versions) for name, versions in sorted(found.items())}


def load_prompt(name: str, version: int | None = None, *, directory: Path = PROMPTS_DIR) -> Prompt:
    """The given version of a prompt, or its latest version."""
    versions = available_prompts(directory).get(name)
    if not versions:
        raise PromptError(f"no prompt named {name!r} in {directory}")
    if version is None:
        version = versions[-1]
    elif version not in versions:
        raise PromptError(f"prompt {name!r} has no version {version} (has {versions})")
    return _read(directory / f"{name}.v{version}.md", name, version)


@cache
def _read(path: Path, name: str, version: int) -> Prompt:
    raw = path.read_bytes()
    return Prompt(
        name=name, version=version, text=raw.decode("utf-8"), sha256=hashlib.sha256(raw).hexdigest()
    )
