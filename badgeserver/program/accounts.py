"""People and access: passwords, sign-in with throttling, scoped API tokens, roles. No Flask here."""

from __future__ import annotations

import hashlib
import math
import secrets
from datetime import UTC, datetime, timedelta
from functools import lru_cache

from sqlalchemy import func, select
from sqlalchemy.orm import Session
from werkzeug.security import check_password_hash, generate_password_hash

from badgeserver.errors import BadgeServerError, InputError, NotFound
from badgeserver.identity import normalize_email
from badgeserver.program import audit
from badgeserver.program.submissions import Forbidden, WorkflowError, create_person
from badgeserver.store import models as m

ROLES = ("educator", "reviewer", "staff")
SCOPES = {
    "submissions:read": "Read your submissions",
    "submissions:write": "Start and submit your submissions",
    "reviews:write": "Review submissions",
    "catalog:write": "Change the catalog",
    "people:write": "Manage people and roles",
    "payouts:read": "Read reviewer payouts",
    "audit:read": "Read the audit log",
    "credentials:revoke": "Revoke credentials",
}
ROLE_SCOPES = {
    "educator": ("submissions:read", "submissions:write"),
    "reviewer": ("submissions:read", "submissions:write", "reviews:write"),
    "staff": tuple(SCOPES),
}
PASSWORD_MIN, PASSWORD_MAX = 12, 256
HASH_METHOD = "scrypt"  # werkzeug's default; named so a change of default is a decision, not a surprise
DEMO_PASSWORD = "demo-password-2026"  # noqa: S105 - the documented demo sign-in
TOKEN_PREFIX = "bsk_"  # noqa: S105 - a prefix, not a secret
TOKEN_NAME_MAX = 100
LAST_USED_EVERY = timedelta(minutes=1)
FAILURE_WINDOW = timedelta(minutes=15)
MAX_EMAIL_FAILURES = 5  # the 6th try within the window is refused, even with the right password
MAX_ADDRESS_FAILURES = 20
WEAK, SCOPE = "weak_password", "invalid_scope"  # error codes, so forms can point at the field
SIGN_IN_FAILED = "The email or password is not right, or the account is not active."
TOKEN_INVALID = "The API token is not valid (unknown, revoked, or its owner is not active)."  # noqa: S105

# Among the most common passwords of 12 or more characters (shorter ones fail the length rule anyway).
_COMMON = """
123456789012 1234567890123 12345678901234 123456789123 123123123123 111111111111 000000000000
121212121212 123412341234 987654321098 qwertyuiop12 qwertyuiopas qwerty123456 qwertyqwerty
1q2w3e4r5t6y 1qaz2wsx3edc zaq12wsxcde3 asdfghjkl123 aaaaaaaaaaaa abcdefghijkl abc123abc123
password1234 password123! passwordpassword password12345 iloveyou1234 letmein12345 welcome12345
welcome123456 changeme1234 administrator admin1234567 football1234 baseball1234 sunshine1234
princess1234 superman1234 trustno11234 starwars1234 dragon123456 monkey123456 whatever1234
teacher12345 teacher123456 education123 badgeserver1 badgeserver123 microcredential
"""
COMMON_PASSWORDS = frozenset(_COMMON.split())


class AuthenticationFailed(BadgeServerError):
    """Sign-in or token authentication failed; one message whatever the reason."""

    code = "unauthorized"


class Throttled(BadgeServerError):
    """Too many failed sign-ins; `retry_after` is the wait in seconds."""

    code = "throttled"

    def __init__(self, retry_after: int) -> None:
        """Name the wait in whole minutes."""
        minutes = max(1, math.ceil(retry_after / 60))
        unit = "minute" if minutes == 1 else "minutes"
        super().__init__(f"Too many sign-in attempts; try again in {minutes} {unit}.")
        self.retry_after = max(1, retry_after)


# --- roles -----------------------------------------------------------------------------------------


def role_of(person: m.Person) -> str:
    """The person's highest role: staff, reviewer or educator."""
    if person.is_staff:
        return "staff"
    return "reviewer" if person.is_reviewer else "educator"


