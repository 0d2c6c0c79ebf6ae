"""did:key and did:web identifiers, DID documents, and verification-method resolution."""

from __future__ import annotations

import ipaddress
import re
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote, unquote, urlsplit

from badgeserver.errors import DidError, FetchError, KeyMaterialError
from badgeserver.integrity import multikey

DID_V1_CONTEXT = "https://www.w3.org/ns/did/v1"
MULTIKEY_V1_CONTEXT = "https://w3id.org/security/multikey/v1"
DID_DOCUMENT_CONTEXTS = (DID_V1_CONTEXT, MULTIKEY_V1_CONTEXT)
DID_KEY_PREFIX = "did:key:"
DID_WEB_PREFIX = "did:web:"
RELATIONSHIPS = (
    "authentication",
    "assertionMethod",
    "capabilityInvocation",
    "capabilityDelegation",
    "keyAgreement",
)
DID_KEY_RELATIONSHIPS = RELATIONSHIPS[:4]
KEY_TYPES = frozenset({"Multikey", "Ed25519VerificationKey2020"})
# DidError code when an HTTPS key URL ends in a z6Mk fragment but nothing could be fetched
# (KEY-5): the verifier decides whether to trust the fragment; this module never does.
FRAGMENT_KEY_UNPUBLISHED = "fragment_key_unpublished"
MAX_URL_LENGTH = 2048

FetchJson = Callable[[str], dict[str, Any]]

_LABEL = r"[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?"
_HOST_RE = re.compile(rf"{_LABEL}(?:\.{_LABEL})*", re.IGNORECASE)
_PORT_RE = re.compile(r"[0-9]{1,5}")
_SEGMENT_RE = re.compile(r"(?:[A-Za-z0-9._-]|%[0-9A-Fa-f]{2})+")
_KEY_ID_RE = re.compile(r"[A-Za-z0-9._~-]{1,128}")


@dataclass(frozen=True)
class VerificationMethod:
    """A resolved Ed25519 verification method and the relationships that list it."""

    id: str
    controller: str
    public_key: bytes
    type: str
    purposes: frozenset[str]


def _reason(exc: Exception) -> str:
    text = str(exc).rstrip(".")
    return text[:1].lower() + text[1:]


# --- did:key (DID-4) ---------------------------------------------------------------------------


def did_key_from_public_key(raw32: bytes) -> str:
    """Return the did:key (`did:key:z6Mk...`) of a 32-byte Ed25519 public key."""
    try:
        return DID_KEY_PREFIX + multikey.encode_public_key(raw32)
    except KeyMaterialError as exc:
        raise DidError(f"Cannot make a did:key: {_reason(exc)}.") from None


def _did_key_multibase(did: str) -> tuple[str, bytes]:
    if not isinstance(did, str) or not did.startswith(DID_KEY_PREFIX):
        raise DidError(f"{did!r} is not a did:key identifier.")
    value = did[len(DID_KEY_PREFIX) :]
    if not value or any(c in value for c in "#?/:"):
        raise DidError(f"{did!r} is not a did:key identifier.")
    try:
        return value, multikey.decode_public_key(value)
    except KeyMaterialError as exc:
        raise DidError(f"{did} is not an Ed25519 did:key: {_reason(exc)}.") from None


def did_key_document(did: str) -> dict[str, Any]:
    """Return the DID document of an Ed25519 did:key (DID-4)."""
    value, _ = _did_key_multibase(did)
    vm_id = f"{did}#{value}"
    document: dict[str, Any] = {
        "@context": list(DID_DOCUMENT_CONTEXTS),
        "id": did,
        "verificationMethod": [
            {"id": vm_id, "type": "Multikey", "controller": did, "publicKeyMultibase": value}
        ],
    }
    for relationship in DID_KEY_RELATIONSHIPS:
        document[relationship] = [vm_id]
    return document


# --- did:web (DID-1, DID-2, DID-3) -------------------------------------------------------------


