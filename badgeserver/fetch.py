"""The only network door: HTTPS GET with address, size, time and redirect limits."""

from __future__ import annotations

import contextlib
import http.client
import ipaddress
import json
import socket
import ssl
import threading
import time
from collections.abc import Callable
from typing import Any
from urllib.parse import urlsplit

from badgeserver import __version__
from badgeserver.errors import FetchError

MAX_URL_LENGTH = 4096
CHUNK_SIZE = 64 * 1024
USER_AGENT = f"badgeserver/{__version__}"

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
Resolver = Callable[[str, int], list[str]]
ConnectionFactory = Callable[[str, str, int, str, float], http.client.HTTPConnection]
LocalHook = Callable[[str], bytes | None]


def _address_refused(address: IPAddress) -> bool:
    if isinstance(address, ipaddress.IPv6Address):
        if address.ipv4_mapped is not None:
            return _address_refused(address.ipv4_mapped)
        if address.sixtofour is not None and _address_refused(address.sixtofour):
            return True
        if address.teredo is not None and _address_refused(address.teredo[1]):
            return True
    return (
        not address.is_global
        or address.is_private
        or address.is_loopback
        or address.is_link_local
        or address.is_multicast
        or address.is_reserved
        or address.is_unspecified
    )


def is_public_address(value: str) -> bool:
    """Return True if `value` is an IP address that may be fetched from (not private etc.)."""
    try:
        address = ipaddress.ip_address(value.split("%", 1)[0])
    except ValueError:
        return False
    return not _address_refused(address)


def resolve_host(host: str, port: int) -> list[str]:
    """Return every address `host` resolves to (IPv4 and IPv6), in resolver order."""
    infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    return list(dict.fromkeys(str(info[4][0]) for info in infos))


def _describe(exc: BaseException) -> str:
    if isinstance(exc, ssl.SSLCertVerificationError):
        return "its TLS certificate was refused"
    if isinstance(exc, ssl.SSLError):
        return "the TLS connection failed"
    if isinstance(exc, http.client.HTTPException):
        return "the server's answer is not valid HTTP"
    if isinstance(exc, ConnectionRefusedError):
        return "the connection was refused"
    return "the connection failed"


class _PinnedHTTPConnection(http.client.HTTPConnection):
    """An HTTP connection to an address vetted beforehand (no second DNS lookup)."""

    def __init__(self, host: str, port: int, *, address: str, timeout: float) -> None:
        super().__init__(host, port, timeout=timeout)
        self._address = address

    def connect(self) -> None:
        self.sock = socket.create_connection((self._address, self.port), self.timeout)


class _PinnedHTTPSConnection(http.client.HTTPSConnection):
    """An HTTPS connection to a vetted address, verifying the certificate for `host`."""

    def __init__(
        self, host: str, port: int, *, address: str, timeout: float, context: ssl.SSLContext
    ) -> None:
        super().__init__(host, port, timeout=timeout, context=context)
        self._address = address
        self._tls = context

    def connect(self) -> None:
        sock = socket.create_connection((self._address, self.port), self.timeout)
        try:
            self.sock = self._tls.wrap_socket(sock, server_hostname=self.host)
        except BaseException:
            sock.close()
            raise


def default_connection(
    scheme: str, host: str, port: int, address: str, timeout: float
) -> http.client.HTTPConnection:
    """Return a connection to `address` for `host`, with system TLS verification for https."""
    if scheme == "https":
        context = ssl.create_default_context()
        return _PinnedHTTPSConnection(host, port, address=address, timeout=timeout, context=context)
    return _PinnedHTTPConnection(host, port, address=address, timeout=timeout)


class _Live:
    """The sockets of one transfer, so that a timer can cut it off and cleanup is certain."""

    def __init__(self) -> None:
        self.timed_out = threading.Event()
        self.connections: list[http.client.HTTPConnection] = []
        self.sockets: list[socket.socket] = []
        self.responses: list[http.client.HTTPResponse] = []

    def abort(self) -> None:
        """Mark the transfer as too slow and wake any read blocked on its sockets."""
        self.timed_out.set()
        for sock in self.sockets:
            # The plain socket's shutdown, so that a TLS read blocked in another thread
            # wakes up without touching the TLS state.
            with contextlib.suppress(OSError):
                socket.socket.shutdown(sock, socket.SHUT_RDWR)

    def close(self) -> None:
        """Close every response and connection of the transfer."""
        for response in self.responses:
            with contextlib.suppress(Exception):
                response.close()
        for conn in self.connections:
            with contextlib.suppress(Exception):
                conn.close()


