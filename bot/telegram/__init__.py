"""Telegram infrastructure that is not a feature: the implementations of the services' delivery
ports (the broadcast sender, the send-gate request middleware)."""