def _check_web_host(host: str, source: str) -> None:
    if not _HOST_RE.fullmatch(host):
        raise DidError(f"{source} does not have a valid DNS host name for did:web.")
    try:
        ipaddress.ip_address(host)
    except ValueError:
        pass
    else:
        raise DidError(f"{source} uses an IP address; did:web needs a domain name.")
    if host.rsplit(".", 1)[-1].isdigit():
        raise DidError(f"{source} uses an IP address; did:web needs a domain name.")


def _encode_segment(segment: str, source: str) -> str:
    decoded = unquote(segment)
    if decoded in (".", ".."):
        raise DidError(f"{source} has a '.' or '..' path segment.")
    return quote(decoded, safe="").replace("~", "%7E")


def did_web_from_url(base_url: str, path: str | None = None) -> str:
    """Return the did:web of an http(s) base URL, with `path` segments appended (DID-1)."""
    parts = urlsplit(base_url)
    if parts.scheme.lower() not in ("http", "https"):
        raise DidError(f"{base_url!r} is not an http(s) URL.")
    if "@" in parts.netloc or parts.query or parts.fragment:
        raise DidError(f"{base_url!r} must not carry credentials, a query or a fragment.")
    if "[" in parts.netloc:
        raise DidError(f"{base_url} uses an IP address; did:web needs a domain name.")
    host = (parts.hostname or "").lower()
    _check_web_host(host, base_url)
    try:
        port = parts.port
    except ValueError:
        raise DidError(f"{base_url!r} has an invalid port.") from None
    identifier = host if port is None else f"{host}%3A{port}"
    raw_segments = parts.path.split("/") + (path.split("/") if path else [])
    segments = [_encode_segment(s, base_url) for s in raw_segments if s]
    return DID_WEB_PREFIX + ":".join([identifier, *segments])


def _did_web_parts(did: str) -> tuple[str, list[str]]:
    if not isinstance(did, str) or not did.startswith(DID_WEB_PREFIX):
        raise DidError(f"{did!r} is not a did:web identifier.")
    if any(c in did for c in "#?/") or len(did) > MAX_URL_LENGTH:
        raise DidError(f"{did!r} is not a did:web identifier (a DID URL was given?).")
    first, *segments = did[len(DID_WEB_PREFIX) :].split(":")
    host, sep, port = first.replace("%3a", "%3A").partition("%3A")
    _check_web_host(host, did)
    if sep and (not _PORT_RE.fullmatch(port) or not 0 < int(port) < 65536):
        raise DidError(f"{did} has an invalid port.")
    for segment in segments:
        if not _SEGMENT_RE.fullmatch(segment) or unquote(segment) in (".", ".."):
            raise DidError(f"{did} has an invalid path segment {segment!r}.")
    return (f"{host}:{port}" if sep else host), segments


def did_web_host(did: str) -> str:
    """Return the `host` or `host:port` a did:web is served from."""
    return _did_web_parts(did)[0]


def did_web_to_url(did: str, *, scheme: str = "https") -> str:
    """Return the URL of a did:web's DID document (DID-2); http only if the caller asks."""
    if scheme not in ("https", "http"):
        raise DidError(f"A did:web document is fetched over https, not {scheme!r}.")
    host, segments = _did_web_parts(did)
    path = "/" + "/".join(segments) if segments else "/.well-known"
    return f"{scheme}://{host}{path}/did.json"


def _web_method(did: str, key_id: str, public_key_multibase: str) -> dict[str, Any]:
    if not isinstance(key_id, str) or not _KEY_ID_RE.fullmatch(key_id):
        raise DidError(f"{key_id!r} is not a usable verification method fragment.")
    try:
        multikey.decode_public_key(public_key_multibase)
    except KeyMaterialError as exc:
        raise DidError(f"Key {key_id!r} for {did} is unusable: {_reason(exc)}.") from None
    return {
        "id": f"{did}#{key_id}",
        "type": "Multikey",
        "controller": did,
        "publicKeyMultibase": public_key_multibase,
    }


