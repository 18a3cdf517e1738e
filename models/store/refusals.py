"""Database errors without data (docs/architecture.md principle 7).

A driver's message may quote what was written: PostgreSQL's DETAIL repeats the failing
row ("Failing row contains (…, 张三, 13800000000)") and SQLAlchemy's message adds the
statement's parameters. Such an error must not reach a terminal, a log, a traceback
file or an orchestrator's stored state. Every engine LeadFlow makes replaces the
driver's exception, before anything sees it, by one that names only what failed and
where: its class, its SQLSTATE, the table and the constraint.
"""

from __future__ import annotations

from sqlalchemy import Engine, event
from sqlalchemy.engine import ExceptionContext


class DatabaseRefusal(Exception):
    """A driver's error, retold without the data it quoted."""


def describe(error: BaseException) -> str:
    """What failed and where, never with what: no values, no statement parameters."""
    kind = type(error).__name__
    diag = getattr(error, "diag", None)
    if diag is not None:  # psycopg: the SQLSTATE and the names, never the message's detail
        state = getattr(error, "sqlstate", None)
        parts = [f"SQLSTATE {state}"] if state else []
        for label, name in (("table", "table_name"), ("constraint", "constraint_name")):
            if value := getattr(diag, name, None):
                parts.append(f"{label} {value}")
        # P0001 is raised by LeadFlow's own triggers: their message is ours, never data.
        if state == "P0001" and (own := getattr(diag, "message_primary", None)):
            parts.append(own)
        return f"{kind} ({', '.join(parts)})" if parts else kind
    # SQLite's messages name constraints and columns, never values.
    return f"{kind}: {error}" if type(error).__module__.startswith("sqlite3") else kind


def _without_data(context: ExceptionContext) -> None:
    original = context.original_exception
    told = DatabaseRefusal(describe(original))
    # The driver's own exception is raised as the cause of the replacement: emptied too.
    original.args = (str(told),)
    for name in ("_info", "_pgconn", "_pgresult"):
        if hasattr(original, name):
            setattr(original, name, None)
    wrapped = context.sqlalchemy_exception
    if wrapped is not None:
        wrapped.orig = told
        wrapped.args = (f"({type(original).__name__}) {told}",)
        wrapped.statement = None
        wrapped.params = None


def hide_data(engine: Engine) -> None:
    """Make every error of this engine data-free (above)."""
    event.listen(engine, "handle_error", _without_data)


__all__ = ["DatabaseRefusal", "describe", "hide_data"]
