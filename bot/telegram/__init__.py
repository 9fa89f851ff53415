"""Telegram infrastructure that is not a feature, on the handlers' layer: sending and editing
screens (``ui``), keyboards and callback data, filters, middlewares, the per-chat command menus, and
the implementations of the delivery engine's ports (``sender``: the broadcast sender;
``gate_middleware``: every request through the send gate)."""
