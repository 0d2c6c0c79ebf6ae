"""One function per verification check; each returns an Outcome and never raises for bad data."""

from __future__ import annotations

import re
from collections.abc import Mapping
from datetime import datetime
from typing import Any

from badgeserver import identity, schema
from badgeserver.errors import CanonicalizationError
from badgeserver.ld.canon import Canonicalizer, iter_contexts
from badgeserver.ld.contexts import OB_CONTEXT_PATTERN, VC_V1, VC_V2
from badgeserver.verify.proofs import Outcome, as_list
from badgeserver.verify.report import FAILED, PASSED, SKIPPED, WARNING

_DATE_TIME_Z = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?(Z|[+-]\d{2}:\d{2})$")
CREDENTIAL_TYPES = ("OpenBadgeCredential", "AchievementCredential")


def vc_version(credential: dict[str, Any]) -> int:
    """2 for a VCDM 2.0 credential, 1 for VCDM 1.1, 0 when the first context is neither."""
    contexts = as_list(credential.get("@context"))
    first = contexts[0] if contexts else None
    return {VC_V2: 2, VC_V1: 1}.get(first, 0) if isinstance(first, str) else 0


def context(credential: dict[str, Any], canonicalizer: Canonicalizer) -> Outcome:
    """CTX-1, CTX-9, CTX-10: the contexts are in order, pinned, and define every term."""
    contexts = as_list(credential.get("@context"))
    if vc_version(credential) == 0:
        return Outcome(FAILED, "PARSING_ERROR", f"The first @context must be {VC_V2}.")
    if len(contexts) < 2 or not isinstance(contexts[1], str) or not re.match(OB_CONTEXT_PATTERN, contexts[1]):
        return Outcome(FAILED, "PARSING_ERROR", "The second @context must be the Open Badges 3.0 context.")
    for value in iter_contexts(credential):
        for item in as_list(value):
            if isinstance(item, str) and item not in canonicalizer.loader:
                return Outcome(
                    FAILED,
                    "unknown_context",
                    f"The context {item} is not pinned by badgeserver, so the credential cannot be "
                    "checked safely.",
                )
    try:
        canonicalizer.canonicalize({k: v for k, v in credential.items() if k != "proof"})
    except CanonicalizationError as exc:
        return Outcome(FAILED, exc.code, exc.message)
    if vc_version(credential) == 1:
        return Outcome(
            PASSED, "contexts_valid_vc11", "The contexts are valid (a Verifiable Credentials 1.1 credential)."
        )
    return Outcome(PASSED, "contexts_valid", "The contexts are pinned and define every term.")


def credential_type(credential: dict[str, Any], expected: tuple[str, ...] = CREDENTIAL_TYPES) -> Outcome:
    """DM-1: type holds VerifiableCredential and an Open Badges credential type."""
    types = as_list(credential.get("type"))
    if "VerifiableCredential" not in types or not any(t in types for t in expected):
        return Outcome(
            FAILED, "wrong_type", f"The type must include VerifiableCredential and {' or '.join(expected)}."
        )
    return Outcome(
        PASSED, "type_valid", f"The credential's type is {next(t for t in expected if t in types)}."
    )


def _schema_form(credential: dict[str, Any]) -> dict[str, Any]:
    """The plain-JSON form the strict schema expects (DM-27 singletons as arrays)."""
    normalized = dict(credential)
    for key in ("proof", "credentialSchema", "termsOfUse", "type"):
        if key in normalized and not isinstance(normalized[key], list):
            normalized[key] = [normalized[key]]
    return normalized


def schema_valid(
    credential: dict[str, Any], schema_url: str = schema.ACHIEVEMENT_CREDENTIAL_SCHEMA
) -> Outcome:
    """VER-1: the credential validates against the pinned Open Badges 3.0 schema."""
    if vc_version(credential) == 1:
        return Outcome(SKIPPED, "no_vc11_schema", "No pinned schema for Verifiable Credentials 1.1 badges.")
    named = [s.get("id") for s in as_list(credential.get("credentialSchema")) if isinstance(s, dict)]
    unknown = [url for url in named if isinstance(url, str) and not schema.is_pinned(url)]
    problems = schema.validate(_schema_form(credential), schema_url)
    if problems:
        first = problems[0]
        more = f" (and {len(problems) - 1} more)" if len(problems) > 1 else ""
        return Outcome(
            FAILED,
            "schema_invalid",
            f"The credential does not match the Open Badges 3.0 schema at {first.path}: "
            f"{first.message}{more}.",
        )
    if unknown:
        return Outcome(
            WARNING,
            "schema_not_pinned",
            f"The schema {unknown[0]} is not pinned; the official Open Badges 3.0 schema was used.",
        )
    return Outcome(PASSED, "schema_valid", "The credential matches the Open Badges 3.0 schema.")


def subject_identified(credential: dict[str, Any]) -> Outcome:
    """VER-2: the subject has an id or at least one identifier."""
    subject = credential.get("credentialSubject")
    if isinstance(subject, list) and len(subject) == 1:
        subject = subject[0]
    if not isinstance(subject, dict):
        return Outcome(FAILED, "no_subject", "The credential has no single credentialSubject.")
    if subject.get("id") or as_list(subject.get("identifier")):
        return Outcome(PASSED, "subject_identified", "The credential names its earner.")
    return Outcome(
        FAILED, "subject_unidentified", "The credential's subject has neither an id nor an identifier."
    )


