"""Pinned JSON-LD contexts and the static loader (CTX-4..CTX-9, CTX-12)."""

from __future__ import annotations

import hashlib
import json
import shutil
import socket
from pathlib import Path
from typing import Any

import pytest
from pyld.jsonld import JsonLdError

from badgeserver.errors import CanonicalizationError, ContextError
from badgeserver.ld.canon import Canonicalizer
from badgeserver.ld.contexts import (
    DATA_INTEGRITY_V2,
    MULTIKEY_V1,
    OB_V3P0,
    STATUS_V1,
    VC_V1,
    VC_V2,
    load_pinned,
    production_contexts,
)
from badgeserver.ld.loader import StaticLoader
from badgeserver.resources import schemas_dir

CONTEXTS_DIR = schemas_dir() / "contexts"
JWK_V1 = "https://w3id.org/security/jwk/v1"
EXAMPLES_V2 = "https://www.w3.org/ns/credentials/examples/v2"

# The digests the W3C Recommendations publish for their contexts.
PUBLISHED_DIGESTS = {
    # CTX-4: VCDM 2.0 App. B.1
    VC_V2: "59955ced6697d61e03f2b2556febe5308ab16842846f5b586d7f1f7adec92734",
    # CTX-5: VC Data Integrity 1.0 §2.4
    DATA_INTEGRITY_V2: "67f21e6e33a6c14e5ccfd2fc7865f7474fb71a04af7e94136cb399dfac8ae8f4",
    MULTIKEY_V1: "ba2c182de2d92f7e47184bcca8fcf0beaee6d3986c527bf664c195bbc7c58597",
    JWK_V1: "0f14b62f6071aafe00df265770ea0c7508e118247d79b7d861a406d2aa00bece",
    # CTX-6: Bitstring Status List §5.2
    STATUS_V1: "fda5add353231e6a6884a46b12e6c75464281900cb348284d9c360f62381d9f7",
    # CTX-7: VCDM 1.1 base context
    VC_V1: "ab4ddd9a531758807a79a5b450510d61ae8d147eab966cc9a200c07095b0cdcc",
}

# CTX-8: 1EdTech publishes no digest; these are the two known 3.0.3 files.
OB_303_AMENDED_SHA256 = "3d34f4d4ef1bce691106e63798beb5e7b862ba841423f5ee1e53ab7ddf3bca84"
OB_303_REPOSITORY_SHA256 = "ef2fa9c7846dce233cc166b43639027278be4ee44f00bb1d45c75de2dd0cd761"
EXAMPLES_V2_SHA256 = "57393fbc69d6efb9b9b5dc9cb6b9880b0944360abfe2eaf459c9e58cf2279d7c"

PINNED_URLS = {
    VC_V2,
    VC_V1,
    STATUS_V1,
    DATA_INTEGRITY_V2,
    "https://w3id.org/security/data-integrity/v1",
    MULTIKEY_V1,
    JWK_V1,
    "https://w3id.org/security/suites/ed25519-2020/v1",
    OB_V3P0,
    "https://purl.imsglobal.org/spec/ob/v3p0/context-3.0.2.json",
    "https://purl.imsglobal.org/spec/ob/v3p0/context-3.0.1.json",
    "https://purl.imsglobal.org/spec/ob/v3p0/context.json",
    "https://purl.imsglobal.org/spec/ob/v3p0/extensions.json",
}


def _manifest() -> list[dict[str, Any]]:
    return json.loads((CONTEXTS_DIR / "manifest.json").read_text("utf-8"))["contexts"]


def _sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def _entry(url: str) -> dict[str, Any]:
    return next(entry for entry in _manifest() if entry["url"] == url)


# --- digests -------------------------------------------------------------------------------------


def test_ctx9_manifest_pins_exactly_the_known_urls() -> None:
    assert {entry["url"] for entry in _manifest()} == PINNED_URLS
    assert set(production_contexts()) == PINNED_URLS


