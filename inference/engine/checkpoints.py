"""A job's state beside its output: the append-only JSONL records, the manifest, the lock."""

from __future__ import annotations

import fcntl
import json
import os
import threading
from collections.abc import Iterator, Mapping, Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import IO, Any

from inference.targets import write_text_atomic

MANIFEST = "manifest.json"
LOCK = ".lock"


class JobError(RuntimeError):
    """The output folder cannot be used for this job (locked, or holds a different job)."""


def now() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds")


class JobState:
    """The JSONL records and the manifest of one job in one folder."""

    def __init__(self, out_dir: Path, name: str, identity: Mapping[str, Any]) -> None:
        self.out_dir = out_dir
        self.name = name
        self.identity = dict(identity)
        self.jsonl_path = out_dir / f"{name}.jsonl"
        self.dropped_path = out_dir / f"{name}.dropped.jsonl"
        self.manifest_path = out_dir / MANIFEST
        self.keys: set[str] = set()  # done: written or dropped
        self.dropped: dict[str, str] = {}  # key -> reason
        self._dropped_fd: int | None = None
        self.manifest: dict[str, Any] = {}
        self._fd: int | None = None
        self._lock: IO[bytes] | None = None
        self._unsynced = 0
        self._sequence = 0
        self._written = 0
        self._write_lock = threading.Lock()

    def open(self) -> None:
        self.out_dir.mkdir(parents=True, exist_ok=True)
        self._lock = (self.out_dir / LOCK).open("ab")
        try:
            fcntl.flock(self._lock.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            self._lock.close()
            self._lock = None
            raise JobError(
                f"{self.out_dir} is in use by another run (it holds {LOCK}); wait for it to "
                "finish or stop it first"
            ) from None
        self.manifest = self._read_manifest()
        self.keys = set(read_keys(self.jsonl_path, repair=True))
        if self.dropped_path.exists():
            read_keys(self.dropped_path, repair=True)
            self.dropped = {
                str(r["key"]): str(r.get("reason", "")) for r in read_records(self.dropped_path)
            }
            self.keys |= set(self.dropped)
        self._fd = os.open(self.jsonl_path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)

    def _read_manifest(self) -> dict[str, Any]:
        if not self.manifest_path.exists():
            if self.jsonl_path.exists() and self.jsonl_path.stat().st_size:
                raise JobError(
                    f"{self.jsonl_path} exists without a {MANIFEST}; it was not written by "
                    "this tool (or the manifest was removed): use another output folder"
                )
            return {"job": self.name, "identity": self.identity, "runs": [], "tokens_used": 0}
        try:
            manifest: dict[str, Any] = json.loads(self.manifest_path.read_text(encoding="utf-8"))
        except (OSError, json.JSONDecodeError) as exc:
            raise JobError(f"cannot read {self.manifest_path}: {exc}") from exc
        if manifest.get("job") != self.name:
            raise JobError(
                f"{self.out_dir} holds a {manifest.get('job')!r} job, not {self.name!r}: use "
                "another output folder"
            )
        self._check_identity(manifest.get("identity", {}))
        return manifest

    def _check_identity(self, theirs: Mapping[str, Any]) -> None:
        different = sorted(
            key
            for key in set(theirs) | set(self.identity)
            if theirs.get(key) != self.identity.get(key)
        )
        if different:
            details = "; ".join(
                f"{key}: {theirs.get(key)!r} there, {self.identity.get(key)!r} now"
                for key in different
            )
            raise JobError(
                f"{self.out_dir} holds a job made with other settings ({details}). Resuming "
                "would mix them in one file: use another output folder."
            )

    def append(self, record: Mapping[str, Any]) -> None:
        assert self._fd is not None
        _write_line(self._fd, record)
        self.keys.add(str(record["key"]))
        self._unsynced += 1

    def append_dropped(self, key: str, reason: str, detail: Mapping[str, Any]) -> None:
        """Record an item decided without a record (``Dropped``), in its own file."""
        if self._dropped_fd is None:
            self._dropped_fd = os.open(
                self.dropped_path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644
            )
        _write_line(self._dropped_fd, {"key": key, "reason": reason, **detail})
        self.keys.add(key)
        self.dropped[key] = reason
        self._unsynced += 1

    def rewrite_in_order(self, keys: Sequence[str]) -> None:
        """Rewrite the records (and the dropped items) as exactly ``keys``, in that order:
        the same work gives the same bytes whatever order the workers finished in. Records
        of keys not in ``keys`` (an earlier, larger plan) are left out. Call it last."""
        self._close_files()
        for path in (self.jsonl_path, self.dropped_path):
            if not path.exists():
                continue
            lines: dict[str, str] = {}
            with path.open(encoding="utf-8") as handle:
                for line in handle:
                    if line.endswith("\n") and line.strip():
                        lines[str(json.loads(line)["key"])] = line
            write_text_atomic(path, "".join(lines[k] for k in keys if k in lines))

    def checkpoint(self, **fields: Any) -> None:
        """fsync the records and rewrite the manifest; safe to call from a helper thread."""
        self.manifest.update(fields)
        self.manifest["updated_at"] = now()
        text = json.dumps(self.manifest, indent=2, ensure_ascii=False) + "\n"
        self._sequence += 1
        sequence = self._sequence
        with self._write_lock:
            if sequence < self._written:  # a newer checkpoint got here first
                return
            if self._unsynced:
                self._unsynced = 0
                for fd in (self._fd, self._dropped_fd):
                    if fd is not None:
                        os.fsync(fd)
            write_text_atomic(self.manifest_path, text)
            self._written = sequence

    def _close_files(self) -> None:
        for fd in (self._fd, self._dropped_fd):
            if fd is not None:
                os.fsync(fd)
                os.close(fd)
        self._fd = self._dropped_fd = None

    def close(self) -> None:
        self._close_files()
        if self._lock is not None:
            fcntl.flock(self._lock.fileno(), fcntl.LOCK_UN)
            self._lock.close()
            self._lock = None


def _write_line(fd: int, record: Mapping[str, Any]) -> None:
    data = (json.dumps(record, ensure_ascii=False, separators=(",", ":")) + "\n").encode()
    # One write on an O_APPEND descriptor: a killed process leaves whole lines behind
    # (a torn line needs the machine itself to fail, and ``read_keys`` repairs that).
    written = os.write(fd, data)
    while written < len(data):  # only on a full disk or a signal; finish the line
        written += os.write(fd, data[written:])


def read_records(path: Path) -> Iterator[dict[str, Any]]:
    """The complete records of a JSONL file (a torn last line is skipped)."""
    if not path.exists():
        return
    with path.open("rb") as handle:
        for number, raw in enumerate(handle, start=1):
            if not raw.endswith(b"\n"):
                return  # a torn last line: the record it began was never finished
            if not raw.strip():
                continue
            try:
                record = json.loads(raw)
            except json.JSONDecodeError as exc:
                raise JobError(f"{path} line {number} is not JSON: {exc.msg}") from exc
            yield record


def read_keys(path: Path, *, repair: bool = False) -> list[str]:
    """The keys in a JSONL file; with ``repair``, cut off a torn last line first."""
    if not path.exists():
        return []
    if repair:
        _cut_torn_tail(path)
    return [str(record["key"]) for record in read_records(path)]


def _cut_torn_tail(path: Path) -> None:
    size = path.stat().st_size
    if size == 0:
        return
    with path.open("r+b") as handle:
        handle.seek(size - 1)
        if handle.read(1) == b"\n":
            return
        # Walk back to the last newline; everything after it is half a record.
        position = size
        block = 65536
        while position > 0:
            start = max(0, position - block)
            handle.seek(start)
            chunk = handle.read(position - start)
            newline = chunk.rfind(b"\n")
            if newline >= 0:
                handle.truncate(start + newline + 1)
                return
            position = start
        handle.truncate(0)
