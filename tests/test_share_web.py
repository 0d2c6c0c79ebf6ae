"""Sharing on the web: the credential page's share, embed and Open Graph parts, the social card, QR codes,
oEmbed, per-credential and per-profile privacy, the earner's profile, the sharing settings and API."""

from __future__ import annotations

import io
import json
import re
from datetime import UTC, datetime
from html.parser import HTMLParser
from typing import Any
from urllib.parse import parse_qsl, quote, urlsplit

import pytest
from PIL import Image
from sqlalchemy import select

from badgeserver import bakery
from badgeserver.program import accounts, profiles, revocation
from badgeserver.program import submissions as sub
from badgeserver.program.catalog import load_catalog
from badgeserver.program.catalog_import import import_catalog
from badgeserver.sharing import images, links
from badgeserver.store import models as m
from badgeserver.verify import report as r
from badgeserver.web.negotiate import IMMUTABLE
from badgeserver.web.services import services
from tests.conftest import earn_submission
from tests.support.mini_catalog import CATALOG, write_mini_catalog

pytestmark = pytest.mark.store

BASE = "http://localhost:5000"
BROWSER = "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8"
PASSWORD = "correct horse battery staple"
CSRF = re.compile(r'name="csrf_token" value="([^"]+)"')
PRIVATE = "private, no-store"


@pytest.fixture()
def database_url(tmp_path, database_factory):
    """SQLite is enough here (the store tests run both databases)."""
    yield from database_factory("sqlite", tmp_path, required=False)


class Page(HTMLParser):
    """The parts of a page these tests read: meta tags, links, anchors, images, inputs, headings."""

    def __init__(self, html: str) -> None:
        super().__init__()
        self.meta: dict[str, str] = {}
        self.links: list[dict[str, str]] = []
        self.anchors: list[dict[str, str]] = []
        self.images: list[dict[str, str | None]] = []
        self.inputs: dict[str, dict[str, str | None]] = {}
        self.headings: list[int] = []
        self.textareas: dict[str, str] = {}
        self._textarea: str | None = None
        self.feed(html)

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        found = dict(attrs)
        if tag == "meta" and (found.get("property") or found.get("name")):
            self.meta[str(found.get("property") or found.get("name"))] = str(found.get("content"))
        elif tag == "link":
            self.links.append({k: str(v) for k, v in found.items()})
        elif tag == "a":
            self.anchors.append({k: str(v) for k, v in found.items()})
        elif tag == "img":
            self.images.append(found)
        elif tag == "input" and found.get("id"):
            self.inputs[str(found["id"])] = found
        elif tag == "textarea":
            self._textarea = str(found.get("id"))
            self.textareas[self._textarea] = ""
        elif re.fullmatch(r"h[1-6]", tag):
            self.headings.append(int(tag[1]))

    def handle_endtag(self, tag: str) -> None:
        if tag == "textarea":
            self._textarea = None

    def handle_data(self, data: str) -> None:
        if self._textarea:
            self.textareas[self._textarea] += data

    def anchor(self, css_class: str) -> dict[str, str]:
        (found,) = [a for a in self.anchors if css_class in a.get("class", "").split()]
        return found


def page_of(client: Any, path: str, status: int = 200) -> tuple[Any, Page]:
    answer = client.get(path, headers={"Accept": BROWSER})
    assert answer.status_code == status, answer.get_data(as_text=True)[:500]
    return answer, Page(answer.get_data(as_text=True))


def stored(app: Any, credential_id: str) -> dict[str, Any]:
    with services(app).db.read() as session:
        return json.loads(session.get(m.Credential, credential_id).signed_json)


def email_of(app: Any, credential_id: str) -> str:
    with services(app).db.read() as session:
        return session.get(m.Credential, credential_id).earner.email


class Signed:
    """A test client signed in as one person, sending the session's CSRF token with each form."""

    def __init__(self, app: Any, email: str) -> None:
        svc = services(app)
        with svc.db.transaction() as session:
            person = accounts.find_person(session, email)
            if person.password_hash is None:
                accounts.set_password(session, person, PASSWORD, now=svc.clock(), actor=None)
        self.client = app.test_client()
        self.client.environ_base["HTTP_ACCEPT"] = BROWSER
        token = CSRF.search(self.client.get("/login").get_data(as_text=True)).group(1)
        answer = self.client.post("/login", data={"email": email, "password": PASSWORD, "csrf_token": token})
        assert answer.status_code == 303
        self.csrf = CSRF.search(self.client.get("/sharing").get_data(as_text=True)).group(1)

    def post(self, path: str, data: dict[str, str]) -> Any:
        return self.client.post(path, data={"csrf_token": self.csrf} | data)


