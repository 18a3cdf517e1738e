"""Every table, registered on ``Base.metadata`` by importing its module (for Alembic and tests)."""

from models import audit, lead, organisation, records
from models.base import Base

metadata = Base.metadata
__all__ = ["audit", "lead", "metadata", "organisation", "records"]
