"""People and access without the web: password policy, sign-in and throttling, API tokens, roles, the CLI.

The store-backed tests run on SQLite and PostgreSQL (the `database_url` fixture).
"""

from __future__ import annotations

import hashlib
import json
from datetime import UTC, datetime, timedelta

import pytest
import sqlalchemy as sa
from click.testing import CliRunner
from sqlalchemy import func, select

from badgeserver.cli import main
from badgeserver.errors import InputError, NotFound
from badgeserver.program import accounts
from badgeserver.program.submissions import Forbidden, WorkflowError
from badgeserver.store import models as m
from badgeserver.store.db import Database
from badgeserver.store.migrate import upgrade

pytestmark = pytest.mark.store

NOW = datetime(2026, 1, 5, 10, 0, tzinfo=UTC)
GOOD = "correct horse battery staple"
OTHER = "a different long passphrase"


@pytest.fixture()
def db(database_url):
    """A migrated database."""
    database = Database(database_url)
    upgrade(database.engine)
    yield database
    database.dispose()


def make(db, email, *, reviewer=False, staff=False, password=GOOD):
    """A person (with a password, unless None); returns their id."""
    with db.transaction() as session:
        person = accounts.add_person(
            session, None, email=email, name=email.split("@")[0], reviewer=reviewer, staff=staff, now=NOW
        )
        if password is not None:
            accounts.set_password(session, person, password, now=NOW, actor=None)
        return person.id


def sign_in(db, email, password, *, at=NOW, addr="192.0.2.1"):
    """authenticate() the way the web layer calls it: the attempt is committed even when it fails."""
    outcome: object = None
    with db.transaction() as session:
        try:
            outcome = accounts.authenticate(session, email, password, remote_addr=addr, now=at).id
        except accounts.AuthenticationFailed as exc:
            outcome = exc
    return outcome


def audit_rows(db):
    with db.read() as session:
        return list(session.scalars(select(m.AuditEntry).order_by(m.AuditEntry.id)))


# --- passwords ---------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("password", "problem"),
    [
        ("x" * 11 + "!", None),
        ("shortpass11", "at least 12 characters"),
        ("", "at least 12 characters"),
        ("é" * 3 + "long enough", None),
        ("y" * 255 + "z", None),
        ("y" * 256 + "z", "at most 256 characters"),
        ("ana@example.org", "must not be your email"),
        ("ANA@EXAMPLE.ORG", "must not be your email"),
        ("password1234", "too common"),
        ("Password1234", "too common"),
        ("qwerty123456", "too common"),
        ("aaaaaaaaaaaaaaaa", "too common"),
        (GOOD, None),
    ],
)
def test_password_policy(password, problem):
    if problem is None:
        accounts.check_password_policy(password, "ana@example.org")
    else:
        with pytest.raises(InputError, match=problem) as caught:
            accounts.check_password_policy(password, "ana@example.org")
        assert caught.value.code == "weak_password"


def test_set_password_stores_an_scrypt_hash_and_audits_without_it(db):
    pid = make(db, "ana@example.org")
    with db.read() as session:
        stored = session.get(m.Person, pid).password_hash
    assert stored.startswith("scrypt:") and GOOD not in stored
    entries = audit_rows(db)
    assert [e.action for e in entries] == ["person.created", "person.password_set"]
    dumped = json.dumps([[e.before, e.after] for e in entries])
    assert "password_hash" not in dumped and "scrypt" not in dumped and GOOD not in dumped


def test_a_weak_password_changes_nothing(db):
    pid = make(db, "ana@example.org")
    with db.transaction() as session:
        person = session.get(m.Person, pid)
        with pytest.raises(InputError):
            accounts.set_password(session, person, "password1234", now=NOW, actor=None)
    assert sign_in(db, "ana@example.org", GOOD) == pid
    assert len(audit_rows(db)) == 2


def test_change_password_needs_the_current_one(db):
    pid = make(db, "ana@example.org")
    with db.transaction() as session:
        person = session.get(m.Person, pid)
        with pytest.raises(InputError, match="current password") as caught:
            accounts.change_password(session, person, "not it at all", OTHER, now=NOW)
        assert caught.value.code == "wrong_password"
        accounts.change_password(session, person, GOOD, OTHER, now=NOW)
    assert isinstance(sign_in(db, "ana@example.org", GOOD), accounts.AuthenticationFailed)
    assert sign_in(db, "ana@example.org", OTHER) == pid


# --- signing in ---------------------------------------------------------------------------------------


