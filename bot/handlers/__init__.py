"""Telegram I/O: feature routers (built by :func:`bot.handlers.routers.build_routers`), their screens
and texts (:mod:`bot.handlers.texts`, :mod:`bot.handlers.screens`), and the implementations of the
services' ports for their feature."""