def earn_more(app: Any, email: str, slug: str) -> list[str]:
    """Another earned submission for an existing educator; the ids of every credential it issued."""
    svc = services(app)
    now = datetime.now(UTC)
    with svc.db.transaction() as session:
        educator = accounts.find_person(session, email)
        reviewer = accounts.find_person(session, "reviewer@example.org")
        outcome = earn_submission(svc, session, educator, reviewer, slug, now)
        assert outcome.credential is not None
        return [outcome.credential.id, *(c.id for c in outcome.composites)]


def mark_suspended(app: Any, credential_id: str, suspended: bool = True) -> None:
    """Suspend in the store only: credentials issued without a suspension entry cannot be suspended for real,
    and the page and profile read the standing from the store."""
    svc = services(app)
    with svc.db.transaction() as session:
        session.get(m.Credential, credential_id).suspended_at = svc.clock() if suspended else None


def change_status(app: Any, credential_id: str, action: str) -> None:
    svc = services(app)
    with svc.db.transaction() as session:
        staff = session.scalar(select(m.Person).where(m.Person.email == "staff@example.org"))
        if staff is None:
            staff = sub.create_person(
                session, email="staff@example.org", name="Stella", staff=True, now=svc.clock()
            )
        revocation.change_status(
            session,
            svc.issuing,
            svc.clock(),
            action=action,
            actor=staff,
            selection=revocation.Selection(ids=(credential_id,)),
            reason="Test." if action == "revoke" else None,
        )


# --- the credential page ---------------------------------------------------------------------------


def test_the_credential_page_has_open_graph_linkedin_share_and_embed(app, client, earned_credential):
    cid = earned_credential
    page_url = f"{BASE}/credentials/{cid}"
    answer, page = page_of(client, f"/credentials/{cid}")
    credential = stored(app, cid)
    issued = datetime.fromisoformat(credential["validFrom"].replace("Z", "+00:00"))
    card = f"{page_url}/card.png"
    assert {k: v for k, v in page.meta.items() if k.startswith(("og:", "twitter:"))} == {
        "og:type": "website",
        "og:site_name": "Educator Microcredentials",
        "og:title": "Crosscutting Concepts",
        "og:description": page.meta["description"],
        "og:url": page_url,
        "og:image": card,
        "og:image:type": "image/png",
        "og:image:width": "1200",
        "og:image:height": "630",
        "og:image:alt": "Crosscutting Concepts badge. Earned by Ana Núñez. Issued by Utah State Board of Education.",
        "twitter:card": "summary_large_image",
        "twitter:title": "Crosscutting Concepts",
        "twitter:description": page.meta["description"],
        "twitter:image": card,
        "twitter:image:alt": page.meta["og:image:alt"],
    }
    assert page.meta["description"].startswith(
        "Earned by Ana Núñez. Issued by Utah State Board of Education on "
    )
    (oembed,) = [link for link in page.links if link.get("type") == "application/json+oembed"]
    assert oembed["href"] == f"{BASE}/oembed?url={quote(page_url, safe='')}&format=json"
    assert [link["href"] for link in page.links if link.get("rel") == "canonical"] == [page_url]

    linkedin = urlsplit(page.anchor("linkedin")["href"])
    assert (linkedin.scheme, linkedin.netloc, linkedin.path) == ("https", "www.linkedin.com", "/profile/add")
    assert parse_qsl(linkedin.query) == [
        ("startTask", "CERTIFICATION_NAME"),
        ("name", "Crosscutting Concepts"),
        ("organizationName", "Utah State Board of Education"),
        ("issueYear", str(issued.year)),
        ("issueMonth", str(issued.month)),
        ("certUrl", page_url),
        ("certId", cid),
    ]
    copy = {key: field["value"] for key, field in page.inputs.items() if key.startswith("linkedin-")}
    assert copy == {
        "linkedin-name": "Crosscutting Concepts",
        "linkedin-organization": "Utah State Board of Education",
        "linkedin-issued": issued.strftime("%B %Y"),
        "linkedin-expires": "Does not expire",
        "linkedin-cert-id": cid,
        "linkedin-cert-url": page_url,
    }
    assert all("readonly" in field for field in page.inputs.values())
    x_link = urlsplit(page.anchor("share-x")["href"])
    assert dict(parse_qsl(x_link.query))["url"] == page_url
    assert dict(parse_qsl(urlsplit(page.anchor("share-facebook")["href"]).query)) == {"u": page_url}
    assert page.anchor("share-email")["href"].startswith("mailto:?subject=Crosscutting%20Concepts")

    embed = links.Embed(
        page_url, f"{page_url}.png", "Crosscutting Concepts", "Utah State Board of Education", "Ana Núñez"
    )
    assert page.textareas["embed-code"] == links.embed_html(embed)
    downloads = {a["href"] for a in page.anchors if "download" in a}
    assert downloads == {
        f"/credentials/{cid}.png",
        f"/credentials/{cid}.svg",
        f"/credentials/{cid}.json",
        f"/credentials/{cid}/qr.png",
        f"/credentials/{cid}/qr.svg",
    }
    # Accessible structure: one h1, no skipped heading level, every image with alt text, a skip link.
    assert page.headings.count(1) == 1 and page.headings[0] == 1
    assert all(b - a <= 1 for a, b in zip(page.headings, page.headings[1:], strict=False))
    assert page.images and all(img.get("alt") is not None for img in page.images)
    assert page.anchors[0] == {"class": "skip", "href": "#main"}
    text = answer.get_data(as_text=True)
    assert 'Earned by <strong class="earner">Ana Núñez</strong>' in text
    assert "<strong>Valid.</strong> This credential is valid." in text
    assert ">Verified</h2>" in text


