"""``pending_pages``: entries whose page was refused and which gave too little to store an
article from (a sitemap entry without ``news:title``): kept with what the entry said, the
page's failure and when to try it again, so they are not lost. When a try of the page works
the article is stored as any other and the row goes (:mod:`storage.pending`).
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, Index, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from storage.base import Base


class PendingPage(Base):
    """One entry waiting for its page (no article stored for it yet)."""

    __tablename__ = "pending_pages"
    __table_args__ = (Index("ix_pending_pages_source_retry", "source_name", "page_retry_at"),)

    url_key: Mapped[str] = mapped_column(String(2048), primary_key=True)
    source_name: Mapped[str] = mapped_column(String(64))
    url: Mapped[str] = mapped_column(Text)
    # What the entry said (crawler.spiders.base.Hint's fields, times as ISO text).
    entry: Mapped[dict[str, Any]] = mapped_column(JSON)
    page_error: Mapped[str] = mapped_column(Text)
    page_attempts: Mapped[int] = mapped_column(Integer)
    # When the page is tried again; NULL: its tries are spent (kept as the record of a loss).
    page_retry_at: Mapped[datetime | None]
    first_seen_at: Mapped[datetime]
    last_failed_at: Mapped[datetime]
