"""Shared fixtures: the known-answer vectors folder and canonicalizers over pinned contexts."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from badgeserver.ld.canon import Canonicalizer
from badgeserver.ld.loader import StaticLoader

VECTORS = Path(__file__).parent / "vectors"
EXAMPLES_V2 = "https://www.w3.org/ns/credentials/examples/v2"


@pytest.fixture(scope="session")
def vectors() -> Path:
    """The folder of official test vectors (tests/vectors)."""
    return VECTORS


@pytest.fixture(scope="session")
def canonicalizer() -> Canonicalizer:
    """A canonicalizer over the production pins only."""
    return Canonicalizer()


@pytest.fixture(scope="session")
def examples_loader() -> StaticLoader:
    """The production pins plus the W3C examples context (tests only, CTX-12)."""
    examples = json.loads((VECTORS / "contexts" / "w3c-credentials-examples-v2.jsonld").read_text())
    return StaticLoader().with_extra({EXAMPLES_V2: examples})


@pytest.fixture(scope="session")
def examples_canonicalizer(examples_loader: StaticLoader) -> Canonicalizer:
    """A canonicalizer that also knows the W3C examples context."""
    return Canonicalizer(examples_loader)