def test_the_linkedin_link_uses_the_issuers_organization_id(app, client, earned_credential):
    with services(app).db.transaction() as session:
        session.scalar(select(m.Issuer)).linkedin_organization_id = "1337"
    _, page = page_of(client, f"/credentials/{earned_credential}")
    pairs = dict(parse_qsl(urlsplit(page.anchor("linkedin")["href"]).query))
    assert pairs["organizationId"] == "1337" and "organizationName" not in pairs
    assert page.inputs["linkedin-organization-id"]["value"] == "1337"


def test_a_name_kept_private_stays_private_everywhere(app, client, earn):
    cid = earn(public_name=None)
    answer, page = page_of(client, f"/credentials/{cid}")
    assert "Earned by an educator who keeps their name private" in answer.get_data(as_text=True)
    assert "Earned by" not in page.meta["og:description"] and "An Educator" not in answer.get_data(
        as_text=True
    )
    document = client.get(f"/oembed?url={quote(f'{BASE}/credentials/{cid}')}").get_json()
    assert "author_name" not in document
    assert document["title"] == "Crosscutting Concepts: issued by Utah State Board of Education"


def test_a_revoked_credential_never_looks_verified_and_is_not_shared(app, client, earned_credential):
    change_status(app, earned_credential, "revoke")
    answer, page = page_of(client, f"/credentials/{earned_credential}")
    text = answer.get_data(as_text=True)
    assert "Not valid: revoked</h2>" in text and ">Verified</h2>" not in text
    assert (
        '<p class="standing standing-revoked"><strong>Revoked.</strong> The issuer revoked this credential on'
        in text
    )
    assert "Sharing is turned off: this credential is revoked." in text
    assert not [a for a in page.anchors if "linkedin" in a.get("class", "")]
    assert "embed-code" not in page.textareas


def test_a_suspended_credential_says_so(app, client, earned_credential):
    mark_suspended(app, earned_credential)
    text = client.get(f"/credentials/{earned_credential}", headers={"Accept": BROWSER}).get_data(as_text=True)
    assert "Not valid: suspended</h2>" in text and "<strong>Suspended.</strong>" in text
    assert ">Verified</h2>" not in text


# --- the social card and QR codes ------------------------------------------------------------------


def test_the_social_card_is_a_cached_1200_by_630_png(client, earned_credential):
    answer = client.get(f"/credentials/{earned_credential}/card.png")
    assert answer.status_code == 200 and answer.mimetype == "image/png"
    data = answer.get_data()
    assert data.startswith(b"\x89PNG\r\n\x1a\n")
    with Image.open(io.BytesIO(data)) as card:
        assert card.size == (1200, 630)
    assert answer.headers["Cache-Control"] == "public, max-age=86400"  # a revocation reaches it in a day
    assert answer.headers["Access-Control-Allow-Origin"] == "*"
    etag = answer.headers["ETag"]
    again = client.get(f"/credentials/{earned_credential}/card.png", headers={"If-None-Match": etag})
    assert again.status_code == 304 and again.get_data() == b"" and again.headers["ETag"] == etag
    assert client.get(f"/credentials/{earned_credential}/card.png").get_data() == data
    assert client.get("/credentials/00000000-0000-4000-8000-000000000000/card.png").status_code == 404


@pytest.mark.parametrize("extension", ["png", "svg"])
def test_the_qr_codes_point_at_the_page(client, earned_credential, extension):
    answer = client.get(f"/credentials/{earned_credential}/qr.{extension}")
    assert answer.status_code == 200
    page_url = f"{BASE}/credentials/{earned_credential}"
    if extension == "png":
        assert answer.mimetype == "image/png" and answer.get_data() == images.qr_png(page_url)
    else:
        assert answer.mimetype == "image/svg+xml" and answer.get_data() == images.qr_svg(page_url)
        assert "sandbox" in answer.headers["Content-Security-Policy"]
    assert answer.headers["Cache-Control"] == IMMUTABLE and answer.headers["ETag"]


