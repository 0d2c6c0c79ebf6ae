"""Every program flow through the pages, as real people with sessions and CSRF tokens (SQLite).

An educator starts, uploads a PDF and a link, pays and submits; a founding reviewer returns it with
feedback; she sees it and resubmits; it is earned. A second educator completes a stack. Staff publish
a new version and retire the microcredential, and the old credential still verifies. Payouts add up.
Bad input on every form shows the error and changes nothing.
"""

from __future__ import annotations

import io
import json
import re

import pytest
from sqlalchemy import select

from badgeserver.store import models as m
from badgeserver.web.services import services
from tests.support.flow_people import Browser, Clock, Pdf, add_people, count, make_app

pytestmark = pytest.mark.store

SUBMISSION = re.compile(r"/submissions/(\d+)$")
CREDENTIAL = re.compile(r"http://localhost:5000/credentials/([0-9a-f-]{36})")
ALERT = 'role="alert"'


@pytest.fixture()
def database_url(tmp_path, database_factory):
    """SQLite is enough for the pages."""
    yield from database_factory("sqlite", tmp_path, required=False)


@pytest.fixture()
def clock():
    return Clock()


@pytest.fixture()
def app(tmp_path, database_url, clock):
    application = make_app(tmp_path, database_url, clock)
    try:
        yield application
    finally:
        services(application).db.dispose()


@pytest.fixture()
def people(app, imported):
    return add_people(app)


def start(browser: Browser, slug: str) -> int:
    answer = browser.post("/submissions/new", {"microcredential": slug})
    assert answer.status_code == 303, answer.get_data(as_text=True)[:500]
    return int(SUBMISSION.search(answer.headers["Location"]).group(1))


def add_link(browser: Browser, number: int, title: str = "Unit plan") -> None:
    answer = browser.post(
        f"/submissions/{number}/evidence/link",
        {"url": "https://example.org/unit", "title": title, "description": "The plan."},
    )
    assert answer.status_code == 303, answer.get_data(as_text=True)[:500]


def pay_and_submit(browser: Browser, number: int, answers: list[str]) -> None:
    assert browser.post(f"/submissions/{number}/fee").status_code == 303
    form = {f"reflection-{n}": text for n, text in enumerate(answers)}
    answer = browser.post(f"/submissions/{number}/submit", form)
    assert answer.status_code == 303, answer.get_data(as_text=True)[:800]


def review(browser: Browser, number: int, scores: dict[str, str], feedback: dict[str, str] | None = None):
    form = {f"score-{k}": v for k, v in scores.items()}
    form |= {f"feedback-{k}": v for k, v in (feedback or {}).items()}
    return browser.post(f"/review/{number}", form)


def state_of(app, number: int) -> str:
    with services(app).db.read() as session:
        return session.get(m.Submission, number).state


