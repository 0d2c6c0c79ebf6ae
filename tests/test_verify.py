"""The verification pipeline with injected clock, fetch and key resolution (VER-0..VER-8, STAT-6)."""

from __future__ import annotations

import copy
import json
import random
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from badgeserver import bitstring, did
from badgeserver.did import VerificationMethod
from badgeserver.errors import FetchError, InputError
from badgeserver.integrity import multikey
from badgeserver.issuer.build import (
    AchievementSpec,
    Award,
    IssuerProfile,
    Recipient,
    StatusEntry,
    build_credential,
    status_entry_json,
)
from badgeserver.issuer.sign import sign_credential
from badgeserver.issuer.status_list import build_status_list
from badgeserver.ld.canon import Canonicalizer
from badgeserver.schema import ACHIEVEMENT_CREDENTIAL_SCHEMA
from badgeserver.verify.pipeline import Verifier
from badgeserver.verify.report import CHECK_ORDER, Report

ISSUER_KEY = Ed25519PrivateKey.from_private_bytes(bytes(range(32)))
OTHER_KEY = Ed25519PrivateKey.from_private_bytes(bytes(range(32, 64)))
ISSUER_DID = "did:key:z6MkehRgf7yJbgaGfYsdoAsKdBPE3dj2CYhowQdcjqSJgvVd"
ISSUER_VM = f"{ISSUER_DID}#z6MkehRgf7yJbgaGfYsdoAsKdBPE3dj2CYhowQdcjqSJgvVd"
CREDENTIAL_ID = "urn:uuid:0b5e1c2d-8a3f-4e6b-9c7d-1f2e3a4b5c6d"
VALID_FROM = datetime(2026, 3, 1, 9, 30, tzinfo=UTC)
SIGNED_AT = datetime(2026, 3, 1, 9, 30, 5, tzinfo=UTC)
NOW = datetime(2026, 4, 1, 12, 0, tzinfo=UTC)
REVOCATION_LIST = "https://badges.example.org/status/revocation/1"
SUSPENSION_LIST = "https://badges.example.org/status/suspension/1"
INDEX = 94567
EMAIL = "Ada.Lovelace@example.org"

ISSUER = IssuerProfile(id=ISSUER_DID, name="Utah State Board of Education")
SPEC = AchievementSpec(
    id="https://badges.example.org/achievements/classroom-assessment/1",
    name="Classroom Assessment Literacy",
    description="Designs and interprets classroom assessments.",
    criteria_narrative="Submit an assessment plan and an analysis of student results.",
    version="1",
)
RECIPIENT = Recipient(email=EMAIL, salt="pepper-42", name="Ada Lovelace")

FORGED = "The credential was changed after it was signed, or signed with another key."
SKIPPED_INPUT = ("skipped", "not_checked")

FRESH_CHECKS = [
    ("input.parse", "passed", "parsed"),
    ("context.valid", "passed", "contexts_valid"),
    ("type.valid", "passed", "type_valid"),
    ("schema.valid", "passed", "schema_valid"),
    ("subject.identified", "passed", "subject_identified"),
    ("proof.present", "passed", "proof_present"),
    ("proof.key", "passed", "key_resolved"),
    ("proof.controller", "passed", "controller_matches"),
    ("proof.signature", "passed", "valid_signature"),
    ("time.not_before", "passed", "valid_from"),
    ("time.expiry", "passed", "no_expiry"),
    ("status", "passed", "no_status"),
    ("issuer.known", "skipped", "not_requested"),
    ("recipient.match", "skipped", "not_requested"),
    ("endorsements", "skipped", "no_endorsements"),
]


class FakeWeb:
    """A fetch_json answering from a dict; anything else is a FetchError. Records every URL."""

    def __init__(self, documents: dict[str, Any] | None = None) -> None:
        self.documents = documents or {}
        self.asked: list[str] = []

    def __call__(self, url: str) -> dict[str, Any]:
        self.asked.append(url)
        if url not in self.documents:
            raise FetchError(f"Could not fetch {url}: the server answered HTTP 404.")
        return copy.deepcopy(self.documents[url])


def _did_key_resolver(url: str) -> VerificationMethod:
    return did.resolve_verification_method(url, fetch_json=FakeWeb())


