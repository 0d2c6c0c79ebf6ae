"""Safe-mode canonicalization (CTX-10, SIG-12) and its work limit on blank-node graphs."""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

import pytest

from badgeserver.errors import DataLossError, WorkLimitExceeded
from badgeserver.ld import canon
from badgeserver.ld.canon import Canonicalizer
from badgeserver.ld.contexts import OB_EXTENSIONS, OB_V3P0
from badgeserver.ld.loader import StaticLoader
from badgeserver.schema import ACHIEVEMENT_CREDENTIAL_SCHEMA

P = "http://example.org/p"
IMPL = "ob-v3p0-impl-eddsa-rdfc-2022"


@pytest.fixture
def unsigned(vectors: Path) -> dict[str, Any]:
    """The 1EdTech implementation-guide credential (VC v2 + OB 3.0.3, no extensions)."""
    return json.loads((vectors / IMPL / "unsigned.json").read_text("utf-8"))


@pytest.fixture
def normalizers(monkeypatch: pytest.MonkeyPatch) -> list[canon._BoundedURDNA2015]:
    """Record every bounded URDNA2015 instance the canonicalizer creates."""
    created: list[canon._BoundedURDNA2015] = []

    class Recording(canon._BoundedURDNA2015):
        def __init__(self, base: int, per_node: int) -> None:
            super().__init__(base, per_node)
            created.append(self)

    monkeypatch.setattr(canon, "_BoundedURDNA2015", Recording)
    return created


def _term_dropped(term: str) -> str:
    return (
        f"The term {term!r} is not defined by the document's contexts, so it would be "
        "dropped (JSON-LD safe mode)."
    )


def _iri_dropped(what: str, value: str) -> str:
    return (
        f"The {what} {value!r} is not defined by the document's contexts and is not an "
        "absolute IRI, so it would be dropped (JSON-LD safe mode)."
    )


# --- safe mode (CTX-10, SIG-12) ------------------------------------------------------------------


def test_ctx10_impl_vector_canonicalizes_to_published_nquads(
    vectors: Path, unsigned: dict[str, Any], canonicalizer: Canonicalizer
) -> None:
    expected = (vectors / IMPL / "document-canon.nq").read_text("utf-8")
    assert canonicalizer.canonicalize(unsigned) == expected


def test_ctx10_undefined_property_is_data_loss(
    unsigned: dict[str, Any], canonicalizer: Canonicalizer
) -> None:
    unsigned["favoriteColor"] = "blue"
    with pytest.raises(DataLossError) as raised:
        canonicalizer.canonicalize(unsigned)
    assert raised.value.message == _term_dropped("favoriteColor")
    assert raised.value.code == "data_loss"


def test_ctx10_undefined_nested_property_is_data_loss(
    unsigned: dict[str, Any], canonicalizer: Canonicalizer
) -> None:
    unsigned["credentialSubject"]["achievement"]["difficulty"] = "hard"
    with pytest.raises(DataLossError) as raised:
        canonicalizer.canonicalize(unsigned)
    assert raised.value.message == _term_dropped("difficulty")


def test_ctx11_schema_validator_type_without_extensions_is_data_loss(
    unsigned: dict[str, Any], canonicalizer: Canonicalizer
) -> None:
    unsigned["credentialSchema"] = [
        {"id": ACHIEVEMENT_CREDENTIAL_SCHEMA, "type": "1EdTechJsonSchemaValidator2019"}
    ]
    with pytest.raises(DataLossError) as raised:
        canonicalizer.canonicalize(unsigned)
    assert raised.value.message == _iri_dropped("type", "1EdTechJsonSchemaValidator2019")


def test_ctx11_schema_validator_type_with_extensions_canonicalizes(
    unsigned: dict[str, Any], canonicalizer: Canonicalizer
) -> None:
    unsigned["@context"].append(OB_EXTENSIONS)
    unsigned["credentialSchema"] = [
        {"id": ACHIEVEMENT_CREDENTIAL_SCHEMA, "type": "1EdTechJsonSchemaValidator2019"}
    ]
    quads = canonicalizer.canonicalize(unsigned).splitlines()
    assert (
        f"<{ACHIEVEMENT_CREDENTIAL_SCHEMA}> <http://www.w3.org/1999/02/22-rdf-syntax-ns#type> "
        "<https://purl.imsglobal.org/spec/vccs/v1p0/context.json#1EdTechJsonSchemaValidator2019> ."
    ) in quads
    assert (
        "<http://example.com/credentials/3527> <https://www.w3.org/2018/credentials#credentialSchema> "
        f"<{ACHIEVEMENT_CREDENTIAL_SCHEMA}> ."
    ) in quads
    assert len(quads) == 18