def test_authenticate_gives_one_message_for_every_failure(db, monkeypatch):
    pid = make(db, "ana@example.org")
    make(db, "nopass@example.org", password=None)
    gone = make(db, "gone@example.org")
    with db.transaction() as session:
        accounts.set_active(session, None, session.get(m.Person, gone), active=False, now=NOW)

    assert sign_in(db, " Ana@Example.org ", GOOD) == pid
    checks = []
    real = accounts.check_password_hash
    monkeypatch.setattr(accounts, "check_password_hash", lambda h, p: checks.append(h) or real(h, p))
    failures = [
        sign_in(db, "ana@example.org", OTHER),  # wrong password
        sign_in(db, "nobody@example.org", GOOD),  # unknown email
        sign_in(db, "nopass@example.org", GOOD),  # no password yet
        sign_in(db, "gone@example.org", GOOD),  # inactive, right password
    ]
    assert all(isinstance(f, accounts.AuthenticationFailed) for f in failures)
    assert {str(f) for f in failures} == {accounts.SIGN_IN_FAILED}
    assert len(checks) == 4 and all(h.startswith("scrypt:") for h in checks)  # a hash is always checked
    with db.read() as session:
        attempts = session.execute(
            select(m.LoginAttempt.email, m.LoginAttempt.succeeded).order_by(m.LoginAttempt.id)
        ).all()
    assert attempts == [
        ("ana@example.org", True),
        ("ana@example.org", False),
        ("nobody@example.org", False),
        ("nopass@example.org", False),
        ("gone@example.org", False),
    ]
    assert not [e for e in audit_rows(db) if "login" in e.action or "sign" in e.action]


def test_throttling_after_five_failures_even_with_the_right_password(db):
    pid = make(db, "ana@example.org")
    for minute in range(5):
        assert isinstance(
            sign_in(db, "ana@example.org", OTHER, at=NOW + timedelta(minutes=minute)), Exception
        )
    with pytest.raises(accounts.Throttled) as caught:
        sign_in(db, "ana@example.org", GOOD, at=NOW + timedelta(minutes=5))
    assert str(caught.value) == "Too many sign-in attempts; try again in 10 minutes."
    assert caught.value.retry_after == 600
    with pytest.raises(accounts.Throttled, match="try again in 1 minute[.]"):
        sign_in(db, "ana@example.org", GOOD, at=NOW + timedelta(minutes=14, seconds=30))
    with db.read() as session:  # refused attempts are not recorded, so they do not extend the wait
        assert session.scalar(select(func.count()).select_from(m.LoginAttempt)) == 5
    # The oldest failure leaves the 15-minute window: one more try is allowed, and succeeds.
    assert sign_in(db, "ana@example.org", GOOD, at=NOW + timedelta(minutes=15, seconds=1)) == pid


def test_a_success_clears_the_email_count(db):
    pid = make(db, "ana@example.org")
    for second in range(4):
        sign_in(db, "ana@example.org", OTHER, at=NOW + timedelta(seconds=second))
    assert sign_in(db, "ana@example.org", GOOD, at=NOW + timedelta(seconds=10)) == pid
    for second in range(4):
        sign_in(db, "ana@example.org", OTHER, at=NOW + timedelta(seconds=20 + second))
    assert sign_in(db, "ana@example.org", GOOD, at=NOW + timedelta(seconds=30)) == pid


def test_throttling_by_address(db):
    pid = make(db, "ana@example.org")
    for n in range(20):
        sign_in(db, f"guess{n}@example.org", OTHER, addr="198.51.100.7")
    with pytest.raises(accounts.Throttled, match="15 minutes"):
        sign_in(db, "ana@example.org", GOOD, addr="198.51.100.7")
    assert sign_in(db, "ana@example.org", GOOD, addr="198.51.100.8") == pid


# --- API tokens ---------------------------------------------------------------------------------------


def create(db, pid, scopes, name="laptop", actor_id=None):
    with db.transaction() as session:
        actor = session.get(m.Person, actor_id) if actor_id else None
        token, plaintext = accounts.create_token(
            session, session.get(m.Person, pid), name, scopes, now=NOW, actor=actor
        )
        return token.id, plaintext


