"""Editor-owned content (``data/*.yaml``) validated into typed objects at start-up."""

from bot.content.loader import Content, ContentError, ContentStore, load_content
from bot.content.models import Campaign, FaqCategory, FaqEntry, Localized, Source

__all__ = [
    "Campaign",
    "Content",
    "ContentError",
    "ContentStore",
    "FaqCategory",
    "FaqEntry",
    "Localized",
    "Source",
    "load_content",
]
