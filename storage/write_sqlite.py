"""Writing articles on SQLite: multi-row INSERT … RETURNING through SQLAlchemy Core."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy import insert, select
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.orm import Session

from storage.article import ArticleRecord
from storage.models import Article, ArticleURL, ArticleVersion
from storage.stories import Found, NewArticle, StoryFiler
from storage.write import _ARTICLE_FIELDS, ArticleWriter, record_keys, version_row


class SqliteWriter(ArticleWriter):
    """:class:`~storage.write.ArticleWriter` on SQLite: new rows are inserted, then filed
    (the writer holds the file's write lock from its first statement, so nothing else
    inserts meanwhile)."""

    def insert(self, table: Any) -> Any:
        return sqlite_insert(table)

    def known_ids(self, session: Session, keys: Sequence[str]) -> dict[str, int]:
        wanted = list(dict.fromkeys(keys))
        found: dict[str, int] = {}
        for i in range(0, len(wanted), 1000):
            found.update(session.execute(
                select(ArticleURL.url_key, ArticleURL.article_id)
                .where(ArticleURL.url_key.in_(wanted[i:i + 1000]))
            ).all())
        return found

    def insert_new(self, session: Session, filer: StoryFiler, records: Sequence[ArticleRecord],
                   source_ids: dict[str, int], found: Found | None) -> dict[str, int]:
        inserted = self._insert_rows(session, records, source_ids)
        items = [NewArticle(inserted[r.url_key], r, source_ids[r.source])
                 for r in records if r.url_key in inserted]
        # A key another writer took meanwhile shifts the items: look up again then.
        filer.file(items, found if len(items) == len(records) else None)
        return inserted

    def _insert_rows(self, session: Session, records: Sequence[ArticleRecord],
                     source_ids: dict[str, int]) -> dict[str, int]:
        """Insert ``records`` with their versions, aliases and enrichment, not yet filed;
        return key -> id of those inserted."""
        rows = []
        for rec in records:
            values: dict[str, Any] = {f: getattr(rec, f) for f in _ARTICLE_FIELDS}
            rows.append(dict(values, url_key=rec.url_key, source_id=source_ids[rec.source],
                             content_hash=rec.content_hash(), first_seen_at=rec.fetched_at,
                             fetched_at=rec.fetched_at, modified_at=rec.modified_at))
        ids: dict[str, int] = dict(session.execute(
            self.insert(Article.__table__).values(rows)
            .on_conflict_do_nothing(index_elements=["url_key"])
            .returning(Article.url_key, Article.id)
        ).all())
        done = [r for r in records if r.url_key in ids]
        if not done:
            return ids
        session.execute(insert(ArticleVersion), [
            dict(version_row(r, row["content_hash"]), article_id=ids[r.url_key],
                 modified_at=r.modified_at)
            for r, row in zip(records, rows, strict=True) if r.url_key in ids])
        alias_rows = {k: ids[r.url_key] for r in done for k in record_keys(r)}
        session.execute(
            self.insert(ArticleURL.__table__)
            .values([{"url_key": k, "article_id": a} for k, a in alias_rows.items()])
            .on_conflict_do_nothing(index_elements=["url_key"]))
        self.insert_enrichment(session, [(ids[r.url_key], r) for r in done])
        return ids
