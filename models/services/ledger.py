"""The ledger as a person may read it (台账, docs/permissions.md): the leads in their
units, filtered and sorted, paged by key — each page continues after the sort key of the
last row of the one before, so the thousandth page costs what the first one does — and
one lead's record, never its reporter: a text of the lead that names them is withheld
from a handling unit's readers.

The master ledger (总台账) is the coordinating office's unfiltered view, a unit group's
ledger (分台账) the same leads filtered by the group, a unit's own what its officers read:
one query, narrowed by the person's units before any filter is applied.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, fields
from datetime import UTC, date, datetime, time, timedelta
from typing import Any

from sqlalchemy import ColumnElement, Select, exists, select, tuple_
from sqlalchemy.orm import Session, aliased

from models import audit, documents
from models.domain import terms
from models.domain.errors import BadInput, Problem
from models.domain.people import Person
from models.domain.permissions import readable_units
from models.services.access import find_lead, permit, readable
from models.store.lead import Disposal, Lead, Rectification, TriageProposal
from models.store.organisation import Entity, Unit, UnitGroup, unit_group_members
from models.store.periods import SHANGHAI

MAX_PAGE = 200

# The orders the ledger can be read in (code: Chinese label); the first is the default.
SORTS = {
    "-received_at": "受理日期（由近及远）",
    "received_at": "受理日期（由远及近）",
    "deadline": "整改期限（临近在前，无期限的在后）",
    "-id": "编号（由大到小）",
}
DEFAULT_SORT = "-received_at"


@dataclass(frozen=True)
class Filters:
    state: str | None = None
    unit: str | None = None  # the lead unit's code (承办单位)
    source: str | None = None
    overdue: bool | None = None  # an open rectification past its deadline
    domain: str | None = None
    mode: str | None = None  # the handling mode decided (办理方式)
    received_from: date | None = None  # received on or after this day (Asia/Shanghai)
    received_to: date | None = None  # received on or before this day
    group: str | None = None  # a unit group's code (单元组): its units' leads

    def given(self) -> dict[str, str]:
        """The filters set, as the query string writes them: for links and the record."""
        out = {}
        for field in fields(self):
            value = getattr(self, field.name)
            if isinstance(value, bool):
                out[field.name] = "1" if value else "0"
            elif isinstance(value, date):
                out[field.name] = value.isoformat()
            elif value is not None:
                out[field.name] = str(value)
        return out


@dataclass(frozen=True)
class Row:
    id: int
    external_id: str
    state: str
    version: int
    source: str
    received_at: datetime
    lead_unit: str | None


@dataclass(frozen=True)
class LedgerRow:
    """One line of the ledger: codes and dates only — no free text, never the reporter."""

    id: int
    external_id: str
    received_at: datetime
    source: str
    domain: str
    unit_code: str | None
    unit_name: str | None
    handling_mode: str | None
    state: str
    deadline: date | None  # the open rectification's (整改期限)
    overdue: bool


@dataclass(frozen=True)
class Cursor:
    """Where a page ends: the phase of the order (``r`` received, ``d`` deadline, ``i``
    id), the last row's key in it and its id; written ``d740000.123`` in a link."""

    phase: str
    key: int
    id: int

    def __str__(self) -> str:
        return f"{self.phase}{self.key}.{self.id}"


_CURSOR = re.compile(r"([rdi])(-?[0-9]{1,18})\.([1-9][0-9]{0,17})")
# The phases each order may continue in.
_PHASES = {"-received_at": "r", "received_at": "r", "deadline": "dr", "-id": "i"}


def _problem(name: str, reason: str) -> Problem:
    """A problem with the query field ``name``, named as the ledger's form names it."""
    return Problem("query", reason, field=f"{FIELD_TERMS[name]}（{name}）")


def cursor(text: str, sort: str) -> Cursor:
    """The cursor a page's next link carried, checked against the order it belongs to."""
    found = _CURSOR.fullmatch(text)
    if found is not None and found.group(1) in _PHASES[sort]:
        at = Cursor(found.group(1), int(found.group(2)), int(found.group(3)))
        try:
            _ = date.fromordinal(at.key) if at.phase == "d" else _moment(at.key)
            return at
        except (ValueError, OverflowError):
            pass
    raise BadInput([_problem("after", "翻页位置无效，请从第一页重新查看")])


