"""eddsa-rdfc-2022 step by step against the W3C and 1EdTech vectors (SIG-2..SIG-9, SIG-13)."""

from __future__ import annotations

import copy
import hashlib
import json
from pathlib import Path
from typing import Any

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from badgeserver.errors import ProofError
from badgeserver.integrity import eddsa, multikey
from badgeserver.ld.canon import Canonicalizer

W3C = "w3c-vc-di-eddsa"
W3C_DI = "w3c-vc-di-eddsa/eddsa-rdfc-2022"
W3C_2020 = "w3c-vc-di-eddsa/Ed25519Signature2020"
IMPL = "ob-v3p0-impl-eddsa-rdfc-2022"
EXAMPLE_2 = "ob-v3p0-spec-example-2"

W3C_PUBLIC = "z6MkrJVnaZkeFzdQyMZu1cgjg7k1pZZ6pvBQ7XJPt4swbTQ2"
W3C_VM = f"did:key:{W3C_PUBLIC}#{W3C_PUBLIC}"
W3C_DOC_HASH = "517744132ae165a5349155bef0bb0cf2258fff99dfe1dbd914b938d775a36017"
W3C_PROOF_HASH = "bea7b7acfbad0126b135104024a5f1733e705108f42d59668b05c0c50004c6b0"
W3C_SIGNATURE = (
    "4d8e53c2d5b3f2a7891753eb16ca993325bdb0d3cfc5be1093d0a18426f5ef85"
    "78cadc0fd4b5f4dd0d1ce0aefd15ab120b7a894d0eb094ffda4e6553cd1ed50d"
)
W3C_PROOF_VALUE = "z2YwC8z3ap7yx1nZYCg4L3j3ApHsF8kgPdSb5xoS1VR7vPG3F561B52hYnQF9iseabecm3ijx4K1FBTQsCZahKZme"
ED_SIG_2020_PROOF_HASH = "04e14bcf5727cba0c0aa04a04d22a56fef915d5f8f7756bb92ae67cb1d0c4847"
ED_SIG_2020_PROOF_VALUE = (
    "z57Mm1vboMtZiCyJ4aReZsv8co4Re64Y8GEjL1ZARzMbXZgkARFLqFs1P345NpPGG2hgCrS4nNdvJhpwnrNyG3kEF"
)
IMPL_SEED = "6241a409e6707bb640a0140a8a32bc3d193c33a661747284d6adfa4ed4180be4"
IMPL_PUBLIC = "4bdeafde2ea8beefadd8c699b5c7e0704cf51154d52e17b20b71337ca04cc5a5"
EXAMPLE_2_PUBLIC = "z6MkevCo7JVbQxBW1YgPA4JFGMPaxHZZqSNEyoSF9WDoQE7e"

INVALID_SIGNATURE = eddsa.ProofCheck(
    False,
    "invalid_signature",
    "The credential was changed after it was signed, or signed with another key.",
)
VALID = eddsa.ProofCheck(True, "valid_signature", "The signature is valid.")


def _json(vectors: Path, path: str) -> Any:
    return json.loads((vectors / path).read_text("utf-8"))


def _text(vectors: Path, path: str) -> str:
    return (vectors / path).read_text("utf-8")


