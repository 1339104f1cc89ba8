"""Every table of the schema: the articles' models and the scheduler's, on one metadata.

Import this module, not one model module, where the whole schema is needed (Alembic's target,
copying a database): each model module adds its tables to ``Base.metadata`` when imported.
"""

from __future__ import annotations

from sqlalchemy import MetaData

from storage import host_models, models, pending_models, scheduler_models
from storage.base import Base

#: The model modules whose tables make up :data:`metadata`.
MODULES = (models, scheduler_models, host_models, pending_models)
metadata: MetaData = Base.metadata
