"""The rules of docs/rules.md as plain code: the lifecycle's states and moves, triage,
recusal and the draws made under it, the colour boards' scoring, the escalations,
working days, the organisation as the rules see it, the policy's validated models, and
the errors a user can meet. Modules here import each other, pydantic and the standard
library (and ``chinesecalendar`` for working days) — never SQLAlchemy, Prefect, Jinja,
WeasyPrint or the file system, so each rule can be tested alone.
"""