def _sha256(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


@pytest.fixture(scope="module")
def w3c_key(vectors: Path) -> Ed25519PrivateKey:
    """The W3C App. B.1 key pair, read from its secretKeyMultibase (32-byte seed form)."""
    pair = _json(vectors, f"{W3C}/keyPair.json")
    seed, public = multikey.decode_secret_key(pair["privateKeyMultibase"])
    assert public is None
    key = Ed25519PrivateKey.from_private_bytes(seed)
    assert multikey.encode_public_key(key.public_key().public_bytes_raw()) == W3C_PUBLIC
    return key


@pytest.fixture(scope="module")
def impl_key(vectors: Path) -> Ed25519PrivateKey:
    """The 1EdTech implementation-guide key (its published secret key is seed + public)."""
    pair = _json(vectors, f"{IMPL}/keypair.json")
    seed, public = multikey.decode_secret_key(pair["secretKeyMultibase_as_published"])
    assert seed.hex() == IMPL_SEED
    assert public is not None and public.hex() == IMPL_PUBLIC
    key = Ed25519PrivateKey.from_private_bytes(seed)
    assert key.public_key().public_bytes_raw().hex() == IMPL_PUBLIC
    return key


# --- W3C App. B.1, eddsa-rdfc-2022 ---------------------------------------------------------------


def test_sig4_w3c_transform_is_canon_doc_bytes(vectors: Path, examples_canonicalizer: Canonicalizer) -> None:
    unsigned = _json(vectors, f"{W3C}/unsigned.json")
    canonical = eddsa.transform(unsigned, examples_canonicalizer)
    assert canonical.encode("utf-8") == (vectors / W3C_DI / "canonDocDataInt.txt").read_bytes()


def test_sig4_w3c_document_hash(vectors: Path, examples_canonicalizer: Canonicalizer) -> None:
    canonical = eddsa.transform(_json(vectors, f"{W3C}/unsigned.json"), examples_canonicalizer)
    assert _sha256(canonical) == W3C_DOC_HASH
    assert _text(vectors, f"{W3C_DI}/docHashDataInt.txt") == W3C_DOC_HASH


def test_sig4_transform_leaves_out_the_proof(vectors: Path, examples_canonicalizer: Canonicalizer) -> None:
    signed = _json(vectors, f"{W3C_DI}/signedDataInt.json")
    canonical = eddsa.transform(signed, examples_canonicalizer)
    assert canonical == _text(vectors, f"{W3C_DI}/canonDocDataInt.txt")


def test_sig5_w3c_proof_configuration_is_proof_canon_bytes(
    vectors: Path, examples_canonicalizer: Canonicalizer
) -> None:
    unsigned = _json(vectors, f"{W3C}/unsigned.json")
    options = _json(vectors, f"{W3C_DI}/proofConfigDataInt.json")
    del options["@context"]
    config = eddsa.proof_configuration(options, unsigned, examples_canonicalizer)
    assert config.encode("utf-8") == (vectors / W3C_DI / "proofCanonDataInt.txt").read_bytes()
    assert _sha256(config) == W3C_PROOF_HASH
    assert _text(vectors, f"{W3C_DI}/proofHashDataInt.txt") == W3C_PROOF_HASH


def test_sig5_proof_configuration_with_the_documents_context_is_the_same(
    vectors: Path, examples_canonicalizer: Canonicalizer
) -> None:
    unsigned = _json(vectors, f"{W3C}/unsigned.json")
    options = _json(vectors, f"{W3C_DI}/proofConfigDataInt.json")
    config = eddsa.proof_configuration(options, unsigned, examples_canonicalizer)
    assert config == _text(vectors, f"{W3C_DI}/proofCanonDataInt.txt")


def test_sig6_hash_data_is_proof_hash_then_document_hash(vectors: Path) -> None:
    data = eddsa.hash_data(
        _text(vectors, f"{W3C_DI}/proofCanonDataInt.txt"),
        _text(vectors, f"{W3C_DI}/canonDocDataInt.txt"),
    )
    assert len(data) == 64
    assert data.hex() == W3C_PROOF_HASH + W3C_DOC_HASH
    assert data.hex() == _text(vectors, f"{W3C_DI}/combinedHashDataInt.txt")


def test_sig6_hash_order_matters() -> None:
    config, document = "config", "document"
    assert eddsa.hash_data(config, document) != eddsa.hash_data(document, config)
    assert eddsa.hash_data(config, document) == (
        hashlib.sha256(b"config").digest() + hashlib.sha256(b"document").digest()
    )


def test_sig7_w3c_signature_hex(vectors: Path, w3c_key: Ed25519PrivateKey) -> None:
    data = bytes.fromhex(_text(vectors, f"{W3C_DI}/combinedHashDataInt.txt"))
    signature = eddsa.sign_hash(data, w3c_key)
    assert signature.hex() == W3C_SIGNATURE
    assert signature.hex() == _text(vectors, f"{W3C_DI}/sigHexDataInt.txt")


def test_sig3_w3c_proof_value(vectors: Path) -> None:
    signature = bytes.fromhex(_text(vectors, f"{W3C_DI}/sigHexDataInt.txt"))
    assert multikey.encode_base58btc(signature) == W3C_PROOF_VALUE
    assert _text(vectors, f"{W3C_DI}/sigBTC58DataInt.txt") == W3C_PROOF_VALUE
    assert _json(vectors, f"{W3C_DI}/signedDataInt.json")["proof"]["proofValue"] == W3C_PROOF_VALUE


def test_sig2_w3c_create_proof_equals_published_proof(
    vectors: Path, w3c_key: Ed25519PrivateKey, examples_canonicalizer: Canonicalizer
) -> None:
    proof = eddsa.create_proof(
        _json(vectors, f"{W3C}/unsigned.json"),
        private_key=w3c_key,
        verification_method=W3C_VM,
        created="2023-02-24T23:36:38Z",
        canonicalizer=examples_canonicalizer,
    )
    assert proof == _json(vectors, f"{W3C_DI}/signedDataInt.json")["proof"]
    assert proof["proofValue"] == W3C_PROOF_VALUE


def test_sig2_add_proof_appends_to_a_proof_array(
    vectors: Path, w3c_key: Ed25519PrivateKey, examples_canonicalizer: Canonicalizer
) -> None:
    unsigned = _json(vectors, f"{W3C}/unsigned.json")
    signed = eddsa.add_proof(
        unsigned,
        private_key=w3c_key,
        verification_method=W3C_VM,
        created="2023-02-24T23:36:38Z",
        canonicalizer=examples_canonicalizer,
    )
    published = _json(vectors, f"{W3C_DI}/signedDataInt.json")
    assert signed == {**published, "proof": [published["proof"]]}
    assert "proof" not in unsigned


def test_sig8_w3c_signed_vector_verifies(vectors: Path, examples_canonicalizer: Canonicalizer) -> None:
    signed = _json(vectors, f"{W3C_DI}/signedDataInt.json")
    public = multikey.decode_public_key(W3C_PUBLIC)
    assert eddsa.verify_proof(signed, signed["proof"], public, examples_canonicalizer) == VALID


def _tamper_subject(signed: dict[str, Any]) -> None:
    signed["credentialSubject"]["alumniOf"] = "The School of Examplez"


def _tamper_proof_value(signed: dict[str, Any]) -> None:
    value = signed["proof"]["proofValue"]
    signed["proof"]["proofValue"] = value[:-1] + ("f" if value[-1] != "f" else "g")


def _tamper_created(signed: dict[str, Any]) -> None:
    signed["proof"]["created"] = "2023-02-24T23:36:39Z"


@pytest.mark.parametrize(
    "tamper",
    [_tamper_subject, _tamper_proof_value, _tamper_created],
    ids=["credentialSubject", "proofValue", "created"],
)
def test_sig8_w3c_one_character_tamper_fails(
    vectors: Path, examples_canonicalizer: Canonicalizer, tamper: Any
) -> None:
    signed = _json(vectors, f"{W3C_DI}/signedDataInt.json")
    tamper(signed)
    assert len(multikey.decode_base58btc(signed["proof"]["proofValue"])) == 64
    public = multikey.decode_public_key(W3C_PUBLIC)
    check = eddsa.verify_proof(signed, signed["proof"], public, examples_canonicalizer)
    assert check == INVALID_SIGNATURE


def test_sig8_w3c_vector_fails_with_another_key(vectors: Path, examples_canonicalizer: Canonicalizer) -> None:
    signed = _json(vectors, f"{W3C_DI}/signedDataInt.json")
    other = Ed25519PrivateKey.from_private_bytes(bytes(32)).public_key().public_bytes_raw()
    assert eddsa.verify_proof(signed, signed["proof"], other, examples_canonicalizer) == INVALID_SIGNATURE


# --- 1EdTech implementation-guide vector ---------------------------------------------------------


def test_sig4_impl_document_canon_and_hash(vectors: Path, canonicalizer: Canonicalizer) -> None:
    expected = _json(vectors, f"{IMPL}/expected.json")
    canonical = eddsa.transform(_json(vectors, f"{IMPL}/unsigned.json"), canonicalizer)
    assert canonical.encode("utf-8") == (vectors / IMPL / "document-canon.nq").read_bytes()
    assert _sha256(canonical) == expected["documentHashHex"]
    assert _sha256(canonical) == "87f65a76d40146205e3b3e06cb0fbd153f97f9ce70372390f52566bb7f9e0773"


def test_sig5_impl_proof_canon_and_hash(vectors: Path, canonicalizer: Canonicalizer) -> None:
    expected = _json(vectors, f"{IMPL}/expected.json")
    config = eddsa.proof_configuration(
        _json(vectors, f"{IMPL}/proof-options.json"),
        _json(vectors, f"{IMPL}/unsigned.json"),
        canonicalizer,
    )
    assert config.encode("utf-8") == (vectors / IMPL / "proof-canon.nq").read_bytes()
    assert _sha256(config) == expected["proofConfigHashHex"]
    assert _sha256(config) == "d34009cea0dbc1ca941e09dc01c8c9d3e3ce3c5b853f67ee44698dcea10f5d19"


def test_sig6_sig7_impl_data_to_sign_signature_and_proof_value(
    vectors: Path, impl_key: Ed25519PrivateKey
) -> None:
    expected = _json(vectors, f"{IMPL}/expected.json")
    data = eddsa.hash_data(
        _text(vectors, f"{IMPL}/proof-canon.nq"), _text(vectors, f"{IMPL}/document-canon.nq")
    )
    assert data.hex() == expected["dataToSignHex"]
    signature = eddsa.sign_hash(data, impl_key)
    assert signature.hex() == expected["signatureHex"]
    assert multikey.encode_base58btc(signature) == expected["proofValue"]
    assert expected["proofValue"] == (
        "z5x9aCBYovW3CQCbKdNyhEm7ffYSw1YpEdPywQJoNbzDD2gkzQDKJ1sYKJaWvqZtkMtSbz35HcbgXVEDYHxCzgkCr"
    )


def test_sig2_impl_create_proof_equals_published_proof(
    vectors: Path, impl_key: Ed25519PrivateKey, canonicalizer: Canonicalizer
) -> None:
    options = _json(vectors, f"{IMPL}/proof-options.json")
    proof = eddsa.create_proof(
        _json(vectors, f"{IMPL}/unsigned.json"),
        private_key=impl_key,
        verification_method=options["verificationMethod"],
        created=options["created"],
        canonicalizer=canonicalizer,
    )
    assert proof == _json(vectors, f"{IMPL}/signed.json")["proof"]


def test_sig8_impl_signed_vector_verifies(vectors: Path, canonicalizer: Canonicalizer) -> None:
    signed = _json(vectors, f"{IMPL}/signed.json")
    public = bytes.fromhex(IMPL_PUBLIC)
    assert eddsa.verify_proof(signed, signed["proof"], public, canonicalizer) == VALID


def test_sig8_impl_signed_vector_tampered_fails(vectors: Path, canonicalizer: Canonicalizer) -> None:
    signed = _json(vectors, f"{IMPL}/signed.json")
    signed["issuer"]["name"] = "Example Corq"
    public = bytes.fromhex(IMPL_PUBLIC)
    assert eddsa.verify_proof(signed, signed["proof"], public, canonicalizer) == INVALID_SIGNATURE


# --- OB 3.0 specification Example 2 --------------------------------------------------------------


def test_sig8_ob_example_2_verifies_with_its_fragment_key(
    vectors: Path, canonicalizer: Canonicalizer
) -> None:
    signed = _json(vectors, f"{EXAMPLE_2}/signed.json")
    proof = signed["proof"][0]
    fragment = proof["verificationMethod"].split("#", 1)[1]
    assert fragment == EXAMPLE_2_PUBLIC
    public = multikey.decode_public_key(fragment)
    assert eddsa.verify_proof(signed, proof, public, canonicalizer) == VALID


def test_sig8_ob_example_2_tampered_fails(vectors: Path, canonicalizer: Canonicalizer) -> None:
    signed = _json(vectors, f"{EXAMPLE_2}/signed.json")
    signed["credentialSubject"]["achievement"]["name"] = "Teamwork!"
    public = multikey.decode_public_key(EXAMPLE_2_PUBLIC)
    assert eddsa.verify_proof(signed, signed["proof"][0], public, canonicalizer) == INVALID_SIGNATURE


# --- W3C App. B.4, legacy Ed25519Signature2020 ---------------------------------------------------


def test_sig13_ed25519_signature_2020_steps(
    vectors: Path, w3c_key: Ed25519PrivateKey, examples_canonicalizer: Canonicalizer
) -> None:
    signed = _json(vectors, f"{W3C_2020}/signedEdSig.json")
    canonical = eddsa.transform(signed, examples_canonicalizer)
    assert canonical == _text(vectors, f"{W3C_2020}/canonDocEdSig.txt")
    assert _sha256(canonical) == W3C_DOC_HASH
    config = eddsa.proof_configuration(signed["proof"], signed, examples_canonicalizer)
    assert config == _text(vectors, f"{W3C_2020}/proofCanonEdSig.txt")
    assert _sha256(config) == ED_SIG_2020_PROOF_HASH
    data = eddsa.hash_data(config, canonical)
    assert data.hex() == _text(vectors, f"{W3C_2020}/combinedHashEdSig.txt")
    signature = eddsa.sign_hash(data, w3c_key)
    assert signature.hex() == _text(vectors, f"{W3C_2020}/sigHexEdSig.txt")
    assert multikey.encode_base58btc(signature) == ED_SIG_2020_PROOF_VALUE
    assert signed["proof"]["proofValue"] == ED_SIG_2020_PROOF_VALUE


def test_sig13_ed25519_signature_2020_vector_verifies(
    vectors: Path, examples_canonicalizer: Canonicalizer
) -> None:
    signed = _json(vectors, f"{W3C_2020}/signedEdSig.json")
    public = multikey.decode_public_key(W3C_PUBLIC)
    assert eddsa.suite_of(signed["proof"]) == "Ed25519Signature2020"
    assert eddsa.verify_proof(signed, signed["proof"], public, examples_canonicalizer) == VALID
    signed["name"] = "Alumni Credentiab"
    assert eddsa.verify_proof(signed, signed["proof"], public, examples_canonicalizer) == INVALID_SIGNATURE


# --- malformed proofs ----------------------------------------------------------------------------


def _w3c_signed(vectors: Path) -> dict[str, Any]:
    return _json(vectors, f"{W3C_DI}/signedDataInt.json")


@pytest.mark.parametrize(
    ("change", "expected"),
    [
        (
            {"proofPurpose": "authentication"},
            eddsa.ProofCheck(False, "wrong_proof_purpose", "The proof's purpose is not assertionMethod."),
        ),
        (
            {"proofValue": "uTY6Vjg2v1S9cB8ouD08Qg"},
            eddsa.ProofCheck(
                False,
                "malformed_proof_value",
                "The proofValue is not a base58btc multibase value.",
            ),
        ),
        (
            {"proofValue": multikey.encode_base58btc(bytes.fromhex(W3C_SIGNATURE)[:63])},
            eddsa.ProofCheck(
                False,
                "malformed_proof_value",
                "The proofValue is not a 64-byte Ed25519 signature.",
            ),
        ),
        (
            {"cryptosuite": "eddsa-2022"},
            eddsa.ProofCheck(
                False, "unsupported_cryptosuite", "The proof suite 'eddsa-2022' is not supported."
            ),
        ),
        (
            {"created": "2023-02-24T23:36:38"},
            eddsa.ProofCheck(
                False,
                "malformed_proof",
                "The proof's created value is not a date-time with a time zone.",
            ),
        ),
        (
            {
                "@context": [
                    "https://www.w3.org/ns/credentials/v2",
                    "https://w3id.org/security/data-integrity/v2",
                ]
            },
            eddsa.ProofCheck(
                False,
                "malformed_proof",
                "The proof's @context does not match the document's @context.",
            ),
        ),
    ],
    ids=[
        "wrong-purpose",
        "not-base58btc",
        "63-byte-signature",
        "eddsa-2022",
        "created-without-zone",
        "foreign-proof-context",
    ],
)
def test_sig2_malformed_proof_has_a_specific_code(
    vectors: Path,
    examples_canonicalizer: Canonicalizer,
    change: dict[str, Any],
    expected: eddsa.ProofCheck,
) -> None:
    signed = _w3c_signed(vectors)
    signed["proof"].update(change)
    public = multikey.decode_public_key(W3C_PUBLIC)
    assert eddsa.verify_proof(signed, signed["proof"], public, examples_canonicalizer) == expected


def test_sig2_proof_without_proof_value_is_malformed(
    vectors: Path, examples_canonicalizer: Canonicalizer
) -> None:
    signed = _w3c_signed(vectors)
    del signed["proof"]["proofValue"]
    public = multikey.decode_public_key(W3C_PUBLIC)
    assert eddsa.verify_proof(signed, signed["proof"], public, examples_canonicalizer) == (
        eddsa.ProofCheck(False, "malformed_proof_value", "The proofValue is not a base58btc multibase value.")
    )


def test_sig5_proof_configuration_refuses_other_suites(
    vectors: Path, examples_canonicalizer: Canonicalizer
) -> None:
    options = {**_w3c_signed(vectors)["proof"], "cryptosuite": "ecdsa-rdfc-2019"}
    with pytest.raises(ProofError) as raised:
        eddsa.proof_configuration(options, _w3c_signed(vectors), examples_canonicalizer)
    assert raised.value.message == "The proof suite 'ecdsa-rdfc-2019' is not eddsa-rdfc-2022."


@pytest.mark.parametrize(
    ("verification_method", "proof_purpose", "missing"),
    [("", "assertionMethod", "verificationMethod"), (W3C_VM, "", "proofPurpose")],
)
def test_sig9_create_proof_never_omits_required_fields(
    vectors: Path,
    w3c_key: Ed25519PrivateKey,
    examples_canonicalizer: Canonicalizer,
    verification_method: str,
    proof_purpose: str,
    missing: str,
) -> None:
    with pytest.raises(ProofError) as raised:
        eddsa.create_proof(
            _json(vectors, f"{W3C}/unsigned.json"),
            private_key=w3c_key,
            verification_method=verification_method,
            created="2023-02-24T23:36:38Z",
            canonicalizer=examples_canonicalizer,
            proof_purpose=proof_purpose,
        )
    assert raised.value.message == f"A proof needs {missing}."


def test_sig9_created_proof_has_every_required_field(
    vectors: Path, w3c_key: Ed25519PrivateKey, examples_canonicalizer: Canonicalizer
) -> None:
    proof = eddsa.create_proof(
        _json(vectors, f"{W3C}/unsigned.json"),
        private_key=w3c_key,
        verification_method=W3C_VM,
        created=None,
        canonicalizer=examples_canonicalizer,
    )
    assert list(proof) == [
        "type",
        "cryptosuite",
        "verificationMethod",
        "proofPurpose",
        "proofValue",
    ]
    assert proof["type"] == "DataIntegrityProof"
    assert proof["cryptosuite"] == "eddsa-rdfc-2022"
    assert proof["verificationMethod"] == W3C_VM
    assert proof["proofPurpose"] == "assertionMethod"
    signed = {**_json(vectors, f"{W3C}/unsigned.json"), "proof": proof}
    public = multikey.decode_public_key(W3C_PUBLIC)
    assert eddsa.verify_proof(signed, proof, public, examples_canonicalizer) == VALID


def test_sig8_verify_does_not_change_the_document(
    vectors: Path, examples_canonicalizer: Canonicalizer
) -> None:
    signed = _w3c_signed(vectors)
    before = copy.deepcopy(signed)
    eddsa.verify_proof(
        signed, signed["proof"], multikey.decode_public_key(W3C_PUBLIC), examples_canonicalizer
    )
    assert signed == before