# --- oEmbed ----------------------------------------------------------------------------------------


def test_oembed_answers_for_a_public_credential_page(client, earned_credential):
    page_url = f"{BASE}/credentials/{earned_credential}"
    answer = client.get(f"/oembed?url={quote(page_url, safe='')}&format=json&maxwidth=100")
    assert answer.status_code == 200 and answer.mimetype == "application/json"
    assert answer.headers["Access-Control-Allow-Origin"] == "*"
    assert answer.get_json() == {
        "version": "1.0",
        "type": "rich",
        "title": "Crosscutting Concepts: earned by Ana Núñez, issued by Utah State Board of Education",
        "author_name": "Ana Núñez",
        "provider_name": "Educator Microcredentials",
        "provider_url": BASE,
        "cache_age": 3600,
        "html": (  # too narrow for the caption: the badge alone, in a box of the declared size
            '<div style="width:100px;height:100px;overflow:hidden;font:12px/15px sans-serif;text-align:center">'
            f'<a href="{page_url}" title="Crosscutting Concepts: earned by Ana Núñez, issued by Utah State '
            'Board of Education" style="display:block">'
            f'<img src="{page_url}.png" alt="Crosscutting Concepts badge" width="100" height="100" '
            'style="display:block;margin:0 auto"></a></div>'
        ),
        "width": 100,
        "height": 100,
    }
    full = client.get(f"/oembed?url={quote(page_url + '/')}").get_json()  # format defaults to json
    assert full["width"] == 160 and full["thumbnail_url"] == f"{page_url}/card.png"
    upper = client.get(f"/oembed?url={quote(f'{BASE}/credentials/{earned_credential.upper()}')}")
    assert upper.status_code == 200
    for broken in ("http://[::1/", "https://[localhost:5000]/x"):  # a host urlsplit cannot parse
        refused = client.get(f"/oembed?url={quote(broken, safe='')}")
        assert refused.status_code == 400, broken


@pytest.mark.parametrize(
    ("query", "status", "detail"),
    [
        ("format=xml&url={page}", 501, "This server answers oEmbed in JSON only: use format=json."),
        ("format=yaml&url={page}", 400, "format must be json."),
        ("", 400, "Give the credential page's address as url."),
        ("url=", 400, "Give the credential page's address as url."),
        ("url=not%20a%20url", 400, "url must be the http or https address of a credential page."),
        (
            "url=ftp://localhost:5000/credentials/x",
            400,
            "url must be the http or https address of a credential page.",
        ),
        ("url={page}&maxwidth=abc", 400, "maxwidth must be a whole number of pixels from 1 to 99999."),
        ("url={page}&maxheight=0", 400, "maxheight must be a whole number of pixels from 1 to 99999."),
        ("url={page}&maxwidth=-5", 400, "maxwidth must be a whole number of pixels from 1 to 99999."),
        ("url={page}&maxwidth=8", 400, "maxwidth and maxheight must leave at least 16 pixels for the badge."),
        (
            "url=https://evil.example/credentials/{id}",
            404,
            "There is no public credential at this address on this server.",
        ),
        (
            "url=http://localhost:5000/issuers/usbe",
            404,
            "There is no public credential at this address on this server.",
        ),
        (
            "url=http://localhost:5000/credentials/00000000-0000-4000-8000-000000000000",
            404,
            "There is no public credential at this address on this server.",
        ),
        (
            "url=http://localhost:5000/credentials/{id}.json",
            404,
            "There is no public credential at this address on this server.",
        ),
    ],
)
def test_oembed_refuses_bad_input_with_problem_json(client, earned_credential, query, status, detail):
    page = quote(f"{BASE}/credentials/{earned_credential}", safe="")
    for accept in ("application/json", BROWSER):
        answer = client.get(
            "/oembed?" + query.format(page=page, id=earned_credential), headers={"Accept": accept}
        )
        assert answer.status_code == status
        assert answer.mimetype == "application/problem+json"
        assert answer.get_json()["detail"] == detail and answer.get_json()["status"] == status


# --- privacy: a private credential answers 404 to the public, not to its earner --------------------


PUBLIC_PATHS = ("", ".json", ".png", ".svg", "/card.png", "/qr.png", "/qr.svg")


