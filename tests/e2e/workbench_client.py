"""Signing in to the workbench as a browser does, for the in-process tests: the sign-in
page's form token taken from the page, posted with the name and password."""

from __future__ import annotations

import re

from fastapi.testclient import TestClient

PASSWORD = "a long enough password"  # tests/e2e/api_world.py's people all have it


def form_token(html: str) -> str:
    found = re.search(r'name="csrf" value="([^"]+)"', html)
    assert found, "no form token on the page"
    return found.group(1)


def sign_in(client: TestClient, username: str, password: str = PASSWORD) -> str:
    """Signed in as ``username``; the session's form token, which every form carries."""
    page = client.get("/login")
    answer = client.post(
        "/login",
        data={"csrf": form_token(page.text), "username": username, "password": password},
        follow_redirects=False,
    )
    assert answer.status_code == 303, answer.text
    landing = client.get(answer.headers["location"])
    assert landing.status_code == 200, landing.text
    return form_token(landing.text)