def test_the_main_flow_through_the_pages(app, people, clock):
    ana = Browser(app).sign_in("owner")
    rita = Browser(app).sign_in("eligible")

    # Start from the achievement page's form.
    achievement = ana.text("/achievements/crosscutting-concepts/v1")
    assert 'action="/submissions/new"' in achievement and 'value="crosscutting-concepts"' in achievement
    number = start(ana, "crosscutting-concepts")
    page = ana.text(f"/submissions/{number}")
    assert "A plan naming the crosscutting concept." in page  # the evidence asked for
    assert "How did the concept help students reason?" in page  # a reflection prompt
    assert 'enctype="multipart/form-data"' in page and "<caption>" in page

    pdf = Pdf("Crosscutting lesson").bytes()
    uploaded = ana.post(
        f"/submissions/{number}/evidence/file",
        {"file": (io.BytesIO(pdf), "lesson-plan.pdf", "application/pdf"), "title": "Lesson plan"},
        content_type="multipart/form-data",
    )
    assert uploaded.status_code == 303
    add_link(ana, number, "Student work")
    assert ana.post(f"/submissions/{number}/publish-evidence", {"publish_evidence": "1"}).status_code == 303
    assert ana.post(f"/submissions/{number}/fee").status_code == 303
    page = ana.text(f"/submissions/{number}")
    receipt = re.search(r"FEE-2026-[A-Z2-9]{6}", page).group(0)
    assert f"Receipt <strong>{receipt}</strong> pays for your next attempt" in page
    with services(app).db.read() as session:
        item = session.scalar(select(m.EvidenceItem).where(m.EvidenceItem.kind == "file"))
        assert item.data == pdf and item.media_type == "application/pdf"
    download = ana.get(f"/evidence/{item.id}")
    assert download.status_code == 200 and download.data == pdf
    assert download.headers["Content-Disposition"].startswith('attachment; filename="lesson-plan.pdf"')
    assert download.headers["X-Content-Type-Options"] == "nosniff"
    assert download.headers["Cache-Control"] == "private, no-store"
    assert "sandbox" in download.headers["Content-Security-Policy"]

    answer = ana.post(
        f"/submissions/{number}/submit",
        {"reflection-0": "It helped them reason about scale.", "reflection-1": "More student talk."},
    )
    assert answer.status_code == 303 and state_of(app, number) == "submitted"
    assert "waiting for a reviewer" in ana.text(f"/submissions/{number}")

    # The founding reviewer returns it with feedback on the unmet criterion.
    queue = rita.text("/review")
    assert f'href="/review/{number}"' in queue
    form = rita.text(f"/review/{number}")
    assert (
        'type="radio"' in form and "(required level)" in form and "It helped them reason about scale." in form
    )
    assert f"/evidence/{item.id}" in form
    assert rita.get(f"/evidence/{item.id}").data == pdf  # an eligible reviewer may open submitted files
    clock.tick(60)
    returned = review(
        rita,
        number,
        {"plan": "not-yet", "student-use": "proficient"},
        {"plan": "Name the concept in the plan."},
    )
    assert returned.status_code == 303 and state_of(app, number) == "returned"
    assert "Returned with your feedback" in rita.text(f"/review/{number}")

    # She sees the feedback on her page and resubmits (a new fee for the new attempt).
    page = ana.text(f"/submissions/{number}")
    assert "Name the concept in the plan." in page and "not yet met" in page and "Submit again" in page
    add_link(ana, number, "Revised plan")
    clock.tick(60)
    pay_and_submit(ana, number, ["Now the plan names scale.", "Students chose the concept."])
    assert state_of(app, number) == "submitted"

    clock.tick(60)
    earned = review(rita, number, {"plan": "exemplary", "student-use": "proficient"})
    assert earned.status_code == 303 and state_of(app, number) == "earned"
    flashed = rita.text(f"/review/{number}")
    credential_id = CREDENTIAL.search(flashed).group(1)

    public = Browser(app).get(f"/credentials/{credential_id}")
    assert public.status_code == 200 and "Crosscutting Concepts" in public.get_data(as_text=True)
    dashboard = ana.text("/dashboard")
    assert f"/credentials/{credential_id}" in dashboard and "earned" in dashboard
    assert "Transcript total: <strong>0.5 credit</strong>" in dashboard
    assert ">0.5</td>" in ana.text("/transcript")
    assert ana.get("/transcript.json").get_json()["total_credit"] == 0.5
    csv_answer = ana.get("/transcript.csv")
    assert csv_answer.mimetype == "text/csv" and "filename=" in csv_answer.headers["Content-Disposition"]
    assert csv_answer.data.decode().splitlines()[-1] == "Total,,,,0.5,"
    history = ana.text(f"/submissions/{number}")
    assert "Attempt 1" in history and "Attempt 2" in history and "Name the concept in the plan." in history

    # A second educator completes the mini catalog's two-member stack (and so its one-stack bundle).
    ben = Browser(app).sign_in("other")
    for slug, scores in (
        ("student-sensemaking", {"talk": "proficient"}),
        ("instructional-models", {"model": "proficient"}),
    ):
        other = start(ben, slug)
        add_link(ben, other)
        pay_and_submit(ben, other, ["My answer."])
        clock.tick(5)
        assert review(rita, other, scores).status_code == 303
    dashboard = ben.text("/dashboard")
    assert "Science Teaching Methods" in dashboard and "Secondary Science" in dashboard
    assert "Transcript total: <strong>1 credit</strong>" in dashboard

    # Staff publish version 2, then retire the microcredential, through the pages.
    stella = Browser(app).sign_in("staff")
    edit = stella.text("/staff/catalog/crosscutting-concepts")
    rubric = re.search(r'<textarea id="rubric"[^>]*>(.*?)</textarea>', edit, re.S).group(1)
    rubric = rubric.replace("&#39;", "'").replace("&#34;", '"').replace("&amp;", "&")
    published = stella.post(
        "/staff/catalog/crosscutting-concepts/versions",
        {
            "version": "",
            "name": "Crosscutting Concepts",
            "description": "Students use crosscutting concepts to explain phenomena.",
            "criteria": "Submit a lesson plan and student work.",
            "reflection_prompts": "How did the concept help students reason?\nWhat would you change next time?",
            "rubric": rubric,
        },
    )
    assert published.status_code == 303, published.get_data(as_text=True)[:800]
    assert ">2</a>" in stella.text("/staff/catalog")
    note = Browser(app).get(f"/credentials/{credential_id}").get_data(as_text=True)
    assert "updated since (now version 2)" in note and "remains valid" in note
    assert "I want to retire" in stella.text("/staff/catalog/crosscutting-concepts/retire")
    retired = stella.post("/staff/catalog/crosscutting-concepts/retire", {"confirm": "1"})
    assert retired.status_code == 303
    note = Browser(app).get(f"/credentials/{credential_id}").get_data(as_text=True)
    assert "has since been retired" in note and "remains valid" in note
    with services(app).db.read() as session:
        signed = session.get(m.Credential, credential_id).signed_json
    assert services(app).verifier().verify_text(signed).verified
    assert "Earn this microcredential" not in ana.text("/achievements/crosscutting-concepts/v2")

    # Payouts: four reviews (one returned, three earned), each half of a $20.00 fee.
    ledger = stella.text("/staff/payouts?start=2026-01-01&end=2026-01-31")
    assert ledger.count('<td class="number">10.00</td>') == 4
    assert ledger.count('<td class="number">40.00</td>') == 2  # Rita's total, and the total
    assert "<caption>Payouts from 2026-01-01 to 2026-01-31</caption>" in ledger
    download = stella.get("/staff/payouts.csv?start=2026-01-01&end=2026-01-31")
    assert download.mimetype == "text/csv"
    assert (
        download.headers["Content-Disposition"] == 'attachment; filename="payouts-2026-01-01-2026-01-31.csv"'
    )
    rows = download.data.decode().splitlines()
    assert rows[0] == "date,reviewer name,reviewer email,submission id,microcredential,amount (USD)"
    assert rows[1] == f"2026-01-05,Rita Reviewer,rita@example.org,{number},Crosscutting Concepts (v1),10.00"
    assert len(rows) == 5 and all(row.endswith(",10.00") for row in rows[1:])
    assert '<td class="number">40.00</td>' in rita.text("/review/payouts?start=2026-01-01&end=2026-01-31")
    assert stella.text("/staff/payouts?start=2026-02-01&end=2026-02-28").count(">0.00</td>") == 1
    submissions = stella.text("/staff/submissions")
    assert submissions.count('<span class="state state-earned">') == 3

    # The outbox holds the notifications; `badgeserver outbox send` (Services.send_outbox) sends them.
    waiting = count(app, m.OutboxMessage)
    assert waiting >= 5 and services(app).send_outbox() == waiting and services(app).send_outbox() == 0


