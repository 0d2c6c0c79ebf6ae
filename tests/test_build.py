"""Records to an unsigned OpenBadgeCredential, and signing it (DM-1..DM-27, CTX-1, CTX-11)."""

from __future__ import annotations

import copy
import hashlib
import json
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from badgeserver import did, schema
from badgeserver.errors import DataLossError, FetchError, InputError, SchemaError
from badgeserver.identity import identity_hash, matches, normalize_email
from badgeserver.integrity import multikey
from badgeserver.issuer.build import (
    AchievementSpec,
    Alignment,
    Award,
    EvidenceItem,
    IssuerProfile,
    Recipient,
    Related,
    ResultAchieved,
    RubricCriterion,
    RubricLevel,
    StatusEntry,
    build_credential,
    date_time_z,
)
from badgeserver.issuer.sign import sign_credential
from badgeserver.ld.canon import Canonicalizer
from badgeserver.verify.pipeline import Verifier
from badgeserver.verify.report import CHECK_ORDER

SEED = bytes(range(32))
ISSUER_DID = "did:key:z6MkehRgf7yJbgaGfYsdoAsKdBPE3dj2CYhowQdcjqSJgvVd"
ISSUER_VM = f"{ISSUER_DID}#z6MkehRgf7yJbgaGfYsdoAsKdBPE3dj2CYhowQdcjqSJgvVd"
ACHIEVEMENT = "https://badges.usbe.example/achievements/formative-assessment/2"
CREDENTIAL_ID = "urn:uuid:6f1f3a5e-0c47-4d0e-9a3e-3f1b9c2d7e11"
STATUS_LIST = "https://badges.usbe.example/status/revocation/1"
NAME = "Zoë O’Brien®"
EMAIL = " Zoe.OBrien@Example.org "
SALT = "2f1c9a7e"
EMAIL_HASH = "sha256$7bf5dc9b6b4511f11c479d05707bf250426a1f964fcd417ac5814a31bb3c3f05"
VALID_FROM = datetime(2026, 3, 1, 9, 30, 0, 987654, tzinfo=UTC)
SIGNED_AT = datetime(2026, 3, 1, 9, 30, 7, tzinfo=UTC)
OB_SCHEMA = "https://purl.imsglobal.org/spec/ob/v3p0/schema/json/ob_v3p0_achievementcredential_schema.json"
CRITERIA = (("planning", "Plans assessments"), ("evidence", "Uses evidence"), ("feedback", "Gives feedback"))
LEVELS = (
    ("beginning", "Beginning", "1"),
    ("developing", "Developing", "2"),
    ("proficient", "Proficient", "3"),
)


def _criterion_id(slug: str) -> str:
    return f"{ACHIEVEMENT}/rubric/{slug}"


def _level_id(slug: str, level: str) -> str:
    return f"{ACHIEVEMENT}/rubric/{slug}/{level}"


ISSUER = IssuerProfile(
    id=ISSUER_DID,
    name="Utah State Board of Education",
    url="https://schools.utah.gov",
    email="badges@schools.utah.gov",
)
SPEC = AchievementSpec(
    id=ACHIEVEMENT,
    name="Formative Assessment in Practice",
    description="Designs formative assessments and uses their results to adjust instruction.",
    criteria_narrative="Submit a lesson plan, three samples of student work and a reflection.",
    criteria_url=f"{ACHIEVEMENT}/criteria",
    credits_available=0.5,
    version="2",
    alignments=(
        Alignment(
            target_name="Utah Effective Teaching Standard 5: Assessment",
            target_url="https://schools.utah.gov/standards/uets/5",
            target_framework="Utah Effective Teaching Standards",
            target_code="UETS-5",
            target_type="CFItem",
        ),
    ),
    rubric=tuple(
        RubricCriterion(
            id=_criterion_id(slug),
            name=name,
            levels=tuple(
                RubricLevel(id=_level_id(slug, level), name=label, points=points)
                for level, label, points in LEVELS
            ),
        )
        for slug, name in CRITERIA
    ),
    related=(
        Related(
            id="https://badges.usbe.example/achievements/formative-assessment/1",
            version="1",
            in_language="en-US",
        ),
    ),
)
RECIPIENT = Recipient(email=EMAIL, salt=SALT, name=NAME)
AWARD = Award(
    credential_id=CREDENTIAL_ID,
    valid_from=VALID_FROM,
    results=(
        ResultAchieved(_criterion_id("planning"), _level_id("planning", "proficient")),
        ResultAchieved(_criterion_id("evidence"), _level_id("evidence", "developing")),
        ResultAchieved(_criterion_id("feedback"), _level_id("feedback", "proficient")),
    ),
    evidence=(
        EvidenceItem(
            name="Reflection on formative assessment",
            narrative="Zoë adjusted two lessons after exit-ticket results; see the reflection.",
            genre="Reflection",
        ),
    ),
    status=StatusEntry(list_url=STATUS_LIST, index=94567),
)


