"""Check credentialStatus entries against Bitstring Status Lists (STAT-1..STAT-6)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from badgeserver import bitstring
from badgeserver.errors import FetchError, InputError
from badgeserver.ld.canon import Canonicalizer
from badgeserver.verify.proofs import KeyResolver, Outcome, as_list, check_proofs
from badgeserver.verify.report import ERROR, FAILED, PASSED, WARNING

FetchJson = Callable[[str], dict[str, Any]]
ENTRY_TYPE = "BitstringStatusListEntry"
LIST_TYPE = "BitstringStatusListCredential"


def check_entry(
    entry: Any,
    *,
    fetch_json: FetchJson,
    resolve_key: KeyResolver,
    canonicalizer: Canonicalizer,
) -> Outcome:
    """Check one status entry; fetch failures are errors ("status unknown"), never "not revoked"."""
    if not isinstance(entry, dict):
        return Outcome(FAILED, "MALFORMED_VALUE_ERROR", "A credentialStatus entry is not an object.")
    if entry.get("type") != ENTRY_TYPE:
        return Outcome(
            WARNING,
            "unsupported_status_type",
            f"The status method {entry.get('type')!r} is not checked by badgeserver.",
        )
    purpose = entry.get("statusPurpose")
    list_url = entry.get("statusListCredential")
    raw_index = entry.get("statusListIndex")
    if not isinstance(list_url, str) or not isinstance(purpose, str):
        return Outcome(FAILED, "MALFORMED_VALUE_ERROR", "The status entry lacks its list URL or purpose.")
    # STAT-1: the index is a non-negative integer written as a base-10 string.
    if not isinstance(raw_index, str) or not raw_index.isdigit():
        return Outcome(FAILED, "MALFORMED_VALUE_ERROR", "The statusListIndex is not a base-10 string.")
    index = int(raw_index)
    size = entry.get("statusSize", 1)
    if isinstance(size, bool) or not isinstance(size, int) or size < 1:
        return Outcome(FAILED, "MALFORMED_VALUE_ERROR", "The statusSize is not a positive whole number.")
    if size != 1:  # STAT-3: implementations may support 1-bit entries only
        return Outcome(
            ERROR,
            "unsupported_status_size",
            f"Status unknown: badgeserver checks 1-bit status entries, not statusSize {size}.",
        )
    try:
        status_list = fetch_json(list_url)
    except FetchError as exc:
        return Outcome(
            ERROR,
            "STATUS_RETRIEVAL_ERROR",
            f"Status unknown: the status list could not be fetched ({exc.message}).",
        )
    return _check_list(status_list, purpose, index, resolve_key, canonicalizer)


def _check_list(
    status_list: dict[str, Any],
    purpose: str,
    index: int,
    resolve_key: KeyResolver,
    canonicalizer: Canonicalizer,
) -> Outcome:
    if LIST_TYPE not in as_list(status_list.get("type")):
        return Outcome(
            ERROR,
            "STATUS_VERIFICATION_ERROR",
            "Status unknown: the status list is not a BitstringStatusListCredential.",
        )
    proof = check_proofs(status_list, resolve_key=resolve_key, canonicalizer=canonicalizer)
    if proof.signature.status != PASSED or proof.controller.status != PASSED:
        reason = proof.signature.message if proof.signature.status != PASSED else proof.controller.message
        return Outcome(
            ERROR,
            "STATUS_VERIFICATION_ERROR",
            f"Status unknown: the status list's proof does not verify ({reason})",
        )
    subject = status_list.get("credentialSubject")
    if not isinstance(subject, dict):
        return Outcome(ERROR, "STATUS_VERIFICATION_ERROR", "Status unknown: the status list has no subject.")
    if purpose not in as_list(subject.get("statusPurpose")):
        return Outcome(
            ERROR, "STATUS_VERIFICATION_ERROR", f"Status unknown: the status list is not a {purpose} list."
        )
    try:
        bits = bitstring.decode(subject.get("encodedList", ""))
    except InputError as exc:
        return Outcome(ERROR, "STATUS_VERIFICATION_ERROR", f"Status unknown: {exc.message}")
    size = len(bits) * 8
    if size < bitstring.MIN_ENTRIES:
        return Outcome(
            FAILED,
            "STATUS_LIST_LENGTH_ERROR",
            f"The status list has {size} entries, fewer than the {bitstring.MIN_ENTRIES} required.",
        )
    if index >= size:
        return Outcome(
            FAILED, "RANGE_ERROR", f"The status index {index} is outside the list of {size} entries."
        )
    if bitstring.get_bit(bits, index):
        if purpose == "revocation":
            return Outcome(FAILED, "revoked", "The issuer has revoked this credential.")
        if purpose == "suspension":
            return Outcome(FAILED, "suspended", "The issuer has suspended this credential.")
        return Outcome(FAILED, f"status_{purpose}", f"The issuer has set this credential's {purpose} status.")
    if purpose == "revocation":
        return Outcome(PASSED, "not_revoked", "The issuer has not revoked this credential.")
    if purpose == "suspension":
        return Outcome(PASSED, "not_suspended", "The issuer has not suspended this credential.")
    return Outcome(PASSED, f"status_{purpose}_clear", f"The credential's {purpose} status is not set.")
