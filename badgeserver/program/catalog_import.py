"""Import a checked catalog into the store in one transaction: all of it or nothing."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from badgeserver.program.catalog import Catalog, CatalogError, GroupDef, MicrocredentialDef
from badgeserver.store import models as m


@dataclass
class ImportSummary:
    """What an import created, changed or found unchanged."""

    created: list[str] = field(default_factory=list)
    updated: list[str] = field(default_factory=list)
    unchanged: list[str] = field(default_factory=list)


def store_image(session: Session, data: bytes, media_type: str) -> m.Image:
    """Store image bytes once by content; return the row."""
    digest = hashlib.sha256(data).hexdigest()
    image = session.scalar(select(m.Image).where(m.Image.sha256 == digest))
    if image is None:
        image = m.Image(sha256=digest, media_type=media_type, data=data)
        session.add(image)
        session.flush()
    return image


def _version_fields(defn: MicrocredentialDef) -> dict[str, Any]:
    return {
        "name": defn.name,
        "achievement_type": defn.achievement_type,
        "description": defn.description,
        "criteria": defn.criteria,
        "evidence": [{"name": n, "description": d} for n, d in defn.evidence],
        "reflection_prompts": list(defn.reflection_prompts),
        "rubric": [
            {
                "id": c.id,
                "name": c.name,
                "description": c.description,
                "required": c.required,
                "levels": [{"id": lv.id, "name": lv.name, "description": lv.description} for lv in c.levels],
            }
            for c in defn.rubric
        ],
        "alignments": [{"name": n, "url": u, "framework": f} for n, u, f in defn.alignments],
        "tags": list(defn.tags),
        "audience": list(defn.audience),
        "credit": defn.credit,
        "fee_cents": defn.fee_cents,
        "validity_days": defn.validity_days,
    }


def _same(version: m.MicrocredentialVersion, fields: dict[str, Any], png: int, svg: int) -> bool:
    current = {key: getattr(version, key) for key in fields}
    return current == fields and version.image_png_id == png and version.image_svg_id == svg


def _import_microcredential(
    session: Session, defn: MicrocredentialDef, issuer: m.Issuer, now: datetime, summary: ImportSummary
) -> m.Microcredential:
    png = store_image(session, defn.image.png, "image/png").id
    svg = store_image(session, defn.image.svg, "image/svg+xml").id
    fields = _version_fields(defn)
    micro = session.scalar(select(m.Microcredential).where(m.Microcredential.slug == defn.slug))
    if micro is None:
        micro = m.Microcredential(slug=defn.slug, issuer=issuer, state="active")
        session.add(micro)
        session.flush()
    elif micro.issuer_id != issuer.id:
        raise CatalogError(f"The microcredential {defn.slug!r} belongs to another issuer.")
    existing = next((v for v in micro.versions if v.version == defn.version), None)
    label = f"microcredential {defn.slug} v{defn.version}"
    if existing is not None:
        if not _same(existing, fields, png, svg):
            raise CatalogError(
                f"The {label} already exists with different content; give the change a new version."
            )
        summary.unchanged.append(label)
        return micro
    session.add(
        m.MicrocredentialVersion(
            microcredential=micro,
            version=defn.version,
            image_png_id=png,
            image_svg_id=svg,
            created_at=now,
            **fields,
        )
    )
    summary.created.append(label)
    return micro


def _import_group(
    session: Session,
    model: type[m.Stack] | type[m.Bundle],
    defn: GroupDef,
    issuer: m.Issuer,
    member_ids: list[int],
    summary: ImportSummary,
) -> None:
    png = store_image(session, defn.image.png, "image/png").id
    svg = store_image(session, defn.image.svg, "image/svg+xml").id
    row: Any = session.scalar(select(model).where(model.slug == defn.slug))
    kind = "stack" if model is m.Stack else "bundle"
    values = {
        "issuer_id": issuer.id,
        "name": defn.name,
        "description": defn.description,
        "credit": defn.credit,
        "image_png_id": png,
        "image_svg_id": svg,
    }
    if row is None:
        row = model(slug=defn.slug, **values)
        session.add(row)
        session.flush()
        summary.created.append(f"{kind} {defn.slug}")
    else:
        changed = any(getattr(row, k) != v for k, v in values.items())
        for key, value in values.items():
            setattr(row, key, value)
        current = [
            member.microcredential_id if kind == "stack" else member.stack_id for member in row.members
        ]
        changed = changed or current != member_ids
        (summary.updated if changed else summary.unchanged).append(f"{kind} {defn.slug}")
    for member in list(row.members):
        session.delete(member)
    session.flush()
    for position, member_id in enumerate(member_ids):
        if kind == "stack":
            session.add(m.StackMember(stack_id=row.id, microcredential_id=member_id, position=position))
        else:
            session.add(m.BundleMember(bundle_id=row.id, stack_id=member_id, position=position))
    session.flush()
    session.expire(row, ["members"])


def import_catalog(session: Session, catalog: Catalog, *, now: datetime) -> ImportSummary:
    """Create or update issuers, microcredential versions, stacks and bundles from `catalog`."""
    summary = ImportSummary()
    issuers: dict[str, m.Issuer] = {}
    for org in catalog.issuers:
        issuer = session.scalar(select(m.Issuer).where(m.Issuer.slug == org.slug))
        png_id = store_image(session, org.image_png, "image/png").id if org.image_png else None
        values = {
            "name": org.name,
            "url": org.url,
            "email": org.email,
            "description": org.description,
            "linkedin_organization_id": org.linkedin_organization_id,
        }
        if issuer is None:
            issuer = m.Issuer(slug=org.slug, image_png_id=png_id, **values)
            session.add(issuer)
            summary.created.append(f"issuer {org.slug}")
        else:
            changed = any(getattr(issuer, k) != v for k, v in values.items()) or issuer.image_png_id != png_id
            for key, value in values.items():
                setattr(issuer, key, value)
            issuer.image_png_id = png_id
            (summary.updated if changed else summary.unchanged).append(f"issuer {org.slug}")
        session.flush()
        issuers[org.slug] = issuer
    micro_ids = {
        defn.slug: _import_microcredential(session, defn, issuers[defn.issuer], now, summary).id
        for defn in catalog.microcredentials
    }
    session.flush()
    stack_ids: dict[str, int] = {}
    for stack in catalog.stacks:
        members = [micro_ids[s] for s in stack.members]
        _import_group(session, m.Stack, stack, issuers[stack.issuer], members, summary)
        stack_ids[stack.slug] = session.scalars(select(m.Stack.id).where(m.Stack.slug == stack.slug)).one()
    for bundle in catalog.bundles:
        members = [stack_ids[s] for s in bundle.members]
        _import_group(session, m.Bundle, bundle, issuers[bundle.issuer], members, summary)
    return summary
