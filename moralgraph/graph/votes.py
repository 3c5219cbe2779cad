"""Vote data in columnar form and the scoring parameters (pure: no Django)."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import asdict, dataclass, field
from typing import Any, Literal

import numpy as np
from numpy.typing import NDArray

UPGRADE = 0
NO_UPGRADE = 1
NOT_SURE = 2
CHOICES: tuple[str, ...] = ("upgrade", "no_upgrade", "not_sure")
_CHOICE_CODES = {name: code for code, name in enumerate(CHOICES)}

Mode = Literal["reference", "context"]

VoteRow = tuple[int, int, int, str, str | int]
"""(participant, from value id, to value id, context text, choice name or code)."""


def choice_code(choice: str | int) -> int:
    """Map "upgrade" / "no_upgrade" / "not_sure" (or 0 / 1 / 2) to its code."""
    if isinstance(choice, str):
        try:
            return _CHOICE_CODES[choice]
        except KeyError:
            raise ValueError(f"unknown choice {choice!r}; expected one of {CHOICES}") from None
    code = int(choice)
    if code not in (UPGRADE, NO_UPGRADE, NOT_SURE):
        raise ValueError(f"unknown choice code {choice!r}")
    return code


def _field(row: Mapping[str, Any], *names: str) -> Any:
    for name in names:
        if name in row:
            return row[name]
    raise KeyError(f"vote row lacks {names[0]!r}: {dict(row)!r}")


@dataclass(frozen=True, eq=False)
class VoteTable:
    """Upgrade votes as equal-length columns.

    `context` indexes into `contexts` (distinct texts); `choice` is 0 upgrade (to is wiser
    than from), 1 no_upgrade, 2 not_sure.
    """

    participant: NDArray[np.int64]
    from_value: NDArray[np.int64]
    to_value: NDArray[np.int64]
    context: NDArray[np.int32]
    choice: NDArray[np.int8]
    contexts: list[str] = field(default_factory=list)

    def __post_init__(self) -> None:
        columns: dict[str, NDArray[np.generic]] = {
            "participant": np.ascontiguousarray(self.participant, dtype=np.int64),
            "from_value": np.ascontiguousarray(self.from_value, dtype=np.int64),
            "to_value": np.ascontiguousarray(self.to_value, dtype=np.int64),
            "context": np.ascontiguousarray(self.context, dtype=np.int32),
            "choice": np.ascontiguousarray(self.choice, dtype=np.int8),
        }
        lengths = {name: column.shape for name, column in columns.items()}
        if len(set(lengths.values())) != 1 or any(len(s) != 1 for s in lengths.values()):
            raise ValueError(f"VoteTable columns must be 1-d and of equal length: {lengths}")
        for name, column in columns.items():
            object.__setattr__(self, name, column)
        contexts = [str(text) for text in self.contexts]
        if len(set(contexts)) != len(contexts):
            raise ValueError("VoteTable.contexts must be distinct")
        object.__setattr__(self, "contexts", contexts)
        n = len(columns["participant"])
        if n:
            ctx = columns["context"]
            if int(ctx.min()) < 0 or int(ctx.max()) >= len(contexts):
                raise ValueError("VoteTable.context holds an index outside contexts")
            ch = columns["choice"]
            if int(ch.min()) < 0 or int(ch.max()) > NOT_SURE:
                raise ValueError("VoteTable.choice must be 0, 1 or 2")

    def __len__(self) -> int:
        return int(self.participant.shape[0])

    @classmethod
    def empty(cls) -> VoteTable:
        return cls.from_rows([])

    @classmethod
    def from_rows(
        cls,
        rows: Iterable[VoteRow | Sequence[Any] | Mapping[str, Any]],
        contexts: Sequence[str] | None = None,
    ) -> VoteTable:
        """Build from tuples `(participant, from, to, context text, choice)` or dicts.

        Dict keys: `participant`, `from` (or `from_value`), `to` (or `to_value`), `context`
        (text) and `choice` (name or code). `contexts` fixes the context list (and its order);
        otherwise it is the sorted set of texts seen.
        """
        participant: list[int] = []
        from_value: list[int] = []
        to_value: list[int] = []
        context_text: list[str] = []
        choice: list[int] = []
        for row in rows:
            if isinstance(row, Mapping):
                p = _field(row, "participant")
                a = _field(row, "from", "from_value")
                b = _field(row, "to", "to_value")
                c = _field(row, "context")
                ch = _field(row, "choice")
            else:
                p, a, b, c, ch = row
            participant.append(int(p))
            from_value.append(int(a))
            to_value.append(int(b))
            context_text.append(str(c))
            choice.append(choice_code(ch))
        names = list(contexts) if contexts is not None else sorted(set(context_text))
        index = {text: i for i, text in enumerate(names)}
        try:
            context = [index[text] for text in context_text]
        except KeyError as missing:
            raise ValueError(f"context {missing.args[0]!r} is not in contexts") from None
        return cls(
            participant=np.asarray(participant, dtype=np.int64),
            from_value=np.asarray(from_value, dtype=np.int64),
            to_value=np.asarray(to_value, dtype=np.int64),
            context=np.asarray(context, dtype=np.int32),
            choice=np.asarray(choice, dtype=np.int8),
            contexts=names,
        )

    def take(self, selector: NDArray[np.bool_] | NDArray[np.intp]) -> VoteTable:
        """The votes picked by a boolean mask or an index array (same contexts list)."""
        return VoteTable(
            participant=self.participant[selector],
            from_value=self.from_value[selector],
            to_value=self.to_value[selector],
            context=self.context[selector],
            choice=self.choice[selector],
            contexts=list(self.contexts),
        )

    def rows(self) -> list[VoteRow]:
        """The votes as `(participant, from, to, context text, choice name)` tuples."""
        return [
            (int(p), int(a), int(b), self.contexts[int(c)], CHOICES[int(ch)])
            for p, a, b, c, ch in zip(
                self.participant,
                self.from_value,
                self.to_value,
                self.context,
                self.choice,
                strict=True,
            )
        ]


@dataclass(frozen=True)
class Params:
    """Scoring parameters: the thresholds that keep an edge, PageRank's damping, the bootstrap
    and the sensitivity grid. `bootstrap=0` disables the bootstrap and an empty grid axis
    disables the sensitivity analysis."""

    mode: Mode = "reference"
    min_wiser: int = 2
    min_likelihood: float = 0.33
    max_entropy: float = 1.69
    damping: float = 0.85
    bootstrap: int = 200
    seed: int = 0
    grid_min_wiser: tuple[int, ...] = (1, 2, 3)
    grid_min_likelihood: tuple[float, ...] = (0.2, 0.3, 0.4, 0.5)
    grid_max_entropy: tuple[float, ...] = (1.4, 1.6, 1.8, 2.0)

    def __post_init__(self) -> None:
        if self.mode not in ("reference", "context"):
            raise ValueError(f"mode must be 'reference' or 'context', not {self.mode!r}")
        if not 0.0 < self.damping < 1.0:
            raise ValueError("damping must lie in (0, 1)")
        if self.bootstrap < 0:
            raise ValueError("bootstrap must be >= 0")
        object.__setattr__(self, "grid_min_wiser", tuple(int(v) for v in self.grid_min_wiser))
        object.__setattr__(
            self, "grid_min_likelihood", tuple(float(v) for v in self.grid_min_likelihood)
        )
        object.__setattr__(self, "grid_max_entropy", tuple(float(v) for v in self.grid_max_entropy))

    def as_dict(self) -> dict[str, Any]:
        """JSON-ready form (tuples become lists)."""
        data = asdict(self)
        for key in ("grid_min_wiser", "grid_min_likelihood", "grid_max_entropy"):
            data[key] = list(data[key])
        return data

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Params:
        known = {key: data[key] for key in cls.__dataclass_fields__ if key in data}
        for key in ("grid_min_wiser", "grid_min_likelihood", "grid_max_entropy"):
            if key in known:
                known[key] = tuple(known[key])
        return cls(**known)