def _verifier(
    canonicalizer: Canonicalizer,
    *,
    web: FakeWeb | None = None,
    resolve_key: Callable[[str], VerificationMethod] = _did_key_resolver,
    now: datetime = NOW,
) -> Verifier:
    return Verifier(
        canonicalizer=canonicalizer,
        fetch_json=web or FakeWeb(),
        resolve_key=resolve_key,
        clock=lambda: now,
    )


def _sign(
    document: dict[str, Any],
    canonicalizer: Canonicalizer,
    *,
    key: Ed25519PrivateKey = ISSUER_KEY,
    schema_url: str | None = ACHIEVEMENT_CREDENTIAL_SCHEMA,
) -> dict[str, Any]:
    return sign_credential(
        document,
        private_key=key,
        verification_method=ISSUER_VM,
        now=SIGNED_AT,
        canonicalizer=canonicalizer,
        schema_url=schema_url,
    )


def _issue(
    canonicalizer: Canonicalizer,
    *,
    status: StatusEntry | None = None,
    valid_until: datetime | None = None,
) -> dict[str, Any]:
    award = Award(
        credential_id=CREDENTIAL_ID,
        valid_from=VALID_FROM,
        valid_until=valid_until,
        status=status,
    )
    return _sign(build_credential(ISSUER, SPEC, RECIPIENT, award), canonicalizer)


def _status_list(
    canonicalizer: Canonicalizer,
    *,
    url: str = REVOCATION_LIST,
    purpose: str = "revocation",
    set_index: int | None = None,
    key: Ed25519PrivateKey = ISSUER_KEY,
    entries: int = bitstring.MIN_ENTRIES,
) -> dict[str, Any]:
    bits = bitstring.empty(entries)
    if set_index is not None:
        bitstring.set_bit(bits, set_index, 1)
    full = len(bits) * 8 >= bitstring.MIN_ENTRIES
    unsigned = build_status_list(
        list_url=url,
        issuer_id=ISSUER_DID,
        purpose=purpose,
        bits=bytes(bits) if full else bytes(bitstring.empty()),
        valid_from=VALID_FROM,
    )
    if not full:
        # build_status_list refuses short lists; write one by hand to see the verifier refuse it.
        unsigned["credentialSubject"]["encodedList"] = bitstring.encode(bytes(bits))
    return _sign(unsigned, canonicalizer, key=key, schema_url=None)


def _checks(report: Report) -> list[tuple[str, str, str]]:
    return [(c.id, c.status, c.code) for c in report.checks]


def _check(report: Report, check_id: str) -> tuple[str, str, str]:
    found = [(c.status, c.code, c.message) for c in report.checks if c.id == check_id]
    assert len(found) == 1
    return found[0]


# --- a freshly signed credential -----------------------------------------------------------------


def test_ver_fresh_credential_is_verified_with_every_check_in_order(
    canonicalizer: Canonicalizer,
) -> None:
    report = _verifier(canonicalizer).verify_credential(_issue(canonicalizer))
    assert [c.id for c in report.checks] == list(CHECK_ORDER)
    assert _checks(report) == FRESH_CHECKS
    assert report.verified is True
    assert report.headline() == "This credential is authentic and valid."
    as_json = report.to_json()
    assert as_json["verified"] is True
    assert as_json["checked_at"] == "2026-04-01T12:00:00Z"
    assert as_json["summary"] == {"passed": 12, "failed": 0, "warning": 0, "error": 0, "skipped": 3}
    assert as_json["credential"] == {
        "id": CREDENTIAL_ID,
        "name": "Classroom Assessment Literacy",
        "issuer": {"id": ISSUER_DID, "name": "Utah State Board of Education"},
        "achievement": "Classroom Assessment Literacy",
        "validFrom": "2026-03-01T09:30:00Z",
        "validUntil": None,
    }


def test_ver0_fresh_credential_as_bytes_is_verified(canonicalizer: Canonicalizer) -> None:
    data = json.dumps(_issue(canonicalizer)).encode("utf-8")
    report = _verifier(canonicalizer).verify_bytes(data)
    assert _checks(report) == FRESH_CHECKS
    assert report.verified is True


# --- tampering -----------------------------------------------------------------------------------