@pytest.fixture(scope="module")
def key() -> Ed25519PrivateKey:
    """The issuer's Ed25519 key (seed 00..1f, whose did:key is ISSUER_DID)."""
    private = Ed25519PrivateKey.from_private_bytes(SEED)
    assert did.did_key_from_public_key(private.public_key().public_bytes_raw()) == ISSUER_DID
    return private


@pytest.fixture
def credential() -> dict[str, Any]:
    """The built, unsigned educator microcredential."""
    return build_credential(ISSUER, SPEC, RECIPIENT, AWARD)


def _no_fetch(url: str) -> dict[str, Any]:
    raise FetchError(f"No network in tests ({url}).")


def _status_list_fetch(url: str) -> dict[str, Any]:
    raise FetchError(f"The status list {url} is not served in this test.")


def _verifier(canonicalizer: Canonicalizer) -> Verifier:
    return Verifier(
        canonicalizer=canonicalizer,
        fetch_json=_status_list_fetch,
        resolve_key=lambda url: did.resolve_verification_method(url, fetch_json=_no_fetch),
        clock=lambda: datetime(2026, 4, 1, tzinfo=UTC),
    )


# --- DM-8 IdentityHash ---------------------------------------------------------------------------


def test_dm8_identity_hash_known_answer() -> None:
    assert identity_hash("a@example.com", "Kosher") == (
        "sha256$b5809d8a92f8858436d7e6b87c12ebc0ae1eac4baecc2c0b913aee2c922ef399"
    )


def test_dm8_identity_hash_vector_file(vectors: Path) -> None:
    vector = json.loads((vectors / "ob-v3p0-identity-hash" / "identity-hash.json").read_text())
    assert vector["input"] == vector["identifier"] + vector["salt"]
    computed = identity_hash(vector["identifier"], vector["salt"], algorithm=vector["algorithm"])
    assert computed == vector["identityHash"]
    assert matches(vector["identityHash"].upper().replace("SHA256$", "sha256$"), "a@example.com", "Kosher")
    assert not matches(vector["identityHash"], "b@example.com", "Kosher")


def test_dm8_recipient_email_is_normalized_then_hashed() -> None:
    assert normalize_email(EMAIL) == "zoe.obrien@example.org"
    digest = hashlib.sha256(b"zoe.obrien@example.org2f1c9a7e").hexdigest()
    assert f"sha256${digest}" == EMAIL_HASH
    assert identity_hash(normalize_email(EMAIL), SALT) == EMAIL_HASH


# --- the built credential ------------------------------------------------------------------------


def test_ctx1_ctx11_contexts_in_order(credential: dict[str, Any]) -> None:
    assert credential["@context"] == [
        "https://www.w3.org/ns/credentials/v2",
        "https://purl.imsglobal.org/spec/ob/v3p0/context-3.0.3.json",
        "https://purl.imsglobal.org/spec/ob/v3p0/extensions.json",
    ]


