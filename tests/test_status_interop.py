"""End to end against a running server: revoke, suspend, reinstate, rotate, revoke a key and reissue, each
checked by badgeserver's verifier and by the W3C reference JavaScript stack (interop-verify --base-url)."""

from __future__ import annotations

import json
import os
import subprocess
import urllib.request
from pathlib import Path
from typing import Any

import pytest

from badgeserver import bakery
from tests.support.served import BADGESERVER, free_port, serving
from tests.test_demo import INTEROP, _interop_available

pytestmark = [pytest.mark.store, pytest.mark.interop]

STAFF = "program.staff@usbe.example.org"


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    """A demo whose credentials carry revocation and suspension entries, served by gunicorn."""
    _interop_available()
    tmp_path = tmp_path_factory.mktemp("status-interop")
    port = free_port()
    instance, out = tmp_path / "inst", tmp_path / "out"
    env = {**os.environ, "BADGESERVER_CREDENTIAL_STATUS": "revocation+suspension"}
    made = subprocess.run(  # noqa: S603 - our own command line
        [
            str(BADGESERVER),
            "demo",
            "--no-serve",
            "--instance",
            str(instance),
            "--out",
            str(out),
            "--port",
            str(port),
        ],
        env=env,
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )
    assert made.returncode == 0, made.stdout + made.stderr
    with serving(instance, port, tmp_path / "server.log", env=env):
        yield {"port": port, "out": out, "instance": instance, "env": env, "tmp": tmp_path}


def staff(server: dict[str, Any], *args: str) -> str:
    done = subprocess.run(  # noqa: S603 - our own command line
        [str(BADGESERVER), *args, "--actor", STAFF, "--instance", str(server["instance"])],
        env=server["env"],
        cwd=server["tmp"],
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    return done.stdout


def interop(server: dict[str, Any], path: Path) -> dict[str, Any]:
    done = subprocess.run(  # noqa: S603 - the shared interop tool
        [str(INTEROP), "--base-url", f"http://127.0.0.1:{server['port']}", str(path)],
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert done.returncode in (0, 1), done.stdout + done.stderr
    verdict = json.loads(done.stdout.strip().splitlines()[-1])
    assert (done.returncode == 0) == (verdict["verified"] is True)
    return verdict


def ours(server: dict[str, Any], path: Path) -> dict[str, Any]:
    done = subprocess.run(  # noqa: S603 - our own command line
        [str(BADGESERVER), "verify", str(path), "--allow-http", f"localhost:{server['port']}", "--json"],
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert done.returncode in (0, 1), done.stdout + done.stderr
    report = json.loads(done.stdout)
    assert (done.returncode == 0) == (report["verified"] is True)
    return report


def statuses(report: dict[str, Any]) -> list[tuple[str, str]]:
    return [(c["status"], c["code"]) for c in report["checks"] if c["id"] == "status"]


def credential_file(server: dict[str, Any], index: int) -> tuple[str, Path, Path]:
    """The id, the extracted JSON and the baked PNG of the demo's credential number `index`."""
    entry = json.loads((server["out"] / "summary.json").read_text("utf-8"))[index]
    png = server["out"] / entry["files"][1]
    extracted = server["tmp"] / f"{png.stem}.json"
    extracted.write_text(bakery.extract(png.read_bytes()).text, "utf-8")
    return entry["url"].rsplit("/", 1)[-1], extracted, png


def test_revoke_suspend_reinstate_seen_by_both_verifiers(server):
    a_id, a_json, a_png = credential_file(server, 0)
    b_id, b_json, b_png = credential_file(server, 1)
    before = interop(server, a_json)
    assert before["verified"] is True
    assert [(e["statusPurpose"], e["set"]) for e in before["checks"]["status"]["entries"]] == [
        ("revocation", False),
        ("suspension", False),
    ]

    staff(server, "credentials", "revoke", a_id, "--reason", "Issued to the wrong educator.")
    verdict = interop(server, a_json)
    assert (verdict["verified"], verdict["revoked"], verdict["suspended"]) == (False, True, False)
    report = ours(server, a_png)
    assert statuses(report) == [("failed", "revoked"), ("passed", "not_suspended")]
    assert report["headline"] == "The issuer has revoked this credential."

    staff(server, "credentials", "suspend", b_id)
    verdict = interop(server, b_json)
    assert (verdict["verified"], verdict["revoked"], verdict["suspended"]) == (False, False, True)
    assert statuses(ours(server, b_png)) == [("passed", "not_revoked"), ("failed", "suspended")]

    staff(server, "credentials", "reinstate", b_id)
    verdict = interop(server, b_json)
    assert (verdict["verified"], verdict["revoked"], verdict["suspended"]) == (True, False, False)
    assert ours(server, b_png)["verified"] is True


def test_rotate_revoke_key_and_reissue_seen_by_both_verifiers(server):
    c_id, c_json, c_png = credential_file(server, 2)
    rotated = staff(server, "keys", "rotate", "--issuer", "usbe")
    assert rotated.startswith("New key issuer-usbe-2 signs for usbe from now on:")
    assert interop(server, c_json)["verified"] is True  # signed by the retired key: still verifies
    assert ours(server, c_png)["verified"] is True

    listed = staff(server, "keys", "revoke", "issuer-usbe-1", "--reason", "The laptop was stolen.")
    assert f"/credentials/{c_id}" in listed
    assert interop(server, c_json)["verified"] is False
    assert ours(server, c_png)["verified"] is False

    reissued = staff(server, "reissue")
    line = next(text for text in reissued.splitlines() if text.startswith(f"Reissued {c_id} as "))
    new_url = line.rsplit(" ", 1)[-1]
    port = server["port"]
    local = new_url.replace(f"http://localhost:{port}", f"http://127.0.0.1:{port}")
    request = urllib.request.Request(f"{local}.json", headers={"Accept": "application/json"})  # noqa: S310
    with urllib.request.urlopen(request, timeout=10) as answer:  # noqa: S310 - our own loopback server
        new_json = server["tmp"] / "reissued.json"
        new_json.write_bytes(answer.read())
    verdict = interop(server, new_json)
    assert verdict["verified"] is True and verdict["revoked"] is False
    report = ours(server, new_json)
    assert report["verified"] is True
    old = ours(server, c_png)
    assert old["verified"] is False
