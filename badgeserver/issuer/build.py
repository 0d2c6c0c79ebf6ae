"""Records to an unsigned OpenBadgeCredential (DM-1..DM-30, CTX-1, CTX-11). Pure: no clock, no I/O."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from badgeserver.errors import InputError
from badgeserver.identity import identity_hash, normalize_email
from badgeserver.ld.contexts import OB_EXTENSIONS, OB_V3P0, VC_V2
from badgeserver.schema import ACHIEVEMENT_CREDENTIAL_SCHEMA, SCHEMA_VALIDATOR_TYPE

BITSTRING_STATUS_LIST_ENTRY = "BitstringStatusListEntry"


@dataclass(frozen=True)
class IssuerProfile:
    """The issuing organization as it appears in `issuer` (DM-3, DM-20)."""

    id: str
    name: str
    url: str | None = None
    image: str | None = None
    email: str | None = None
    description: str | None = None


@dataclass(frozen=True)
class RubricLevel:
    """One level of a rubric criterion (a RubricCriterionLevel)."""

    id: str
    name: str
    description: str | None = None
    points: str | None = None


@dataclass(frozen=True)
class RubricCriterion:
    """One rubric criterion: a ResultDescription of type RubricCriterionLevel (DM-16)."""

    id: str
    name: str
    levels: tuple[RubricLevel, ...]
    description: str | None = None
    required_level: str | None = None


@dataclass(frozen=True)
class Alignment:
    """A link from the achievement to a standard or framework item (DM-15)."""

    target_name: str
    target_url: str
    target_description: str | None = None
    target_framework: str | None = None
    target_code: str | None = None
    target_type: str | None = None


@dataclass(frozen=True)
class Related:
    """Another version or language edition of the same achievement (DM-13)."""

    id: str
    version: str | None = None
    in_language: str | None = None


@dataclass(frozen=True)
class AchievementSpec:
    """Everything the credential says about the achievement (DM-9..DM-16)."""

    id: str
    name: str
    description: str
    criteria_narrative: str
    criteria_url: str | None = None
    image: str | None = None
    image_caption: str | None = None
    achievement_type: str = "MicroCredential"
    credits_available: float | None = None
    version: str | None = None
    alignments: tuple[Alignment, ...] = ()
    rubric: tuple[RubricCriterion, ...] = ()
    related: tuple[Related, ...] = ()
    tags: tuple[str, ...] = ()
    human_code: str | None = None
    in_language: str | None = None
    field_of_study: str | None = None
    creator: IssuerProfile | None = None


@dataclass(frozen=True)
class Recipient:
    """The earner: an email hashed with a salt, and optionally a published plain name (DM-6..DM-8)."""

    email: str
    salt: str
    name: str | None = None
    id: str | None = None


@dataclass(frozen=True)
class ResultAchieved:
    """The level the earner reached on one rubric criterion (DM-17)."""

    criterion_id: str
    level_id: str


@dataclass(frozen=True)
class EvidenceItem:
    """One piece of evidence or a narrative summary of it (DM-18)."""

    id: str | None = None
    name: str | None = None
    narrative: str | None = None
    description: str | None = None
    genre: str | None = None


@dataclass(frozen=True)
class RelatedResource:
    """A resource the credential binds by digest (VCDM 2.0 section 5.3 `relatedResource`)."""

    id: str
    digest_sri: str | None = None
    digest_multibase: str | None = None
    media_type: str | None = None


@dataclass(frozen=True)
class StatusEntry:
    """Where the credential's status bit lives in a Bitstring Status List (STAT-1, STAT-10)."""

    list_url: str
    index: int
    purpose: str = "revocation"


@dataclass(frozen=True)
class Award:
    """The facts of one award: the credential's id, dates, results, evidence and status."""

    credential_id: str
    valid_from: datetime
    valid_until: datetime | None = None
    awarded_date: datetime | None = None
    results: tuple[ResultAchieved, ...] = ()
    evidence: tuple[EvidenceItem, ...] = ()
    credits_earned: float | None = None
    status: StatusEntry | tuple[StatusEntry, ...] | None = None
    extra_context: tuple[str, ...] = field(default=())
    related_resources: tuple[RelatedResource, ...] = ()


def date_time_z(moment: datetime) -> str:
    """Format a date-time in UTC, whole seconds, with `Z` (DM-4; whole seconds for JWT nbf)."""
    if moment.tzinfo is None:
        raise InputError("A credential date-time needs a time zone.")
    try:
        return moment.astimezone(UTC).replace(microsecond=0).strftime("%Y-%m-%dT%H:%M:%SZ")
    except OverflowError:
        raise InputError("A credential date-time is out of range.") from None


