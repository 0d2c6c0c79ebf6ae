"""Crash consistency: a process killed (SIGKILL) at any point of revoking, rotating or reissuing leaves the
database and the published status lists as they were; a status list is never served half-written."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import threading
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner
from sqlalchemy import select

from badgeserver import bitstring
from badgeserver.cli import main
from badgeserver.store import models as m
from badgeserver.verify import report as r
from badgeserver.verify.proofs import check_proofs
from badgeserver.web.services import services
from tests.support.flow_people import add_people

pytestmark = pytest.mark.store

STAFF = "stella@example.org"

# Run the badgeserver command line in a child process that kills itself (SIGKILL: no cleanup, no
# rollback, no atexit) at the named point.
CRASHER = r"""
import os, signal, sys

point = os.environ["CRASH_AT"]


def die(*_args, **_kwargs):
    os.kill(os.getpid(), signal.SIGKILL)


def after(module, name, calls=1):
    original = getattr(module, name)
    seen = []

    def wrapped(*args, **kwargs):
        result = original(*args, **kwargs)
        seen.append(1)
        if len(seen) >= calls:
            die()
        return result

    setattr(module, name, wrapped)


from badgeserver.program import key_lifecycle, revocation
from badgeserver.keys import KeyStore

if point == "after-bit":
    after(revocation, "set_bit")
elif point == "after-list-signed":
    after(revocation, "sign_list")
elif point == "after-key-file":
    after(KeyStore, "generate")
elif point == "mid-resign":
    after(key_lifecycle, "sign_list", calls=1)
elif point == "after-reissue-sign":
    import badgeserver.program.key_lifecycle as kl
    after(kl, "sign_credential")
elif point == "before-commit":
    from sqlalchemy import event
    from sqlalchemy.orm import Session

    event.listen(Session, "before_commit", die)
else:
    raise SystemExit(f"unknown point {point}")

from badgeserver.cli import main

main(sys.argv[1:], prog_name="badgeserver")
"""


@pytest.fixture()
def world(app: Any, imported: Any, earn: Any, tmp_path: Path, database_url: str, monkeypatch: Any) -> Any:
    """Two issued credentials, staff, and the environment the command line needs."""
    add_people(app)
    services(app).issuing.suspension_entries = True
    ids = [earn(email="one@example.org"), earn(email="two@example.org")]
    env = {
        **os.environ,
        "BADGESERVER_DATABASE_URL": database_url,
        "KEYS_DIR": str(tmp_path / "keys"),
        "BADGESERVER_CREDENTIAL_STATUS": "revocation+suspension",
    }
    monkeypatch.setenv("BADGESERVER_DATABASE_URL", database_url)
    monkeypatch.setenv("KEYS_DIR", str(tmp_path / "keys"))
    monkeypatch.setenv("BADGESERVER_CREDENTIAL_STATUS", "revocation+suspension")
    script = tmp_path / "crasher.py"
    script.write_text(CRASHER, "utf-8")
    return app, ids, env, script, tmp_path / "instance"


def crash(world: Any, point: str, *args: str) -> None:
    _, _, env, script, instance = world
    done = subprocess.run(  # noqa: S603 - our own command line, in a child that kills itself
        [sys.executable, str(script), *args, "--instance", str(instance)],
        env={**env, "CRASH_AT": point},
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == -signal.SIGKILL, (done.returncode, done.stdout, done.stderr)


def snapshot(app: Any) -> dict[str, Any]:
    """Everything an operation may change: credentials' state, lists' bits and signed text, keys."""
    with services(app).db.read() as session:
        return {
            "credentials": sorted(
                (c.id, c.revoked_at is not None, c.suspended_at is not None, c.key_id, c.submission_id)
                for c in session.scalars(select(m.Credential))
            ),
            "lists": sorted(
                (s.purpose, s.number, s.bits, s.signed_json, s.key_id)
                for s in session.scalars(select(m.StatusList))
            ),
            "keys": sorted((k.key_name, k.state) for k in session.scalars(select(m.IssuerKey))),
            "audit": session.scalar(select(m.AuditEntry.id).order_by(m.AuditEntry.id.desc())),
        }


def assert_consistent(app: Any) -> None:
    """Every published list is signed over exactly its stored bits, by a published key, and agrees
    with every credential's recorded state."""
    svc = services(app)
    client = app.test_client()
    with svc.db.read() as session:
        lists = list(session.scalars(select(m.StatusList)))
        for row in lists:
            served = client.get(f"/status/{row.issuer.slug}/{row.purpose}/{row.number}")
            assert served.status_code == 200
            document = json.loads(served.data)
            assert served.get_data(as_text=True) == row.signed_json
            assert bitstring.decode(document["credentialSubject"]["encodedList"]) == row.bits
            proof = check_proofs(
                document, resolve_key=_resolver(svc), canonicalizer=svc.issuing.canonicalizer
            )
            assert proof.signature.status == r.PASSED, proof.signature.message
        by_id = {row.id: row for row in lists}
        for credential in session.scalars(select(m.Credential)):
            revoked = bitstring.get_bit(by_id[credential.status_list_id].bits, credential.status_index)
            assert bool(revoked) == (credential.revoked_at is not None), credential.id
            if credential.suspension_list_id is not None:
                suspended = bitstring.get_bit(
                    by_id[credential.suspension_list_id].bits, credential.status_index
                )
                assert bool(suspended) == (credential.suspended_at is not None), credential.id


