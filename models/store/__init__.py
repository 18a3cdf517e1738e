"""Storage of the system of record: the SQLAlchemy declarative base and tables (leads,
organisation, documents, returns, policies, escalation runs), engines and transactions,
the bulk statements the batch paths use, the indicators' aggregation SQL, the
organisation snapshot the rules read, and the Alembic migrations. Store modules import
:mod:`models.domain` for the rules' types, and the audit trail where they read it
(``tables``, so that every table is registered; ``orgview``, whose held snapshot is
current as of the chain's head); they hold no rule themselves.
"""
