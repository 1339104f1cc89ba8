"""The item the spiders yield: an article ready for the pipelines (a storage record)."""

from __future__ import annotations

from storage.records import ArticleRecord as ArticleItem

__all__ = ["ArticleItem"]
