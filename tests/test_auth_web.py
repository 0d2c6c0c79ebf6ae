"""People and access on the web: sign-in, the session cookie, CSRF, guarded pages, tokens, staff pages.

Runs on SQLite and PostgreSQL (the `app` fixture follows `database_url`).
"""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from urllib.parse import urlsplit

import pytest
from flask import g, jsonify
from sqlalchemy import func, select

from badgeserver import create_app
from badgeserver.program import accounts, audit
from badgeserver.store import models as m
from badgeserver.store.migrate import upgrade
from badgeserver.web.auth import api_auth, login_required, safe_next
from badgeserver.web.services import services
from tests.conftest import app_settings

pytestmark = pytest.mark.store

PASSWORD = "correct horse battery staple"
CSRF = re.compile(r'name="csrf_token" value="([^"]+)"')
EXPIRED = "The form has expired; reload the page and try again."
BROWSER_ACCEPT = "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8"


def browser(app):
    """A test client that asks for HTML first, as browsers do (programs get problem JSON)."""
    client = app.test_client()
    client.environ_base["HTTP_ACCEPT"] = BROWSER_ACCEPT
    return client


@pytest.fixture()
def client(app):
    """A browser-like client of `app`."""
    return browser(app)


@pytest.fixture()
def people(app):
    """An educator, a reviewer and a staff member, each with PASSWORD; email by role."""
    now = datetime.now(UTC)
    emails = {"educator": "edu@example.org", "reviewer": "rev@example.org", "staff": "staff@example.org"}
    with services(app).db.transaction() as session:
        for role, email in emails.items():
            person = accounts.add_person(
                session,
                None,
                email=email,
                name=role.title(),
                reviewer=role == "reviewer",
                staff=role == "staff",
                now=now,
            )
            accounts.set_password(session, person, PASSWORD, now=now, actor=None)
    return emails


def token_of(client, path="/login"):
    """The CSRF token in the forms of the page at `path`."""
    page = client.get(path, headers={"Accept": "text/html"})
    found = CSRF.search(page.get_data(as_text=True))
    assert found, page.get_data(as_text=True)[:500]
    return found.group(1)


def login(client, email, password=PASSWORD, next_=None):
    form = {"email": email, "password": password, "csrf_token": token_of(client)}
    if next_ is not None:
        form["next"] = next_
    return client.post("/login", data=form)


def count(app, model):
    with services(app).db.read() as session:
        return session.scalar(select(func.count()).select_from(model))


def person(app, email):
    with services(app).db.read() as session:
        return accounts.find_person(session, email)


def set_cookie(response):
    return "; ".join(response.headers.getlist("Set-Cookie"))


# --- signing in and out ----------------------------------------------------------------------------


def test_sign_in_and_out(client, people, app):
    assert client.get("/account").status_code == 302
    form_page = client.get("/login")
    assert form_page.status_code == 200 and 'autocomplete="current-password"' in form_page.get_data(
        as_text=True
    )
    before = client.get_cookie("badgeserver_session").value
    csrf_before = token_of(client)

    answer = login(client, people["educator"])
    assert answer.status_code == 303 and answer.headers["Location"] == "/account"
    cookie = set_cookie(answer)
    assert "HttpOnly" in cookie and "SameSite=Lax" in cookie and "Secure" not in cookie
    assert client.get_cookie("badgeserver_session").value != before  # a new session on sign-in
    page = client.get("/account")
    html = page.get_data(as_text=True)
    assert (
        page.status_code == 200 and "edu@example.org" in html and "no-store" in page.headers["Cache-Control"]
    )
    assert f'<meta name="csrf-token" content="{CSRF.search(html).group(1)}">' in html
    assert CSRF.search(html).group(1) != csrf_before  # and a new CSRF token
    assert 'action="/logout"' in client.get("/").get_data(as_text=True)

    assert client.post("/logout").status_code == 400  # sign-out needs the token too
    assert client.post("/logout", data={"csrf_token": token_of(client, "/account")}).status_code == 303
    assert client.get("/account").status_code == 302
    assert count(app, m.AuditEntry) == 6  # three people created and given passwords; signing in is no change


