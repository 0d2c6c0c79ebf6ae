"""Credentials issued by badgeserver verify with the W3C reference JavaScript stack (issue 2, item 10)."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from pathlib import Path

import pytest
from click.testing import CliRunner
from PIL import Image

from badgeserver import bakery
from badgeserver.cli import main

ROOT = Path(__file__).resolve().parent.parent
INTEROP = Path(
    os.environ.get("INTEROP_VERIFY", ROOT.parent / "shared" / "tools" / "interop-verify" / "interop-verify")
)
ACHIEVEMENT = ROOT / "examples" / "achievement.json"

pytestmark = pytest.mark.interop


def _available() -> bool:
    return INTEROP.is_file() and shutil.which("node") is not None


if not _available():
    if os.environ.get("CI"):
        raise RuntimeError(f"CI needs the interop verifier at {INTEROP} and Node.js 20 or newer.")
    pytest.skip("interop-verify or Node.js is not available here", allow_module_level=True)


def interop(path: Path, *extra: str) -> tuple[int, dict]:
    done = subprocess.run(
        [str(INTEROP), *extra, str(path)], capture_output=True, text=True, timeout=300, check=False
    )
    assert done.returncode in (0, 1), done.stdout + done.stderr
    return done.returncode, json.loads(done.stdout.strip().splitlines()[-1])


@pytest.fixture(scope="module")
def issued(tmp_path_factory):
    folder = tmp_path_factory.mktemp("interop")
    os.environ["KEYS_DIR"] = str(folder / "keys")
    runner = CliRunner()
    assert runner.invoke(main, ["keys", "generate", "issuer"]).exit_code == 0
    out = folder / "cred.json"
    result = runner.invoke(
        main,
        [
            "issue",
            str(ACHIEVEMENT),
            "--recipient",
            "educator@example.org",
            "--name",
            "Zoë O’Brien®",
            "--key",
            "issuer",
            "--issuer-name",
            "Utah State Board of Education",
            "-o",
            str(out),
        ],
    )
    assert result.exit_code == 0, result.output
    return out


def test_issued_credential_verifies_with_reference_stack(issued):
    code, verdict = interop(issued)
    assert code == 0, verdict
    assert verdict["verified"] is True
    assert verdict["proofs"][0]["cryptosuite"] == "eddsa-rdfc-2022"


@pytest.mark.parametrize("kind", ["png", "svg"])
def test_baked_and_extracted_credential_verifies(issued, tmp_path, kind):
    text = issued.read_text("utf-8")
    if kind == "png":
        image_path = tmp_path / "badge.png"
        Image.new("RGBA", (96, 96), (200, 120, 20, 255)).save(image_path)
    else:
        image_path = tmp_path / "badge.svg"
        image_path.write_text(
            '<svg xmlns="http://www.w3.org/2000/svg" width="96" height="96"><rect width="96" height="96"/></svg>'
        )
    baked = bakery.bake(image_path.read_bytes(), text.strip())
    extracted = tmp_path / "extracted.json"
    extracted.write_text(bakery.extract(baked).text, "utf-8")
    code, verdict = interop(extracted)
    assert code == 0, verdict
    assert verdict["verified"] is True


def test_one_changed_character_fails(issued, tmp_path):
    text = issued.read_text("utf-8")
    assert "Crosscutting Concepts" in text
    tampered = tmp_path / "tampered.json"
    tampered.write_text(text.replace("Crosscutting Concepts", "Crosscutting Concept5", 1), "utf-8")
    code, verdict = interop(tampered)
    assert code == 1
    assert verdict["verified"] is False
