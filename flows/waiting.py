"""The run that waits for a leader's decision (委领导分析研判), made already suspended.

A batch intake run triages many leads; a lead that must wait for a commission leader gets
a run of its own in the intake deployment, named after it and created in the Suspended
state: no worker starts it and it holds nothing. `leadflow lead decide` records the
decision and resumes it; it then runs the lead's intake from the start, which finds the
lead decided and renders its notices. It takes no input: whatever a resume carries, the
run acts on the decision LeadFlow's record holds, and a start while the record holds
none is a resume from outside LeadFlow, refused and recorded (flows/intake.py). One
request to Prefect for a waiting lead, where a run that starts and then suspends itself
makes about eleven.

One such run per lead, ever: its creation is keyed by the lead's external id.
"""

from __future__ import annotations

from typing import TYPE_CHECKING
from uuid import UUID

from prefect.client.orchestration import get_client
from prefect.input import RunInput
from prefect.input.run_input import Keyset, keyset_from_paused_state
from prefect.states import State, Suspended

if TYPE_CHECKING:
    from prefect.client.orchestration import SyncPrefectClient

INTAKE_DEPLOYMENT = "lead-intake/lead-intake"


class LeaderDecision(RunInput):
    """The key of a decision recorded in LeadFlow: nothing else reaches Prefect."""

    decision: str


def pause_key(lead_id: int) -> str:
    return f"decision-{lead_id}"


def keyset(lead_id: int) -> Keyset:
    """Where a resume's input for this lead's wait is kept on its run."""
    return keyset_from_paused_state(Suspended(pause_key=pause_key(lead_id)))


_deployments: dict[tuple[str, str], UUID] = {}


def deployment_id(client: SyncPrefectClient, name: str) -> UUID:
    """A deployment's id on the client's server, read once per process: applying
    prefect.yaml updates a deployment in place, its id stays (``forget_deployments``
    after a refusal, in case it was made anew)."""
    key = (str(client.api_url), name)
    if key not in _deployments:
        _deployments[key] = client.read_deployment_by_name(name).id
    return _deployments[key]


def forget_deployments() -> None:
    _deployments.clear()


def create_waiting_run(lead_id: int, external_id: str, *, seconds: int, tags: list[str]) -> str:
    """The lead's waiting run, suspended for at most ``seconds``: its id (the one made
    before, if any)."""
    state: State[None] = Suspended(timeout_seconds=seconds, pause_key=pause_key(lead_id))
    with get_client(sync_client=True) as client:
        try:
            run = client.create_flow_run_from_deployment(
                deployment_id(client, INTAKE_DEPLOYMENT),
                parameters={"lead_id": lead_id, "external_id": external_id},
                name=f"intake {external_id}",
                state=state,
                tags=tags,
                idempotency_key=f"intake-{external_id}-waiting",
            )
        except Exception:
            forget_deployments()
            raise
    return str(run.id)


def given_decision(lead_id: int, flow_run_id: UUID) -> str | None:
    """The decision key a resume gave this run, if it suspended itself and was resumed
    with one."""
    from prefect.exceptions import PrefectHTTPStatusError

    with get_client(sync_client=True) as client:
        try:
            given = client.read_flow_run_input(flow_run_id, keyset(lead_id)["response"])
        except PrefectHTTPStatusError as exc:
            if exc.response.status_code == 404:  # resumed without one, or never resumed
                return None
            raise
    return LeaderDecision.model_validate_json(given).decision


def resume(flow_run_id: str, decision_key: str) -> None:
    """Resume a waiting run; a run that suspended itself is given the recorded decision's
    key (one made suspended takes no input and reads the record)."""
    from prefect.flow_runs import resume_flow_run

    resume_flow_run(UUID(flow_run_id), run_input={"decision": decision_key})
