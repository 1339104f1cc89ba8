"""Storage: SQLAlchemy models, Alembic migrations and the Store API the other packages share."""

from storage.article import ArticleRecord
from storage.engine import MissingDatabase, StorageError, make_engine
from storage.records import Outcome, RunStats
from storage.store import Store

__all__ = ["ArticleRecord", "MissingDatabase", "Outcome", "RunStats", "StorageError", "Store",
           "make_engine"]
