"""Every table, registered on ``Base.metadata`` by importing its module (for Alembic and tests)."""

from models import audit
from models.store import lead, organisation, outbox, people, records
from models.store.base import Base

metadata = Base.metadata
__all__ = ["audit", "lead", "metadata", "organisation", "outbox", "people", "records"]
