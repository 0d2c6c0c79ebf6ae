"""did:key and did:web identifiers, documents, and verification-method resolution."""

from __future__ import annotations

from typing import Any

import pytest

from badgeserver import did
from badgeserver.errors import DidError, FetchError
from badgeserver.integrity import multikey

W3C_PUBLIC = "z6MkrJVnaZkeFzdQyMZu1cgjg7k1pZZ6pvBQ7XJPt4swbTQ2"
W3C_RAW = multikey.decode_public_key(W3C_PUBLIC)
W3C_DID = "did:key:z6MkrJVnaZkeFzdQyMZu1cgjg7k1pZZ6pvBQ7XJPt4swbTQ2"
OB_PUBLIC = "z6MkjZRZv3aez3r18pB1RBFJR1kwUVJ5jHt92JmQwXbd5hwi"
OB_PUBLIC_HEX = "4bdeafde2ea8beefadd8c699b5c7e0704cf51154d52e17b20b71337ca04cc5a5"
OB_ISSUER = "https://example.edu/issuers/565049"
CONTEXTS = ["https://www.w3.org/ns/did/v1", "https://w3id.org/security/multikey/v1"]
WEB_DID = "did:web:example.com:issuers:42"
WEB_URL = "https://example.com/issuers/42/did.json"


class FakeWeb:
    """A fetch_json that answers from a dict and records every URL asked for."""

    def __init__(self, documents: dict[str, Any]) -> None:
        self.documents = documents
        self.asked: list[str] = []

    def __call__(self, url: str) -> dict[str, Any]:
        self.asked.append(url)
        if url not in self.documents:
            raise FetchError(f"Could not fetch {url}: the server answered HTTP 404.")
        return self.documents[url]


def no_fetch(url: str) -> dict[str, Any]:
    raise AssertionError(f"unexpected fetch of {url}")


# --- did:key ----------------------------------------------------------------------------------


def test_did_key_of_w3c_key() -> None:
    assert did.did_key_from_public_key(W3C_RAW) == W3C_DID


def test_did_key_document_exact() -> None:
    vm = f"{W3C_DID}#{W3C_PUBLIC}"
    assert did.did_key_document(W3C_DID) == {
        "@context": [
            "https://www.w3.org/ns/did/v1",
            "https://w3id.org/security/multikey/v1",
        ],
        "id": "did:key:z6MkrJVnaZkeFzdQyMZu1cgjg7k1pZZ6pvBQ7XJPt4swbTQ2",
        "verificationMethod": [
            {
                "id": "did:key:z6MkrJVnaZkeFzdQyMZu1cgjg7k1pZZ6pvBQ7XJPt4swbTQ2"
                "#z6MkrJVnaZkeFzdQyMZu1cgjg7k1pZZ6pvBQ7XJPt4swbTQ2",
                "type": "Multikey",
                "controller": "did:key:z6MkrJVnaZkeFzdQyMZu1cgjg7k1pZZ6pvBQ7XJPt4swbTQ2",
                "publicKeyMultibase": "z6MkrJVnaZkeFzdQyMZu1cgjg7k1pZZ6pvBQ7XJPt4swbTQ2",
            }
        ],
        "authentication": [vm],
        "assertionMethod": [vm],
        "capabilityInvocation": [vm],
        "capabilityDelegation": [vm],
    }


@pytest.mark.parametrize(
    "value",
    [
        "did:key:" + multikey.encode_base58btc(b"\xec\x01" + bytes(32)),  # X25519 multicodec
        "did:key:" + multikey.encode_base58btc(b"\xed\x01" + bytes(31)),  # short key
        "did:key:" + multikey.encode_base58btc(b"\xed\x01" + bytes(33)),  # long key
        "did:key:" + W3C_PUBLIC[1:],  # no multibase prefix
        "did:key:",
        f"{W3C_DID}#{W3C_PUBLIC}",
        W3C_PUBLIC,
        "did:web:example.com",
    ],
)
def test_did_key_document_refuses(value: str) -> None:
    with pytest.raises(DidError):
        did.did_key_document(value)


def test_did_key_from_wrong_length_refused() -> None:
    with pytest.raises(DidError, match="32 bytes"):
        did.did_key_from_public_key(bytes(31))