def test_ver3_tampered_name_is_reported_as_forged(canonicalizer: Canonicalizer) -> None:
    signed = _issue(canonicalizer)
    signed["credentialSubject"]["identifier"][1]["identityHash"] = "Ada King"
    report = _verifier(canonicalizer).verify_credential(signed)
    assert _check(report, "proof.signature") == ("failed", "invalid_signature", FORGED)
    assert report.verified is False
    assert report.headline() == FORGED


def test_ver3_forgery_outranks_a_broken_schema(canonicalizer: Canonicalizer) -> None:
    signed = _issue(canonicalizer)
    signed["name"] = "Classroom Assessment Mastery"
    del signed["validFrom"]
    report = _verifier(canonicalizer).verify_credential(signed)
    assert _check(report, "schema.valid")[:2] == ("failed", "schema_invalid")
    assert _check(report, "time.not_before") == (
        "failed",
        "MALFORMED_VALUE_ERROR",
        "validFrom is missing or not a date-time with a time zone.",
    )
    assert _check(report, "proof.signature") == ("failed", "invalid_signature", FORGED)
    assert report.problems()[0].id == "proof.signature"
    assert report.headline() == FORGED


def test_ver3_signature_failure_skips_status(canonicalizer: Canonicalizer) -> None:
    signed = _issue(canonicalizer, status=StatusEntry(REVOCATION_LIST, INDEX))
    signed["name"] = "Something Else"
    web = FakeWeb({REVOCATION_LIST: _status_list(canonicalizer)})
    report = _verifier(canonicalizer, web=web).verify_credential(signed)
    assert _check(report, "status") == (
        "skipped",
        "not_checked",
        "Not checked: the signature was not verified.",
    )
    assert web.asked == []


# --- time (VER-7) --------------------------------------------------------------------------------


def test_ver7_expired_credential(canonicalizer: Canonicalizer) -> None:
    signed = _issue(canonicalizer, valid_until=datetime(2026, 3, 31, tzinfo=UTC))
    report = _verifier(canonicalizer).verify_credential(signed)
    assert _check(report, "time.expiry") == (
        "failed",
        "expired",
        "The credential expired on 2026-03-31T00:00:00Z.",
    )
    assert _check(report, "proof.signature")[:2] == ("passed", "valid_signature")
    assert report.verified is False
    assert report.headline() == "The credential expired on 2026-03-31T00:00:00Z."


def test_ver7_not_expired_before_valid_until(canonicalizer: Canonicalizer) -> None:
    signed = _issue(canonicalizer, valid_until=datetime(2026, 3, 31, tzinfo=UTC))
    report = _verifier(canonicalizer, now=datetime(2026, 3, 30, tzinfo=UTC)).verify_credential(signed)
    assert _check(report, "time.expiry") == (
        "passed",
        "not_expired",
        "The credential is valid until 2026-03-31T00:00:00Z.",
    )
    assert report.verified is True


def test_ver7_not_yet_valid(canonicalizer: Canonicalizer) -> None:
    signed = _issue(canonicalizer)
    before = VALID_FROM - timedelta(seconds=1)
    report = _verifier(canonicalizer, now=before).verify_credential(signed)
    assert _check(report, "time.not_before") == (
        "failed",
        "not_yet_valid",
        "The credential is not valid until 2026-03-01T09:30:00Z.",
    )
    assert _check(report, "proof.signature")[:2] == ("passed", "valid_signature")
    assert report.verified is False


# --- proofs --------------------------------------------------------------------------------------


def test_dm25_missing_proof(canonicalizer: Canonicalizer) -> None:
    award = Award(credential_id=CREDENTIAL_ID, valid_from=VALID_FROM)
    unsigned = build_credential(ISSUER, SPEC, RECIPIENT, award)
    report = _verifier(canonicalizer).verify_credential(unsigned)
    assert _check(report, "proof.present") == (
        "failed",
        "no_proof",
        "The credential carries no proof, so nothing vouches for it.",
    )
    for check_id in ("proof.key", "proof.controller", "proof.signature"):
        assert _check(report, check_id)[:2] == ("skipped", "not_checked")
    assert report.verified is False
    assert report.headline() == "The credential carries no proof, so nothing vouches for it."


