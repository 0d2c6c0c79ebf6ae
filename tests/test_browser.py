"""The public pages in a real browser: Debian's Chromium (/usr/bin/chromium), driven by Playwright, against
the demo served by gunicorn. Never a downloaded browser build (`playwright install` is not used).

Each page's screenshot goes to test-output/screenshots/. Without Chromium or Playwright these tests are
skipped locally with the reason, and fail in CI (environment variable CI set): CI installs Chromium
(.ci/run), so a missing browser there is a broken build, not a reason to pass.
"""

from __future__ import annotations

import http.server
import io
import json
import os
import threading
import urllib.error
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl, urlsplit

import pytest
from click.testing import CliRunner
from PIL import Image

from badgeserver import create_app
from badgeserver.cli import main
from badgeserver.program import accounts, revocation
from badgeserver.web.services import services
from tests.support.served import free_port, serving
from tests.test_demo import demo_settings, run_demo

pytestmark = [pytest.mark.browser, pytest.mark.store]

ROOT = Path(__file__).resolve().parent.parent
CHROMIUM = Path(os.environ.get("BADGESERVER_CHROMIUM", "/usr/bin/chromium"))
SCREENSHOTS = ROOT / "test-output" / "screenshots"
# The flags the machine notes ask for: no sandbox (root in CI), no GPU, and no background traffic to
# Google's hosts, which this closed network refuses. Playwright gives every launch a fresh profile
# (--user-data-dir in a new temporary folder).
LAUNCH_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
PASSWORD = "demo-password-2026"
FOCUSABLE = "a[href], button, input:not([type=hidden]), textarea, select, summary"


def _unavailable(reason: str) -> None:
    if os.environ.get("CI"):
        pytest.fail(f"CI must run the browser tests, but {reason}")
    pytest.skip(reason)


def test_a_missing_browser_fails_in_ci_and_is_skipped_locally(monkeypatch):
    """The rule the fixtures below follow when Chromium or Playwright is missing."""
    monkeypatch.setenv("CI", "true")
    with pytest.raises(pytest.fail.Exception, match="CI must run the browser tests, but no chromium here"):
        _unavailable("no chromium here")
    monkeypatch.setenv("CI", "")
    with pytest.raises(pytest.skip.Exception, match="no chromium here"):
        _unavailable("no chromium here")


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    """Debian's Chromium, headless, through Playwright."""
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        _unavailable("the Python package playwright is not installed (pip install -e '.[dev]')")
    if not CHROMIUM.is_file():
        _unavailable(f"{CHROMIUM} is missing (apt-get install chromium)")
    manager = sync_playwright().start()
    try:
        launched = manager.chromium.launch(executable_path=str(CHROMIUM), args=LAUNCH_ARGS, headless=True)
        yield launched
        launched.close()
    finally:
        manager.stop()


@pytest.fixture(scope="module")
def site(tmp_path_factory) -> Iterator[dict[str, Any]]:
    """A fresh demo, issued for a free port and served there by `badgeserver serve` (gunicorn)."""
    tmp_path = tmp_path_factory.mktemp("browser")
    port = free_port()
    result, instance, out = run_demo(tmp_path, port)
    assert result.exit_code == 0, result.output
    with serving(instance, port, tmp_path / "server.log", workers=2):
        summary = json.loads((out / "summary.json").read_text("utf-8"))
        SCREENSHOTS.mkdir(parents=True, exist_ok=True)
        yield {
            "base": f"http://localhost:{port}",
            "port": port,
            "summary": summary,
            "instance": instance,
        }


def _award(site: dict[str, Any], earner: str, name: str) -> dict[str, Any]:
    (found,) = [e for e in site["summary"] if e["earner"] == earner and e["microcredential"] == name]
    return found


def _fetch(url: str) -> tuple[int, bytes, dict[str, str]]:
    try:
        with urllib.request.urlopen(url, timeout=30) as answer:  # noqa: S310 - our own loopback server
            return answer.status, answer.read(), dict(answer.headers)
    except urllib.error.HTTPError as error:
        return error.code, error.read(), dict(error.headers)


def _shot(page: Any, name: str) -> None:
    page.screenshot(path=str(SCREENSHOTS / f"{name}.png"), full_page=True)


def _query(url: str) -> tuple[str, list[tuple[str, str]]]:
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}{parts.path}", parse_qsl(parts.query)


