"""Evidence files and links: checked by content, stored privately, shown only to those who may see them.

Files live as bytes in their database row and have no public address. An item is pending (no
attempt) until the educator submits; then it belongs to that attempt and no longer changes.
"""

from __future__ import annotations

import hashlib
import io
import re
import zipfile
from datetime import datetime
from urllib.parse import urlsplit

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from badgeserver.errors import InputError, InputTooLarge, NotFound
from badgeserver.program import audit, eligibility
from badgeserver.program.submissions import DEFAULT_MAX_EVIDENCE_BYTES, Forbidden, WorkflowError
from badgeserver.store import models as m

MAX_ITEMS_PER_ATTEMPT = 20
MAX_URL = 2000
MAX_TITLE = 200
MAX_DESCRIPTION = 5000
MAX_ZIP_PART = 1024 * 1024  # the largest [Content_Types].xml or mimetype part we read
ITEM_FIELDS = (
    *("id", "submission_id", "attempt_id", "kind", "title", "description", "url"),
    *("filename", "media_type", "size", "sha256", "created_at"),
)

PDF = "application/pdf"
TEXT = "text/plain"
_OOXML = "application/vnd.openxmlformats-officedocument."
_ODF = "application/vnd.oasis.opendocument."
# extension -> the media type its content must have
BY_EXTENSION = {
    "pdf": PDF,
    "png": "image/png",
    "jpg": "image/jpeg",
    "jpeg": "image/jpeg",
    "gif": "image/gif",
    "webp": "image/webp",
    "docx": _OOXML + "wordprocessingml.document",
    "xlsx": _OOXML + "spreadsheetml.sheet",
    "pptx": _OOXML + "presentationml.presentation",
    "odt": _ODF + "text",
    "ods": _ODF + "spreadsheet",
    "odp": _ODF + "presentation",
    "txt": TEXT,
    "md": TEXT,
    "csv": TEXT,
}
# The main part's content type that [Content_Types].xml must declare for each OOXML type.
_OOXML_MAIN = {
    _OOXML + "wordprocessingml.document": _OOXML + "wordprocessingml.document.main+xml",
    _OOXML + "spreadsheetml.sheet": _OOXML + "spreadsheetml.sheet.main+xml",
    _OOXML + "presentationml.presentation": _OOXML + "presentationml.presentation.main+xml",
}
MAX_UNPACKED_BYTES = 200 * 1024 * 1024
MAX_UNPACK_RATIO = 100
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0e-\x1f\x7f]")


def _zip_part(data: bytes, name: str) -> bytes | None:
    """One small part of a zip file, or None when it is not a readable zip with that part."""
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as archive:
            # A document that unpacks to far more than it weighs is a zip bomb, whatever it claims.
            unpacked = sum(entry.file_size for entry in archive.infolist())
            if unpacked > MAX_UNPACKED_BYTES or unpacked > MAX_UNPACK_RATIO * len(data):
                return None
            info = archive.getinfo(name)
            if info.file_size > MAX_ZIP_PART:
                return None
            with archive.open(info) as part:
                return part.read(MAX_ZIP_PART + 1)[:MAX_ZIP_PART]
    except (zipfile.BadZipFile, KeyError, OSError, RuntimeError, NotImplementedError, EOFError):
        return None


def _content_is(data: bytes, media_type: str) -> bool:
    """True when the bytes really are of `media_type` (magic numbers and zip parts, never the name)."""
    if media_type == PDF:
        return data.startswith(b"%PDF-")
    if media_type == "image/png":
        return data.startswith(b"\x89PNG\r\n\x1a\n")
    if media_type == "image/jpeg":
        return data.startswith(b"\xff\xd8\xff")
    if media_type == "image/gif":
        return data.startswith((b"GIF87a", b"GIF89a"))
    if media_type == "image/webp":
        return data[:4] == b"RIFF" and data[8:12] == b"WEBP"
    if media_type in _OOXML_MAIN:
        types = _zip_part(data, "[Content_Types].xml")
        return types is not None and f'ContentType="{_OOXML_MAIN[media_type]}"'.encode() in types
    if media_type.startswith(_ODF):
        return _zip_part(data, "mimetype") == media_type.encode("ascii")
    if media_type == TEXT:
        try:
            text = data.decode("utf-8")
        except UnicodeDecodeError:
            return False
        return _CONTROL.search(text) is None
    return False