def test_dm4_issuance_date_under_v2_context_is_data_loss(
    unsigned: dict[str, Any], canonicalizer: Canonicalizer
) -> None:
    unsigned["issuanceDate"] = "2010-01-01T00:00:00Z"
    with pytest.raises(DataLossError) as raised:
        canonicalizer.canonicalize(unsigned)
    assert raised.value.message == _term_dropped("issuanceDate")


def test_ctx10_relative_id_is_data_loss(unsigned: dict[str, Any], canonicalizer: Canonicalizer) -> None:
    unsigned["id"] = "credentials/3527"
    with pytest.raises(DataLossError) as raised:
        canonicalizer.canonicalize(unsigned)
    assert raised.value.message == _iri_dropped("identifier", "credentials/3527")


def test_ctx10_relative_nested_id_is_data_loss(
    unsigned: dict[str, Any], canonicalizer: Canonicalizer
) -> None:
    unsigned["credentialSubject"]["achievement"]["id"] = "../achievements/teamwork"
    with pytest.raises(DataLossError) as raised:
        canonicalizer.canonicalize(unsigned)
    assert raised.value.message == _iri_dropped("identifier", "../achievements/teamwork")


def test_ctx8_endorsement_jwt_is_defined_by_the_amended_context(
    unsigned: dict[str, Any], canonicalizer: Canonicalizer
) -> None:
    jws = "eyJhbGciOiJSUzI1NiJ9.eyJpc3MiOiJodHRwczovL2V4YW1wbGUuZWR1In0.c2ln"
    unsigned["credentialSubject"]["achievement"]["endorsementJwt"] = [jws]
    quads = canonicalizer.canonicalize(unsigned).splitlines()
    assert (
        "<https://example.com/achievements/21st-century-skills/teamwork> "
        "<https://purl.imsglobal.org/spec/vc/ob/vocab.html#endorsementJwt> "
        f'"{jws}" .'
    ) in quads
    assert len(quads) == 17


def test_ctx8_endorsement_jwt_is_data_loss_with_the_repository_303(
    vectors: Path, unsigned: dict[str, Any]
) -> None:
    repository = json.loads((vectors / "contexts" / "ob-v3p0-context-3.0.3.json").read_text())
    repository_canon = Canonicalizer(StaticLoader().with_extra({OB_V3P0: repository}))
    unsigned["credentialSubject"]["achievement"]["endorsementJwt"] = ["a.b.c"]
    with pytest.raises(DataLossError) as raised:
        repository_canon.canonicalize(unsigned)
    assert raised.value.message == _term_dropped("endorsementJwt")


def test_ctx10_expand_does_not_change_the_input(
    unsigned: dict[str, Any], canonicalizer: Canonicalizer
) -> None:
    before = copy.deepcopy(unsigned)
    canonicalizer.canonicalize(unsigned)
    assert unsigned == before


# --- work limit ----------------------------------------------------------------------------------


def _clique(size: int) -> dict[str, Any]:
    return {
        "@graph": [
            {"@id": f"_:b{i}", P: [{"@id": f"_:b{j}"} for j in range(size) if j != i]} for i in range(size)
        ]
    }


def _grid(size: int) -> dict[str, Any]:
    nodes = []
    for row in range(size):
        for col in range(size):
            links = []
            if row + 1 < size:
                links.append({"@id": f"_:b{(row + 1) * size + col}"})
            if col + 1 < size:
                links.append({"@id": f"_:b{row * size + col + 1}"})
            node: dict[str, Any] = {"@id": f"_:b{row * size + col}"}
            if links:
                node[P] = links
            nodes.append(node)
    return {"@graph": nodes}


