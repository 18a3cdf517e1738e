"""The local stack's Prefect server begins its SQLite transactions IMMEDIATE
(`prefect_runs.immediate_sqlite_transactions`): a transaction holds the write lock from
its BEGIN, so a concurrent writer waits for it within the busy timeout instead of being
refused mid-transaction (which Prefect answers with a 503 and its client retries after
seconds)."""

from __future__ import annotations

import asyncio
import sqlite3
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import text


@pytest.fixture
def patched() -> Iterator[None]:
    from prefect.server.database.configurations import AioSqliteConfiguration

    original = AioSqliteConfiguration.begin_transaction
    try:
        yield
    finally:
        AioSqliteConfiguration.begin_transaction = original  # type: ignore[method-assign]


def _other_writer_is_locked_out(path: Path) -> bool:
    """Inside Prefect's transaction, after a read only: may another connection write?"""
    from prefect.server.database.configurations import AioSqliteConfiguration

    async def probe() -> bool:
        config = AioSqliteConfiguration(connection_url=f"sqlite+aiosqlite:///{path}")
        engine = await config.engine()
        session = await config.session(engine)
        try:
            async with config.begin_transaction(session):
                await session.execute(text("SELECT count(*) FROM t"))
                other = sqlite3.connect(path, timeout=0)
                try:
                    other.execute("INSERT INTO t VALUES (2)")
                    other.commit()
                except sqlite3.OperationalError as exc:
                    assert "locked" in str(exc)
                    return True
                finally:
                    other.close()
                return False
        finally:
            await session.close()
            await engine.dispose()

    return asyncio.run(probe())


def test_prefects_sqlite_transactions_take_the_write_lock_at_begin(
    tmp_path: Path, patched: None
) -> None:
    from leadflow.prefect_runs import immediate_sqlite_transactions

    path = tmp_path / "prefect.db"
    with sqlite3.connect(path) as setup:
        setup.execute("CREATE TABLE t (n INTEGER)")
    assert not _other_writer_is_locked_out(path)  # Prefect's own: DEFERRED
    immediate_sqlite_transactions()
    assert _other_writer_is_locked_out(path)