def image_json(url: str, caption: str | None = None) -> dict[str, Any]:
    """An Image object (DM-19): never a bare string."""
    image: dict[str, Any] = {"id": url, "type": "Image"}
    if caption:
        image["caption"] = caption
    return image


def profile_json(profile: IssuerProfile) -> dict[str, Any]:
    """The Profile object for an issuer or creator (DM-20)."""
    result: dict[str, Any] = {"id": profile.id, "type": ["Profile"], "name": profile.name}
    if profile.url:
        result["url"] = profile.url
    if profile.description:
        result["description"] = profile.description
    if profile.email:
        result["email"] = profile.email
    if profile.image:
        result["image"] = image_json(profile.image, profile.name)
    return result


def _criterion_json(criterion: RubricCriterion) -> dict[str, Any]:
    result: dict[str, Any] = {
        "id": criterion.id,
        "type": ["ResultDescription"],
        "name": criterion.name,
        "resultType": "RubricCriterionLevel",
        "allowedValue": [level.name for level in criterion.levels],
        "rubricCriterionLevel": [],
    }
    if criterion.required_level:
        result["requiredLevel"] = criterion.required_level
    for level in criterion.levels:
        level_json: dict[str, Any] = {
            "id": level.id,
            "type": ["RubricCriterionLevel"],
            "name": level.name,
        }
        if level.description:
            level_json["description"] = level.description
        if level.points is not None:
            level_json["points"] = level.points
        result["rubricCriterionLevel"].append(level_json)
    return result


def _alignment_json(alignment: Alignment) -> dict[str, Any]:
    result: dict[str, Any] = {
        "type": ["Alignment"],
        "targetName": alignment.target_name,
        "targetUrl": alignment.target_url,
    }
    for key, value in (
        ("targetDescription", alignment.target_description),
        ("targetFramework", alignment.target_framework),
        ("targetCode", alignment.target_code),
        ("targetType", alignment.target_type),
    ):
        if value:
            result[key] = value
    return result


def achievement_json(spec: AchievementSpec) -> dict[str, Any]:
    """The whole Achievement object, embedded in the credential (DM-9..DM-16)."""
    criteria: dict[str, Any] = {"narrative": spec.criteria_narrative}
    if spec.criteria_url:
        criteria = {"id": spec.criteria_url, **criteria}
    result: dict[str, Any] = {
        "id": spec.id,
        "type": ["Achievement"],
        "achievementType": spec.achievement_type,
        "name": spec.name,
        "description": spec.description,
        "criteria": criteria,
    }
    if spec.image:
        result["image"] = image_json(spec.image, spec.image_caption or spec.name)
    if spec.credits_available is not None:
        result["creditsAvailable"] = float(spec.credits_available)
    if spec.version:
        result["version"] = spec.version
    if spec.human_code:
        result["humanCode"] = spec.human_code
    if spec.in_language:
        result["inLanguage"] = spec.in_language
    if spec.field_of_study:
        result["fieldOfStudy"] = spec.field_of_study
    if spec.tags:
        result["tag"] = list(spec.tags)
    if spec.creator:
        result["creator"] = profile_json(spec.creator)
    if spec.alignments:
        result["alignment"] = [_alignment_json(a) for a in spec.alignments]
    if spec.rubric:
        result["resultDescription"] = [_criterion_json(c) for c in spec.rubric]
    if spec.related:
        result["related"] = [_related_json(r) for r in spec.related]
    return result


def _related_json(related: Related) -> dict[str, Any]:
    result: dict[str, Any] = {"id": related.id, "type": ["Related"]}
    if related.version:
        result["version"] = related.version
    if related.in_language:
        result["inLanguage"] = related.in_language
    return result


def _subject_json(recipient: Recipient, achievement: dict[str, Any], award: Award) -> dict[str, Any]:
    subject: dict[str, Any] = {"type": ["AchievementSubject"]}
    if recipient.id:
        subject["id"] = recipient.id
    identifiers = [
        {
            "type": "IdentityObject",
            "identityHash": identity_hash(normalize_email(recipient.email), recipient.salt),
            "identityType": "emailAddress",
            "hashed": True,
            "salt": recipient.salt,
        }
    ]
    if recipient.name:
        identifiers.append(
            {
                "type": "IdentityObject",
                "identityHash": recipient.name,
                "identityType": "name",
                "hashed": False,
            }
        )
    subject["identifier"] = identifiers
    subject["achievement"] = achievement
    if award.credits_earned is not None:
        subject["creditsEarned"] = float(award.credits_earned)
    if award.results:
        subject["result"] = [_result_json(r, achievement) for r in award.results]
    return subject


