"""Connection limits for the webhook server, in front of aiohttp's request handler.

aiohttp's server has no deadline for a request's headers and no cap on open connections: a client
that opens connections and never finishes its headers ("slow loris") holds a file descriptor each
until the process runs out. :class:`ConnectionGuard` wraps the server's protocol factory
(``loop.create_server(guard.factory, …)``):

- a connection must complete its first request's headers (``\\r\\n\\r\\n``) within
  ``header_timeout`` seconds of opening, else it is closed (later requests on a kept-alive
  connection are bounded by aiohttp's ``keepalive_timeout``, set to the same value by the runner);
- at most ``max_connections`` are open at once. One more takes the place of the oldest connection
  still waiting for its headers (so a crowd of slow clients cannot lock out Telegram or the health
  check); when every open connection has sent a whole request, the new one is closed at once
  (Telegram retries).

Each refusal is reported to ``on_refused(reason, peer)``."""

from __future__ import annotations

import asyncio
import logging
import time
import weakref
from collections.abc import Callable
from typing import Any

from aiohttp.http_exceptions import HttpProcessingError

HEADER_END = b"\r\n\r\n"
MAX_HEAD = 64 * 1024  # aiohttp refuses longer header lines itself; stop looking after this much


class _Refused(asyncio.Protocol):
    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        assert isinstance(transport, asyncio.Transport)
        transport.abort()


class _Guarded(asyncio.Protocol):
    """Forwards everything to aiohttp's handler; closes the connection when its head is late."""

    def __init__(self, guard: ConnectionGuard, inner: Any) -> None:
        self.guard = guard
        self.guard.open.add(self)  # counted from here: asyncio may create several before connecting any
        self.inner = inner
        self.created = time.monotonic()
        self.head_pending = True
        self.transport: asyncio.Transport | None = None
        self.timer: asyncio.TimerHandle | None = None
        self.seen = 0
        self.tail = b""

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        assert isinstance(transport, asyncio.Transport)
        self.transport = transport
        self.timer = asyncio.get_running_loop().call_later(self.guard.header_timeout, self._late)
        self.inner.connection_made(transport)

    def data_received(self, data: bytes) -> None:
        if self.timer is not None:
            window = self.tail + data
            self.seen += len(data)
            if HEADER_END in window or self.seen > MAX_HEAD:
                self.timer.cancel()
                self.timer = None
                self.head_pending = False
            self.tail = window[-3:]
        self.inner.data_received(data)

    def eof_received(self) -> bool | None:
        result: bool | None = self.inner.eof_received()
        return result

    def pause_writing(self) -> None:
        self.inner.pause_writing()

    def resume_writing(self) -> None:
        self.inner.resume_writing()

    def connection_lost(self, exc: Exception | None) -> None:
        if self.timer is not None:
            self.timer.cancel()
            self.timer = None
        self.guard.open.discard(self)
        self.inner.connection_lost(exc)

    def _late(self) -> None:
        self.close("header-timeout")

    def close(self, reason: str) -> None:
        if self.timer is not None:
            self.timer.cancel()
            self.timer = None
        self.head_pending = False
        self.guard.open.discard(self)
        if self.transport is not None and not self.transport.is_closing():
            self.guard.on_refused(reason, self.transport.get_extra_info("peername"))
            self.transport.abort()


class ConnectionGuard:
    def __init__(
        self,
        factory: Callable[[], Any],
        *,
        header_timeout: float,
        max_connections: int,
        on_refused: Callable[[str, Any], None],
    ) -> None:
        self.inner_factory = factory
        self.header_timeout = header_timeout
        self.max_connections = max_connections
        self.on_refused = on_refused
        # weak: a protocol whose connection failed before it was made is forgotten, not leaked
        self.open: weakref.WeakSet[_Guarded] = weakref.WeakSet()

    def factory(self) -> asyncio.Protocol:
        if len(self.open) >= self.max_connections:
            waiting = [c for c in self.open if c.head_pending and c.transport is not None]
            if not waiting:
                self.on_refused("connections", None)
                return _Refused()
            min(waiting, key=lambda connection: connection.created).close("crowded-out")
        return _Guarded(self, self.inner_factory())


class ParserErrorLog(logging.LoggerAdapter):  # type: ignore[type-arg]
    """aiohttp's server logger, for its request handlers (``AppRunner(logger=…)``): a request aiohttp
    cannot parse (a bad byte in a header, a broken request line, a wrong chunk…) is a refusal,
    ``bad-request``, reported to ``on_refused`` (counted, summarised once a minute) instead of an
    ``aiohttp.server`` traceback carrying what the client sent. Anything else is logged as before."""

    def __init__(self, on_refused: Callable[[str, Any], None]) -> None:
        super().__init__(logging.getLogger("aiohttp.server"), {})
        self.on_refused = on_refused

    def log(self, level: int, msg: object, *args: object, **kwargs: Any) -> None:
        error = kwargs.get("exc_info")
        if isinstance(error, HttpProcessingError):
            peer = args[0] if args else None
            self.on_refused("bad-request", peer if isinstance(peer, str) else None)
            return
        super().log(level, msg, *args, **kwargs)