def test_dm27_single_proof_object_verifies(canonicalizer: Canonicalizer) -> None:
    signed = _issue(canonicalizer)
    signed["proof"] = signed["proof"][0]
    report = _verifier(canonicalizer).verify_credential(signed)
    assert _checks(report) == FRESH_CHECKS
    assert report.verified is True


def _method(controller: str, purposes: frozenset[str]) -> Callable[[str], VerificationMethod]:
    public = ISSUER_KEY.public_key().public_bytes_raw()

    def resolve(url: str) -> VerificationMethod:
        return VerificationMethod(url, controller, public, "Multikey", purposes)

    return resolve


def test_key5_controller_other_than_issuer_fails(canonicalizer: Canonicalizer) -> None:
    other = "did:web:elsewhere.example"
    resolve = _method(other, frozenset({"assertionMethod"}))
    report = _verifier(canonicalizer, resolve_key=resolve).verify_credential(_issue(canonicalizer))
    assert _check(report, "proof.controller") == (
        "failed",
        "controller_mismatch",
        f"The signing key belongs to {other}, not to the issuer {ISSUER_DID}.",
    )
    assert _check(report, "proof.signature")[:2] == ("passed", "valid_signature")
    assert report.verified is False


def test_key4_key_not_listed_for_assertion_fails(canonicalizer: Canonicalizer) -> None:
    resolve = _method(ISSUER_DID, frozenset({"authentication"}))
    report = _verifier(canonicalizer, resolve_key=resolve).verify_credential(_issue(canonicalizer))
    assert _check(report, "proof.controller") == (
        "failed",
        "not_assertion_method",
        "The issuer does not list the signing key for issuing credentials (assertionMethod).",
    )
    assert report.verified is False


def test_key4_key_fetch_failure_is_an_error(canonicalizer: Canonicalizer) -> None:
    def unreachable(url: str) -> VerificationMethod:
        raise FetchError(f"Could not fetch {url}: connection refused.")

    report = _verifier(canonicalizer, resolve_key=unreachable).verify_credential(_issue(canonicalizer))
    message = f"The signing key could not be fetched: Could not fetch {ISSUER_VM}: connection refused."
    assert _check(report, "proof.key") == ("error", "key_unavailable", message)
    assert _check(report, "proof.controller")[:2] == ("skipped", "not_checked")
    assert _check(report, "proof.signature")[:2] == ("skipped", "not_checked")
    assert report.verified is False
    assert report.headline() == message


# --- status (STAT-6) -----------------------------------------------------------------------------


def test_stat4_bit_94567_is_byte_11820_mask_01(vectors: Path) -> None:
    expected = json.loads((vectors / "bitstring-status-list" / "expected.json").read_text())
    bits = bitstring.empty()
    bitstring.set_bit(bits, expected["derivedCheck"]["index"], 1)
    assert expected["derivedCheck"] == {"index": 94567, "byte": 11820, "mask": "0x01"}
    assert bits[11820] == 0x01
    assert sum(1 for byte in bits if byte) == 1
    assert bitstring.get_bit(bits, 94567) == 1
    assert bitstring.get_bit(bits, 94566) == 0


def test_stat6_bit_clear_is_not_revoked(canonicalizer: Canonicalizer) -> None:
    signed = _issue(canonicalizer, status=StatusEntry(REVOCATION_LIST, INDEX))
    web = FakeWeb({REVOCATION_LIST: _status_list(canonicalizer)})
    report = _verifier(canonicalizer, web=web).verify_credential(signed)
    assert _check(report, "status") == (
        "passed",
        "not_revoked",
        "The issuer has not revoked this credential.",
    )
    assert web.asked == [REVOCATION_LIST]
    assert report.verified is True


def test_stat6_bit_set_is_revoked(canonicalizer: Canonicalizer) -> None:
    signed = _issue(canonicalizer, status=StatusEntry(REVOCATION_LIST, INDEX))
    status_list = _status_list(canonicalizer, set_index=INDEX)
    assert bitstring.decode(status_list["credentialSubject"]["encodedList"])[11820] == 0x01
    web = FakeWeb({REVOCATION_LIST: status_list})
    report = _verifier(canonicalizer, web=web).verify_credential(signed)
    assert _check(report, "status") == (
        "failed",
        "revoked",
        "The issuer has revoked this credential.",
    )
    assert _check(report, "proof.signature")[:2] == ("passed", "valid_signature")
    assert report.verified is False