def test_secure_cookie_under_https(tmp_path, database_url):
    app = create_app(app_settings(tmp_path, database_url) | {"base_url": "https://badges.example.org"})
    upgrade(services(app).db.engine)
    try:
        answer = browser(app).get("/login", base_url="https://badges.example.org")
        cookie = set_cookie(answer)
        assert "Secure" in cookie and "HttpOnly" in cookie and "SameSite=Lax" in cookie
    finally:
        services(app).db.dispose()


def test_anonymous_public_pages_set_no_cookie(client):
    for path in ("/", "/verify"):
        answer = client.get(path, headers={"Accept": "text/html"})
        assert answer.status_code == 200
        assert "Set-Cookie" not in answer.headers and "Cookie" not in answer.headers.get("Vary", "")
        html = answer.get_data(as_text=True)
        assert 'name="csrf-token"' not in html and 'href="/login"' in html


def test_wrong_password_unknown_email_and_inactive_look_the_same(client, people, app):
    with services(app).db.transaction() as session:
        accounts.set_active(
            session,
            None,
            accounts.find_person(session, people["reviewer"]),
            active=False,
            now=datetime.now(UTC),
        )
    bodies = set()
    for email, password in (
        (people["educator"], "not the password at all"),
        ("nobody@example.org", PASSWORD),
        (people["reviewer"], PASSWORD),
    ):
        answer = login(client, email, password)
        assert answer.status_code == 400
        html = answer.get_data(as_text=True)
        assert 'role="alert"' in html and accounts.SIGN_IN_FAILED in html
        bodies.add(html.replace(email, "EMAIL"))
    assert len(bodies) == 1
    blank = login(client, "", "")
    assert blank.status_code == 400 and "Enter your email and your password." in blank.get_data(as_text=True)


def test_throttled_sign_in_is_429_with_retry_after(client, people):
    for _ in range(5):
        assert login(client, people["educator"], "not the password at all").status_code == 400
    answer = login(client, people["educator"])
    assert answer.status_code == 429
    assert 890 <= int(answer.headers["Retry-After"]) <= 900
    assert "Too many sign-in attempts; try again in 15 minutes." in answer.get_data(as_text=True)
    assert client.get("/account").status_code == 302


@pytest.mark.parametrize(
    ("target", "location"),
    [
        ("https://evil.example", "/account"),
        ("//evil.example", "/account"),
        ("/\\evil", "/account"),
        ("\\\\evil.example", "/account"),
        ("/%0d%0aSet-Cookie:x", "/%0d%0aSet-Cookie:x"),
        ("/ /evil", "/account"),
        ("javascript:alert(1)", "/account"),
        ("", "/account"),
        ("/staff/people?q=a", "/staff/people?q=a"),
    ],
)
def test_only_safe_next_redirects(client, people, target, location):
    answer = login(client, people["staff"], next_=target)
    assert answer.status_code == 303
    assert answer.headers["Location"] == location
    assert not urlsplit(answer.headers["Location"]).netloc


def test_safe_next():
    assert safe_next("/account?tab=1") == "/account?tab=1"
    for bad in (None, "", "account", "//x", "/\\x", "http://x/", "/\x00", "/a\tb", "/" + "a" * 2001):
        assert safe_next(bad) is None


def test_the_login_page_keeps_a_safe_next_and_signed_in_people_skip_it(client, people):
    answer = client.get("/staff/audit?kind=people")
    assert answer.status_code == 302
    assert answer.headers["Location"] == "/login?next=/staff/audit?kind%3Dpeople"
    html = client.get(answer.headers["Location"]).get_data(as_text=True)
    assert 'name="next" value="/staff/audit?kind=people"' in html
    assert 'name="next"' not in client.get("/login?next=//evil.example").get_data(as_text=True)
    assert login(client, people["staff"], next_="/staff/audit?kind=people").headers["Location"] == (
        "/staff/audit?kind=people"
    )
    assert client.get("/login?next=/staff/people").headers["Location"] == "/staff/people"