def did_web_document(
    did: str,
    keys: Sequence[tuple[str, str]],
    retired: Sequence[tuple[str, str]] = (),
) -> dict[str, Any]:
    """Return a did:web DID document (KEY-*, DID-*).

    A retired key no longer signs, but the credentials it signed stay verifiable: it stays in
    verificationMethod and assertionMethod (a proof's purpose is checked against assertionMethod)
    and leaves authentication. A revoked key is simply not passed in: it is gone from the document.
    """
    _did_web_parts(did)
    active = [_web_method(did, key_id, value) for key_id, value in keys]
    old = [_web_method(did, key_id, value) for key_id, value in retired]
    ids = [method["id"] for method in active + old]
    if len(set(ids)) != len(ids):
        raise DidError(f"The DID document of {did} would list a key id twice.")
    active_ids = [method["id"] for method in active]
    return {
        "@context": list(DID_DOCUMENT_CONTEXTS),
        "id": did,
        "verificationMethod": active + old,
        "authentication": list(active_ids),
        "assertionMethod": [*active_ids, *(method["id"] for method in old)],
    }


# --- resolution (KEY-4, KEY-5) ----------------------------------------------------------------


def _as_list(value: Any) -> list[Any]:
    if value is None:
        return []
    return value if isinstance(value, list) else [value]


def _absolute(reference: Any, base: str) -> str | None:
    if not isinstance(reference, str):
        return None
    return base + reference if reference.startswith("#") else reference


def _fetch_document(fetch_json: FetchJson, url: str) -> dict[str, Any]:
    document = fetch_json(url)
    if not isinstance(document, dict):
        raise DidError(f"{url} did not return a JSON object.")
    return document


def _purposes(document: dict[str, Any], target: str) -> frozenset[str]:
    base = document.get("id")
    found = set()
    for relationship in RELATIONSHIPS:
        for entry in _as_list(document.get(relationship)):
            reference = entry.get("id") if isinstance(entry, dict) else entry
            if isinstance(base, str) and _absolute(reference, base) == target:
                found.add(relationship)
    return frozenset(found)


def _key_of(method: dict[str, Any], vm_url: str) -> tuple[str, bytes]:
    kind = method.get("type")
    if kind not in KEY_TYPES:
        raise DidError(f"The verification method {vm_url} has unsupported type {kind!r}.")
    value = method.get("publicKeyMultibase")
    if not isinstance(value, str):
        raise DidError(f"The verification method {vm_url} has no publicKeyMultibase.")
    try:
        return kind, multikey.decode_public_key(value)
    except KeyMaterialError as exc:
        raise DidError(f"The verification method {vm_url} holds {_reason(exc)}.") from None


def _method_in_document(
    document: dict[str, Any], target: str, vm_url: str, source: str
) -> VerificationMethod:
    base = document["id"]
    embedded = [document.get("verificationMethod")]
    embedded += [document.get(relationship) for relationship in RELATIONSHIPS]
    candidates = [
        entry
        for group in embedded
        for entry in _as_list(group)
        if isinstance(entry, dict) and _absolute(entry.get("id"), base) == target
    ]
    if not candidates:
        raise DidError(f"{source} does not publish the verification method {vm_url}.")
    method = candidates[0]
    if any(other != method for other in candidates[1:]):
        raise DidError(f"{source} defines the verification method {vm_url} twice, differently.")
    controller = _absolute(method.get("controller"), base)
    if controller is None or controller != base:
        raise DidError(
            f"The verification method {vm_url} names controller {controller!r}, "
            f"not the document {base} that publishes it."
        )
    kind, public_key = _key_of(method, vm_url)
    return VerificationMethod(target, controller, public_key, kind, _purposes(document, target))


def _resolve_did_key(vm_url: str, did: str, fragment: str) -> VerificationMethod:
    value, _ = _did_key_multibase(did)
    if fragment and fragment != value:
        raise DidError(f"The did:key document of {did} has no verification method #{fragment}.")
    document = did_key_document(did)
    return _method_in_document(document, f"{did}#{value}", vm_url, did)


