"""What the HTTP benches share: a fresh database per run and a keep-alive HTTP/1.1 client on
asyncio streams (no client library between the load and the server)."""

from __future__ import annotations

import asyncio
import subprocess
import sys
from collections.abc import Mapping
from pathlib import Path

import psycopg

REPO = Path(__file__).resolve().parents[1]


def fresh_database(
    server_url: str, name: str, env: Mapping[str, str], *, static: bool = False
) -> None:
    """Drop and create the bench's database `name` on the server at `server_url` (ending in
    "/"), then migrate it (and collect the static files when `static`, as a deployment does)."""
    with psycopg.connect(server_url + "postgres", autocommit=True) as conn:
        conn.execute(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")
        conn.execute(f"CREATE DATABASE {name}")
    commands = [["migrate"], *([["collectstatic", "--noinput"]] if static else [])]
    for command in commands:
        subprocess.run(
            [sys.executable, "manage.py", *command, "--verbosity", "0"],
            cwd=REPO,
            env=dict(env),
            check=True,
        )


Headers = dict[bytes, list[bytes]]


class HttpConnection:
    """One keep-alive connection to 127.0.0.1:`port`, opened on the first request (and again
    after `close`). Bodies come back whole, chunked or not."""

    def __init__(self, port: int) -> None:
        self.port = port
        self.reader: asyncio.StreamReader | None = None
        self.writer: asyncio.StreamWriter | None = None

    async def request(
        self, method: str, path: str, headers: Mapping[str, str], body: bytes = b""
    ) -> tuple[int, Headers, bytes]:
        if self.writer is None:
            self.reader, self.writer = await asyncio.open_connection("127.0.0.1", self.port)
        assert self.reader is not None
        lines = [f"{method} {path} HTTP/1.1", f"Host: 127.0.0.1:{self.port}"]
        lines += [f"{key}: {value}" for key, value in headers.items()]
        if method == "POST":
            lines.append(f"Content-Length: {len(body)}")
        self.writer.write(("\r\n".join(lines) + "\r\n\r\n").encode() + body)
        status_line = await self.reader.readuntil(b"\r\n")
        answer: Headers = {}
        while (line := await self.reader.readuntil(b"\r\n")) != b"\r\n":
            key, _, value = line.partition(b":")
            answer.setdefault(key.strip().lower(), []).append(value.strip())
        if b"chunked" in b"".join(answer.get(b"transfer-encoding", [])):
            payload = b""
            while size := int((await self.reader.readuntil(b"\r\n")).strip(), 16):
                payload += (await self.reader.readexactly(size + 2))[:-2]
            await self.reader.readuntil(b"\r\n")
        else:
            payload = await self.reader.readexactly(int(answer.get(b"content-length", [b"0"])[0]))
        return int(status_line.split()[1]), answer, payload

    def close(self) -> None:
        if self.writer is not None:
            self.writer.close()
        self.writer = None
