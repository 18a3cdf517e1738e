"""The workbench (工作台): server-rendered pages in Chinese for officers, leaders,
custodians and reviewers, on the same services and permission table as the command line
and the API — no script, every form with its token (CSRF), a person sees what their
roles and units allow."""

from __future__ import annotations

from fastapi import APIRouter

from leadflow.web.workbench import audit, boards, desk, lead, ledger, reporter, signin

router = APIRouter(include_in_schema=False)
for part in (signin, ledger, lead, desk, boards, audit, reporter):
    router.include_router(part.router)
