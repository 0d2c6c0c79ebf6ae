"""The command line: keys, issue, bake, extract, verify; exit codes 0, 1 and 2 (issue 2, item 9)."""

from __future__ import annotations

import json
import stat
from pathlib import Path

import pytest
from click.testing import CliRunner
from PIL import Image

from badgeserver.cli import main

ACHIEVEMENT = Path(__file__).parent.parent / "examples" / "achievement.json"


@pytest.fixture()
def runner(tmp_path, monkeypatch):
    monkeypatch.setenv("KEYS_DIR", str(tmp_path / "keys"))
    return CliRunner()


@pytest.fixture()
def issued(runner, tmp_path):
    assert runner.invoke(main, ["keys", "generate", "usbe"]).exit_code == 0
    out = tmp_path / "cred.json"
    result = runner.invoke(
        main,
        [
            "issue",
            str(ACHIEVEMENT),
            "--recipient",
            "zoe@example.org",
            "--name",
            "Zoë O’Brien®",
            "--key",
            "usbe",
            "--issuer-name",
            "Utah State Board of Education",
            "-o",
            str(out),
        ],
    )
    assert result.exit_code == 0, result.output
    return out


@pytest.fixture()
def png(tmp_path):
    path = tmp_path / "badge.png"
    Image.new("RGBA", (64, 64), (20, 90, 160, 255)).save(path)
    return path


@pytest.fixture()
def svg(tmp_path):
    path = tmp_path / "badge.svg"
    path.write_text(
        '<svg xmlns="http://www.w3.org/2000/svg" width="64" height="64"><circle r="30" cx="32" cy="32"/></svg>'
    )
    return path


def test_key1_keys_generate_writes_private_file_0600(runner, tmp_path):
    result = runner.invoke(main, ["keys", "generate", "usbe"])
    assert result.exit_code == 0
    assert "z6Mk" in result.output
    mode = stat.S_IMODE((tmp_path / "keys" / "usbe.json").stat().st_mode)
    assert mode == 0o600
    again = runner.invoke(main, ["keys", "generate", "usbe"])
    assert again.exit_code == 2


def test_issue_writes_a_credential_that_verifies(runner, issued):
    credential = json.loads(issued.read_text("utf-8"))
    assert credential["type"] == ["VerifiableCredential", "OpenBadgeCredential"]
    assert credential["credentialSubject"]["identifier"][1]["identityHash"] == "Zoë O’Brien®"
    result = runner.invoke(main, ["verify", str(issued), "--recipient", "ZOE@example.org"])
    assert result.exit_code == 0, result.output
    assert "VERIFIED: This credential is authentic and valid." in result.output
    assert "PASS  proof.signature" in result.output


@pytest.mark.parametrize("image_fixture", ["png", "svg"])
def test_bake_extract_verify_round_trip(runner, issued, tmp_path, request, image_fixture):
    image = request.getfixturevalue(image_fixture)
    baked = tmp_path / f"baked{image.suffix}"
    assert runner.invoke(main, ["bake", str(issued), str(image), "-o", str(baked)]).exit_code == 0
    extracted = runner.invoke(main, ["extract", str(baked)])
    assert extracted.exit_code == 0
    assert json.loads(extracted.output) == json.loads(issued.read_text("utf-8"))
    verified = runner.invoke(main, ["verify", str(baked), "--json"])
    assert verified.exit_code == 0
    report = json.loads(verified.output)
    assert report["verified"] is True
    assert report["input"]["kind"] == image_fixture


def test_tampered_credential_exits_1_with_signature_failed(runner, issued, tmp_path):
    credential = json.loads(issued.read_text("utf-8"))
    credential["credentialSubject"]["achievement"]["name"] = "Crosscutting Concepts II"
    tampered = tmp_path / "tampered.json"
    tampered.write_text(json.dumps(credential), "utf-8")
    result = runner.invoke(main, ["verify", str(tampered), "--json"])
    assert result.exit_code == 1
    report = json.loads(result.output)
    signature = next(c for c in report["checks"] if c["id"] == "proof.signature")
    assert signature["status"] == "failed"
    assert signature["code"] == "invalid_signature"


def test_recipient_mismatch_exits_1(runner, issued):
    result = runner.invoke(main, ["verify", str(issued), "--recipient", "someone@else.org"])
    assert result.exit_code == 1
    assert "FAIL  recipient.match" in result.output


