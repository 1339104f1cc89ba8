"""StoryFiler: files a batch of new articles under stories, inside the batch's transaction.

For every new article, in order: a near-duplicate (an article sharing LSH band buckets,
confirmed by the matcher) gives it that article's story and marks it a copy; else an
article about the same event (sharing entities within the matcher's time window, confirmed
by the matcher) gives it its story; else it opens a new story as its primary. Candidates
come from a few set-based queries per batch (LSH buckets; headline terms within the time
window), never a scan of the corpus or of the window, and earlier
articles of the same batch are candidates for later ones.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from itertools import count
from typing import Any

from sqlalchemy import func, select, text, update
from sqlalchemy.orm import Session

from storage.models import Article, ArticleBand, ArticleEntity, ArticleTerm, Story
from storage.records import ArticleRecord, Candidate, StoryMatcher

# Any constant will do: it names the lock that serialises story filing across processes.
STORY_LOCK = 0x6E65_7773  # "news"
MAX_CANDIDATES = 50
_CHUNK = 5_000


@dataclass(slots=True)
class NewArticle:
    article_id: int
    record: ArticleRecord
    source_id: int


def _chunks(values: Sequence[int], size: int = _CHUNK) -> Iterable[Sequence[int]]:
    for i in range(0, len(values), size):
        yield values[i:i + size]


class StoryFiler:
    def __init__(self, session: Session, matcher: StoryMatcher | None) -> None:
        self.session = session
        self.matcher = matcher
        self._temp_ids = count(-1, -1)  # provisional ids of stories opened in this batch

    def file(self, items: Sequence[NewArticle]) -> None:
        if not items:
            return
        if self.session.get_bind().dialect.name == "postgresql":
            # Two processes filing copies of one wire story at once would each miss the
            # other and open two stories; one transaction at a time files stories.
            self.session.execute(text("SELECT pg_advisory_xact_lock(:k)"), {"k": STORY_LOCK})
        by_bucket: dict[int, list[Candidate]] = defaultdict(list)
        by_term: dict[str, list[Candidate]] = defaultdict(list)
        if self.matcher is not None:
            self._load_band_candidates(items, by_bucket)
            self._load_term_candidates(items, by_term)

        assigned: list[tuple[int, int, int | None]] = []  # article, story (maybe temp), dup of
        new_stories: dict[int, Story] = {}
        for item in items:
            rec = item.record
            match, duplicate_of = self._match(rec, by_bucket, by_term)
            if match is not None and match.story_id is not None:
                story_id = match.story_id
            else:
                story_id = next(self._temp_ids)
                when = rec.published_at or rec.fetched_at
                new_stories[story_id] = Story(
                    primary_article_id=item.article_id, title=rec.title,
                    first_seen_at=rec.fetched_at, last_seen_at=when)
            assigned.append((item.article_id, story_id, duplicate_of))
            if self.matcher is not None:
                self._remember(item, story_id, duplicate_of, by_bucket, by_term)

        real: dict[int, int] = {}
        if new_stories:
            temps = list(new_stories)
            self.session.add_all(new_stories[t] for t in temps)
            self.session.flush()
            real = {t: new_stories[t].id for t in temps}
        # ORM bulk UPDATE by primary key: one executemany for the whole batch.
        self.session.execute(update(Article), [
            {"id": a, "story_id": real.get(s, s), "duplicate_of_id": d} for a, s, d in assigned])
        # Stories that gained an article: existing ones, and new ones joined by a later copy
        # in this same batch. A new story with one article already has the right counts.
        members = Counter(s for _, s, _ in assigned)
        joined = {real.get(s, s) for s, n in members.items() if s > 0 or n > 1}
        if joined:
            self._recount(sorted(joined))

    # -- matching ------------------------------------------------------------------------

    def _match(
        self, rec: ArticleRecord, by_bucket: dict[int, list[Candidate]],
        by_term: dict[str, list[Candidate]],
    ) -> tuple[Candidate | None, int | None]:
        if self.matcher is None:
            return None, None
        if rec.bands:
            hits: Counter[int] = Counter()
            seen: dict[int, Candidate] = {}
            for bucket in rec.bands:
                for cand in by_bucket.get(bucket, ()):
                    hits[cand.article_id] += 1
                    seen[cand.article_id] = cand
            if hits:
                cands = [seen[a] for a, _ in hits.most_common(MAX_CANDIDATES)]
                for c in cands:
                    c.shared_bands = hits[c.article_id]
                match = self.matcher.near_duplicate(rec, cands)
                if match is not None:
                    return match, match.duplicate_of_id or match.article_id
        if rec.title_terms:
            shared: Counter[int] = Counter()
            seen = {}
            for term in set(rec.title_terms):
                for cand in by_term.get(term, ()):
                    shared[cand.article_id] += 1
                    seen[cand.article_id] = cand
            need = self.matcher.min_shared_terms
            cands = [seen[a] for a, n in shared.most_common(MAX_CANDIDATES) if n >= need]
            if cands:
                match = self.matcher.same_story(rec, cands)
                if match is not None:
                    return match, None
        return None, None

    def _remember(self, item: NewArticle, story_id: int, duplicate_of: int | None,
                  by_bucket: dict[int, list[Candidate]],
                  by_term: dict[str, list[Candidate]]) -> None:
        rec = item.record
        cand = Candidate(article_id=item.article_id, story_id=story_id,
                         duplicate_of_id=duplicate_of, title=rec.title, minhash=rec.minhash,
                         entities=set(rec.entities), published_at=rec.published_at,
                         first_seen_at=rec.fetched_at)
        for bucket in rec.bands:
            by_bucket[bucket].append(cand)
        if duplicate_of is None:
            for term in set(rec.title_terms):
                by_term[term].append(cand)

    # -- candidate pools -----------------------------------------------------------------

    def _load_band_candidates(self, items: Sequence[NewArticle],
                              by_bucket: dict[int, list[Candidate]]) -> None:
        buckets = sorted({b for it in items for b in it.record.bands})
        own = {it.article_id for it in items}
        cands: dict[int, Candidate] = {}
        for chunk in _chunks(buckets):
            # One round trip: the bucket hits with what the matcher needs of each article.
            for row in self.session.execute(
                select(ArticleBand.bucket, *_CANDIDATE_COLUMNS)
                .join(Article, Article.id == ArticleBand.article_id)
                .where(ArticleBand.bucket.in_(chunk), Article.story_id.is_not(None))
            ):
                if row[1] in own:
                    continue
                cand = cands.get(row[1])
                if cand is None:
                    cand = cands[row[1]] = _candidate(row[1:])
                by_bucket[int(row[0])].append(cand)

    def _load_term_candidates(self, items: Sequence[NewArticle],
                              by_term: dict[str, list[Candidate]]) -> None:
        """Stored articles within the time window that share a headline term with some
        article of the batch (a same-story match needs several shared terms)."""
        assert self.matcher is not None
        terms = sorted({t for it in items for t in it.record.title_terms})
        if not terms:
            return
        times = [it.record.published_at or it.record.fetched_at for it in items]
        lo, hi = min(times) - self.matcher.window, max(times) + self.matcher.window
        own = {it.article_id for it in items}
        hits: list[tuple[str, int]] = []
        for chunk in _chunks(terms):  # type: ignore[arg-type]
            hits.extend(
                (str(t), int(a)) for t, a in self.session.execute(
                    select(ArticleTerm.term, ArticleTerm.article_id)
                    .join(Article, Article.id == ArticleTerm.article_id)
                    .where(ArticleTerm.term.in_(chunk), ArticleTerm.at.between(lo, hi),
                           Article.story_id.is_not(None), Article.duplicate_of_id.is_(None)))
                if a not in own)
        # Only articles sharing enough terms with one of the batch are worth loading.
        term_sets: dict[int, set[str]] = defaultdict(set)
        for term, aid in hits:
            term_sets[aid].add(term)
        # Which batch articles use each term: testing a stored article against the whole
        # batch one by one grew with (window's articles x batch size).
        holders: dict[str, list[int]] = defaultdict(list)
        for i, it in enumerate(items):
            for term in set(it.record.title_terms):
                holders[term].append(i)
        need = self.matcher.min_shared_terms
        wanted = [aid for aid, ts in term_sets.items() if _shares(ts, holders, need)]
        cands = self._candidates(sorted(wanted), with_entities=True)
        for aid, cand in cands.items():
            for term in term_sets[aid]:
                by_term[term].append(cand)

    def _candidates(self, ids: Sequence[int], *, with_entities: bool) -> dict[int, Candidate]:
        out: dict[int, Candidate] = {}
        for chunk in _chunks(ids):
            for row in self.session.execute(
                select(*_CANDIDATE_COLUMNS)
                .where(Article.id.in_(chunk), Article.story_id.is_not(None))
            ):
                out[row[0]] = _candidate(row)
        if with_entities and out:
            keys = sorted(out)
            for chunk in _chunks(keys):
                for aid, eid in self.session.execute(
                    select(ArticleEntity.article_id, ArticleEntity.entity_id)
                    .where(ArticleEntity.article_id.in_(chunk))
                ):
                    out[aid].entities.add(eid)
        return out

    def _recount(self, story_ids: Sequence[int]) -> None:
        rows: list[dict[str, object]] = []
        for chunk in _chunks(story_ids):
            for sid, n, sources, last in self.session.execute(
                select(Article.story_id, func.count(Article.id),
                       func.count(func.distinct(Article.source_id)),
                       func.max(func.coalesce(Article.published_at, Article.first_seen_at)))
                .where(Article.story_id.in_(chunk)).group_by(Article.story_id)
            ):
                rows.append({"id": sid, "article_count": n, "source_count": sources,
                             "last_seen_at": _aware(last)})
        if rows:
            self.session.execute(update(Story), rows)


_CANDIDATE_COLUMNS = (Article.id, Article.story_id, Article.duplicate_of_id, Article.title,
                      Article.minhash, Article.published_at, Article.first_seen_at)


def _candidate(row: Sequence[Any]) -> Candidate:
    return Candidate(article_id=row[0], story_id=row[1], duplicate_of_id=row[2], title=row[3],
                     minhash=row[4], entities=set(), published_at=row[5],
                     first_seen_at=row[6])


def _shares(terms: set[str], holders: dict[str, list[int]], need: int) -> bool:
    """Whether some batch article uses at least ``need`` of ``terms``."""
    if len(terms) < need:
        return False
    seen: Counter[int] = Counter()
    for term in terms:
        for i in holders.get(term, ()):
            seen[i] += 1
            if seen[i] >= need:
                return True
    return False


def _aware(value: datetime | str) -> datetime:
    """``max(coalesce(...))`` comes back as text on SQLite, bypassing the column type."""
    from storage.types import UTCDateTime

    out = UTCDateTime().process_result_value(value, None)  # type: ignore[arg-type]
    assert out is not None
    return out
