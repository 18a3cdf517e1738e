"""The use cases, one a module: receipt (intake), triage and the leader's decision,
assignment, disposal and outcome, rectification, the daily sweep, the boards, the
monthly and quarterly escalations, the organisation, the units' returns, the reporter's
identity, the policy in force, and what a command or flow needs to act (runtime). Each
runs in the caller's transaction and changes a lead's state only through the one door
(:mod:`models.services.door`). Services may import every other package of
:mod:`models`; the command line and the flows call them, and they import neither.
"""