def test_a_session_ends_with_deactivation_password_change_and_age(tmp_path, database_url):
    clock = {"now": datetime(2026, 1, 5, 10, 0, tzinfo=UTC)}
    app = create_app(app_settings(tmp_path, database_url) | {"clock": lambda: clock["now"]})
    upgrade(services(app).db.engine)
    try:
        with services(app).db.transaction() as session:
            accounts.add_person(
                session, None, email="a@example.org", name="A", password=PASSWORD, now=clock["now"]
            )
        first, second = browser(app), browser(app)
        assert login(first, "a@example.org").status_code == 303
        assert login(second, "a@example.org").status_code == 303
        # A password change on one browser signs the other out, and keeps this one in.
        form = {
            "current_password": PASSWORD,
            "new_password": "another fine passphrase",
            "confirm_password": "another fine passphrase",
            "csrf_token": token_of(first, "/account"),
        }
        assert first.post("/account/password", data=form).status_code == 303
        assert "Your password was changed." in first.get("/account").get_data(as_text=True)
        assert second.get("/account").status_code == 302
        # Twelve hours after signing in, the session is over.
        clock["now"] += timedelta(hours=11, minutes=59)
        assert first.get("/account").status_code == 200
        clock["now"] += timedelta(minutes=2)
        assert first.get("/account").status_code == 302
    finally:
        services(app).db.dispose()


def test_deactivated_people_are_signed_out(client, people, app):
    login(client, people["educator"])
    assert client.get("/account").status_code == 200
    with services(app).db.transaction() as session:
        accounts.set_active(
            session,
            None,
            accounts.find_person(session, people["educator"]),
            active=False,
            now=datetime.now(UTC),
        )
    assert client.get("/account").status_code == 302


# --- CSRF -------------------------------------------------------------------------------------------


def test_csrf(client, people, app):
    login(client, people["educator"])
    form = {"token_name": "laptop", "scope": ["submissions:read"]}
    for attempt in (form, form | {"csrf_token": "forged"}, form | {"csrf_token": ""}):
        answer = client.post("/account/tokens", data=attempt, headers={"Accept": "text/html"})
        assert answer.status_code == 400 and EXPIRED in answer.get_data(as_text=True)
    as_json = client.post("/account/tokens", data=form, headers={"Accept": "application/json"})
    assert as_json.status_code == 400 and as_json.get_json()["detail"] == EXPIRED
    assert as_json.get_json()["code"] == "csrf_failed"
    assert count(app, m.ApiToken) == 0

    token = token_of(client, "/account")
    assert client.post("/account/tokens", data=form | {"csrf_token": token}).status_code == 200
    assert client.post("/account/tokens", data=form, headers={"X-CSRF-Token": token}).status_code == 200
    assert count(app, m.ApiToken) == 2


def test_another_sessions_csrf_token_does_not_work(app, people):
    mine, theirs = browser(app), browser(app)
    login(mine, people["educator"])
    login(theirs, people["reviewer"])
    stolen = token_of(theirs, "/account")
    answer = mine.post(
        "/account/tokens", data={"token_name": "x", "scope": "submissions:read", "csrf_token": stolen}
    )
    assert answer.status_code == 400 and count(app, m.ApiToken) == 0


def test_bearer_requests_skip_csrf_and_ignore_the_session(app, people):
    @app.post("/api/v1/test-echo")
    @api_auth("submissions:write")
    def echo():
        return jsonify({"person": g.person.email, "scopes": sorted(g.scopes)})

    with services(app).db.transaction() as session:
        _, plaintext = accounts.create_token(
            session,
            accounts.find_person(session, people["educator"]),
            "t",
            ["submissions:write"],
            now=datetime.now(UTC),
        )
    client = browser(app)
    answer = client.post("/api/v1/test-echo", json={}, headers={"Authorization": f"Bearer {plaintext}"})
    assert answer.status_code == 200
    assert answer.get_json() == {"person": "edu@example.org", "scopes": ["submissions:write"]}
    assert answer.headers["Cache-Control"] == "no-store"
    # Without the token, the same POST is a CSRF failure or an authentication failure, never a success.
    assert client.post("/api/v1/test-echo", json={}).status_code in (400, 401)
    # A Bearer header does not let a browser session post without CSRF.
    login(client, people["educator"])
    answer = client.post(
        "/account/tokens",
        data={"token_name": "x", "scope": "submissions:read"},
        headers={"Authorization": "Bearer bsk_nothing"},
    )
    assert answer.status_code == 302 and count(app, m.ApiToken) == 1