# --- the credential page ---------------------------------------------------------------------------


def test_the_credential_page_verifies_and_shares(browser, site):
    award = _award(site, "Maya Torres", "Crosscutting Concepts")
    url = award["url"]
    credential = json.loads(_fetch(url + ".json")[1])
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    # LinkedIn and the other networks are answered by the test: this network reaches none of them.
    context.route(
        "https://**/*", lambda route: route.fulfill(status=200, body="shared", content_type="text/plain")
    )
    page = context.new_page()
    answer = page.goto(url)
    assert answer.status == 200
    _shot(page, "credential")

    assert page.locator("h1").all_inner_texts() == ["Crosscutting Concepts"]
    assert page.locator("#report-title").inner_text() == "Verified"
    assert page.locator(".report .verdict").inner_text() == "This credential is authentic and valid."
    assert page.locator("p.standing").inner_text() == "Valid. This credential is valid."
    assert page.locator(".lead").inner_text() == "Earned by Maya Torres"
    page.get_by_text("Show the").click()  # the detailed checks, one click away
    assert page.locator(".report details").get_attribute("open") == ""
    assert page.locator(".report table tbody tr").count() >= 12

    issued = credential["validFrom"]
    expected = [
        ("startTask", "CERTIFICATION_NAME"),
        ("name", "Crosscutting Concepts"),
        ("organizationName", "Utah State Board of Education"),
        ("issueYear", str(int(issued[:4]))),
        ("issueMonth", str(int(issued[5:7]))),
        ("certUrl", url),
        ("certId", url.rsplit("/", 1)[1]),
    ]
    href = page.locator("a.linkedin").get_attribute("href")
    assert _query(href) == ("https://www.linkedin.com/profile/add", expected)
    # One click opens LinkedIn's form with every field filled in.
    with page.expect_popup() as popup:
        page.locator("a.linkedin").click()
    assert _query(popup.value.url) == ("https://www.linkedin.com/profile/add", expected)
    assert page.locator("#linkedin-name").input_value() == "Crosscutting Concepts"
    assert page.locator("#linkedin-cert-url").input_value() == url
    text = "I earned “Crosscutting Concepts” from Utah State Board of Education."
    assert _query(page.locator("a.share-x").get_attribute("href")) == (
        "https://x.com/intent/tweet",
        [("text", text), ("url", url)],
    )
    assert _query(page.locator("a.share-facebook").get_attribute("href")) == (
        "https://www.facebook.com/sharer/sharer.php",
        [("u", url)],
    )
    assert _query(page.locator("a.share-linkedin").get_attribute("href")) == (
        "https://www.linkedin.com/sharing/share-offsite/",
        [("url", url)],
    )
    mail = urlsplit(page.locator("a.share-email").get_attribute("href"))
    assert mail.scheme == "mailto" and dict(parse_qsl(mail.query))["body"].endswith(url)

    # Open Graph: a PNG of 1200x630 that exists at the URL the tags give.
    meta = {
        key: page.locator(f'meta[property="{key}"], meta[name="{key}"]').get_attribute("content")
        for key in (
            "og:image",
            "og:image:width",
            "og:image:height",
            "og:image:type",
            "twitter:card",
            "og:url",
        )
    }
    assert meta == {
        "og:image": f"{url}/card.png",
        "og:image:width": "1200",
        "og:image:height": "630",
        "og:image:type": "image/png",
        "twitter:card": "summary_large_image",
        "og:url": url,
    }
    status, data, headers = _fetch(meta["og:image"])
    assert status == 200 and headers["Content-Type"] == "image/png"
    assert data.startswith(b"\x89PNG\r\n\x1a\n")
    with Image.open(io.BytesIO(data)) as card:
        assert card.format == "PNG" and card.size == (1200, 630)
    (SCREENSHOTS / "card.png").write_bytes(data)

    # oEmbed discovery gives the same snippet the page offers.
    discovery = page.locator('link[type="application/json+oembed"]').get_attribute("href")
    status, body, _ = _fetch(discovery)
    assert status == 200
    oembed = json.loads(body)
    assert oembed["type"] == "rich" and (oembed["width"], oembed["height"]) == (160, 220)
    snippet = page.locator("#embed-code").input_value()
    link = f'<a href="{award["url"]}"'
    assert snippet.startswith(link) and link in oembed["html"]
    assert f'<img src="{award["url"]}.png"' in snippet and f'<img src="{award["url"]}.png"' in oembed["html"]
    # The QR code on the page loaded.
    assert page.locator("figure.qr img").evaluate("img => img.complete && img.naturalWidth > 0")
    context.close()


