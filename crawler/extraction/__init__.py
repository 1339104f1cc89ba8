"""Article extraction: ``extract_article(html, url, fetched_at=...) -> ExtractedArticle``.

A pure function over one HTML page (nothing is fetched): title, highlights,
summary, body (trafilatura plus junk removal), authors, dates (every date
string parsed by :mod:`crawler.timeparse`, with the winning one and its
evidence kind), language, image, section, tags. See
:mod:`crawler.extraction.extractor` for the selector contract.
"""

from __future__ import annotations

from crawler.extraction.extractor import extract_article
from crawler.extraction.model import DateCandidate, ExtractedArticle

__all__ = ["DateCandidate", "ExtractedArticle", "extract_article"]
