"""Logging set-up: one format, and no secret (bot token, webhook secret, database and Redis
passwords) in any record, uncaught exception or line printed at exit."""

from __future__ import annotations

import logging
import sys
import threading
import traceback
from collections.abc import Iterable
from types import TracebackType
from urllib.parse import quote, unquote, urlsplit

REDACTED = "<redacted>"


class Redactor:
    """Replaces every known secret in a text. Longest first, so a secret that contains another
    (the token contains its own secret part) is replaced whole."""

    def __init__(self, secrets: Iterable[str | None]) -> None:
        found = {secret for secret in secrets if secret and len(secret) >= 4}
        found |= {quote(secret, safe="") for secret in found}  # as it appears inside a URL
        self.secrets = sorted(found, key=len, reverse=True)

    def __call__(self, text: str) -> str:
        for secret in self.secrets:
            if secret in text:
                text = text.replace(secret, REDACTED)
        return text


def secrets_of(
    token: str | None = None,
    webhook_secret: str | None = None,
    urls: Iterable[str | None] = (),
) -> list[str]:
    """What must never be printed: the token and its secret part (after the colon: the part before
    it is the bot's public id), the webhook secret, and the passwords inside URLs."""
    secrets: list[str] = []
    if token:
        secrets += [token, token.partition(":")[2]]
    if webhook_secret:
        secrets.append(webhook_secret)
    for url in urls:
        if url:
            try:
                password = urlsplit(url).password
            except ValueError:
                password = None
            if password:
                secrets += [password, unquote(password)]  # as written in the URL, and as used
    return secrets


QUIET_LOGGERS = ("sqlalchemy.engine", "sqlalchemy.pool", "alembic")


class RedactFilter(logging.Filter):
    def __init__(self, redact: Redactor) -> None:
        super().__init__()
        self.redact = redact

    def filter(self, record: logging.LogRecord) -> bool:
        if not self.redact.secrets:
            return True
        message = record.getMessage()
        redacted = self.redact(message)
        if record.exc_info and record.exc_info[1] is not None:
            text = record.exc_text or logging.Formatter().formatException(record.exc_info)
            record.exc_text = self.redact(text)
        elif record.exc_text:
            record.exc_text = self.redact(record.exc_text)
        if record.stack_info:
            record.stack_info = self.redact(record.stack_info)
        if redacted != message:
            record.msg, record.args = redacted, None
        return True


def install_hooks(redact: Redactor) -> None:
    """Uncaught exceptions (main thread, other threads, unraisable ones) are printed redacted."""

    def excepthook(kind: type[BaseException], error: BaseException, tb: TracebackType | None) -> None:
        sys.stderr.write(redact("".join(traceback.format_exception(kind, error, tb))))

    def thread_hook(args: threading.ExceptHookArgs) -> None:
        if args.exc_type is SystemExit:
            return
        name = args.thread.name if args.thread is not None else "?"
        text = "".join(traceback.format_exception(args.exc_type, args.exc_value, args.exc_traceback))
        sys.stderr.write(redact(f"Exception in thread {name}:\n{text}"))

    def unraisable_hook(unraisable: sys.UnraisableHookArgs) -> None:
        text = "".join(traceback.format_exception(unraisable.exc_type, unraisable.exc_value, unraisable.exc_traceback))
        sys.stderr.write(redact(f"{unraisable.err_msg or 'Exception ignored in'}: {unraisable.object!r}\n{text}"))

    sys.excepthook = excepthook
    threading.excepthook = thread_hook
    sys.unraisablehook = unraisable_hook


def setup_logging(level: str, secrets: list[str] | Redactor) -> Redactor:
    """Log to stderr with secrets redacted; also redact uncaught exceptions. Returns the redactor
    for anything else printed (the one line at exit)."""
    redact = secrets if isinstance(secrets, Redactor) else Redactor(secrets)
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
    handler.addFilter(RedactFilter(redact))
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level)
    logging.getLogger("aiogram.event").setLevel(max(logging.getLogger().level, logging.WARNING))
    # The database drivers and SQLAlchemy log statements with their parameters (residents'
    # questions, ids) at INFO and DEBUG: never below WARNING, whatever LOG_LEVEL says.
    for name in QUIET_LOGGERS:
        logging.getLogger(name).setLevel(max(root.level, logging.WARNING))
    install_hooks(redact)
    return redact
