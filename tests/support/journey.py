"""A participant's HTTP session against a running server: consent, choose a question."""

from __future__ import annotations

import re

import httpx2


def csrf_token(html: str) -> str:
    match = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', html)
    assert match, "the page has no CSRF token"
    return match.group(1)


def enter_study(client: httpx2.Client, slug: str) -> int:
    """Consent and start the first question's interview; return the interview id."""
    start = client.get(f"/s/{slug}/")
    assert start.status_code == 200, start.text
    consented = client.post(
        f"/s/{slug}/",
        data={"csrfmiddlewaretoken": csrf_token(start.text), "consent": "yes"},
        follow_redirects=True,
    )
    assert consented.status_code == 200, consented.text
    question = re.search(r'name="question" value="(\d+)"', consented.text)
    assert question, "no question to choose"
    interview = client.post(
        f"/s/{slug}/questions/",
        data={"csrfmiddlewaretoken": csrf_token(consented.text), "question": question.group(1)},
        follow_redirects=True,
    )
    assert interview.status_code == 200, interview.text
    match = re.search(r"/interviews/(\d+)/", str(interview.url))
    assert match, interview.url
    return int(match.group(1))


def cookie_header(client: httpx2.Client) -> str:
    return "; ".join(f"{name}={value}" for name, value in client.cookies.items())