def has_role(person: m.Person, role: str) -> bool:
    """True when an active person holds `role` (staff hold every role; everyone is an educator)."""
    if role not in ROLES:
        raise ValueError(f"Unknown role {role!r}; choose from {', '.join(ROLES)}.")
    return bool(person.active) and ROLES.index(role_of(person)) >= ROLES.index(role)


def allowed_scopes(person: m.Person) -> tuple[str, ...]:
    """The token scopes the person's role allows."""
    return ROLE_SCOPES[role_of(person)]


def _require_staff(actor: m.Person | None) -> None:
    """Staff only (None is the system: the command line)."""
    if actor is not None and not has_role(actor, "staff"):
        raise Forbidden("Only program staff may manage people.")


# --- passwords -------------------------------------------------------------------------------------


def check_password_policy(password: str, email: str) -> None:
    """Raise InputError unless `password` is 12–256 characters, not the email and not a common one."""
    if len(password) < PASSWORD_MIN:
        raise InputError(f"The password must be at least {PASSWORD_MIN} characters long.", code=WEAK)
    if len(password) > PASSWORD_MAX:
        raise InputError(f"The password must be at most {PASSWORD_MAX} characters long.", code=WEAK)
    folded = password.strip().casefold()
    if folded == normalize_email(email).casefold():
        raise InputError("The password must not be your email address.", code=WEAK)
    if folded in COMMON_PASSWORDS or len(set(folded)) == 1:
        raise InputError("That password is too common; choose one that is harder to guess.", code=WEAK)


def set_password(
    session: Session, person: m.Person, password: str, *, now: datetime, actor: m.Person | None
) -> None:
    """Check the policy and store an scrypt hash of `password` (audited, without the hash)."""
    check_password_policy(password, person.email)
    before = audit.snapshot(person)
    person.password_hash = generate_password_hash(password, method=HASH_METHOD)
    session.flush()
    audit.record(session, actor=actor, action="person.password_set", subject=person, now=now, before=before)


def change_password(session: Session, person: m.Person, current: str, new: str, *, now: datetime) -> None:
    """The person changes their own password; the current one must be right."""
    if not person.password_hash or not check_password_hash(person.password_hash, current):
        raise InputError("The current password is not right.", code="wrong_password")
    set_password(session, person, new, now=now, actor=person)


@lru_cache(maxsize=1)
def _dummy_hash() -> str:
    """A hash of a random password, checked for unknown emails so that timing reveals nothing."""
    return generate_password_hash(secrets.token_urlsafe(16), method=HASH_METHOD)


def _utc(value: datetime) -> datetime:
    """SQLite gives back naive datetimes; every stored time is UTC."""
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


def _wait(times: list[datetime], limit: int, now: datetime) -> int | None:
    """Seconds until fewer than `limit` of `times` (oldest first) remain in the window; None: no wait."""
    if len(times) < limit:
        return None
    freed_at = _utc(times[len(times) - limit]) + FAILURE_WINDOW
    return max(1, math.ceil((freed_at - now).total_seconds()))


def _check_throttle(session: Session, email: str, remote_addr: str, now: datetime) -> None:
    since = now - FAILURE_WINDOW
    last_success = session.scalar(
        select(func.max(m.LoginAttempt.at)).where(
            m.LoginAttempt.email == email, m.LoginAttempt.succeeded.is_(True), m.LoginAttempt.at > since
        )
    )
    failed = select(m.LoginAttempt.at).where(m.LoginAttempt.succeeded.is_(False), m.LoginAttempt.at > since)
    # A success clears the email's count; it never clears the address's (one account must not
    # let an address keep guessing at others).
    by_email = failed.where(m.LoginAttempt.email == email)
    if last_success is not None:
        by_email = by_email.where(m.LoginAttempt.at > last_success)
    waits = [
        _wait(list(session.scalars(by_email.order_by(m.LoginAttempt.at))), MAX_EMAIL_FAILURES, now),
        _wait(
            list(
                session.scalars(
                    failed.where(m.LoginAttempt.remote_addr == remote_addr).order_by(m.LoginAttempt.at)
                )
            ),
            MAX_ADDRESS_FAILURES,
            now,
        ),
    ]
    longest = max((wait for wait in waits if wait is not None), default=None)
    if longest is not None:
        raise Throttled(longest)


