"""Re-apply topics, entities and story clustering to stored articles (``newsmon reprocess``),
after config/topics.yaml or config/entities.yaml changed: batch after batch in first-seen
order, each one transaction (:func:`storage.reprocess.refile_batch`)."""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping
from datetime import datetime

from config.schema import Settings
from crawler.dedup import SimilarityMatcher
from crawler.entities import Gazetteer
from crawler.pipelines.classify import enrich
from crawler.topics import Taxonomy
from storage import ArticleRecord, Store
from storage.reprocess import Position, count_to_reprocess, refile_batch

logger = logging.getLogger(__name__)


def reprocess(
    store: Store, taxonomy: Taxonomy, gazetteer: Gazetteer, *,
    since: datetime | None = None, batch_size: int = 500,
    pinned: Mapping[str, str] | None = None,
    progress: Callable[[int, int], None] | None = None,
) -> int:
    """Re-process every article first seen at or after ``since`` (all, without it), with
    ``pinned`` topics by source name; ``progress(done, total)`` before the first batch and
    after each one. Returns how many articles were re-processed."""
    matcher = SimilarityMatcher(gazetteer)
    pins = dict(pinned or {})

    def again(rec: ArticleRecord) -> None:
        enrich(rec, taxonomy, gazetteer, pins.get(rec.source))

    total = count_to_reprocess(store, since)
    done = 0
    if progress is not None:
        progress(0, total)
    after: Position | None = None
    while True:
        batch = refile_batch(store, since, after, batch_size, again, matcher)
        if batch.after is None:
            break
        after = batch.after
        done += batch.done
        logger.debug("reprocessed %d of %d articles", done, total)
        if progress is not None:
            progress(done, max(total, done))
    return done


def reprocess_configured(
    store: Store, settings: Settings, *, since: datetime | None = None,
    batch_size: int = 500, progress: Callable[[int, int], None] | None = None,
) -> int:
    """:func:`reprocess` with the topics file, the entity gazetteer and the pinned source
    topics that ``settings`` name (what ``newsmon reprocess`` runs). Raises
    :class:`config.ConfigError` when the topics or entities file is invalid."""
    pinned = {s.name: s.topic.value for s in settings.sources if s.topic}
    return reprocess(store, Taxonomy.load(settings.topics_file),
                     Gazetteer.load(settings.entities_file), since=since,
                     batch_size=batch_size, pinned=pinned, progress=progress)