@contextmanager
def _another_site(html: str) -> Iterator[str]:
    """Serve one page from another origin (a plain HTTP server on a free port); yields its URL."""

    class Handler(http.server.BaseHTTPRequestHandler):
        def do_GET(self) -> None:  # noqa: N802 - the standard library's name
            body = html.encode("utf-8")
            self.send_response(200)
            self.send_header("Content-Type", "text/html; charset=utf-8")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args: Any) -> None:
            return

    other = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=other.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{other.server_address[1]}/"
    finally:
        other.shutdown()
        other.server_close()


def _page_with(body: str) -> str:
    return f"<!doctype html><html lang='en'><head><title>My site</title></head><body>{body}</body></html>"


def test_the_embed_snippet_renders_on_another_site(browser, site):
    award = _award(site, "Maya Torres", "Crosscutting Concepts")
    context = browser.new_context()
    page = context.new_page()
    page.goto(award["url"])
    snippet = page.locator("#embed-code").input_value()
    try:
        with _another_site(_page_with(f"<p>My badges:</p>{snippet}")) as url:
            page.goto(url)
            image = page.locator("a img")
            image.wait_for()
            page.wait_for_function("() => document.querySelector('a img').complete")
            assert image.evaluate("img => img.naturalWidth") == 512
            assert image.get_attribute("alt") == "Crosscutting Concepts badge"
            assert page.locator("a").get_attribute("href") == award["url"]
            assert page.locator("a").inner_text().strip() == (
                "Crosscutting Concepts: earned by Maya Torres, issued by Utah State Board of Education"
            )
            _shot(page, "embed")
            with page.expect_navigation():
                page.locator("a").click()
            assert page.url == award["url"] and page.locator("#report-title").inner_text() == "Verified"
    finally:
        context.close()


@pytest.mark.parametrize(
    ("query", "size", "side", "caption"),
    [
        ("", (160, 220), 160, True),
        ("&maxwidth=120", (120, 180), 120, True),
        ("&maxheight=100", (160, 100), 40, True),
        ("&maxwidth=100", (100, 100), 100, False),
    ],
)
def test_an_oembed_box_holds_its_badge_and_caption(browser, site, query, size, side, caption):
    """The longest caption of the demo, in each size: nothing spills out of the declared box."""
    award = _award(site, "Ben Okafor", "Professional Collaboration & Ongoing Learning")
    status, body, _ = _fetch(f"{site['base']}/oembed?url={award['url']}{query}")
    assert status == 200
    oembed = json.loads(body)
    assert (oembed["width"], oembed["height"]) == size
    context = browser.new_context()
    page = context.new_page()
    try:
        with _another_site(_page_with(oembed["html"])) as url:
            page.goto(url)
            page.wait_for_function("() => document.querySelector('a img').complete")
            box = page.locator("body > div")
            width, height = size
            assert box.evaluate("d => [d.offsetWidth, d.offsetHeight]") == [width, height]
            # No content below or beside the box: nothing is clipped by the box's own edge.
            assert box.evaluate("d => [d.scrollWidth, d.scrollHeight]") == [width, height]
            image = page.locator("a img")
            assert image.evaluate("i => [i.offsetWidth, i.offsetHeight, i.naturalWidth]") == [side, side, 512]
            title = page.locator("a").get_attribute("title")
            assert title == (
                "Professional Collaboration & Ongoing Learning: earned by Ben Okafor, "
                "issued by Utah State Board of Education"
            )
            text = page.locator("a span")
            if caption:
                bottom = text.evaluate("s => s.getBoundingClientRect().bottom")
                top = box.evaluate("d => d.getBoundingClientRect().top")
                assert bottom <= top + height
                lines = text.evaluate("s => Math.round(s.getBoundingClientRect().height / 15)")
                assert 1 <= lines <= 4
            else:
                assert text.count() == 0
            _shot(page, f"oembed-{width}x{height}")
    finally:
        context.close()