def test_dm1_dm2_dm3_header(credential: dict[str, Any]) -> None:
    assert list(credential) == [
        "@context",
        "id",
        "type",
        "name",
        "issuer",
        "validFrom",
        "awardedDate",
        "credentialSubject",
        "evidence",
        "credentialSchema",
        "credentialStatus",
    ]
    assert credential["id"] == CREDENTIAL_ID
    assert credential["type"] == ["VerifiableCredential", "OpenBadgeCredential"]
    assert credential["name"] == "Formative Assessment in Practice"
    assert credential["issuer"] == {
        "id": ISSUER_DID,
        "type": ["Profile"],
        "name": "Utah State Board of Education",
        "url": "https://schools.utah.gov",
        "email": "badges@schools.utah.gov",
    }


def test_dm4_valid_from_in_whole_seconds_utc(credential: dict[str, Any]) -> None:
    assert credential["validFrom"] == "2026-03-01T09:30:00Z"
    assert credential["awardedDate"] == "2026-03-01T09:30:00Z"
    assert "validUntil" not in credential


def test_dm4_date_time_z_converts_offsets_to_utc() -> None:
    moment = datetime(2026, 3, 1, 2, 30, 59, 999999, tzinfo=timezone(timedelta(hours=-7)))
    assert date_time_z(moment) == "2026-03-01T09:30:59Z"


def test_dm22_credential_schema_array(credential: dict[str, Any]) -> None:
    assert credential["credentialSchema"] == [{"id": OB_SCHEMA, "type": "1EdTechJsonSchemaValidator2019"}]


def test_dm6_dm7_subject_identifiers(credential: dict[str, Any]) -> None:
    subject = credential["credentialSubject"]
    assert list(subject) == ["type", "identifier", "achievement", "result"]
    assert subject["type"] == ["AchievementSubject"]
    assert subject["identifier"] == [
        {
            "type": "IdentityObject",
            "identityHash": EMAIL_HASH,
            "identityType": "emailAddress",
            "hashed": True,
            "salt": SALT,
        },
        {
            "type": "IdentityObject",
            "identityHash": "Zoë O’Brien®",
            "identityType": "name",
            "hashed": False,
        },
    ]


def _expected_criterion(slug: str, name: str) -> dict[str, Any]:
    return {
        "id": _criterion_id(slug),
        "type": ["ResultDescription"],
        "name": name,
        "resultType": "RubricCriterionLevel",
        "allowedValue": ["Beginning", "Developing", "Proficient"],
        "rubricCriterionLevel": [
            {
                "id": _level_id(slug, level),
                "type": ["RubricCriterionLevel"],
                "name": label,
                "points": points,
            }
            for level, label, points in LEVELS
        ],
    }


def test_dm9_to_dm16_achievement(credential: dict[str, Any]) -> None:
    assert credential["credentialSubject"]["achievement"] == {
        "id": ACHIEVEMENT,
        "type": ["Achievement"],
        "achievementType": "MicroCredential",
        "name": "Formative Assessment in Practice",
        "description": "Designs formative assessments and uses their results to adjust instruction.",
        "criteria": {
            "id": f"{ACHIEVEMENT}/criteria",
            "narrative": "Submit a lesson plan, three samples of student work and a reflection.",
        },
        "creditsAvailable": 0.5,
        "version": "2",
        "alignment": [
            {
                "type": ["Alignment"],
                "targetName": "Utah Effective Teaching Standard 5: Assessment",
                "targetUrl": "https://schools.utah.gov/standards/uets/5",
                "targetFramework": "Utah Effective Teaching Standards",
                "targetCode": "UETS-5",
                "targetType": "CFItem",
            }
        ],
        "resultDescription": [_expected_criterion(slug, name) for slug, name in CRITERIA],
        "related": [
            {
                "id": "https://badges.usbe.example/achievements/formative-assessment/1",
                "type": ["Related"],
                "version": "1",
                "inLanguage": "en-US",
            }
        ],
    }