def test_bad_input_on_every_form_shows_the_error_and_changes_nothing(app, people, clock):
    ana = Browser(app).sign_in("owner")
    rita = Browser(app).sign_in("eligible")
    stella = Browser(app).sign_in("staff")
    number = start(ana, "crosscutting-concepts")
    tables = (m.Submission, m.EvidenceItem, m.Payment, m.Attempt, m.Review, m.MicrocredentialVersion)
    tables += (m.Microcredential, m.ReviewerAssignment, m.AuditEntry, m.OutboxMessage, m.Credential)

    def unchanged(answer, status: int, message: str) -> None:
        before = {model: count(app, model) for model in tables}
        response = answer()
        page = response.get_data(as_text=True)
        assert response.status_code == status, (message, response.status_code, page[:400])
        assert ALERT in page and message in page, (message, page[:2000])
        assert {model: count(app, model) for model in tables} == before, message

    def upload(data: bytes, name: str, title: str = "Plan"):
        return lambda: ana.post(
            f"/submissions/{number}/evidence/file",
            {"file": (io.BytesIO(data), name), "title": title},
            content_type="multipart/form-data",
        )

    unchanged(upload(b"", "empty.pdf"), 400, "The file is empty.")
    unchanged(upload(b"MZ\x90\x00 a program", "tool.exe"), 400, "is not a kind of file evidence may be")
    unchanged(upload(b"plain text, not a PDF", "plan.pdf"), 400, "is not a PDF file")
    unchanged(upload(Pdf("x" * 70_000).bytes(), "big.pdf"), 413, "The file is larger than")
    unchanged(upload(Pdf().bytes(), "plan.pdf", title=""), 400, "Give the file a title.")
    unchanged(
        lambda: ana.post(f"/submissions/{number}/evidence/file", {"title": "No file"}),
        400,
        "Choose a file to upload.",
    )
    unchanged(
        lambda: ana.post(
            f"/submissions/{number}/evidence/link", {"url": "javascript:alert(1)", "title": "x"}
        ),
        400,
        "A link must start with http:// or https://",
    )
    unchanged(
        lambda: ana.post(f"/submissions/{number}/submit", {"reflection-0": "An answer."}),
        400,
        "Answer the reflection prompt “What would you change?”.",
    )
    add_link(ana, number)
    add_link(ana, number, "Spare")
    with services(app).db.read() as session:
        spare = session.scalar(select(m.EvidenceItem.id).where(m.EvidenceItem.title == "Spare"))
    removed = ana.post(f"/submissions/{number}/evidence/remove", {"item_id": str(spare)})
    assert removed.status_code == 303 and "“Spare” was removed." in ana.text(f"/submissions/{number}")
    assert '<th scope="row">Spare</th>' not in ana.text(f"/submissions/{number}")
    unchanged(
        lambda: ana.post(f"/submissions/{number}/evidence/remove", {"item_id": str(spare)}),
        400,
        "Choose an evidence item of this submission to remove.",
    )
    unchanged(
        lambda: ana.post(f"/submissions/{number}/submit", {"reflection-0": "a", "reflection-1": "b"}),
        400,
        "Record the review fee as paid before submitting.",
    )
    assert ana.post(f"/submissions/{number}/fee").status_code == 303
    unchanged(lambda: ana.post(f"/submissions/{number}/fee"), 409, "is already paid")
    unchanged(
        lambda: ana.post(f"/submissions/{number}/submit", {"reflection-0": "a", "reflection-1": "   "}),
        400,
        "Answer the reflection prompt",
    )
    unchanged(
        lambda: ana.post("/submissions/new", {"microcredential": "crosscutting-concepts"}),
        409,
        "already has an open submission",
    )
    unchanged(
        lambda: ana.post("/submissions/new", {"microcredential": "no-such-thing"}),
        404,
        "There is no microcredential",
    )
    pay_and_submit_done = ana.post(
        f"/submissions/{number}/submit", {"reflection-0": "a", "reflection-1": "b"}
    )
    assert pay_and_submit_done.status_code == 303
    with services(app).db.read() as session:
        kept = session.scalar(select(m.EvidenceItem.id).where(m.EvidenceItem.submission_id == number))
    unchanged(
        lambda: ana.post(f"/submissions/{number}/evidence/remove", {"item_id": str(kept)}),
        409,
        "stays with it",
    )
    unchanged(
        lambda: ana.post(f"/submissions/{number}/publish-evidence", {"publish_evidence": "1"}),
        409,
        "can change only while draft or returned",
    )
    unchanged(
        lambda: stella.post("/staff/stacks/methods/reviewers", {"email": ""}), 400, "Enter the reviewer"
    )

    # The reviewer: a missing score, and no feedback where a criterion is not met.
    unchanged(lambda: review(rita, number, {"plan": "proficient"}), 400, "Choose a level for “Student use”.")
    unchanged(
        lambda: review(rita, number, {"plan": "not-yet", "student-use": "proficient"}),
        400,
        "Give feedback on “Planning”: it is below Proficient.",
    )
    unchanged(
        lambda: review(rita, number, {"plan": "best", "student-use": "proficient"}),
        400,
        "Choose a level for “Planning”.",
    )
    kept = review(rita, number, {"plan": "not-yet"}).get_data(as_text=True)
    assert 'value="not-yet" required checked' in kept  # the choices made are kept

    # Staff: the new-version form, retirement without confirmation, reviewers, and payout periods.
    edit = stella.text("/staff/catalog/crosscutting-concepts")
    base = {
        "version": "",
        "name": "Crosscutting Concepts",
        "description": "Students use crosscutting concepts to explain phenomena.",
        "criteria": "Submit a lesson plan and student work.",
        "reflection_prompts": "How did the concept help students reason?\nWhat would you change?",
        "rubric": "- id: plan\n  name: [unclosed",
    }
    assert "- id: plan" in edit
    versions = "/staff/catalog/crosscutting-concepts/versions"
    unchanged(lambda: stella.post(versions, base), 400, "The rubric is not valid YAML")
    unchanged(
        lambda: stella.post(versions, base | {"rubric": "just text"}), 400, "The rubric must be a YAML list"
    )
    bad_level = "- id: plan\n  name: P\n  description: D\n  required: gold\n  levels:\n    - {id: a, name: A, description: A}\n    - {id: b, name: B, description: B}\n"
    unchanged(lambda: stella.post(versions, base | {"rubric": bad_level}), 400, "changes.rubric[0]")
    unchanged(lambda: stella.post(versions, base | {"rubric": "- &a {id: x}\n- *a\n"}), 400, "aliases")
    good_rubric = (
        re.search(r'<textarea id="rubric"[^>]*>(.*?)</textarea>', edit, re.S).group(1).replace("&#39;", "'")
    )
    unchanged(lambda: stella.post(versions, base | {"rubric": good_rubric}), 400, "nothing to publish")
    unchanged(lambda: stella.post(versions, base | {"rubric": good_rubric, "name": ""}), 400, "changes.name")
    unchanged(
        lambda: stella.post(versions, base | {"rubric": good_rubric, "version": "1"}),
        400,
        "already has a version",
    )
    unchanged(lambda: stella.post("/staff/catalog/crosscutting-concepts/retire", {}), 400, "Tick the box")
    unchanged(
        lambda: stella.post("/staff/stacks/methods/reviewers", {"email": "ben@example.org"}),
        409,
        "is not a trained reviewer",
    )
    unchanged(
        lambda: stella.post("/staff/stacks/methods/reviewers", {"email": "nobody@example.org"}),
        400,
        "There is nobody",
    )
    unchanged(
        lambda: stella.get("/staff/payouts?start=2026-02-01&end=2026-01-01"),
        400,
        "The period ends before it starts",
    )
    unchanged(lambda: stella.get("/staff/payouts?start=2026-13-01&end=2026-01-01"), 400, "is not a date like")
    unchanged(lambda: rita.get("/review/payouts?start=yesterday&end=2026-01-01"), 400, "is not a date like")
    assert stella.get("/staff/payouts.csv?start=2026-02-01&end=2026-01-01").status_code == 400


