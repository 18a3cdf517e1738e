"""Engines and sessions for the system of record: SQLite by default, PostgreSQL in production.

SQLite transactions start with ``BEGIN IMMEDIATE``: every writer takes the write
lock up front, so the audit chain is appended by one writer at a time and a
reader-turned-writer never dead-ends in ``SQLITE_BUSY`` halfway through a move.
"""

from __future__ import annotations

import queue
import sqlite3
import threading
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from functools import lru_cache
from pathlib import Path
from typing import Any

from sqlalchemy import Connection, Engine, Executable, Row, Table, create_engine, event
from sqlalchemy.engine import URL, make_url
from sqlalchemy.orm import Session, sessionmaker
from sqlalchemy.pool import NullPool

from models.store.refusals import hide_data

_CHANGES_AT_BEGIN = "leadflow.changes_at_begin"

# A checkpoint copies the WAL back into the database file and syncs both. At SQLite's
# default, every 1,000 pages, a writer would stop for one at nearly every commit of a
# bulk import (one batch writes nearly that much) whenever the import's own
# checkpointing thread (`checkpointing`) had not caught up; other work commits far less
# than that between checkpoints either way.
WAL_CHECKPOINT_PAGES = 8000


def _prepare_sqlite(engine: Engine) -> None:
    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        # Hand transaction control to the BEGIN below (pysqlite's own is deferred).
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.execute(f"PRAGMA wal_autocheckpoint={WAL_CHECKPOINT_PAGES}")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute("PRAGMA busy_timeout=60000")
        cursor.close()

    @event.listens_for(engine, "begin")
    def _on_begin(connection: Any) -> None:
        connection.exec_driver_sql("BEGIN IMMEDIATE")
        # What the connection had changed before this transaction: if it has changed
        # nothing since, a second connection reads what this one reads (`read_all`).
        connection.info[_CHANGES_AT_BEGIN] = connection.connection.dbapi_connection.total_changes


def _sqlite_file(url: URL) -> str | None:
    """The file of an SQLite database (None: another database, or one in memory)."""
    if url.get_backend_name() != "sqlite" or url.database in (None, "", ":memory:"):
        return None
    return url.database


def make_engine(url: str) -> Engine:
    parsed = make_url(url)
    if parsed.get_backend_name() == "sqlite":
        if file := _sqlite_file(parsed):
            Path(file).parent.mkdir(parents=True, exist_ok=True)
        engine = create_engine(parsed, connect_args={"timeout": 60}, hide_parameters=True)
        _prepare_sqlite(engine)
    else:
        if parsed.drivername == "postgresql":
            parsed = parsed.set(drivername="postgresql+psycopg")
        engine = create_engine(parsed, pool_pre_ping=True, hide_parameters=True)
    hide_data(engine)
    return engine


@contextmanager
def checkpointing(engine: Engine) -> Iterator[Callable[[], None]]:
    """Bulk work on an SQLite file, its WAL checkpointed by a thread of its own: the block
    calls the function it is given after each commit, and the thread copies what was
    committed into the database file while the work goes on. A checkpoint is mostly
    waiting on the disk (its syncs), so the writer does not stop for one every few commits
    (BENCHMARKS.md, bulk intake). The block ends with the last checkpoint done,
    its work in the file. Elsewhere (PostgreSQL, an in-memory database) nothing is done."""
    file = _sqlite_file(engine.url)
    if file is None:
        yield lambda: None
        return
    requests: queue.SimpleQueue[bool] = queue.SimpleQueue()

    def run() -> None:
        # Its own connection, opened in its thread (an sqlite3 connection stays in the
        # thread that made it), outside any transaction, as a checkpoint must be.
        connection = sqlite3.connect(file, isolation_level=None, timeout=60)
        try:
            going = True
            while going:
                going = requests.get()
                while going and not requests.empty():  # commits meanwhile: one checkpoint
                    going = requests.get()
                connection.execute("PRAGMA wal_checkpoint(PASSIVE)").fetchall()
        except sqlite3.Error:
            pass  # its pages stay in the WAL, as safe there, for the writer's own checkpoints
        finally:
            connection.close()

    thread = threading.Thread(target=run, name="leadflow-checkpoint", daemon=True)
    thread.start()
    try:
        yield lambda: requests.put(True)
    finally:
        requests.put(False)
        thread.join()


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


def read_all(session: Session, statements: Sequence[Executable]) -> list[Sequence[Row[Any]]]:
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
    found: list[Sequence[Row[Any]]] = [[] for _ in statements]
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


def shared_snapshot_file(connection: Connection) -> str | None:
    """The SQLite file in which a second connection sees just what ``connection`` does:
    its transaction holds the write lock and has written nothing yet (None otherwise)."""
    file = _sqlite_file(connection.engine.url)
    if file is None:
        return None
    dbapi = connection.connection.dbapi_connection
    if dbapi is None or connection.info.get(_CHANGES_AT_BEGIN) != dbapi.total_changes:
        return None
    return file


