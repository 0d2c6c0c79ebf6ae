"""Safe-mode JSON-LD expansion and RDFC-1.0 canonicalization with a work limit (CTX-10, SIG-4, SIG-12)."""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Iterator
from typing import Any

from cachetools import LRUCache
from pyld.canon import URDNA2015
from pyld.context_resolver import ContextResolver
from pyld.identifier_issuer import IdentifierIssuer
from pyld.jsonld import JsonLdError, JsonLdProcessor

from badgeserver.errors import CanonicalizationError, DataLossError, WorkLimitExceeded
from badgeserver.ld.loader import StaticLoader

# Work units (n-degree hashing calls plus permutations tried) allowed per canonicalization:
# a fixed allowance plus a few per blank node. Ordinary credentials spend almost none;
# a small graph of indistinguishable blank nodes (a clique, a grid) needs millions.
WORK_BASE = 1000
WORK_PER_BLANK_NODE = 4
RESULT_CACHE_SIZE = 64

_ABSOLUTE_IRI = re.compile(r"^[A-Za-z][A-Za-z0-9+\-.]*:[^\s]*$")


class _BoundedURDNA2015(URDNA2015):
    """URDNA2015 that stops once its blank-node hashing work passes a budget."""

    def __init__(self, base: int, per_node: int) -> None:
        super().__init__()
        self.work = 0
        self.base = base
        self.per_node = per_node
        self.limit = base

    def main(self, dataset: Any, options: Any) -> Any:
        blank_nodes = {
            component["value"]
            for triples in dataset.values()
            for triple in triples
            for key, component in triple.items()
            if key != "predicate" and component.get("type") == "blank node"
        }
        self.limit = self.base + self.per_node * len(blank_nodes)
        return super().main(dataset, options)

    def _spend(self, units: int = 1) -> None:
        self.work += units
        if self.work > self.limit:
            raise WorkLimitExceeded(
                "The document's blank nodes are too many alike to canonicalize within the "
                f"work limit ({self.limit} steps); it was rejected."
            )

    def hash_n_degree_quads(self, id_: str, issuer: Any) -> Any:
        self._spend()
        return super().hash_n_degree_quads(id_, issuer)

    def create_hash_to_related(self, id_: str, issuer: Any) -> Any:
        self._spend()
        return super().create_hash_to_related(id_, issuer)


def _raise_dropped(term: str | None) -> None:
    raise DataLossError(
        f"The term {term!r} is not defined by the document's contexts, so it would be "
        "dropped (JSON-LD safe mode)."
    )


def _check_iris(node: Any, path: str = "") -> None:
    """Raise DataLossError for any relative IRI left in expanded JSON-LD (CTX-10)."""
    if isinstance(node, list):
        for item in node:
            _check_iris(item, path)
        return
    if not isinstance(node, dict):
        return
    for key, value in node.items():
        if key == "@id":
            _require_absolute(value, "identifier")
        elif key == "@type":
            # In a value object @type is a datatype; in a node object the node's types.
            for item in value if isinstance(value, list) else [value]:
                if item != "@json":
                    _require_absolute(item, "type")
        elif key in ("@value", "@language", "@direction", "@index"):
            continue
        else:
            _check_iris(value, key)


def _require_absolute(value: Any, what: str) -> None:
    if not isinstance(value, str):
        return
    if value.startswith("_:") or _ABSOLUTE_IRI.match(value):
        return
    raise DataLossError(
        f"The {what} {value!r} is not defined by the document's contexts and is not an "
        "absolute IRI, so it would be dropped (JSON-LD safe mode)."
    )


