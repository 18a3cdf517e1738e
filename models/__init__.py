"""The domain and its storage: organisation, the lead and its lifecycle, the audit trail.

Rules are plain functions; tables are SQLAlchemy 2.x typed declarative models;
everything that enters or leaves is a pydantic schema (:mod:`models.schemas`).
"""