def test_stat6_neighbouring_bit_set_is_not_revoked(canonicalizer: Canonicalizer) -> None:
    signed = _issue(canonicalizer, status=StatusEntry(REVOCATION_LIST, INDEX))
    web = FakeWeb({REVOCATION_LIST: _status_list(canonicalizer, set_index=INDEX + 1)})
    report = _verifier(canonicalizer, web=web).verify_credential(signed)
    assert _check(report, "status")[:2] == ("passed", "not_revoked")


def test_stat1_suspension_list(canonicalizer: Canonicalizer) -> None:
    entry = StatusEntry(SUSPENSION_LIST, INDEX, purpose="suspension")
    signed = _issue(canonicalizer, status=entry)
    suspended = _status_list(canonicalizer, url=SUSPENSION_LIST, purpose="suspension", set_index=INDEX)
    report = _verifier(canonicalizer, web=FakeWeb({SUSPENSION_LIST: suspended})).verify_credential(signed)
    assert _check(report, "status") == (
        "failed",
        "suspended",
        "The issuer has suspended this credential.",
    )
    assert report.verified is False
    cleared = _status_list(canonicalizer, url=SUSPENSION_LIST, purpose="suspension")
    report = _verifier(canonicalizer, web=FakeWeb({SUSPENSION_LIST: cleared})).verify_credential(signed)
    assert _check(report, "status")[:2] == ("passed", "not_suspended")


def test_stat6_purpose_not_in_list_is_verification_error(canonicalizer: Canonicalizer) -> None:
    signed = _issue(canonicalizer, status=StatusEntry(REVOCATION_LIST, INDEX))
    web = FakeWeb({REVOCATION_LIST: _status_list(canonicalizer, purpose="suspension")})
    report = _verifier(canonicalizer, web=web).verify_credential(signed)
    assert _check(report, "status") == (
        "error",
        "STATUS_VERIFICATION_ERROR",
        "Status unknown: the status list is not a revocation list.",
    )


def test_stat6_list_fetch_failure_is_retrieval_error(canonicalizer: Canonicalizer) -> None:
    signed = _issue(canonicalizer, status=StatusEntry(REVOCATION_LIST, INDEX))
    report = _verifier(canonicalizer, web=FakeWeb()).verify_credential(signed)
    assert _check(report, "status") == (
        "error",
        "STATUS_RETRIEVAL_ERROR",
        "Status unknown: the status list could not be fetched "
        f"(Could not fetch {REVOCATION_LIST}: the server answered HTTP 404.).",
    )
    assert report.verified is False


def test_stat6_list_signed_by_wrong_key_is_verification_error(
    canonicalizer: Canonicalizer,
) -> None:
    signed = _issue(canonicalizer, status=StatusEntry(REVOCATION_LIST, INDEX))
    web = FakeWeb({REVOCATION_LIST: _status_list(canonicalizer, key=OTHER_KEY)})
    report = _verifier(canonicalizer, web=web).verify_credential(signed)
    assert _check(report, "status") == (
        "error",
        "STATUS_VERIFICATION_ERROR",
        f"Status unknown: the status list's proof does not verify ({FORGED})",
    )
    assert report.verified is False


def test_stat6_list_changed_after_signing_is_verification_error(
    canonicalizer: Canonicalizer,
) -> None:
    signed = _issue(canonicalizer, status=StatusEntry(REVOCATION_LIST, INDEX))
    status_list = _status_list(canonicalizer, set_index=INDEX)
    clear = bitstring.encode(bytes(bitstring.empty()))
    status_list["credentialSubject"]["encodedList"] = clear
    report = _verifier(canonicalizer, web=FakeWeb({REVOCATION_LIST: status_list})).verify_credential(signed)
    assert _check(report, "status")[:2] == ("error", "STATUS_VERIFICATION_ERROR")
    assert report.verified is False


def test_stat4_build_status_list_refuses_a_short_list() -> None:
    with pytest.raises(InputError) as raised:
        build_status_list(
            list_url=REVOCATION_LIST,
            issuer_id=ISSUER_DID,
            purpose="revocation",
            bits=bytes(16383),
            valid_from=VALID_FROM,
        )
    assert str(raised.value) == "A status list holds at least 131,072 entries."