# The ledger's query fields as its form labels them: a problem names its field so.
FIELD_TERMS = {
    "state": "状态",
    "unit": "承办单位",
    "source": "来源",
    "domain": "领域",
    "mode": "办理方式",
    "overdue": "逾期",
    "group": "单元组",
    "received_from": "受理日期起",
    "received_to": "受理日期止",
    "sort": "排序",
    "after": "翻页位置",
}
# The fields chosen from a list: the codes each may take.
_CHOICES = {
    "state": terms.STATES,
    "source": terms.SOURCES,
    "domain": terms.DOMAINS,
    "mode": terms.MODE_TERMS,
    "overdue": {"1": "是", "0": "否"},
    "sort": SORTS,
}
_CODE = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.-]{0,63}")
_DAY = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}")


@dataclass(frozen=True)
class Query:
    """What a ledger's link asks for: the filters, the order and where the page starts."""

    filters: Filters
    sort: str = DEFAULT_SORT
    after: Cursor | None = None


def query(params: Mapping[str, str]) -> Query:
    """The ledger's query string read: an empty field is no filter; each field that is
    wrong is named with why — never with what was sent."""
    given = {k: v for k, v in params.items() if k in FIELD_TERMS and v != ""}
    problems = [
        _problem(name, "不是可选的值之一")
        for name, codes in _CHOICES.items()
        if name in given and given[name] not in codes
    ]
    problems += [
        _problem(name, "代码格式不正确")
        for name in ("unit", "group")
        if name in given and not _CODE.fullmatch(given[name])
    ]
    days: dict[str, date | None] = {}
    for name in ("received_from", "received_to"):
        if name in given:
            days[name] = _day(given[name])
            if days[name] is None:
                problems.append(_problem(name, "日期应写作 YYYY-MM-DD，年份在1900至2999之间"))
    start, end = days.get("received_from"), days.get("received_to")
    if start and end and start > end:
        problems.append(_problem("received_to", "不得早于受理日期起"))
    if problems:
        raise BadInput(problems)
    return _query_of(given, start, end)


def _day(text: str) -> date | None:
    """A day of the query, if it is one the ledger can hold (and count in UTC)."""
    try:
        day = date.fromisoformat(text) if _DAY.fullmatch(text) else None
    except ValueError:
        return None
    return day if day and 1900 <= day.year <= 2999 else None


def _query_of(given: dict[str, str], start: date | None, end: date | None) -> Query:
    filters = Filters(
        state=given.get("state"),
        unit=given.get("unit"),
        source=given.get("source"),
        overdue=given["overdue"] == "1" if "overdue" in given else None,
        domain=given.get("domain"),
        mode=given.get("mode"),
        received_from=start,
        received_to=end,
        group=given.get("group"),
    )
    sort = given.get("sort", DEFAULT_SORT)
    after = cursor(given["after"], sort) if "after" in given else None
    return Query(filters, sort, after)


@dataclass(frozen=True)
class Page:
    rows: list[LedgerRow]
    next: Cursor | None


EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


def _micros(moment: datetime) -> int:
    return (moment - EPOCH) // timedelta(microseconds=1)


def _moment(micros: int) -> datetime:
    return EPOCH + timedelta(microseconds=micros)


def _day_start(day: date) -> datetime:
    """The instant ``day`` begins in Asia/Shanghai: the commission's days."""
    return datetime.combine(day, time(), tzinfo=SHANGHAI).astimezone(UTC)


def overdue_on(today: date) -> ColumnElement[bool]:
    """A lead with a rectification neither verified nor struck off whose deadline passed:
    the few such leads read first, through the index of open rectifications' deadlines."""
    return Lead.id.in_(
        select(Rectification.lead_id).where(
            Rectification.struck_off_at.is_(None),
            Rectification.deadline < today,
            Rectification.verified_at.is_(None),
        )
    )


