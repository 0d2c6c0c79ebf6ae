"""Evidence on SQLite and PostgreSQL: type checks by content, limits, who may see an item, and what an
earned credential publishes about it."""

from __future__ import annotations

import io
import json
import zipfile

import pytest
from PIL import Image

from badgeserver import schema
from badgeserver.errors import InputError, InputTooLarge, NotFound
from badgeserver.program import evidence as ev
from badgeserver.program import submissions as sub
from badgeserver.program.demo import demo_pdf
from badgeserver.program.submissions import Forbidden, WorkflowError
from badgeserver.store import models as m
from tests.test_program_rules import NOW, Rules, make_rules

pytestmark = pytest.mark.store


@pytest.fixture()
def rules(app, tmp_path) -> Rules:
    return make_rules(app, tmp_path / "rules-catalog")


PDF = demo_pdf("Lesson plan", ["Students model the phenomenon."])
OOXML = "application/vnd.openxmlformats-officedocument."


def image_bytes(kind: str) -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", (4, 4), (200, 30, 30)).save(buffer, format=kind)
    return buffer.getvalue()


def zipped(parts: dict[str, str]) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        for name, text in parts.items():
            archive.writestr(name, text)
    return buffer.getvalue()


def office(main: str) -> bytes:
    types = (
        '<?xml version="1.0" encoding="UTF-8"?><Types xmlns="http://schemas.openxmlformats.org/package/2006/'
        f'content-types"><Override PartName="/main.xml" ContentType="{main}"/></Types>'
    )
    return zipped({"[Content_Types].xml": types, "main.xml": "<x/>"})


DOCX = office(OOXML + "wordprocessingml.document.main+xml")
XLSX = office(OOXML + "spreadsheetml.sheet.main+xml")
ODT = zipped({"mimetype": "application/vnd.oasis.opendocument.text", "content.xml": "<x/>"})

ACCEPTED = {
    "plan.pdf": (PDF, "application/pdf"),
    "photo.png": (image_bytes("PNG"), "image/png"),
    "photo.JPG": (image_bytes("JPEG"), "image/jpeg"),
    "photo.gif": (image_bytes("GIF"), "image/gif"),
    "photo.webp": (image_bytes("WEBP"), "image/webp"),
    "plan.docx": (DOCX, OOXML + "wordprocessingml.document"),
    "data.xlsx": (XLSX, OOXML + "spreadsheetml.sheet"),
    "slides.pptx": (
        office(OOXML + "presentationml.presentation.main+xml"),
        OOXML + "presentationml.presentation",
    ),
    "plan.odt": (ODT, "application/vnd.oasis.opendocument.text"),
    "data.ods": (
        zipped({"mimetype": "application/vnd.oasis.opendocument.spreadsheet"}),
        "application/vnd.oasis.opendocument.spreadsheet",
    ),
    "notes.txt": (b"Notes: students argued from evidence.\n", "text/plain"),
    "notes.md": ("# Notes\n\nÜber gut.\n".encode(), "text/plain"),
}
REFUSED = {
    "a Windows program": ("setup.exe", b"MZ\x90\x00" + bytes(200), "is not a kind of file"),
    "an ELF program named .pdf": ("plan.pdf", b"\x7fELF\x02\x01\x01" + bytes(200), "is not a PDF file"),
    "HTML named .pdf": ("plan.pdf", b"<!doctype html><script>alert(1)</script>", "is not a PDF file"),
    "a PNG named .jpg": ("photo.jpg", image_bytes("PNG"), "is not a JPG file"),
    "a spreadsheet named .docx": ("plan.docx", XLSX, "is not a DOCX file"),
    "a zip without the part, named .docx": (
        "plan.docx",
        zipped({"word/document.xml": "<x/>"}),
        "is not a DOCX",
    ),
    "an ODT named .ods": ("data.ods", ODT, "is not a ODS file"),
    "not a zip, named .odt": ("plan.odt", b"PK\x03\x04 broken", "is not a ODT file"),
    "binary named .txt": ("notes.txt", b"\x00\x01\x02binary", "is not a TXT file"),
    "no extension": ("README", b"text", "is not a kind of file"),
    "an SVG (scripts)": ("badge.svg", b"<svg xmlns='http://www.w3.org/2000/svg'/>", "is not a kind of file"),
    "empty": ("plan.pdf", b"", "The file is empty"),
}


@pytest.mark.parametrize("name", sorted(ACCEPTED))
def test_accepted_file_types_are_judged_by_content(name):
    data, media_type = ACCEPTED[name]
    assert ev.check_file(data, name) == media_type