def test_public_verify_posts_need_no_csrf(client, people, earned_credential, app):
    with services(app).db.read() as session:
        signed = session.get(m.Credential, earned_credential).signed_json
    login(client, people["educator"])  # even with a session cookie
    api = client.post("/api/verify", json={"credential": signed})
    assert api.status_code == 200 and api.get_json()["verified"] is True
    page = client.post("/verify", data={"credential": signed}, content_type="multipart/form-data")
    assert page.status_code == 200 and "Verified" in page.get_data(as_text=True)
    anonymous = browser(app).post(
        "/verify", data={"credential": "{"}, content_type="multipart/form-data"
    )
    assert anonymous.status_code == 400 and EXPIRED not in anonymous.get_data(as_text=True)


# --- guarded pages ----------------------------------------------------------------------------------


@pytest.mark.parametrize("path", ["/account", "/staff/people", "/staff/audit"])
def test_pages_by_role(app, people, path):
    anonymous = browser(app)
    answer = anonymous.get(path)
    assert answer.status_code == 302 and answer.headers["Location"] == f"/login?next={path}"
    as_json = anonymous.get(path, headers={"Accept": "application/json"})
    assert as_json.status_code == 401 and as_json.mimetype == "application/problem+json"
    for role, email in people.items():
        client = browser(app)
        login(client, email)
        expected = 200 if role == "staff" or path == "/account" else 403
        answer = client.get(path)
        assert answer.status_code == expected, (role, path)
        if expected == 403:
            assert "This page is for program staff only." in answer.get_data(as_text=True)


def test_decorators_refuse_unknown_roles_and_scopes():
    with pytest.raises(ValueError, match="role"):
        login_required("admin")
    with pytest.raises(ValueError, match="scope"):
        api_auth("everything")


# --- the account page and tokens ---------------------------------------------------------------------


def test_tokens_on_the_account_page_and_the_api(client, people, app):
    login(client, people["reviewer"])
    html = client.get("/account").get_data(as_text=True)
    assert 'value="reviews:write"' in html and 'value="catalog:write"' not in html
    token = token_of(client, "/account")
    created = client.post(
        "/account/tokens",
        data={"token_name": "grader", "scope": ["reviews:write", "submissions:read"], "csrf_token": token},
    )
    page = created.get_data(as_text=True)
    plaintext = re.search(r"bsk_[A-Za-z0-9_-]{43}", page).group(0)
    assert created.headers["Cache-Control"] == "no-store" and 'role="status"' in page
    assert plaintext not in client.get("/account").get_data(as_text=True)  # shown once

    me = client.get("/api/v1/me", headers={"Authorization": f"Bearer {plaintext}"})
    assert me.status_code == 200
    assert me.get_json() == {
        "id": person(app, people["reviewer"]).id,
        "email": "rev@example.org",
        "name": "Reviewer",
        "roles": ["educator", "reviewer"],
        "scopes": ["submissions:read", "reviews:write"],
    }
    missing = client.get("/api/v1/me")
    assert missing.status_code == 401 and missing.headers["WWW-Authenticate"] == 'Bearer realm="badgeserver"'
    assert missing.mimetype == "application/problem+json" and missing.get_json()["status"] == 401

    # Refused forms change nothing and say why.
    bad = client.post(
        "/account/tokens", data={"token_name": "x", "scope": "catalog:write", "csrf_token": token}
    )
    assert bad.status_code == 403 and 'role="alert"' in bad.get_data(as_text=True)
    empty = client.post(
        "/account/tokens", data={"token_name": "", "scope": "reviews:write", "csrf_token": token}
    )
    assert empty.status_code == 400 and 'href="#token_name"' in empty.get_data(as_text=True)
    assert count(app, m.ApiToken) == 1

    with services(app).db.read() as session:
        token_id = session.scalar(select(m.ApiToken.id))
    other = browser(app)
    login(other, people["educator"])
    refused = other.post(
        "/account/tokens/revoke", data={"token_id": token_id, "csrf_token": token_of(other, "/account")}
    )
    assert refused.status_code == 404  # not yours
    revoked = client.post("/account/tokens/revoke", data={"token_id": token_id, "csrf_token": token})
    assert revoked.status_code == 303
    assert "was revoked" in client.get("/account").get_data(as_text=True)
    after = client.get("/api/v1/me", headers={"Authorization": f"Bearer {plaintext}"})
    assert after.status_code == 401 and 'error="invalid_token"' in after.headers["WWW-Authenticate"]
    assert after.get_json()["detail"] == accounts.TOKEN_INVALID


