"""Near-duplicate signatures (MinHash with LSH bands) and same-story similarity of articles.

Near-duplicates are copies of one text (a wire story syndicated with another headline, byline,
boilerplate, an added sentence). :func:`signature` turns an extracted body into 128 MinHash
values over its word 3-shingles; :func:`band_hashes` folds them into 25 band hashes (5 values
each) for an indexed SQL column, so a store finds candidates by equal ``(band, bucket)`` pairs;
:func:`is_near_duplicate` then accepts a candidate whose estimated Jaccard similarity reaches
0.6. With 25 bands of 5 rows, a pair at Jaccard 0.5 shares a band with probability 0.55, at
0.6 with 0.87, at 0.7 with 0.99 (1 - (1 - J**5)**25).

Same-story articles are written independently about one event: :func:`same_story` compares
:class:`StoryFeatures` (title words, entities, publication time, signature).

Stored signatures stay comparable only while these are unchanged: shingling (lowercase ``\\w+``
words, 3 per shingle, joined by one space, UTF-8), the shingle hash (the first 4 bytes of
SHA-1, little-endian), the permutations (datasketch ``scheme="affine32"``, ``seed=1``,
``num_perm=128``) and the band hash (BLAKE2b-64, personalised). datasketch 2.0 changed its
default scheme, so every one of them is passed explicitly; :data:`SIGNATURE_SCHEME` names
the combination, for a column or a migration to record.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import datetime, timedelta

import numpy as np
import numpy.typing as npt
from datasketch import MinHash

from crawler.entities import Gazetteer, default_gazetteer

NUM_PERM = 128
SEED = 1
SCHEME = "affine32"
SHINGLE_WORDS = 3
BANDS = 25
ROWS = 5
# Fewer words than this give no signature: a short text shares too large a part of its
# shingles with boilerplate and other short texts for the estimate to mean "a copy".
MIN_WORDS = 50
NEAR_DUPLICATE_THRESHOLD = 0.6
SIGNATURE_SCHEME = (f"minhash-{SCHEME}-seed{SEED}-perm{NUM_PERM}-sha1-w{SHINGLE_WORDS}"
                    f"-b{BANDS}r{ROWS}")
SIGNATURE_BYTES = NUM_PERM * 4

_WORD_RE = re.compile(r"\w+")
_BAND_PERSON = b"newsmon-lsh-v1"  # BLAKE2b personalisation: at most 16 bytes
assert BANDS * ROWS <= NUM_PERM


def _shingle_hash(data: bytes) -> int:
    # Written out rather than taken from datasketch.hashfunc so that a library change of its
    # default cannot change stored signatures.
    return int.from_bytes(hashlib.sha1(data).digest()[:4], "little")


# Generating the permutations (a seeded RandomState) costs more than hashing a short article,
# so it is done once and handed to every MinHash.
_PERMUTATIONS = MinHash(num_perm=NUM_PERM, seed=SEED, scheme=SCHEME,
                        hashfunc=_shingle_hash).permutations


@dataclass(frozen=True, slots=True)
class Signature:
    """The 128 MinHash values of a text, stored as 512 little-endian bytes."""

    data: bytes

    def __post_init__(self) -> None:
        if len(self.data) != SIGNATURE_BYTES:
            raise ValueError(f"a signature is {SIGNATURE_BYTES} bytes, not {len(self.data)}")

    @classmethod
    def from_bytes(cls, data: bytes) -> Signature:
        """Read what :meth:`to_bytes` wrote. Raises ValueError on a wrong length."""
        return cls(bytes(data))

    def to_bytes(self) -> bytes:
        return self.data

    @property
    def values(self) -> npt.NDArray[np.uint32]:
        return np.frombuffer(self.data, dtype="<u4")


def _shingles(words: list[str]) -> set[bytes]:
    n = SHINGLE_WORDS
    return {" ".join(words[i:i + n]).encode() for i in range(len(words) - n + 1)}


def shingles(text: str) -> set[bytes]:
    """Distinct word 3-shingles of ``text`` (lowercase ``\\w+`` words), UTF-8 encoded."""
    return _shingles(_WORD_RE.findall(text.lower()))


def signature(text: str) -> Signature | None:
    """MinHash signature of an extracted body, or None when it has fewer than 50 words.

    None means "too short to compare": store no bands, and never call it a near-duplicate.
    """
    words = _WORD_RE.findall(text.lower())
    if len(words) < MIN_WORDS:
        return None
    mh = MinHash(num_perm=NUM_PERM, seed=SEED, scheme=SCHEME, hashfunc=_shingle_hash,
                 permutations=_PERMUTATIONS)
    mh.update_batch(_shingles(words))
    return Signature(np.asarray(mh.hashvalues, dtype="<u4").tobytes())


def band_hashes(sig: Signature) -> list[int]:
    """25 signed 64-bit hashes, one per band of 5 values, for a BIGINT column.

    Band ``i`` hashes the byte ``i`` followed by the band's 20 bytes, so equal values in
    different bands never collide; the result is the same on every platform and run. Two
    signatures that share any ``(index, hash)`` pair are candidates.
    """
    out = []
    for band in range(BANDS):
        chunk = sig.data[band * ROWS * 4:(band + 1) * ROWS * 4]
        digest = hashlib.blake2b(bytes([band]) + chunk, digest_size=8,
                                 person=_BAND_PERSON).digest()
        out.append(int.from_bytes(digest, "little", signed=True))
    return out


def jaccard_estimate(a: Signature | None, b: Signature | None) -> float:
    """Estimated Jaccard similarity of the two texts' shingle sets (0.0 if either is None)."""
    if a is None or b is None:
        return 0.0
    return float(np.count_nonzero(a.values == b.values)) / NUM_PERM