def _did_web_document(did: str, fetch_json: FetchJson, http_hosts: frozenset[str]) -> dict[str, Any]:
    scheme = "http" if did_web_host(did) in http_hosts else "https"
    url = did_web_to_url(did, scheme=scheme)
    document = _fetch_document(fetch_json, url)
    if document.get("id") != did:
        raise DidError(f"The DID document at {url} has id {document.get('id')!r}, not {did}.")
    return document


def _controller_document(
    controller: str, fetch_json: FetchJson, http_hosts: frozenset[str]
) -> dict[str, Any]:
    if controller.startswith(DID_KEY_PREFIX):
        return did_key_document(controller)
    if controller.startswith(DID_WEB_PREFIX):
        return _did_web_document(controller, fetch_json, http_hosts)
    if "#" in controller or urlsplit(controller).scheme.lower() not in ("http", "https"):
        raise DidError(f"The key controller {controller!r} is not a DID or an http(s) URL.")
    document = _fetch_document(fetch_json, controller)
    if document.get("id") != controller:
        raise DidError(
            f"The controller document at {controller} has id {document.get('id')!r}, not {controller}."
        )
    return document


def _is_key_document(document: dict[str, Any]) -> bool:
    return any(kind in KEY_TYPES for kind in _as_list(document.get("type")))


def _looks_like_multikey(fragment: str) -> bool:
    try:
        multikey.decode_public_key(fragment)
    except KeyMaterialError:
        return False
    return True


def _resolve_http(
    vm_url: str, url: str, fragment: str, fetch_json: FetchJson, http_hosts: frozenset[str]
) -> VerificationMethod:
    try:
        document = _fetch_document(fetch_json, url)
    except FetchError as exc:
        if fragment and _looks_like_multikey(fragment):
            raise DidError(
                f"The key {vm_url} could not be fetched from {url}; its fragment is a key "
                f"value, but a key is only trusted when its controller publishes it.",
                code=FRAGMENT_KEY_UNPUBLISHED,
            ) from exc
        raise
    if _is_key_document(document) and document.get("id") == vm_url:
        controller = document.get("controller")
        if not isinstance(controller, str) or not controller:
            raise DidError(f"The key document {vm_url} names no controller.")
        kind, public_key = _key_of(document, vm_url)
        controller_document = _controller_document(controller, fetch_json, http_hosts)
        purposes = _purposes(controller_document, vm_url)
        return VerificationMethod(vm_url, controller, public_key, kind, purposes)
    if not fragment:
        raise DidError(f"{vm_url} is neither a key document nor a verification method URL.")
    if document.get("id") != url:
        raise DidError(f"The controller document at {url} has id {document.get('id')!r}.")
    return _method_in_document(document, vm_url, vm_url, url)


def resolve_verification_method(
    vm_url: str,
    *,
    fetch_json: FetchJson,
    http_hosts: Iterable[str] = frozenset(),
) -> VerificationMethod:
    """Return the key and verification relationships of a did:key, did:web or HTTPS method."""
    if not isinstance(vm_url, str) or not vm_url or len(vm_url) > MAX_URL_LENGTH:
        raise DidError("The verification method is not a usable URL.")
    hosts = frozenset(http_hosts)
    base, _, fragment = vm_url.partition("#")
    if base.startswith(DID_KEY_PREFIX):
        return _resolve_did_key(vm_url, base, fragment)
    if base.startswith(DID_WEB_PREFIX):
        if not fragment:
            raise DidError(f"The did:web URL {vm_url} names no verification method (#fragment).")
        document = _did_web_document(base, fetch_json, hosts)
        return _method_in_document(document, vm_url, vm_url, base)
    if urlsplit(base).scheme.lower() in ("http", "https"):
        return _resolve_http(vm_url, base, fragment, fetch_json, hosts)
    raise DidError(f"The verification method {vm_url} is not a did:key, did:web or HTTPS URL.")
