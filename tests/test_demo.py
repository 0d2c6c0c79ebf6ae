"""`badgeserver demo`: the main job on the bundled catalog, checked in-process and, served for real, by the
W3C reference JavaScript verifier."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner
from sqlalchemy import func, select

from badgeserver import bakery, create_app
from badgeserver.cli import main
from badgeserver.store import models as m
from badgeserver.verify import report as r
from badgeserver.web.services import services
from tests.support.served import free_port, serving

ROOT = Path(__file__).resolve().parent.parent
INTEROP = Path(
    os.environ.get("INTEROP_VERIFY", ROOT.parent / "shared" / "tools" / "interop-verify" / "interop-verify")
)

pytestmark = pytest.mark.store


def run_demo(tmp_path: Path, port: int) -> tuple[Any, Path, Path]:
    """Run `badgeserver demo --no-serve` in tmp_path; returns the click result, instance and output folders."""
    instance, out = tmp_path / "inst", tmp_path / "out"
    result = CliRunner().invoke(
        main,
        ["demo", "--no-serve", "--instance", str(instance), "--out", str(out), "--port", str(port)],
    )
    return result, instance, out


def demo_settings(instance: Path, port: int) -> dict[str, str]:
    """The settings `badgeserver demo` builds its app with."""
    return {
        "instance_path": str(instance),
        "database_url": f"sqlite:///{instance / 'demo.db'}",
        "keys_dir": str(instance / "keys"),
        "base_url": f"http://localhost:{port}",
    }


@pytest.fixture()
def demo(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    result, instance, out = run_demo(tmp_path, 5055)
    assert result.exit_code == 0, result.output
    app = create_app(demo_settings(instance, 5055))
    yield result, instance, out, app
    services(app).db.dispose()


DEMO_CREDENTIALS = 16  # 15 microcredentials and the "Science Teaching Methods" stack


def test_demo_writes_its_verified_credentials(demo):
    result, _, out, _ = demo
    summary = json.loads((out / "summary.json").read_text("utf-8"))
    assert len(summary) == DEMO_CREDENTIALS
    assert all(entry["verified"] is True for entry in summary)
    assert len({entry["url"] for entry in summary}) == DEMO_CREDENTIALS
    for entry in summary:
        assert entry["url"].startswith("http://localhost:5055/credentials/")
        stem = entry["files"][0].removesuffix(".json")
        assert entry["files"] == [f"{stem}.json", f"{stem}.png", f"{stem}.svg"]
        for name in entry["files"]:
            assert (out / name).is_file() and (out / name).stat().st_size > 0, name
        assert entry["url"] in result.output
    assert f"Wrote {DEMO_CREDENTIALS} credentials (JSON, baked PNG, baked SVG)" in result.output
    # Files are named by achievement and credential id, never by earner.
    assert not any("okafor" in p.name or "shah" in p.name for p in out.iterdir())
    (stack_file,) = out.glob("science-teaching-methods--*.json")
    stack = json.loads(stack_file.read_text("utf-8"))
    assert (
        stack["credentialSubject"]["achievement"]["id"]
        == "http://localhost:5055/stacks/science-teaching-methods"
    )
    assert len(stack["relatedResource"]) == len(stack["evidence"]) == 7


def test_every_baked_image_verifies_in_process(demo):
    _, _, out, app = demo
    verifier = services(app).verifier()
    summary = json.loads((out / "summary.json").read_text("utf-8"))
    for entry in summary:
        written = (out / entry["files"][0]).read_text("utf-8").strip()
        assert json.loads(written)["id"] == entry["url"]
        for name in entry["files"][1:]:
            data = (out / name).read_bytes()
            assert bakery.extract(data).text == written, name
            report = verifier.verify_bytes(data)
            assert report.verified is True, (name, report.headline())
            assert report.input_kind == name.rsplit(".", 1)[1]
            assert report.status_of(r.STATUS) == r.PASSED, name

    # The negative twin: the same badge baked with one changed character does not verify.
    png = (out / summary[0]["files"][1]).read_bytes()
    text = bakery.extract(png).text
    forged = bakery.bake(png, text.replace('"creditsEarned": 0.5', '"creditsEarned": 5.5', 1))
    assert forged != png
    report = verifier.verify_bytes(forged)
    assert report.verified is False
    assert report.status_of(r.PROOF_SIGNATURE) == r.FAILED


def test_one_demo_submission_was_returned_then_earned(demo):
    _, _, _, app = demo
    with services(app).db.read() as session:
        submissions = session.scalars(select(m.Submission).order_by(m.Submission.id)).all()
        tries = [
            (s.version.microcredential.slug, [a.review.decision for a in s.attempts if a.review])
            for s in submissions
        ]
        credentials = session.scalars(select(m.Credential)).all()
        assert len(credentials) == DEMO_CREDENTIALS
        assert sorted(c.kind for c in credentials).count("stack") == 1
    assert tries[0] == ("crosscutting-concepts", ["returned", "earned"])
    assert sorted(len(decisions) for _, decisions in tries) == [1] * 14 + [2]
    assert all(decisions[-1] == "earned" for _, decisions in tries)


def test_the_demo_exercises_the_program_rules(demo):
    _, _, _, app = demo
    with services(app).db.read() as session:
        people = {p.email.split("@")[0]: p for p in session.scalars(select(m.Person))}
        assert session.scalar(select(func.count()).select_from(m.ReviewerAssignment)) == 4
        # Every attempt was paid for, and every review paid its reviewer half the $20 fee.
        payments = session.scalars(select(m.Payment)).all()
        attempts = session.scalars(select(m.Attempt)).all()
        assert len(payments) == len(attempts) == 16 and all(p.attempt_id for p in payments)
        assert {p.amount_cents for p in session.scalars(select(m.Payout))} == {1000}
        items = session.scalars(select(m.EvidenceItem)).all()
        files = [i for i in items if i.kind == "file"]
        assert files and all(i.data.startswith(b"%PDF-") and i.media_type == "application/pdf" for i in files)
        assert [i.url for i in items if i.kind == "link"][0].startswith("https://")
        # Ben earned the whole stack, was marked trained, then reviewed Priya's submission.
        ben = people["ben.okafor"]
        assert ben.is_reviewer
        reviewed = session.scalars(select(m.Review).where(m.Review.reviewer_id == ben.id)).all()
        assert [r.attempt.submission.educator.email for r in reviewed] == ["priya.shah@canyons.example.org"]
        # crosscutting-concepts has a version 2 after Maya earned version 1; 3D assessments is retired.
        crosscutting = session.scalar(
            select(m.Microcredential).where(m.Microcredential.slug == "crosscutting-concepts")
        )
        assert [v.version for v in crosscutting.versions] == ["1", "2"]
        versions = session.scalars(
            select(m.MicrocredentialVersion.version)
            .join(m.Credential, m.Credential.version_id == m.MicrocredentialVersion.id)
            .where(m.MicrocredentialVersion.microcredential_id == crosscutting.id)
            .order_by(m.MicrocredentialVersion.version)
        ).all()
        assert versions == ["1", "2"]
        retired = session.scalar(
            select(m.Microcredential).where(m.Microcredential.slug == "3d-science-assessments")
        )
        assert retired.state == "retired" and retired.retired_at is not None
        assert (
            session.scalar(
                select(func.count()).select_from(m.OutboxMessage).where(m.OutboxMessage.sent_at.is_(None))
            )
            == 0
        )


def test_demo_refuses_an_instance_folder_that_is_not_a_demo(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "inst").mkdir()
    (tmp_path / "inst" / "precious.txt").write_text("keep me")
    result, instance, _ = run_demo(tmp_path, 5055)
    assert result.exit_code == 2
    assert "is not a demo instance" in result.output
    assert (instance / "precious.txt").read_text() == "keep me"


# --- served for real, checked by the W3C reference JavaScript verifier ------------------------------


def _interop_available() -> None:
    if INTEROP.is_file() and shutil.which("node") is not None:
        return
    reason = f"interop-verify ({INTEROP}) or Node.js is not available here"
    if os.environ.get("CI"):
        pytest.fail(f"CI needs {reason}")
    pytest.skip(reason)


@pytest.fixture(scope="module")
def served(tmp_path_factory):
    """The demo, issued for a free port and served there by `badgeserver serve` (gunicorn)."""
    _interop_available()
    tmp_path = tmp_path_factory.mktemp("served")
    port = free_port()
    result, instance, out = run_demo(tmp_path, port)
    assert result.exit_code == 0, result.output
    with serving(instance, port, tmp_path / "server.log"):
        yield port, out


def _interop(port: int, path: Path) -> tuple[int, dict[str, Any]]:
    done = subprocess.run(  # noqa: S603 - the shared interop tool
        [str(INTEROP), "--base-url", f"http://127.0.0.1:{port}", str(path)],
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert done.returncode in (0, 1), done.stdout + done.stderr
    return done.returncode, json.loads(done.stdout.strip().splitlines()[-1])


@pytest.mark.interop
def test_served_demo_credentials_verify_with_the_reference_stack(served, tmp_path):
    port, out = served
    summary = json.loads((out / "summary.json").read_text("utf-8"))
    assert all(entry["url"].startswith(f"http://localhost:{port}/") for entry in summary)
    pngs = [out / entry["files"][1] for entry in summary]
    for png in pngs:
        extracted = tmp_path / f"{png.stem}.extracted.json"
        extracted.write_text(bakery.extract(png.read_bytes()).text, "utf-8")
        code, verdict = _interop(port, extracted)
        assert code == 0, verdict
        assert verdict["verified"] is True
        status = verdict["checks"]["status"]
        assert status["ok"] is True and not status.get("skipped"), status
        assert [entry["set"] for entry in status["entries"]] == [False]
        assert verdict["revoked"] is False

    text = bakery.extract(pngs[0].read_bytes()).text
    assert '"creditsEarned": 0.5' in text
    tampered = tmp_path / "tampered.json"
    tampered.write_text(text.replace('"creditsEarned": 0.5', '"creditsEarned": 0.6', 1), "utf-8")
    code, verdict = _interop(port, tampered)
    assert code == 1
    assert verdict["verified"] is False


@pytest.mark.interop
def test_served_demo_verifies_with_the_badgeserver_cli(served):
    port, out = served
    summary = json.loads((out / "summary.json").read_text("utf-8"))
    png = out / summary[0]["files"][1]
    runner = CliRunner()
    result = runner.invoke(main, ["verify", str(png), "--allow-http", f"localhost:{port}", "--json"])
    assert result.exit_code == 0, result.output
    report = json.loads(result.stdout)
    assert report["verified"] is True
    assert {c["id"]: c["status"] for c in report["checks"]}[r.STATUS] == r.PASSED
    # Without --allow-http the keys cannot be fetched over plain http: could not check, exit 1.
    refused = runner.invoke(main, ["verify", str(png)])
    assert refused.exit_code == 1, refused.output