def test_a_private_credential_is_hidden_but_its_baked_image_still_verifies(app, client, earned_credential):
    cid = earned_credential
    owner = Signed(app, email_of(app, cid))
    # The form needs its CSRF token; without it nothing changes.
    refused = owner.client.post(f"/sharing/credentials/{cid}", data={"public": "0"})
    assert refused.status_code == 400
    assert client.get(f"/credentials/{cid}.json").status_code == 200
    answer = owner.post(f"/sharing/credentials/{cid}", {"public": "0"})
    assert answer.status_code == 303 and answer.headers["Location"] == "/sharing"

    for suffix in PUBLIC_PATHS:
        for accept in ("application/json", BROWSER):
            stranger = client.get(f"/credentials/{cid}{suffix}", headers={"Accept": accept})
            assert stranger.status_code == 404, suffix
        seen = owner.client.get(f"/credentials/{cid}{suffix}")
        assert seen.status_code == 200, suffix
        assert seen.headers["Cache-Control"] == PRIVATE, suffix
        assert "Access-Control-Allow-Origin" not in seen.headers, suffix
    oembed = client.get(f"/oembed?url={quote(f'{BASE}/credentials/{cid}')}")
    assert oembed.status_code == 404 and oembed.mimetype == "application/problem+json"
    owner_page = owner.client.get(f"/credentials/{cid}").get_data(as_text=True)
    assert "Only you can see this page." in owner_page and "og:image" not in owner_page
    assert 'name="robots" content="noindex, nofollow"' in owner_page
    # The status list and the DID document stay public, so the image the earner kept still verifies.
    assert client.get("/status/usbe/revocation/1").status_code == 200
    assert client.get("/issuers/usbe/did.json").status_code == 200
    png = owner.client.get(f"/credentials/{cid}.png").get_data()
    assert json.loads(bakery.extract(png).text)["id"] == f"{BASE}/credentials/{cid}"
    report = services(app).verifier().verify_bytes(png)
    assert report.verified is True and report.status_of(r.STATUS) == r.PASSED
    # Someone else signed in is a stranger too.
    other = _stranger(app)
    assert other.client.get(f"/credentials/{cid}").status_code == 404
    assert other.post(f"/sharing/credentials/{cid}", {"public": "1"}).status_code == 404
    assert owner.post(f"/sharing/credentials/{cid}", {"public": "2"}).status_code == 400
    # Public again: everyone sees it.
    assert owner.post(f"/sharing/credentials/{cid}", {"public": "1"}).status_code == 303
    assert client.get(f"/credentials/{cid}.json").status_code == 200
    with services(app).db.read() as session:
        actions = session.scalars(
            select(m.AuditEntry.action).where(m.AuditEntry.subject_id == cid).order_by(m.AuditEntry.id)
        ).all()
    assert actions[-2:] == ["credential.visibility", "credential.visibility"]


def test_a_reissued_credential_is_shared_or_kept_private_with_the_copy_it_replaced(
    app, client, earned_credential
):
    from badgeserver.program import key_lifecycle

    old = earned_credential
    svc = services(app)
    with svc.db.transaction() as session:
        staff = sub.create_person(
            session, email="keys@example.org", name="Kim Keys", staff=True, now=svc.clock()
        )
        key_lifecycle.revoke(
            session, svc.issuing, svc.clock(), actor=staff, key_name="issuer-usbe-1", reason="Lost."
        )
        [item] = key_lifecycle.reissue(session, svc.issuing, svc.clock(), actor=staff)
    new = item.new_id
    owner = Signed(app, email_of(app, new))
    old_page = client.get(f"/credentials/{old}", headers={"Accept": BROWSER}).get_data(as_text=True)
    assert f'A new credential replaces this one: <a href="/credentials/{new}">' in old_page

    # Private on the new copy hides the replaced copy too: it names the same earner and achievement.
    assert owner.post(f"/sharing/credentials/{new}", {"public": "0"}).status_code == 303
    for cid in (old, new):
        assert client.get(f"/credentials/{cid}", headers={"Accept": BROWSER}).status_code == 404, cid
        assert client.get(f"/credentials/{cid}.json").status_code == 404, cid
        assert owner.client.get(f"/credentials/{cid}").status_code == 200, cid
    # Public again from the old copy's setting: both come back.
    assert owner.post(f"/sharing/credentials/{old}", {"public": "1"}).status_code == 303
    for cid in (old, new):
        assert client.get(f"/credentials/{cid}.json").status_code == 200, cid
    with svc.db.read() as session:
        audited = session.scalars(
            select(m.AuditEntry.subject_id).where(m.AuditEntry.action == "credential.visibility")
        ).all()
    assert sorted(audited) == sorted([old, new, old, new])

    # A replaced copy never links the public to a replacement they may not see.
    with svc.db.transaction() as session:
        session.get(m.Credential, new).public = False
    old_page = client.get(f"/credentials/{old}", headers={"Accept": BROWSER}).get_data(as_text=True)
    assert "A new credential replaces this one" not in old_page and new not in old_page
    assert f"/credentials/{new}" in owner.client.get(
        f"/credentials/{old}", headers={"Accept": BROWSER}
    ).get_data(as_text=True)


