"""Article extraction: ``extract_article(html, url, fetched_at=...) -> ExtractedArticle``.

A pure function over one HTML page (nothing is fetched): title, highlights,
summary, body (trafilatura plus junk removal), authors, dates (every date
string parsed by :mod:`crawler.timeparse`, with the winning one and its
evidence kind), language, image, section, tags. See
:mod:`crawler.extraction.extractor` for the selector contract.

The crawl's extraction step is :func:`crawler.extraction.page.article_from_page`: a
fetched page and what its feed entry said in, the article item out, with the page's time
weighed against the entry's (:mod:`crawler.extraction.published`).
"""

from __future__ import annotations

from crawler.extraction.extractor import extract_article
from crawler.extraction.model import DateCandidate, ExtractedArticle

__all__ = ["DateCandidate", "ExtractedArticle", "extract_article"]