def _units_named(
    session: Session, filters: Filters, *, strict: bool
) -> tuple[int | None, list[int] | None]:
    """The ids the unit and the unit group filters name (None: no such filter); with
    ``strict``, a unit or group the organisation does not have is refused, named."""
    problems, unit_id, members = [], None, None
    if filters.unit is not None:
        unit_id = session.scalar(select(Unit.id).where(Unit.code == filters.unit))
        if unit_id is None:
            problems.append(_problem("unit", "组织中没有这个单位"))
            unit_id = -1  # a lenient reader (the API) is answered with no leads
    if filters.group is not None:
        group_id = session.scalar(select(UnitGroup.id).where(UnitGroup.code == filters.group))
        if group_id is None:
            problems.append(_problem("group", "组织中没有这个单元组"))
        members = list(
            session.scalars(
                select(unit_group_members.c.unit_id).where(
                    unit_group_members.c.group_id == (group_id or -1)
                )
            )
        )
    if strict and problems:
        raise BadInput(problems)
    return unit_id, members


def _filtering(
    session: Session, person: Person, filters: Filters, today: date, *, strict: bool = True
) -> list[ColumnElement[bool]]:
    """The conditions on ``Lead``: the person's units first — a filter only narrows them."""
    scope = readable(person, session)
    conditions = [] if scope is None else [scope]
    for column, value in (
        (Lead.state, filters.state),
        (Lead.source, filters.source),
        (Lead.domain, filters.domain),
        (Lead.handling_mode, filters.mode),
    ):
        if value is not None:
            conditions.append(column == value)
    unit_id, members = _units_named(session, filters, strict=strict)
    if unit_id is not None:
        conditions.append(Lead.lead_unit_id == unit_id)
    if members is not None:
        # "+ 0": a group holds a good share of the leads, so the ledger is read in its
        # order and the group's rows kept, not every lead of the group read and sorted.
        conditions.append((Lead.lead_unit_id + 0).in_(members or [-1]))
    if filters.received_from is not None:
        conditions.append(Lead.received_at >= _day_start(filters.received_from))
    if filters.received_to is not None:
        conditions.append(Lead.received_at < _day_start(filters.received_to + timedelta(days=1)))
    if filters.overdue is not None:
        conditions.append(overdue_on(today) if filters.overdue else ~overdue_on(today))
    return conditions


def page(
    session: Session,
    person: Person,
    filters: Filters,
    *,
    after: int | None,
    limit: int,
    today: date,
) -> tuple[list[Row], int | None]:
    """One page of the leads ``person`` may read, newest first, and where the next starts."""
    permit(session, person, "lead.read")
    query = select(
        Lead.id, Lead.external_id, Lead.state, Lead.version, Lead.source, Lead.received_at,
        Unit.code,
    ).outerjoin(Unit, Unit.id == Lead.lead_unit_id)  # fmt: skip
    conditions = _filtering(session, person, filters, today, strict=False)
    if after is not None:
        conditions.append(Lead.id < after)
    rows = session.execute(
        query.where(*conditions).order_by(Lead.id.desc()).limit(min(limit, MAX_PAGE) + 1)
    ).all()
    found = [Row(*r) for r in rows[:limit]]
    return found, (found[-1].id if len(rows) > limit else None)


# --- the ledger's pages ----------------------------------------------------------------

_OPEN = Rectification.struck_off_at.is_(None)
_RECEIVED = {"-received_at": True, "received_at": False}  # the orders by time: newest first?
# A ledger row's columns, less its deadline (LedgerRow's order).
_COLUMNS = (
    Lead.id, Lead.external_id, Lead.received_at, Lead.source, Lead.domain, Unit.code,
    Unit.name, Lead.handling_mode, Lead.state,
)  # fmt: skip


def _by_received(query: Select[Any], after: Cursor | None, *, newest: bool) -> Select[Any]:
    """Ordered by the time received, then id; after the cursor's row. The plain bound on
    ``received_at`` beside the row comparison lets an index on it alone be used."""
    if after is not None:
        at = _moment(after.key)
        if newest:
            query = query.where(
                Lead.received_at <= at, tuple_(Lead.received_at, Lead.id) < (at, after.id)
            )
        else:
            query = query.where(
                Lead.received_at >= at, tuple_(Lead.received_at, Lead.id) > (at, after.id)
            )
    if newest:
        return query.order_by(Lead.received_at.desc(), Lead.id.desc())
    return query.order_by(Lead.received_at, Lead.id)