def _stranger(app: Any) -> Signed:
    """Another educator, signed in."""
    svc = services(app)
    with svc.db.transaction() as session:
        sub.create_person(session, email="other@example.org", name="Other", now=svc.clock())
    return Signed(app, "other@example.org")


# --- the earner's profile --------------------------------------------------------------------------


def test_the_profile_groups_public_credentials_and_adds_up_their_credit(app, client, earn):
    first = earn(email="ana@example.org")  # crosscutting-concepts: in no stack
    more = earn_more(app, "ana@example.org", "student-sensemaking")
    more += earn_more(app, "ana@example.org", "instructional-models")  # completes methods and the bundle
    with services(app).db.read() as session:
        kinds = {row.id: row.kind for row in session.scalars(select(m.Credential))}
    assert sorted(kinds[c] for c in more) == ["bundle", "microcredential", "microcredential", "stack"]
    owner = Signed(app, "ana@example.org")

    # Private by default: nobody but the owner sees it, whatever the handle.
    answer = owner.post("/sharing/profile", {"handle": "Ana-Nunez"})
    assert answer.status_code == 303
    assert client.get("/earners/ana-nunez", headers={"Accept": BROWSER}).status_code == 404
    own = owner.client.get("/earners/ana-nunez")
    assert own.status_code == 200 and "your profile is private" in own.get_data(as_text=True)
    assert own.headers["Cache-Control"] == PRIVATE

    assert owner.post("/sharing/profile", {"profile_public": "1", "handle": ""}).status_code == 303
    answer, page = page_of(client, "/earners/ana-nunez")
    text = answer.get_data(as_text=True)
    assert page.headings == [1, 2, 3, 2]
    assert re.search(
        r"<h2 id=\"bundle-\d+\">Bundle: <a href=\"[^\"]+/bundles/secondary-science\">Secondary Science</a></h2>",
        text,
    )
    assert re.search(r"<h3 id=\"stack-\d+\">Stack: <a [^>]+>Science Teaching Methods</a></h3>", text)
    assert '<h2 id="other">Other</h2>' in text
    names = [a["href"] for a in page.anchors if "/credentials/" in a.get("href", "")]
    assert set(names) == {f"{BASE}/credentials/{c}" for c in [first, *more]}
    # Three microcredentials at 0.5; the stack and the bundle of the mini catalog add 0.
    assert "<strong>1.5 credits</strong> in total" in text
    assert "ana@example.org" not in text

    # A private credential leaves the profile and its total.
    owner.post(f"/sharing/credentials/{first}", {"public": "0"})
    text = client.get("/earners/ana-nunez", headers={"Accept": BROWSER}).get_data(as_text=True)
    assert first not in text and "<strong>1 credit</strong>" in text and '<h2 id="other">' not in text
    # A revoked one leaves it too; a suspended one stays, marked, and does not count.
    sensemaking = more[0]
    mark_suspended(app, sensemaking)
    text = client.get("/earners/ana-nunez", headers={"Accept": BROWSER}).get_data(as_text=True)
    assert sensemaking in text and '<strong class="entry-state">suspended</strong>' in text
    assert "<strong>0.5 credit</strong>" in text
    mark_suspended(app, sensemaking, False)
    change_status(app, sensemaking, "revoke")
    text = client.get("/earners/ana-nunez", headers={"Accept": BROWSER}).get_data(as_text=True)
    assert sensemaking not in text and "<strong>0.5 credit</strong>" in text

    # Only the handle finds a profile: never the email, the numeric id or another case.
    with services(app).db.read() as session:
        ana = accounts.find_person(session, "ana@example.org")
    for wrong in (str(ana.id), "ana@example.org", "ANA-NUNEZ", "ana-nune"):
        assert client.get(f"/earners/{quote(wrong)}", headers={"Accept": BROWSER}).status_code == 404
    # A new handle retires the old address, which stays hers and leads to the new one.
    assert owner.post("/sharing/profile", {"profile_public": "1", "handle": "ana-n"}).status_code == 303
    moved = client.get("/earners/ana-nunez")
    assert (moved.status_code, moved.headers["Location"]) == (301, "/earners/ana-n")
    assert client.get("/earners/ana-n").status_code == 200
    # Private again: 404 for everyone else, at the new address and the old.
    assert owner.post("/sharing/profile", {"handle": ""}).status_code == 303
    assert client.get("/earners/ana-n").status_code == 404
    assert client.get("/earners/ana-nunez").status_code == 404


