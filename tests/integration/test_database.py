"""The SQLite file's write-ahead log: commits gather in it and :func:`checkpoint` puts them
in the database file itself (what a copy of that file alone, without its WAL, holds)."""

from __future__ import annotations

import shutil
import sqlite3
from pathlib import Path

from sqlalchemy import text

from models.database import checkpoint, make_engine, transaction


def _rows_in_file_alone(database: Path, copy: Path) -> int:
    shutil.copyfile(database, copy)  # the main file only: what the WAL holds stays behind
    connection = sqlite3.connect(copy)
    try:
        return connection.execute("SELECT count(*) FROM notes").fetchone()[0]
    finally:
        connection.close()


def test_commits_wait_in_the_log_until_a_checkpoint_puts_them_in_the_file(
    tmp_path: Path,
) -> None:
    database = tmp_path / "leadflow.db"
    engine = make_engine(f"sqlite:///{database}")
    with transaction(engine) as session:
        session.execute(text("CREATE TABLE notes (id INTEGER PRIMARY KEY, body TEXT)"))
    checkpoint(engine)
    for batch in range(10):  # about 2,000 pages: past SQLite's default checkpoint
        with transaction(engine) as session:
            session.execute(
                text("INSERT INTO notes (body) VALUES (:body)"),
                [{"body": f"{batch}-{n}" * 700} for n in range(200)],
            )
    assert _rows_in_file_alone(database, tmp_path / "before.db") == 0

    checkpoint(engine)

    assert _rows_in_file_alone(database, tmp_path / "after.db") == 2000
    engine.dispose()
