"""The network door: policy refusals offline, real transfers against a loopback server."""

from __future__ import annotations

import contextlib
import http.client
import json
import socket
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest

from badgeserver import fetch
from badgeserver.errors import FetchError

STOP = threading.Event()


class Handler(BaseHTTPRequestHandler):
    def log_message(self, format: str, *args: Any) -> None:
        pass

    def _send(self, status: int, body: bytes, *, length: bool = True, **headers: str) -> None:
        self.send_response(status)
        self.send_header("Content-Type", headers.pop("content_type", "application/json"))
        for name, value in headers.items():
            self.send_header(name.replace("_", "-"), value)
        if length:
            self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        with contextlib.suppress(OSError):
            self.wfile.write(body)

    def do_GET(self) -> None:
        if self.path == "/json":
            self._send(200, b'{"id": "https://example.com/issuers/1", "n": 1}')
        elif self.path == "/headers":
            seen = {k: v for k, v in self.headers.items()}
            self._send(200, json.dumps(seen).encode())
        elif self.path == "/big":
            self._send(200, b"x" * 5000)
        elif self.path == "/big-unsized":
            self._send(200, b"x" * 5000, length=False)
        elif self.path == "/exact":
            self._send(200, b"y" * 1000)
        elif self.path == "/slow":
            end = time.monotonic() + 1.5
            while time.monotonic() < end and not STOP.is_set():
                time.sleep(0.02)
            self._send(200, b"{}")
        elif self.path == "/trickle":
            self.send_response(200)
            self.end_headers()
            end = time.monotonic() + 1.5
            try:
                while time.monotonic() < end and not STOP.is_set():
                    self.wfile.write(b" ")
                    self.wfile.flush()
                    time.sleep(0.05)
            except OSError:
                pass
        elif self.path == "/redirect":
            self._send(302, b"", Location="/json")
        elif self.path == "/text":
            self._send(200, b"<html>hello</html>", content_type="text/html")
        elif self.path == "/list":
            self._send(200, b"[1, 2]")
        elif self.path == "/deep":
            self._send(200, b"[" * 100000 + b"]" * 100000)
        else:
            self._send(404, b"not found", content_type="text/plain")


@pytest.fixture(scope="module")
def server() -> Iterator[str]:
    STOP.clear()
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"127.0.0.1:{httpd.server_address[1]}"
    finally:
        STOP.set()
        httpd.shutdown()
        httpd.server_close()


def loopback(host: str, **kwargs: Any) -> fetch.Fetcher:
    return fetch.Fetcher(allow_http_hosts=frozenset({host}), **kwargs)


def no_network(*args: Any) -> Any:
    raise AssertionError(f"network used: {args}")


def offline(**kwargs: Any) -> fetch.Fetcher:
    return fetch.Fetcher(opener=no_network, **kwargs)


# --- policy, offline --------------------------------------------------------------------------


@pytest.mark.parametrize(
    "url",
    [
        "https://10.0.0.1/x",
        "https://127.0.0.1/",
        "https://127.0.0.1:8443/did.json",
        "https://169.254.169.254/latest/meta-data/",
        "https://[::1]/",
        "https://[::ffff:127.0.0.1]/",
        "https://[::ffff:a00:1]/",
        "https://[fd00::1]/",
        "https://[fe80::1]/",
        "https://0.0.0.0/",
        "https://192.168.1.1/",
        "https://172.16.0.1/",
        "https://100.64.0.1/",
        "https://224.0.0.1/",
        "https://240.0.0.1/",
        "https://2130706433/",
        "https://localhost/",
    ],
)
def test_private_addresses_refused(url: str) -> None:
    with pytest.raises(FetchError, match="private or reserved address") as info:
        offline().get(url)
    assert url in str(info.value)


def test_one_private_address_taints_a_name() -> None:
    resolver = lambda host, port: ["93.184.216.34", "10.0.0.5"]  # noqa: E731
    with pytest.raises(FetchError, match=r"badges\.example resolves to a private .*10\.0\.0\.5"):
        offline(resolver=resolver).get("https://badges.example/x")