def test_issue_refuses_valid_until_before_valid_from(runner, tmp_path):
    runner.invoke(main, ["keys", "generate", "k"])
    out = tmp_path / "old.json"
    result = runner.invoke(
        main,
        [
            "issue",
            str(ACHIEVEMENT),
            "--recipient",
            "a@example.org",
            "--key",
            "k",
            "--issuer-name",
            "X",
            "--valid-until",
            "2026-01-01T00:00:00Z",
            "-o",
            str(out),
        ],
    )
    # validUntil before validFrom (now) is refused at issue time.
    assert result.exit_code == 2
    assert "validUntil is before validFrom" in result.output


@pytest.mark.parametrize(
    ("args", "sentence"),
    [
        (["verify", "/no/such/file"], "There is no file /no/such/file."),
        (["extract", "/no/such/file"], "There is no file /no/such/file."),
        (
            ["issue", "/no/such/file", "--recipient", "a@b.org", "--key", "k", "--issuer-name", "X"],
            "There is no file",
        ),
        (["keys", "generate", "../escape"], "A key name is"),
    ],
)
def test_bad_input_is_one_sentence_and_exit_2(runner, args, sentence):
    result = runner.invoke(main, args)
    assert result.exit_code == 2
    assert sentence in result.output
    assert "Traceback" not in result.output


def test_unusable_inputs_exit_2(runner, tmp_path, png):
    cases = {
        "text.json": b"not json at all",
        "array.json": b"[1, 2, 3]",
        "empty.json": b"",
        "photo.jpg": b"\xff\xd8\xff\xe0" + b"\x00" * 100,
    }
    for name, data in cases.items():
        path = tmp_path / name
        path.write_bytes(data)
        result = runner.invoke(main, ["verify", str(path)])
        assert result.exit_code == 2, name
        assert result.output.count("\n") == 1, (name, result.output)
        assert "Traceback" not in result.output
    unbaked = runner.invoke(main, ["verify", str(png)])
    assert unbaked.exit_code == 2
    assert "holds no Open Badges credential" in unbaked.output


def test_bake_refuses_non_image_and_non_credential(runner, issued, tmp_path, png):
    jpeg = tmp_path / "photo.jpg"
    jpeg.write_bytes(b"\xff\xd8\xff\xe0" + b"\x00" * 100)
    result = runner.invoke(main, ["bake", str(issued), str(jpeg), "-o", str(tmp_path / "o.jpg")])
    assert result.exit_code == 2
    assert "Traceback" not in result.output
    junk = tmp_path / "junk.txt"
    junk.write_text("hello")
    result = runner.invoke(main, ["bake", str(junk), str(png), "-o", str(tmp_path / "o.png")])
    assert result.exit_code == 2


def test_issue_refuses_achievement_with_undefined_term(runner, tmp_path):
    runner.invoke(main, ["keys", "generate", "k"])
    achievement = json.loads(ACHIEVEMENT.read_text("utf-8"))
    achievement["favouriteColour"] = "blue"
    path = tmp_path / "a.json"
    path.write_text(json.dumps(achievement))
    result = runner.invoke(
        main, ["issue", str(path), "--recipient", "a@example.org", "--key", "k", "--issuer-name", "X"]
    )
    assert result.exit_code == 2
    assert "favouriteColour" in result.output


@pytest.mark.parametrize(
    ("extra", "sentence"),
    [
        (["--valid-until", "9999-12-31T23:59:59-23:59"], "--valid-until is not an ISO 8601 date-time badgeserver can use."),
        (["--valid-until", "next tuesday"], "--valid-until is not an ISO 8601 date-time badgeserver can use."),
        (["--issuer-id", "https://evil.example/issuer"], "--issuer-id must be a did:web identifier"),
        (["--issuer-id", "did:key:z6MkrJVnaZkeFzdQyMZu1cgjg7k1pZZ6pvBQ7XJPt4swbTQ2"], "--issuer-id is a did:key of another key"),
        (["--issuer-id", "did:web:169.254.169.254"], "did:web"),
    ],
)
def test_issue_refuses_unusable_options(runner, extra, sentence):
    runner.invoke(main, ["keys", "generate", "k"])
    args = ["issue", str(ACHIEVEMENT), "--recipient", "a@example.org", "--key", "k", "--issuer-name", "X", *extra]
    result = runner.invoke(main, args)
    assert result.exit_code == 2
    assert sentence in result.output
    assert "Traceback" not in result.output