def test_founding_reviewers_are_assigned_and_removed_through_the_catalog_page(app, people):
    stella = Browser(app).sign_in("staff")
    assert stella.post("/staff/stacks/methods/reviewers", {"email": "ivan@example.org"}).status_code == 303
    page = stella.text("/staff/catalog")
    assert (
        "ivan@example.org" in page
        and "<caption>Founding reviewers of Science Teaching Methods</caption>" in page
    )
    ivan = Browser(app).sign_in("ineligible")
    assert ivan.get("/review").status_code == 200
    with services(app).db.read() as session:
        ivan_id = session.scalar(select(m.Person.id).where(m.Person.email == "ivan@example.org"))
    assert (
        stella.post("/staff/stacks/methods/reviewers/remove", {"person_id": str(ivan_id)}).status_code == 303
    )
    assert "Ivan Untrained" not in stella.text("/staff/catalog")
    again = stella.post("/staff/stacks/methods/reviewers/remove", {"person_id": str(ivan_id)})
    assert again.status_code == 400 and "is not a founding reviewer" in again.get_data(as_text=True)


def test_the_transcript_json_is_the_program_transcript(app, people):
    ana = Browser(app).sign_in("owner")
    body = ana.get("/transcript.json").get_json()
    assert body == {"name": "Ana Owner", "email": "ana@example.org", "credentials": [], "total_credit": 0.0}
    assert json.loads(ana.get("/transcript.json").data) == body