# --- did:web ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("base_url", "path", "expected"),
    [
        ("https://example.com", None, "did:web:example.com"),
        ("https://Example.COM/", None, "did:web:example.com"),
        ("http://localhost:5000", None, "did:web:localhost%3A5000"),
        ("https://example.com", "issuers/42", "did:web:example.com:issuers:42"),
        ("https://example.com/issuers/42", None, "did:web:example.com:issuers:42"),
        ("https://example.com/issuers/", "/42/", "did:web:example.com:issuers:42"),
        (
            "https://w3c-ccg.github.io:8443",
            "user/alice",
            "did:web:w3c-ccg.github.io%3A8443:user:alice",
        ),
        ("https://example.com", "a:b", "did:web:example.com:a%3Ab"),
    ],
)
def test_did_web_from_url(base_url: str, path: str | None, expected: str) -> None:
    assert did.did_web_from_url(base_url, path) == expected


@pytest.mark.parametrize(
    ("base_url", "message"),
    [
        ("https://127.0.0.1", "IP address"),
        ("https://10.0.0.1:5000", "IP address"),
        ("https://[::1]:5000", "IP address"),
        ("https://2130706433", "IP address"),
        ("ftp://example.com", "http"),
        ("example.com", "http"),
        ("https://user@example.com", "credentials"),
        ("https://example.com/?q=1", "query"),
        ("https://exa_mple.com", "DNS host"),
        ("https://", "DNS host"),
        ("https://example.com/a/../b", "'..'"),
        ("https://example.com:99999", "port"),
    ],
)
def test_did_web_from_url_refuses(base_url: str, message: str) -> None:
    with pytest.raises(DidError, match=message):
        did.did_web_from_url(base_url)


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("did:web:example.com", "https://example.com/.well-known/did.json"),
        ("did:web:example.com:issuers:42", "https://example.com/issuers/42/did.json"),
        ("did:web:localhost%3A5000", "https://localhost:5000/.well-known/did.json"),
        ("did:web:localhost%3a5000:u:alice", "https://localhost:5000/u/alice/did.json"),
        ("did:web:w3c-ccg.github.io:user:alice", "https://w3c-ccg.github.io/user/alice/did.json"),
    ],
)
def test_did_web_to_url(value: str, expected: str) -> None:
    assert did.did_web_to_url(value) == expected


def test_did_web_to_url_http_only_on_request() -> None:
    assert (
        did.did_web_to_url("did:web:localhost%3A5000", scheme="http")
        == "http://localhost:5000/.well-known/did.json"
    )
    with pytest.raises(DidError):
        did.did_web_to_url("did:web:example.com", scheme="ftp")


@pytest.mark.parametrize(
    "value",
    [
        "did:web:",
        "did:web:127.0.0.1",
        "did:web:[::1]",
        "did:web:example.com#key-1",
        "did:web:example.com/path",
        "did:web:example.com?x=1",
        "did:web:example.com::x",
        "did:web:example.com:..",
        "did:web:example.com:%2E%2E",
        "did:web:ex ample.com",
        "did:web:example.com%3Aabc",
        "did:web:example.com%3A0",
        "did:web:example.com%2Fevil",
        "did:WEB:example.com",
        W3C_DID,
    ],
)
def test_did_web_to_url_refuses(value: str) -> None:
    with pytest.raises(DidError):
        did.did_web_to_url(value)


def test_did_web_round_trip() -> None:
    value = did.did_web_from_url("https://badges.example.org:8443/issuers/7")
    assert value == "did:web:badges.example.org%3A8443:issuers:7"
    assert did.did_web_to_url(value) == "https://badges.example.org:8443/issuers/7/did.json"
    assert did.did_web_host(value) == "badges.example.org:8443"


def test_did_web_document_exact() -> None:
    document = did.did_web_document(
        WEB_DID, [("key-2", OB_PUBLIC)], retired=[("key-1", W3C_PUBLIC)]
    )
    assert document == {
        "@context": CONTEXTS,
        "id": "did:web:example.com:issuers:42",
        "verificationMethod": [
            {
                "id": "did:web:example.com:issuers:42#key-2",
                "type": "Multikey",
                "controller": "did:web:example.com:issuers:42",
                "publicKeyMultibase": OB_PUBLIC,
            },
            {
                "id": "did:web:example.com:issuers:42#key-1",
                "type": "Multikey",
                "controller": "did:web:example.com:issuers:42",
                "publicKeyMultibase": W3C_PUBLIC,
            },
        ],
        "authentication": ["did:web:example.com:issuers:42#key-2"],
        "assertionMethod": ["did:web:example.com:issuers:42#key-2", "did:web:example.com:issuers:42#key-1"],
    }


