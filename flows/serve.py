"""Serve LeadFlow's deployments from this process (no work pool needed): `python -m flows.serve`.

The deployments, their schedules and their triggers are read from `prefect.yaml`, so
what is served is what is declared there.
"""

from __future__ import annotations

import importlib
from pathlib import Path
from typing import Any

import yaml
from prefect import serve
from prefect.client.schemas.schedules import CronSchedule
from prefect.events import DeploymentEventTrigger

PREFECT_YAML = Path(__file__).resolve().parent.parent / "prefect.yaml"


def declared() -> list[dict[str, Any]]:
    return yaml.safe_load(PREFECT_YAML.read_text(encoding="utf-8"))["deployments"]


def deployments() -> list[Any]:
    out = []
    for spec in declared():
        module, _, name = spec["entrypoint"].partition(":")
        flow = getattr(importlib.import_module(module.removesuffix(".py").replace("/", ".")), name)
        out.append(
            flow.to_deployment(
                name=spec["name"],
                description=spec.get("description"),
                parameters=spec.get("parameters"),
                triggers=[DeploymentEventTrigger(**t) for t in spec.get("triggers", [])],
                schedules=[
                    CronSchedule(cron=s["cron"], timezone=s["timezone"])
                    for s in spec.get("schedules", [])
                ],
            )
        )
    return out


if __name__ == "__main__":
    serve(*deployments())
