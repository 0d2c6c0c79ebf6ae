"""What an earner publishes: per-credential and per-profile privacy, the profile handle, and the public
profile (credentials grouped by bundle and stack, with the credit they add up to).

A private credential's page, JSON and images answer 404 to everyone but its earner; its status list
entries and the issuer's DID document stay public, so a copy already handed out still verifies.
"""

from __future__ import annotations

import re
import secrets
import unicodedata
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime
from decimal import Decimal

from sqlalchemy import select
from sqlalchemy.orm import Session

from badgeserver.errors import BadgeServerError, InputError, NotFound
from badgeserver.program import audit
from badgeserver.program.public import credential_state
from badgeserver.program.urls import Urls
from badgeserver.store import models as m

HANDLE = re.compile(r"^[a-z0-9](?:[a-z0-9-]{1,38})[a-z0-9]$")
HANDLE_ALPHABET = "abcdefghijkmnpqrstuvwxyz23456789"  # no l/1 or o/0 to misread
HANDLE_LENGTH = 12  # about 60 random bits: a handle cannot be guessed or enumerated
PROFILE_FIELDS = ("id", "profile_public", "profile_handle")
COUNTED_STATES = ("valid", "expired")  # expired credentials were earned; suspended ones count again later


class HandleTaken(BadgeServerError):
    """Another earner already uses the handle."""

    code = "conflict"


def random_handle() -> str:
    """A fresh random handle: twelve lower-case letters and digits, at least one of them a letter."""
    while True:
        handle = "".join(secrets.choice(HANDLE_ALPHABET) for _ in range(HANDLE_LENGTH))
        if not handle.isdigit():
            return handle


def check_handle(text: str) -> str:
    """A handle the earner chose, normalized to lower case; InputError says what is wrong with it."""
    handle = text.strip().lower()
    if not HANDLE.match(handle):
        raise InputError(
            "A profile handle is 3 to 40 lower-case letters, digits and hyphens, "
            "starting and ending with a letter or digit."
        )
    if handle.isdigit():
        raise InputError("A profile handle needs at least one letter, so it cannot be mistaken for a number.")
    return handle


def earner_by_handle(session: Session, handle: str) -> m.Person | None:
    """The active person whose profile handle is `handle`, or None."""
    if not HANDLE.match(handle):
        return None
    person = session.scalar(select(m.Person).where(m.Person.profile_handle == handle))
    return person if person is not None and person.active else None


def earner_by_retired_handle(session: Session, handle: str) -> m.Person | None:
    """The active person who used to have `handle` (their links on CVs still lead to them), or None."""
    if not HANDLE.match(handle):
        return None
    retired = session.get(m.RetiredHandle, handle)
    person = None if retired is None else session.get(m.Person, retired.person_id)
    return person if person is not None and person.active else None


MAX_PUBLIC_NAME = 100


def check_public_name(text: str | None) -> str | None:
    """The name an earner publishes on new credentials, trimmed; None keeps the name private.

    Control and format characters (line breaks, zero-width and bidirectional overrides that could make
    "evil" read as "live") are refused: the name is signed into credentials and drawn on cards.
    """
    name = " ".join((text or "").split())
    if not name:
        return None
    if len(name) > MAX_PUBLIC_NAME:
        raise InputError(f"The name is longer than {MAX_PUBLIC_NAME} characters.")
    if any(unicodedata.category(ch) in ("Cc", "Cf", "Cs", "Co", "Cn") for ch in name):
        raise InputError("The name holds invisible or control characters; type it as plain text.")
    return name


def set_public_name(session: Session, person: m.Person, text: str | None, *, now: datetime) -> m.Person:
    """Set (or clear) the name the earner's new credentials carry; issued credentials keep theirs."""
    name = check_public_name(text)
    if name != person.public_name:
        before = audit.snapshot(person, ("id", "public_name"))
        person.public_name = name
        session.flush()
        audit.record(
            session,
            actor=person,
            action="person.public_name",
            subject=person,
            now=now,
            before=before,
            after=audit.snapshot(person, ("id", "public_name")),
        )
    return person