def _size(count: int) -> str:
    """A byte count as people write it: 10 MiB, 512 KiB, or 1000 bytes."""
    for unit, size in (("MiB", 1024 * 1024), ("KiB", 1024)):
        if count % size == 0:
            return f"{count // size} {unit}"
    return f"{count} bytes"


def check_file(data: bytes, filename: str, *, max_bytes: int = DEFAULT_MAX_EVIDENCE_BYTES) -> str:
    """The media type of an acceptable evidence file, judged by its content; InputError otherwise."""
    if not data:
        raise InputError("The file is empty.")
    if len(data) > max_bytes:
        raise InputTooLarge(f"The file is larger than {_size(max_bytes)}.")
    extension = filename.rsplit(".", 1)[-1].lower() if "." in filename else ""
    expected = BY_EXTENSION.get(extension)
    if expected is None:
        kinds = ", ".join(sorted({f".{e}" for e in BY_EXTENSION}))
        raise InputError(f"{filename!r} is not a kind of file evidence may be ({kinds}).")
    if not _content_is(data, expected):
        raise InputError(f"The content of {filename!r} is not a {extension.upper()} file.")
    return expected


def clean_filename(filename: str) -> str:
    """The last part of an uploaded name, without control characters, at most 255 characters."""
    name = _CONTROL.sub("", filename.replace("\\", "/").rsplit("/", 1)[-1]).strip()
    if not name or name in (".", ".."):
        raise InputError("The file needs a name.")
    return name[-255:]


def check_link(url: str) -> str:
    """An evidence link: an absolute http(s) URL with a host and no credentials in it."""
    link = url.strip()
    if not link or len(link) > MAX_URL or _CONTROL.search(link) or any(c.isspace() for c in link):
        raise InputError("A link must be one http(s) URL of at most 2000 characters.")
    parts = urlsplit(link)
    if parts.scheme.lower() not in ("http", "https") or not parts.hostname:
        raise InputError("A link must start with http:// or https:// and name a site.")
    if parts.username or parts.password:
        raise InputError("A link must not carry a user name or password.")
    return link


def _text(value: str, what: str, limit: int, *, required: bool) -> str:
    text = _CONTROL.sub("", value).strip()
    if required and not text:
        raise InputError(f"The evidence needs a {what}.")
    if len(text) > limit:
        raise InputError(f"The evidence {what} is longer than {limit} characters.")
    return text


def pending_items(session: Session, submission: m.Submission) -> list[m.EvidenceItem]:
    """The items added since the last attempt (they go with the next one)."""
    query = (
        select(m.EvidenceItem)
        .where(m.EvidenceItem.submission_id == submission.id, m.EvidenceItem.attempt_id.is_(None))
        .order_by(m.EvidenceItem.id)
    )
    return list(session.scalars(query))


def items_of(session: Session, submission: m.Submission) -> list[m.EvidenceItem]:
    """Every item of the submission, submitted or pending, oldest first."""
    query = (
        select(m.EvidenceItem)
        .where(m.EvidenceItem.submission_id == submission.id)
        .order_by(m.EvidenceItem.id)
    )
    return list(session.scalars(query))


def _may_add(session: Session, submission: m.Submission, actor: m.Person) -> None:
    if actor.id != submission.educator_id:
        raise Forbidden("Only the educator who owns this submission may change its evidence.")
    if submission.state not in ("draft", "returned"):
        raise WorkflowError(
            f"Submission {submission.id} is {submission.state}; "
            "evidence can change only while it is draft or returned."
        )
    count = session.scalar(
        select(func.count())
        .select_from(m.EvidenceItem)
        .where(m.EvidenceItem.submission_id == submission.id, m.EvidenceItem.attempt_id.is_(None))
    )
    if (count or 0) >= MAX_ITEMS_PER_ATTEMPT:
        raise InputError(f"An attempt has at most {MAX_ITEMS_PER_ATTEMPT} pieces of evidence.")