def test_token_create_authenticate_revoke(db):
    pid = make(db, "ana@example.org")
    token_id, plaintext = create(db, pid, ["submissions:write", "submissions:read"])
    assert plaintext.startswith("bsk_") and len(plaintext) == 4 + 43
    with db.read() as session:
        raw = session.execute(sa.text("SELECT * FROM api_tokens")).all()
        token = session.get(m.ApiToken, token_id)
    assert len(raw) == 1 and plaintext not in repr(raw) and plaintext[4:] not in repr(raw)
    assert token.token_hash == hashlib.sha256(plaintext.encode()).hexdigest()
    assert token.scopes == ["submissions:read", "submissions:write"] and token.last_used_at is None

    later = NOW + timedelta(hours=1)
    with db.transaction() as session:
        person, scopes = accounts.authenticate_token(session, plaintext, now=later)
        assert person.id == pid and scopes == {"submissions:read", "submissions:write"}
    with db.read() as session:
        assert session.get(m.ApiToken, token_id).last_used_at.replace(tzinfo=UTC) == later

    for bad in ("", "bsk_", "bsk_" + "A" * 43, plaintext[:-1], "Bearer " + plaintext, "x" * 5000):
        with db.transaction() as session, pytest.raises(accounts.AuthenticationFailed):
            accounts.authenticate_token(session, bad, now=later)

    with db.transaction() as session:
        accounts.revoke_token(session, session.get(m.Person, pid), token_id, now=later)
    with db.transaction() as session, pytest.raises(accounts.AuthenticationFailed, match="not valid"):
        accounts.authenticate_token(session, plaintext, now=later)
    with db.transaction() as session, pytest.raises(WorkflowError, match="already revoked"):
        accounts.revoke_token(session, None, token_id, now=later)
    with db.transaction() as session, pytest.raises(NotFound):
        accounts.revoke_token(session, None, 999, now=later)

    actions = [e.action for e in audit_rows(db)]
    assert actions[-2:] == ["token.created", "token.revoked"]
    dumped = json.dumps([[e.before, e.after] for e in audit_rows(db)])
    assert plaintext not in dumped and token.token_hash not in dumped and "token_hash" not in dumped


def test_token_scopes_are_limited_by_role(db):
    educator = make(db, "edu@example.org")
    reviewer = make(db, "rev@example.org", reviewer=True)
    staff = make(db, "staff@example.org", staff=True)
    with pytest.raises(Forbidden, match="may not hold the scope 'reviews:write'"):
        create(db, educator, ["submissions:read", "reviews:write"])
    with pytest.raises(Forbidden, match="catalog:write"):
        create(db, reviewer, ["catalog:write"])
    with pytest.raises(InputError, match="'admin' is not a scope"):
        create(db, staff, ["admin"])
    with pytest.raises(InputError, match="at least one scope"):
        create(db, staff, [])
    with pytest.raises(InputError, match="name"):
        create(db, staff, ["audit:read"], name="  ")
    create(db, reviewer, ["reviews:write"])
    _, every = create(db, staff, list(accounts.SCOPES))
    assert accounts.ROLE_SCOPES["staff"] == tuple(accounts.SCOPES)
    with db.read() as session:
        assert session.scalar(select(func.count()).select_from(m.ApiToken)) == 2

    # Demoted: the token keeps its scopes on paper, but only what the role allows today counts.
    with db.transaction() as session:
        accounts.set_roles(session, None, session.get(m.Person, staff), reviewer=False, staff=False, now=NOW)
    with db.transaction() as session:
        _, scopes = accounts.authenticate_token(session, every, now=NOW)
    assert scopes == {"submissions:read", "submissions:write"}

    # Deactivated: no token works.
    with db.transaction() as session:
        accounts.set_active(session, None, session.get(m.Person, staff), active=False, now=NOW)
    with db.transaction() as session, pytest.raises(accounts.AuthenticationFailed):
        accounts.authenticate_token(session, every, now=NOW)


def test_revoking_someone_elses_token(db):
    ana = make(db, "ana@example.org")
    ben = make(db, "ben@example.org", reviewer=True)
    staff = make(db, "staff@example.org", staff=True)
    token_id, _ = create(db, ana, ["submissions:read"])
    with db.transaction() as session, pytest.raises(Forbidden, match="only your own"):
        accounts.revoke_token(session, session.get(m.Person, ben), token_id, now=NOW)
    with db.transaction() as session:
        accounts.revoke_token(session, session.get(m.Person, staff), token_id, now=NOW)
    with pytest.raises(Forbidden, match="staff"):  # only staff make tokens for others
        create(db, ana, ["submissions:read"], actor_id=ben)
    assert audit_rows(db)[-1].actor_id == staff


# --- people -------------------------------------------------------------------------------------------