def test_the_program_commands(app, people, tmp_path, database_url, monkeypatch):
    """outbox send, transcript, payouts, catalog publish-version and retire, on the app's own store."""
    from click.testing import CliRunner

    from badgeserver.cli import main

    monkeypatch.setenv("BADGESERVER_DATABASE_URL", database_url)
    monkeypatch.setenv("KEYS_DIR", str(tmp_path / "keys"))

    def cli(*args):
        return CliRunner().invoke(main, [*args, "--instance", str(tmp_path / "instance")])

    ana, rita = Browser(app).sign_in("owner"), Browser(app).sign_in("eligible")
    number = start(ana, "crosscutting-concepts")
    add_link(ana, number)
    pay_and_submit(ana, number, ["One.", "Two."])
    assert review(rita, number, {"plan": "proficient", "student-use": "proficient"}).status_code == 303

    shown = cli("transcript", "ana@example.org")
    assert shown.exit_code == 0 and "Crosscutting Concepts v1" in shown.stdout
    assert shown.stdout.splitlines()[-1] == "Total credit: 0.5"
    assert cli("transcript", "ana@example.org", "--csv").stdout.splitlines()[-1] == "Total,,,,0.5,"
    ledger = cli("payouts", "--start", "2026-01-01", "--end", "2026-01-31")
    assert ledger.exit_code == 0 and ledger.stdout.splitlines()[-1] == "Total: 10.00"
    assert "Total for rita@example.org: 10.00" in ledger.stdout
    rows = cli("payouts", "--start", "2026-01-01", "--end", "2026-01-31", "--csv").stdout.splitlines()
    assert rows[0].startswith("date,reviewer name") and rows[1].endswith(",10.00") and len(rows) == 2
    backwards = cli("payouts", "--start", "2026-02-01", "--end", "2026-01-01")
    assert backwards.exit_code == 2 and backwards.stderr == "badgeserver: The period ends before it starts.\n"
    assert cli("transcript", "nobody@example.org").exit_code == 2

    changes = tmp_path / "changes.yaml"
    changes.write_text(
        "name: Crosscutting Concepts, Revised\nreflection_prompts:\n  - What changed?\n", "utf-8"
    )
    published = cli(
        "catalog",
        "publish-version",
        "crosscutting-concepts",
        "--changes",
        str(changes),
        "--actor",
        "stella@example.org",
    )
    assert published.exit_code == 0, published.output
    assert (
        "Published crosscutting-concepts version 2: http://localhost:5000/achievements/crosscutting-concepts/v2"
        in published.stdout
    )
    for text, words in (
        ("- a list\n", "must be a YAML mapping"),
        ("creditt: 1\n", "cannot be changed"),
        ("a: &x 1\nb: *x\n", "aliases"),
    ):
        changes.write_text(text, "utf-8")
        refused = cli(
            "catalog",
            "publish-version",
            "crosscutting-concepts",
            "--changes",
            str(changes),
            "--actor",
            "stella@example.org",
        )
        assert refused.exit_code == 2 and words in refused.stderr, (text, refused.output)
    not_staff = cli("catalog", "retire", "crosscutting-concepts", "--actor", "ana@example.org")
    assert not_staff.exit_code == 2 and "Only staff may change the catalog" in not_staff.stderr
    assert cli("catalog", "retire", "crosscutting-concepts", "--actor", "stella@example.org").exit_code == 0
    with services(app).db.read() as session:
        micro = session.scalar(
            select(m.Microcredential).where(m.Microcredential.slug == "crosscutting-concepts")
        )
        assert micro.state == "retired" and [v.version for v in micro.versions] == ["1", "2"]

    waiting = count(app, m.OutboxMessage)
    sent = cli("outbox", "send")
    assert waiting == 1  # "You earned Crosscutting Concepts"
    assert sent.exit_code == 0 and sent.stdout == "Sent 1 notification to the log.\n"
    assert "You earned Crosscutting Concepts" in sent.stderr
    assert cli("outbox", "send").stdout == "Sent 0 notifications to the log.\n"


