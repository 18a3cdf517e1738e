"""The audit chain's head signed and written outside the database (docs/rules.md §5),
daily on the schedule of prefect.yaml; `leadflow audit anchor` does the same on demand
and every escalation run does it when it ends."""

from __future__ import annotations

from typing import Any

from prefect import flow

from models.services import anchoring, runtime


@flow(name="audit-anchor", flow_run_name="audit anchor")
def audit_anchor() -> dict[str, Any]:
    signed = anchoring.anchor(runtime.engine())
    return {"anchor": signed.n, "seq": signed.seq, "hash": signed.hash, "at": signed.at}
