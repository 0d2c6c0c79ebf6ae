"""JSON Schema validation against the pinned official Open Badges 3.0 schemas (DM-22, VER-1)."""

from __future__ import annotations

import json
from dataclasses import dataclass
from functools import cache
from typing import Any

from jsonschema import Draft201909Validator

from badgeserver.resources import schemas_dir

ACHIEVEMENT_CREDENTIAL_SCHEMA = (
    "https://purl.imsglobal.org/spec/ob/v3p0/schema/json/ob_v3p0_achievementcredential_schema.json"
)
ENDORSEMENT_CREDENTIAL_SCHEMA = (
    "https://purl.imsglobal.org/spec/ob/v3p0/schema/json/ob_v3p0_endorsementcredential_schema.json"
)
SCHEMA_VALIDATOR_TYPE = "1EdTechJsonSchemaValidator2019"

# The URLs a credentialSchema may name, mapped to the pinned file that answers them.
_PINNED = {
    ACHIEVEMENT_CREDENTIAL_SCHEMA: "ob_v3p0_achievementcredential_schema.json",
    "https://purl.imsglobal.org/spec/ob/v3p0/schema/json-ld/ob_v3p0_achievementcredential_schema.json": (
        "ob_v3p0_achievementcredential_schema.json"
    ),
    ENDORSEMENT_CREDENTIAL_SCHEMA: "ob_v3p0_endorsementcredential_schema.json",
}


@dataclass(frozen=True)
class SchemaProblem:
    """One schema violation: where in the document, and what is wrong."""

    path: str
    message: str


def is_pinned(url: str) -> bool:
    """True when badgeserver holds a pinned copy of the schema at `url`."""
    return url in _PINNED


@cache
def _validator(url: str) -> Draft201909Validator:
    schema = json.loads((schemas_dir() / "json" / _PINNED[url]).read_text("utf-8"))
    return Draft201909Validator(schema)


def validate(document: Any, url: str = ACHIEVEMENT_CREDENTIAL_SCHEMA) -> list[SchemaProblem]:
    """Validate `document` against the pinned schema for `url`; return the problems, if any.

    A credentialStatus array (VCDM 2.0 allows several entries; OB 3.0's CredentialStatus is 0..1,
    DM-23, STAT-10) is checked entry by entry: each one must be a valid CredentialStatus object.
    """
    validator = _validator(url)
    problems: list[SchemaProblem] = []
    for variant in _status_variants(document):
        for error in sorted(validator.iter_errors(variant), key=lambda e: list(e.absolute_path)):
            path = "/" + "/".join(str(part) for part in error.absolute_path)
            problem = SchemaProblem(path=path, message=_short(error.message))
            if problem not in problems:
                problems.append(problem)
    return problems


def _status_variants(document: Any) -> list[Any]:
    status = document.get("credentialStatus") if isinstance(document, dict) else None
    if not isinstance(status, list) or not status:
        return [document]
    return [{**document, "credentialStatus": entry} for entry in status]


def _short(message: str, limit: int = 300) -> str:
    return message if len(message) <= limit else message[: limit - 1] + "…"
