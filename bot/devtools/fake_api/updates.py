"""How updates reach the bot: ``getUpdates`` (long polling, offsets confirming what the bot handled,
``allowed_updates``) and the webhook methods."""

from __future__ import annotations

import asyncio
import contextlib
from typing import Any

from .errors import ApiError, bad_request
from .model import JSON
from .params import as_bool, as_int
from .state import FakeState, Request


class UpdateMethods(FakeState):
    """getUpdates, setWebhook, deleteWebhook, getWebhookInfo."""

    async def _get_updates(self, req: Request) -> Any:
        if self.webhook.get("url"):
            raise ApiError(
                409,
                "Conflict: can't use getUpdates method while webhook is active; "
                "use deleteWebhook to delete the webhook first",
            )
        params = req.params
        self.get_updates_requests += 1
        await self._notify()
        offset = as_int(params.get("offset", 0), "offset")
        limit = max(1, min(100, as_int(params.get("limit", 100), "limit")))
        timeout = max(0, as_int(params.get("timeout", 0), "timeout"))
        if "allowed_updates" in params:
            allowed = params["allowed_updates"]
            self._allowed_updates = list(allowed) if isinstance(allowed, list) and allowed else None
        self._drop_disallowed()
        if offset > 0:
            self._pending = [u for u in self._pending if u["update_id"] >= offset]
            if offset - 1 > self._confirmed:
                for uid in range(self._confirmed + 1, offset):
                    self._confirm_index[uid] = len(self.calls)
                self._confirmed = offset - 1
                await self._notify()
        elif offset < 0:
            self._pending = self._pending[offset:]
        if not self._pending and timeout > 0 and not self._closing:
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(timeout), self._cond:
                    await self._cond.wait_for(lambda: bool(self._pending) or self._closing)
            self._drop_disallowed()
        return self._pending[:limit]

    def _drop_disallowed(self) -> None:
        """Like Telegram, never deliver update types outside allowed_updates; they count as processed."""
        allowed = self._allowed_updates
        if allowed is None:
            return
        keep: list[JSON] = []
        for update in self._pending:
            if any(key in update for key in allowed):
                keep.append(update)
            else:
                self._skipped.add(update["update_id"])
                self._confirm_index[update["update_id"]] = len(self.calls)
        if len(keep) != len(self._pending):
            self._pending = keep
            self._notify_soon()

    def _notify_soon(self) -> None:
        task = asyncio.get_running_loop().create_task(self._notify())
        self._background.add(task)
        task.add_done_callback(self._background.discard)

    async def _set_webhook(self, req: Request) -> Any:
        url = str(req.params["url"])
        if url and not url.startswith("https://"):
            raise bad_request("bad webhook: An HTTPS URL must be provided for webhook")
        self.webhook = {"url": url, "secret_token": req.params.get("secret_token")}
        if as_bool(req.params.get("drop_pending_updates", False)):
            self._pending.clear()
        return True

    async def _delete_webhook(self, req: Request) -> Any:
        self.webhook = {"url": ""}
        if as_bool(req.params.get("drop_pending_updates", False)):
            self._pending.clear()
        return True

    async def _get_webhook_info(self, req: Request) -> Any:
        return {
            "url": self.webhook.get("url", ""),
            "has_custom_certificate": False,
            "pending_update_count": len(self._pending),
        }
