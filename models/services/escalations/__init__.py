"""The monthly and quarterly runs of docs/rules.md §3 on the system of record.

Monthly, for the month just ended, once its returns are in or due: both colour boards;
a work warning notice to each unit last N months running; zero reports flagged for a
self-directed inspection; the units that have not filed (未报送) listed; the
bulletin with the month's boards, the year-to-date boards beside them and each unit's
composite score month by month. Quarterly, for the quarter just ended: the quarter
boards; an interview notice to each unit in last place; each unit group's quarterly
report and the coordinating office's consolidated report to the leaders.

A run is one transaction: its documents (numbered, pending their PDFs), its record
(the board values it read and what it decided) and its audit events commit together.
Documents are keyed by (kind, unit, period), the run by (kind, period): a second run
issues nothing and lists what the first issued. If the data of the period changed
since, the rerun reports each changed value — and still issues nothing on its own.
"""

from models.services.escalations.month import MONTHLY_KINDS, monthly, not_yet, running_window
from models.services.escalations.quarter import QUARTERLY_KINDS, quarterly
from models.services.escalations.run import RunReport, describe

__all__ = [
    "MONTHLY_KINDS",
    "QUARTERLY_KINDS",
    "RunReport",
    "describe",
    "monthly",
    "not_yet",
    "quarterly",
    "running_window",
]