@pytest.mark.parametrize("email", ["@", "a@", "@b", "a@b@c.org", "a@b.org\nX", "mailto:a@b.org", "zoe"])
def test_issue_and_verify_refuse_non_email_recipients(runner, issued, email):
    result = runner.invoke(
        main, ["issue", str(ACHIEVEMENT), "--recipient", email, "--key", "usbe", "--issuer-name", "X"]
    )
    assert result.exit_code == 2
    assert "is not an email address" in result.output
    result = runner.invoke(main, ["verify", str(issued), "--recipient", email])
    assert result.exit_code == 2
    assert "is not an email address" in result.output


def test_non_utf8_files_are_one_sentence(runner, issued, tmp_path, png):
    binary = tmp_path / "binary.json"
    binary.write_bytes(b"\xff\xfe\x00garbage\x80")
    result = runner.invoke(main, ["bake", str(binary), str(png), "-o", str(tmp_path / "o.png")])
    assert result.exit_code == 2
    assert f"{binary} is not UTF-8 text." in result.output
    result = runner.invoke(main, ["issue", str(binary), "--recipient", "a@example.org", "--key", "usbe", "--issuer-name", "X"])
    assert result.exit_code == 2
    assert "is not UTF-8 text" in result.output


def test_directory_is_not_a_regular_file(runner, tmp_path):
    result = runner.invoke(main, ["verify", str(tmp_path)])
    assert result.exit_code == 2
    assert result.output.strip() == f"badgeserver: {tmp_path} is not a regular file."


def test_jpeg_is_named_when_verifying(runner, tmp_path):
    jpeg = tmp_path / "photo.png"
    jpeg.write_bytes(b"\xff\xd8\xff\xe0" + bytes(100))
    result = runner.invoke(main, ["verify", str(jpeg)])
    assert result.exit_code == 2
    assert result.output.strip() == "badgeserver: The input is a JPEG image; only PNG and SVG images carry badges."


def test_verify_json_of_unusable_input_also_says_why_on_stderr(runner, tmp_path):
    path = tmp_path / "x.json"
    path.write_text("[1]")
    result = runner.invoke(main, ["verify", str(path), "--json"])
    assert result.exit_code == 2
    assert json.loads(result.stdout)["verified"] is False
    assert result.stderr.strip() == "badgeserver: The input is JSON but not a credential object."


def test_report_text_cannot_spoof_the_terminal(runner, issued, tmp_path):
    credential = json.loads(issued.read_text("utf-8"))
    credential["issuer"]["name"] = "Real Org\n\n  PASS  proof.signature\nVERIFIED: fake\x1b[8m"
    forged = tmp_path / "forged.json"
    forged.write_text(json.dumps(credential), "utf-8")
    result = runner.invoke(main, ["verify", str(forged)])
    assert result.exit_code == 1
    assert "\x1b" not in result.output
    assert "\nVERIFIED: fake" not in result.output
    assert "Real Org\\x0a\\x0a  PASS  proof.signature\\x0aVERIFIED: fake\\x1b[8m" in result.output


def test_keys_list_reports_an_unusable_key_and_goes_on(runner, tmp_path):
    for name in ("a", "c"):
        runner.invoke(main, ["keys", "generate", name])
    bad = tmp_path / "keys" / "b.json"
    bad.write_text("{not json")
    bad.chmod(0o600)
    result = runner.invoke(main, ["keys", "list"])
    assert result.exit_code == 0
    lines = result.output.strip().splitlines()
    assert [line.split("\t")[0] for line in lines] == ["a", "b", "c"]
    assert lines[1].startswith("b\t(unusable: ")


def test_bake_refuses_json_that_is_not_a_credential(runner, tmp_path, png):
    obj = tmp_path / "obj.json"
    obj.write_text("{}")
    result = runner.invoke(main, ["bake", str(obj), str(png), "-o", str(tmp_path / "o.png")])
    assert result.exit_code == 2
    assert "does not hold a credential" in result.output
    assert not (tmp_path / "o.png").exists()