def is_near_duplicate(
    a: Signature | None, b: Signature | None, threshold: float = NEAR_DUPLICATE_THRESHOLD
) -> bool:
    """Whether two texts are copies of one another: estimated Jaccard >= ``threshold``.

    On the labelled set (docs/benchmarks.md) no two different stories reached 0.33, while
    two copies of a short wire story, each with its own header, footer and added sentence,
    fell as low as 0.37: 0.6 never merges stories there but misses some copy pairs, which
    a store recovers by filing each copy under any member of its group.
    """
    return a is not None and b is not None and jaccard_estimate(a, b) >= threshold


# --- same story -------------------------------------------------------------------------------

# Words that say nothing about which event a headline reports.
_STOPWORDS = frozenset("""
a an the and or but of in on at to for from by with without as into onto over under about
after before amid against between during since until via vs per is are was were be been being
has have had do does did will would can could may might must shall should it its it's this
that these those he she they them his her their we our you your i not no new says said say
up down out off more most less than then so if how what why who when where which while says
report reports latest news update live here there all any some very just also
""".split())

STORY_WINDOW = timedelta(hours=48)
TITLE_WEIGHT = 0.6
ENTITY_WEIGHT = 0.4
SAME_STORY_THRESHOLD = 0.4
MIN_SHARED_TITLE_WORDS = 2


def title_tokens(title: str, gazetteer: Gazetteer | None = None) -> frozenset[str]:
    """Content words of a headline: names of entities (``gazetteer``, the packaged one by
    default) and stop words dropped, lowercase, a plural -s removed ("Drones" = "drone").

    Entities are compared on their own; leaving their names out of the title words keeps two
    "India, US ..." headlines about different events from looking alike twice over.
    """
    return frozenset(content_words(title, gazetteer))


def content_words(title: str, gazetteer: Gazetteer | None = None) -> Iterator[str]:
    """The words :func:`title_tokens` keeps, in the headline's order (repeats included)."""
    for w in (gazetteer or default_gazetteer()).without_mentions(title):
        w = w.lower()
        if w in _STOPWORDS or (len(w) < 2 and not w.isdigit()):
            continue
        if len(w) > 3 and w.endswith("s") and not w.endswith("ss"):
            w = w[:-1]
        yield w


@dataclass(frozen=True, slots=True)
class StoryFeatures:
    """What same-story matching compares. ``published`` should be timezone-aware (or all
    naive); None means unknown, which no time window excludes."""

    title_tokens: frozenset[str]
    entity_ids: frozenset[str]
    published: datetime | None
    signature: Signature | None = None

    @classmethod
    def build(
        cls,
        title: str,
        entity_ids: Iterable[str],
        published: datetime | None,
        signature: Signature | bytes | None = None,
        *,
        gazetteer: Gazetteer | None = None,
    ) -> StoryFeatures:
        """Features of an article from its headline, entity ids, time and signature (the
        object or its 512 stored bytes); see :func:`title_tokens` for ``gazetteer``."""
        if isinstance(signature, bytes | bytearray | memoryview):
            signature = Signature.from_bytes(bytes(signature))
        return cls(title_tokens(title, gazetteer), frozenset(entity_ids), published, signature)


def _dice(a: frozenset[str], b: frozenset[str]) -> float:
    return 2 * len(a & b) / (len(a) + len(b)) if a or b else 0.0


def _jaccard(a: frozenset[str], b: frozenset[str]) -> float:
    return len(a & b) / len(a | b) if a or b else 0.0


def within_window(a: StoryFeatures, b: StoryFeatures, window: timedelta = STORY_WINDOW) -> bool:
    """True unless both times are known and further apart than ``window``."""
    if a.published is None or b.published is None:
        return True
    return abs(a.published - b.published) <= window


def story_similarity(a: StoryFeatures, b: StoryFeatures) -> float:
    """Similarity in [0, 1] of two articles as reports of one event.

    0 outside the 48-hour window; 1 for near-duplicate signatures; otherwise
    ``0.6 * Dice(title words) + 0.4 * Jaccard(entity ids)``, title words as
    :func:`title_tokens` gives them (without entity names).
    """
    if not within_window(a, b):
        return 0.0
    if is_near_duplicate(a.signature, b.signature):
        return 1.0
    return (TITLE_WEIGHT * _dice(a.title_tokens, b.title_tokens)
            + ENTITY_WEIGHT * _jaccard(a.entity_ids, b.entity_ids))


def same_story(a: StoryFeatures, b: StoryFeatures) -> bool:
    """Whether two articles report the same event.

    True for near-duplicates within the window; otherwise the similarity must reach 0.4 and
    the headlines must share at least two content words besides entity names, so that
    entities alone (two India-US stories of one day) never make a story.
    """
    sim = story_similarity(a, b)
    if sim >= 1.0:
        return True
    return (sim >= SAME_STORY_THRESHOLD
            and len(a.title_tokens & b.title_tokens) >= MIN_SHARED_TITLE_WORDS)
