"""Keyset cursors of search: where a hit sits in its order (:class:`SortKey`), and that key as
an opaque string (URL-safe base64 of JSON) for a ``next`` link.

Orders (see :mod:`storage.search`): by rank, the headline matches come first (tier 0) best
first, then the articles that match only in the body (tier 1) newest first; by date every hit
is tier 1, newest first. A page continues strictly after the key of the previous page's last
hit, so by date an article stored meanwhile never shifts the pages after it; by rank it may,
as ranks depend on what the whole index holds (bm25's statistics), but no hit is shown twice
unless its rank changed.
"""

from __future__ import annotations

import base64
import binascii
import json
from dataclasses import dataclass
from datetime import datetime
from typing import Literal

Order = Literal["rank", "date"]


class CursorError(ValueError):
    """A cursor that is not one :func:`encode_cursor` made for this order."""

    def __init__(self, reason: str) -> None:
        super().__init__(f"cursor: {reason}; pass the `next` of the previous page as it is")
        self.reason = reason


@dataclass(frozen=True, slots=True)
class SortKey:
    """A hit's place in its order. ``tier`` 0: a headline match, ordered by ``rank``
    (higher first), then by ``at`` and ``id`` (newer first; SQLite: ``id`` alone); tier 1:
    ordered by ``at`` and ``id`` (SQLite's body-only matches: by ``id``, the order stored)."""

    tier: int
    id: int
    rank: float | None = None
    at: datetime | None = None


def encode_cursor(order: Order, key: SortKey) -> str:
    data = {"o": order, "t": key.tier, "i": key.id, "r": key.rank,
            "a": key.at.isoformat() if key.at is not None else None}
    raw = json.dumps(data, separators=(",", ":"), sort_keys=True).encode("ascii")
    return base64.urlsafe_b64encode(raw).decode("ascii").rstrip("=")


def decode_cursor(cursor: str, order: Order) -> SortKey:
    """The key ``cursor`` carries; :class:`CursorError` if it is malformed or was made for
    the other order."""
    if len(cursor) > 400:
        raise CursorError("too long to be a cursor")
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4))
        data = json.loads(raw.decode("ascii"))
    except (binascii.Error, ValueError, UnicodeDecodeError):
        raise CursorError("not a search cursor") from None
    if not isinstance(data, dict) or set(data) != {"o", "t", "i", "r", "a"}:
        raise CursorError("not a search cursor")
    if data["o"] != order:
        raise CursorError(f"made for sort={data['o']}, not sort={order}")
    tier, ident, rank, at = data["t"], data["i"], data["r"], data["a"]
    if (tier not in (0, 1) or isinstance(tier, bool) or not isinstance(ident, int)
            or isinstance(ident, bool) or ident < 1
            or not (rank is None or (isinstance(rank, int | float)
                                     and not isinstance(rank, bool)))
            or not (at is None or isinstance(at, str))
            or (tier == 0 and rank is None) or (order == "date" and (tier, rank) != (1, None))):
        raise CursorError("not a search cursor")
    try:
        when = datetime.fromisoformat(at) if at is not None else None
    except ValueError:
        raise CursorError("not a search cursor") from None
    if when is not None and when.tzinfo is None:
        raise CursorError("not a search cursor")
    return SortKey(tier=tier, id=ident, rank=None if rank is None else float(rank), at=when)


__all__ = ["CursorError", "Order", "SortKey", "decode_cursor", "encode_cursor"]