def test_dm17_results_point_into_the_achievement(credential: dict[str, Any]) -> None:
    assert credential["credentialSubject"]["result"] == [
        {
            "type": ["Result"],
            "resultDescription": _criterion_id("planning"),
            "achievedLevel": _level_id("planning", "proficient"),
        },
        {
            "type": ["Result"],
            "resultDescription": _criterion_id("evidence"),
            "achievedLevel": _level_id("evidence", "developing"),
        },
        {
            "type": ["Result"],
            "resultDescription": _criterion_id("feedback"),
            "achievedLevel": _level_id("feedback", "proficient"),
        },
    ]


def test_dm18_evidence(credential: dict[str, Any]) -> None:
    assert credential["evidence"] == [
        {
            "type": ["Evidence"],
            "name": "Reflection on formative assessment",
            "narrative": "Zoë adjusted two lessons after exit-ticket results; see the reflection.",
            "genre": "Reflection",
        }
    ]


def test_stat1_stat10_status_entry(credential: dict[str, Any]) -> None:
    assert credential["credentialStatus"] == {
        "id": f"{STATUS_LIST}#94567",
        "type": "BitstringStatusListEntry",
        "statusPurpose": "revocation",
        "statusListIndex": "94567",
        "statusListCredential": STATUS_LIST,
    }


def test_dm26_built_credential_matches_the_schema(credential: dict[str, Any]) -> None:
    proof = {
        "type": "DataIntegrityProof",
        "cryptosuite": "eddsa-rdfc-2022",
        "verificationMethod": ISSUER_VM,
        "proofPurpose": "assertionMethod",
        "proofValue": "z1",
    }
    assert schema.validate({**credential, "proof": [proof]}) == []


def test_ctx10_built_credential_canonicalizes_in_safe_mode(
    credential: dict[str, Any], canonicalizer: Canonicalizer
) -> None:
    quads = canonicalizer.canonicalize(credential).splitlines()
    assert len(quads) == 136
    assert f'<{CREDENTIAL_ID}> <https://schema.org/name> "Formative Assessment in Practice" .' in quads
    # The OB 3.0.3 context types creditsAvailable with an https XSD IRI (ob3-requirements §12.15).
    assert (
        f"<{ACHIEVEMENT}> <https://purl.imsglobal.org/spec/vc/ob/vocab.html#creditsAvailable> "
        '"5.0E-1"^^<https://www.w3.org/2001/XMLSchema#float> .'
    ) in quads
    assert (
        f"<{CREDENTIAL_ID}> <https://www.w3.org/2018/credentials#validFrom> "
        '"2026-03-01T09:30:00Z"^^<http://www.w3.org/2001/XMLSchema#dateTime> .'
    ) in quads
    name_quads = [q for q in quads if '"Zoë O’Brien®"' in q]
    assert len(name_quads) == 1
    assert name_quads[0].endswith(
        '<https://purl.imsglobal.org/spec/vc/ob/vocab.html#identityHash> "Zoë O’Brien®" .'
    )


# --- refused input -------------------------------------------------------------------------------


def test_dm17_result_level_not_in_criterion_is_input_error() -> None:
    award = Award(
        credential_id=CREDENTIAL_ID,
        valid_from=VALID_FROM,
        results=(ResultAchieved(_criterion_id("planning"), _level_id("feedback", "proficient")),),
    )
    with pytest.raises(InputError) as raised:
        build_credential(ISSUER, SPEC, RECIPIENT, award)
    assert raised.value.message == (
        f"The level {_level_id('feedback', 'proficient')} is not a level of rubric criterion "
        f"{_criterion_id('planning')}."
    )


def test_dm17_result_criterion_not_in_achievement_is_input_error() -> None:
    award = Award(
        credential_id=CREDENTIAL_ID,
        valid_from=VALID_FROM,
        results=(ResultAchieved(_criterion_id("pacing"), _level_id("pacing", "proficient")),),
    )
    with pytest.raises(InputError) as raised:
        build_credential(ISSUER, SPEC, RECIPIENT, award)
    assert raised.value.message == (
        f"The rubric criterion {_criterion_id('pacing')} is not in the achievement."
    )