def _with_deadline(conditions: list[ColumnElement[bool]], after: Cursor | None) -> Select[Any]:
    """The leads with an open rectification, the nearest deadline first (a lead has one
    open rectification at most; a second one would be read once, by its newest)."""
    newer = aliased(Rectification)
    query = (
        select(Lead.id)
        .join(Rectification, (Rectification.lead_id == Lead.id) & _OPEN)
        .where(
            *conditions,
            ~exists().where(
                newer.lead_id == Rectification.lead_id,
                newer.struck_off_at.is_(None),
                newer.id > Rectification.id,
            ),
        )
    )
    if after is not None:
        day = date.fromordinal(after.key)
        query = query.where(
            Rectification.deadline >= day, tuple_(Rectification.deadline, Lead.id) > (day, after.id)
        )
    return query.order_by(Rectification.deadline, Lead.id)


def _ids(
    session: Session,
    conditions: list[ColumnElement[bool]],
    sort: str,
    after: Cursor | None,
    count: int,
) -> list[int]:
    """The ids of up to ``count`` leads in ``sort`` order after ``after``: keys only, so
    an index answers it, and the columns are read for the page's leads alone."""
    if sort == "-id":
        query = select(Lead.id).where(*conditions)
        if after is not None:
            query = query.where(Lead.id < after.id)
        return list(session.scalars(query.order_by(Lead.id.desc()).limit(count)))
    if sort in _RECEIVED:
        query = _by_received(select(Lead.id).where(*conditions), after, newest=_RECEIVED[sort])
        return list(session.scalars(query.limit(count)))
    ids: list[int] = []
    if after is None or after.phase == "d":
        ids = list(session.scalars(_with_deadline(conditions, after).limit(count)))
        after = None
    if len(ids) < count:  # then the leads with no open rectification, newest first
        rest = select(Lead.id).where(
            *conditions, Lead.id.not_in(select(Rectification.lead_id).where(_OPEN))
        )
        ids += session.scalars(_by_received(rest, after, newest=True).limit(count - len(ids)))
    return ids


def _rows(session: Session, ids: list[int], today: date) -> list[LedgerRow]:
    """The ledger's columns of the leads ``ids``, in that order."""
    deadline = (
        select(Rectification.deadline)
        .where(Rectification.lead_id == Lead.id, _OPEN)
        .order_by(Rectification.id.desc())
        .limit(1)
        .scalar_subquery()
    )
    query = (
        select(*_COLUMNS, deadline)
        .outerjoin(Unit, Unit.id == Lead.lead_unit_id)
        .where(Lead.id.in_(ids))
    )
    found = {}
    for (
        lead_id,
        external,
        received,
        source,
        domain,
        code,
        name,
        mode,
        state,
        due,
    ) in session.execute(query):
        found[lead_id] = LedgerRow(
            lead_id, external, received, source, domain, code, name, mode, state, due,
            overdue=due is not None and due < today,
        )  # fmt: skip
    return [found[i] for i in ids if i in found]


def _cursor_of(row: LedgerRow, sort: str) -> Cursor:
    if sort == "-id":
        return Cursor("i", 0, row.id)
    if sort == "deadline" and row.deadline is not None:
        return Cursor("d", row.deadline.toordinal(), row.id)
    return Cursor("r", _micros(row.received_at), row.id)


def read(
    session: Session,
    person: Person,
    filters: Filters,
    *,
    sort: str,
    after: Cursor | None,
    limit: int,
    today: date,
) -> Page:
    """A page of the ledger without the permission check — :func:`browse` and the export
    check their own act first; a unit or group the organisation does not have is refused."""
    conditions = _filtering(session, person, filters, today)
    ids = _ids(session, conditions, sort, after, limit + 1)
    rows = _rows(session, ids[:limit], today)
    return Page(rows, _cursor_of(rows[-1], sort) if len(ids) > limit and rows else None)