def _second_reader(connection: Connection) -> Engine | None:
    if shared_snapshot_file(connection) is None:
        return None
    return _reader(connection.engine.url.render_as_string(hide_password=False))


@lru_cache(maxsize=8)
def _reader(url: str) -> Engine:
    """Plain, read-only use: no ``BEGIN IMMEDIATE`` (it would wait for our own lock)."""
    return create_engine(url, poolclass=NullPool)


def insert_rows(
    session: Session, table: Table, columns: Sequence[str], rows: Sequence[Sequence[Any]]
) -> None:
    """INSERT many rows, given as tuples in ``columns`` order, through the driver's
    ``executemany``: SQLAlchemy's own executemany spends more per row turning dicts into
    parameters than SQLite spends storing them (BENCHMARKS.md, bulk intake). Each value
    still passes its column type's bind processor, as it would through SQLAlchemy."""
    if rows:
        _execute_rows(session, table, _insert_sql, tuple(columns), (), rows)


def update_rows(
    session: Session,
    table: Table,
    columns: Sequence[str],
    where: Sequence[str],
    rows: Sequence[Sequence[Any]],
) -> int:
    """``UPDATE table SET columns WHERE where`` (all equal) for each row, given as tuples
    of the ``columns`` then the ``where`` values; how many rows were updated in all."""
    if not rows:
        return 0
    return _execute_rows(session, table, _update_sql, tuple(columns), tuple(where), rows)


def _driver(session: Session) -> tuple[Connection, str, Callable[[str], str]]:
    """The session's connection for a statement written here, with its dialect's
    placeholder and identifier quoting; what the ORM holds is flushed first, as
    SQLAlchemy's own execute would do."""
    session.flush()
    connection = session.connection()
    dialect = connection.dialect
    mark = "?" if dialect.paramstyle == "qmark" else "%s"
    return connection, mark, dialect.identifier_preparer.quote


# A query's parameters at most: SQLite allows 32,766, PostgreSQL 65,535.
_IN_CHUNK = 10_000


def select_in(
    session: Session, table: Table, columns: Sequence[str], key: str, values: Sequence[Any]
) -> list[Row[Any]]:
    """``SELECT columns FROM table WHERE key IN (values)``, the values bound one a
    parameter through the driver: SQLAlchemy renders an expanding ``IN``'s thousand
    parameters one by one, which costs a batch more than the query does (BENCHMARKS.md,
    bulk intake)."""
    connection, mark, quote = _driver(session)
    dialect = connection.dialect
    process = table.c[key].type.dialect_impl(dialect).bind_processor(dialect)
    head = f"SELECT {', '.join(map(quote, columns))} FROM {quote(table.name)} WHERE {quote(key)} IN"
    rows: list[Row[Any]] = []
    for start in range(0, len(values), _IN_CHUNK):
        chunk = values[start : start + _IN_CHUNK]
        bound = tuple(map(process, chunk)) if process else tuple(chunk)
        sql = f"{head} ({', '.join([mark] * len(bound))})"
        rows += connection.exec_driver_sql(sql, bound).all()
    return rows


def _execute_rows(
    session: Session,
    table: Table,
    build: Callable[[str, list[str], list[str], str], str],
    columns: tuple[str, ...],
    where: tuple[str, ...],
    rows: Sequence[Sequence[Any]],
) -> int:
    connection, mark, quote = _driver(session)
    dialect = connection.dialect
    processors = [
        (i, process)
        for i, name in enumerate(columns + where)
        if (process := table.c[name].type.dialect_impl(dialect).bind_processor(dialect))
    ]
    if processors:
        seen: dict[tuple[int, Any], Any] = {}
        rows = [_processed(row, processors, seen) for row in rows]
    sql = build(quote(table.name), [quote(c) for c in columns], [quote(c) for c in where], mark)
    return connection.exec_driver_sql(sql, list(rows)).rowcount


def _processed(
    row: Sequence[Any], processors: list[tuple[int, Any]], seen: dict[tuple[int, Any], Any]
) -> tuple[Any, ...]:
    """The row with its values processed; a value met before in the same column (the
    batch's one timestamp, a unit's id, a list of flags) is processed once."""
    values = list(row)
    for i, process in processors:
        value = values[i]
        if value is None:
            continue
        # A JSON column's list is met again as its tuple (the same JSON).
        key = (i, tuple(value)) if type(value) is list else (i, value)
        try:
            values[i] = seen[key]
        except KeyError:
            values[i] = seen[key] = process(value)
        except TypeError:  # unhashable: a dict, or a list holding one
            values[i] = process(value)
    return tuple(values)


def _insert_sql(table: str, columns: list[str], _where: list[str], mark: str) -> str:
    return f"INSERT INTO {table} ({', '.join(columns)}) VALUES ({', '.join([mark] * len(columns))})"


def _update_sql(table: str, columns: list[str], where: list[str], mark: str) -> str:
    assign = ", ".join(f"{c} = {mark}" for c in columns)
    return f"UPDATE {table} SET {assign} WHERE {' AND '.join(f'{c} = {mark}' for c in where)}"
