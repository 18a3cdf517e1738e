"""What a command or a flow needs to act: the database, the person acting, the desk (who,
when, policy), and a unit of work that records a refused attempt once it is rolled back."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import date

from sqlalchemy import Engine
from sqlalchemy.orm import Session

from models.config.settings import get_settings
from models.domain.errors import BadInput, NotPermitted, OutOfScope
from models.domain.people import Person, clean_text, system
from models.services import clock
from models.services.access import record_refusal
from models.services.desk import Desk
from models.services.organisation import commission_of
from models.services.policy import in_force
from models.store.database import engine_for, transaction

# Who this process acts as: a shell says how to find out (the command line from its
# token); a process nobody told — a worker, a scheduled run — is the system.
_identify: Callable[[], Person] | None = None
_person: Person | None = None


def engine() -> Engine:
    return engine_for(get_settings().database_url)


def identify_with(identify: Callable[[], Person] | None) -> None:
    """How this process learns who acts, asked on the first act that needs to know."""
    global _identify, _person
    _identify, _person = identify, None


def person() -> Person:
    """Who acts; a failed identification (no token, a revoked one) is recorded."""
    global _person
    if _person is None:
        try:
            _person = _identify() if _identify is not None else system(_system_name())
        except NotPermitted as refused:
            record_refusal(engine(), refused.refusal)
            raise
    return _person


def _system_name() -> str:
    named = get_settings().actor
    try:
        return clean_text(named, field="actor") if named else "system"
    except BadInput:
        return "system"  # a name the record cannot keep names no one


def actor() -> str:
    return person().actor


@contextmanager
def work(on: Engine | None = None) -> Iterator[Session]:
    """One transaction (on this process's database unless given another); an attempt the
    permission table refused is rolled back, then recorded in a transaction of its own,
    and the refusal raised on."""
    chosen = on or engine()
    try:
        with transaction(chosen) as session:
            yield session
    except (NotPermitted, OutOfScope) as refused:
        record_refusal(chosen, refused.refusal)
        raise


def desk(*, today: date | None = None, who: Person | None = None) -> Desk:
    with transaction(engine()) as session:
        policy, commission = in_force(session), commission_of(session)
    settings = get_settings()
    return Desk(
        person=who or person(),
        today=clock.acting_day(
            today or settings.today, named="--on" if today else "LEADFLOW_TODAY"
        ),
        policy=policy,
        output_dir=settings.output_dir.resolve(),
        commission=commission,
    )
