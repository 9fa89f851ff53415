"""How `voterbot run` stops when it cannot work: real processes, real exit codes (the exits after
aiogram is imported start the bot from the preloaded fork server, tests/support/bot_process.py).

A database it cannot use, a Bot API it cannot reach or that answers nonsense: one line on stderr
naming the problem, exit code 2, no traceback, no secret, and the process really ends (the
subprocess timeout is only a guard against a hang, not a timing assertion)."""

from __future__ import annotations

import asyncio
import os
import shutil
import signal
import socket
import sqlite3
import subprocess
import sys
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from aiohttp import web

from bot.devtools.fake_api import FakeTelegram
from tests.conftest import DATA as FROZEN_CAMPAIGN
from tests.conftest import ROOT
from tests.support.bot_process import run_bot as forked_run
from tests.support.bot_process import start_bot

TOKEN = "123456:SECRET-part_of-the-token0123456789"
HANG_GUARD = 90  # seconds: a process that never exits fails the test instead of hanging the suite


def _env(**values: str) -> dict[str, str]:
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(("BOT_", "DATABASE_", "ADMIN_", "CONTENT_", "WEBHOOK_", "REDIS_", "METRICS_", "STARTUP_"))
    }
    env["CONTENT_DIR"] = str(FROZEN_CAMPAIGN)  # never data/
    env.update(values)
    return env


def run_bot(*, prefix: tuple[str, ...] = (), forked: bool = False, **values: str) -> subprocess.CompletedProcess[str]:
    """`python -m bot run` in a new interpreter (the exits before aiogram is imported are timed by
    that), or `forked` from the preloaded fork server (tests/support/bot_process.py)."""
    env = _env(**{"BOT_TOKEN": TOKEN, "BOT_API_BASE": "http://127.0.0.1:9", **values})
    if forked:
        return forked_run("run", env=env, timeout=HANG_GUARD)
    return subprocess.run(
        [*prefix, sys.executable, "-m", "bot", "run"],
        env=env,
        capture_output=True,
        text=True,
        timeout=HANG_GUARD,
        cwd=ROOT,
    )


