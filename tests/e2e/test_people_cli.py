"""People on the command line, end to end: the first admin made by the single operator,
then the others with their tokens; the adversary's attempts each refused with its exit
status and recorded, and what each role may do done."""

from __future__ import annotations

import json
import subprocess
import sys
from dataclasses import replace

import pytest
from sqlalchemy import select

from models.audit import AuditEvent
from models.store.database import make_engine
from tests.conftest import EXAMPLES, Cli, Ran

PASSWORD = "correct horse battery staple"


def _as(cli: Cli, token: str | None = None, **env: str) -> Cli:
    kept = {k: v for k, v in cli.env.items() if k not in ("LEADFLOW_TOKEN", *env)}
    return replace(cli, env={**kept, **env, **({"LEADFLOW_TOKEN": token} if token else {})})


def _add(
    cli: Cli, username: str, name: str, unit: str, *roles: str, password: str = PASSWORD
) -> Ran:
    command = ["user", "add", username, "--name", name, "--unit", unit]
    command += [a for r in roles for a in ("--role", r)]
    done = subprocess.run(
        [sys.executable, "-c", "from leadflow.cli import main; main()", *command],
        cwd=cli.cwd,
        env=cli.env,
        input=password + "\n",
        capture_output=True,
        text=True,
        timeout=120,
    )
    return Ran(done.returncode, done.stdout, done.stderr)


def _refusals(cli: Cli) -> list[tuple[str, str, str | None]]:
    """(actor, act, answer) of each refusal on the trail, oldest first."""
    engine = make_engine(cli.env["LEADFLOW_DATABASE_URL"])
    with engine.connect() as c:
        rows = c.execute(
            select(AuditEvent.actor, AuditEvent.data)
            .where(AuditEvent.action == "access.refused")
            .order_by(AuditEvent.seq)
        ).all()
    engine.dispose()
    return [(actor, json.loads(d)["act"], json.loads(d)["answer"]) for actor, d in rows]


@pytest.mark.slow
def test_the_adversarys_steps_are_refused_and_recorded(sqlite_cli: Cli) -> None:
    cli = sqlite_cli
    assert "single-operator mode" in cli("init", check=0).stderr
    cli("org", "load", EXAMPLES / "kunming.yaml", check=0)
    lead = cli("lead", "submit", EXAMPLES / "lead.json", check=0).stdout.strip()

    # A forged actor with a newline would write a line of its own into `audit show`.
    forged = _as(cli, LEADFLOW_ACTOR="甲\n    99  2026-01-01 00:00:00Z  乙  lead.close")
    assert "control character" in forged("audit", "show", lead, check=3).stderr
    # The lead's subject names himself as the leader who authorised his own case's team.
    decide = ("lead", "decide", lead, "--mode", "joint", "--reason", "同意")
    assert "subject" in cli(*decide, "--by", "刘某（被反映人）", check=3).stderr
    assert [r[1:] for r in _refusals(cli)] == [
        ("authenticate", "not_permitted"),
        ("lead.decide", "not_permitted"),
    ]

    assert _add(cli, "yangzx", "杨正晓", "D1", "leader").code == 2  # the first is an admin
    made = _add(cli, "wangmin", "王敏", "D1", "admin")
    assert made.code == 0, made.stderr
    admin = _as(cli, made.stdout.strip())
    assert "LEADFLOW_TOKEN" in cli("audit", "show", lead, check=3).stderr  # no token now
    assert _as(cli, "not-a-token")("audit", "show", lead).code == 3
    assert _add(admin, "short", "短", "D1", "officer", password="short").code == 2
    for user in (
        ("zhaolei", "赵磊", "C03", "officer"),  # the lead's entity is supervised by C03
        ("qianli", "钱莉", "R01", "officer"),  # a clerk of another unit
        ("yangzx", "杨正晓", "D1", "leader"),
        ("sunhui", "孙慧", "D1", "custodian"),
        ("liuguo", "刘某", "D1", "leader"),  # a leader who is the lead's subject
    ):
        assert _add(admin, *user).code == 0
    token = {
        u: admin("user", "token", u, check=0).stdout.strip()
        for u in ("zhaolei", "qianli", "yangzx", "sunhui", "liuguo")
    }
    officer, clerk, leader, custodian, subject = (_as(cli, token[u]) for u in token)

    # A clerk of another unit closing the lead: answered as an unknown lead.
    unknown = clerk("lead", "close", "999999", "--reason", "了结", check=2)
    outside = clerk("lead", "close", lead, "--reason", "了结", check=2)
    assert outside.stderr.replace(lead, "999999") == unknown.stderr
    # The lead's own officer closing it while it awaits the leader's decision.
    officer("lead", "close", lead, "--reason", "予以了结", check=3)
    # An officer reading the reporter; an admin deciding the lead.
    officer("lead", "reporter", lead, "--reason", "想看看", check=3)
    admin(*decide, check=3)
    # A leader names another as the decider; the subject decides as himself.
    leader(*decide, "--by", "刘某（被反映人）", check=3)
    subject(*decide, check=3)
    assert [r[1:] for r in _refusals(cli)[2:]] == [
        ("authenticate", "not_permitted"),
        ("authenticate", "not_permitted"),
        ("lead.close", "out_of_scope"),
        ("lead.close_at_triage", "not_permitted"),
        ("reporter.read", "not_permitted"),
        ("lead.decide", "not_permitted"),
        ("lead.decide", "not_permitted"),
        ("lead.decide", "not_permitted"),
    ]
    assert {r[0] for r in _refusals(cli)[4:]} >= {"qianli（钱莉） os:" + _os_user()}

    # What the table allows is done, as the person, with the OS user beside them.
    decided = json.loads(leader(*decide, "--json", check=0).stdout)
    assert decided["state"] == "in_handling"
    shown = json.loads(officer("audit", "show", lead, "--json", check=0).stdout)
    assert shown["events"][-1]["actor"].startswith("yangzx（杨正晓） os:")
    read = json.loads(
        custodian("lead", "reporter", lead, "--reason", "核实", "--json", check=0).stdout
    )
    assert read["reporter"]["name"] == "张三"
    custodian("audit", "show", lead, check=3)  # a custodian reads reporters, nothing else
    # The officer asks, the custodian grants one read, the officer reads once.
    asked = json.loads(
        officer("reporter", "request", lead, "--reason", "核实", "--json", check=0).stdout
    )
    custodian("reporter", "grant", str(asked["request"]), "--reason", "同意", check=0)
    once = json.loads(
        officer("lead", "reporter", lead, "--reason", "核实", "--json", check=0).stdout
    )
    assert once["reporter"]["phone"] == "13800000000"
    officer("lead", "reporter", lead, "--reason", "再看", check=3)
    clerk("reporter", "request", lead, "--reason", "核实", check=2)  # not their unit's lead
    admin("user", "revoke", "zhaolei", check=0)
    assert officer("audit", "show", lead).code == 3


def _os_user() -> str:
    import getpass

    return getpass.getuser()