@pytest.mark.parametrize(
    ("value", "keys", "retired"),
    [
        (WEB_DID, [("k", W3C_PUBLIC), ("k", OB_PUBLIC)], []),
        (WEB_DID, [("k", W3C_PUBLIC)], [("k", OB_PUBLIC)]),
        (WEB_DID, [("a#b", W3C_PUBLIC)], []),
        (WEB_DID, [("", W3C_PUBLIC)], []),
        (WEB_DID, [("k", "z3u2en7t5LR2WtQH5PfFqMqwVHBeXouLzo6haApm8XHqvjxq")], []),
        ("did:web:127.0.0.1", [("k", W3C_PUBLIC)], []),
        (W3C_DID, [("k", W3C_PUBLIC)], []),
    ],
)
def test_did_web_document_refuses(value: str, keys: Any, retired: Any) -> None:
    with pytest.raises(DidError):
        did.did_web_document(value, keys, retired)


# --- resolution: did:key ----------------------------------------------------------------------


def test_resolve_did_key_offline() -> None:
    vm_url = f"{W3C_DID}#{W3C_PUBLIC}"
    method = did.resolve_verification_method(vm_url, fetch_json=no_fetch)
    assert method == did.VerificationMethod(
        id=vm_url,
        controller=W3C_DID,
        public_key=W3C_RAW,
        type="Multikey",
        purposes=frozenset(
            {"authentication", "assertionMethod", "capabilityInvocation", "capabilityDelegation"}
        ),
    )
    assert did.resolve_verification_method(W3C_DID, fetch_json=no_fetch) == method


def test_resolve_did_key_wrong_fragment() -> None:
    with pytest.raises(DidError, match="#key-1"):
        did.resolve_verification_method(f"{W3C_DID}#key-1", fetch_json=no_fetch)


# --- resolution: did:web ----------------------------------------------------------------------


def _web() -> FakeWeb:
    document = did.did_web_document(WEB_DID, [("key-2", OB_PUBLIC)], [("key-1", W3C_PUBLIC)])
    return FakeWeb({WEB_URL: document})


def test_resolve_did_web() -> None:
    web = _web()
    method = did.resolve_verification_method(f"{WEB_DID}#key-2", fetch_json=web)
    assert method == did.VerificationMethod(
        id="did:web:example.com:issuers:42#key-2",
        controller=WEB_DID,
        public_key=bytes.fromhex(OB_PUBLIC_HEX),
        type="Multikey",
        purposes=frozenset({"assertionMethod", "authentication"}),
    )
    assert web.asked == [WEB_URL]


def test_resolve_did_web_retired_key_still_asserts() -> None:
    """A retired key signs nothing new, but what it signed stays verifiable: assertion only."""
    method = did.resolve_verification_method(f"{WEB_DID}#key-1", fetch_json=_web())
    assert method.public_key == W3C_RAW
    assert method.purposes == frozenset({"assertionMethod"})


def test_resolve_did_web_relative_ids_and_purposes() -> None:
    document = {
        "@context": CONTEXTS,
        "id": WEB_DID,
        "verificationMethod": [
            {"id": "#k", "type": "Multikey", "controller": WEB_DID, "publicKeyMultibase": OB_PUBLIC}
        ],
        "authentication": ["#k"],
        "capabilityInvocation": [f"{WEB_DID}#k"],
    }
    method = did.resolve_verification_method(
        f"{WEB_DID}#k", fetch_json=FakeWeb({WEB_URL: document})
    )
    assert method.id == f"{WEB_DID}#k"
    assert method.purposes == frozenset({"authentication", "capabilityInvocation"})
    assert "assertionMethod" not in method.purposes


def test_resolve_did_web_embedded_in_relationship() -> None:
    embedded = {
        "id": f"{WEB_DID}#e",
        "type": "Multikey",
        "controller": WEB_DID,
        "publicKeyMultibase": OB_PUBLIC,
    }
    document = {"id": WEB_DID, "assertionMethod": [embedded]}
    method = did.resolve_verification_method(
        f"{WEB_DID}#e", fetch_json=FakeWeb({WEB_URL: document})
    )
    assert method.purposes == frozenset({"assertionMethod"})


def test_resolve_did_web_over_http_only_for_listed_hosts() -> None:
    value = "did:web:localhost%3A5000"
    document = did.did_web_document(value, [("k", OB_PUBLIC)])
    web = FakeWeb({"http://localhost:5000/.well-known/did.json": document})
    method = did.resolve_verification_method(
        f"{value}#k", fetch_json=web, http_hosts={"localhost:5000"}
    )
    assert method.controller == value
    with pytest.raises(FetchError):
        did.resolve_verification_method(f"{value}#k", fetch_json=web)
    assert web.asked[-1] == "https://localhost:5000/.well-known/did.json"


