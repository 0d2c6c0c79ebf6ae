"""A static JSON-LD document loader: pinned contexts only, every other URL refused (CTX-9)."""

from __future__ import annotations

import copy
from collections.abc import Mapping
from typing import Any

from pyld.jsonld import JsonLdError

from badgeserver.ld.contexts import PinnedContext, production_contexts


class StaticLoader:
    """Answers pyld's document requests from pinned contexts; refuses every other URL."""

    def __init__(self, contexts: Mapping[str, PinnedContext] | None = None) -> None:
        """Build a loader over `contexts` (default: the production pins)."""
        self.contexts = dict(production_contexts() if contexts is None else contexts)

    def with_extra(self, extra: Mapping[str, dict[str, Any]]) -> StaticLoader:
        """Return a loader that also answers `extra` URLs (tests only: examples contexts)."""
        merged = dict(self.contexts)
        for url, document in extra.items():
            merged[url] = PinnedContext(url=url, file="", sha256="", document=document)
        return StaticLoader(merged)

    def __contains__(self, url: object) -> bool:
        return url in self.contexts

    def __call__(self, url: str, options: Any = None) -> dict[str, Any]:
        """Return the pinned document for `url` with tag "static" so pyld caches it processed."""
        pinned = self.contexts.get(url)
        if pinned is None:
            raise JsonLdError(
                f"The JSON-LD context {url} is not pinned by badgeserver and was not loaded.",
                "jsonld.LoadDocumentError",
                {"url": url},
                code="loading document failed",
            )
        return {
            "contextUrl": None,
            "documentUrl": url,
            # pyld may annotate what it is given; hand it a copy so the pin stays pristine.
            "document": copy.deepcopy(pinned.document),
            "tag": "static",
        }
