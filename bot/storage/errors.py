"""A database the bot cannot use: reported as one line naming the database and the problem.

The CLI prints :class:`StorageError` like a configuration error (exit code 2, no traceback)."""

from __future__ import annotations

import sqlite3
from pathlib import Path


class StorageError(Exception):
    """The database cannot be opened, read or written; the message names it and says why."""


_SQLITE_HINTS = {
    "file is not a database": "not an SQLite database (random bytes, or another kind of file)",
    "database disk image is malformed": "damaged (truncated or corrupt; restore a backup)",
    "attempt to write a readonly database": "read-only (the bot needs to write to the file and its folder)",
    "unable to open database file": "cannot be opened (the folder is missing or not accessible)",
    "database or disk is full": "the disk is full",
    "database is locked": "locked by another process",
}


def sqlite_problem(path: Path | None, error: BaseException) -> StorageError:
    """A :class:`StorageError` for an SQLite or file-system error while opening ``path``."""
    name = str(path) if path is not None else ":memory:"
    if isinstance(error, sqlite3.Error):
        detail = str(error).splitlines()[0] if str(error) else type(error).__name__
        hint = next((text for known, text in _SQLITE_HINTS.items() if detail.lower().startswith(known)), None)
        return StorageError(f"database {name}: {hint} ({detail})" if hint else f"database {name}: {detail}")
    if isinstance(error, OSError):
        where = error.filename or name
        return StorageError(f"database {name}: cannot create or open {where}: {error.strerror or error}")
    return StorageError(f"database {name}: {type(error).__name__}: {error}")


def connection_problem(where: str, error: BaseException) -> StorageError:
    """A :class:`StorageError` for a database server that cannot be reached or refuses us."""
    if isinstance(error, TimeoutError):
        detail = "no answer (timed out)"
    else:
        detail = str(error).splitlines()[0] if str(error) else type(error).__name__
    return StorageError(f"database {where}: cannot connect: {detail}")