def test_printing_gives_a_one_page_certificate(browser, site):
    award = _award(site, "Ben Okafor", "Science Teaching Methods")
    context = browser.new_context()
    page = context.new_page()
    page.goto(award["url"])
    page.emulate_media(media="print")
    _shot(page, "credential-print")
    assert page.locator("section.share").is_hidden() and page.locator("figure.qr img").is_visible()
    pdf = page.pdf(prefer_css_page_size=True)
    assert pdf.startswith(b"%PDF-")
    assert pdf.count(b"/Type /Page\n") + pdf.count(b"/Type /Page ") + pdf.count(b"/Type /Page>") == 1
    (SCREENSHOTS.parent / "certificate.pdf").write_bytes(pdf)
    context.close()


def test_the_page_fits_a_phone(browser, site):
    award = _award(site, "(name kept private)", "3D Science Assessments")
    context = browser.new_context(viewport={"width": 360, "height": 740}, device_scale_factor=2)
    page = context.new_page()
    page.goto(award["url"])
    _shot(page, "credential-phone")
    assert page.evaluate("() => document.documentElement.scrollWidth") <= 360
    assert page.locator(".lead").inner_text() == "Earned by an educator who keeps their name private"
    assert "retired" in page.locator("p.note").inner_text()
    context.close()


# --- the keyboard ----------------------------------------------------------------------------------


def _tab_through(page: Any) -> None:
    """Tab from the top: every visible link, button, field and summary gets focus, and shows it."""
    count = page.evaluate(
        """(selector) => {
            const items = [...document.querySelectorAll(selector)].filter(el => el.getClientRects().length > 0);
            items.forEach((el, i) => { el.dataset.kbd = String(i); });
            document.activeElement && document.activeElement.blur();
            return items.length;
        }""",
        FOCUSABLE,
    )
    assert count > 5
    seen: dict[str, dict[str, Any]] = {}
    for _ in range(count + 10):
        page.keyboard.press("Tab")
        info = page.evaluate(
            """() => {
                const el = document.activeElement;
                if (!el || el === document.body || el.dataset.kbd === undefined) return null;
                const style = getComputedStyle(el);
                const box = el.getBoundingClientRect();
                return {kbd: el.dataset.kbd, outline: style.outlineStyle, width: parseFloat(style.outlineWidth),
                        shadow: style.boxShadow, left: box.left, tag: el.tagName, text: (el.innerText || el.value || '').slice(0, 40)};
            }"""
        )
        if info is not None:
            seen.setdefault(info["kbd"], info)
        if len(seen) == count:
            break
    missing = page.evaluate(
        "(seen) => [...document.querySelectorAll('[data-kbd]')].filter(el => !seen.includes(el.dataset.kbd))"
        ".map(el => el.outerHTML.slice(0, 120))",
        list(seen),
    )
    assert missing == []
    for info in seen.values():
        assert info["outline"] != "none" and info["width"] >= 2, info
        assert info["shadow"] != "none", info
    skip = seen["0"]
    assert skip["text"] == "Skip to content" and skip["left"] >= 0  # visible once focused


def test_a_keyboard_user_reaches_every_control(browser, site):
    award = _award(site, "Maya Torres", "Student Sensemaking")
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    page = context.new_page()
    for path, name in (
        (award["url"], "credential-keyboard"),
        (f"{site['base']}/earners/maya-torres", "profile"),
    ):
        page.goto(path)
        page.wait_for_load_state("load")
        _tab_through(page)
        _shot(page, name)
    # The copy buttons are there (progressive enhancement) and work from the keyboard.
    page.goto(award["url"])
    context.grant_permissions(["clipboard-read", "clipboard-write"], origin=site["base"])
    copy = page.locator("#page-url + button.copy")
    copy.focus()
    page.keyboard.press("Enter")
    assert page.evaluate("() => navigator.clipboard.readText()") == award["url"]
    context.close()


# --- the profile and privacy -----------------------------------------------------------------------