@pytest.mark.parametrize(
    ("valid_from", "valid_until"),
    [
        (datetime(2026, 3, 1, 9, 30), None),
        (VALID_FROM, datetime(2027, 3, 1, 9, 30)),
        (datetime(2026, 3, 1, 9, 30), datetime(2027, 3, 1, 9, 30, tzinfo=UTC)),
    ],
    ids=["naive-validFrom", "naive-validUntil", "naive-validFrom-aware-validUntil"],
)
def test_dm4_naive_datetime_is_input_error(valid_from: datetime, valid_until: datetime | None) -> None:
    award = Award(credential_id=CREDENTIAL_ID, valid_from=valid_from, valid_until=valid_until)
    with pytest.raises(InputError) as raised:
        build_credential(ISSUER, SPEC, RECIPIENT, award)
    assert raised.value.message == "A credential date-time needs a time zone."


def test_dm4_valid_until_before_valid_from_is_input_error() -> None:
    award = Award(
        credential_id=CREDENTIAL_ID,
        valid_from=VALID_FROM,
        valid_until=VALID_FROM - timedelta(seconds=1),
    )
    with pytest.raises(InputError) as raised:
        build_credential(ISSUER, SPEC, RECIPIENT, award)
    assert raised.value.message == "validUntil is before validFrom."


def test_dm4_valid_until_is_written_when_given() -> None:
    award = Award(
        credential_id=CREDENTIAL_ID,
        valid_from=VALID_FROM,
        valid_until=datetime(2029, 6, 30, 23, 59, 59, 500000, tzinfo=UTC),
    )
    credential = build_credential(ISSUER, SPEC, RECIPIENT, award)
    assert credential["validFrom"] == "2026-03-01T09:30:00Z"
    assert credential["validUntil"] == "2029-06-30T23:59:59Z"


def test_stat1_negative_status_index_is_input_error() -> None:
    award = Award(
        credential_id=CREDENTIAL_ID,
        valid_from=VALID_FROM,
        status=StatusEntry(list_url=STATUS_LIST, index=-1),
    )
    with pytest.raises(InputError) as raised:
        build_credential(ISSUER, SPEC, RECIPIENT, award)
    assert raised.value.message == "A status list index is a non-negative integer."


# --- signing -------------------------------------------------------------------------------------


def _sign(credential: dict[str, Any], key: Ed25519PrivateKey, canonicalizer: Canonicalizer) -> Any:
    return sign_credential(
        credential,
        private_key=key,
        verification_method=ISSUER_VM,
        now=SIGNED_AT,
        canonicalizer=canonicalizer,
    )


def test_sig2_signed_credential_verifies_with_the_verifier(
    credential: dict[str, Any], key: Ed25519PrivateKey, canonicalizer: Canonicalizer
) -> None:
    signed = _sign(credential, key, canonicalizer)
    proof = signed["proof"]
    assert isinstance(proof, list) and len(proof) == 1
    assert {k: v for k, v in proof[0].items() if k != "proofValue"} == {
        "type": "DataIntegrityProof",
        "cryptosuite": "eddsa-rdfc-2022",
        "created": "2026-03-01T09:30:07Z",
        "verificationMethod": ISSUER_VM,
        "proofPurpose": "assertionMethod",
    }
    assert len(multikey.decode_base58btc(proof[0]["proofValue"])) == 64
    assert {k: v for k, v in signed.items() if k != "proof"} == credential
    report = _verifier(canonicalizer).verify_credential(signed)
    assert [c.id for c in report.checks] == list(CHECK_ORDER)
    statuses = {c.id: (c.status, c.code) for c in report.checks}
    assert statuses["proof.signature"] == ("passed", "valid_signature")
    assert statuses["proof.controller"] == ("passed", "controller_matches")
    assert statuses["schema.valid"] == ("passed", "schema_valid")
    assert statuses["context.valid"] == ("passed", "contexts_valid")
    assert statuses["status"] == ("error", "STATUS_RETRIEVAL_ERROR")


