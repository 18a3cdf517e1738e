"""The SQLite file's write-ahead log: commits gather in it until a checkpoint copies them
into the database file itself (what a copy of that file alone, without its WAL, holds);
:func:`checkpointing` does that in a thread while bulk work goes on, and once more at its end."""

from __future__ import annotations

import shutil
import sqlite3
import threading
import time
from pathlib import Path

from sqlalchemy import Engine, text

from models.store import database
from models.store.database import checkpointing, insert_rows, make_engine, select_in, transaction
from models.store.organisation import Zone


def _rows_in_file_alone(database: Path, copy: Path) -> int:
    shutil.copyfile(database, copy)  # the main file only: what the WAL holds stays behind
    connection = sqlite3.connect(copy)
    try:
        return connection.execute("SELECT count(*) FROM notes").fetchone()[0]
    finally:
        connection.close()


def _commit_notes(engine: Engine, batch: int) -> None:
    with transaction(engine) as session:  # about 200 pages, far below any checkpoint
        session.execute(
            text("INSERT INTO notes (body) VALUES (:body)"),
            [{"body": f"{batch}-{n}" * 700} for n in range(200)],
        )


def test_commits_are_checkpointed_while_the_work_goes_on_and_at_its_end(
    tmp_path: Path,
) -> None:
    database = tmp_path / "leadflow.db"
    engine = make_engine(f"sqlite:///{database}")
    with transaction(engine) as session:
        session.execute(text("CREATE TABLE notes (id INTEGER PRIMARY KEY, body TEXT)"))
    with checkpointing(engine):
        pass  # the table into the file: the end's checkpoint
    with checkpointing(engine) as committed:
        _commit_notes(engine, 0)
        assert _rows_in_file_alone(database, tmp_path / "waiting.db") == 0  # in the WAL

        committed()
        deadline = time.monotonic() + 30
        while _rows_in_file_alone(database, tmp_path / "during.db") < 200:
            assert time.monotonic() < deadline, "the thread never checkpointed the commit"
            time.sleep(0.05)

        _commit_notes(engine, 1)  # not announced: the end's checkpoint takes it
    assert _rows_in_file_alone(database, tmp_path / "after.db") == 400
    engine.dispose()


def test_a_database_without_a_file_has_no_checkpointing_thread() -> None:
    engine = make_engine("sqlite://")
    with checkpointing(engine) as committed:
        committed()
        assert "leadflow-checkpoint" not in {t.name for t in threading.enumerate()}
    engine.dispose()


def test_select_in_finds_each_value_across_chunks_on_either_database(engine: Engine) -> None:
    # More values than one query may bind (SQLite allows 32,766), half of them present.
    values = [f"U-{n}" for n in range(2 * database._IN_CHUNK + 1)]
    present = values[::2]
    with transaction(engine) as session:
        insert_rows(session, Zone.__table__, ("code", "name"), [(v, v) for v in present])
    with transaction(engine) as session:
        found = select_in(session, Zone.__table__, ("code", "name"), "code", values)
        assert select_in(session, Zone.__table__, ("code",), "code", []) == []
    assert sorted(tuple(row) for row in found) == sorted((v, v) for v in present)