@pytest.mark.parametrize("entry", _manifest(), ids=lambda entry: entry["file"])
def test_ctx9_every_manifest_file_hashes_to_its_sha256(entry: dict[str, Any]) -> None:
    assert _sha256(CONTEXTS_DIR / entry["file"]) == entry["sha256"]


@pytest.mark.parametrize("url", sorted(PUBLISHED_DIGESTS))
def test_ctx4_to_ctx7_w3c_contexts_match_published_digests(url: str) -> None:
    entry = _entry(url)
    assert entry["published_sha256"] == PUBLISHED_DIGESTS[url]
    assert _sha256(CONTEXTS_DIR / entry["file"]) == PUBLISHED_DIGESTS[url]
    assert production_contexts()[url].sha256 == PUBLISHED_DIGESTS[url]


def test_ctx8_ob_303_url_is_answered_by_the_amended_file() -> None:
    entry = _entry(OB_V3P0)
    assert entry["file"] == "ob-v3p0-context-3.0.3.validator-amended.json"
    assert _sha256(CONTEXTS_DIR / entry["file"]) == OB_303_AMENDED_SHA256
    assert production_contexts()[OB_V3P0].sha256 == OB_303_AMENDED_SHA256


def test_ctx8_repository_copy_of_ob_303_is_the_unamended_file(vectors: Path) -> None:
    path = vectors / "contexts" / "ob-v3p0-context-3.0.3.json"
    assert _sha256(path) == OB_303_REPOSITORY_SHA256
    repository = json.loads(path.read_text("utf-8"))["@context"]
    amended = production_contexts()[OB_V3P0].document["@context"]
    assert "endorsementJwt" not in json.dumps(repository)
    assert "endorsementJwt" in json.dumps(amended)


def test_ctx12_examples_context_is_test_data_only(vectors: Path) -> None:
    path = vectors / "contexts" / "w3c-credentials-examples-v2.jsonld"
    assert _sha256(path) == EXAMPLES_V2_SHA256
    assert EXAMPLES_V2 not in production_contexts()
    assert EXAMPLES_V2 not in StaticLoader()


# --- load_pinned ---------------------------------------------------------------------------------


def _writable_copy(tmp_path: Path) -> Path:
    folder = tmp_path / "contexts"
    shutil.copytree(CONTEXTS_DIR, folder)
    for path in folder.iterdir():
        path.chmod(0o644)
    return folder


def test_ctx9_load_pinned_accepts_an_unchanged_copy(tmp_path: Path) -> None:
    pinned = load_pinned(_writable_copy(tmp_path))
    assert set(pinned) == PINNED_URLS
    assert pinned[VC_V2].sha256 == PUBLISHED_DIGESTS[VC_V2]
    assert pinned[VC_V2].file == "w3c-credentials-v2.jsonld"


@pytest.mark.parametrize(
    ("url", "file", "digest"),
    [
        (VC_V2, "w3c-credentials-v2.jsonld", PUBLISHED_DIGESTS[VC_V2]),
        (OB_V3P0, "ob-v3p0-context-3.0.3.validator-amended.json", OB_303_AMENDED_SHA256),
    ],
)
def test_ctx4_load_pinned_refuses_a_file_changed_by_one_byte(
    tmp_path: Path, url: str, file: str, digest: str
) -> None:
    folder = _writable_copy(tmp_path)
    target = folder / file
    data = bytearray(target.read_bytes())
    position = data.index(b"@context") + 1
    data[position] = ord("C")  # "@context" -> "@Context"
    target.write_bytes(bytes(data))
    with pytest.raises(ContextError) as raised:
        load_pinned(folder)
    assert raised.value.message == (
        f"The pinned context for {url} ({file}) does not match its digest {digest}."
    )
    assert raised.value.code == "context_not_allowed"


def test_ctx9_load_pinned_refuses_an_unreadable_manifest(tmp_path: Path) -> None:
    folder = _writable_copy(tmp_path)
    (folder / "manifest.json").write_text("{not json", "utf-8")
    with pytest.raises(ContextError) as raised:
        load_pinned(folder)
    assert raised.value.message == f"The context manifest {folder / 'manifest.json'} cannot be read."


