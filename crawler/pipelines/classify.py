"""ClassifyPipeline: topics, entities and the near-duplicate signature of each article."""

from __future__ import annotations

from typing import Any

from scrapy.crawler import Crawler

from crawler.dedup.features import band_hashes, content_words, signature
from crawler.dedup.salient import story_keys
from crawler.entities import Gazetteer
from crawler.topics import Taxonomy, classify
from storage.article import ArticleRecord
from storage.text import MAX_TITLE_TERMS


def enrich(item: ArticleRecord, taxonomy: Taxonomy, gazetteer: Gazetteer,
           pinned: str | None = None) -> None:
    """Fill ``item``'s topic scores, topics, entities, MinHash, bands, headline terms and
    story keys in place."""
    scores = classify(item.title, item.body, item.highlights, taxonomy=taxonomy, pinned=pinned)
    item.topic_scores = dict(scores.scores)
    item.topics = {t: scores.scores[t] for t in scores.topics}
    item.primary_topic = scores.primary
    text = "\n".join([item.title, *item.highlights, item.body])
    item.entities = {e.id: e.mentions for e in gazetteer.extract(text)}
    sig = signature(item.body)
    item.minhash = sig.to_bytes() if sig is not None else None
    item.bands = band_hashes(sig) if sig is not None else []
    item.title_terms = title_terms(item.title, gazetteer)
    item.story_keys = story_keys(item.title, item.body, item.language)


def title_terms(title: str, gazetteer: Gazetteer) -> list[str]:
    """The headline terms stored for story matching: the first ``MAX_TITLE_TERMS`` distinct
    content words of the title (storage.text), so its word pairs stay bounded."""
    kept: dict[str, None] = {}
    for term in content_words(title, gazetteer):
        if len(term) <= 64:
            kept[term] = None
            if len(kept) == MAX_TITLE_TERMS:
                break
    return sorted(kept)


class ClassifyPipeline:
    def __init__(self, crawler: Crawler, taxonomy: Taxonomy, gazetteer: Gazetteer) -> None:
        self.crawler = crawler
        self.taxonomy = taxonomy
        self.gazetteer = gazetteer

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> ClassifyPipeline:
        return cls(crawler, Taxonomy.load(crawler.settings.get("NEWSMON_TOPICS_FILE")),
                   Gazetteer.load(crawler.settings.get("NEWSMON_ENTITIES_FILE")))

    def process_item(self, item: Any) -> Any:
        if isinstance(item, ArticleRecord):
            source = getattr(self.crawler.spider, "source", None)
            pinned = source.topic.value if source is not None and source.topic else None
            enrich(item, self.taxonomy, self.gazetteer, pinned)
        return item