def proof_present(credential: dict[str, Any]) -> Outcome:
    """DM-25: at least one embedded proof."""
    proofs = [p for p in as_list(credential.get("proof")) if isinstance(p, dict)]
    if not proofs:
        return Outcome(FAILED, "no_proof", "The credential carries no proof, so nothing vouches for it.")
    return Outcome(
        PASSED,
        "proof_present",
        f"The credential carries {len(proofs)} proof{'s' if len(proofs) > 1 else ''}.",
    )


def parse_time(value: Any) -> datetime | None:
    """A DateTimeZ value as an aware datetime, or None if it is not one."""
    if not isinstance(value, str) or not _DATE_TIME_Z.match(value):
        return None
    try:
        return datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return None


def _dates(credential: dict[str, Any]) -> tuple[str, str]:
    if vc_version(credential) == 1:
        return "issuanceDate", "expirationDate"
    return "validFrom", "validUntil"


def not_before(credential: dict[str, Any], now: datetime) -> Outcome:
    """VER-7: the credential is already valid (validFrom, or issuanceDate for VC 1.1)."""
    start_key, _ = _dates(credential)
    start = parse_time(credential.get(start_key))
    if start is None:
        return Outcome(
            FAILED, "MALFORMED_VALUE_ERROR", f"{start_key} is missing or not a date-time with a time zone."
        )
    if now < start:
        return Outcome(FAILED, "not_yet_valid", f"The credential is not valid until {credential[start_key]}.")
    return Outcome(PASSED, "valid_from", f"The credential has been valid since {credential[start_key]}.")


def expiry(credential: dict[str, Any], now: datetime) -> Outcome:
    """VER-7: the credential has not expired (validUntil, or expirationDate for VC 1.1)."""
    start_key, end_key = _dates(credential)
    if end_key not in credential:
        return Outcome(PASSED, "no_expiry", "The credential does not expire.")
    end = parse_time(credential.get(end_key))
    if end is None:
        return Outcome(FAILED, "MALFORMED_VALUE_ERROR", f"{end_key} is not a date-time with a time zone.")
    start = parse_time(credential.get(start_key))
    if start is not None and end < start:
        return Outcome(FAILED, "RANGE_ERROR", f"{end_key} is before {start_key}.")
    if now > end:
        return Outcome(FAILED, "expired", f"The credential expired on {credential[end_key]}.")
    return Outcome(PASSED, "not_expired", f"The credential is valid until {credential[end_key]}.")


def recipient(credential: dict[str, Any], email: str | None) -> Outcome:
    """VER-8: the credential was issued to `email` (hashed or plain identifiers, or a mailto: id)."""
    if email is None:
        return Outcome(SKIPPED, "not_requested", "No recipient was given to compare.")
    wanted = identity.normalize_email(email)
    subject = credential.get("credentialSubject")
    if not isinstance(subject, dict):
        return Outcome(FAILED, "no_subject", "The credential has no subject to compare.")
    if isinstance(subject.get("id"), str) and subject["id"].lower() == f"mailto:{wanted}":
        return Outcome(PASSED, "recipient_matches", f"The credential was issued to {email}.")
    emails = [
        i
        for i in as_list(subject.get("identifier"))
        if isinstance(i, dict) and i.get("identityType") == "emailAddress"
    ]
    for item in emails:
        value = item.get("identityHash")
        if not isinstance(value, str):
            continue
        if item.get("hashed"):
            if identity.matches(value, wanted, item.get("salt")):
                return Outcome(PASSED, "recipient_matches", f"The credential was issued to {email}.")
        elif identity.normalize_email(value) == wanted:
            return Outcome(PASSED, "recipient_matches", f"The credential was issued to {email}.")
    if not emails:
        return Outcome(FAILED, "recipient_unknown", "The credential names no email address to compare.")
    return Outcome(FAILED, "recipient_mismatch", f"The credential was not issued to {email}.")


def issuer_known(credential: dict[str, Any], known: Mapping[str, str] | None) -> Outcome:
    """VER-10: say whether the issuer is one this site vouches for, so a name alone proves nothing."""
    if known is None:
        return Outcome(SKIPPED, "not_requested", "No list of known issuers was given.")
    issuer = credential.get("issuer")
    issuer_id = issuer.get("id") if isinstance(issuer, dict) else issuer
    claimed = issuer.get("name") if isinstance(issuer, dict) else None
    if isinstance(issuer_id, str) and issuer_id in known:
        return Outcome(
            PASSED, "issuer_known", f"The issuer is {known[issuer_id]} ({issuer_id}), an issuer of this site."
        )
    name = f"calls itself {claimed!r} but " if isinstance(claimed, str) and claimed else ""
    return Outcome(
        WARNING,
        "issuer_unknown",
        f"The issuer {issuer_id} {name}is not one of this site's issuers; "
        "trust it only if you know that identifier.",
    )
