"""Engines and sessions for the system of record: SQLite by default, PostgreSQL in production.

SQLite transactions start with ``BEGIN IMMEDIATE``: every writer takes the write
lock up front, so the audit chain is appended by one writer at a time and a
reader-turned-writer never dead-ends in ``SQLITE_BUSY`` halfway through a move.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from functools import lru_cache
from pathlib import Path
from typing import Any

from sqlalchemy import Connection, Engine, Executable, Row, create_engine, event
from sqlalchemy.engine import make_url
from sqlalchemy.orm import Session, sessionmaker
from sqlalchemy.pool import NullPool

_CHANGES_AT_BEGIN = "leadflow.changes_at_begin"


def _prepare_sqlite(engine: Engine) -> None:
    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        # Hand transaction control to the BEGIN below (pysqlite's own is deferred).
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute("PRAGMA busy_timeout=60000")
        cursor.close()

    @event.listens_for(engine, "begin")
    def _on_begin(connection: Any) -> None:
        connection.exec_driver_sql("BEGIN IMMEDIATE")
        # What the connection had changed before this transaction: if it has changed
        # nothing since, a second connection reads what this one reads (`read_all`).
        connection.info[_CHANGES_AT_BEGIN] = connection.connection.dbapi_connection.total_changes


def make_engine(url: str) -> Engine:
    parsed = make_url(url)
    if parsed.get_backend_name() == "sqlite":
        if parsed.database and parsed.database != ":memory:":
            Path(parsed.database).parent.mkdir(parents=True, exist_ok=True)
        engine = create_engine(parsed, connect_args={"timeout": 60})
        _prepare_sqlite(engine)
        return engine
    if parsed.drivername == "postgresql":
        parsed = parsed.set(drivername="postgresql+psycopg")
    return create_engine(parsed, pool_pre_ping=True)


@lru_cache(maxsize=8)
def engine_for(url: str) -> Engine:
    return make_engine(url)


def session_factory(engine: Engine) -> sessionmaker[Session]:
    return sessionmaker(engine, expire_on_commit=False)


@contextmanager
def transaction(engine: Engine) -> Iterator[Session]:
    """One unit of work: commit if the block returns, roll back if it raises."""
    with session_factory(engine)() as session, session.begin():
        yield session


def read_all(session: Session, statements: Sequence[Executable]) -> list[list[Row[Any]]]:
    """The rows of each read-only statement, as ``session`` sees them, two at a time
    where a second connection can promise to see the same: an SQLite file whose
    transaction here has written nothing yet. Every LeadFlow transaction on SQLite holds
    the write lock, so nothing else commits meanwhile, and the second reader sees just
    what this one does. A national board's sources then take both cores.

    Elsewhere (PostgreSQL, which parallelises a query by itself; an SQLite transaction
    with writes of its own) the statements run one after another on the session.
    """
    connection = session.connection()
    helper = _second_reader(connection)
    if helper is None or len(statements) < 2:
        return [connection.execute(statement).all() for statement in statements]
    found: list[list[Row[Any]]] = [[] for _ in statements]
    waiting = iter(range(len(statements)))  # next() is atomic under the GIL

    def read(on: Connection) -> None:
        for i in waiting:
            found[i] = on.execute(statements[i]).all()

    def read_apart() -> None:
        # Opened in its own thread: an sqlite3 connection stays in the thread that made it.
        with helper.connect() as other:
            read(other)

    with ThreadPoolExecutor(max_workers=1) as pool:
        apart = pool.submit(read_apart)
        read(connection)
        apart.result()
    return found


def _second_reader(connection: Connection) -> Engine | None:
    url = connection.engine.url
    if url.get_backend_name() != "sqlite" or url.database in (None, "", ":memory:"):
        return None
    dbapi = connection.connection.dbapi_connection
    if dbapi is None or connection.info.get(_CHANGES_AT_BEGIN) != dbapi.total_changes:
        return None
    return _reader(url.render_as_string(hide_password=False))


@lru_cache(maxsize=8)
def _reader(url: str) -> Engine:
    """Plain, read-only use: no ``BEGIN IMMEDIATE`` (it would wait for our own lock)."""
    return create_engine(url, poolclass=NullPool)
