"""A worker process for the concurrency test (test_concurrency.py): it moves the leads it
is given through disposal, outcome and rectification — each step in its own transaction,
as a handling officer would — and runs the monthly and quarterly escalations, starting
at an agreed instant so that two workers collide. It prints what it did as JSON."""

from __future__ import annotations

import json
import sys
import time
from datetime import date
from pathlib import Path

from models.domain.errors import LeadFlowError
from models.domain.people import system
from models.services import escalations
from models.services.desk import Desk
from models.services.disposal import HandledCounts, dispose, record_outcome
from models.services.policy import in_force
from models.services.rectification import order_rectification
from models.store.database import make_engine, transaction
from tests.conftest import KUNMING, on_day

# The day the workers replay: the synthetic leads were received by then, and imported on it.
REPLAYED = date(2026, 11, 30)


def main() -> None:
    url, output, name, start_at, *ids = sys.argv[1:]
    engine = make_engine(url)
    with transaction(engine) as session:
        desk = on_day(Desk(system(name), REPLAYED, in_force(session), Path(output), KUNMING))
    steps = [
        lambda s, i: dispose(s, desk, i, method="talk_letter", reason=f"{name}处置"),
        lambda s, i: record_outcome(
            s,
            desk,
            i,
            kind="first_form",
            form=1,
            counts=HandledCounts(educated=1),
            finding="违规发放补贴",
            reason=f"{name}结果",
        ),
        lambda s, i: order_rectification(s, desk, i, reason=f"{name}整改"),
    ]
    done = {"moved": 0, "refused": 0, "escalations": []}
    while time.time() < float(start_at):
        time.sleep(0.001)
    for lead_id in map(int, ids):
        for step in steps:
            try:
                with transaction(engine) as session:
                    step(session, lead_id)
                done["moved"] += 1
            except LeadFlowError:  # the other worker took this step first
                done["refused"] += 1
    for run, period in ((escalations.monthly, "2026-09"), (escalations.quarterly, "2026-Q3")):
        with transaction(engine) as session:
            report = run(session, desk, period)
            done["escalations"].append([period, len(report.issued), len(report.already_issued)])
    print(json.dumps(done))


if __name__ == "__main__":
    main()
