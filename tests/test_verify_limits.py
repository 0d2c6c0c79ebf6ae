"""A verification does bounded work whatever the credential lists: proofs, status entries, fetches."""

from __future__ import annotations

import copy
import json
import os
import stat
from datetime import UTC, datetime
from pathlib import Path

from badgeserver.errors import FetchError
from badgeserver.keys import KeyStore
from badgeserver.verify.pipeline import MAX_FETCHES, Verifier

VECTORS = Path(__file__).parent / "vectors"


def _example() -> dict:
    return json.loads((VECTORS / "ob-v3p0-spec-example-2" / "signed.json").read_text("utf-8"))


def test_many_proofs_and_status_entries_fetch_at_most_max_fetches():
    credential = _example()
    proof = credential["proof"][0]
    credential["proof"] = [
        {**copy.deepcopy(proof), "verificationMethod": f"https://keys{i}.example.org/k#key"} for i in range(50)
    ]
    credential["credentialStatus"] = [
        {
            "id": f"https://lists{i}.example.org/l#1",
            "type": "BitstringStatusListEntry",
            "statusPurpose": "revocation",
            "statusListIndex": "1",
            "statusListCredential": f"https://lists{i}.example.org/l",
        }
        for i in range(50)
    ]
    asked: list[str] = []

    def fetch_json(url: str) -> dict:
        asked.append(url)
        raise FetchError(f"Could not fetch {url}: unreachable.")

    clock = datetime(2026, 1, 1, tzinfo=UTC)
    report = Verifier(fetch_json=fetch_json, clock=lambda: clock).verify_credential(credential)
    assert len(asked) <= MAX_FETCHES
    assert len(asked) == len(set(asked))
    assert report.status_of("proof.key") == "error"
    assert report.verified is False


def test_the_same_url_is_fetched_once_per_verification():
    credential = _example()
    proof = credential["proof"][0]
    credential["proof"] = [copy.deepcopy(proof) for _ in range(4)]
    asked: list[str] = []

    def fetch_json(url: str) -> dict:
        asked.append(url)
        raise FetchError(f"Could not fetch {url}: unreachable.")

    Verifier(fetch_json=fetch_json, clock=lambda: datetime(2026, 1, 1, tzinfo=UTC)).verify_credential(credential)
    assert asked == ["https://example.edu/issuers/565049"]


def test_key_store_makes_a_checked_out_folder_private(tmp_path):
    folder = tmp_path / "keys"
    folder.mkdir(mode=0o755)
    os.chmod(folder, 0o755)
    KeyStore(folder).generate("k", now=datetime(2026, 1, 1, tzinfo=UTC))
    assert stat.S_IMODE(folder.stat().st_mode) == 0o700