def _resolver(svc: Any) -> Any:
    from badgeserver import did

    def resolve(url: str) -> Any:
        return did.resolve_verification_method(url, fetch_json=svc.fetcher.get_json, http_hosts=frozenset())

    return resolve


def cli(world: Any, *args: str) -> Any:
    result = CliRunner().invoke(main, [*args, "--instance", str(world[4])])
    assert result.exit_code == 0, result.output
    return result


@pytest.mark.parametrize("point", ["after-bit", "after-list-signed", "before-commit"])
def test_a_revocation_killed_midway_changes_nothing(world, point):
    app, ids, *_ = world
    before = snapshot(app)
    crash(world, point, "credentials", "revoke", *ids, "--reason", "Fraud.", "--actor", STAFF)
    assert snapshot(app) == before
    assert_consistent(app)
    cli(world, "credentials", "revoke", *ids, "--reason", "Fraud.", "--actor", STAFF)  # the retry works
    assert_consistent(app)
    with services(app).db.read() as session:
        assert all(session.get(m.Credential, cid).revoked_at is not None for cid in ids)


@pytest.mark.parametrize("point", ["after-bit", "before-commit"])
def test_a_suspension_or_reinstatement_killed_midway_changes_nothing(world, point):
    app, ids, *_ = world
    before = snapshot(app)
    crash(world, point, "credentials", "suspend", ids[0], "--actor", STAFF)
    assert snapshot(app) == before
    cli(world, "credentials", "suspend", ids[0], "--actor", STAFF)
    suspended = snapshot(app)
    crash(world, point, "credentials", "reinstate", ids[0], "--actor", STAFF)
    assert snapshot(app) == suspended
    assert_consistent(app)


@pytest.mark.parametrize("point", ["after-key-file", "mid-resign", "before-commit"])
def test_a_rotation_killed_midway_changes_nothing_and_the_retry_takes_up_the_key_file(world, point):
    app, *_ = world
    before = snapshot(app)
    keys_dir = world[2]["KEYS_DIR"]
    crash(world, point, "keys", "rotate", "--issuer", "usbe", "--actor", STAFF)
    assert snapshot(app) == before
    assert_consistent(app)
    left = Path(keys_dir) / "issuer-usbe-2.json"
    assert left.is_file()  # written before the commit that never came
    cli(world, "keys", "rotate", "--issuer", "usbe", "--actor", STAFF)
    assert snapshot(app)["keys"] == [("issuer-usbe-1", "retired"), ("issuer-usbe-2", "active")]
    with services(app).db.read() as session:
        recorded = session.scalar(
            select(m.IssuerKey.public_key_multibase).where(m.IssuerKey.key_name == "issuer-usbe-2")
        )
    assert json.loads(left.read_text("utf-8"))["publicKeyMultibase"] == recorded
    assert_consistent(app)


@pytest.mark.parametrize("point", ["after-reissue-sign", "before-commit"])
def test_a_key_revocation_or_reissue_killed_midway_changes_nothing(world, point):
    app, *_ = world
    before = snapshot(app)
    crash(world, "before-commit", "keys", "revoke", "issuer-usbe-1", "--reason", "Leaked.", "--actor", STAFF)
    assert snapshot(app) == before
    cli(world, "keys", "revoke", "issuer-usbe-1", "--reason", "Leaked.", "--actor", STAFF)
    revoked = snapshot(app)
    crash(world, point, "reissue", "--actor", STAFF)
    assert snapshot(app) == revoked
    assert_consistent(app)
    cli(world, "reissue", "--actor", STAFF)
    assert_consistent(app)


def test_a_status_list_is_never_served_half_written(world):
    """Readers fetch the list while staff revoke one credential after another: every answer verifies."""
    app, ids, *_ = world
    client = app.test_client()
    svc = services(app)
    seen: list[str] = []
    stop = threading.Event()

    def read() -> None:
        while not stop.is_set():
            answer = client.get("/status/usbe/revocation/1")
            assert answer.status_code == 200
            seen.append(answer.get_data(as_text=True))

    reader = threading.Thread(target=read)
    reader.start()
    try:
        for credential_id in ids:
            cli(world, "credentials", "revoke", credential_id, "--reason", "One by one.", "--actor", STAFF)
    finally:
        stop.set()
        reader.join(timeout=60)
    assert seen
    states = set()
    for text in sorted(set(seen)):
        document = json.loads(text)
        proof = check_proofs(document, resolve_key=_resolver(svc), canonicalizer=svc.issuing.canonicalizer)
        assert proof.signature.status == r.PASSED
        states.add(
            sum(bin(b).count("1") for b in bitstring.decode(document["credentialSubject"]["encodedList"]))
        )
    assert states <= {0, 1, 2}
