"""Data Integrity proofs with eddsa-rdfc-2022 (and legacy Ed25519Signature2020), one function per step.

Steps follow W3C Data Integrity EdDSA Cryptosuites v1.0 §3.2: transformation (SIG-4), proof
configuration (SIG-5), hashing (SIG-6), serialization/signing (SIG-7) and verification (SIG-8).
"""

from __future__ import annotations

import copy
import hashlib
import re
from dataclasses import dataclass
from typing import Any

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import (
    Ed25519PrivateKey,
    Ed25519PublicKey,
)

from badgeserver.errors import KeyMaterialError, ProofError
from badgeserver.integrity.multikey import decode_base58btc, encode_base58btc
from badgeserver.ld.canon import Canonicalizer

DATA_INTEGRITY_PROOF = "DataIntegrityProof"
EDDSA_RDFC_2022 = "eddsa-rdfc-2022"
ED25519_SIGNATURE_2020 = "Ed25519Signature2020"
ASSERTION_METHOD = "assertionMethod"

# XML Schema dateTimeStamp: a date-time with a mandatory zone (SIG-2, SIG-5).
_DATE_TIME_STAMP = re.compile(r"^-?\d{4,}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?(Z|[+-]\d{2}:\d{2})$")


@dataclass(frozen=True)
class ProofCheck:
    """The outcome of verifying one proof: verified, with a stable code and a sentence."""

    verified: bool
    code: str
    message: str


def suite_of(proof: dict[str, Any]) -> str:
    """Name the suite of a proof object: eddsa-rdfc-2022, Ed25519Signature2020, or what it says."""
    if proof.get("type") == DATA_INTEGRITY_PROOF:
        return str(proof.get("cryptosuite"))
    return str(proof.get("type"))


def is_supported(proof: dict[str, Any]) -> bool:
    """True for the suites this module can verify (SIG-1, SIG-13)."""
    return suite_of(proof) in (EDDSA_RDFC_2022, ED25519_SIGNATURE_2020)


def transform(document: dict[str, Any], canonicalizer: Canonicalizer) -> str:
    """SIG-4: canonical N-Quads of the document without its proof."""
    unsecured = {key: value for key, value in document.items() if key != "proof"}
    return canonicalizer.canonicalize(unsecured)


def proof_configuration(
    proof_options: dict[str, Any], document: dict[str, Any], canonicalizer: Canonicalizer
) -> str:
    """SIG-5: canonical N-Quads of the proof options under the document's @context."""
    options = {key: value for key, value in proof_options.items() if key != "proofValue"}
    suite = suite_of(options)
    if suite not in (EDDSA_RDFC_2022, ED25519_SIGNATURE_2020):
        raise ProofError(f"The proof suite {suite!r} is not eddsa-rdfc-2022.")
    created = options.get("created")
    if created is not None and (not isinstance(created, str) or not _DATE_TIME_STAMP.match(created)):
        raise ProofError("The proof's created value is not a date-time with a time zone.")
    if "@context" in options:
        # The proof's own @context, when present, must be a prefix of the document's.
        proof_ctx = _as_list(options["@context"])
        if _as_list(document.get("@context"))[: len(proof_ctx)] != proof_ctx:
            raise ProofError("The proof's @context does not match the document's @context.")
    options["@context"] = document.get("@context")
    return canonicalizer.canonicalize(options)


def hash_data(canonical_proof_config: str, canonical_document: str) -> bytes:
    """SIG-6: SHA-256(proof configuration) followed by SHA-256(document), 64 bytes."""
    return (
        hashlib.sha256(canonical_proof_config.encode("utf-8")).digest()
        + hashlib.sha256(canonical_document.encode("utf-8")).digest()
    )


def sign_hash(data: bytes, private_key: Ed25519PrivateKey) -> bytes:
    """SIG-7: pure Ed25519 (RFC 8032) over the 64-byte hash data."""
    return private_key.sign(data)


