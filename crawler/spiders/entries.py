"""EntryLedger: which entries each feed, sitemap or listing response listed, and what became
of them, so that response's HTTP validators are saved only once nothing it listed is left.

A feed that answers 304 is not read, so its entries are not met again until it changes. Its
ETag and Last-Modified may therefore be saved only when every entry of the response was
stored, or deliberately skipped (already stored and not due for a re-fetch, an invalid URL).
An entry whose page failed to download, whose item was dropped (a challenge page, a body too
short), or that the per-run cap left out keeps the old validators, and the next run reads the
whole response again and meets it.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, field


@dataclass(slots=True)
class _Origin:
    """One configured start URL: its entries (URL keys) and the validators to save."""

    entries: set[str] = field(default_factory=set)
    validators: tuple[str | None, str | None] | None = None
    incomplete: str | None = None  # why not everything it lists was even looked at


@dataclass(slots=True)
class Verdict:
    """For one start URL: save its validators, or why not."""

    url: str
    etag: str | None
    last_modified: str | None
    left: list[str]  # entries (URL keys) neither stored nor deliberately skipped
    incomplete: str | None

    @property
    def save(self) -> bool:
        return not self.left and self.incomplete is None


class EntryLedger:
    """Per start URL (the *origin*, as configured): the URL keys of the entries its response
    listed (a sitemap index's children's entries included), and per entry the keys of the
    items it produced that went through every pipeline."""

    def __init__(self) -> None:
        self._origins: dict[str, _Origin] = {}
        self._items_of: dict[str, set[str]] = {}  # entry key -> item keys it produced
        self._passed: set[str] = set()  # item keys that went through every pipeline
        self._settled: set[str] = set()  # item keys deliberately not stored (not articles)

    def _origin(self, url: str) -> _Origin:
        return self._origins.setdefault(url, _Origin())

    def listed(self, origin: str, key: str) -> None:
        """``origin``'s response listed entry ``key``, which must now be stored."""
        self._origin(origin).entries.add(key)

    def produced(self, key: str, item_key: str) -> None:
        """Entry ``key`` gave an item stored under ``item_key`` (it may still be dropped)."""
        self._items_of.setdefault(key, set()).add(item_key)

    def passed(self, item_key: str) -> None:
        """An item went through every pipeline (its batch may still fail to commit)."""
        self._passed.add(item_key)

    def settled(self, item_key: str) -> None:
        """An item was deliberately not stored (its page is not an article): its entry is
        done with, as an entry already stored is."""
        self._settled.add(item_key)

    def incomplete(self, origin: str, why: str) -> None:
        """Not all of what ``origin`` lists was read (a child sitemap failed, say)."""
        entry = self._origin(origin)
        if entry.incomplete is None:
            entry.incomplete = why

    def read(self, origin: str, etag: str | None, last_modified: str | None) -> None:
        """``origin``'s response was read to the end; these are its validators."""
        self._origin(origin).validators = (etag, last_modified)

    @property
    def pending(self) -> bool:
        return any(o.validators is not None for o in self._origins.values())

    def verdicts(self, stored: Callable[[Iterable[str]], set[str]]) -> list[Verdict]:
        """For each origin read with validators: save them, or which entries are left.

        ``stored(keys)`` says which item keys the database holds now (after the last batch
        was written); an entry counts as stored when one of its items passed every pipeline
        and is in the database.
        """
        candidates = {k for keys in self._items_of.values() for k in keys} & self._passed
        in_db = stored(sorted(candidates)) if candidates else set()
        out = []
        for url, origin in self._origins.items():
            if origin.validators is None:
                continue
            left = sorted(k for k in origin.entries
                          if not (self._items_of.get(k, set()) & (in_db | self._settled)))
            out.append(Verdict(url, *origin.validators, left, origin.incomplete))
        return out


__all__ = ["EntryLedger", "Verdict"]