def test_stat4_built_status_list_exact(canonicalizer: Canonicalizer) -> None:
    status_list = _status_list(canonicalizer, set_index=INDEX)
    assert {k: v for k, v in status_list.items() if k != "proof"} == {
        "@context": ["https://www.w3.org/ns/credentials/v2"],
        "id": REVOCATION_LIST,
        "type": ["VerifiableCredential", "BitstringStatusListCredential"],
        "issuer": ISSUER_DID,
        "validFrom": "2026-03-01T09:30:00Z",
        "credentialSubject": {
            "id": f"{REVOCATION_LIST}#list",
            "type": "BitstringStatusList",
            "statusPurpose": "revocation",
            "encodedList": status_list["credentialSubject"]["encodedList"],
        },
    }
    bits = bitstring.decode(status_list["credentialSubject"]["encodedList"])
    assert len(bits) == 16384
    assert [i for i, byte in enumerate(bits) if byte] == [11820]
    assert bits[11820] == 0x01


def test_stat6_short_list_is_length_error(canonicalizer: Canonicalizer) -> None:
    signed = _issue(canonicalizer, status=StatusEntry(REVOCATION_LIST, 100))
    web = FakeWeb({REVOCATION_LIST: _status_list(canonicalizer, entries=8192)})
    report = _verifier(canonicalizer, web=web).verify_credential(signed)
    assert _check(report, "status") == (
        "failed",
        "STATUS_LIST_LENGTH_ERROR",
        "The status list has 8192 entries, fewer than the 131072 required.",
    )
    assert report.verified is False


def test_stat6_index_out_of_range_is_range_error(canonicalizer: Canonicalizer) -> None:
    signed = _issue(canonicalizer, status=StatusEntry(REVOCATION_LIST, 131072))
    web = FakeWeb({REVOCATION_LIST: _status_list(canonicalizer)})
    report = _verifier(canonicalizer, web=web).verify_credential(signed)
    assert _check(report, "status") == (
        "failed",
        "RANGE_ERROR",
        "The status index 131072 is outside the list of 131072 entries.",
    )
    assert report.verified is False


def test_stat6_every_entry_of_a_status_array_is_checked(canonicalizer: Canonicalizer) -> None:
    award = Award(credential_id=CREDENTIAL_ID, valid_from=VALID_FROM)
    unsigned = build_credential(ISSUER, SPEC, RECIPIENT, award)
    unsigned["credentialStatus"] = [
        status_entry_json(StatusEntry(REVOCATION_LIST, INDEX)),
        status_entry_json(StatusEntry(SUSPENSION_LIST, 7, purpose="suspension")),
    ]
    signed = _sign(unsigned, canonicalizer, schema_url=None)
    web = FakeWeb(
        {
            REVOCATION_LIST: _status_list(canonicalizer),
            SUSPENSION_LIST: _status_list(
                canonicalizer, url=SUSPENSION_LIST, purpose="suspension", set_index=7
            ),
        }
    )
    report = _verifier(canonicalizer, web=web).verify_credential(signed)
    statuses = [(c.status, c.code) for c in report.checks if c.id == "status"]
    assert statuses == [("passed", "not_revoked"), ("failed", "suspended")]
    assert web.asked == [REVOCATION_LIST, SUSPENSION_LIST]
    assert [c.id for c in report.checks] == [
        *CHECK_ORDER[: CHECK_ORDER.index("status") + 1],
        "status",
        *CHECK_ORDER[CHECK_ORDER.index("status") + 1 :],
    ]
    assert report.verified is False


def test_stat4_empty_list_vector_decodes_to_zero_bytes(vectors: Path) -> None:
    folder = vectors / "bitstring-status-list"
    encoded = (folder / "encodedList-empty-131072.txt").read_text().strip()
    expected = json.loads((folder / "expected.json").read_text())
    assert encoded == expected["encodedList"]
    bits = bitstring.decode(encoded)
    assert bits == bytes(16384)
    assert len(bits) == expected["decompressedLengthBytes"]
    assert len(bits) * 8 == expected["decompressedLengthBits"]