def authenticate(session: Session, email: str, password: str, *, remote_addr: str, now: datetime) -> m.Person:
    """The active person with this email and password; records the attempt (commit even when it raises)."""
    now = _utc(now)
    address = normalize_email(email)[:320]
    remote = (remote_addr or "unknown")[:64]
    _check_throttle(session, address, remote, now)  # before the password is looked at
    person = session.scalar(select(m.Person).where(m.Person.email == address))
    stored = person.password_hash if person is not None else None
    matched = check_password_hash(stored or _dummy_hash(), password[: PASSWORD_MAX + 1])
    succeeded = bool(matched and stored and person is not None and person.active)
    session.add(m.LoginAttempt(email=address, remote_addr=remote, succeeded=succeeded, at=now))
    session.flush()
    if not succeeded or person is None:
        raise AuthenticationFailed(SIGN_IN_FAILED)
    return person


# --- API tokens ------------------------------------------------------------------------------------


def token_digest(plaintext: str) -> str:
    """The SHA-256 (hex) under which a token is stored; the token itself never is."""
    return hashlib.sha256(plaintext.encode("utf-8")).hexdigest()


def create_token(
    session: Session,
    person: m.Person,
    name: str,
    scopes: list[str] | tuple[str, ...],
    *,
    now: datetime,
    actor: m.Person | None = None,
) -> tuple[m.ApiToken, str]:
    """A new token for `person` and its plaintext (shown once); `actor` None is the command line."""
    label = name.strip()
    if not label:
        raise InputError("Give the token a name, so you can tell it apart later.", code="token_name")
    if len(label) > TOKEN_NAME_MAX:
        raise InputError(f"A token name is at most {TOKEN_NAME_MAX} characters.", code="token_name")
    chosen = list(dict.fromkeys(scope.strip() for scope in scopes))
    if not chosen:
        raise InputError("Choose at least one scope for the token.", code=SCOPE)
    for scope in chosen:
        if scope not in SCOPES:
            raise InputError(f"{scope!r} is not a scope; choose from {', '.join(SCOPES)}.", code=SCOPE)
    if not person.active:
        raise Forbidden(f"{person.email} is not active and cannot hold tokens.")
    allowed = allowed_scopes(person)
    for scope in chosen:
        if scope not in allowed:
            raise Forbidden(f"The {role_of(person)} {person.email} may not hold the scope {scope!r}.")
    if actor is not None and actor.id != person.id:
        _require_staff(actor)
    plaintext = TOKEN_PREFIX + secrets.token_urlsafe(32)
    token = m.ApiToken(
        person_id=person.id,
        name=label,
        token_hash=token_digest(plaintext),
        scopes=[scope for scope in SCOPES if scope in chosen],
        created_at=now,
    )
    session.add(token)
    session.flush()
    audit.record(session, actor=actor, action="token.created", subject=token, now=now)
    return token, plaintext


def authenticate_token(session: Session, plaintext: str, *, now: datetime) -> tuple[m.Person, frozenset[str]]:
    """The token's person and scopes (limited to what their role allows today); notes its use."""
    if not plaintext.startswith(TOKEN_PREFIX) or len(plaintext) > 200:
        raise AuthenticationFailed(TOKEN_INVALID)
    token = session.scalar(select(m.ApiToken).where(m.ApiToken.token_hash == token_digest(plaintext)))
    if token is None or token.revoked_at is not None or not token.person.active:
        raise AuthenticationFailed(TOKEN_INVALID)
    if token.last_used_at is None or now - _utc(token.last_used_at) > LAST_USED_EVERY:
        token.last_used_at = now  # not on every call: a busy client should not mean a write per request
        session.flush()
    scopes = frozenset(token.scopes) & frozenset(allowed_scopes(token.person))
    return token.person, scopes


def revoke_token(session: Session, actor: m.Person | None, token_id: int, *, now: datetime) -> m.ApiToken:
    """Revoke a token: one's own, or anyone's for staff (`actor` None is the command line)."""
    token = session.get(m.ApiToken, token_id) if 0 < token_id < 2**31 else None
    if token is None:
        raise NotFound(f"There is no token {token_id}.")
    if actor is not None and token.person_id != actor.id and not has_role(actor, "staff"):
        raise Forbidden("You may revoke only your own tokens.")
    if token.revoked_at is not None:
        raise WorkflowError(f"Token {token_id} is already revoked.")
    before = audit.snapshot(token)
    token.revoked_at = now
    session.flush()
    audit.record(session, actor=actor, action="token.revoked", subject=token, now=now, before=before)
    return token