def verify_hash(data: bytes, signature: bytes, public_key: bytes) -> bool:
    """SIG-8: check an Ed25519 signature over the hash data with a raw 32-byte public key."""
    try:
        Ed25519PublicKey.from_public_bytes(public_key).verify(signature, data)
    except InvalidSignature:
        return False
    except ValueError as exc:
        raise KeyMaterialError("The public key is not a 32-byte Ed25519 key.") from exc
    return True


def create_proof(
    document: dict[str, Any],
    *,
    private_key: Ed25519PrivateKey,
    verification_method: str,
    created: str | None,
    canonicalizer: Canonicalizer,
    proof_purpose: str = ASSERTION_METHOD,
) -> dict[str, Any]:
    """Return a new eddsa-rdfc-2022 DataIntegrityProof object for `document` (SIG-2, SIG-3)."""
    proof: dict[str, Any] = {
        "type": DATA_INTEGRITY_PROOF,
        "cryptosuite": EDDSA_RDFC_2022,
    }
    if created is not None:
        proof["created"] = created
    proof["verificationMethod"] = verification_method
    proof["proofPurpose"] = proof_purpose
    # SIG-9: a proof without type, verificationMethod or proofPurpose is never produced.
    for required in ("type", "verificationMethod", "proofPurpose"):
        if not proof.get(required):
            raise ProofError(f"A proof needs {required}.")
    canonical_doc = transform(document, canonicalizer)
    canonical_config = proof_configuration(proof, document, canonicalizer)
    signature = sign_hash(hash_data(canonical_config, canonical_doc), private_key)
    proof["proofValue"] = encode_base58btc(signature)
    return proof


def add_proof(
    document: dict[str, Any],
    *,
    private_key: Ed25519PrivateKey,
    verification_method: str,
    created: str | None,
    canonicalizer: Canonicalizer,
) -> dict[str, Any]:
    """Return a copy of `document` with an eddsa-rdfc-2022 proof appended to its `proof` array."""
    unsecured = copy.deepcopy(document)
    existing = _as_list(unsecured.pop("proof", None))
    proof = create_proof(
        unsecured,
        private_key=private_key,
        verification_method=verification_method,
        created=created,
        canonicalizer=canonicalizer,
    )
    unsecured["proof"] = [*existing, proof]
    return unsecured


def verify_proof(
    document: dict[str, Any],
    proof: dict[str, Any],
    public_key: bytes,
    canonicalizer: Canonicalizer,
    *,
    expected_purpose: str = ASSERTION_METHOD,
) -> ProofCheck:
    """SIG-8: verify one proof of `document` with a raw Ed25519 public key; never raises for bad data."""
    if not is_supported(proof):
        return ProofCheck(
            False, "unsupported_cryptosuite", f"The proof suite {suite_of(proof)!r} is not supported."
        )
    if proof.get("proofPurpose") != expected_purpose:
        return ProofCheck(False, "wrong_proof_purpose", f"The proof's purpose is not {expected_purpose}.")
    try:
        signature = decode_base58btc(proof.get("proofValue", ""))
    except KeyMaterialError:
        return ProofCheck(
            False, "malformed_proof_value", "The proofValue is not a base58btc multibase value."
        )
    if len(signature) != 64:
        return ProofCheck(
            False, "malformed_proof_value", "The proofValue is not a 64-byte Ed25519 signature."
        )
    try:
        canonical_doc = transform(document, canonicalizer)
        canonical_config = proof_configuration(proof, document, canonicalizer)
    except ProofError as exc:
        return ProofCheck(False, "malformed_proof", exc.message)
    if not verify_hash(hash_data(canonical_config, canonical_doc), signature, public_key):
        return ProofCheck(
            False,
            "invalid_signature",
            "The credential was changed after it was signed, or signed with another key.",
        )
    return ProofCheck(True, "valid_signature", "The signature is valid.")


def _as_list(value: Any) -> list[Any]:
    if value is None:
        return []
    return list(value) if isinstance(value, list) else [value]