def test_resolver_failure_is_a_fetch_error() -> None:
    def resolver(host: str, port: int) -> list[str]:
        raise socket.gaierror(-2, "Name or service not known")

    with pytest.raises(FetchError, match="could not be resolved"):
        offline(resolver=resolver).get("https://nowhere.example/")


def test_slow_resolver_is_cut_off() -> None:
    def resolver(host: str, port: int) -> list[str]:
        time.sleep(1.0)
        return ["93.184.216.34"]

    start = time.monotonic()
    with pytest.raises(FetchError, match="took too long"):
        offline(resolver=resolver, timeout=0.2).get("https://slow-dns.example/")
    assert time.monotonic() - start < 0.8


@pytest.mark.parametrize(
    ("url", "message"),
    [
        ("http://example.com/", "only https"),
        ("file:///etc/passwd", "only https"),
        ("ftp://example.com/x", "only https"),
        ("gopher://example.com/", "only https"),
        ("data:application/json,{}", "only https"),
        ("javascript:alert(1)", "only https"),
        ("//example.com/x", "only https"),
        ("https://user:secret@example.com/", "credentials"),
        ("https://user@example.com/", "credentials"),
        ("https://example.com:99999/", "malformed"),
        ("https:///path", "no host"),
        ("https://example.com/a b", "spaces or controls"),
        ("https://example.com/\r\nX-Evil: 1", "spaces or controls"),
        ("", "no URL"),
        ("https://example.com/" + "a" * 5000, "too long"),
    ],
)
def test_urls_refused(url: str, message: str) -> None:
    with pytest.raises(FetchError, match=message):
        offline(resolver=no_network).get(url)


def test_http_refused_unless_host_listed() -> None:
    fetcher = fetch.Fetcher(allow_http_hosts=frozenset({"127.0.0.1:1"}), opener=no_network)
    with pytest.raises(FetchError, match="only https"):
        fetcher.get("http://127.0.0.1:2/")
    with pytest.raises(FetchError, match="only https"):
        fetcher.get("http://localhost:1/")


def test_local_hook_answers_first() -> None:
    asked: list[str] = []

    def local(url: str) -> bytes | None:
        asked.append(url)
        return b'{"id": "mine"}' if url.startswith("https://badges.example/") else None

    fetcher = offline(local=local, resolver=no_network)
    assert fetcher.get_json("https://badges.example/issuers/1") == {"id": "mine"}
    assert asked == ["https://badges.example/issuers/1"]
    with pytest.raises(FetchError, match="private or reserved"):
        fetch.Fetcher(local=local, opener=no_network).get("https://127.0.0.1/")
    with pytest.raises(FetchError, match="response too large"):
        offline(local=local, max_bytes=5).get("https://badges.example/x")
    with pytest.raises(FetchError, match="credentials"):
        offline(local=local).get("https://u@badges.example/x")


@pytest.mark.parametrize(
    ("address", "public"),
    [
        ("93.184.216.34", True),
        ("8.8.8.8", True),
        ("2606:4700:4700::1111", True),
        ("10.1.2.3", False),
        ("127.0.0.1", False),
        ("169.254.169.254", False),
        ("100.64.0.1", False),
        ("0.0.0.0", False),
        ("255.255.255.255", False),
        ("::1", False),
        ("::", False),
        ("::ffff:127.0.0.1", False),
        ("::ffff:8.8.8.8", True),
        ("2002:7f00:1::", False),
        ("fd00::1", False),
        ("fe80::1%eth0", False),
        ("ff02::1", False),
        ("not-an-address", False),
    ],
)
def test_is_public_address(address: str, public: bool) -> None:
    assert fetch.is_public_address(address) is public


