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
    """Validate `document` against the pinned schema for `url`; return the problems, if any."""
    validator = _validator(url)
    problems = []
    for error in sorted(validator.iter_errors(document), key=lambda e: list(e.absolute_path)):
        path = "/" + "/".join(str(part) for part in error.absolute_path)
        problems.append(SchemaProblem(path=path, message=_short(error.message)))
    return problems


def _short(message: str, limit: int = 300) -> str:
    return message if len(message) <= limit else message[: limit - 1] + "…"
