"""Verify the Data Integrity proofs of a document: key, controller, signature (VER-3, KEY-4, KEY-5)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from badgeserver import did
from badgeserver.did import VerificationMethod
from badgeserver.errors import BadgeServerError, CanonicalizationError, DidError, FetchError
from badgeserver.integrity import eddsa
from badgeserver.ld.canon import Canonicalizer
from badgeserver.verify.report import ERROR, FAILED, PASSED, SKIPPED, WARNING

KeyResolver = Callable[[str], VerificationMethod]
MAX_PROOFS = 4


@dataclass(frozen=True)
class Outcome:
    """A status, a stable code and a sentence."""

    status: str
    code: str
    message: str


@dataclass(frozen=True)
class ProofOutcome:
    """What the key, controller and signature checks found for a document's proofs."""

    key: Outcome
    controller: Outcome
    signature: Outcome


def as_list(value: Any) -> list[Any]:
    """A JSON value as a list: None is empty, a single value is one item."""
    if value is None:
        return []
    return list(value) if isinstance(value, list) else [value]


def issuer_id(document: dict[str, Any]) -> str | None:
    """The issuer's id, whether `issuer` is a string or a Profile object."""
    issuer = document.get("issuer")
    if isinstance(issuer, dict):
        value = issuer.get("id")
        return value if isinstance(value, str) else None
    return issuer if isinstance(issuer, str) else None


def _skip_all(message: str) -> ProofOutcome:
    skipped = Outcome(SKIPPED, "not_checked", message)
    return ProofOutcome(skipped, skipped, skipped)


def check_proofs(
    document: dict[str, Any], *, resolve_key: KeyResolver, canonicalizer: Canonicalizer
) -> ProofOutcome:
    """Check each supported proof; the first that verifies wins (SIG-11). Never raises for bad data."""
    proofs = [p for p in as_list(document.get("proof")) if isinstance(p, dict)]
    # SIG-11: any one valid proof suffices; only the first few are tried.
    supported = [p for p in proofs if eddsa.is_supported(p)][:MAX_PROOFS]
    if not supported:
        return _skip_all("No eddsa-rdfc-2022 or Ed25519Signature2020 proof to check.")
    outcomes = [_check_one(document, p, resolve_key, canonicalizer) for p in supported]
    for outcome in outcomes:
        if outcome.signature.status == PASSED:
            return outcome
    # Report a forged signature over "could not check" when proofs disagree.
    for outcome in outcomes:
        if outcome.signature.status == FAILED:
            return outcome
    return outcomes[0]


def _check_one(
    document: dict[str, Any],
    proof: dict[str, Any],
    resolve_key: KeyResolver,
    canonicalizer: Canonicalizer,
) -> ProofOutcome:
    vm_url = proof.get("verificationMethod")
    if not isinstance(vm_url, str):
        failed = Outcome(FAILED, "no_verification_method", "The proof names no verification method.")
        return ProofOutcome(failed, _not_checked(), _not_checked())
    try:
        method = resolve_key(vm_url)
    except FetchError as exc:
        error = Outcome(ERROR, "key_unavailable", f"The signing key could not be fetched: {exc.message}")
        return ProofOutcome(error, _not_checked(), _not_checked())
    except DidError as exc:
        if exc.code == did.FRAGMENT_KEY_UNPUBLISHED:
            # The key URL could not be fetched: "could not check", not "invalid".
            error = Outcome(ERROR, "key_unavailable", exc.message)
            return ProofOutcome(error, _not_checked(), _not_checked())
        failed = Outcome(FAILED, "key_invalid", exc.message)
        return ProofOutcome(failed, _not_checked(), _not_checked())
    key = Outcome(PASSED, "key_resolved", f"The signing key {vm_url} was found.")
    controller = _controller(document, method)
    try:
        check = eddsa.verify_proof(document, proof, method.public_key, canonicalizer)
    except CanonicalizationError as exc:
        signature = Outcome(FAILED, exc.code, f"The signature cannot be checked: {exc.message}")
        return ProofOutcome(key, controller, signature)
    except BadgeServerError as exc:
        signature = Outcome(FAILED, exc.code, exc.message)
        return ProofOutcome(key, controller, signature)
    status = PASSED if check.verified else FAILED
    return ProofOutcome(key, controller, Outcome(status, check.code, check.message))


def _not_checked() -> Outcome:
    return Outcome(SKIPPED, "not_checked", "Not checked: the signing key is unknown.")


def _controller(document: dict[str, Any], method: VerificationMethod) -> Outcome:
    """KEY-4, KEY-5: the key's controller is the issuer, and lists it for assertions."""
    issuer = issuer_id(document)
    if method.controller != issuer:
        return Outcome(
            FAILED,
            "controller_mismatch",
            f"The signing key belongs to {method.controller}, not to the issuer {issuer}.",
        )
    if "assertionMethod" not in method.purposes:
        return Outcome(
            FAILED,
            "not_assertion_method",
            "The issuer does not list the signing key for issuing credentials (assertionMethod).",
        )
    return Outcome(PASSED, "controller_matches", "The signing key belongs to the issuer.")


def warn(code: str, message: str) -> Outcome:
    """A warning outcome."""
    return Outcome(WARNING, code, message)