def _store(session: Session, item: m.EvidenceItem, actor: m.Person, now: datetime) -> m.EvidenceItem:
    session.add(item)
    session.flush()
    audit.record(
        session,
        actor=actor,
        action="evidence.added",
        subject=item,
        now=now,
        after=audit.snapshot(item, ITEM_FIELDS),
    )
    return item


def add_file(
    session: Session,
    submission: m.Submission,
    actor: m.Person,
    *,
    data: bytes,
    filename: str,
    media_type: str | None = None,
    title: str | None = None,
    description: str = "",
    now: datetime,
    max_bytes: int = DEFAULT_MAX_EVIDENCE_BYTES,
) -> m.EvidenceItem:
    """Add a file to a draft or returned submission; its content decides its type (a claim must agree)."""
    _may_add(session, submission, actor)
    name = clean_filename(filename)
    detected = check_file(data, name, max_bytes=max_bytes)
    claimed = (media_type or "").split(";", 1)[0].strip().lower()
    if claimed in BY_EXTENSION.values() and claimed != detected:
        raise InputError(f"{name!r} is sent as {claimed}, but its content is {detected}.")
    item = m.EvidenceItem(
        submission_id=submission.id,
        kind="file",
        title=_text(title or name, "title", MAX_TITLE, required=True),
        description=_text(description, "description", MAX_DESCRIPTION, required=False),
        filename=name,
        media_type=detected,
        size=len(data),
        sha256=hashlib.sha256(data).hexdigest(),
        data=data,
        created_at=now,
    )
    return _store(session, item, actor, now)


def add_link(
    session: Session,
    submission: m.Submission,
    actor: m.Person,
    *,
    url: str,
    title: str,
    description: str = "",
    now: datetime,
) -> m.EvidenceItem:
    """Add an http(s) link to a draft or returned submission."""
    _may_add(session, submission, actor)
    item = m.EvidenceItem(
        submission_id=submission.id,
        kind="link",
        title=_text(title, "title", MAX_TITLE, required=True),
        description=_text(description, "description", MAX_DESCRIPTION, required=False),
        url=check_link(url),
        created_at=now,
    )
    return _store(session, item, actor, now)


def remove_item(session: Session, item_id: int, actor: m.Person, *, now: datetime) -> None:
    """Remove a pending item (submitted items stay with their attempt)."""
    item = session.get(m.EvidenceItem, item_id) if 0 < item_id < 2**31 else None
    submission = session.get(m.Submission, item.submission_id) if item is not None else None
    if item is None or submission is None or submission.educator_id != actor.id:
        raise NotFound("There is no such evidence item.")
    if item.attempt_id is not None:
        raise WorkflowError("This evidence was submitted with an attempt and stays with it.")
    before = audit.snapshot(item, ITEM_FIELDS)
    audit.record(
        session, actor=actor, action="evidence.removed", subject=item, now=now, before=before, after={}
    )
    session.delete(item)
    session.flush()


def evidence_for_viewer(session: Session, item_id: int, viewer: m.Person | None) -> m.EvidenceItem:
    """The item for its owner, staff, or a reviewer eligible for its submission; NotFound for anyone else."""
    item = session.get(m.EvidenceItem, item_id) if 0 < item_id < 2**31 else None
    submission = session.get(m.Submission, item.submission_id) if item is not None else None
    if item is None or submission is None or viewer is None or not viewer.active:
        raise NotFound("There is no such evidence item.")
    if viewer.id == submission.educator_id or viewer.is_staff:
        return item
    # Reviewers see what was submitted, never pending drafts, and only while the work waits for
    # them or after they reviewed it: not every submission of their stacks forever.
    if item.attempt_id is not None and eligibility.reviewer_may_see(session, viewer, submission):
        return item
    raise NotFound("There is no such evidence item.")
