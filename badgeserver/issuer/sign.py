"""Sign an unsigned credential: schema check, eddsa-rdfc-2022 proof, then verify what was signed."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat

from badgeserver import schema
from badgeserver.errors import ProofError, SchemaError
from badgeserver.integrity import eddsa
from badgeserver.issuer.build import date_time_z
from badgeserver.ld.canon import Canonicalizer


def check_schema(credential: dict[str, Any], schema_url: str) -> None:
    """Raise SchemaError naming the first problems when `credential` fails the pinned schema."""
    problems = schema.validate(credential, schema_url)
    if problems:
        listed = "; ".join(f"{p.path}: {p.message}" for p in problems[:3])
        raise SchemaError(f"The credential does not match the Open Badges 3.0 schema ({listed}).")


def sign_credential(
    unsigned: dict[str, Any],
    *,
    private_key: Ed25519PrivateKey,
    verification_method: str,
    now: datetime,
    canonicalizer: Canonicalizer,
    schema_url: str | None = schema.ACHIEVEMENT_CREDENTIAL_SCHEMA,
) -> dict[str, Any]:
    """Return `unsigned` with an eddsa-rdfc-2022 proof; refuse anything that would not verify."""
    if schema_url is not None:
        # The schema wants a proof array, so check the document as it will be signed.
        check_schema({**unsigned, "proof": [{"type": "DataIntegrityProof"}]}, schema_url)
    signed = eddsa.add_proof(
        unsigned,
        private_key=private_key,
        verification_method=verification_method,
        created=date_time_z(now),
        canonicalizer=canonicalizer,
    )
    # Verify what was signed before anyone stores or sends it.
    public_key = private_key.public_key().public_bytes(Encoding.Raw, PublicFormat.Raw)
    check = eddsa.verify_proof(signed, signed["proof"][-1], public_key, canonicalizer)
    if not check.verified:
        raise ProofError(f"The new proof does not verify: {check.message}")
    return signed