def test_insufficient_scope_is_403(app, people):
    @app.get("/api/v1/test-catalog")
    @api_auth("catalog:write")
    def catalog_only():
        return jsonify({})

    with services(app).db.transaction() as session:
        _, plaintext = accounts.create_token(
            session,
            accounts.find_person(session, people["staff"]),
            "t",
            ["audit:read"],
            now=datetime.now(UTC),
        )
    answer = browser(app).get("/api/v1/test-catalog", headers={"Authorization": f"Bearer {plaintext}"})
    assert answer.status_code == 403 and answer.mimetype == "application/problem+json"
    assert 'error="insufficient_scope"' in answer.headers["WWW-Authenticate"]


def test_password_form_errors_change_nothing(client, people, app):
    login(client, people["educator"])
    token = token_of(client, "/account")
    before = person(app, people["educator"]).password_hash
    cases = [
        (
            {
                "current_password": "wrong wrong wrong",
                "new_password": "a fine new passphrase",
                "confirm_password": "a fine new passphrase",
            },
            "#current_password",
        ),
        (
            {
                "current_password": PASSWORD,
                "new_password": "password1234",
                "confirm_password": "password1234",
            },
            "#new_password",
        ),
        (
            {
                "current_password": PASSWORD,
                "new_password": "a fine new passphrase",
                "confirm_password": "different",
            },
            "#confirm_password",
        ),
        ({"current_password": "", "new_password": "", "confirm_password": ""}, "#current_password"),
    ]
    for form, anchor in cases:
        answer = client.post("/account/password", data=form | {"csrf_token": token})
        html = answer.get_data(as_text=True)
        assert answer.status_code == 400 and 'role="alert"' in html and f'href="{anchor}"' in html
        assert 'aria-invalid="true"' in html
    assert person(app, people["educator"]).password_hash == before


# --- staff pages ------------------------------------------------------------------------------------


def test_staff_manage_people(client, people, app):
    login(client, people["staff"])
    token = token_of(client, "/staff/people")
    new = {
        "email": "New@Example.org",
        "name": "New Person",
        "reviewer": "1",
        "password": PASSWORD,
        "csrf_token": token,
    }

    weak = client.post("/staff/people", data=new | {"password": "password1234"})
    html = weak.get_data(as_text=True)
    assert weak.status_code == 400 and 'role="alert"' in html and "too common" in html
    assert 'value="New@Example.org"' in html  # what was typed is kept
    blank = client.post("/staff/people", data={"csrf_token": token})
    assert blank.status_code == 400 and blank.get_data(as_text=True).count('class="field-error"') == 3
    assert count(app, m.Person) == 3

    assert client.post("/staff/people", data=new).status_code == 303
    assert "New Person (new@example.org) was added as reviewer." in client.get("/staff/people").get_data(
        as_text=True
    )
    twice = client.post("/staff/people", data=new)
    assert twice.status_code == 409 and "already exists" in twice.get_data(as_text=True)
    newcomer = person(app, "new@example.org")
    assert newcomer.is_reviewer and newcomer.password_hash.startswith("scrypt:")

    roles = client.post(
        "/staff/people/roles", data={"person_id": newcomer.id, "staff": "1", "csrf_token": token}
    )
    assert roles.status_code == 303
    assert (person(app, "new@example.org").is_reviewer, person(app, "new@example.org").is_staff) == (
        False,
        True,
    )
    me = person(app, people["staff"])
    own = client.post("/staff/people/roles", data={"person_id": me.id, "csrf_token": token})
    assert own.status_code == 403 and "own staff role" in own.get_data(as_text=True)
    nobody = client.post("/staff/people/roles", data={"person_id": "99999", "csrf_token": token})
    assert nobody.status_code == 404
    junk = client.post("/staff/people/active", data={"person_id": "x", "active": "0", "csrf_token": token})
    assert junk.status_code == 400

    off = client.post(
        "/staff/people/active", data={"person_id": newcomer.id, "active": "0", "csrf_token": token}
    )
    assert off.status_code == 303 and not person(app, "new@example.org").active
    assert login(browser(app), "new@example.org").status_code == 400
    found = client.get("/staff/people?q=NEW").get_data(as_text=True)
    assert "new@example.org" in found and "edu@example.org" not in found and "Reactivate" in found
    assert client.get("/staff/people?page=abc").status_code == 200