def test_sig2_signed_credential_without_status_is_verified(
    key: Ed25519PrivateKey, canonicalizer: Canonicalizer
) -> None:
    award = Award(credential_id=CREDENTIAL_ID, valid_from=VALID_FROM, results=AWARD.results)
    signed = _sign(build_credential(ISSUER, SPEC, RECIPIENT, award), key, canonicalizer)
    report = _verifier(canonicalizer).verify_credential(signed, recipient="zoe.obrien@example.org")
    assert report.verified is True
    assert report.summary() == {"passed": 13, "failed": 0, "warning": 0, "error": 0, "skipped": 2}


def test_dm29_utf8_names_round_trip_through_json(
    credential: dict[str, Any], key: Ed25519PrivateKey, canonicalizer: Canonicalizer
) -> None:
    signed = _sign(credential, key, canonicalizer)
    text = json.dumps(signed, ensure_ascii=False)
    assert "Zoë O’Brien®" in text
    data = text.encode("utf-8")
    assert "Zoë O’Brien®".encode() in data
    restored = json.loads(data.decode("utf-8"))
    assert restored == signed
    assert restored["credentialSubject"]["identifier"][1]["identityHash"] == "Zoë O’Brien®"
    report = _verifier(canonicalizer).verify_bytes(data)
    assert report.status_of("proof.signature") == "passed"
    assert report.credential is not None
    assert report.credential["issuer"] == {
        "id": ISSUER_DID,
        "name": "Utah State Board of Education",
    }


def test_sig12_ad_hoc_property_cannot_be_signed(
    credential: dict[str, Any], key: Ed25519PrivateKey, canonicalizer: Canonicalizer
) -> None:
    credential["credentialSubject"]["achievement"]["gradeBand"] = "K-12"
    with pytest.raises(DataLossError) as raised:
        _sign(credential, key, canonicalizer)
    assert raised.value.message == (
        "The term 'gradeBand' is not defined by the document's contexts, so it would be "
        "dropped (JSON-LD safe mode)."
    )


def test_dm3_issuer_without_id_is_schema_error(
    credential: dict[str, Any], key: Ed25519PrivateKey, canonicalizer: Canonicalizer
) -> None:
    broken = copy.deepcopy(credential)
    del broken["issuer"]["id"]
    with pytest.raises(SchemaError) as raised:
        _sign(broken, key, canonicalizer)
    assert raised.value.code == "schema_invalid"
    assert raised.value.message.startswith(
        "The credential does not match the Open Badges 3.0 schema (/issuer: "
    )


def test_dm22_schema_check_can_be_skipped_for_status_lists(
    credential: dict[str, Any], key: Ed25519PrivateKey, canonicalizer: Canonicalizer
) -> None:
    broken = copy.deepcopy(credential)
    broken["credentialStatus"] = {"type": "BitstringStatusListEntry"}  # CredentialStatus needs an id
    with pytest.raises(SchemaError):
        _sign(broken, key, canonicalizer)
    signed = sign_credential(
        broken,
        private_key=key,
        verification_method=ISSUER_VM,
        now=SIGNED_AT,
        canonicalizer=canonicalizer,
        schema_url=None,
    )
    assert signed["credentialStatus"] == {"type": "BitstringStatusListEntry"}


def test_dm23_a_status_array_is_checked_entry_by_entry(
    credential: dict[str, Any], key: Ed25519PrivateKey, canonicalizer: Canonicalizer
) -> None:
    """VCDM 2.0 allows several status entries; each must still be a valid OB CredentialStatus."""
    entry = credential["credentialStatus"]
    both = copy.deepcopy(credential)
    both["credentialStatus"] = [entry, {**entry, "statusPurpose": "suspension"}]
    assert _sign(both, key, canonicalizer)["credentialStatus"] == both["credentialStatus"]
    one_bad = copy.deepcopy(credential)
    one_bad["credentialStatus"] = [entry, {k: v for k, v in entry.items() if k != "id"}]
    with pytest.raises(SchemaError) as caught:
        _sign(one_bad, key, canonicalizer)
    assert "'id' is a required property" in caught.value.message