def test_a_retired_handle_is_never_given_to_another_earner(app, client, earn):
    earn(email="maya@example.org")
    earn(email="luis@example.org")
    maya, luis = Signed(app, "maya@example.org"), Signed(app, "luis@example.org")
    assert maya.post("/sharing/profile", {"profile_public": "1", "handle": "maya-torres"}).status_code == 303
    assert maya.post("/sharing/profile", {"profile_public": "1", "handle": "maya-t2"}).status_code == 303
    taken = luis.post("/sharing/profile", {"profile_public": "1", "handle": "maya-torres"})
    assert taken.status_code == 409 and "The handle &#39;maya-torres&#39; is taken" in taken.get_data(
        as_text=True
    )
    # Maya may take her old handle back; the one she leaves is then reserved to her.
    assert maya.post("/sharing/profile", {"profile_public": "1", "handle": "maya-torres"}).status_code == 303
    assert client.get("/earners/maya-torres").status_code == 200
    assert client.get("/earners/maya-t2").headers["Location"] == "/earners/maya-torres"


def test_profile_settings_refuse_a_bad_or_taken_handle(app, client, earn):
    earn(email="ana@example.org")
    earn(email="ben@example.org")
    ben = Signed(app, "ben@example.org")
    assert ben.post("/sharing/profile", {"profile_public": "1", "handle": "taken"}).status_code == 303
    ana = Signed(app, "ana@example.org")
    answer = ana.post("/sharing/profile", {"profile_public": "1", "handle": "taken"})
    assert answer.status_code == 409
    assert "The handle &#39;taken&#39; is taken; choose another." in answer.get_data(as_text=True)
    answer = ana.post("/sharing/profile", {"profile_public": "1", "handle": "a b"})
    assert answer.status_code == 400 and 'aria-invalid="true"' in answer.get_data(as_text=True)
    with services(app).db.read() as session:
        person = accounts.find_person(session, "ana@example.org")
        assert person.profile_public is False and person.profile_handle is None
    # No handle given: a random one that is not the email or the id.
    assert ana.post("/sharing/profile", {"profile_public": "1"}).status_code == 303
    with services(app).db.read() as session:
        person = accounts.find_person(session, "ana@example.org")
        assert person.profile_public is True and profiles.HANDLE.match(person.profile_handle)
        assert len(person.profile_handle) == 12
        audit = session.scalars(select(m.AuditEntry).where(m.AuditEntry.action == "person.profile")).all()
    assert client.get(f"/earners/{person.profile_handle}").status_code == 200
    assert [a.after["profile_public"] for a in audit] == [True, True]
    # The settings page needs a signed-in person.
    assert client.get("/sharing", headers={"Accept": BROWSER}).status_code == 302


# --- the API ---------------------------------------------------------------------------------------


def _token(app: Any, email: str, scopes: tuple[str, ...]) -> dict[str, str]:
    svc = services(app)
    with svc.db.transaction() as session:
        person = accounts.find_person(session, email)
        _, plaintext = accounts.create_token(session, person, "t", scopes, now=svc.clock())
    return {"Authorization": f"Bearer {plaintext}"}


def test_the_sharing_api(app, client, earned_credential):
    cid = earned_credential
    email = email_of(app, cid)
    write = _token(app, email, ("submissions:read", "submissions:write"))
    read = _token(app, email, ("submissions:read",))
    answer = client.get("/api/v1/sharing", headers=read)
    assert answer.status_code == 200
    assert answer.get_json() == {
        "profile": {"public": False, "handle": None, "url": None, "name": "Ana Núñez"},
        "credentials": [
            {
                "id": cid,
                "name": "Crosscutting Concepts",
                "kind": "microcredential",
                "public": True,
                "state": "valid",
                "credit": "0.5",
                "url": f"{BASE}/credentials/{cid}",
            }
        ],
    }
    assert client.put("/api/v1/sharing/profile", json={"public": True}, headers=read).status_code == 403
    bad = client.put("/api/v1/sharing/profile", json={"public": "yes"}, headers=write)
    assert bad.status_code == 400 and bad.get_json()["detail"] == "Give 'public' as true or false."
    bad = client.put("/api/v1/sharing/profile", json={"public": True, "handle": 5}, headers=write)
    assert bad.status_code == 400
    bad = client.put("/api/v1/sharing/profile", data="[]", content_type="application/json", headers=write)
    assert bad.status_code == 400 and bad.mimetype == "application/problem+json"
    done = client.put("/api/v1/sharing/profile", json={"public": True, "handle": "ana-api"}, headers=write)
    assert done.status_code == 200
    assert done.get_json()["profile"] == {
        "public": True,
        "handle": "ana-api",
        "url": f"{BASE}/earners/ana-api",
        "name": "Ana Núñez",
    }
    assert client.get("/earners/ana-api").status_code == 200

    hidden = client.put(f"/api/v1/credentials/{cid}/visibility", json={"public": False}, headers=write)
    assert hidden.status_code == 200
    assert hidden.get_json() == {"id": cid, "public": False, "url": f"{BASE}/credentials/{cid}"}
    assert client.get(f"/credentials/{cid}.json").status_code == 404
    unknown = client.put(
        "/api/v1/credentials/00000000-0000-4000-8000-000000000000/visibility",
        json={"public": True},
        headers=write,
    )
    assert unknown.status_code == 404 and unknown.mimetype == "application/problem+json"
    assert client.put(f"/api/v1/credentials/{cid}/visibility", json={"public": True}).status_code == 401
    assert client.put(f"/api/v1/credentials/{cid}/visibility", json={}, headers=write).status_code == 400


