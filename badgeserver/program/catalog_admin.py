"""Staff changes to the live catalog: new microcredential versions, retirement, founding reviewers.

None of these touches an issued credential or a status list: earned credentials keep verifying,
and submissions already started keep the version they started on.
"""

from __future__ import annotations

import re
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from badgeserver.errors import InputError, NotFound
from badgeserver.program import audit
from badgeserver.program.catalog import (
    _VERSION,
    AUDIENCES,
    CatalogError,
    _Located,
    _LocatedList,
    _Reader,
    _rubric,
)
from badgeserver.program.submissions import Forbidden, WorkflowError
from badgeserver.store import models as m

CHANGEABLE = (
    "version",
    "name",
    "description",
    "criteria",
    "evidence",
    "reflection_prompts",
    "rubric",
    "alignments",
    "tags",
    "audience",
    "credit",
    "fee",
    "validity_days",
    "achievement_type",
)
_TRAILING_NUMBER = re.compile(r"^(.*?)(\d+)$")
VERSION_FIELDS = (
    *("id", "microcredential_id", "version", "name", "achievement_type", "description", "criteria"),
    *("evidence", "reflection_prompts", "rubric", "alignments", "tags", "audience", "credit", "fee_cents"),
    *("validity_days", "image_png_id", "image_svg_id", "created_at"),
)
COPIED = VERSION_FIELDS[3:-1]  # everything a new version copies from the current one


class _ChangesReader(_Reader):
    """The catalog's field rules, reporting the field at fault without a file line."""

    def fail(self, where: Any, path: str, key: str | None, message: str) -> CatalogError:
        return CatalogError(f"{path}.{key}: {message}" if key else f"{path}: {message}")


def _located(value: Any) -> Any:
    """A plain dict/list tree in the shapes the catalog reader checks."""
    if isinstance(value, dict):
        mapping = _Located({str(k): _located(v) for k, v in value.items()})
        mapping.line, mapping.lines = 0, {}
        return mapping
    if isinstance(value, list | tuple):
        sequence = _LocatedList(_located(v) for v in value)
        sequence.line = 0
        return sequence
    return value


def require_staff(actor: m.Person | None) -> m.Person:
    """The actor, when they are active staff; Forbidden otherwise."""
    if actor is None or not actor.is_staff or not actor.active:
        raise Forbidden("Only staff may change the catalog or assign reviewers.")
    return actor


def microcredential(session: Session, slug: str) -> m.Microcredential:
    """The microcredential with `slug`, or NotFound."""
    micro = session.scalar(select(m.Microcredential).where(m.Microcredential.slug == slug))
    if micro is None or not micro.versions:
        raise NotFound(f"There is no microcredential {slug!r}.")
    return micro


def next_label(label: str) -> str:
    """The label after `label`: "1" -> "2", "2.1" -> "2.2"; InputError when it ends in no number."""
    match = _TRAILING_NUMBER.match(label)
    if match is None:
        raise InputError(f"Version {label!r} ends in no number; give the new version's label.")
    return f"{match[1]}{int(match[2]) + 1}"


def _changed_fields(changes: dict[str, Any]) -> dict[str, Any]:
    """Check `changes` with the catalog's rules; return the version columns they set."""
    unknown = sorted(set(changes) - set(CHANGEABLE))
    if unknown:
        raise InputError(f"{unknown[0]!r} cannot be changed; change one of {', '.join(CHANGEABLE)}.")
    reader, data, path = _ChangesReader("changes", None), _located(dict(changes)), "changes"
    fields: dict[str, Any] = {}
    for key, limit in (("name", 200), ("description", 20000), ("criteria", 20000), ("achievement_type", 60)):
        if key in data:
            fields[key] = reader.text(data, path, key, limit=limit)
    if "evidence" in data:
        fields["evidence"] = [
            {
                "name": reader.text(item, f"{path}.evidence[{i}]", "name", limit=200),
                "description": reader.text(item, f"{path}.evidence[{i}]", "description"),
            }
            for i, item in enumerate(reader.items(data, path, "evidence"))
        ]
    if "reflection_prompts" in data:
        fields["reflection_prompts"] = list(reader.strings(data, path, "reflection_prompts"))
    if "rubric" in data:
        fields["rubric"] = [
            {
                "id": c.id,
                "name": c.name,
                "description": c.description,
                "required": c.required,
                "levels": [{"id": lv.id, "name": lv.name, "description": lv.description} for lv in c.levels],
            }
            for c in _rubric(reader, data, path)
        ]
    if "alignments" in data:
        fields["alignments"] = _alignments(reader, data, path)
    if "tags" in data:
        fields["tags"] = list(reader.strings(data, path, "tags", required=False))
    if "audience" in data:
        audience = list(reader.strings(data, path, "audience"))
        for value in audience:
            if value not in AUDIENCES:
                raise reader.fail(data, path, "audience", f"{value!r} is not one of {', '.join(AUDIENCES)}.")
        fields["audience"] = audience
    if "credit" in data:
        fields["credit"] = reader.decimal(data, path, "credit", "0.5")
    if "fee" in data:
        fields["fee_cents"] = int(reader.decimal(data, path, "fee", "20.00") * 100)
    if "validity_days" in data:
        fields["validity_days"] = reader.validity_days(data, path)
    return fields