def set_profile(
    session: Session,
    person: m.Person,
    *,
    public: bool,
    handle: str | None,
    now: datetime,
    new_handle: Callable[[], str] = random_handle,
) -> m.Person:
    """Make the profile public or private and set its handle (a random one when none is given or held)."""
    before = audit.snapshot(person, PROFILE_FIELDS)
    chosen = check_handle(handle) if handle else None
    if chosen is not None and chosen != person.profile_handle:
        taken = session.scalar(select(m.Person.id).where(m.Person.profile_handle == chosen))
        retired = session.get(m.RetiredHandle, chosen)
        if taken is not None or (retired is not None and retired.person_id != person.id):
            # A retired handle stays its earner's: links to it must never lead to someone else.
            raise HandleTaken(f"The handle {chosen!r} is taken; choose another.")
        if retired is not None:
            session.delete(retired)  # the earner takes their old handle back
        if person.profile_handle is not None:
            session.add(m.RetiredHandle(handle=person.profile_handle, person_id=person.id, retired_at=now))
        session.flush()
        person.profile_handle = chosen
    elif person.profile_handle is None:
        person.profile_handle = new_handle()
    person.profile_public = public
    session.flush()
    after = audit.snapshot(person, PROFILE_FIELDS)
    if after != before:
        audit.record(
            session,
            actor=person,
            action="person.profile",
            subject=person,
            now=now,
            before=before,
            after=after,
        )
    return person


def own_credential(session: Session, person: m.Person, credential_id: str) -> m.Credential:
    """One of the person's own credentials; NotFound for anyone else's (its existence is private)."""
    row = session.get(m.Credential, credential_id)
    if row is None or row.earner_id != person.id:
        raise NotFound(f"You hold no credential {credential_id}.")
    return row


def lineage(session: Session, row: m.Credential) -> list[m.Credential]:
    """The credential and every copy in its reissue chain (what it replaced, and what replaced it),
    oldest first: to its earner one credential, shared or kept private as one."""
    chain = [row]
    seen = {row.id}
    while chain[0].replaces_id is not None and chain[0].replaces_id not in seen:
        older = session.get(m.Credential, chain[0].replaces_id)
        if older is None:
            break
        seen.add(older.id)
        chain.insert(0, older)
    while True:
        newer = session.scalar(select(m.Credential).where(m.Credential.replaces_id == chain[-1].id))
        if newer is None or newer.id in seen:
            break
        seen.add(newer.id)
        chain.append(newer)
    return chain


def set_credential_public(
    session: Session, person: m.Person, credential_id: str, public: bool, *, now: datetime
) -> m.Credential:
    """Publish one of the person's credentials, or make it private (only its earner may).

    The setting covers the whole reissue chain: a replaced copy's page links to its replacement and
    names the same achievement and earner, so it is never public while the current copy is private."""
    row = own_credential(session, person, credential_id)
    for copy in lineage(session, row):
        if copy.public == public or copy.earner_id != person.id:
            continue
        before = {"public": copy.public}
        copy.public = public
        session.flush()
        audit.record(
            session,
            actor=person,
            action="credential.visibility",
            subject=copy,
            now=now,
            before=before,
            after={"public": public},
        )
    return row


def may_see(row: m.Credential, viewer: m.Person | None) -> bool:
    """Whether `viewer` (None: anyone) may see the credential's page, JSON and images."""
    return row.public or (viewer is not None and viewer.id == row.earner_id)


# --- the profile -----------------------------------------------------------------------------------


@dataclass(frozen=True)
class Entry:
    """One credential on a profile."""

    credential_id: str
    url: str
    name: str
    kind: str
    version: str | None
    issued_on: date
    credit: Decimal
    state: str  # valid, suspended or expired (revoked credentials are not shown)
    image_url: str | None
    microcredential_id: int | None = None
    stack_id: int | None = None
    bundle_id: int | None = None


@dataclass(frozen=True)
class StackDef:
    """A stack of the catalog: its microcredentials' ids."""

    id: int
    name: str
    url: str
    members: tuple[int, ...]


@dataclass(frozen=True)
class BundleDef:
    """A bundle of the catalog: its stacks' ids."""

    id: int
    name: str
    url: str
    stacks: tuple[int, ...]


@dataclass(frozen=True)
class StackGroup:
    """A stack on a profile: the stack credential if earned, and the earned microcredentials in it."""

    stack: StackDef
    credential: Entry | None
    entries: tuple[Entry, ...]


@dataclass(frozen=True)
class BundleGroup:
    """A bundle on a profile: the bundle credential if earned, and its stacks with something earned."""

    bundle: BundleDef
    credential: Entry | None
    stacks: tuple[StackGroup, ...]


@dataclass(frozen=True)
class Grouping:
    """A profile's credentials: by bundle, then stacks in no bundle, then everything in no stack."""

    bundles: tuple[BundleGroup, ...]
    stacks: tuple[StackGroup, ...]
    other: tuple[Entry, ...]


