"""Bot processes for the `slow` tests, forked from a server that has imported the libraries once.

A new interpreter running `python -m bot run` spends 4 to 5 s of CPU importing aiogram (it builds
about 300 pydantic models) before it does anything; the process tests start about twenty of them.
`start_bot()` starts the bot instead from a `multiprocessing` fork server of this test worker whose
preload imported aiogram, aiohttp, SQLAlchemy and the other libraries once (the way gunicorn's
`--preload` does). Each bot is a fresh fork of that single-threaded server, so it is a real process
of its own: its own pid, environment, working directory, stdin/stdout/stderr, signal handlers, exit
code, and SIGKILL/SIGSTOP work on it. It runs the same `bot.cli.main()` as `python -m bot` and
imports every `bot` module itself (nothing of the bot is preloaded).

What it does not test is the interpreter start and the entry points; those keep tests of their own
that start a new interpreter (`python -m bot`, `.venv/bin/voterbot`, `make chat`, the exits before
aiogram is imported in tests/test_exits.py).

The returned `BotProcess` has the part of `asyncio.subprocess.Process` the tests use.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import multiprocessing
import os
import signal
import socket
import subprocess
import sys
from collections.abc import Mapping, Sequence
from multiprocessing.context import ForkServerContext, ForkServerProcess
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
# A bot started by a test reads the frozen fixture campaign unless its environment names another
# CONTENT_DIR: never data/, which editors change.
FROZEN_CAMPAIGN = ROOT / "tests" / "fixtures" / "almaty-2026"

# Third-party libraries only: the bot's own modules are imported by each bot, as a new process would.
PRELOAD = (
    "aiogram",
    "aiogram.types",
    "aiogram.methods",
    "aiogram.client.session.aiohttp",
    "aiogram.fsm.storage.redis",
    "aiohttp.web",
    "sqlalchemy",
    "sqlalchemy.ext.asyncio",
    "sqlalchemy.dialects.postgresql.asyncpg",
    "alembic.config",
    "alembic.command",
    "asyncpg",
    "redis.asyncio",
    "pydantic_settings",
    "apscheduler.schedulers.asyncio",
    "prometheus_client",
    "babel.dates",
    "babel.support",
    "yaml",
    "rapidfuzz",
    "snowballstemmer",
    "PIL.Image",
)


@functools.cache
def _forkserver() -> ForkServerContext:
    """This worker's fork server; it starts (and imports ``PRELOAD``) with the first bot."""
    context = multiprocessing.get_context("forkserver")
    context.set_forkserver_preload(list(PRELOAD))
    return context


def _bot_main(
    args: Sequence[str],
    env: Mapping[str, str],
    cwd: str,
    stdin: socket.socket | None,
    stdout: socket.socket | None,
    stderr: socket.socket | None,
) -> None:
    """In the forked process: become `voterbot <args>` with this environment and these streams."""
    os.environ.clear()
    os.environ.update(env)
    os.chdir(cwd)
    devnull = os.open(os.devnull, os.O_RDWR)
    for fd, stream in ((0, stdin), (1, stdout), (2, stderr)):
        os.dup2(stream.fileno() if stream is not None else devnull, fd)
        if stream is not None:
            stream.close()
    os.close(devnull)
    # Text streams on the new descriptors, buffered as in an interpreter started with pipes; they are
    # the process's standard streams for the rest of its life, hence no `with`.
    sys.stdin = open(0, encoding="utf-8", closefd=False)  # noqa: SIM115
    sys.stdout = open(1, "w", encoding="utf-8", errors="backslashreplace", closefd=False)  # noqa: SIM115
    sys.stderr = open(2, "w", encoding="utf-8", errors="backslashreplace", buffering=1, closefd=False)  # noqa: SIM115
    signal.signal(signal.SIGTERM, signal.SIG_DFL)  # as in a new interpreter
    signal.signal(signal.SIGINT, signal.default_int_handler)
    sys.argv = ["voterbot", *args]
    from bot.cli import main

    try:
        code = main(list(args))
    finally:
        sys.stdout.flush()
        sys.stderr.flush()
    raise SystemExit(code)


