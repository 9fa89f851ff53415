"""Telegram infrastructure that is not a feature: the delivery engine's sender
(:mod:`bot.telegram.sender`, the :class:`~bot.services.delivery.ports.Sender` port over aiogram) and
the request middleware that makes every message the bot sends wait for the shared send gate
(:mod:`bot.telegram.gate_middleware`). Same layer as the handlers: services never import it; the
composition root (:mod:`bot.app`) wires it in."""
