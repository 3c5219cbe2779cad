"""Staff login throttling (django-axes, counted in the suite's Redis): five wrong passwords for
one account from one address lock that account out from that address for 15 minutes, the
right password included, with a page that says so; other accounts and other addresses are
unaffected, and a success before the limit starts the count again."""

from __future__ import annotations

import ipaddress
import random
from typing import Any

import pytest
from django.conf import settings
from django.test import Client

from tests.factories import make_admin, make_user

pytestmark = pytest.mark.django_db

PASSWORD = "a-long-passphrase-123"


def _address() -> str:
    """A fresh documentation address: counts left in Redis by earlier runs never meet it."""
    return str(ipaddress.ip_network("2001:db8::/32")[random.getrandbits(96)])


def _login(client: Client, username: str, password: str) -> Any:
    return client.post("/admin/login/?next=/admin/", {"username": username, "password": password})


def _is_locked(response: Any) -> bool:
    page = response.content.decode()
    return response.status_code == 429 and "<h1>Sign-in locked</h1>" in page


def test_six_wrong_passwords_lock_the_account_out_from_that_address() -> None:
    admin, other = make_admin(), make_admin()
    address = _address()
    client = Client(REMOTE_ADDR=address)
    assert settings.AXES_FAILURE_LIMIT == 5
    answers = [_login(client, admin.username, f"wrong-{n}") for n in range(6)]
    assert [a.status_code for a in answers[:4]] == [200] * 4  # the form again, with its error
    assert all(_is_locked(a) for a in answers[4:])
    page = answers[-1].content.decode()
    assert "Too many failed sign-in attempts" in page
    assert "15 minutes" in page
    # The right password is refused too while the lockout lasts.
    assert _is_locked(_login(client, admin.username, PASSWORD))
    assert "_auth_user_id" not in client.session
    # Another account from the same address, and the same account from elsewhere, sign in.
    assert _login(Client(REMOTE_ADDR=address), other.username, PASSWORD)["Location"] == "/admin/"
    elsewhere = _login(Client(REMOTE_ADDR=_address()), admin.username, PASSWORD)
    assert elsewhere["Location"] == "/admin/"


def test_a_success_before_the_limit_starts_the_count_again() -> None:
    staff = make_user(is_staff=True)
    client = Client(REMOTE_ADDR=_address())
    for _ in range(4):
        assert _login(client, staff.username, "wrong").status_code == 200
    assert _login(client, staff.username, PASSWORD).status_code == 302
    client.logout()
    for _ in range(4):
        assert _login(client, staff.username, "wrong").status_code == 200
    assert _login(client, staff.username, PASSWORD).status_code == 302