def group_entries(
    entries: Sequence[Entry], stacks: Sequence[StackDef], bundles: Sequence[BundleDef]
) -> Grouping:
    """Each credential under the first stack holding it, each stack under the first bundle holding it.

    Pure: catalog order decides "first"; groups with nothing earned are left out.
    """
    stack_of: dict[int, int] = {}
    for stack in stacks:
        for member in stack.members:
            stack_of.setdefault(member, stack.id)
    bundle_of: dict[int, int] = {}
    for bundle in bundles:
        for stack_id in bundle.stacks:
            bundle_of.setdefault(stack_id, bundle.id)
    in_stack: dict[int, list[Entry]] = {stack.id: [] for stack in stacks}
    stack_credential: dict[int, Entry] = {}
    bundle_credential: dict[int, Entry] = {}
    other: list[Entry] = []
    for entry in entries:
        if entry.kind == "stack" and entry.stack_id in in_stack:
            stack_credential.setdefault(entry.stack_id, entry)
        elif (
            entry.kind == "bundle"
            and entry.bundle_id is not None
            and any(b.id == entry.bundle_id for b in bundles)
        ):
            bundle_credential.setdefault(entry.bundle_id, entry)
        elif entry.microcredential_id is not None and entry.microcredential_id in stack_of:
            in_stack[stack_of[entry.microcredential_id]].append(entry)
        else:
            other.append(entry)
    groups = {
        stack.id: StackGroup(stack, stack_credential.get(stack.id), tuple(in_stack[stack.id]))
        for stack in stacks
    }
    shown = {sid: group for sid, group in groups.items() if group.credential is not None or group.entries}
    bundle_groups = []
    for bundle in bundles:
        members = tuple(shown[sid] for sid in bundle.stacks if sid in shown and bundle_of[sid] == bundle.id)
        if members or bundle.id in bundle_credential:
            bundle_groups.append(BundleGroup(bundle, bundle_credential.get(bundle.id), members))
    loose = tuple(group for sid, group in shown.items() if sid not in bundle_of)
    return Grouping(bundles=tuple(bundle_groups), stacks=loose, other=tuple(other))


def total_credit(entries: Sequence[Entry]) -> Decimal:
    """The credit the entries add up to: as on the transcript, a suspended credential does not count."""
    return sum((e.credit for e in entries if e.state in COUNTED_STATES), Decimal("0"))


@dataclass(frozen=True)
class Profile:
    """An earner's public profile."""

    handle: str
    public: bool
    name: str | None  # the name the earner published; None: kept private
    grouping: Grouping
    entries: tuple[Entry, ...]
    total_credit: Decimal


def _entry(
    row: m.Credential, names: dict[tuple[str, int], tuple[str, int]], urls: Urls, now: datetime
) -> Entry:
    issued = row.issued_at if row.issued_at.tzinfo else row.issued_at.replace(tzinfo=UTC)
    if row.version is not None:
        name, version, image = row.version.name, row.version.version, row.version.image_png_id
    else:
        key = ("stack", row.stack_id or 0) if row.kind == "stack" else ("bundle", row.bundle_id or 0)
        (name, image), version = names.get(key, (row.kind, 0)), None
    return Entry(
        credential_id=row.id,
        url=urls.credential(row.id),
        name=name,
        kind=row.kind,
        version=version,
        issued_on=issued.astimezone(UTC).date(),
        credit=Decimal(row.credit),
        state=credential_state(row, now).code,
        image_url=urls.image(image, "png") if image else None,
        microcredential_id=row.version.microcredential_id if row.version is not None else None,
        stack_id=row.stack_id,
        bundle_id=row.bundle_id,
    )


def profile(session: Session, person: m.Person, urls: Urls, now: datetime) -> Profile:
    """The person's public credentials (never revoked ones), grouped by bundle and stack, and their credit."""
    rows = session.scalars(
        select(m.Credential)
        .where(
            m.Credential.earner_id == person.id,
            m.Credential.public.is_(True),
            m.Credential.revoked_at.is_(None),
        )
        .order_by(m.Credential.issued_at, m.Credential.id)
    ).all()
    stacks = session.scalars(select(m.Stack).order_by(m.Stack.id)).all()
    bundles = session.scalars(select(m.Bundle).order_by(m.Bundle.id)).all()
    names = {("stack", s.id): (s.name, s.image_png_id) for s in stacks}
    names |= {("bundle", b.id): (b.name, b.image_png_id) for b in bundles}
    entries = tuple(_entry(row, names, urls, now) for row in rows)
    grouping = group_entries(
        entries,
        [
            StackDef(
                s.id, s.name, urls.stack_achievement(s.slug), tuple(x.microcredential_id for x in s.members)
            )
            for s in stacks
        ],
        [
            BundleDef(b.id, b.name, urls.bundle_achievement(b.slug), tuple(x.stack_id for x in b.members))
            for b in bundles
        ],
    )
    return Profile(
        handle=person.profile_handle or "",
        public=person.profile_public,
        name=person.public_name,
        grouping=grouping,
        entries=entries,
        total_credit=total_credit(entries),
    )