class Fetcher:
    """Fetches public https URLs under a strict policy; every failure is a FetchError."""

    def __init__(
        self,
        *,
        allow_http_hosts: frozenset[str] = frozenset(),
        max_bytes: int = 2 * 1024 * 1024,
        timeout: float = 5.0,
        local: LocalHook | None = None,
        opener: ConnectionFactory | None = None,
        resolver: Resolver | None = None,
    ) -> None:
        self.allow_http_hosts = frozenset(h.lower() for h in allow_http_hosts)
        self.max_bytes = max_bytes
        self.timeout = timeout
        self.local = local
        self.opener = opener or default_connection
        self.resolver = resolver or resolve_host

    def __repr__(self) -> str:
        return (
            f"Fetcher(allow_http_hosts={sorted(self.allow_http_hosts)!r}, "
            f"max_bytes={self.max_bytes}, timeout={self.timeout})"
        )

    def get_json(self, url: str, *, accept: str = "application/json") -> dict[str, Any]:
        """Return the JSON object at `url`."""
        body = self.get(url, accept=accept)
        try:
            value = json.loads(body.decode("utf-8"))
        except (UnicodeDecodeError, ValueError, RecursionError):
            raise FetchError(f"{url} did not return JSON.") from None
        if not isinstance(value, dict):
            raise FetchError(f"{url} did not return a JSON object.")
        return value

    def get(self, url: str, *, accept: str = "application/json") -> bytes:
        """Return the body of `url` after the policy checks (https, public address, limits)."""
        scheme, host, port, target = self._parse(url)
        if self.local is not None:
            answer = self.local(url)
            if answer is not None:
                if len(answer) > self.max_bytes:
                    raise FetchError(f"Could not fetch {url}: response too large.")
                return bytes(answer)
        allowed = self._allowed(host, port)
        if scheme == "http" and not allowed:
            raise FetchError(f"Could not fetch {url}: only https URLs are fetched.")
        deadline = time.monotonic() + self.timeout
        addresses = self._addresses(url, host, port, allowed, deadline)
        return self._transfer(url, scheme, host, port, target, accept, addresses, deadline)

    def _parse(self, url: str) -> tuple[str, str, int, str]:
        if not isinstance(url, str) or not url:
            raise FetchError("Could not fetch: no URL was given.")
        if len(url) > MAX_URL_LENGTH:
            raise FetchError(f"Could not fetch {url[:80]}...: the URL is too long.")
        if any(ord(c) <= 0x20 or ord(c) == 0x7F for c in url):
            raise FetchError(f"Could not fetch {url!r}: the URL contains spaces or controls.")
        try:
            parts = urlsplit(url)
            port = parts.port
        except ValueError:
            raise FetchError(f"Could not fetch {url}: the URL is malformed.") from None
        scheme = parts.scheme.lower()
        if scheme not in ("https", "http"):
            raise FetchError(f"Could not fetch {url}: only https URLs are fetched.")
        if "@" in parts.netloc:
            raise FetchError(f"Could not fetch {url}: credentials in URLs are refused.")
        host = (parts.hostname or "").lower()
        if not host:
            raise FetchError(f"Could not fetch {url}: the URL has no host.")
        try:
            host.encode("ascii")
        except UnicodeEncodeError:
            try:
                host = host.encode("idna").decode("ascii")
            except UnicodeError:
                raise FetchError(f"Could not fetch {url}: the host name is invalid.") from None
        target = parts.path or "/"
        if parts.query:
            target += "?" + parts.query
        if port is None:
            port = 443 if scheme == "https" else 80
        return scheme, host, port, target

    def _allowed(self, host: str, port: int) -> bool:
        shown = f"[{host}]" if ":" in host else host
        return bool({host, shown, f"{shown}:{port}"} & self.allow_http_hosts)

    def _addresses(self, url: str, host: str, port: int, allowed: bool, deadline: float) -> list[str]:
        result: list[str] = []
        error: list[Exception] = []

        def run() -> None:
            try:
                result.extend(self.resolver(host, port))
            except Exception as exc:
                error.append(exc)

        worker = threading.Thread(target=run, name="badgeserver-resolve", daemon=True)
        worker.start()
        worker.join(max(deadline - time.monotonic(), 0.0))
        if worker.is_alive():
            raise FetchError(f"Could not fetch {url}: resolving {host} took too long.")
        if error or not result:
            raise FetchError(f"Could not fetch {url}: the host {host} could not be resolved.")
        if not allowed:
            for address in result:
                if not is_public_address(address):
                    raise FetchError(
                        f"Could not fetch {url}: {host} resolves to a private or reserved "
                        f"address ({address})."
                    )
        return result

    def _transfer(
        self,
        url: str,
        scheme: str,
        host: str,
        port: int,
        target: str,
        accept: str,
        addresses: list[str],
        deadline: float,
    ) -> bytes:
        live = _Live()
        timer = threading.Timer(max(deadline - time.monotonic(), 0.0), live.abort)
        timer.daemon = True
        timer.start()
        try:
            body = self._exchange(url, scheme, host, port, target, accept, addresses, deadline, live)
            if live.timed_out.is_set():
                raise self._too_slow(url)
            return body
        except FetchError:
            if live.timed_out.is_set():
                raise self._too_slow(url) from None
            raise
        except (OSError, http.client.HTTPException) as exc:
            if live.timed_out.is_set() or isinstance(exc, TimeoutError):
                raise self._too_slow(url) from None
            raise FetchError(f"Could not fetch {url}: {_describe(exc)}.") from None
        finally:
            timer.cancel()
            live.close()

    def _too_slow(self, url: str) -> FetchError:
        return FetchError(f"Could not fetch {url}: no complete answer within {self.timeout:g} s.")

    def _exchange(
        self,
        url: str,
        scheme: str,
        host: str,
        port: int,
        target: str,
        accept: str,
        addresses: list[str],
        deadline: float,
        live: _Live,
    ) -> bytes:
        default_port = 443 if scheme == "https" else 80
        host_header = host if port == default_port else f"{host}:{port}"
        if ":" in host:
            host_header = f"[{host}]" if port == default_port else f"[{host}]:{port}"
        last_error: OSError | None = None
        for address in addresses:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise TimeoutError
            conn = self.opener(scheme, host, port, address, remaining)
            live.connections.append(conn)
            try:
                conn.connect()
                if conn.sock is not None:
                    live.sockets.append(conn.sock)
                if live.timed_out.is_set():
                    raise TimeoutError
                break
            except (ssl.SSLError, TimeoutError):
                raise
            except OSError as exc:
                last_error = exc
                conn.close()
        else:
            raise last_error or OSError("no address")
        conn.putrequest("GET", target, skip_host=True, skip_accept_encoding=True)
        conn.putheader("Host", host_header)
        conn.putheader("Accept", accept)
        conn.putheader("User-Agent", USER_AGENT)
        conn.putheader("Connection", "close")
        conn.endheaders()
        response = conn.getresponse()
        live.responses.append(response)
        return self._read_body(url, response, deadline)

    def _read_body(self, url: str, response: http.client.HTTPResponse, deadline: float) -> bytes:
        status = response.status
        if 300 <= status < 400:
            location = (response.getheader("Location") or "elsewhere")[:200]
            raise FetchError(
                f"Could not fetch {url}: it redirects (HTTP {status}) to {location}, "
                f"and redirects are not followed."
            )
        if not 200 <= status < 300:
            raise FetchError(f"Could not fetch {url}: the server answered HTTP {status}.")
        declared = response.getheader("Content-Length")
        if declared and declared.strip().isdigit() and int(declared) > self.max_bytes:
            raise FetchError(f"Could not fetch {url}: response too large.")
        chunks: list[bytes] = []
        size = 0
        while True:
            if time.monotonic() > deadline:
                raise TimeoutError
            chunk = response.read(min(CHUNK_SIZE, self.max_bytes + 1 - size))
            if not chunk:
                break
            chunks.append(chunk)
            size += len(chunk)
            if size > self.max_bytes:
                raise FetchError(f"Could not fetch {url}: response too large.")
        return b"".join(chunks)