def test_resolve_did_web_document_id_mismatch() -> None:
    document = did.did_web_document("did:web:evil.example", [("key-2", OB_PUBLIC)])
    with pytest.raises(DidError, match=f"{WEB_URL}.*did:web:evil.example"):
        did.resolve_verification_method(f"{WEB_DID}#key-2", fetch_json=FakeWeb({WEB_URL: document}))


def test_resolve_did_web_method_not_found() -> None:
    with pytest.raises(DidError, match="does not publish the verification method"):
        did.resolve_verification_method(f"{WEB_DID}#key-9", fetch_json=_web())


def test_resolve_did_web_needs_fragment() -> None:
    with pytest.raises(DidError, match="fragment"):
        did.resolve_verification_method(WEB_DID, fetch_json=_web())


def _single(method: dict[str, Any]) -> FakeWeb:
    return FakeWeb(
        {
            WEB_URL: {
                "id": WEB_DID,
                "verificationMethod": [method],
                "assertionMethod": [method["id"]],
            }
        }
    )


@pytest.mark.parametrize(
    ("method", "message"),
    [
        (
            {
                "id": f"{WEB_DID}#k",
                "type": "Multikey",
                "controller": "did:web:other.example",
                "publicKeyMultibase": OB_PUBLIC,
            },
            "controller",
        ),
        ({"id": f"{WEB_DID}#k", "type": "Multikey", "publicKeyMultibase": OB_PUBLIC}, "controller"),
        (
            {
                "id": f"{WEB_DID}#k",
                "type": "JsonWebKey2020",
                "controller": WEB_DID,
                "publicKeyJwk": {"kty": "OKP"},
            },
            "unsupported type",
        ),
        ({"id": f"{WEB_DID}#k", "type": "Multikey", "controller": WEB_DID}, "publicKeyMultibase"),
        (
            {
                "id": f"{WEB_DID}#k",
                "type": "Multikey",
                "controller": WEB_DID,
                "publicKeyMultibase": multikey.encode_base58btc(b"\xec\x01" + bytes(32)),
            },
            "0xed01",
        ),
    ],
)
def test_resolve_did_web_bad_method(method: dict[str, Any], message: str) -> None:
    with pytest.raises(DidError, match=message):
        did.resolve_verification_method(f"{WEB_DID}#k", fetch_json=_single(method))


def test_resolve_legacy_ed25519_verification_key_2020() -> None:
    method = {
        "id": f"{WEB_DID}#k",
        "type": "Ed25519VerificationKey2020",
        "controller": WEB_DID,
        "publicKeyMultibase": OB_PUBLIC,
    }
    resolved = did.resolve_verification_method(f"{WEB_DID}#k", fetch_json=_single(method))
    assert resolved.type == "Ed25519VerificationKey2020"
    assert resolved.purposes == frozenset({"assertionMethod"})


def test_resolve_did_web_conflicting_duplicates() -> None:
    first = {
        "id": f"{WEB_DID}#k",
        "type": "Multikey",
        "controller": WEB_DID,
        "publicKeyMultibase": OB_PUBLIC,
    }
    second = dict(first, publicKeyMultibase=W3C_PUBLIC)
    document = {"id": WEB_DID, "verificationMethod": [first], "assertionMethod": [second]}
    with pytest.raises(DidError, match="twice"):
        did.resolve_verification_method(f"{WEB_DID}#k", fetch_json=FakeWeb({WEB_URL: document}))


def test_resolve_fetch_error_passes_through() -> None:
    with pytest.raises(FetchError, match="404"):
        did.resolve_verification_method(f"{WEB_DID}#key-2", fetch_json=FakeWeb({}))
    with pytest.raises(FetchError, match="404"):
        did.resolve_verification_method(f"{OB_ISSUER}#key-1", fetch_json=FakeWeb({}))


def test_resolve_non_object_answer() -> None:
    web = FakeWeb({WEB_URL: ["not", "an", "object"]})
    with pytest.raises(DidError, match=f"{WEB_URL} did not return a JSON object"):
        did.resolve_verification_method(f"{WEB_DID}#k", fetch_json=web)


# --- resolution: HTTPS key URLs ---------------------------------------------------------------


def test_resolve_https_controller_document() -> None:
    vm_url = f"{OB_ISSUER}#{OB_PUBLIC}"
    document = {
        "@context": CONTEXTS,
        "id": OB_ISSUER,
        "verificationMethod": [
            {
                "id": vm_url,
                "type": "Multikey",
                "controller": OB_ISSUER,
                "publicKeyMultibase": OB_PUBLIC,
            }
        ],
        "assertionMethod": [vm_url],
    }
    web = FakeWeb({OB_ISSUER: document})
    method = did.resolve_verification_method(vm_url, fetch_json=web)
    assert method == did.VerificationMethod(
        id=vm_url,
        controller=OB_ISSUER,
        public_key=bytes.fromhex(OB_PUBLIC_HEX),
        type="Multikey",
        purposes=frozenset({"assertionMethod"}),
    )
    assert web.asked == [OB_ISSUER]