def assert_clear_exit(result: subprocess.CompletedProcess[str], *needles: str) -> str:
    """Exit code 2, exactly one line on stderr that says ``needles``, no traceback."""
    assert result.returncode == 2, result.stderr
    assert result.stderr.count("\n") == 1, result.stderr
    assert "Traceback" not in result.stderr
    for needle in needles:
        assert needle in result.stderr, result.stderr
    return result.stderr


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.fixture(scope="module")
def populated_database(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A real database of the bot (migrated by ``voterbot db upgrade``), with enough rows for many pages; made
    once (one bot process) and copied by each test that damages or reads it (``_copy``)."""
    path = tmp_path_factory.mktemp("populated") / "bot.sqlite3"
    _populated_database(path)
    return path


def _copy(template: Path, path: Path) -> Path:
    shutil.copyfile(template, path)
    return path


def _populated_database(path: Path) -> None:
    result = subprocess.run(
        [sys.executable, "-m", "bot", "db", "upgrade"],
        env=_env(DATABASE_URL=f"sqlite:///{path}"),
        capture_output=True,
        text=True,
        timeout=HANG_GUARD,
        cwd=ROOT,
    )
    assert result.returncode == 0, result.stderr  # migrated by the bot's own command
    db = sqlite3.connect(path)
    with db:
        db.executemany(
            "INSERT INTO users (id, telegram_language, first_seen, last_seen, blocked) VALUES (?, 'ru', 0, 0, 0)",
            [(n,) for n in range(1, 20_001)],
        )
    db.execute("PRAGMA wal_checkpoint(TRUNCATE)")  # everything in the file itself, none in the -wal
    db.close()


# --- a database the bot cannot use --------------------------------------------------------------


@pytest.mark.slow
def test_random_bytes_instead_of_a_database(tmp_path: Path) -> None:
    path = tmp_path / "bot.sqlite3"
    path.write_bytes(os.urandom(64 * 1024))
    assert_clear_exit(run_bot(DATABASE_URL=f"sqlite:///{path}"), str(path), "not an SQLite database")


@pytest.mark.slow
def test_truncated_database(tmp_path: Path, populated_database: Path) -> None:
    path = _copy(populated_database, tmp_path / "bot.sqlite3")
    whole = path.read_bytes()
    for size in (len(whole) // 2, len(whole) - 1000):  # a page lost in the middle; the tail of the last one
        path.write_bytes(whole[:size])
        assert_clear_exit(run_bot(DATABASE_URL=f"sqlite:///{path}"), str(path), "damaged")


@pytest.mark.slow
def test_read_only_database(tmp_path: Path, populated_database: Path) -> None:
    path = _copy(populated_database, tmp_path / "bot.sqlite3")
    path.chmod(0o444)
    prefix: tuple[str, ...] = ()
    if os.geteuid() == 0:  # root writes anything: run the bot as root without that power
        setpriv = shutil.which("setpriv")
        if setpriv is None:
            pytest.skip("running as root and setpriv (util-linux) is missing: a file cannot be read-only to root")
        prefix = (setpriv, "--bounding-set=-dac_override,-dac_read_search", "--")
    stderr = assert_clear_exit(run_bot(prefix=prefix, DATABASE_URL=f"sqlite:///{path}"), str(path), "read-only")
    assert "readonly" in stderr


@pytest.mark.slow
def test_folder_that_cannot_be_created(tmp_path: Path) -> None:
    blocker = tmp_path / "not-a-folder"
    blocker.write_text("a file where the database's folder should be")
    path = blocker / "var" / "bot.sqlite3"
    assert_clear_exit(run_bot(DATABASE_URL=f"sqlite:///{path}"), str(path), "cannot create or open")


@pytest.mark.slow
def test_unreachable_postgresql() -> None:
    port = free_port()  # nothing listens there
    stderr = assert_clear_exit(
        run_bot(DATABASE_URL=f"postgresql://voterbot:pg-Password-42@127.0.0.1:{port}/voterbot"),
        f"postgresql://127.0.0.1:{port}/voterbot",
        "cannot connect",
    )
    assert "pg-Password-42" not in stderr


# --- a Bot API that is down, or answers nonsense -------------------------------------------------


@pytest.mark.slow
async def test_unreachable_bot_api_is_retried_until_it_comes_up(tmp_path: Path) -> None:
    port = free_port()
    env = _env(
        BOT_TOKEN="123456:TEST-TOKEN",
        BOT_API_BASE=f"http://127.0.0.1:{port}",
        DATABASE_URL=f"sqlite:///{tmp_path / 'bot.sqlite3'}",
    )
    process = await start_bot("run", env=env)
    fake = FakeTelegram()
    lines: list[str] = []
    try:
        assert process.stderr is not None
        async with asyncio.timeout(HANG_GUARD):
            while not any("retrying in" in line for line in lines):
                line = (await process.stderr.readline()).decode()
                assert line, "".join(lines)  # the process must not end
                lines.append(line)
        await fake.start(port=port)
        await fake.wait_polling(timeout=HANG_GUARD)
        process.send_signal(signal.SIGTERM)
        rest = await asyncio.wait_for(process.stderr.read(), HANG_GUARD)
        await asyncio.wait_for(process.wait(), HANG_GUARD)
    finally:
        if process.returncode is None:
            process.kill()
        await fake.stop()
    log = "".join(lines) + rest.decode()
    assert process.returncode == 0, log
    retries = [line for line in log.splitlines() if "is unreachable" in line]
    assert retries and all("WARNING" in line and "(attempt " in line for line in retries)
    assert "answered after" in log
    assert "Traceback" not in log


@pytest.mark.slow
def test_bot_api_that_stays_down_is_a_clear_exit(tmp_path: Path) -> None:
    result = run_bot(
        BOT_API_BASE=f"http://127.0.0.1:{free_port()}",
        DATABASE_URL=f"sqlite:///{tmp_path / 'bot.sqlite3'}",
        STARTUP_RETRY_SECONDS="2",
        forked=True,
    )
    assert result.returncode == 2, result.stderr
    *retries, last = result.stderr.splitlines()
    assert retries and all("retrying in" in line for line in retries[1:])  # the first line: content, database
    assert last.startswith("voterbot: BOT_API_BASE: the Bot API at http://127.0.0.1:") and "unreachable" in last
    assert "Traceback" not in result.stderr


@pytest.fixture
async def echo_api() -> AsyncIterator[str]:
    """A "Bot API" that redirects every request and then echoes the path it was asked for (token
    included) in an error page, in a JSON error, as a getMe result that is not a user, or after a
    good getMe in the error of the next call (an exception nobody foresaw escaping the event loop)."""

    async def redirect(request: web.Request) -> web.Response:
        raise web.HTTPFound(f"/echo/{request.match_info['mode']}{request.path}")

    async def echo(request: web.Request) -> web.Response:
        mode, asked = request.match_info["mode"], "/" + request.match_info["rest"]
        if mode == "html":
            return web.Response(text=f"<h1>No such page: {asked}</h1>", content_type="text/html")
        if mode == "json-404":
            return web.json_response({"ok": False, "error_code": 404, "description": f"Not Found: {asked}"}, status=404)
        if mode == "not-a-user":
            return web.json_response({"ok": True, "result": {"id": asked, "is_bot": asked}})
        if asked.endswith("/getMe"):  # "later-400": start-up passes, the next call fails
            return web.json_response({"ok": True, "result": {"id": 1, "is_bot": True, "first_name": "Echo"}})
        return web.json_response({"ok": False, "error_code": 400, "description": f"Bad Request: {asked}"}, status=400)

    app = web.Application()
    app.router.add_route("*", "/{mode}/bot{token}/{method}", redirect)
    app.router.add_route("*", "/echo/{mode}/{rest:.+}", echo)
    runner = web.AppRunner(app, handle_signals=False)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = runner.addresses[0][1]
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        await runner.cleanup()


@pytest.mark.slow
@pytest.mark.parametrize("mode", ["html", "json-404", "not-a-user", "later-400"])
async def test_a_bot_api_echoing_the_token_never_prints_it(echo_api: str, mode: str, tmp_path: Path) -> None:
    env = _env(
        BOT_TOKEN=TOKEN,
        BOT_API_BASE=f"{echo_api}/{mode}",
        DATABASE_URL=f"sqlite:///{tmp_path / 'bot.sqlite3'}",
        STARTUP_RETRY_SECONDS="1",
    )
    process = await start_bot("run", env=env, stdout=True)
    stdout, stderr = await asyncio.wait_for(process.communicate(), HANG_GUARD)
    output = stdout.decode() + stderr.decode()
    secret_part = TOKEN.partition(":")[2]
    assert secret_part[:8] not in output, output  # not even a truncated piece of it
    if mode in ("json-404", "later-400"):  # the server's own error text is printed, redacted
        assert "<redacted>" in output
    last = stderr.decode().splitlines()[-1]
    assert last.startswith("voterbot: "), output
    if mode == "later-400":  # an error nobody foresaw: exit 1, its traceback logged, redacted
        assert process.returncode == 1 and "stopped by an unexpected error" in last
        assert "Traceback" in output and "TelegramBadRequest" in last
    else:
        assert process.returncode == 2 and "Traceback" not in output


@pytest.mark.slow
def test_health_check_reads_the_schema(tmp_path: Path, populated_database: Path) -> None:
    """`voterbot health` (the Docker HEALTHCHECK): green only for a database with the current schema."""

    def health(path: Path) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [sys.executable, "-m", "bot", "health"],
            env=_env(DATABASE_URL=f"sqlite:///{path}"),
            capture_output=True,
            text=True,
            timeout=HANG_GUARD,
            cwd=ROOT,
        )

    good = _copy(populated_database, tmp_path / "good.sqlite3")
    result = health(good)
    assert result.returncode == 0 and result.stdout.startswith("ok: database"), result.stderr
    foreign = tmp_path / "foreign.sqlite3"
    with sqlite3.connect(foreign) as db:  # a database, but not the bot's: `select 1` would pass
        db.execute("CREATE TABLE t (x)")
    broken = tmp_path / "broken.sqlite3"
    broken.write_bytes(os.urandom(8192))
    for path, problem in ((foreign, "no such table: alembic_version"), (broken, "not an SQLite database")):
        result = health(path)
        assert result.returncode == 1 and result.stderr.count("\n") == 1 and problem in result.stderr, result.stderr
    assert not (tmp_path / "missing.sqlite3").exists()
    assert health(tmp_path / "missing.sqlite3").returncode == 1
    assert not (tmp_path / "missing.sqlite3").exists()  # the check creates nothing


def test_redaction_covers_the_token_its_secret_part_and_passwords_in_urls() -> None:
    import io
    import logging

    from bot.logs import RedactFilter, Redactor, secrets_of

    redact = Redactor(
        secrets_of(
            TOKEN, "webhook-Secret-0123456789", ["postgresql://bot:p%40ss:w0rd@db/x", "redis://:r3dis-pw@r:6379/0"]
        )
    )
    secret_part = TOKEN.partition(":")[2]
    text = redact(
        f"GET /bot{TOKEN}/getMe; part {secret_part}; hook webhook-Secret-0123456789; pg p@ss:w0rd, p%40ss:w0rd"
    )
    assert text == ("GET /bot<redacted>/getMe; part <redacted>; hook <redacted>; pg <redacted>, <redacted>"), text
    assert "r3dis-pw" not in redact("redis said r3dis-pw")

    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.addFilter(RedactFilter(redact))
    logger = logging.getLogger("tests.redaction")
    logger.addHandler(handler)
    try:
        try:
            raise RuntimeError(f"failed at /bot{TOKEN}/getMe")
        except RuntimeError:
            logger.error("while calling %s", f"/bot{TOKEN}/x", exc_info=True)
    finally:
        logger.removeHandler(handler)
    assert secret_part not in stream.getvalue() and stream.getvalue().count("<redacted>") == 2


@pytest.mark.slow
async def test_webhook_port_in_use_is_a_clear_exit(tmp_path: Path) -> None:
    fake = FakeTelegram()
    await fake.start()
    taken = socket.socket()
    taken.bind(("127.0.0.1", 0))
    taken.listen()
    try:
        env = _env(
            BOT_TOKEN=fake.token,
            BOT_API_BASE=fake.base_url,
            DATABASE_URL=f"sqlite:///{tmp_path / 'bot.sqlite3'}",
            WEBHOOK_URL="https://bot.example.org/tg/webhook",
            WEBHOOK_SECRET="s3cret-Webhook_token-0123456789",
            WEBHOOK_LISTEN=f"127.0.0.1:{taken.getsockname()[1]}",
        )
        process = await start_bot("run", "--webhook", env=env)
        _, stderr = await asyncio.wait_for(process.communicate(), HANG_GUARD)
    finally:
        taken.close()
        await fake.stop()
    log = stderr.decode()
    assert process.returncode == 2, log
    assert log.splitlines()[-1].startswith("voterbot: WEBHOOK_LISTEN: cannot listen"), log
    assert "Traceback" not in log
    assert not fake.calls_of("setWebhook")  # nothing registered for a server that never listened