def test_stat5_encode_of_empty_list_equals_the_vector(vectors: Path) -> None:
    folder = vectors / "bitstring-status-list"
    encoded = (folder / "encodedList-empty-131072.txt").read_text().strip()
    assert bitstring.encode(bytes(16384)) == encoded
    assert encoded == "uH4sIAAAAAAAAA-3BMQEAAADCoPVPbQwfoAAAAAAAAAAAAAAAAAAAAIC3AYbSVKsAQAAA"
    unsigned = json.loads((folder / "status-list-credential-unsigned.json").read_text())
    assert unsigned["credentialSubject"]["encodedList"] == encoded


# --- recipient (VER-8) ---------------------------------------------------------------------------


@pytest.mark.parametrize("email", ["Ada.Lovelace@example.org", "  ADA.LOVELACE@Example.ORG\t"])
def test_ver8_matching_email_passes(canonicalizer: Canonicalizer, email: str) -> None:
    report = _verifier(canonicalizer).verify_credential(_issue(canonicalizer), recipient=email)
    assert _check(report, "recipient.match") == (
        "passed",
        "recipient_matches",
        f"The credential was issued to {email}.",
    )
    assert report.verified is True


def test_ver8_other_email_fails(canonicalizer: Canonicalizer) -> None:
    report = _verifier(canonicalizer).verify_credential(
        _issue(canonicalizer), recipient="charles.babbage@example.org"
    )
    assert _check(report, "recipient.match") == (
        "failed",
        "recipient_mismatch",
        "The credential was not issued to charles.babbage@example.org.",
    )
    assert report.verified is False


# --- unreadable input (VER-0) --------------------------------------------------------------------


def _nested(levels: int) -> bytes:
    return ('{"a":' * levels + "1" + "}" * levels).encode()


def _large() -> bytes:
    return json.dumps({"@context": [], "padding": "x" * (2 * 1024 * 1024)}).encode()


@pytest.mark.parametrize(
    ("data", "code", "message"),
    [
        (b"", "invalid_input", "The input is empty."),
        (
            random.Random(20260301).randbytes(512),
            "invalid_input",
            "The input is not a PNG or SVG image, nor UTF-8 JSON or a JWT.",
        ),
        (b'[{"id": "urn:uuid:1"}]', "invalid_input", "The input is JSON but not a credential object."),
        (_nested(100), "input_too_large", "The JSON is nested deeper than 64 levels."),
        (_large(), "input_too_large", "The credential is larger than 1024 KiB."),
    ],
    ids=["empty", "random-bytes", "json-array", "nested-100", "2-MiB"],
)
def test_ver0_unreadable_input_is_reported_not_raised(
    canonicalizer: Canonicalizer, data: bytes, code: str, message: str
) -> None:
    report = _verifier(canonicalizer).verify_bytes(data)
    assert report.checks[0].id == "input.parse"
    assert (report.checks[0].status, report.checks[0].code) == ("failed", code)
    assert report.checks[0].message == message
    assert [c.id for c in report.checks] == list(CHECK_ORDER)
    assert [(c.status, c.code) for c in report.checks[1:]] == [SKIPPED_INPUT] * 14
    assert report.verified is False
    assert report.headline() == message
    assert report.to_json()["summary"] == {
        "passed": 0,
        "failed": 1,
        "warning": 0,
        "error": 0,
        "skipped": 14,
    }


# --- contexts ------------------------------------------------------------------------------------


def test_ctx9_unknown_context_fails_context_check(canonicalizer: Canonicalizer) -> None:
    signed = _issue(canonicalizer)
    signed["@context"].append("https://evil.example/ctx")
    report = _verifier(canonicalizer).verify_credential(signed)
    assert _check(report, "context.valid") == (
        "failed",
        "unknown_context",
        "The context https://evil.example/ctx is not pinned by badgeserver, so the credential "
        "cannot be checked safely.",
    )
    assert _check(report, "proof.signature") == (
        "failed",
        "canonicalization_failed",
        "The signature cannot be checked: JSON-LD processing failed: The JSON-LD context "
        "https://evil.example/ctx is not pinned by badgeserver and was not loaded.",
    )
    assert report.verified is False