def test_sig12_three_clique_canonicalizes_exactly(
    normalizers: list[canon._BoundedURDNA2015],
) -> None:
    assert Canonicalizer().canonicalize(_clique(3)) == (
        "_:c14n0 <http://example.org/p> _:c14n1 .\n"
        "_:c14n0 <http://example.org/p> _:c14n2 .\n"
        "_:c14n1 <http://example.org/p> _:c14n0 .\n"
        "_:c14n1 <http://example.org/p> _:c14n2 .\n"
        "_:c14n2 <http://example.org/p> _:c14n0 .\n"
        "_:c14n2 <http://example.org/p> _:c14n1 .\n"
    )
    assert len(normalizers) == 1
    assert normalizers[0].limit == 1012
    assert normalizers[0].work == 30


@pytest.mark.parametrize(
    ("graph", "limit"),
    [(_clique(8), 1000 + 4 * 8), (_grid(6), 1000 + 4 * 36)],
    ids=["8-clique", "6x6-grid"],
)
def test_sig12_hostile_blank_node_graph_hits_work_limit(
    graph: dict[str, Any],
    limit: int,
    normalizers: list[canon._BoundedURDNA2015],
) -> None:
    canonicalizer = Canonicalizer()
    with pytest.raises(WorkLimitExceeded) as raised:
        canonicalizer.canonicalize(graph)
    assert raised.value.code == "canonicalization_work_limit"
    assert raised.value.message == (
        "The document's blank nodes are too many alike to canonicalize within the "
        f"work limit ({limit} steps); it was rejected."
    )
    assert len(normalizers) == 1
    normalizer = normalizers[0]
    assert normalizer.limit == limit
    # It stops at the first step past the budget, not after finishing the work.
    assert normalizer.work == limit + 1
    # A refused graph is refused again: failures are not cached as results.
    with pytest.raises(WorkLimitExceeded):
        canonicalizer.canonicalize(graph)
    assert len(normalizers) == 2
    assert normalizers[1].work == limit + 1


def test_sig12_two_thousand_identical_evidence_items_stay_within_limit(
    unsigned: dict[str, Any],
    normalizers: list[canon._BoundedURDNA2015],
) -> None:
    canonicalizer = Canonicalizer()
    unsigned["evidence"] = [
        {"type": ["Evidence"], "narrative": "Observed a team retrospective."} for _ in range(2000)
    ]
    quads = canonicalizer.canonicalize(unsigned).splitlines()
    assert len(quads) == 16 + 3 * 2000
    evidence_type = (
        "<http://www.w3.org/1999/02/22-rdf-syntax-ns#type> "
        "<https://purl.imsglobal.org/spec/vc/ob/vocab.html#Evidence> ."
    )
    assert sum(quad.endswith(evidence_type) for quad in quads) == 2000
    links = [
        q
        for q in quads
        if q.startswith(
            "<http://example.com/credentials/3527> <https://www.w3.org/2018/credentials#evidence> _:c14n"
        )
    ]
    assert len(links) == 2000
    assert len(normalizers) == 1
    normalizer = normalizers[0]
    assert normalizer.limit == 1000 + 4 * 2001  # 2,000 evidence nodes and the criteria node
    assert normalizer.work == 4000


# --- results follow the document ---------------------------------------------------------------


def test_sig4_same_content_gives_same_nquads_and_changed_content_new_nquads(
    vectors: Path, unsigned: dict[str, Any], normalizers: list[canon._BoundedURDNA2015]
) -> None:
    canonicalizer = Canonicalizer()
    expected = (vectors / IMPL / "document-canon.nq").read_text("utf-8")
    assert canonicalizer.canonicalize(unsigned) == expected
    assert canonicalizer.canonicalize(copy.deepcopy(unsigned)) == expected
    assert len(normalizers) == 1
    unsigned["name"] = "Teamwork Badge II"
    changed = canonicalizer.canonicalize(unsigned)
    assert changed == expected.replace('"Teamwork Badge"', '"Teamwork Badge II"')
    assert len(normalizers) == 2
    assert Canonicalizer().canonicalize(unsigned) == changed


def test_ctx10_data_loss_is_raised_every_time(unsigned: dict[str, Any]) -> None:
    canonicalizer = Canonicalizer()
    unsigned["favoriteColor"] = "blue"
    for _ in range(2):
        with pytest.raises(DataLossError):
            canonicalizer.canonicalize(unsigned)