@pytest.mark.parametrize("case", sorted(REFUSED))
def test_refused_files(case):
    name, data, words = REFUSED[case]
    with pytest.raises(InputError, match=words):
        ev.check_file(data, name)


LINKS_REFUSED = {
    "javascript:alert(document.cookie)": "must start with http:// or https://",
    "JavaScript:alert(1)": "must start with http:// or https://",
    "data:text/html,<script>alert(1)</script>": "must start with http:// or https://",
    "ftp://files.example.org/plan.pdf": "must start with http:// or https://",
    "https://": "must start with http:// or https://",
    "https://user:secret@example.org/plan": "must not carry a user name or password",
    "https://example.org/a plan": "one http(s) URL",
    "https://example.org/\nSet-Cookie": "one http(s) URL",
    "https://example.org/" + "a" * 2000: "one http(s) URL",
    "": "one http(s) URL",
}


def test_links_are_http_urls_only():
    for url, words in LINKS_REFUSED.items():
        with pytest.raises(InputError, match=words.replace("(", r"\(").replace(")", r"\)")):
            ev.check_link(url)
    assert ev.check_link(" https://example.org/video?t=10 ") == "https://example.org/video?t=10"
    assert ev.check_link("http://example.org") == "http://example.org"


def test_files_are_stored_privately_with_size_and_item_limits(rules: Rules):
    educator = rules.person("ed@example.org")
    other = rules.person("other@example.org")
    submission = rules.start(educator, "m1")
    with rules.svc.db.transaction() as session:
        row = session.get(m.Submission, submission)
        owner = session.get(m.Person, educator)
        item = ev.add_file(
            session,
            row,
            owner,
            data=PDF,
            filename="C:\\Users\\ana\\plan.pdf",
            media_type="application/pdf",
            now=NOW,
        )
        assert (item.kind, item.filename, item.title, item.media_type, item.size) == (
            "file",
            "plan.pdf",
            "plan.pdf",
            "application/pdf",
            len(PDF),
        )
        assert item.data == PDF and item.attempt_id is None and item.url is None
        with pytest.raises(InputError, match="sent as application/pdf, but its content is image/png"):
            ev.add_file(
                session,
                row,
                owner,
                data=image_bytes("PNG"),
                filename="a.png",
                media_type="application/pdf",
                now=NOW,
            )
        with pytest.raises(InputTooLarge, match="^The file is larger than 1 MiB.$"):
            ev.add_file(
                session,
                row,
                owner,
                data=b"%PDF-" + bytes(1024 * 1024),
                filename="big.pdf",
                now=NOW,
                max_bytes=1024 * 1024,
            )
        with pytest.raises(Forbidden, match="Only the educator who owns this submission"):
            ev.add_link(
                session, row, session.get(m.Person, other), url="https://example.org", title="x", now=NOW
            )
        with pytest.raises(InputError, match="needs a title"):
            ev.add_link(session, row, owner, url="https://example.org", title="  ", now=NOW)
        for n in range(19):
            ev.add_link(session, row, owner, url=f"https://example.org/{n}", title=f"Link {n}", now=NOW)
        with pytest.raises(InputError, match="at most 20 pieces of evidence"):  # the 21st
            ev.add_link(session, row, owner, url="https://example.org/21", title="One too many", now=NOW)
        assert len(ev.pending_items(session, row)) == 20
    # The default limit is 10 MiB.
    with pytest.raises(InputTooLarge, match="larger than 10 MiB"):
        ev.check_file(b"%PDF-" + bytes(10 * 1024 * 1024), "huge.pdf")
    # Once submitted, items belong to the attempt and can no longer be removed or added to it.
    rules.pay(submission)
    with rules.svc.db.transaction() as session:
        row = session.get(m.Submission, submission)
        sub.submit_attempt(session, row, reflections=["An answer."], now=NOW)
        assert {i.attempt_id for i in ev.items_of(session, row)} == {row.attempts[0].id}
        assert ev.pending_items(session, row) == []
        assert row.attempts[0].evidence[0] == {"name": "plan.pdf", "description": ""}
        with pytest.raises(WorkflowError, match="evidence can change only while it is draft or returned"):
            ev.add_link(
                session,
                row,
                session.get(m.Person, educator),
                url="https://example.org",
                title="Late",
                now=NOW,
            )
    with rules.svc.db.transaction() as session, pytest.raises(WorkflowError, match="stays with it"):
        ev.remove_item(session, item.id, session.get(m.Person, educator), now=NOW)
    with rules.svc.db.transaction() as session, pytest.raises(NotFound):
        ev.remove_item(session, item.id, session.get(m.Person, other), now=NOW)