def test_the_profile_lists_public_credentials_by_stack(browser, site):
    context = browser.new_context()
    page = context.new_page()
    answer = page.goto(f"{site['base']}/earners/maya-torres")
    assert answer.status == 200
    assert page.locator("h1").inner_text() == "Maya Torres"
    assert page.locator(".lead").inner_text() == "2 credentials, 1 credit in total."
    headings = page.locator("h2, h3").all_inner_texts()
    assert headings == [
        "Bundle: Secondary Science",
        "Stack: Three-Dimensional Teaching and Learning",
        "Stack: Science Teaching Methods",
    ]
    assert page.locator("li.entry a").all_inner_texts() == ["Crosscutting Concepts", "Student Sensemaking"]
    assert page.goto(f"{site['base']}/earners/maya.torres@alpine.example.org").status == 404
    context.close()


def _sign_in(context: Any, base: str, email: str) -> Any:
    page = context.new_page()
    page.goto(f"{base}/login")
    page.fill("#email", email)
    page.fill("#password", PASSWORD)
    with page.expect_navigation():
        page.click("button[type=submit]")
    return page


def test_a_private_credential_is_seen_only_by_its_earner(browser, site, tmp_path):
    award = _award(site, "Luis Ortega", "Instructional Models")
    url = award["url"]
    owner = browser.new_context(viewport={"width": 1280, "height": 900})
    stranger = browser.new_context()
    page = _sign_in(owner, site["base"], "luis.ortega@davis.example.org")
    page.goto(f"{site['base']}/sharing")
    page.get_by_role("button", name="Make private: Instructional Models").click()
    page.wait_for_load_state("load")
    assert "Instructional Models is now private" in page.locator(".notice").inner_text()
    _shot(page, "sharing-settings")
    try:
        answer = page.goto(url)
        assert answer.status == 200 and answer.headers["cache-control"] == "private, no-store"
        assert page.locator(".owner-note").inner_text().startswith("Only you can see this page.")
        assert page.locator('meta[property="og:image"]').count() == 0
        _shot(page, "private-owner")
        png = owner.request.get(url + ".png")
        assert png.status == 200
        looker = stranger.new_page()
        assert looker.goto(url).status == 404
        _shot(looker, "private-stranger")
        for suffix in (".json", ".png", ".svg", "/card.png", "/qr.png", "/qr.svg"):
            assert stranger.request.get(url + suffix).status == 404, suffix
            assert owner.request.get(url + suffix).status == 200, suffix
        assert stranger.request.get(f"{site['base']}/oembed?url={url}").status == 404
        # The image the earner kept still verifies: status lists and the DID document stay public.
        kept = tmp_path / "kept.png"
        kept.write_bytes(png.body())
        result = CliRunner().invoke(
            main, ["verify", str(kept), "--allow-http", f"localhost:{site['port']}", "--json"]
        )
        assert result.exit_code == 0, result.output
        assert json.loads(result.stdout)["verified"] is True
    finally:
        page.goto(f"{site['base']}/sharing")
        page.get_by_role("button", name="Make public: Instructional Models").click()
        page.wait_for_load_state("load")
    assert stranger.new_page().goto(url).status == 200
    owner.close()
    stranger.close()


def test_a_revoked_credential_looks_revoked(browser, site):
    """Last: it changes the demo. Staff revoke one credential; its page never looks verified again."""
    award = _award(site, "Luis Ortega", "Science and Engineering Practices")
    app = create_app(demo_settings(site["instance"], site["port"]))
    svc = services(app)
    try:
        with svc.db.transaction() as session:
            staff = accounts.find_person(session, "program.staff@usbe.example.org")
            revocation.change_status(
                session,
                svc.issuing,
                svc.clock(),
                action="revoke",
                selection=revocation.Selection(ids=(award["url"].rsplit("/", 1)[1],)),
                actor=staff,
                reason="Issued in error (browser test).",
            )
    finally:
        svc.db.dispose()
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    page = context.new_page()
    assert page.goto(award["url"]).status == 200
    _shot(page, "credential-revoked")
    assert page.locator("#report-title").inner_text() == "Not valid: revoked"
    assert page.locator("section.report").get_attribute("class") == "report bad"
    assert (
        page.locator("p.standing").inner_text().startswith("Revoked. The issuer revoked this credential on ")
    )
    assert "revoked" in page.locator(".report .small").first.inner_text()  # the checks found it too
    assert page.locator("a.linkedin").count() == 0 and page.locator("#embed-code").count() == 0
    assert page.locator(".badge img").evaluate("img => getComputedStyle(img).filter") == "grayscale(1)"
    assert "Issued in error" not in page.content()  # the reason stays private
    context.close()