def test_ctx1_swapped_context_order_fails(canonicalizer: Canonicalizer) -> None:
    signed = _issue(canonicalizer)
    signed["@context"][0], signed["@context"][1] = signed["@context"][1], signed["@context"][0]
    report = _verifier(canonicalizer).verify_credential(signed)
    assert _check(report, "context.valid") == (
        "failed",
        "PARSING_ERROR",
        "The first @context must be https://www.w3.org/ns/credentials/v2.",
    )
    assert report.verified is False


# --- official vectors through the verifier -------------------------------------------------------


def _resolver(methods: dict[str, VerificationMethod]) -> Callable[[str], VerificationMethod]:
    def resolve(url: str) -> VerificationMethod:
        if url not in methods:
            raise FetchError(f"Could not fetch {url}: the server answered HTTP 404.")
        return methods[url]

    return resolve


def _https_method(vm: str, controller: str, public: bytes) -> dict[str, VerificationMethod]:
    return {vm: VerificationMethod(vm, controller, public, "Multikey", frozenset({"assertionMethod"}))}


def test_ver3_impl_guide_vector_is_verified(vectors: Path, canonicalizer: Canonicalizer) -> None:
    signed = json.loads((vectors / "ob-v3p0-impl-eddsa-rdfc-2022" / "signed.json").read_text())
    assert isinstance(signed["proof"], dict)
    keypair = json.loads((vectors / "ob-v3p0-impl-eddsa-rdfc-2022" / "keypair.json").read_text())
    resolve = _resolver(
        _https_method(
            keypair["verificationMethod"],
            keypair["controller"],
            bytes.fromhex(keypair["publicKeyHex"]),
        )
    )
    report = _verifier(canonicalizer, resolve_key=resolve).verify_credential(signed)
    assert _checks(report) == FRESH_CHECKS
    assert report.verified is True


def test_ver3_ob_example_2_is_verified(vectors: Path, canonicalizer: Canonicalizer) -> None:
    signed = json.loads((vectors / "ob-v3p0-spec-example-2" / "signed.json").read_text())
    vm = signed["proof"][0]["verificationMethod"]
    public = multikey.decode_public_key(vm.split("#", 1)[1])
    resolve = _resolver(_https_method(vm, signed["issuer"]["id"], public))
    report = _verifier(canonicalizer, resolve_key=resolve).verify_credential(signed)
    assert _checks(report) == FRESH_CHECKS
    assert report.verified is True


def test_ver3_ob_example_2_tampered_is_forged(vectors: Path, canonicalizer: Canonicalizer) -> None:
    signed = json.loads((vectors / "ob-v3p0-spec-example-2" / "signed.json").read_text())
    vm = signed["proof"][0]["verificationMethod"]
    public = multikey.decode_public_key(vm.split("#", 1)[1])
    resolve = _resolver(_https_method(vm, signed["issuer"]["id"], public))
    signed["issuer"]["name"] = "Example Universitz"
    report = _verifier(canonicalizer, resolve_key=resolve).verify_credential(signed)
    assert _check(report, "proof.signature") == ("failed", "invalid_signature", FORGED)
    assert report.headline() == FORGED


@pytest.mark.parametrize(
    ("size", "expected"),
    [
        (
            2,
            (
                "error",
                "unsupported_status_size",
                "Status unknown: badgeserver checks 1-bit status entries, not statusSize 2.",
            ),
        ),
        (0, ("failed", "MALFORMED_VALUE_ERROR", "The statusSize is not a positive whole number.")),
        ("1", ("failed", "MALFORMED_VALUE_ERROR", "The statusSize is not a positive whole number.")),
    ],
)
def test_stat3_only_one_bit_entries_are_checked(
    canonicalizer: Canonicalizer, size: Any, expected: Any
) -> None:
    award = Award(credential_id=CREDENTIAL_ID, valid_from=VALID_FROM)
    unsigned = build_credential(ISSUER, SPEC, RECIPIENT, award)
    unsigned["credentialStatus"] = {
        **status_entry_json(StatusEntry(REVOCATION_LIST, INDEX)),
        "statusSize": size,
    }
    signed = _sign(unsigned, canonicalizer, schema_url=None)
    web = FakeWeb({REVOCATION_LIST: _status_list(canonicalizer)})
    report = _verifier(canonicalizer, web=web).verify_credential(signed)
    assert _check(report, "status") == expected
    assert web.asked == []  # nothing fetched for an entry it cannot read
    assert report.verified is False
