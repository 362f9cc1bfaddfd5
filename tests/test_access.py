"""Optional login: the allow-list, and pages that stop at a login prompt when [auth] is configured."""
from __future__ import annotations

from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from lens_core.access import is_allowed

HOME = str(Path(__file__).resolve().parent.parent / "Home.py")
AUTH = {"redirect_uri": "http://localhost:8501/oauth2callback", "cookie_secret": "x" * 32,
        "client_id": "lens", "client_secret": "secret", "server_metadata_url": "https://idp.example.com/.well-known/openid-configuration"}


@pytest.mark.parametrize(
    ("email", "emails", "domains", "allowed"),
    [
        ("ann@example.com", [], [], True),
        ("ann@example.com", ["ann@example.com"], [], True),
        ("ANN@Example.com", ["ann@example.com"], [], True),
        ("bob@example.com", ["ann@example.com"], [], False),
        ("bob@team.example.com", [], ["example.com"], True),
        ("bob@example.com.evil.org", [], ["example.com"], False),
        ("bob@notexample.com", [], ["@example.com"], False),
        (None, [], ["example.com"], False),
    ],
)
def test_allow_list(email, emails, domains, allowed):
    assert is_allowed(email, emails, domains) is allowed


@pytest.mark.parametrize("page", ["Home.py", "pages/1_Compare.py", "pages/2_Run.py", "pages/3_Hyperparameters.py"])
def test_every_page_asks_for_login_when_auth_is_configured(monkeypatch, sqlite_store, page):
    monkeypatch.setenv("MLFLOW_TRACKING_URI", sqlite_store[0])
    at = AppTest.from_file(HOME, default_timeout=60)
    at.secrets["auth"] = AUTH
    if page != "Home.py":
        at.switch_page(page)
    at.run()
    assert not at.exception
    assert [b.label for b in at.button] == ["Log in"]
    assert not at.dataframe and not at.metric  # nothing of the tracker is shown


def test_open_without_auth(monkeypatch, sqlite_store):
    monkeypatch.setenv("MLFLOW_TRACKING_URI", sqlite_store[0])
    at = AppTest.from_file(HOME, default_timeout=60).run()
    assert not at.exception and "Log in" not in [b.label for b in at.button]