def test_people_admin_is_staff_only_and_audited(db):
    staff = make(db, "staff@example.org", staff=True)
    educator = make(db, "edu@example.org")
    with db.transaction() as session, pytest.raises(Forbidden, match="Only program staff"):
        accounts.add_person(
            session, session.get(m.Person, educator), email="x@example.org", name="X", now=NOW
        )
    with db.transaction() as session:
        actor = session.get(m.Person, staff)
        person = accounts.add_person(
            session, actor, email="New@Example.org", name="New", reviewer=True, password=GOOD, now=NOW
        )
        assert (person.email, accounts.role_of(person)) == ("new@example.org", "reviewer")
    with db.transaction() as session, pytest.raises(WorkflowError, match="already exists"):
        accounts.add_person(session, None, email="new@example.org", name="Again", now=NOW)
    with db.transaction() as session, pytest.raises(InputError, match="too common"):
        accounts.add_person(
            session, None, email="weak@example.org", name="W", password="password1234", now=NOW
        )
    with db.read() as session, pytest.raises(NotFound):
        accounts.find_person(session, "weak@example.org")

    with db.transaction() as session:
        actor, person = session.get(m.Person, staff), accounts.find_person(session, "new@example.org")
        accounts.set_roles(session, actor, person, reviewer=False, staff=True, now=NOW)
        with pytest.raises(Forbidden, match="own staff role"):
            accounts.set_roles(session, actor, actor, reviewer=False, staff=False, now=NOW)
        with pytest.raises(Forbidden, match="yourself"):
            accounts.set_active(session, actor, actor, active=False, now=NOW)
        accounts.set_active(session, actor, person, active=False, now=NOW)
        with pytest.raises(WorkflowError, match="already inactive"):
            accounts.set_active(session, actor, person, active=False, now=NOW)
    assert isinstance(sign_in(db, "new@example.org", GOOD), accounts.AuthenticationFailed)

    entries = audit_rows(db)
    changed = [e for e in entries if e.subject_type == "people" and e.actor_id == staff]
    assert [e.action for e in changed] == [
        "person.created",
        "person.password_set",
        "person.roles_changed",
        "person.deactivated",
    ]
    roles = changed[2]
    assert (roles.before["is_reviewer"], roles.before["is_staff"]) == (True, False)
    assert (roles.after["is_reviewer"], roles.after["is_staff"]) == (False, True)
    assert changed[3].before["active"] is True and changed[3].after["active"] is False


def test_demo_passwords(db):
    make(db, "has@example.org")
    make(db, "edu@example.org", password=None)
    make(db, "rev@example.org", reviewer=True, password=None)
    make(db, "staff@example.org", staff=True, password=None)
    with db.transaction() as session:
        given = accounts.demo_passwords(session, NOW)
    assert given == [
        ("edu@example.org", "educator"),
        ("rev@example.org", "reviewer"),
        ("staff@example.org", "staff"),
    ]
    assert isinstance(sign_in(db, "staff@example.org", accounts.DEMO_PASSWORD), int)
    assert isinstance(sign_in(db, "has@example.org", accounts.DEMO_PASSWORD), accounts.AuthenticationFailed)
    with db.transaction() as session:
        assert accounts.demo_passwords(session, NOW) == []


def test_roles():
    person = m.Person(email="a@example.org", name="A", is_reviewer=True, is_staff=False, active=True)
    assert accounts.role_of(person) == "reviewer"
    assert [accounts.has_role(person, role) for role in accounts.ROLES] == [True, True, False]
    person.active = False
    assert not accounts.has_role(person, "educator")
    with pytest.raises(ValueError, match="Unknown role"):
        accounts.has_role(person, "admin")


# --- the command line ---------------------------------------------------------------------------------


@pytest.fixture()
def cli(tmp_path, database_url, monkeypatch):
    """Run `badgeserver ...` against an instance in tmp_path over `database_url`."""
    monkeypatch.setenv("BADGESERVER_DATABASE_URL", database_url)
    monkeypatch.setenv("KEYS_DIR", str(tmp_path / "keys"))
    runner = CliRunner()

    def run(*args, stdin=None):
        return runner.invoke(main, [*args, "--instance", str(tmp_path / "inst")], input=stdin)

    return run


def one_sentence(result):
    lines = result.stderr.strip().splitlines()
    return (
        result.exit_code == 2
        and len(lines) == 1
        and lines[0].startswith("badgeserver: ")
        and lines[0].endswith(".")
    )