def test_the_audit_page(client, people, app):
    login(client, people["staff"])
    token = token_of(client, "/account")
    created = client.post(
        "/account/tokens", data={"token_name": "ops", "scope": "audit:read", "csrf_token": token}
    )
    plaintext = re.search(r"bsk_[A-Za-z0-9_-]{43}", created.get_data(as_text=True)).group(0)
    with services(app).db.transaction() as session:  # someone records a secret by mistake: it is not shown
        subject = accounts.find_person(session, people["educator"])
        audit.record(
            session,
            actor=None,
            action="test.leak",
            subject=subject,
            now=datetime.now(UTC),
            before={"password_hash": "scrypt:leak", "nested": {"token_hash": "abc123"}},
        )

    page = client.get("/staff/audit")
    html = page.get_data(as_text=True)
    assert page.status_code == 200
    for action in ("person.created", "person.password_set", "token.created", "test.leak"):
        assert action in html
    assert (
        html.index("test.leak") < html.index("token.created") < html.index("person.created")
    )  # newest first
    assert "scrypt:" not in html and "password_hash" not in html and "token_hash" not in html
    assert plaintext not in html and "&#34;is_staff&#34;: true" in html

    tokens_only = client.get("/staff/audit?kind=api_tokens").get_data(as_text=True)
    assert "token.created" in tokens_only and "person.created" not in tokens_only
    assert "No entries" in client.get("/staff/audit?kind=nothing").get_data(as_text=True)

    with services(app).db.transaction() as session:
        subject = accounts.find_person(session, people["educator"])
        for n in range(60):
            audit.record(session, actor=None, action=f"test.bulk{n}", subject=subject, now=datetime.now(UTC))
    first = client.get("/staff/audit").get_data(as_text=True)
    assert "test.bulk59" in first and "person.created" not in first and "Older entries" in first
    second = client.get("/staff/audit?page=2").get_data(as_text=True)
    assert "person.created" in second and "test.bulk59" not in second and "Newer entries" in second


def test_a_copied_session_cookie_stops_working_after_sign_out(app):
    """Signing out ends the session server-side: a copy of the cookie taken before is refused."""
    from badgeserver.program import accounts as _accounts
    from badgeserver.program import submissions as _sub
    from badgeserver.web.services import services as _services

    svc = _services(app)
    with svc.db.transaction() as session:
        person = _sub.create_person(session, email="copy@example.org", name="Copy Cat", now=svc.clock())
        _accounts.set_password(session, person, "a long enough passphrase", now=svc.clock(), actor=None)
    browser = app.test_client()
    page = browser.get("/login", headers={"Accept": "text/html"})
    token = re.search(r'name="csrf_token" value="([^"]+)"', page.get_data(as_text=True)).group(1)
    signed_in = browser.post(
        "/login",
        data={"email": "copy@example.org", "password": "a long enough passphrase", "csrf_token": token},
        headers={"Accept": "text/html"},
    )
    assert signed_in.status_code == 303
    cookie = browser.get_cookie("badgeserver_session")
    assert browser.get("/account", headers={"Accept": "text/html"}).status_code == 200
    account = browser.get("/account", headers={"Accept": "text/html"}).get_data(as_text=True)
    token = re.search(r'name="csrf_token" value="([^"]+)"', account).group(1)
    assert browser.post("/logout", data={"csrf_token": token}, headers={"Accept": "text/html"}).status_code == 303
    thief = app.test_client()
    thief.set_cookie("badgeserver_session", cookie.value)
    replay = thief.get("/account", headers={"Accept": "text/html"})
    assert replay.status_code == 302 and "/login" in replay.headers["Location"]
