"""Alembic environment: runs on the connection `leadflow.migrate` hands it."""

from __future__ import annotations

from alembic import context

import models.audit
import models.lead
import models.organisation
import models.records  # noqa: F401
from models.base import Base

connection = context.config.attributes["connection"]
context.configure(connection=connection, target_metadata=Base.metadata, render_as_batch=True)
with context.begin_transaction():
    context.run_migrations()