def browse(
    session: Session,
    person: Person,
    filters: Filters,
    *,
    sort: str = DEFAULT_SORT,
    after: Cursor | None = None,
    limit: int = 50,
    today: date,
) -> Page:
    """One page of the ledger ``person`` may read, in ``sort`` order, after ``after``."""
    permit(session, person, "lead.read")
    return read(
        session, person, filters, sort=sort, after=after, limit=min(limit, MAX_PAGE), today=today
    )


def reads_every_lead(person: Person) -> bool:
    """Whether ``person`` reads the whole ledger (总台账), not only their units' leads."""
    return readable_units(person) is None


def units(session: Session) -> list[tuple[str, str]]:
    """Every unit's code and name, for the ledger's unit filter."""
    return list(session.execute(select(Unit.code, Unit.name).order_by(Unit.code)).tuples())


def unit_groups(session: Session) -> list[tuple[str, str]]:
    """Every unit group's code and name, for the filter of a group's ledger (分台账)."""
    query = select(UnitGroup.code, UnitGroup.name).order_by(UnitGroup.code)
    return list(session.execute(query).tuples())


# What a unit's reader is shown in place of a text that names the lead's reporter.
WITHHELD = "（此处载有举报人身份信息，已隐去，待修改）"


def _shown_texts(
    session: Session, person: Person, lead: Lead, *, to_everyone: bool
) -> tuple[dict[str, str], list[str]]:
    """The lead's free texts as ``person`` may see them, and those withheld: a reader of a
    unit's leads (a handling unit) never sees one that names the reporter, until it is
    amended; through the API the commission's readers see them as they are (the case
    manager amends them), and ``to_everyone`` withholds them from every reader."""
    texts = {"summary": lead.summary, "subject.post": lead.subject_post}
    if readable_units(person) is None and not to_everyone:
        return texts, []
    withheld = [f for f, text in texts.items() if documents.names_reporter(session, lead.id, text)]
    return texts | dict.fromkeys(withheld, WITHHELD), withheld


def record_of(
    session: Session, person: Person, ref: str, *, today: date, withhold_from_all: bool = False
) -> dict[str, Any]:
    """A lead as its readers see it: what it says, where it stands, whose it is — never
    its reporter, even where the lead's own text names them (:func:`_shown_texts`)."""
    lead = find_lead(session, person, ref, "lead.read")
    texts, withheld = _shown_texts(session, person, lead, to_everyone=withhold_from_all)
    wanted = {lead.lead_unit_id, lead.jurisdiction_unit_id} - {None}
    units = session.execute(select(Unit.id, Unit.code).where(Unit.id.in_(wanted)))
    codes = {unit_id: code for unit_id, code in units}
    proposal = session.get(TriageProposal, lead.id)
    disposal = session.get(Disposal, lead.id)
    due = session.scalars(
        select(Rectification.deadline)
        .where(Rectification.lead_id == lead.id, Rectification.struck_off_at.is_(None))
        .order_by(Rectification.id.desc())
    ).first()
    return {
        "id": lead.id,
        "external_id": lead.external_id,
        "state": lead.state.value,
        "version": lead.version,
        "received_at": lead.received_at,
        "source": lead.source,
        "channel": lead.channel,
        "domain": lead.domain,
        "summary": texts["summary"],
        "amount_yuan": str(lead.amount_yuan),
        "flags": list(lead.flags),
        "subject": {
            "name": lead.subject_name,
            "post": texts["subject.post"],
            "rank": lead.subject_rank,
        },
        "entity": session.scalar(select(Entity.code).where(Entity.id == lead.entity_id)),
        "handling_mode": lead.handling_mode,
        "proposed_mode": proposal.proposed_mode if proposal else None,
        "lead_unit": codes.get(lead.lead_unit_id) if lead.lead_unit_id else None,
        "jurisdiction_unit": codes.get(lead.jurisdiction_unit_id)
        if lead.jurisdiction_unit_id
        else None,
        "disposal": disposal.method if disposal else None,
        "rectification_due": due,
        "overdue": bool(due and due < today),
        "withheld": withheld,
    }


def trail_of(session: Session, person: Person, ref: str) -> tuple[int, list[dict[str, Any]]]:
    """The lead's id and its audit events, oldest first."""
    lead = find_lead(session, person, ref, "lead.read")
    return lead.id, [audit.as_dict(e) for e in audit.events_for_lead(session, lead.id)]