def _alignments(reader: _ChangesReader, data: Any, path: str) -> list[dict[str, str | None]]:
    result = []
    for i, item in enumerate(reader.items(data, path, "alignments", required=False)):
        where = f"{path}.alignments[{i}]"
        url = reader.text(item, where, "url", limit=500) or ""
        if not url.startswith(("https://", "http://")):
            raise reader.fail(item, where, "url", f"{url!r} is not an http(s) URL.")
        result.append(
            {
                "name": reader.text(item, where, "name", limit=300),
                "url": url,
                "framework": reader.text(item, where, "framework", required=False, limit=300),
            }
        )
    return result


def publish_version(
    session: Session, actor: m.Person | None, slug: str, changes: dict[str, Any], *, now: datetime
) -> m.MicrocredentialVersion:
    """Staff publish a new version of a microcredential: the current one copied with `changes`."""
    staff = require_staff(actor)
    micro = microcredential(session, slug)
    if micro.state != "active":
        raise WorkflowError(f"The microcredential {slug!r} is retired; a retired one gets no new versions.")
    current = micro.versions[-1]
    label = str(changes.get("version") or next_label(current.version)).strip()
    if not _VERSION.match(label):
        raise InputError(f"Version {label!r} must be 1-20 letters, digits, '.', '_' or '-'.")
    if any(v.version == label for v in micro.versions):
        raise InputError(f"The microcredential {slug!r} already has a version {label!r}.")
    fields = {key: getattr(current, key) for key in COPIED}
    updates = _changed_fields({k: v for k, v in changes.items() if k != "version"})
    if all(fields[key] == value for key, value in updates.items()):
        raise InputError(
            f"The changes leave version {current.version} as it is; there is nothing to publish."
        )
    fields.update(updates)
    version = m.MicrocredentialVersion(microcredential_id=micro.id, version=label, created_at=now, **fields)
    session.add(version)
    session.flush()
    session.expire(micro, ["versions"])
    audit.record(
        session,
        actor=staff,
        action="version.published",
        subject=version,
        now=now,
        before=audit.snapshot(current, VERSION_FIELDS),
        after=audit.snapshot(version, VERSION_FIELDS) | {"changed": sorted(updates)},
    )
    return version


def retire(session: Session, actor: m.Person | None, slug: str, *, now: datetime) -> m.Microcredential:
    """Staff retire a microcredential: no new submissions, hidden from the catalog; its pages stay."""
    staff = require_staff(actor)
    micro = microcredential(session, slug)
    if micro.state == "retired":
        raise WorkflowError(f"The microcredential {slug!r} is already retired.")
    before = audit.snapshot(micro)
    micro.state = "retired"
    micro.retired_at = now
    session.flush()
    audit.record(
        session, actor=staff, action="microcredential.retired", subject=micro, now=now, before=before
    )
    return micro


def _stack(session: Session, slug: str) -> m.Stack:
    stack = session.scalar(select(m.Stack).where(m.Stack.slug == slug))
    if stack is None:
        raise NotFound(f"There is no stack {slug!r}.")
    return stack


def assign_founding_reviewer(
    session: Session, actor: m.Person | None, person: m.Person, stack_slug: str, *, now: datetime
) -> m.ReviewerAssignment:
    """Staff assign a trained reviewer to a stack as a founding reviewer (before anyone holds it)."""
    staff = require_staff(actor)
    stack = _stack(session, stack_slug)
    if not person.is_reviewer or not person.active:
        raise WorkflowError(f"{person.email} is not a trained reviewer; mark them trained first.")
    found = session.get(m.ReviewerAssignment, (person.id, stack.id))
    if found is not None:
        return found
    row = m.ReviewerAssignment(person_id=person.id, stack_id=stack.id, created_at=now)
    session.add(row)
    session.flush()
    # The assignment has no id of its own: the audit entry is filed under the stack.
    after = {"founding_reviewer_id": person.id, "stack_id": stack.id, "created_at": now.isoformat()}
    audit.record(session, actor=staff, action="reviewer.assigned", subject=stack, now=now, after=after)
    return row


def remove_founding_reviewer(
    session: Session, actor: m.Person | None, person: m.Person, stack_slug: str, *, now: datetime
) -> None:
    """Staff end a founding reviewer's assignment to a stack."""
    staff = require_staff(actor)
    stack = _stack(session, stack_slug)
    row = session.get(m.ReviewerAssignment, (person.id, stack.id))
    if row is None:
        raise NotFound(f"{person.email} is not a founding reviewer of {stack_slug!r}.")
    before = {
        "founding_reviewer_id": person.id,
        "stack_id": stack.id,
        "created_at": row.created_at.isoformat(),
    }
    audit.record(
        session, actor=staff, action="reviewer.unassigned", subject=stack, now=now, before=before, after={}
    )
    session.delete(row)
    session.flush()