class BotProcess:
    """A forked bot: `pid`, `returncode`, `send_signal()`, `kill()`, `wait()`, `communicate()`,
    and `stdout`/`stderr` stream readers when asked for."""

    def __init__(
        self,
        process: ForkServerProcess,
        stdin: asyncio.StreamWriter | None,
        stdout: asyncio.StreamReader | None,
        stderr: asyncio.StreamReader | None,
        ends: list[asyncio.StreamWriter],
    ) -> None:
        self._process = process
        self._ends = ends
        self.stdin = stdin
        self.stdout = stdout
        self.stderr = stderr
        loop = asyncio.get_running_loop()
        self._ended: asyncio.Future[int] = loop.create_future()
        loop.add_reader(process.sentinel, self._on_sentinel)  # readable once the process has ended

    def _on_sentinel(self) -> None:
        loop = asyncio.get_running_loop()
        loop.remove_reader(self._process.sentinel)
        self._process.join()
        code = self._process.exitcode
        assert code is not None
        if not self._ended.done():
            self._ended.set_result(code)  # negative: ended by that signal, as asyncio's returncode

    @property
    def pid(self) -> int:
        assert self._process.pid is not None
        return self._process.pid

    @property
    def returncode(self) -> int | None:
        return self._ended.result() if self._ended.done() else None

    def send_signal(self, sig: int) -> None:
        if self.returncode is None:
            with contextlib.suppress(ProcessLookupError):
                os.kill(self.pid, sig)

    def terminate(self) -> None:
        self.send_signal(signal.SIGTERM)

    def kill(self) -> None:
        self.send_signal(signal.SIGKILL)

    async def wait(self) -> int:
        code = await asyncio.shield(self._ended)
        if all(stream.at_eof() for stream in (self.stdout, self.stderr) if stream is not None):
            self._close_ends()
        return code

    def _close_ends(self) -> None:
        for end in self._ends:
            end.close()
        self._ends.clear()

    async def communicate(self, input: bytes | None = None) -> tuple[bytes, bytes]:
        if self.stdin is not None:
            if input:
                self.stdin.write(input)
            self.stdin.close()
        out, err = await asyncio.gather(_read_all(self.stdout), _read_all(self.stderr))
        await self.wait()
        self._close_ends()
        return out, err


async def _read_all(stream: asyncio.StreamReader | None) -> bytes:
    return await stream.read() if stream is not None else b""


async def start_bot(
    *args: str,
    env: Mapping[str, str],
    cwd: Path = ROOT,
    stdin: bool = False,
    stdout: bool = False,
    stderr: bool = True,
) -> BotProcess:
    """`voterbot <args>` as a forked process; `stdin`/`stdout`/`stderr`: give a stream (else /dev/null)."""
    env = {"CONTENT_DIR": str(FROZEN_CAMPAIGN), **env}
    context = _forkserver()
    ours: list[socket.socket | None] = []
    theirs: list[socket.socket | None] = []
    for wanted in (stdin, stdout, stderr):
        if wanted:
            mine, child = socket.socketpair()
            ours.append(mine)
            theirs.append(child)
        else:
            ours.append(None)
            theirs.append(None)
    process = context.Process(target=_bot_main, args=(list(args), dict(env), str(cwd), *theirs), daemon=True)
    await asyncio.to_thread(process.start)  # the first start waits for the fork server to import
    for end in theirs:
        if end is not None:
            end.close()
    writer: asyncio.StreamWriter | None = None
    readers: list[asyncio.StreamReader | None] = []
    if ours[0] is not None:
        _, writer = await asyncio.open_connection(sock=ours[0])
    ends: list[asyncio.StreamWriter] = []  # held: a collected writer would close the reading end
    for sock in ours[1:]:
        if sock is None:
            readers.append(None)
        else:
            reader, kept = await asyncio.open_connection(sock=sock, limit=2**20)
            readers.append(reader)
            ends.append(kept)
    return BotProcess(process, writer, readers[0], readers[1], ends)


def run_bot(
    *args: str, env: Mapping[str, str], input: str | None = None, cwd: Path = ROOT, timeout: float = 120
) -> subprocess.CompletedProcess[str]:
    """`subprocess.run([... "voterbot", *args], input=…, capture_output=True, text=True)` for a forked
    bot, from a test that is not async; stdin is /dev/null unless `input` is given."""

    async def run() -> subprocess.CompletedProcess[str]:
        process = await start_bot(*args, env=env, cwd=cwd, stdin=input is not None, stdout=True, stderr=True)
        try:
            out, err = await asyncio.wait_for(process.communicate(None if input is None else input.encode()), timeout)
        finally:
            process.kill()
        return subprocess.CompletedProcess(["voterbot", *args], await process.wait(), out.decode(), err.decode())

    return asyncio.run(run())