# --- the catalog ------------------------------------------------------------------------------------


def test_import_stores_the_linkedin_organization_id(app, tmp_path):
    text = CATALOG.replace(
        "    image: images/usbe.svg\n",
        "    image: images/usbe.svg\n    linkedin_organization_id: '1337'\n",
        1,
    )
    catalog = load_catalog(write_mini_catalog(tmp_path / "cat", text))
    with services(app).db.transaction() as session:
        summary = import_catalog(session, catalog, now=datetime.now(UTC))
        assert "issuer usbe" in summary.created
        assert session.scalar(select(m.Issuer)).linkedin_organization_id == "1337"
    plain = load_catalog(write_mini_catalog(tmp_path / "plain"))
    with services(app).db.transaction() as session:
        summary = import_catalog(session, plain, now=datetime.now(UTC))
        assert "issuer usbe" in summary.updated
        assert session.scalar(select(m.Issuer)).linkedin_organization_id is None


def test_a_revoked_credential_is_not_offered_for_sharing(app, client, earned_credential):
    page_url = f"{BASE}/credentials/{earned_credential}"
    before = client.get(f"/credentials/{earned_credential}", headers={"Accept": BROWSER}).get_data(
        as_text=True
    )
    assert 'property="og:image"' in before and "application/json+oembed" in before
    change_status(app, earned_credential, "revoke")
    page = client.get(f"/credentials/{earned_credential}", headers={"Accept": BROWSER})
    text = page.get_data(as_text=True)
    assert page.status_code == 200 and "The issuer revoked this credential on" in text
    assert 'property="og:image"' not in text and "application/json+oembed" not in text
    assert 'rel="canonical"' in text
    card = client.get(f"/credentials/{earned_credential}/card.png")
    assert card.status_code == 404
    embed = client.get(f"/oembed?url={quote(page_url, safe='')}")
    assert (embed.status_code, embed.get_json()["detail"]) == (
        404,
        "This credential is revoked; it is not offered for embedding.",
    )


def test_the_earner_chooses_the_name_on_new_credentials(app, client, earn):
    earn(email="name@example.org", public_name=None)
    me = Signed(app, "name@example.org")
    assert me.post("/sharing/name", {"public_name": "  Zoë   O’Brien "}).status_code == 303
    with services(app).db.read() as session:
        assert accounts.find_person(session, "name@example.org").public_name == "Zoë O’Brien"
    for hostile, message in (
        ("evil\u202eevil", "The name holds invisible or control characters; type it as plain text."),
        ("a\u200bb", "The name holds invisible or control characters; type it as plain text."),
        ("x" * 101, "The name is longer than 100 characters."),
    ):
        refused = me.post("/sharing/name", {"public_name": hostile})
        assert refused.status_code == 400 and message in refused.get_data(as_text=True), hostile
    assert me.post("/sharing/name", {"public_name": ""}).status_code == 303
    with services(app).db.read() as session:
        assert accounts.find_person(session, "name@example.org").public_name is None
    headers = _token(app, "name@example.org", ("submissions:write",))
    api = client.put("/api/v1/sharing/name", json={"name": "Zoe"}, headers=headers)
    assert api.status_code == 200 and api.get_json()["profile"]["name"] == "Zoe"
    bad = client.put("/api/v1/sharing/name", json={"name": 7}, headers=headers)
    assert (bad.status_code, bad.get_json()["detail"]) == (
        400,
        "Give 'name' as a string, or null to keep your name private.",
    )


def test_the_earners_own_view_of_a_public_page_is_never_cached_for_others(app, client, earn):
    credential_id = earn(email="own@example.org")
    me = Signed(app, "own@example.org")
    mine = me.client.get(f"/credentials/{credential_id}")
    assert mine.status_code == 200 and mine.headers["Cache-Control"] == "private, no-store"
    stranger = client.get(f"/credentials/{credential_id}", headers={"Accept": BROWSER})
    assert "Cookie" in stranger.headers["Vary"] and "private" not in stranger.headers.get("Cache-Control", "")
