"""Logging set-up: one format, and the bot token never appears in any record."""

from __future__ import annotations

import logging
import sys

QUIET_LOGGERS = ("aiosqlite",)


class RedactFilter(logging.Filter):
    def __init__(self, secrets: list[str]) -> None:
        super().__init__()
        self.secrets = [secret for secret in secrets if secret]

    def filter(self, record: logging.LogRecord) -> bool:
        if not self.secrets:
            return True
        message = record.getMessage()
        redacted = message
        for secret in self.secrets:
            redacted = redacted.replace(secret, "<redacted>")
        if record.exc_info and record.exc_info[1] is not None:
            text = logging.Formatter().formatException(record.exc_info)
            for secret in self.secrets:
                if secret in text:
                    record.exc_text = text.replace(secret, "<redacted>")
                    break
        if redacted != message:
            record.msg, record.args = redacted, None
        return True


def setup_logging(level: str, secrets: list[str]) -> None:
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
    handler.addFilter(RedactFilter(secrets))
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level)
    logging.getLogger("aiogram.event").setLevel(max(logging.getLogger().level, logging.WARNING))
    # aiosqlite logs every call with its SQL parameters at DEBUG (residents' questions, ids): never
    # below INFO, whatever LOG_LEVEL says.
    for name in QUIET_LOGGERS:
        logging.getLogger(name).setLevel(max(root.level, logging.INFO))