def test_evidence_visibility_matrix(rules: Rules):
    educator = rules.person("ed@example.org")
    other_educator = rules.person("other@example.org")
    ineligible = rules.person("ineligible@example.org", reviewer=True)
    rules.assign(ineligible, "three-d")
    submission = rules.start(educator, "m1")
    pending = rules.link(submission, title="Draft video")

    def sees(viewer: int | None, item: int) -> bool:
        with rules.svc.db.read() as session:
            person = session.get(m.Person, viewer) if viewer is not None else None
            try:
                return ev.evidence_for_viewer(session, item, person).id == item
            except NotFound as exc:
                assert (
                    str(exc) == "There is no such evidence item."
                )  # the same answer whether or not it exists
                return False

    # A draft item: its owner and staff only.
    assert [sees(v, pending) for v in (educator, rules.staff, rules.founder, other_educator, None)] == [
        True,
        True,
        False,
        False,
        False,
    ]
    rules.pay(submission)
    with rules.svc.db.transaction() as session:
        sub.submit_attempt(session, session.get(m.Submission, submission), reflections=["Yes."], now=NOW)
    matrix = {
        "owner": educator,
        "eligible reviewer": rules.founder,
        "staff": rules.staff,
        "another educator": other_educator,
        "ineligible reviewer": ineligible,
        "anonymous": None,
    }
    assert {case: sees(viewer, pending) for case, viewer in matrix.items()} == {
        "owner": True,
        "eligible reviewer": True,
        "staff": True,
        "another educator": False,
        "ineligible reviewer": False,
        "anonymous": False,
    }
    assert sees(educator, pending + 1000) is False and sees(rules.staff, 0) is False
    with rules.svc.db.transaction() as session:
        session.get(m.Person, rules.staff).active = False
    assert sees(rules.staff, pending) is False  # a deactivated account sees nothing


def test_credential_publishes_evidence_only_when_the_educator_chooses(rules: Rules):
    educator = rules.person("ed@example.org")
    quiet, loud = rules.start(educator, "m1"), rules.start(educator, "m2")
    for submission in (quiet, loud):
        with rules.svc.db.transaction() as session:
            row = session.get(m.Submission, submission)
            owner = session.get(m.Person, educator)
            ev.add_file(
                session,
                row,
                owner,
                data=PDF,
                filename="plan.pdf",
                title="Unit plan",
                description="Week 3.",
                now=NOW,
            )
            ev.add_link(
                session, row, owner, url="https://video.example.org/ana/7", title="Class video", now=NOW
            )
    with rules.svc.db.transaction() as session:
        row, owner = session.get(m.Submission, loud), session.get(m.Person, educator)
        with pytest.raises(Forbidden):
            sub.set_publish_evidence(session, row, session.get(m.Person, rules.staff), True, now=NOW)
        sub.set_publish_evidence(session, row, owner, True, now=NOW)
        assert row.publish_evidence is True
    ids = {}
    for submission in (quiet, loud):
        rules.submit(submission, link=False)
        with (
            rules.svc.db.transaction() as session,
            pytest.raises(WorkflowError, match="only while draft or returned"),
        ):
            sub.set_publish_evidence(
                session,
                session.get(m.Submission, submission),
                session.get(m.Person, educator),
                False,
                now=NOW,
            )
        ids[submission] = rules.review(submission, rules.founder).credential
    _, private = rules.stored(ids[quiet])
    text, public = rules.stored(ids[loud])
    assert [e["name"] for e in private["evidence"]] == ["Review summary"]
    assert public["evidence"][1:] == [
        {"type": ["Evidence"], "name": "Unit plan", "description": "Week 3."},
        {"type": ["Evidence"], "id": "https://video.example.org/ana/7", "name": "Class video"},
    ]
    assert "plan.pdf" not in text and "%PDF" not in text and "/evidence" not in text
    assert schema.validate(public) == []
    assert rules.verify(ids[loud]).verified is True
    assert json.loads(text)["credentialSubject"]["result"]  # results per criterion stay


def test_a_zip_bomb_posing_as_docx_is_refused():
    import io as _io
    import zipfile as _zipfile

    buffer = _io.BytesIO()
    with _zipfile.ZipFile(buffer, "w", compression=_zipfile.ZIP_DEFLATED) as archive:
        archive.writestr(
            "[Content_Types].xml",
            '<Types><Override ContentType="application/vnd.openxmlformats-officedocument.'
            'wordprocessingml.document.main+xml"/></Types>',
        )
        archive.writestr("word/document.xml", b"\x00" * (50 * 1024 * 1024))  # 50 MiB of zeros
    data = buffer.getvalue()
    assert len(data) < 100 * 1024
    with pytest.raises(InputError, match="is not a DOCX file"):
        ev.check_file(data, "report.docx")