def test_resolve_https_fragment_key_not_fetched_is_not_guessed() -> None:
    vm_url = f"{OB_ISSUER}#{OB_PUBLIC}"
    with pytest.raises(DidError) as info:
        did.resolve_verification_method(vm_url, fetch_json=FakeWeb({}))
    assert info.value.code == did.FRAGMENT_KEY_UNPUBLISHED
    assert vm_url in str(info.value)
    assert isinstance(info.value.__cause__, FetchError)


def test_resolve_https_document_without_the_key() -> None:
    profile = {"id": OB_ISSUER, "type": ["Profile"], "name": "Example University"}
    with pytest.raises(DidError, match=f"{OB_ISSUER} does not publish"):
        did.resolve_verification_method(
            f"{OB_ISSUER}#{OB_PUBLIC}", fetch_json=FakeWeb({OB_ISSUER: profile})
        )


def test_resolve_https_controller_document_id_mismatch() -> None:
    vm_url = f"{OB_ISSUER}#k"
    document = {
        "id": "https://evil.example/issuer",
        "verificationMethod": [
            {
                "id": vm_url,
                "type": "Multikey",
                "controller": OB_ISSUER,
                "publicKeyMultibase": OB_PUBLIC,
            }
        ],
    }
    with pytest.raises(DidError, match=OB_ISSUER):
        did.resolve_verification_method(vm_url, fetch_json=FakeWeb({OB_ISSUER: document}))


def test_resolve_https_bare_multikey_document() -> None:
    key_url = "https://example.com/keys/1"
    controller = "https://example.com/issuers/1"
    key_document = {
        "@context": CONTEXTS[1:],
        "id": key_url,
        "type": "Multikey",
        "controller": controller,
        "publicKeyMultibase": OB_PUBLIC,
    }
    controller_document = {
        "@context": CONTEXTS,
        "id": controller,
        "assertionMethod": [key_url],
        "authentication": ["#other"],
    }
    web = FakeWeb({key_url: key_document, controller: controller_document})
    method = did.resolve_verification_method(key_url, fetch_json=web)
    assert method == did.VerificationMethod(
        id=key_url,
        controller=controller,
        public_key=bytes.fromhex(OB_PUBLIC_HEX),
        type="Multikey",
        purposes=frozenset({"assertionMethod"}),
    )
    assert web.asked == [key_url, controller]


def test_resolve_https_bare_multikey_with_fragment_and_did_controller() -> None:
    key_url = "https://example.com/keys#k1"
    key_document = {
        "id": key_url,
        "type": "Multikey",
        "controller": WEB_DID,
        "publicKeyMultibase": OB_PUBLIC,
    }
    controller_document = {"id": WEB_DID, "assertionMethod": [key_url]}
    web = FakeWeb({"https://example.com/keys": key_document, WEB_URL: controller_document})
    method = did.resolve_verification_method(key_url, fetch_json=web)
    assert method.controller == WEB_DID
    assert method.purposes == frozenset({"assertionMethod"})


def test_resolve_https_bare_multikey_controller_mismatch() -> None:
    key_url = "https://example.com/keys/1"
    controller = "https://example.com/issuers/1"
    key_document = {
        "id": key_url,
        "type": "Multikey",
        "controller": controller,
        "publicKeyMultibase": OB_PUBLIC,
    }
    web = FakeWeb({key_url: key_document, controller: {"id": "https://example.com/other"}})
    with pytest.raises(DidError, match="controller document"):
        did.resolve_verification_method(key_url, fetch_json=web)
    no_controller = dict(key_document)
    del no_controller["controller"]
    with pytest.raises(DidError, match="names no controller"):
        did.resolve_verification_method(key_url, fetch_json=FakeWeb({key_url: no_controller}))


@pytest.mark.parametrize(
    "vm_url",
    [
        "urn:uuid:6e8bc430-9c3a-11d9-9669-0800200c9a66",
        "ftp://example.com/key#k",
        "",
        "#k",
        "https://example.com/" + "a" * 3000,
    ],
)
def test_resolve_unsupported_urls(vm_url: str) -> None:
    with pytest.raises(DidError):
        did.resolve_verification_method(vm_url, fetch_json=no_fetch)
