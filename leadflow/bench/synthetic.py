"""Synthetic leads for tests and benchmarks: many valid leads over a loaded organisation."""

from __future__ import annotations

import json
import random
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from models.inputs.schemas import Channel, Flag, Rank, Source

DOMAINS = ("poverty_alleviation", "four_winds", "land", "education_health", "social_security")


def write_leads(
    path: Path, *, count: int, entities: Sequence[str], seed: int = 1, prefix: str = "SYN"
) -> Path:
    """``count`` leads, one JSON object a line, spread over ``entities``, reproducible by seed."""
    rng = random.Random(seed)
    sources, channels, ranks, flags = list(Source), list(Channel), list(Rank), list(Flag)
    with path.open("w", encoding="utf-8") as out:
        for n in range(count):
            source = rng.choice(sources)
            lead: dict[str, Any] = {
                "external_id": f"{prefix}-{seed}-{n:09d}",
                # January to November 2026: months that have ended, as received leads' have.
                "received_at": f"2026-{n % 11 + 1:02d}-{n % 28 + 1:02d}T09:15:00+08:00",
                "source": source.value,
                "channel": rng.choice(channels).value,
                "subject": {
                    "name": f"某{n % 997}",
                    "post": "工作人员",
                    "rank": rng.choice(ranks).value,
                    "entity": rng.choice(entities),
                },
                "domain": rng.choice(DOMAINS),
                "summary": f"合成线索第{n}号：反映有关人员违规问题。",
                "amount_yuan": rng.choice((0, 0, 5000, 120000)),
                "flags": rng.sample([f.value for f in flags], rng.choice((0, 0, 1, 2))),
            }
            if source is Source.public_report:
                lead["reporter"] = {
                    "name": f"举报人{n}",
                    "phone": f"139{n:08d}",
                    "anonymous": False,
                }
            out.write(json.dumps(lead, ensure_ascii=False) + "\n")
    return path