# --- the static loader ---------------------------------------------------------------------------


@pytest.fixture
def no_network(monkeypatch: pytest.MonkeyPatch) -> list[Any]:
    """Make every socket connection and DNS lookup fail, and record the attempts."""
    attempts: list[Any] = []

    def connect(self: socket.socket, address: Any) -> None:
        attempts.append(address)
        raise OSError("network access is not allowed in this test")

    def getaddrinfo(*args: Any, **kwargs: Any) -> Any:
        attempts.append(args)
        raise OSError("network access is not allowed in this test")

    monkeypatch.setattr(socket.socket, "connect", connect)
    monkeypatch.setattr(socket.socket, "connect_ex", connect)
    monkeypatch.setattr(socket, "getaddrinfo", getaddrinfo)
    return attempts


@pytest.mark.parametrize("url", [EXAMPLES_V2, "https://evil.example/ctx"])
def test_ctx9_loader_refuses_unknown_url_without_network(url: str, no_network: list[Any]) -> None:
    with pytest.raises(JsonLdError) as raised:
        StaticLoader()(url)
    assert raised.value.args[0] == (
        f"The JSON-LD context {url} is not pinned by badgeserver and was not loaded."
    )
    assert raised.value.details == {"url": url}
    assert raised.value.code == "loading document failed"
    assert no_network == []


@pytest.mark.parametrize("url", [EXAMPLES_V2, "https://evil.example/ctx"])
def test_ctx9_canonicalize_refuses_unknown_context_without_network(url: str, no_network: list[Any]) -> None:
    document = {"@context": [VC_V2, url], "id": "urn:uuid:1", "type": "VerifiableCredential"}
    with pytest.raises(CanonicalizationError) as raised:
        Canonicalizer().canonicalize(document)
    assert raised.value.message == (
        "JSON-LD processing failed: The JSON-LD context "
        f"{url} is not pinned by badgeserver and was not loaded."
    )
    assert no_network == []


def test_ctx9_loader_answers_pins_with_static_tag(no_network: list[Any]) -> None:
    answer = StaticLoader()(VC_V2)
    assert answer["tag"] == "static"
    assert answer["documentUrl"] == VC_V2
    assert answer["contextUrl"] is None
    assert answer["document"] == json.loads((CONTEXTS_DIR / "w3c-credentials-v2.jsonld").read_text())
    assert no_network == []


def test_ctx9_mutating_a_returned_document_leaves_the_pin_unchanged() -> None:
    loader = StaticLoader()
    original = json.loads((CONTEXTS_DIR / "w3c-credentials-v2.jsonld").read_text())
    returned = loader(VC_V2)["document"]
    returned["@context"]["name"] = "https://evil.example/name"
    returned["@context"]["injected"] = "https://evil.example/injected"
    assert loader(VC_V2)["document"] == original
    assert production_contexts()[VC_V2].document == original
    assert StaticLoader()(VC_V2)["document"] == original


def test_ctx12_with_extra_answers_examples_only_in_the_new_loader(
    examples_loader: StaticLoader,
) -> None:
    assert EXAMPLES_V2 in examples_loader
    assert examples_loader(EXAMPLES_V2)["tag"] == "static"
    assert EXAMPLES_V2 not in StaticLoader()


# --- amended vs repository OB 3.0.3 --------------------------------------------------------------


def test_ctx8_amended_and_repository_303_give_identical_nquads(
    vectors: Path, canonicalizer: Canonicalizer
) -> None:
    repository = json.loads((vectors / "contexts" / "ob-v3p0-context-3.0.3.json").read_text())
    repository_canon = Canonicalizer(StaticLoader().with_extra({OB_V3P0: repository}))
    unsigned = json.loads((vectors / "ob-v3p0-impl-eddsa-rdfc-2022" / "unsigned.json").read_text())
    expected = (vectors / "ob-v3p0-impl-eddsa-rdfc-2022" / "document-canon.nq").read_text("utf-8")
    assert repository_canon.canonicalize(unsigned) == expected
    assert canonicalizer.canonicalize(unsigned) == expected