class Canonicalizer:
    """Expands and canonicalizes JSON-LD against pinned contexts only, refusing data loss."""

    def __init__(
        self,
        loader: StaticLoader | None = None,
        *,
        work_base: int = WORK_BASE,
        work_per_blank_node: int = WORK_PER_BLANK_NODE,
    ) -> None:
        """Use `loader` (default: the production pins) and the given work budget."""
        self.loader = loader or StaticLoader()
        self.work_base = work_base
        self.work_per_blank_node = work_per_blank_node
        # Processed contexts are cached per canonicalizer, keyed by URL; the loader is static.
        self._context_cache: LRUCache[str, Any] = LRUCache(maxsize=64)
        self._results: LRUCache[bytes, str] = LRUCache(maxsize=RESULT_CACHE_SIZE)

    def _options(self) -> dict[str, Any]:
        return {
            "documentLoader": self.loader,
            "contextResolver": ContextResolver(self._context_cache, self.loader),
            # CTX-10: no base IRI. pyld resolves an empty base against http://example.org/base/,
            # which would turn a relative IRI into an absolute one instead of refusing it.
            "base": None,
            "processingMode": "json-ld-1.1",
            "extractAllScripts": False,
        }

    def expand(self, document: dict[str, Any]) -> list[Any]:
        """Expand `document` in safe mode: an undefined term or relative IRI raises DataLossError."""
        processor = JsonLdProcessor(on_property_dropped=_raise_dropped)
        try:
            expanded = processor.expand(document, self._options())
        except DataLossError:
            raise
        except JsonLdError as exc:
            raise CanonicalizationError(_describe(exc)) from exc
        except (TypeError, ValueError, KeyError, AttributeError, RecursionError) as exc:
            raise CanonicalizationError(f"The document is not valid JSON-LD ({exc}).") from exc
        _check_iris(expanded)
        return list(expanded)

    def canonicalize(self, document: dict[str, Any]) -> str:
        """Return the RDFC-1.0 (URDNA2015) canonical N-Quads of `document` (SIG-4)."""
        # Canonicalization is a pure function of the JSON and the pinned contexts, so a
        # verifier that checks the contexts and then the signature pays for it once.
        key = hashlib.sha256(
            json.dumps(document, sort_keys=True, ensure_ascii=False).encode("utf-8")
        ).digest()
        cached = self._results.get(key)
        if cached is not None:
            return cached
        expanded = self.expand(document)
        dataset = self._to_rdf(expanded)
        normalizer = _BoundedURDNA2015(self.work_base, self.work_per_blank_node)
        result = str(normalizer.main(dataset, {"format": "application/n-quads"}))
        self._results[key] = result
        return result

    def _to_rdf(self, expanded: list[Any]) -> dict[str, Any]:
        """The RDF dataset of an already expanded, already checked document.

        This is pyld's to_rdf after its expansion step, so the document is expanded once.
        """
        processor = JsonLdProcessor(on_property_dropped=_raise_dropped)
        options = {**self._options(), "produceGeneralizedRdf": False, "rdfDirection": None}
        issuer = IdentifierIssuer("_:b")
        node_map: dict[str, Any] = {"@default": {}}
        try:
            processor._create_node_map(expanded, node_map, "@default", issuer)
            dataset = {}
            for graph_name, graph in sorted(node_map.items()):
                if graph_name == "@default" or _ABSOLUTE_IRI.match(graph_name) or graph_name.startswith("_:"):
                    dataset[graph_name] = processor._graph_to_rdf(graph, issuer, options)
        except JsonLdError as exc:
            raise CanonicalizationError(_describe(exc)) from exc
        return dataset


def _describe(exc: JsonLdError) -> str:
    """One sentence for a pyld error, naming the innermost cause."""
    inner: BaseException = exc
    while inner.__cause__ is not None:
        inner = inner.__cause__
    if isinstance(inner, CanonicalizationError):
        return inner.message
    message = getattr(inner, "message", None)
    if not message and isinstance(inner, JsonLdError) and inner.args:
        # JsonLdError.__str__ prints the args tuple; its first argument is the sentence.
        message = str(inner.args[0])
    message = message or str(inner).splitlines()[0]
    return f"JSON-LD processing failed: {message}"


def iter_contexts(document: Any) -> Iterator[Any]:
    """Yield every @context value that appears anywhere in a JSON document."""
    if isinstance(document, dict):
        for key, value in document.items():
            if key == "@context":
                yield value
            else:
                yield from iter_contexts(value)
    elif isinstance(document, list):
        for item in document:
            yield from iter_contexts(item)
