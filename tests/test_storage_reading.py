"""storage.reading: one pinned connection for the reads of a request."""

from __future__ import annotations

from pathlib import Path

from newsfactory import Newsroom
from sqlalchemy import text

from storage.queries import article_detail
from storage.reading import connection, one_connection
from storage.store import Store


def test_reads_inside_the_block_share_its_connection(store: Store, tmp_path: Path) -> None:
    with one_connection(store) as pinned:
        with connection(store) as a:
            assert a is pinned
        assert not pinned.closed  # the reader's block does not close the pinned one
        with connection(store) as b:
            assert b is pinned
        other = Store.from_url(f"sqlite:///{tmp_path / 'other.db'}")
        try:
            with connection(other) as c:  # another database gets its own
                assert c is not pinned and c.engine is other.engine
        finally:
            other.close()
    assert pinned.closed
    with connection(store) as d:
        assert d is not pinned
    assert d.closed


def test_a_page_of_reads_checks_out_one_connection(store: Store) -> None:
    room = Newsroom(store)
    first = room.one("Army orders new howitzers", story="army")
    room.one("Howitzer order placed by army", source="agency", story="army")
    checkouts: list[object] = []

    from sqlalchemy import event

    def count(dbapi_conn: object, record: object, proxy: object) -> None:
        checkouts.append(dbapi_conn)

    event.listen(store.engine, "checkout", count)
    try:
        with one_connection(store) as conn:
            detail = article_detail(store, first)  # the article, its story, siblings, versions
            conn.execute(text("SELECT 1"))
        assert detail is not None and len(detail.siblings) == 1 and detail.versions
        assert len(checkouts) == 1
        checkouts.clear()
        article_detail(store, first)
        assert len(checkouts) > 1  # unpinned, each read checks out its own
    finally:
        event.remove(store.engine, "checkout", count)