def test_vetted_address_is_the_one_connected(server: str) -> None:
    calls: list[tuple[Any, ...]] = []

    def opener(scheme: str, host: str, port: int, address: str, timeout: float) -> Any:
        calls.append((scheme, host, port, address))
        real_host, real_port = server.split(":")
        return http.client.HTTPConnection(real_host, int(real_port), timeout=timeout)

    fetcher = fetch.Fetcher(opener=opener, resolver=lambda host, port: ["93.184.216.34"])
    assert fetcher.get_json("https://badges.example/json")["n"] == 1
    assert calls == [("https", "badges.example", 443, "93.184.216.34")]


# --- transfers against a loopback server ------------------------------------------------------


def test_json_answer(server: str) -> None:
    body = loopback(server).get_json(f"http://{server}/json")
    assert body == {"id": "https://example.com/issuers/1", "n": 1}


def test_bare_host_entry_allows_any_port(server: str) -> None:
    assert loopback("127.0.0.1").get_json(f"http://{server}/json")["n"] == 1


def test_request_headers(server: str) -> None:
    seen = loopback(server).get_json(f"http://{server}/headers")
    assert seen["Host"] == server
    assert seen["Accept"] == "application/json"
    assert seen["User-Agent"].startswith("badgeserver/")
    assert "Accept-Encoding" not in seen
    other = json.loads(
        loopback(server).get(f"http://{server}/headers", accept="application/ld+json")
    )
    assert other["Accept"] == "application/ld+json"


def test_oversize_body_refused(server: str) -> None:
    fetcher = loopback(server, max_bytes=1000)
    for path in ("/big", "/big-unsized"):
        with pytest.raises(FetchError, match="response too large") as info:
            fetcher.get(f"http://{server}{path}")
        assert f"http://{server}{path}" in str(info.value)
    assert fetcher.get(f"http://{server}/exact") == b"y" * 1000


def test_slow_endpoint_times_out_fast(server: str) -> None:
    start = time.monotonic()
    with pytest.raises(FetchError, match="no complete answer within 0.3 s"):
        loopback(server, timeout=0.3).get(f"http://{server}/slow")
    assert time.monotonic() - start < 1.0


def test_trickling_body_hits_the_total_limit(server: str) -> None:
    start = time.monotonic()
    with pytest.raises(FetchError, match="no complete answer"):
        loopback(server, timeout=0.4).get(f"http://{server}/trickle")
    assert time.monotonic() - start < 1.2


def test_redirect_refused(server: str) -> None:
    with pytest.raises(FetchError, match=r"redirects \(HTTP 302\) to /json") as info:
        loopback(server).get(f"http://{server}/redirect")
    assert "not followed" in str(info.value)


def test_non_json_body(server: str) -> None:
    fetcher = loopback(server)
    assert fetcher.get(f"http://{server}/text") == b"<html>hello</html>"
    with pytest.raises(FetchError, match=f"http://{server}/text did not return JSON"):
        fetcher.get_json(f"http://{server}/text")
    with pytest.raises(FetchError, match="did not return a JSON object"):
        fetcher.get_json(f"http://{server}/list")
    with pytest.raises(FetchError, match="did not return JSON"):
        loopback(server, max_bytes=300000).get_json(f"http://{server}/deep")


def test_not_found(server: str) -> None:
    with pytest.raises(FetchError, match="HTTP 404") as info:
        loopback(server).get(f"http://{server}/missing")
    assert f"http://{server}/missing" in str(info.value)


def test_tls_to_a_plain_server_fails_cleanly(server: str) -> None:
    with pytest.raises(FetchError, match="TLS") as info:
        loopback(server).get(f"https://{server}/json")
    assert info.value.__cause__ is None


def test_connection_refused() -> None:
    probe = socket.socket()
    probe.bind(("127.0.0.1", 0))
    port = probe.getsockname()[1]
    probe.close()
    with pytest.raises(FetchError, match="refused"):
        loopback(f"127.0.0.1:{port}").get(f"http://127.0.0.1:{port}/")