def test_cli_people_and_tokens(cli):
    added = cli(
        "people",
        "add",
        "Ana@Example.org",
        "--name",
        "Ana Núñez",
        "--staff",
        "--password-stdin",
        stdin=GOOD + "\n",
    )
    assert added.exit_code == 0, added.output
    assert "Added ana@example.org (staff" in added.stdout
    assert cli("people", "add", "ben@example.org", "--name", "Ben", "--reviewer").exit_code == 0

    listed = cli("people", "list")
    assert listed.exit_code == 0
    lines = listed.stdout.splitlines()
    assert "ana@example.org" in lines[0] and "staff" in lines[0] and "password" in lines[0]
    assert "ben@example.org" in lines[1] and "reviewer" in lines[1] and "no-password" in lines[1]

    made = cli(
        "tokens",
        "create",
        "ana@example.org",
        "--name",
        "ci",
        "--scope",
        "audit:read",
        "--scope",
        "catalog:write",
    )
    assert made.exit_code == 0, made.output
    plaintext = made.stdout.strip()
    assert plaintext.startswith("bsk_") and "\n" not in plaintext
    assert "shown only this once" in made.stderr and plaintext not in made.stderr
    shown = cli("tokens", "list", "ana@example.org")
    assert "active" in shown.stdout and "catalog:write" in shown.stdout and plaintext not in shown.stdout

    token_id = shown.stdout.split()[0]
    assert cli("tokens", "revoke", token_id).exit_code == 0
    assert "revoked" in cli("tokens", "list", "ana@example.org").stdout
    again = cli("tokens", "revoke", token_id)
    assert one_sentence(again) and "already revoked" in again.stderr


@pytest.mark.parametrize(
    ("args", "stdin", "message"),
    [
        (
            ("people", "add", "weak@example.org", "--name", "W", "--password-stdin"),
            "password1234\n",
            "too common",
        ),
        (("people", "add", "short@example.org", "--name", "S", "--password-stdin"), "short\n", "at least 12"),
        (("people", "add", "empty@example.org", "--name", "E", "--password-stdin"), "", "no password"),
        (("people", "add", "not-an-email", "--name", "N"), None, "not an email address"),
        (("people", "add", "ana@example.org", "--name", "Twice"), None, "already exists"),
        (
            ("tokens", "create", "ana@example.org", "--name", "x", "--scope", "root"),
            None,
            "'root' is not a scope",
        ),
        (
            ("tokens", "create", "ana@example.org", "--name", "x", "--scope", "catalog:write"),
            None,
            "may not hold",
        ),
        (("tokens", "create", "nobody@example.org", "--name", "x", "--scope", "audit:read"), None, "nobody"),
        (("tokens", "revoke", "12345"), None, "no token 12345"),
    ],
)
def test_cli_refuses_bad_input_in_one_sentence(cli, args, stdin, message):
    assert cli("people", "add", "ana@example.org", "--name", "Ana").exit_code == 0
    result = cli(*args, stdin=stdin)
    assert one_sentence(result), (result.exit_code, result.output)
    assert message in result.stderr
    listed = cli("people", "list").stdout
    assert listed.count("@") == 1  # nothing was added


# --- settings -------------------------------------------------------------------------------------------


def test_account_settings(tmp_path):
    from badgeserver.config import load_settings

    base = {"instance_path": str(tmp_path), "secret_key": "k"}
    defaults = load_settings(base, environ={})
    assert (defaults.session_hours, defaults.proxy_hops) == (12, 0)
    from_env = load_settings(base, environ={"BADGESERVER_SESSION_HOURS": "8", "BADGESERVER_PROXY_HOPS": "1"})
    assert (from_env.session_hours, from_env.proxy_hops) == (8, 1)
    assert (
        load_settings(base | {"session_hours": 2}, environ={"BADGESERVER_SESSION_HOURS": "8"}).session_hours
        == 2
    )
    for bad in ({"session_hours": 0}, {"session_hours": "soon"}, {"proxy_hops": 9}):
        with pytest.raises(InputError, match="must be a whole number"):
            load_settings(base | bad, environ={})


def test_proxy_hops_take_the_client_address_from_the_proxy(tmp_path, database_url):
    from badgeserver import create_app
    from badgeserver.web.services import services
    from tests.conftest import app_settings

    app = create_app(app_settings(tmp_path, database_url) | {"proxy_hops": 1})
    db = services(app).db
    upgrade(db.engine)
    try:
        client = app.test_client()
        page = client.get("/login").get_data(as_text=True)
        token = page.split('name="csrf_token" value="')[1].split('"')[0]
        form = {"email": "a@example.org", "password": "wrong password here", "csrf_token": token}
        client.post("/login", data=form, headers={"X-Forwarded-For": "203.0.113.9"})
        with db.read() as session:
            assert session.scalar(select(m.LoginAttempt.remote_addr)) == "203.0.113.9"
    finally:
        db.dispose()
