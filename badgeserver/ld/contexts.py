"""The pinned JSON-LD contexts: their URLs, files and digests (CTX-1..CTX-13)."""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

from badgeserver.errors import ContextError
from badgeserver.resources import schemas_dir

# Stable context URLs (CTX-1, CTX-11); tests and builders import these.
VC_V2 = "https://www.w3.org/ns/credentials/v2"
VC_V1 = "https://www.w3.org/2018/credentials/v1"
OB_V3P0 = "https://purl.imsglobal.org/spec/ob/v3p0/context-3.0.3.json"
OB_EXTENSIONS = "https://purl.imsglobal.org/spec/ob/v3p0/extensions.json"
STATUS_V1 = "https://www.w3.org/ns/credentials/status/v1"
DATA_INTEGRITY_V2 = "https://w3id.org/security/data-integrity/v2"
MULTIKEY_V1 = "https://w3id.org/security/multikey/v1"
ED25519_2020_V1 = "https://w3id.org/security/suites/ed25519-2020/v1"
OB_CONTEXT_PATTERN = r"^https://purl\.imsglobal\.org/spec/ob/v3p0/context(-3\.\d\.\d)*\.json$"


@dataclass(frozen=True)
class PinnedContext:
    """One pinned context: its URL, the parsed document, and the file's digest."""

    url: str
    file: str
    sha256: str
    document: dict[str, Any]


def _sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def load_pinned(folder: Path) -> dict[str, PinnedContext]:
    """Read a manifest folder and check each file against its pinned and published digests."""
    manifest_path = folder / "manifest.json"
    try:
        manifest = json.loads(manifest_path.read_text("utf-8"))
    except (OSError, ValueError) as exc:
        raise ContextError(f"The context manifest {manifest_path} cannot be read.") from exc
    pinned: dict[str, PinnedContext] = {}
    for entry in manifest["contexts"]:
        data = (folder / entry["file"]).read_bytes()
        digest = _sha256(data)
        # CTX-4..CTX-6: the W3C contexts must hash to their published digests.
        expected = entry.get("published_sha256") or entry["sha256"]
        if digest != expected or digest != entry["sha256"]:
            raise ContextError(
                f"The pinned context for {entry['url']} ({entry['file']}) does not match "
                f"its digest {expected}."
            )
        pinned[entry["url"]] = PinnedContext(
            url=entry["url"], file=entry["file"], sha256=digest, document=json.loads(data)
        )
    return pinned


@cache
def production_contexts() -> dict[str, PinnedContext]:
    """Return the contexts pinned in schemas/contexts, digests checked once per process."""
    return load_pinned(schemas_dir() / "contexts")