def _result_json(result: ResultAchieved, achievement: dict[str, Any]) -> dict[str, Any]:
    # DM-17: a result must point at a ResultDescription and a level inside this achievement.
    for description in achievement.get("resultDescription", []):
        if description["id"] == result.criterion_id:
            levels = {level["id"] for level in description.get("rubricCriterionLevel", [])}
            if result.level_id not in levels:
                raise InputError(
                    f"The level {result.level_id} is not a level of rubric criterion {result.criterion_id}."
                )
            return {
                "type": ["Result"],
                "resultDescription": result.criterion_id,
                "achievedLevel": result.level_id,
            }
    raise InputError(f"The rubric criterion {result.criterion_id} is not in the achievement.")


def _evidence_json(item: EvidenceItem) -> dict[str, Any]:
    result: dict[str, Any] = {"type": ["Evidence"]}
    for key, value in (
        ("id", item.id),
        ("name", item.name),
        ("narrative", item.narrative),
        ("description", item.description),
        ("genre", item.genre),
    ):
        if value:
            result[key] = value
    return result


def related_resource_json(resource: RelatedResource) -> dict[str, Any]:
    """One relatedResource entry: the resource's id and at least one digest of its bytes."""
    if not (resource.digest_sri or resource.digest_multibase):
        raise InputError(f"The related resource {resource.id} needs a digest.")
    result: dict[str, Any] = {"id": resource.id}
    for key, value in (
        ("digestSRI", resource.digest_sri),
        ("digestMultibase", resource.digest_multibase),
        ("mediaType", resource.media_type),
    ):
        if value:
            result[key] = value
    return result


def status_entry_json(entry: StatusEntry) -> dict[str, Any]:
    """A BitstringStatusListEntry with an id, as the OB schema wants it (STAT-1, STAT-10)."""
    if entry.index < 0:
        raise InputError("A status list index is a non-negative integer.")
    return {
        "id": f"{entry.list_url}#{entry.index}",
        "type": BITSTRING_STATUS_LIST_ENTRY,
        "statusPurpose": entry.purpose,
        "statusListIndex": str(entry.index),
        "statusListCredential": entry.list_url,
    }


def credential_status_json(status: StatusEntry | tuple[StatusEntry, ...]) -> dict[str, Any] | list[Any]:
    """One entry as the object OB 3.0 allows (CredentialStatus is 0..1, DM-23), or several (e.g.
    revocation and suspension) as a VCDM 2.0 array."""
    if isinstance(status, StatusEntry):
        return status_entry_json(status)
    entries = [status_entry_json(entry) for entry in status]
    return entries[0] if len(entries) == 1 else entries


def build_credential(
    issuer: IssuerProfile,
    achievement: AchievementSpec | dict[str, Any],
    recipient: Recipient,
    award: Award,
) -> dict[str, Any]:
    """Return the unsigned OpenBadgeCredential for one award (DM-1..DM-26)."""
    achievement_obj = (
        achievement_json(achievement) if isinstance(achievement, AchievementSpec) else achievement
    )
    # Format first: a naive date-time is an InputError, not a TypeError in the comparison.
    valid_from = date_time_z(award.valid_from)
    valid_until = None if award.valid_until is None else date_time_z(award.valid_until)
    if award.valid_until is not None and award.valid_until < award.valid_from:
        raise InputError("validUntil is before validFrom.")
    credential: dict[str, Any] = {
        # CTX-1, CTX-11: VC v2, OB 3.0.3, then extensions.json for 1EdTechJsonSchemaValidator2019.
        "@context": [VC_V2, OB_V3P0, OB_EXTENSIONS, *award.extra_context],
        "id": award.credential_id,
        "type": ["VerifiableCredential", "OpenBadgeCredential"],
        "name": achievement_obj["name"],
        "issuer": profile_json(issuer),
        "validFrom": valid_from,
    }
    if valid_until is not None:
        credential["validUntil"] = valid_until
    credential["awardedDate"] = date_time_z(award.awarded_date or award.valid_from)
    credential["credentialSubject"] = _subject_json(recipient, achievement_obj, award)
    if award.evidence:
        credential["evidence"] = [_evidence_json(e) for e in award.evidence]
    if award.related_resources:
        credential["relatedResource"] = [related_resource_json(r) for r in award.related_resources]
    credential["credentialSchema"] = [{"id": ACHIEVEMENT_CREDENTIAL_SCHEMA, "type": SCHEMA_VALIDATOR_TYPE}]
    if award.status:
        credential["credentialStatus"] = credential_status_json(award.status)
    return credential
