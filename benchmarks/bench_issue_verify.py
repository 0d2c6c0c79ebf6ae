"""Median time to issue and to verify a typical credential, against the floor of the crypto it needs.

The floor is what no implementation can avoid: one Ed25519 signature (or verification) and two
SHA-256 hashes over the canonical documents. Run: `make bench` or `python benchmarks/bench_issue_verify.py`.
"""

from __future__ import annotations

import argparse
import hashlib
import statistics
import time
from collections.abc import Callable
from datetime import UTC, datetime

from badgeserver import did, keys
from badgeserver.issuer.build import (
    AchievementSpec,
    Alignment,
    Award,
    EvidenceItem,
    IssuerProfile,
    Recipient,
    ResultAchieved,
    RubricCriterion,
    RubricLevel,
    StatusEntry,
    build_credential,
)
from badgeserver.issuer.sign import sign_credential
from badgeserver.issuer.status_list import build_status_list
from badgeserver.ld.canon import Canonicalizer
from badgeserver.verify.pipeline import Verifier

BASE = "https://badges.example.org/achievements/phenomenon-based-teaching/v2"
STATUS_URL = "https://badges.example.org/status/1"


def typical_records(pair: keys.KeyPair) -> tuple[IssuerProfile, AchievementSpec]:
    """An issuer and a microcredential with a three-criterion rubric: about 40 properties."""
    issuer = IssuerProfile(
        id=did.did_key_from_public_key(pair.public_key_bytes),
        name="Utah State Board of Education",
        url="https://schools.utah.gov",
        image="https://badges.example.org/issuers/usbe.png",
    )
    rubric = tuple(
        RubricCriterion(
            id=f"{BASE}#c{i}",
            name=name,
            levels=tuple(
                RubricLevel(id=f"{BASE}#c{i}-l{j}", name=level)
                for j, level in enumerate(("Not yet", "Proficient"))
            ),
        )
        for i, name in enumerate(("Phenomenon selection", "Student questions", "Reflection"))
    )
    achievement = AchievementSpec(
        id=BASE,
        name="Phenomenon-Based Teaching & Learning",
        description="The educator anchors instruction in a phenomenon students work to explain.",
        criteria_narrative="A unit plan, student work samples, and a reflection on student sensemaking.",
        image=f"{BASE}/image.png",
        credits_available=0.5,
        version="2",
        alignments=(Alignment("Utah SEEd Standards", "https://www.schools.utah.gov/curr/science"),),
        rubric=rubric,
    )
    return issuer, achievement


def median_us(func: Callable[[], object], rounds: int) -> float:
    """The median wall time of `func` over `rounds` calls, in microseconds."""
    samples = []
    for _ in range(rounds):
        start = time.perf_counter()
        func()
        samples.append(time.perf_counter() - start)
    return statistics.median(samples) * 1e6


def main() -> None:
    """Print the medians and the ratios to the floor."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--rounds", type=int, default=300)
    rounds = parser.parse_args().rounds

    pair = keys.generate()
    assert pair.private_key is not None
    issuer, achievement = typical_records(pair)
    did_key = issuer.id
    vm = f"{did_key}#{pair.public_key_multibase}"
    canonicalizer = Canonicalizer()
    now = datetime(2026, 6, 1, 12, 0, tzinfo=UTC)
    counter = iter(range(10**9))

    def issue() -> dict:
        n = next(counter)
        unsigned = build_credential(
            issuer,
            achievement,
            Recipient(email=f"educator{n}@example.org", salt=f"salt{n}", name=f"Educator {n}"),
            Award(
                credential_id=f"urn:uuid:00000000-0000-4000-8000-{n:012d}",
                valid_from=now,
                results=tuple(ResultAchieved(c.id, c.levels[1].id) for c in achievement.rubric),
                evidence=(EvidenceItem(narrative="Unit plan and two student work samples."),),
                credits_earned=0.5,
                status=StatusEntry(STATUS_URL, 1000 + n),
            ),
        )
        return sign_credential(
            unsigned,
            private_key=pair.private_key,
            verification_method=vm,
            now=now,
            canonicalizer=canonicalizer,
        )

    sample = issue()
    # The verifier has its own canonicalizer, so nothing the issuer computed is reused,
    # and each credential is verified once: every figure is a cold verification.
    status_list = sign_credential(
        build_status_list(
            list_url=STATUS_URL, issuer_id=did_key, purpose="revocation", bits=bytes(16384), valid_from=now
        ),
        private_key=pair.private_key,
        verification_method=vm,
        now=now,
        canonicalizer=canonicalizer,
        schema_url=None,
    )
    verifier = Verifier(canonicalizer=Canonicalizer(), fetch_json=lambda url: status_list, clock=lambda: now)
    report = verifier.verify_credential(sample)
    assert report.verified, report.to_json()

    def count(node: object) -> int:
        if isinstance(node, dict):
            return sum(1 + count(v) for v in node.values())
        if isinstance(node, list):
            return sum(count(v) for v in node)
        return 0

    canonical = canonicalizer.canonicalize({k: v for k, v in sample.items() if k != "proof"})
    signature = pair.sign(b"x" * 64)

    def floor_sign() -> None:
        hashlib.sha256(canonical.encode()).digest()
        hashlib.sha256(canonical.encode()).digest()
        pair.sign(b"x" * 64)

    def floor_verify() -> None:
        hashlib.sha256(canonical.encode()).digest()
        hashlib.sha256(canonical.encode()).digest()
        pair.verify(signature, b"x" * 64)

    issued: list[dict] = []
    issue_us = median_us(lambda: issued.append(issue()), rounds)
    # The status list is answered from memory, as a verifier's list cache would (STAT-7).
    pending = iter(issued)
    verify_us = median_us(lambda: verifier.verify_credential(next(pending)), rounds)
    floor_sign_us = median_us(floor_sign, rounds * 10)
    floor_verify_us = median_us(floor_verify, rounds * 10)

    print(f"credential: {count(sample)} properties, {len(canonical.splitlines())} N-Quads, {rounds} rounds")
    print(f"issue  (build + schema + sign + verify-after-sign): median {issue_us / 1000:8.2f} ms")
    print(f"verify (every check; status list from cache):     median {verify_us / 1000:8.2f} ms")
    print(f"floor sign   (Ed25519 sign + 2 x SHA-256):          median {floor_sign_us:8.1f} µs")
    print(f"floor verify (Ed25519 verify + 2 x SHA-256):        median {floor_verify_us:8.1f} µs")
    print(f"ratio issue/floor sign:     {issue_us / floor_sign_us:8.1f}x")
    print(f"ratio verify/floor verify:  {verify_us / floor_verify_us:8.1f}x")


if __name__ == "__main__":
    main()