def tokens_of(session: Session, person: m.Person) -> list[m.ApiToken]:
    """The person's tokens, newest first (revoked ones too)."""
    query = select(m.ApiToken).where(m.ApiToken.person_id == person.id).order_by(m.ApiToken.id.desc())
    return list(session.scalars(query))


# --- people (staff) --------------------------------------------------------------------------------


def find_person(session: Session, email: str) -> m.Person:
    """The person with this email, or NotFound."""
    person = session.scalar(select(m.Person).where(m.Person.email == normalize_email(email)))
    if person is None:
        raise NotFound(f"There is nobody with the email {normalize_email(email)}.")
    return person


def get_person(session: Session, person_id: int) -> m.Person:
    """The person with this id, or NotFound."""
    person = session.get(m.Person, person_id) if 0 < person_id < 2**31 else None
    if person is None:
        raise NotFound(f"There is no person {person_id}.")
    return person


def add_person(
    session: Session,
    actor: m.Person | None,
    *,
    email: str,
    name: str,
    now: datetime,
    reviewer: bool = False,
    staff: bool = False,
    password: str | None = None,
) -> m.Person:
    """Staff add a person with roles and, optionally, an initial password (audited)."""
    _require_staff(actor)
    if password is not None:
        check_password_policy(password, email)  # before anything is added
    person = create_person(  # audits "person.created"
        session, email=email, name=name, now=now, reviewer=reviewer, staff=staff, actor=actor
    )
    if password is not None:
        set_password(session, person, password, now=now, actor=actor)
    return person


def set_roles(
    session: Session, actor: m.Person | None, person: m.Person, *, reviewer: bool, staff: bool, now: datetime
) -> m.Person:
    """Staff change a person's reviewer and staff roles (never their own staff role)."""
    _require_staff(actor)
    if actor is not None and actor.id == person.id and not staff:
        raise Forbidden("You cannot remove your own staff role; ask another staff member.")
    if person.is_reviewer == reviewer and person.is_staff == staff:
        return person
    before = audit.snapshot(person)
    person.is_reviewer, person.is_staff = reviewer, staff
    session.flush()
    audit.record(session, actor=actor, action="person.roles_changed", subject=person, now=now, before=before)
    return person


def set_active(
    session: Session, actor: m.Person | None, person: m.Person, *, active: bool, now: datetime
) -> m.Person:
    """Staff deactivate a person (they can no longer sign in or use tokens) or reactivate them."""
    _require_staff(actor)
    if actor is not None and actor.id == person.id and not active:
        raise Forbidden("You cannot deactivate yourself; ask another staff member.")
    if person.active == active:
        raise WorkflowError(f"{person.email} is already {'active' if active else 'inactive'}.")
    before = audit.snapshot(person)
    person.active = active
    session.flush()
    action = "person.reactivated" if active else "person.deactivated"
    audit.record(session, actor=actor, action=action, subject=person, now=now, before=before)
    return person


def list_people(session: Session, *, search: str = "", limit: int = 50, offset: int = 0) -> list[m.Person]:
    """People by email, optionally those whose email or name contains `search`."""
    query = select(m.Person).order_by(m.Person.email).limit(limit).offset(offset)
    text = search.strip().lower()
    if text:
        pattern = "%" + text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"
        query = query.where(
            m.Person.email.like(pattern, escape="\\") | func.lower(m.Person.name).like(pattern, escape="\\")
        )
    return list(session.scalars(query))


def demo_passwords(session: Session, now: datetime) -> list[tuple[str, str]]:
    """Give every person without a password the demo password; their (email, role) pairs."""
    people = session.scalars(
        select(m.Person).where(m.Person.password_hash.is_(None)).order_by(m.Person.id)
    ).all()
    for person in people:
        set_password(session, person, DEMO_PASSWORD, now=now, actor=None)
    return [(person.email, role_of(person)) for person in people]