HOSTILE_FORMS = [
    {},
    {"microcredential": "x" * 5000, "item_id": "²", "person_id": "-1", "publish_evidence": "\x00"},
    {"item_id": "99999999999999999999", "person_id": "2147483648", "email": "a@b" * 200, "confirm": "yes"},
    {
        "reflection-0": "x" * 30_000,
        "reflection-99": "y",
        "score-plan": "\u202e",
        "feedback-plan": "z" * 30_000,
    },
    {"url": "https://user:pw@example.org/", "title": "t" * 500, "description": "\x07"},
    {"rubric": "[" * 3000, "reflection_prompts": "\n\n\n", "name": "", "version": "../../x"},
    {"rubric": "- id: a\n  levels: &x [*x]\n", "version": "v" * 50},
    {"file": (b"%PDF-1.4 x", "\u202egnp.pdf"), "title": "\x00"},
]


def test_hostile_forms_to_every_page_never_get_a_server_error(app, people):
    browsers = {role: Browser(app).sign_in(role) for role in ("owner", "eligible", "staff")}
    number = start(browsers["owner"], "crosscutting-concepts")
    add_link(browsers["owner"], number)
    values = {"submission_id": str(number), "item_id": "1", "slug": "crosscutting-concepts"}
    placeholder = re.compile(r"<(?:\w+(?:\([^)]*\))?:)?(\w+)>")
    problems = []
    for rule in app.url_map.iter_rules():
        if rule.endpoint.split(".")[0] not in ("educator", "reviewer", "program_staff"):
            continue
        path = placeholder.sub(lambda found: values[found.group(1)], rule.rule)
        for role, browser in browsers.items():
            if "GET" in rule.methods:
                for query in (
                    "",
                    "?start=²&end=x&reviewer=%00&page=²&state=<b>",
                    "?start=0001-01-01&end=9999-12-31",
                ):
                    answer = browser.get(path + query)
                    if answer.status_code >= 500:
                        problems.append(f"{role} GET {path}{query}: {answer.status_code}")
                continue
            for form in HOSTILE_FORMS:
                data = {k: (io.BytesIO(v[0]), v[1]) if isinstance(v, tuple) else v for k, v in form.items()}
                answer = browser.post(path, data, content_type="multipart/form-data")
                if answer.status_code >= 500 or b"Traceback" in answer.data:
                    problems.append(f"{role} POST {path} {sorted(form)}: {answer.status_code}")
    assert problems == []
