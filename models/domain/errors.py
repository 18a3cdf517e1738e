"""The errors a user can meet. Each maps to one exit status of docs/commands.md."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Problem:
    """One thing wrong with an input: where it is and why."""

    source: str
    reason: str
    line: int | None = None
    field: str | None = None

    def __str__(self) -> str:
        where = self.source if self.line is None else f"{self.source}:{self.line}"
        if self.field:
            where += f": field '{self.field}'"
        return f"{where}: {self.reason}"


class LeadFlowError(Exception):
    exit_code = 1


class BadInput(LeadFlowError):
    """Input that cannot be accepted (exit 2). Raised before anything is written."""

    exit_code = 2

    def __init__(self, problems: list[Problem]) -> None:
        self.problems = problems
        super().__init__("\n".join(str(p) for p in problems))


class RuleRefused(LeadFlowError):
    """A rule of docs/rules.md refused the action (exit 1). Nothing was changed."""

    exit_code = 1

    def __init__(self, rule: str, message: str) -> None:
        self.rule = rule
        super().__init__(f"refused by rule '{rule}': {message}")


class Conflict(RuleRefused):
    """Another writer changed the record first (optimistic version check)."""

    def __init__(self, message: str) -> None:
        super().__init__("optimistic_version", message)


class NotFound(LeadFlowError):
    exit_code = 2


class Unavailable(LeadFlowError):
    """A service could not be reached (exit 69); the message says what was recorded."""

    exit_code = 69


class NotHandedOn(LeadFlowError):
    """Recorded, but not yet handed on to its flow (exit 75): the reconciler will."""

    exit_code = 75


@dataclass(frozen=True)
class Refusal:
    """An attempt the permission table refused: recorded on the audit trail once the
    attempt's own transaction has been rolled back (who, what, when; the lead if any)."""

    actor: str
    act: str
    answer: str  # "not_permitted" or "out_of_scope"
    reason: str
    lead_id: int | None = None


class NotPermitted(LeadFlowError):
    """The person's roles do not allow the act (exit 3, HTTP 403); recorded."""

    exit_code = 3

    def __init__(self, refusal: Refusal, message: str) -> None:
        self.refusal = refusal
        super().__init__(message)


class OutOfScope(NotFound):
    """A lead outside the person's units: answered as an unknown id (exit 2, HTTP 404),
    with the same message; recorded."""

    def __init__(self, refusal: Refusal, message: str) -> None:
        self.refusal = refusal
        super().__init__(message)
